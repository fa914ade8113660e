"""Running checks: expected vs measured, within the tolerance, as one :class:`Outcome` per check."""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from aftermath.validation.catalogue import CATALOGUE
from aftermath.validation.check import Check, Trial
from aftermath.validation.measure import Runs

PASS, FAIL, ERROR, UNAVAILABLE = "pass", "fail", "error", "unavailable"


@dataclass(frozen=True)
class Outcome:
    """What one check found. ``status`` is pass, fail, error (the check could not run: counts as a
    failure) or unavailable (its engine is not installed: not run, not a failure)."""

    id: str
    title: str
    engine: str
    status: str
    expected: float | str | None
    measured: float | str | None
    tolerance: float | None  # the bound on |measured - expected|, None for outcome checks
    tolerance_rule: str
    se: float
    runs: int
    source: str
    expected_note: str
    measured_note: str
    seconds: float
    perturbed: bool = False

    @property
    def failed(self) -> bool:
        return self.status in (FAIL, ERROR)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("expected", "measured", "tolerance", "se"):
            v = out[key]
            if isinstance(v, float) and not math.isfinite(v):
                out[key] = None
        return out


def engine_problem(engine: str) -> str | None:
    """Why ``engine`` cannot be built (None when it can). The ABM lands in its own package and may
    be absent, or mid-change; either way its checks are reported as not run, with the reason."""
    if engine in ("ode", "ssa"):
        return None
    if engine != "abm":
        return f"unknown engine {engine!r}"
    try:
        mod = importlib.import_module("aftermath.engines.abm")
    except ImportError as exc:
        return f"engine 'abm' cannot be imported ({exc}): not run"
    if not hasattr(mod, "AbmEngine"):
        return "engine 'abm' is not installed (no AbmEngine): not run"
    return None


def engine_available(engine: str) -> bool:
    return engine_problem(engine) is None


def run_check(check: Check, cache: Runs | None = None, perturb: bool = False) -> Outcome:
    """Run one check; with ``perturb``, on the scenario with the check's deliberate error."""
    t0 = time.perf_counter()

    def outcome(status: str, expected: float | str | None = None, measured: float | str | None = None,
                tolerance: float | None = None, se: float = 0.0, expected_note: str = "",
                measured_note: str = "") -> Outcome:
        return Outcome(id=check.id, title=check.title, engine=check.engine, status=status, expected=expected,
                       measured=measured, tolerance=tolerance, tolerance_rule=check.tolerance.describe(), se=se,
                       runs=check.runs, source=check.source, expected_note=expected_note,
                       measured_note=measured_note, seconds=time.perf_counter() - t0, perturbed=perturb)

    problem = engine_problem(check.engine)
    if problem is not None:
        return outcome(UNAVAILABLE, measured_note=problem)
    cache = cache if cache is not None else Runs()
    expected_value: float | str | None = None
    try:
        clean = check.clean()
        exp = check.expected(clean)
        expected_value = exp.value
        scenario = check.broken() if perturb else clean
        meas = check.measure(scenario, Trial(check.engine, check.runs, exp, cache))
    except Exception as exc:  # a check that cannot run is reported, never hidden
        return outcome(ERROR, expected=expected_value, measured_note=f"{type(exc).__name__}: {exc}")
    bound: float | None = None
    if isinstance(exp.value, str) or isinstance(meas.value, str):
        ok = meas.value == exp.value
    else:
        bound = check.tolerance.bound(exp.value, meas.se)
        ok = math.isfinite(meas.value) and abs(meas.value - exp.value) <= bound
    return outcome(PASS if ok else FAIL, exp.value, meas.value, bound, meas.se, exp.note, meas.note)


def select(fast: bool = False, ids: Iterable[str] = ()) -> list[Check]:
    """The checks to run: the named ones (in catalogue order), else the fast subset, else all."""
    wanted = list(ids)
    if wanted:
        known = {c.id for c in CATALOGUE}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise KeyError(f"unknown check(s) {unknown}; known: {sorted(known)}")
        return [c for c in CATALOGUE if c.id in wanted]
    return [c for c in CATALOGUE if c.fast or not fast]


def run_catalogue(checks: Iterable[Check]) -> list[Outcome]:
    cache = Runs()
    return [run_check(c, cache) for c in checks]
