"""The day's effective rates: parameters x policy levers x society, one table for all engines.

:func:`daily_rates` is the single place where docs/model.md (#encounters, #progression, #movement) become numbers for a
given day. The reaction network (ODE, SSA) builds its propensities from these arrays; the ABM
builds its per-person hazards from the same arrays, and a test holds the two against each other.

Per-capita hazards of the model, with ``N`` the zone's living bodies (1 under mass action):

* bite on each S: ``sum_s infect[z, s] * (Z_s + eta * H_s) / N``; a bite kills with ``kappa``
* defence on each feral: ``defend[z] * (S + h * H) / N``; destroyed -> D with ``q``, else R
* decay ``decay``, relapse ``relapse[z, s]``, reanimation ``reanimation``, disposal ``disposal[z]``
* latency: Erlang(``shape``, ``shape * sigma[s]``); outcome hybrid with ``p_hybrid[s]``
* cure ``cure[z]`` (E, H, Z -> S); cull ``cull[z]`` (H -> R); hybrid transfer ``hybrid_move[z]``
* natural death ``death`` and starvation ``starvation[z]`` (S, E, H -> D); births ``births[z]``
* movement per route: humans try at ``human_try[r]``, get through the wall and gate with
  ``1 - wall``, then are admitted with ``admit_s[r]`` (S) or ``admit_i[r, s]`` (E, H); ferals
  move at ``feral_move[r, s]``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from aftermath.model.day_kernels import rates_day, strain_day
from aftermath.model.policies import ADMIT_CLOSED, ADMIT_SCREEN, HYB_CULL, HYB_ISOLATE, Levers
from aftermath.model.society import Society
from aftermath.model.world import TRAITS, World

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class DailyRates:
    """Effective rates for one day (see the module docstring for their meaning)."""

    mass_action: bool
    infect: F64  # [zone, strain]
    eta: float
    kappa: float
    defend: F64  # [zone]
    hybrid_weight: float
    q: float
    decay: float
    relapse: F64  # [zone, strain]
    reanimation: float
    disposal: F64  # [zone]
    sigma: F64  # [strain], inf = no latency
    shape: int
    p_hybrid: F64  # [strain], averaged over resistance
    births: F64  # [zone]
    death: float
    starvation: F64  # [zone]
    cure: F64  # [zone]
    cull: F64  # [zone]
    hybrid_move: F64  # [zone]
    hybrid_target: I64  # [zone]
    human_pass: F64  # [route] attempt rate x (1 - wall) x gates open: rate of reaching the gate
    admit_s: F64  # [route]
    admit_i: F64  # [route, strain]
    feral_move: F64  # [route, strain]
    breach_route: NDArray[np.bool_]  # [route] destination has a wall
    # [zone] chance a household hides an infected member from screening, culls and transfers
    # (docs/model.md#society; ABM only: the compartmental engines have no households). Empty = none.
    conceal: F64 = field(default_factory=lambda: np.zeros(0))


def field_key(v: object) -> tuple[object, ...]:
    """One field of :class:`DailyRates` (or of the levers) exactly: an array as its type, shape and
    bytes; a float as its bits (so that -0.0 is not 0.0); anything else as its type and value."""
    if isinstance(v, np.ndarray):
        return (v.dtype, v.shape, v.tobytes())
    if isinstance(v, float):
        return (v.hex(),)
    return (type(v), v)


class _Constants:
    """What :func:`daily_rates` and :func:`strain_rates` compute from the world alone, once per world
    rather than once per day (the same arrays, computed by the same operations)."""

    def __init__(self, world: World) -> None:
        traits = world.traits
        fr, to = world.route_from, world.route_to
        fa, fb = world.zone_faction[fr], world.zone_faction[to]
        cross = ~((fa < 0) | (fb < 0) | (fa == fb))  # as World.route_open_by_truce
        self.cross, self.cross_a, self.cross_b = cross, fa[cross], fb[cross]
        self.open_wall = 1.0 - world.wall[to]
        self.breach_route = world.wall[to] > 0
        self.sigma = world.sigma
        # the fixed strains' columns (contiguous: rates_day is compiled for one layout of its arrays)
        beta, self.relapse0, self.breach, stealth = (np.ascontiguousarray(traits[:, TRAITS.index(t)])
                                                     for t in ("beta", "relapse", "breach", "stealth"))
        self.through = self.traits_through(world, self.breach)
        self.unstealth = 1.0 - stealth  # [strain] the share screening can see
        self.infect = np.broadcast_to(beta[None, :], (world.n_zones, len(beta))).copy()
        sc = world.scenario
        dfn, con = sc.defence, sc.society.concealment
        #: rates_day's parameters after the levers, as floats and ints (one compiled signature)
        self.day_params = (*(float(x) for x in (sc.society.fear.flight, sc.society.supplies.starvation, dfn.alpha,
                                                  con.base, con.harshness, con.trust_weight,
                                                  sc.society.memory.distrust)),
                           ADMIT_SCREEN, ADMIT_CLOSED, HYB_CULL, HYB_ISOLATE)

    @staticmethod
    def traits_through(world: World, breach: F64) -> F64:
        """Per route and strain, the share of ferals a wall lets through."""
        out: F64 = 1.0 - world.wall[world.route_to][:, None] * (1.0 - breach[None, :])
        return out


_CONSTANTS: dict[int, tuple[weakref.ref[World], _Constants]] = {}


def _constants(world: World) -> _Constants:
    """The world's :class:`_Constants`, computed on first use and kept as long as the world lives."""
    key = id(world)
    hit = _CONSTANTS.get(key)
    if hit is not None and hit[0]() is world:
        return hit[1]
    consts = _Constants(world)
    _CONSTANTS[key] = (weakref.ref(world, lambda _ref: _CONSTANTS.pop(key, None)), consts)
    return consts


class RatesOfDay:
    """:func:`daily_rates` of one run, day after day: yesterday's :class:`DailyRates`, the same
    object, when today's inputs are yesterday's: the same :class:`Levers` object (the policy book
    gives the same one while no policy acts; nothing writes into levers) and society's arrays that
    :func:`daily_rates` reads equal to yesterday's bit for bit. It is a pure function of them and
    the world, so the rates are the same; an engine that keeps what it computed from the rates
    (the ABM's coefficients of a day) sees an unchanged day by an identity test. (The matched SIR
    at 1e6 people: the day's rates and the test of them had cost some 100 us a day of its 1 ms.)"""

    #: what :func:`daily_rates` reads of the society
    SOCIETY = ("fear", "vigilance", "starving", "truce", "trust", "kin_culled")

    def __init__(self, world: World) -> None:
        self.world = world
        self._last: tuple[Levers, list[bytes], DailyRates] | None = None

    def __call__(self, society: Society, levers: Levers) -> DailyRates:
        kept = [np.ascontiguousarray(getattr(society, f)).tobytes() for f in self.SOCIETY]
        last = self._last
        if last is not None and last[0] is levers and last[1] == kept:
            return last[2]
        rates = daily_rates(self.world, society, levers)
        self._last = (levers, kept, rates)
        return rates


def daily_rates(world: World, society: Society, levers: Levers) -> DailyRates:
    """Combine the scenario, the day's levers and society's state into :class:`DailyRates`."""
    sc = world.scenario
    pth, dfn = sc.pathogen, sc.defence
    k = _constants(world)

    # the arrays that move with society and the levers, in one compiled call (.day_kernels: the
    # NumPy expressions they replaced, element by element, bit for bit; the strains' rates and the
    # trust in one's faction by the functions strain_rates and Society.faction_trust call too)
    nz, nr, ns = world.n_zones, world.n_routes, world.traits.shape[0]
    human_pass, admit_s = np.empty(nr), np.empty(nr)
    admit_i, feral_move, relapse = np.empty((nr, ns)), np.empty((nr, ns)), np.empty((nz, ns))
    starvation, cull, move, defend, disposal, conceal = (np.empty(nz) for _ in range(6))
    rates_day(society.fear, society.vigilance, society.starving, society.truce, society.trust, society.kin_culled,
              world.route_from, world.route_to, world.route_rate, k.open_wall, k.cross, world.zone_faction,
              world.disposal, k.relapse0, k.breach, k.unstealth, k.through,
              world.route_feral_rate, levers.seal_out, levers.seal_in, levers.admit_mode, levers.specificity,
              levers.sensitivity, levers.hybrid_action, levers.hybrid_rate, levers.hybrid_target,
              levers.disposal_extra, levers.relapse_mult, *k.day_params, human_pass, admit_s, admit_i,
              feral_move, relapse, starvation, cull, move, defend, disposal, conceal)
    return DailyRates(
        mass_action=sc.run.mixing == "mass_action",
        infect=k.infect.copy(),
        eta=pth.eta,
        kappa=pth.kappa,
        defend=defend,
        hybrid_weight=dfn.hybrid_weight,
        q=dfn.q,
        decay=dfn.decay,
        relapse=relapse,
        reanimation=dfn.reanimation,
        disposal=disposal,
        sigma=k.sigma,
        shape=pth.latency_shape,
        p_hybrid=world.p_hybrid_mean,
        births=world.births,
        death=sc.demography.death,
        starvation=starvation,
        cure=levers.cure,
        cull=cull,
        hybrid_move=move,
        hybrid_target=levers.hybrid_target,
        human_pass=human_pass,
        admit_s=admit_s,
        admit_i=admit_i,
        feral_move=feral_move,
        breach_route=k.breach_route,
        conceal=conceal,
    )


def strain_rates(world: World, levers: Levers, traits: F64) -> tuple[F64, F64, F64, F64]:
    """The strain-dependent rates for a strain table ``traits`` ([strain, trait] in TRAITS order).

    Returns ``(infect [zone, strain], relapse [zone, strain], admit_i [route, strain],
    feral_move [route, strain])``. :func:`daily_rates` computes the same for the fixed strain set
    (both by :func:`~aftermath.model.day_kernels.strain_day`); the ABM calls this with its growing
    phylogeny, so mutants get their rates from the same formulas. None of these depend on society,
    only on traits, places and the day's levers.
    """
    beta, relapse0, breach, stealth = (np.ascontiguousarray(traits[:, TRAITS.index(t)])
                                       for t in ("beta", "relapse", "breach", "stealth"))
    nz, nr, ns = world.n_zones, world.n_routes, traits.shape[0]
    infect = np.broadcast_to(beta[None, :], (nz, ns)).copy()
    admit_i, feral_move, relapse = np.empty((nr, ns)), np.empty((nr, ns)), np.empty((nz, ns))
    strain_day(world.route_from, world.route_to, levers.admit_mode, levers.sensitivity, levers.seal_out,
               levers.relapse_mult, relapse0, breach, 1.0 - stealth, _Constants.traits_through(world, breach),
               world.route_feral_rate, ADMIT_SCREEN, ADMIT_CLOSED, admit_i, feral_move, relapse)
    return infect, relapse, admit_i, feral_move
