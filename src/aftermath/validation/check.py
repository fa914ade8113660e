"""The shape of one validation check: what it runs, what it expects, how close is close enough.

A :class:`Check` is data. Its ``expected`` function computes the expected value from the *clean*
scenario (the built-in plus the check's overrides) by a closed form or an independent reference;
its ``measure`` function measures the run of a scenario. The two are kept apart so that a check can
be shown to fail: :func:`perturbed` applies the check's ``breaks`` (a deliberate error, such as a
transmission rate 20% too high) to the scenario that is *run*, while the expectation stays that of
the clean one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aftermath.scenario.load import load as load_scenario
from aftermath.scenario.load import to_dict, with_overrides
from aftermath.scenario.schema import Scenario
from aftermath.validation.measure import Runs


@dataclass(frozen=True)
class Tolerance:
    """Allowed ``|measured - expected|``: ``abs + n_se * se`` (``se``: the ensemble mean's standard
    error). Outcome checks (string values) need an exact match and ignore both."""

    abs: float = 0.0
    n_se: float = 0.0
    rel: float = 0.0  # times |expected|

    def bound(self, expected: float, se: float) -> float:
        return self.abs + self.n_se * se + self.rel * abs(expected)

    def describe(self) -> str:
        parts = []
        if self.abs:
            parts.append(f"{self.abs:g}")
        if self.rel:
            parts.append(f"{self.rel:g} x expected")
        if self.n_se:
            parts.append(f"{self.n_se:g} s.e.")
        return " + ".join(parts) if parts else "exact"


@dataclass(frozen=True)
class Expected:
    """An expected value, how it was obtained (``note``), and parameters the measurement needs."""

    value: float | str
    note: str = ""
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Measured:
    value: float | str
    se: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class Trial:
    """What a measurement is given besides the scenario."""

    engine: str
    runs: int
    expected: Expected
    cache: Runs


@dataclass(frozen=True)
class Scale:
    """A perturbation that multiplies the value at a scenario path (``Scale(1.2)``: 20% more)."""

    factor: float


@dataclass(frozen=True)
class Check:
    """One entry of the validation catalogue. See the module docstring."""

    id: str
    title: str
    source: str  # paper and section (or the document that states the target)
    closed_form: str  # how the expected value is computed, in words and symbols
    engine: str  # "ode", "ssa" or "abm"
    scenario: str  # a built-in scenario
    expected: Callable[[Scenario], Expected]
    measure: Callable[[Scenario, Trial], Measured]
    tolerance: Tolerance
    breaks: Mapping[str, Any]  # a deliberate error the check must catch: path -> value or Scale
    overrides: Mapping[str, Any] = field(default_factory=dict)
    runs: int = 1
    fast: bool = False

    def clean(self) -> Scenario:
        """The scenario the check is about: the built-in with the check's overrides."""
        sc = load_scenario(self.scenario)
        return with_overrides(sc, self.overrides, source=f"<check {self.id}>") if self.overrides else sc

    def broken(self) -> Scenario:
        """The clean scenario with the check's deliberate error applied."""
        return perturbed(self.clean(), self.breaks)


def perturbed(sc: Scenario, breaks: Mapping[str, Any]) -> Scenario:
    """``sc`` with values set (or, for :class:`Scale`, multiplied) at scenario paths."""
    data = to_dict(sc)
    values = {k: (v.factor * _get_path(data, k) if isinstance(v, Scale) else v) for k, v in breaks.items()}
    return with_overrides(sc, values, source="<perturbed>")


def _get_path(data: Mapping[str, Any], key: str) -> float:
    node: Any = data
    for part in key.split("."):
        if isinstance(node, list):
            match = [x for x in node if isinstance(x, dict) and x.get("id") == part]
            node = match[0] if match else node[int(part)]
        else:
            node = node[part]
    value = float(node)
    if not math.isfinite(value):
        raise ValueError(f"{key}: cannot scale {node!r}")
    return value
