"""Counts finer than daily (``run.record_every``): samples within each day, beside the daily record.

Decisions, society and the daily record stay daily in every engine; ``record_every`` only asks an
engine to report its state at more times within each day, which it can do without changing what it
computes (``docs/scenario.md``, ``run.record_every``):

- ``ode``: the solver's dense output at the sample times; the daily counts are bit-identical.
- ``ssa``: the exact state at each sample time. The day is simulated in segments, and each segment
  draws its own first waiting time (exact, since waiting times are memoryless), so a seed gives a
  different, equally exact path than with daily records; the same seed and ``record_every`` give
  bit-identical runs.
- ``abm``: the state after a step, so only multiples of ``run.dt``.

A run with samples carries them in ``Result.extras["fine_time"]`` (days, from 0) and
``Result.extras["fine_counts"]`` (``[time, zone, state]``, the daily counts included at whole days);
:func:`fine_counts` returns them, or the daily record when there are none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aftermath.scenario.load import ScenarioError

if TYPE_CHECKING:
    from aftermath.result import Result
    from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]


class FineRecord:
    """Asks an engine for samples within each day and collects them with the day-end counts."""

    def __init__(self, engine: Any, scenario: Scenario, engine_name: str, counts0: F64) -> None:
        run = scenario.run
        self.check(scenario, engine_name)
        self.n = round(1.0 / (run.record_every or 1.0))
        inner = tuple(k / self.n for k in range(1, self.n))
        if engine_name == "abm":
            steps = round(1.0 / run.dt)
            engine.sample_steps = frozenset(round(t * steps) for t in inner)
        else:
            engine.sample_times = inner
        engine.samples = []
        self.engine = engine
        self.times: list[float] = [0.0]
        self.counts: list[F64] = [np.array(counts0, dtype=np.float64)]

    @staticmethod
    def check(scenario: Scenario, engine_name: str) -> None:
        """Raise :class:`ScenarioError` when the engine cannot sample at ``run.record_every``: the
        abm sees its state only after a step, so only multiples of ``run.dt``."""
        run = scenario.run
        if engine_name != "abm" or run.record_every is None or run.record_every >= 1.0:
            return
        if round(1.0 / run.dt) % round(1.0 / run.record_every):
            raise ScenarioError("<run options>", "run.record_every", run.record_every,
                                f"a multiple of run.dt = {run.dt:g} for the abm engine, which sees its state "
                                "only after a step (ode and ssa accept any 1/n of a day)")

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        return scenario.run.record_every is not None and scenario.run.record_every < 1.0

    def day_done(self, day: int, counts: F64) -> None:
        """Take the day's inner samples from the engine, then the day-end counts."""
        samples: list[F64] = self.engine.samples
        if len(samples) != self.n - 1:
            raise RuntimeError(f"day {day}: the engine reported {len(samples)} samples, expected {self.n - 1}")
        for k, c in enumerate(samples, start=1):
            self.times.append(day + k / self.n)
            self.counts.append(np.array(c, dtype=np.float64))
        self.times.append(float(day + 1))
        self.counts.append(np.array(counts, dtype=np.float64))
        self.engine.samples = []

    def extras(self) -> dict[str, Any]:
        return {"fine_time": np.array(self.times), "fine_counts": np.stack(self.counts)}


def fine_counts(result: Result) -> tuple[F64, F64]:
    """``(time, counts[time, zone, state])``: the samples within days if the run has them, else the
    daily record (times 0, 1, ..., days)."""
    t = result.extras.get("fine_time")
    c = result.extras.get("fine_counts")
    if isinstance(t, np.ndarray) and isinstance(c, np.ndarray):
        return t, c
    return result.time.astype(np.float64), result.counts
