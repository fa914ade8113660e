"""What the driver asks of an engine. Each engine is a solver of the one model."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from aftermath.model.policies import Levers
from aftermath.model.rates import DailyRates

F64 = NDArray[np.float64]


class Engine(Protocol):
    """An engine advances the world one day at a time under the day's rates and levers."""

    name: str

    def counts(self) -> F64:
        """Current [zone, state] counts."""
        ...

    def strain_counts(self) -> F64:
        """Current [strain] counts of the infected (E + H + Z); may grow as strains appear."""
        ...

    def sweep(self, day: int, levers: Levers, q: float) -> F64:
        """Apply the morning's sweeps; return their [flow, zone] counts."""
        ...

    def advance_day(self, day: int, rates: DailyRates, levers: Levers) -> tuple[F64, F64]:
        """Simulate one day; return ([flow, zone], [route flow, route]) counts of the day."""
        ...

    def extras(self) -> dict[str, Any]:
        """Engine-specific results at the end (strain table, ledger, events), possibly empty."""
        ...


def make_engine(name: str, world: Any, seed: int, check: bool = False) -> Engine:
    """Build an engine by name.

    ``check`` (the driver's debug mode) makes the ABM recount its people after every step and
    compare with the counts it keeps; the ODE and the SSA ignore it.
    """
    if name == "ode":
        from aftermath.engines.ode import OdeEngine

        return OdeEngine(world)
    if name == "ssa":
        from aftermath.engines.ssa import SsaEngine

        return SsaEngine(world, seed)
    if name == "abm":
        from aftermath.engines.abm import AbmEngine

        return AbmEngine(world, seed, check=check)
    raise ValueError(f"unknown engine {name!r}: expected one of ode, ssa, abm")
