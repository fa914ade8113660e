"""The model written once, as a reaction network (docs/architecture.md, "one model, three engines").

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
route flow, which the engines accumulate. The reactions are not written here: :func:`build_network`
expands the declarations of :mod:`aftermath.model.reactions`, from which the agent-based engine's
tables are compiled too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from aftermath.model.flows import N_FLOWS, N_ROUTE_FLOWS, Flow
from aftermath.model.rates import DailyRates
from aftermath.model.reactions import BIRTHS, TRANSITIONS, Pressure, RateFn, Where, product_state
from aftermath.model.world import N_STATES, State, World

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MAX_TAGS = 3


@dataclass(frozen=True)
class _Block:
    """The reactions of one (transition, branch): their rate is ``rate * share * mult`` read at
    ``flat`` of the ``[place, strain]`` array (a place is a zone or a route), masked to the
    reactions whose ``target`` is the source zone's hybrid target, where there is one."""

    rate: RateFn
    share: RateFn | None
    n_places: int
    rows: I64
    flat: I64
    mult: F64
    target: I64 | None


@dataclass
class _Builder:
    n_strains: int
    transition: list[int] = field(default_factory=list)
    branch: list[int] = field(default_factory=list)
    reactant: list[int] = field(default_factory=list)
    product: list[int] = field(default_factory=list)
    pressure: list[int] = field(default_factory=list)
    zone: list[int] = field(default_factory=list)
    flat: list[int] = field(default_factory=list)
    mult: list[float] = field(default_factory=list)
    tags: list[list[int]] = field(default_factory=list)
    route_tag: list[int] = field(default_factory=list)
    target: list[int] = field(default_factory=list)

    def add(self, transition: int, branch: int, reactant: int, product: int, zone: int, flat: int, mult: float,
            tags: tuple[int, ...], pressure: int, route_tag: int, target: int) -> None:
        self.transition.append(transition)
        self.branch.append(branch)
        self.reactant.append(reactant)
        self.product.append(product)
        self.pressure.append(pressure)
        self.zone.append(zone)
        self.flat.append(flat)
        self.mult.append(mult)
        self.tags.append(list(tags) + [-1] * (MAX_TAGS - len(tags)))
        self.route_tag.append(route_tag)
        self.target.append(target)

    def blocks(self, n_zones: int, n_routes: int) -> tuple[_Block, ...]:
        tr, br = np.array(self.transition), np.array(self.branch)
        flat, mult, target = np.array(self.flat), np.array(self.mult, dtype=np.float64), np.array(self.target)
        out = []
        for ti, bi in sorted(set(zip(self.transition, self.branch, strict=True))):
            rows = np.flatnonzero((tr == ti) & (br == bi))
            if ti < 0:
                rate, share, places = BIRTHS, None, n_zones
            else:
                t = TRANSITIONS[ti]
                rate, share = t.rate, t.branches[bi].share if bi >= 0 else None
                places = n_routes if t.where == Where.ROUTE else n_zones
            tg = target[rows]
            out.append(_Block(rate, share, places, rows, flat[rows], mult[rows], tg if (tg >= 0).any() else None))
        return tuple(out)


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
    transition: I64  # [reaction] index into TRANSITIONS (-1: births)
    branch: I64  # [reaction] branch of the transition (-1: an inner Erlang stage of latency)
    _blocks: tuple[_Block, ...]

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
        """The day's ``coef`` vector: each block's rate arrays evaluated once, then gathered (one
        gather, product and scatter for all blocks: the ODE calls this every simulated day)."""
        ns = self.world.n_strains
        gather, mult, rows, target_rows, target_flat, target = self._plan
        laid, views = self._laid_out
        if views and views[0].base is not laid:  # a copy of the network: its views own their data now
            del self.__dict__["_laid_out"]
            laid, views = self._laid_out
        for b, view in zip(self._blocks, views, strict=True):
            v = b.rate(rates)
            if b.share is not None:
                v = np.asarray(v, dtype=np.float64) * np.asarray(b.share(rates), dtype=np.float64)
            view[...] = v  # broadcast to [place, strain] as it is written, end to end with the others
        vals = laid[gather] * mult
        if target_rows.size:
            vals[target_rows] = vals[target_rows] * (rates.hybrid_target[target_flat // ns] == target)
        coef = np.zeros(self.n_reactions)
        coef[rows] = vals
        return coef

    @functools.cached_property
    def _laid_out(self) -> tuple[F64, list[F64]]:
        """For :meth:`coefficients`: the blocks' rate arrays laid end to end in one buffer (written
        anew each call), and each block's [place, strain] view of its part."""
        ns = self.world.n_strains
        laid = np.empty(sum(b.n_places * ns for b in self._blocks))
        views, offset = [], 0
        for b in self._blocks:
            views.append(laid[offset: offset + b.n_places * ns].reshape(b.n_places, ns))
            offset += b.n_places * ns
        return laid, views

    @functools.cached_property
    def _plan(self) -> tuple[I64, F64, I64, I64, I64, I64]:
        """For :meth:`coefficients`: where each reaction's value sits in the blocks' rate arrays laid
        end to end, its multiplier, its row; and the reactions masked by a hybrid target."""
        ns = self.world.n_strains
        gather, mult, rows, t_rows, t_flat, t_target = [], [], [], [], [], []
        offset = done = 0
        for b in self._blocks:
            gather.append(offset + b.flat)
            mult.append(b.mult)
            rows.append(b.rows)
            if b.target is not None:
                t_rows.append(done + np.arange(len(b.rows)))
                t_flat.append(b.flat)
                t_target.append(b.target)
            offset += b.n_places * ns
            done += len(b.rows)

        def cat(xs: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype=dtype)

        return (cat(gather, np.int64), cat(mult, np.float64), cat(rows, np.int64), cat(t_rows, np.int64),
                cat(t_flat, np.int64), cat(t_target, np.int64))

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
    """Expand :data:`~aftermath.model.reactions.TRANSITIONS` into the reaction table of ``world``.

    Each (transition, branch) becomes one reaction per source species (zone, strain, Erlang stage
    of E, cohort of S) and place (here, each route out of the zone, each possible hybrid target),
    at ``rate * share``; a scheduled transition (latency) runs through the E stages at
    ``shape * rate``. A strain with no latency has no E reactions (its E stays empty).
    """
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
                  np.zeros(0, np.int64), np.zeros(0), living, np.zeros(0, np.int64), np.zeros(0, np.int64), ())
    b = _Builder(n_strains=ns)
    p_rows: list[list[tuple[int, float]]] = []
    p_key: dict[tuple[int, int], int] = {}
    eta, h = sc.pathogen.eta, sc.defence.hybrid_weight

    def pressure(kind: Pressure, z: int, s: int) -> int:
        if kind == Pressure.NONE:
            return -1
        key = (int(kind), z if kind == Pressure.DEFENCE else z * ns + s)
        if key not in p_key:
            if kind == Pressure.BITE:
                p_rows.append([(net.z_(z, s), 1.0), (net.h_(z, s), eta)])
            else:
                p_rows.append([(net.s_(z), 1.0), (net.n_(z), 1.0)] + [(net.h_(z, j), h) for j in range(ns)])
            p_key[key] = len(p_rows) - 1
        return p_key[key]

    def species(state: State, z: int, s: int, stage: int, cohort: bool) -> int:
        if state == State.S:
            return net.n_(z) if cohort else net.s_(z)
        if state == State.E:
            return net.e_(z, s, stage)
        if state == State.R:
            return net.r_(z)
        return {State.H: net.h_, State.Z: net.z_, State.D: net.d_}[state](z, s)

    latent = world.sigma < np.inf
    targets = sorted({world.zone_ids.index(t) for p in sc.policies
                      for t in (getattr(p, "sanctuary", None), getattr(p, "isolation", None)) if t})
    out_routes: list[list[int]] = [[] for _ in range(nz)]
    for ri in range(nr):
        out_routes[int(world.route_from[ri])].append(ri)

    for ti, t in enumerate(TRANSITIONS):
        for src_state in t.sources:
            per_strain = src_state != State.S or t.pressure == Pressure.BITE
            for z in range(nz):
                if t.where == Where.ROUTE:
                    places = [(ri, int(world.route_to[ri]), ri, -1) for ri in out_routes[z]]
                elif t.where == Where.TARGET:
                    places = [(z, tz, -1, tz) for tz in targets if tz != z]
                else:
                    places = [(z, z, -1, -1)]
                for s in range(ns) if per_strain else (0,):
                    if src_state == State.E and not latent[s]:
                        continue
                    if src_state == State.S:
                        sources = [(net.s_(z), 0, False), (net.n_(z), 0, True)]
                    elif src_state == State.E:
                        sources = [(net.e_(z, s, i), i, False) for i in range(k)]
                    else:
                        sources = [(species(src_state, z, s, 0, False), 0, False)]
                    for sp, stage, cohort in sources:
                        if t.scheduled and stage < k - 1:  # an inner Erlang stage: on to the next
                            b.add(ti, -1, sp, sp + 1, z, z * ns + s, k, (), -1, -1, -1)
                            continue
                        for a, dest, ri, target in places:
                            for bi, br in enumerate(t.branches):
                                prod = product_state(t, br, src_state)
                                where = dest if br.moves else z
                                tags: list[int] = list(br.tags)
                                if cohort and Flow.INFECTION in tags:
                                    tags.append(Flow.FIRST_INFECTION)
                                if t.breach and world.wall[dest] > 0:
                                    tags.append(Flow.BREACH)
                                route_tag = int(br.route_tag) * nr + ri if br.route_tag is not None else -1
                                b.add(ti, bi, sp, species(prod, where, s, stage if prod == State.E else 0, cohort),
                                      dest, a * ns + s, k if t.scheduled else 1, tuple(tags),
                                      pressure(t.pressure, z, s), route_tag, target)
    for z in range(nz):
        b.add(-1, 0, -1, net.s_(z), z, z * ns, 1, (Flow.BIRTH,), -1, -1, -1)

    tag_arr = np.array(b.tags, dtype=np.int64)
    zone = np.array(b.zone, dtype=np.int64)
    flow_index = np.where(tag_arr >= 0, tag_arr * nz + zone[:, None], -1)
    p_ptr = np.zeros(len(p_rows) + 1, dtype=np.int64)
    p_ptr[1:] = np.cumsum([len(row) for row in p_rows])
    p_idx = np.array([i for row in p_rows for i, _ in row], dtype=np.int64)
    p_w = np.array([w for row in p_rows for _, w in row], dtype=np.float64)
    return Network(
        world=world, n_species=n_species, stride=stride, shape=k, species_zone=sz, species_state=st,
        species_strain=ss, reactant=np.array(b.reactant, dtype=np.int64),
        product=np.array(b.product, dtype=np.int64), pressure=np.array(b.pressure, dtype=np.int64),
        zone=zone, flow_index=flow_index, route_index=np.array(b.route_tag, dtype=np.int64),
        p_ptr=p_ptr, p_idx=p_idx, p_w=p_w, living=living,
        transition=np.array(b.transition, dtype=np.int64), branch=np.array(b.branch, dtype=np.int64),
        _blocks=b.blocks(nz, nr),
    )
