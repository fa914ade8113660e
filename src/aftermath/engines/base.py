"""What the driver asks of an engine. Each engine is a solver of the one model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from aftermath.model.policies import Levers
from aftermath.model.rates import DailyRates

F64 = NDArray[np.float64]


class Later:
    """An extra that an engine hands back to be made once the engine is let go (the driver makes it):
    a pandas frame of the run's end, built after the population's arrays are freed, so that loading
    pandas (about 65 MiB) does not add to the run's peak memory (korea's 1.9 GB)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def made(extras: dict[str, Any]) -> dict[str, Any]:
    """``extras`` with each :class:`Later` made."""
    return {k: v.make() if isinstance(v, Later) else v for k, v in extras.items()}


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
        """Engine-specific results at the end (strain table, ledger, events), possibly empty; a
        value may be a :class:`Later`, made by the driver once the engine is let go."""
        ...


@dataclass(frozen=True)
class EngineSpec:
    """An entry of the engine registry: how to build it, and what it is."""

    name: str
    summary: str
    stochastic: bool  # takes a seed; replicates differ
    build: Callable[[Any, int, bool], Engine]


def _ode(world: Any, seed: int, check: bool) -> Engine:
    from aftermath.engines.ode import OdeEngine

    return OdeEngine(world)


def _ssa(world: Any, seed: int, check: bool) -> Engine:
    from aftermath.engines.ssa import SsaEngine

    return SsaEngine(world, seed)


def _abm(world: Any, seed: int, check: bool) -> Engine:
    from aftermath.engines.abm import AbmEngine

    return AbmEngine(world, seed, check=check)


#: The one engine registry: the CLI, the ensembles and the scenario schema read their choices here.
ENGINES: dict[str, EngineSpec] = {
    "ode": EngineSpec("ode", "deterministic mean-field ODE of the reaction network", False, _ode),
    "ssa": EngineSpec("ssa", "exact stochastic simulation (Gillespie) of the reaction network", True, _ssa),
    "abm": EngineSpec("abm", "agent-based: every person, on tables compiled from the same reactions", True, _abm),
}
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)


def check_engine(name: str) -> EngineSpec:
    """The registry entry for ``name``; ``ValueError`` naming the choices otherwise."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINE_NAMES)}")
    return ENGINES[name]


def make_engine(name: str, world: Any, seed: int, check: bool = False) -> Engine:
    """Build an engine by name (see :data:`ENGINES`).

    ``check`` (the driver's debug mode) makes the ABM recount its people after every step and
    compare with the counts it keeps; the ODE and the SSA ignore it.
    """
    return check_engine(name).build(world, seed, check)
