"""The Python API: load a scenario, derive variants by path, run with an engine and a seed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aftermath.engines.driver import simulate
from aftermath.result import Result
from aftermath.scenario import load as _load
from aftermath.scenario.schema import Scenario

__all__ = ["Sim", "load", "simulate"]


def load(source: str | Path | Scenario = "hyosan", **overrides: Any) -> Scenario:
    """A built-in scenario by name, or a TOML file; keyword overrides use ``__`` for dots:
    ``load("sir", pathogen__beta=0.3)``."""
    sc = source if isinstance(source, Scenario) else _load.load(source)
    if overrides:
        sc = _load.with_overrides(sc, {k.replace("__", "."): v for k, v in overrides.items()})
    return sc


class Sim:
    """A scenario ready to run, in the spirit of Starsim's ``Sim(...).run().plot()``.

    >>> res = Sim("sir", engine="ode", days=50).set({"pathogen.beta": 0.3}).run()
    """

    def __init__(self, scenario: str | Path | Scenario = "hyosan", *, engine: str | None = None,
                 seed: int | None = None, days: int | None = None) -> None:
        self.scenario = load(scenario)
        self.engine = engine
        self.seed = seed
        self.days = days
        self.result: Result | None = None

    def set(self, overrides: Mapping[str, Any]) -> Sim:
        """A variant: values set by scenario path (``"zones.school.wall": 0.9``). Returns self."""
        self.scenario = _load.with_overrides(self.scenario, overrides)
        return self

    def run(self, check: bool = False) -> Result:
        self.result = simulate(self.scenario, engine=self.engine, seed=self.seed, days=self.days, check=check)
        return self.result
