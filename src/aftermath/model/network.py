"""The model written once, as a reaction network (ARCHITECTURE.md, "one model, three engines").

Species are zone x state x strain (x Erlang stage for E). S is held as two species: the initial
cohort's never-infected (``n_``), and everyone else in S (the born and the cured, ``s_``); they
behave alike, and the split only lets infections of the first be counted (``FIRST_INFECTION``),
which makes the attack rate exact. Every reaction moves one individual
from its ``reactant`` species to its ``product`` species (``-1`` is "outside": births come from
it, nothing goes to it) at the propensity

    a_r = coef_r * X[reactant_r] * (P[pressure_r] / N[zone_r] if pressure_r >= 0 else 1)

where ``P`` is a weighted sum of species (the feral bite pressure ``Z_s + eta H_s``, or the
defence pressure ``S + h H``), ``N`` the zone's living bodies (1 under mass action), and
``coef_r`` is refilled every day from :class:`~aftermath.model.rates.DailyRates`. A reaction
whose reactant equals its product changes nothing and only counts (people turned away at a gate).

Each reaction is tagged with up to three flow categories (``Flow``) at a zone and optionally one
route flow, which the engines accumulate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from aftermath.model.flows import N_FLOWS, N_ROUTE_FLOWS, Flow, RouteFlow
from aftermath.model.rates import DailyRates
from aftermath.model.world import N_STATES, State, World

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MAX_TAGS = 3

CoefFn = Callable[[DailyRates], float]


@dataclass
class _Builder:
    reactant: list[int] = field(default_factory=list)
    product: list[int] = field(default_factory=list)
    pressure: list[int] = field(default_factory=list)
    zone: list[int] = field(default_factory=list)
    tags: list[list[int]] = field(default_factory=list)
    route_tag: list[int] = field(default_factory=list)
    coef: list[CoefFn] = field(default_factory=list)

    def add(self, reactant: int, product: int, coef: CoefFn, zone: int, tags: tuple[int, ...] = (),
            pressure: int = -1, route_tag: int = -1) -> None:
        self.reactant.append(reactant)
        self.product.append(product)
        self.pressure.append(pressure)
        self.zone.append(zone)
        self.tags.append(list(tags) + [-1] * (MAX_TAGS - len(tags)))
        self.route_tag.append(route_tag)
        self.coef.append(coef)


@dataclass(frozen=True)
class Network:
    """A compiled reaction network for one world. See the module docstring."""

    world: World
    n_species: int
    stride: int  # species per zone
    shape: int  # Erlang stages of E
    species_zone: I64
    species_state: I64
    species_strain: I64  # -1 for S and R
    reactant: I64
    product: I64
    pressure: I64
    zone: I64
    flow_index: I64  # [reaction, MAX_TAGS] index into the flat flow vector (flow * n_zones + zone), -1 none
    route_index: I64  # [reaction] index into the flat route-flow vector (kind * n_routes + route), -1 none
    p_ptr: I64
    p_idx: I64
    p_w: F64
    living: NDArray[np.bool_]  # [species] counts towards N (run.denominator)
    _coef: tuple[CoefFn, ...]

    @property
    def n_reactions(self) -> int:
        return len(self.reactant)

    @property
    def n_flow_bins(self) -> int:
        return N_FLOWS * self.world.n_zones

    @property
    def n_route_bins(self) -> int:
        return N_ROUTE_FLOWS * self.world.n_routes

    # -- species layout --------------------------------------------------------------------
    def s_(self, z: int) -> int:
        return z * self.stride

    def e_(self, z: int, s: int, stage: int = 0) -> int:
        return z * self.stride + 1 + s * self.shape + stage

    def h_(self, z: int, s: int) -> int:
        return z * self.stride + 1 + self.world.n_strains * self.shape + s

    def z_(self, z: int, s: int) -> int:
        return self.h_(z, s) + self.world.n_strains

    def d_(self, z: int, s: int) -> int:
        return self.h_(z, s) + 2 * self.world.n_strains

    def n_(self, z: int) -> int:
        """The initial cohort's never-infected S of zone ``z``."""
        return z * self.stride + self.stride - 2

    def r_(self, z: int) -> int:
        return z * self.stride + self.stride - 1

    # -- conversion ----------------------------------------------------------------------
    def coefficients(self, rates: DailyRates) -> F64:
        """The day's ``coef`` vector."""
        return np.array([f(rates) for f in self._coef], dtype=np.float64)

    def initial_state(self) -> F64:
        """Species counts at day 0 (infected states in the founding strain, first Erlang stage)."""
        x = np.zeros(self.n_species)
        for z in range(self.world.n_zones):
            c = self.world.counts0[z]
            x[self.n_(z)] = c[State.S]
            x[self.e_(z, 0)] = c[State.E]
            x[self.h_(z, 0)] = c[State.H]
            x[self.z_(z, 0)] = c[State.Z]
            x[self.d_(z, 0)] = c[State.D]
            x[self.r_(z)] = c[State.R]
        return x

    def counts(self, x: F64) -> F64:
        """[zone, state] totals of a species vector."""
        out = np.zeros((self.world.n_zones, N_STATES))
        np.add.at(out, (self.species_zone, self.species_state), x)
        return out

    def strain_counts(self, x: F64) -> F64:
        """[strain] infected (E + H + Z) totals of a species vector."""
        infected = (self.species_state >= State.E) & (self.species_state <= State.Z)
        out: F64 = np.bincount(self.species_strain[infected], weights=x[infected],
                               minlength=self.world.n_strains).astype(np.float64)
        return out


def build_network(world: World) -> Network:
    """Build the reaction table of MODEL.md sections 3, 4 and 6 for ``world``."""
    sc = world.scenario
    nz, ns, nr = world.n_zones, world.n_strains, world.n_routes
    k = sc.pathogen.latency_shape
    stride = 1 + ns * k + 3 * ns + 2  # S, E stages, H, Z, D, never-infected S, R
    n_species = nz * stride
    sz = np.repeat(np.arange(nz), stride)
    st = np.zeros(n_species, dtype=np.int64)
    ss = np.full(n_species, -1, dtype=np.int64)
    for z in range(nz):
        o = z * stride
        st[o] = State.S
        for s in range(ns):
            st[o + 1 + s * k: o + 1 + (s + 1) * k] = State.E
            ss[o + 1 + s * k: o + 1 + (s + 1) * k] = s
            for j, state in enumerate((State.H, State.Z, State.D)):
                st[o + 1 + ns * k + j * ns + s] = state
                ss[o + 1 + ns * k + j * ns + s] = s
        st[o + stride - 2] = State.S
        st[o + stride - 1] = State.R
    # who counts in N under frequency mixing (run.denominator)
    living = st <= State.Z if sc.run.denominator == "living" else np.ones(n_species, dtype=bool)

    # a layout-only network, for its species index helpers while the reactions are built
    net = Network(world, n_species, stride, k, sz, st, ss, *(np.zeros(0, np.int64),) * 7,
                  np.zeros(0, np.int64), np.zeros(0), living, ())
    b = _Builder()
    p_rows: list[list[tuple[int, float]]] = []

    def pressure(terms: list[tuple[int, float]]) -> int:
        p_rows.append(terms)
        return len(p_rows) - 1

    eta, h = sc.pathogen.eta, sc.defence.hybrid_weight
    latent = world.sigma < np.inf
    targets = sorted({world.zone_ids.index(t) for p in sc.policies
                      for t in (getattr(p, "sanctuary", None), getattr(p, "isolation", None)) if t})
    F = Flow
    for z in range(nz):
        S, SN, R = net.s_(z), net.n_(z), net.r_(z)
        susceptible = ((S, ()), (SN, (F.FIRST_INFECTION,)))  # (species, extra tags of an infection)
        defence = pressure([(S, 1.0), (SN, 1.0)] + [(net.h_(z, s), h) for s in range(ns)])
        for s in range(ns):
            E0, H, Z, D = net.e_(z, s), net.h_(z, s), net.z_(z, s), net.d_(z, s)
            bite = pressure([(Z, 1.0), (H, eta)])
            for sus, first in susceptible:
                if latent[s]:
                    b.add(sus, E0, lambda r, z=z, s=s: r.infect[z, s] * (1 - r.kappa), z,
                          (F.INFECTION, *first), bite)
                else:
                    b.add(sus, H, lambda r, z=z, s=s: r.infect[z, s] * (1 - r.kappa) * r.p_hybrid[s], z,
                          (F.INFECTION, F.ONSET_HYBRID, *first), bite)
                    b.add(sus, Z, lambda r, z=z, s=s: r.infect[z, s] * (1 - r.kappa) * (1 - r.p_hybrid[s]), z,
                          (F.INFECTION, F.ONSET_FERAL, *first), bite)
                b.add(sus, D, lambda r, z=z, s=s: r.infect[z, s] * r.kappa, z, (F.BITE_DEATH,), bite)
            b.add(Z, D, lambda r, z=z: r.defend[z] * r.q, z, (F.FERAL_DESTROYED,), defence)
            b.add(Z, R, lambda r, z=z: r.defend[z] * (1 - r.q), z, (F.FERAL_DESTROYED,), defence)
            b.add(Z, R, lambda r: r.decay, z, (F.DECAY,))
            for i in range(k if latent[s] else 0):  # with no latency, E stays empty
                Ei = net.e_(z, s, i)
                if i < k - 1:
                    b.add(Ei, Ei + 1, lambda r, s=s: r.shape * r.sigma[s], z)
                else:
                    b.add(Ei, H, lambda r, s=s: r.shape * r.sigma[s] * r.p_hybrid[s], z, (F.ONSET_HYBRID,))
                    b.add(Ei, Z, lambda r, s=s: r.shape * r.sigma[s] * (1 - r.p_hybrid[s]), z, (F.ONSET_FERAL,))
                b.add(Ei, D, lambda r: r.death, z, (F.NATURAL_DEATH,))
                b.add(Ei, D, lambda r, z=z: r.starvation[z], z, (F.STARVATION,))
                b.add(Ei, S, lambda r, z=z: r.cure[z], z, (F.CURE,))
            b.add(H, Z, lambda r, z=z, s=s: r.relapse[z, s], z, (F.RELAPSE,))
            b.add(H, D, lambda r: r.death, z, (F.NATURAL_DEATH,))
            b.add(H, D, lambda r, z=z: r.starvation[z], z, (F.STARVATION,))
            b.add(H, S, lambda r, z=z: r.cure[z], z, (F.CURE,))
            b.add(Z, S, lambda r, z=z: r.cure[z], z, (F.CURE,))
            b.add(H, R, lambda r, z=z: r.cull[z], z, (F.CULL,))
            for t in targets:
                if t != z:
                    b.add(H, net.h_(t, s), lambda r, z=z, t=t: r.hybrid_move[z] * (r.hybrid_target[z] == t), t,
                          (F.HYBRID_MOVED,))
            b.add(D, Z, lambda r: r.reanimation, z, (F.REANIMATION,))
            b.add(D, R, lambda r, z=z: r.disposal[z], z, (F.DISPOSAL,))
        D0 = net.d_(z, 0)
        b.add(-1, S, lambda r, z=z: r.births[z], z, (F.BIRTH,))
        for sus, _ in susceptible:
            b.add(sus, D0, lambda r: r.death, z, (F.NATURAL_DEATH,))
            b.add(sus, D0, lambda r, z=z: r.starvation[z], z, (F.STARVATION,))

    for ri in range(nr):
        a, c = int(world.route_from[ri]), int(world.route_to[ri])
        humans = RouteFlow.HUMANS * nr + ri
        excluded = RouteFlow.EXCLUDED * nr + ri
        for src, dst in ((net.s_(a), net.s_(c)), (net.n_(a), net.n_(c))):
            b.add(src, dst, lambda r, ri=ri: r.human_pass[ri] * r.admit_s[ri], c,
                  (F.HUMAN_ARRIVED,), route_tag=humans)
            b.add(src, src, lambda r, ri=ri: r.human_pass[ri] * (1 - r.admit_s[ri]), c,
                  (F.EXCLUDED, F.EXCLUDED_HEALTHY), route_tag=excluded)
        for s in range(ns):
            movers = [net.e_(a, s, i) for i in range(k)] + [net.h_(a, s)]
            dests = [net.e_(c, s, i) for i in range(k)] + [net.h_(c, s)]
            for src, dst in zip(movers, dests, strict=True):
                b.add(src, dst, lambda r, ri=ri, s=s: r.human_pass[ri] * r.admit_i[ri, s], c,
                      (F.HUMAN_ARRIVED, F.INFECTED_ARRIVED), route_tag=humans)
                b.add(src, src, lambda r, ri=ri, s=s: r.human_pass[ri] * (1 - r.admit_i[ri, s]), c,
                      (F.EXCLUDED,), route_tag=excluded)
            feral_tags = (F.FERAL_ARRIVED, F.BREACH) if world.wall[c] > 0 else (F.FERAL_ARRIVED,)
            b.add(net.z_(a, s), net.z_(c, s), lambda r, ri=ri, s=s: r.feral_move[ri, s], c, feral_tags,
                  route_tag=RouteFlow.FERALS * nr + ri)

    tags = np.array(b.tags, dtype=np.int64)
    zone = np.array(b.zone, dtype=np.int64)
    flow_index = np.where(tags >= 0, tags * nz + zone[:, None], -1)
    p_ptr = np.zeros(len(p_rows) + 1, dtype=np.int64)
    p_ptr[1:] = np.cumsum([len(row) for row in p_rows])
    p_idx = np.array([i for row in p_rows for i, _ in row], dtype=np.int64)
    p_w = np.array([w for row in p_rows for _, w in row], dtype=np.float64)
    return Network(
        world=world, n_species=n_species, stride=stride, shape=k, species_zone=sz, species_state=st,
        species_strain=ss, reactant=np.array(b.reactant, dtype=np.int64),
        product=np.array(b.product, dtype=np.int64), pressure=np.array(b.pressure, dtype=np.int64),
        zone=zone, flow_index=flow_index, route_index=np.array(b.route_tag, dtype=np.int64),
        p_ptr=p_ptr, p_idx=p_idx, p_w=p_w, living=living, _coef=tuple(b.coef),
    )
