"""What the record's words mean, defined once: which states each quantity sums, and what a peak is.

Every place that shows a number (the terminal, ``--json``, the HTML reports, the store) takes it from
:meth:`aftermath.result.Result.summary`, which uses these definitions; ``docs/report.md`` ("The
record") lists them.

- **humans** are S + E + H: everyone alive who is still themselves (susceptible, latent carriers,
  hybrids). "People" in a headcount means humans. Ferals (Z) are not counted among the people, nor
  are the dead (D, R). The one headcount of a scenario or a run is its humans at the start.
- **living** bodies are S + E + H + Z (the condition language's ``population``).
- A **day** is numbered from 0. Counts are recorded at the start (time 0) and at the end of each day
  ``d`` (time ``d + 1``); "on day ``d``" means at the end of day ``d``, as in the chronicle.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aftermath.model.world import State

F64 = NDArray[np.float64]

#: The states summed as "humans" everywhere: alive and themselves.
HUMAN_STATES = (State.S, State.E, State.H)
#: The states summed as living bodies (humans and ferals).
LIVING_STATES = (State.S, State.E, State.H, State.Z)


def humans(counts: F64) -> F64:
    """S + E + H over the last axis (states) of ``counts``."""
    out: F64 = counts[..., list(HUMAN_STATES)].sum(axis=-1)
    return out


#: Below half a person the record counts none (:data:`aftermath.record.chronicle.PRESENCE` is this).
NONE_BELOW = 0.5


def peak_after_low(series: F64, least: float = NONE_BELOW) -> tuple[float | None, int | None]:
    """The top of the largest rise of ``series`` (a count at times 0..T) above an earlier low, and
    the day it was reached (time ``t`` is the end of day ``t - 1``).

    A count that only falls has no peak: the start is where a series begins, not a peak, so a
    scenario that starts with many ferals (Hyosan) reports the later wave, not its day-0 count.
    An outbreak that grows from a few cases reports its ordinary maximum.
    Returns ``(None, None)`` when the series never rose by ``least`` (half a person, below which
    the record counts none: an ODE's count that falls towards zero and creeps back up by a
    millionth of a zombie has no peak).
    """
    x = np.asarray(series, dtype=float)
    if x.size < 2:
        return None, None
    rise = x - np.minimum.accumulate(x)
    t = int(np.argmax(rise))
    if rise[t] < least or rise[t] <= 0.0:
        return None, None
    return float(x[t]), t - 1


def first_day(mask: NDArray[np.bool_]) -> int | None:
    """The first day ``d`` at whose end ``mask`` holds, from a mask over times 0..T (time 0, the
    start, is not a day's end: what holds at the start is seen at the end of day 0 as well)."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool)[1:])
    return int(idx[0]) if idx.size else None
