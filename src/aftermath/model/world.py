"""The scenario compiled to arrays: what every engine reads, built once per run.

:class:`World` is engine-agnostic and immutable. It holds the zones, routes, factions and the
fixed strain set as NumPy arrays, plus derived quantities such as the expected hybrid outcome
over the resistance distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray
from scipy import special

from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class State(IntEnum):
    """The spectrum of states (docs/model.md#states). Values index the ``state`` axis everywhere."""

    S = 0
    E = 1
    H = 2
    Z = 3
    D = 4
    R = 5


N_STATES = len(State)
STATE_NAMES = tuple(s.name for s in State)

#: Bounds within which mutated traits are clipped (docs/model.md#strains asks for documented bounds).
TRAIT_BOUNDS: dict[str, tuple[float, float]] = {
    "beta": (0.0, 50.0),
    "p_hybrid": (0.0, 1.0),
    "relapse": (0.0, 10.0),
    "latency": (0.0, 365.0),
    "breach": (0.0, 1.0),
    "stealth": (0.0, 1.0),
}
TRAITS = tuple(TRAIT_BOUNDS)


def hybrid_probability(p_h: float | F64, k_res: float, resistance: float | F64) -> F64:
    """``p_i`` with ``logit(p_i) = logit(p_h) + k_res * (resistance_i - 0.5)`` (docs/model.md#progression)."""
    p = np.clip(np.asarray(p_h, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        lg = special.logit(p) + k_res * (np.asarray(resistance, dtype=np.float64) - 0.5)
    out: F64 = np.where(p <= 0.0, 0.0, np.where(p >= 1.0, 1.0, special.expit(lg)))
    return out


def resistance_beta(mean: float, sd: float) -> tuple[float, float] | None:
    """Beta(a, b) parameters with the given mean and s.d., or None when resistance is uniform."""
    if sd <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return None
    var = sd * sd
    if var >= mean * (1 - mean):
        var = 0.999 * mean * (1 - mean)
    common = mean * (1 - mean) / var - 1.0
    return mean * common, (1 - mean) * common


def mean_hybrid_probability(p_h: F64, k_res: float, mean: float, sd: float) -> F64:
    """Expected hybrid outcome over the population's resistance distribution.

    The ODE and SSA have no individuals; they use the population average of ``p_i`` (by
    Gauss-Legendre quadrature over the Beta density), which is what the ABM's individual draws
    average to. With uniform resistance this is ``p_i`` at the common resistance.
    """
    ab = resistance_beta(mean, sd)
    if ab is None:
        return hybrid_probability(p_h, k_res, mean)
    from scipy import stats  # (here: importing scipy.stats costs ~0.4 s, and `aftermath check` needs none of it)

    x, w = np.polynomial.legendre.leggauss(64)
    r = 0.5 * (x + 1.0)
    dens = stats.beta.pdf(r, *ab) * 0.5 * w
    dens /= dens.sum()
    return np.array([float(np.sum(dens * hybrid_probability(p, k_res, r))) for p in np.atleast_1d(p_h)])


@dataclass(frozen=True)
class World:
    """Arrays describing the places, routes, factions and fixed strains of one scenario."""

    scenario: Scenario
    zone_ids: tuple[str, ...]
    zone_kinds: tuple[str, ...]
    zone_faction: I64  # [zone] faction index, -1 for none
    wall: F64  # [zone]
    production: F64  # [zone]
    supplies0: F64  # [zone], inf = unlimited
    disposal: F64  # [zone] base phi
    births: F64  # [zone] Pi
    route_from: I64  # [route]
    route_to: I64
    route_rate: F64
    route_feral_rate: F64
    faction_ids: tuple[str, ...]
    trust0: F64  # [faction, faction]
    truce0: NDArray[np.bool_]  # [faction, faction], symmetric
    strain_ids: tuple[str, ...]
    traits: F64  # [strain, trait] in TRAITS order
    p_hybrid_mean: F64  # [strain] averaged over resistance
    counts0: F64  # [zone, state] initial (founding strain)

    @property
    def n_zones(self) -> int:
        return len(self.zone_ids)

    @property
    def n_routes(self) -> int:
        return len(self.route_from)

    @property
    def n_strains(self) -> int:
        return len(self.strain_ids)

    @property
    def n_factions(self) -> int:
        return len(self.faction_ids)

    def trait(self, name: str) -> F64:
        out: F64 = self.traits[:, TRAITS.index(name)]
        return out

    @property
    def sigma(self) -> F64:
        """1 / mean latency per strain; ``inf`` where latency is 0 (immediate outcome)."""
        lat = self.trait("latency")
        with np.errstate(divide="ignore"):
            out: F64 = np.where(lat > 0, 1.0 / np.where(lat > 0, lat, 1.0), np.inf)
        return out

    def route_open_by_truce(self, truce: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Routes between two factions' zones are open only while they keep a truce (docs/model.md#society)."""
        fa = self.zone_faction[self.route_from]
        fb = self.zone_faction[self.route_to]
        same = (fa < 0) | (fb < 0) | (fa == fb)
        ok = np.ones(self.n_routes, dtype=bool)
        cross = ~same
        ok[cross] = truce[fa[cross], fb[cross]]
        return ok


def build_world(sc: Scenario) -> World:
    """Compile a validated scenario into a :class:`World`."""
    zones = sc.zones
    fids = tuple(f.id for f in sc.factions)
    zone_faction = np.array([fids.index(z.faction) if z.faction else -1 for z in zones], dtype=np.int64)

    rf, rt, rr, rz = [], [], [], []
    zid = [z.id for z in zones]
    index = {z: i for i, z in enumerate(zid)}  # not zid.index(): routes x zones for a large world
    for r in sc.routes:
        pairs = [(r.from_, r.to)] + ([(r.to, r.from_)] if r.both_ways else [])
        for a, b in pairs:
            rf.append(index[a])
            rt.append(index[b])
            rr.append(r.rate)
            rz.append(r.feral_rate)

    nf = len(fids)
    trust0 = np.ones((nf, nf))
    truce0 = np.zeros((nf, nf), dtype=bool)
    for i, f in enumerate(sc.factions):
        trust0[i, :] = f.default_trust
        trust0[i, i] = 1.0
        for other, t in f.trust.items():
            trust0[i, fids.index(other)] = t
        for other in f.truces:
            j = fids.index(other)
            truce0[i, j] = truce0[j, i] = True

    p = sc.pathogen
    founder = [getattr(p, t) for t in TRAITS]
    rows = [founder]
    sids = ["founder"]
    for s in p.strains:
        rows.append([getattr(s, t) if getattr(s, t) is not None else founder[k] for k, t in enumerate(TRAITS)])
        sids.append(s.id)
    traits = np.array(rows, dtype=np.float64)
    p_mean = mean_hybrid_probability(traits[:, TRAITS.index("p_hybrid")], p.k_res, p.resistance_mean, p.resistance_sd)

    counts0 = np.array(
        [[getattr(z.population, s) for s in STATE_NAMES] for z in zones], dtype=np.float64
    )
    return World(
        scenario=sc,
        zone_ids=tuple(zid),
        zone_kinds=tuple(z.kind for z in zones),
        zone_faction=zone_faction,
        wall=np.array([z.wall for z in zones]),
        production=np.array([z.production for z in zones]),
        supplies0=np.array([np.inf if z.supplies is None else z.supplies for z in zones]),
        disposal=np.array([sc.defence.disposal if z.disposal is None else z.disposal for z in zones]),
        births=np.array([sc.demography.births if z.births is None else z.births for z in zones]),
        route_from=np.array(rf, dtype=np.int64),
        route_to=np.array(rt, dtype=np.int64),
        route_rate=np.array(rr, dtype=np.float64),
        route_feral_rate=np.array(rz, dtype=np.float64),
        faction_ids=fids,
        trust0=trust0,
        truce0=truce0,
        strain_ids=tuple(sids),
        traits=traits,
        p_hybrid_mean=p_mean,
        counts0=counts0,
    )
