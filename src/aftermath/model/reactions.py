"""Every transition of the model, declared once (docs/architecture.md, "one model, three engines").

A :class:`Transition` says who it acts on (``sources``), at what per-capita rate (a function of
the day's :class:`~aftermath.model.rates.DailyRates`, times a contact ``pressure``), where the
person ends up (``where``) and, through its :class:`Branch` es, in which state, which flows count
it and which ledger marks it leaves. Both solvers' tables are compiled from :data:`TRANSITIONS`:

* :func:`aftermath.model.network.build_network` expands each (transition, branch) over zones,
  strains, routes and Erlang stages into the reactions that the ODE integrates and the SSA samples;
  a branch's reaction has the rate ``rate * share``.
* :func:`aftermath.engines.abm.tables.compile_tables` turns each transition into *slots* of the
  agent-based engine's per-state hazard rows, with the product state, destination and flow tags
  of each branch; the step kernel applies that table.

Where the agent-based engine does more for an individual than the mean field can, the transition
names the ``hook`` that does it, and the hook only chooses among the declared branches (or, for
concealment, lets nothing happen):

* ``INFECT``: the strain comes from the biter (every ``BITE`` slot of S picks it in proportion to
  its pressure), may mutate, counts as a first infection when the person was never infected, and
  the outcome is latency (its end scheduled, Erlang) or an individual hybrid/feral outcome that
  depends on resistance;
* ``ONSET``: the end of latency, scheduled rather than a hazard (``scheduled``); the outcome is
  hybrid with the individual probability;
* ``CONCEAL``: a household may hide its infected member from a cull or a transfer;
* ``ADMIT``: the gate decides individually (screening with quarantine pens, concealment).

Impulsive events are not rates and are not here: sweeps (the driver's morning phase) and births'
placement in the agent-based engine (it draws the same ``births`` rate per step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike

from aftermath.model.flows import Flag, Flow, RouteFlow
from aftermath.model.rates import DailyRates
from aftermath.model.world import State

RateFn = Callable[[DailyRates], ArrayLike]


class Hook(IntEnum):
    """What the agent-based engine decides for an individual (see the module docstring)."""

    NONE = 0
    INFECT = 1
    ONSET = 2
    CONCEAL = 3
    ADMIT = 4


class Pressure(IntEnum):
    """The contact term a rate is multiplied by (``N``: the zone's bodies, 1 under mass action)."""

    NONE = 0
    BITE = 1  # (Z_s + eta H_s) / N of the strain s
    DEFENCE = 2  # (S + h H) / N, all strains


class Where(IntEnum):
    """Where the product is: here, at the destination of a route out of the zone, or at the
    zone's hybrid target (a sanctuary or an isolation zone)."""

    HERE = 0
    ROUTE = 1
    TARGET = 2


@dataclass(frozen=True)
class Branch:
    """One outcome of a transition.

    ``share``: the fraction of the transition's rate that ends here (``None``: all of it);
    like ``rate`` it broadcasts to ``[zone or route, strain]``. ``moves``: for ``ROUTE`` and
    ``TARGET`` transitions, whether the person arrives (False: turned away, stays put). Flows
    count at the transition's place (a route's destination, the target) and ledger marks are
    the agent-based engine's per-person record (docs/model.md#policies).
    """

    product: State
    tags: tuple[Flow, ...] = ()
    share: RateFn | None = None
    moves: bool = True
    route_tag: RouteFlow | None = None
    ledger: int = 0  # Flag bits


@dataclass(frozen=True)
class Transition:
    """A transition of the model (see the module docstring).

    ``rate`` broadcasts to ``[zone, strain]`` (``HERE``, ``TARGET``) or ``[route, strain]``
    (``ROUTE``). ``scheduled``: the compartmental engines hold the stage as ``shape`` Erlang
    sub-stages at ``shape * rate`` each; the agent-based engine draws its end when it starts.
    ``sacrifice``: in a zone sealed around an uninfected person, this harm marks them sacrificed.
    ``breach``: the destination's wall was crossed (``Flow.BREACH`` where it has one).
    """

    name: str
    sources: tuple[State, ...]
    rate: RateFn
    branches: tuple[Branch, ...]
    pressure: Pressure = Pressure.NONE
    where: Where = Where.HERE
    hook: Hook = Hook.NONE
    scheduled: bool = False
    sacrifice: bool = False
    breach: bool = False


def _latent(r: DailyRates) -> np.ndarray:
    return np.isfinite(r.sigma)


S, E, H, Z, D, R = State.S, State.E, State.H, State.Z, State.D, State.R
F = Flow

#: The model (docs/model.md): #encounters (encounters, defence, decay, reanimation, disposal),
#: #progression (latency, relapse), #movement (demography, starvation, cure, culls, transfers,
#: movement through walls and gates).
TRANSITIONS: tuple[Transition, ...] = (
    Transition("bite_infect", (S,), lambda r: r.infect * (1.0 - r.kappa), (
        Branch(E, (F.INFECTION,), share=lambda r: _latent(r) * 1.0),
        Branch(H, (F.INFECTION, F.ONSET_HYBRID), share=lambda r: ~_latent(r) * r.p_hybrid),
        Branch(Z, (F.INFECTION, F.ONSET_FERAL), share=lambda r: ~_latent(r) * (1.0 - r.p_hybrid)),
    ), pressure=Pressure.BITE, hook=Hook.INFECT, sacrifice=True),
    Transition("bite_kill", (S,), lambda r: r.infect * r.kappa, (Branch(D, (F.BITE_DEATH,)),),
               pressure=Pressure.BITE, sacrifice=True),
    Transition("latency_end", (E,), lambda r: r.sigma, (
        Branch(H, (F.ONSET_HYBRID,), share=lambda r: r.p_hybrid),
        Branch(Z, (F.ONSET_FERAL,), share=lambda r: 1.0 - r.p_hybrid),
    ), hook=Hook.ONSET, scheduled=True),
    Transition("defence", (Z,), lambda r: r.defend[:, None], (
        Branch(D, (F.FERAL_DESTROYED,), share=lambda r: r.q),
        Branch(R, (F.FERAL_DESTROYED,), share=lambda r: 1.0 - r.q),
    ), pressure=Pressure.DEFENCE),
    Transition("decay", (Z,), lambda r: r.decay, (Branch(R, (F.DECAY,)),)),
    Transition("relapse", (H,), lambda r: r.relapse, (Branch(Z, (F.RELAPSE,)),)),
    Transition("natural_death", (S, E, H), lambda r: r.death, (Branch(D, (F.NATURAL_DEATH,)),)),
    Transition("starvation", (S, E, H), lambda r: r.starvation[:, None], (Branch(D, (F.STARVATION,)),),
               sacrifice=True),
    Transition("cure", (E, H, Z), lambda r: r.cure[:, None], (Branch(S, (F.CURE,)),)),
    Transition("cull", (H,), lambda r: r.cull[:, None], (Branch(R, (F.CULL,), ledger=Flag.CULLED),),
               hook=Hook.CONCEAL),
    Transition("transfer", (H,), lambda r: r.hybrid_move[:, None], (Branch(H, (F.HYBRID_MOVED,)),),
               where=Where.TARGET, hook=Hook.CONCEAL),
    Transition("reanimation", (D,), lambda r: r.reanimation, (Branch(Z, (F.REANIMATION,)),)),
    Transition("disposal", (D,), lambda r: r.disposal[:, None], (Branch(R, (F.DISPOSAL,)),)),
    Transition("walk_healthy", (S,), lambda r: r.human_pass[:, None], (
        Branch(S, (F.HUMAN_ARRIVED,), share=lambda r: r.admit_s[:, None], route_tag=RouteFlow.HUMANS),
        Branch(S, (F.EXCLUDED, F.EXCLUDED_HEALTHY), share=lambda r: 1.0 - r.admit_s[:, None], moves=False,
               route_tag=RouteFlow.EXCLUDED, ledger=Flag.EXCLUDED | Flag.EXCLUDED_HEALTHY),
    ), where=Where.ROUTE, hook=Hook.ADMIT),
    Transition("walk_infected", (E, H), lambda r: r.human_pass[:, None], (
        Branch(E, (F.HUMAN_ARRIVED, F.INFECTED_ARRIVED), share=lambda r: r.admit_i, route_tag=RouteFlow.HUMANS),
        Branch(E, (F.EXCLUDED,), share=lambda r: 1.0 - r.admit_i, moves=False, route_tag=RouteFlow.EXCLUDED,
               ledger=Flag.EXCLUDED),
    ), where=Where.ROUTE, hook=Hook.ADMIT),
    Transition("wander", (Z,), lambda r: r.feral_move, (
        Branch(Z, (F.FERAL_ARRIVED,), route_tag=RouteFlow.FERALS),
    ), where=Where.ROUTE, breach=True),
)
"""Products of a transition with several sources (``walk_infected``) are given for the first
source; a branch whose product is the first source's state keeps each source's own state."""

#: Births (docs/model.md#movement): into S at ``births[zone]`` people per day, counted as ``Flow.BIRTH``.
BIRTHS: RateFn = lambda r: r.births[:, None]  # noqa: E731 (a declaration, like the lambdas above)


def product_state(t: Transition, b: Branch, source: State) -> State:
    """The state a person of ``source`` ends in by branch ``b`` (see the note on TRANSITIONS)."""
    return source if b.product == t.sources[0] else b.product


def by_name(name: str) -> Transition:
    """The transition called ``name``."""
    for t in TRANSITIONS:
        if t.name == name:
            return t
    raise KeyError(name)
