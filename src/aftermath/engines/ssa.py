"""Exact stochastic simulation (Gillespie's direct method) of the reaction network.

The SSA samples the same :class:`~aftermath.model.network.Network` that the ODE integrates: integer
counts per species, one reaction event at a time, in continuous time. Coefficients are constant
within a day (policies and society act at day boundaries, docs/model.md#policies), so each day is
simulated exactly from ``t = 0`` to ``t = 1``; a waiting time that crosses the end of the day is
discarded, which is exact because the exponential clock has no memory.

Speed comes from three things, all in :func:`ssa_advance` (Numba):

* **incremental propensities**: when a reaction fires, only the propensities that read a changed
  count are recomputed. The dependency graph is built once per network
  (:func:`dependency_graph`): species -> reactions that use it as reactant or inside their pressure,
  and zone -> reactions whose pressure is divided by the zone's ``N`` (frequency mixing; only
  consulted when an event changes a zone's ``N``);
* **a sum tree** over the propensities: selecting the next reaction and updating one propensity
  are ``O(log R)``, and the total is never accumulated by repeated additions and subtractions (each
  node is recomputed from its two children), so it cannot drift;
* **uniforms passed in blocks**: the kernel reads uniforms from a buffer drawn by NumPy's
  ``Generator`` (PCG64 from ``SeedSequence(seed)``) and returns when the buffer runs low; the
  engine carries the unread ones over into the next block and calls again. The stream consumed
  is the generator's sequence in order, so a seed gives bit-identical runs, and the kernel
  rebuilds its propensities from the counts on every call, exactly as it would have updated them.

Sweeps (impulsive eradication) draw binomials from a second, independent stream:
each feral (and, if the sweep takes them, each hybrid) is destroyed with the kill share, and each
destroyed body becomes a corpse with probability ``q``, else is removed -- the integer version of
:meth:`aftermath.engines.ode.OdeEngine.sweep`, with the same flow tags.
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.base import F64
from aftermath.engines.budget import work_limit
from aftermath.model.flows import N_FLOWS, N_ROUTE_FLOWS, Flow
from aftermath.model.network import Network, build_network
from aftermath.model.policies import Levers
from aftermath.model.rates import DailyRates
from aftermath.model.world import STATE_NAMES, World
from aftermath.scenario.load import ScenarioError


class _Shown:
    """A value shown as is in an error message."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

I64 = NDArray[np.int64]

#: Uniforms drawn per block. Any size gives the same stream; this one keeps the buffer at 512 KiB.
BLOCK = 1 << 16


# -- kernels ------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _propensity(r, x, coef, reactant, pressure, zone, pv, den):
    """Propensity of reaction ``r`` (the same expression as ``kernels.propensities``)."""
    a = coef[r]
    if a == 0.0:
        return 0.0
    if reactant[r] >= 0:
        xr = float(x[reactant[r]])
        a *= xr if xr > 0.0 else 0.0
    if pressure[r] >= 0:
        d = den[zone[r]]
        pr = pv[pressure[r]]
        a = a * pr / d if d > 0.0 and pr > 0.0 else 0.0
    return a


@nb.njit(cache=True)
def _pressure_row(p, x, p_ptr, p_idx, p_w):
    acc = 0.0
    for j in range(p_ptr[p], p_ptr[p + 1]):
        acc += p_w[j] * x[p_idx[j]]
    return acc


@nb.njit(cache=True)
def _tree_set(tree, n_leaves, r, value):
    """Set leaf ``r`` and recompute its ancestors from their children."""
    i = n_leaves + r
    tree[i] = value
    i >>= 1
    while i >= 1:
        tree[i] = tree[2 * i] + tree[2 * i + 1]
        i >>= 1


@nb.njit(cache=True)
def _tree_select(tree, n_leaves, target):
    """The leaf whose cumulative interval contains ``target`` (in ``[0, tree[1])``).

    Never returns a leaf of propensity 0: where rounding would step into an empty subtree, the
    other (non-empty) one is taken.
    """
    i = 1
    while i < n_leaves:
        left = 2 * i
        a_left = tree[left]
        if a_left > 0.0 and (target < a_left or tree[left + 1] <= 0.0):
            i = left
        else:
            target -= a_left
            i = left + 1
    return i - n_leaves


@nb.njit(cache=True)
def _recompute(rx_ptr, rx_idx, key, x, coef, reactant, pressure, zone, pv, den, tree, n_leaves):
    for j in range(rx_ptr[key], rx_ptr[key + 1]):
        r = rx_idx[j]
        _tree_set(tree, n_leaves, r, _propensity(r, x, coef, reactant, pressure, zone, pv, den))


@nb.njit(cache=True)
def ssa_advance(x, t, t_end, coef, reactant, product, pressure, zone, p_ptr, p_idx, p_w,
                species_zone, living, n_zones, mass_action, flow_index, route_index,
                sp_rx_ptr, sp_rx_idx, sp_p_ptr, sp_p_idx, zone_rx_ptr, zone_rx_idx,
                u, pos, flows, route):
    """Simulate from time ``t`` to ``t_end`` with Gillespie's direct method, in place.

    ``x`` (int64 counts), ``flows`` and ``route`` (event counters, flat as in the network's
    ``flow_index`` and ``route_index``) are updated in place. Uniforms are read from ``u``
    starting at ``pos``; the kernel stops early, before an event, when fewer than two are left.

    Returns ``(t, pos, n_events, done)``: the time reached, the next unread uniform, the number
    of events simulated and whether ``t_end`` was reached.
    """
    n_r = reactant.shape[0]
    n_leaves = 1
    while n_leaves < n_r:
        n_leaves *= 2
    # state derived from the counts: rebuilt on every call, updated incrementally below
    den = np.ones(n_zones)
    if not mass_action:
        den[:] = 0.0
        for i in range(x.shape[0]):
            if living[i]:
                den[species_zone[i]] += x[i]
    n_p = p_ptr.shape[0] - 1
    pv = np.empty(n_p)
    for p in range(n_p):
        pv[p] = _pressure_row(p, x, p_ptr, p_idx, p_w)
    tree = np.zeros(2 * n_leaves)
    for r in range(n_r):
        tree[n_leaves + r] = _propensity(r, x, coef, reactant, pressure, zone, pv, den)
    for i in range(n_leaves - 1, 0, -1):
        tree[i] = tree[2 * i] + tree[2 * i + 1]

    n_events = 0
    n_u = u.shape[0]
    while True:
        a0 = tree[1]
        if a0 <= 0.0:
            return t_end, pos, n_events, True
        if pos + 2 > n_u:
            return t, pos, n_events, False
        tau = -math.log(1.0 - u[pos]) / a0  # u in [0, 1): 1 - u in (0, 1]
        pos += 1
        if t + tau >= t_end:
            return t_end, pos, n_events, True
        t += tau
        r = _tree_select(tree, n_leaves, u[pos] * a0)
        pos += 1
        n_events += 1

        for k in range(flow_index.shape[1]):
            fi = flow_index[r, k]
            if fi >= 0:
                flows[fi] += 1.0
        if route_index[r] >= 0:
            route[route_index[r]] += 1.0
        src = reactant[r]
        dst = product[r]
        if src == dst:  # counts only (people turned away at a gate)
            continue
        zs = -1  # zones whose N changed
        zd = -1
        if src >= 0:
            x[src] -= 1
            if living[src] and not mass_action:
                den[species_zone[src]] -= 1.0
                zs = species_zone[src]
        if dst >= 0:
            x[dst] += 1
            if living[dst] and not mass_action:
                den[species_zone[dst]] += 1.0
                if zs == species_zone[dst]:
                    zs = -1  # moved within the zone's living bodies: its N is unchanged
                else:
                    zd = species_zone[dst]
        for sp in (src, dst):
            if sp >= 0:
                for j in range(sp_p_ptr[sp], sp_p_ptr[sp + 1]):
                    p = sp_p_idx[j]
                    pv[p] = _pressure_row(p, x, p_ptr, p_idx, p_w)
        for sp in (src, dst):
            if sp >= 0:
                _recompute(sp_rx_ptr, sp_rx_idx, sp, x, coef, reactant, pressure, zone, pv, den, tree, n_leaves)
        for zz in (zs, zd):
            if zz >= 0:
                _recompute(zone_rx_ptr, zone_rx_idx, zz, x, coef, reactant, pressure, zone, pv, den, tree, n_leaves)


# -- the dependency graph -----------------------------------------------------------------------


def _csr(n_keys: int, pairs: list[tuple[int, int]]) -> tuple[I64, I64]:
    """Compressed rows ``key -> sorted unique values`` from (key, value) pairs."""
    rows: list[set[int]] = [set() for _ in range(n_keys)]
    for k, v in pairs:
        rows[k].add(v)
    ptr = np.zeros(n_keys + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(r) for r in rows])
    idx = np.array([v for r in rows for v in sorted(r)], dtype=np.int64)
    return ptr, idx


def dependency_graph(net: Network) -> dict[str, I64]:
    """Which propensities read which counts.

    ``sp_rx``: species -> reactions with that species as reactant or in their pressure row;
    ``sp_p``: species -> pressure rows that contain it; ``zone_rx``: zone -> reactions with a
    pressure (divided by the zone's ``N`` under frequency mixing).
    """
    n_p = len(net.p_ptr) - 1
    sp_p = [(int(net.p_idx[j]), p) for p in range(n_p) for j in range(net.p_ptr[p], net.p_ptr[p + 1])]
    rows_of_p: list[list[int]] = [[] for _ in range(n_p)]
    for r, p in enumerate(net.pressure):
        if p >= 0:
            rows_of_p[p].append(r)
    sp_rx = [(int(s), r) for r, s in enumerate(net.reactant) if s >= 0]
    sp_rx += [(s, r) for s, p in sp_p for r in rows_of_p[p]]
    zone_rx = [(int(net.zone[r]), r) for r in range(net.n_reactions) if net.pressure[r] >= 0]
    out: dict[str, I64] = {}
    for name, n_keys, pairs in (("sp_rx", net.n_species, sp_rx), ("sp_p", net.n_species, sp_p),
                                ("zone_rx", net.world.n_zones, zone_rx)):
        out[f"{name}_ptr"], out[f"{name}_idx"] = _csr(n_keys, pairs)
    return out


# -- the engine ---------------------------------------------------------------------------------


class SsaEngine:
    """Exact stochastic solver of the network: integer counts, continuous time.

    Same compartments and reactions as the ODE (no individuals, so no resistance beyond its mean,
    no mutation, no concealment), sampled rather than averaged.
    """

    name = "ssa"

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.net: Network = build_network(world)
        x0 = self.net.initial_state()
        whole = np.rint(x0)
        if np.any(np.abs(x0 - whole) > 1e-9):
            bad = int(np.flatnonzero(np.abs(x0 - whole) > 1e-9)[0])
            z, s = int(self.net.species_zone[bad]), STATE_NAMES[self.net.species_state[bad]]
            raise ScenarioError("<ssa run>", f"zones.{z}.population.{s}", float(x0[bad]),
                                "a whole number of people for the ssa engine (only the ode engine accepts "
                                "fractions)")  # the budget says so first, when run by simulate()
        self.x: I64 = whole.astype(np.int64)
        react_seq, sweep_seq = np.random.SeedSequence(seed).spawn(2)
        self._rng = np.random.Generator(np.random.PCG64(react_seq))
        self._sweep_rng = np.random.Generator(np.random.PCG64(sweep_seq))
        self._u: F64 = self._rng.random(BLOCK)
        self._pos = 0
        self._deps = dependency_graph(self.net)
        self.n_events = 0
        self.max_events = work_limit("ssa")  # checked as it runs, as well as estimated before
        #: times within a day (fractions) at which to sample the counts into ``samples``
        self.sample_times: tuple[float, ...] = ()
        self.samples: list[F64] = []

    def counts(self) -> F64:
        return self.net.counts(self.x.astype(np.float64))

    def strain_counts(self) -> F64:
        return self.net.strain_counts(self.x.astype(np.float64))

    def sweep(self, day: int, levers: Levers, q: float) -> F64:
        net, x, rng = self.net, self.x, self._sweep_rng
        flows = np.zeros((N_FLOWS, self.world.n_zones))
        for z in map(int, np.flatnonzero(levers.sweep_kill > 0)):
            k = float(levers.sweep_kill[z])
            for s in range(self.world.n_strains):
                victims = [(net.z_(z, s), False)]
                if levers.sweep_hybrids[z]:
                    victims.append((net.h_(z, s), True))
                for sp, hybrid in victims:
                    dead = int(rng.binomial(x[sp], k))
                    corpses = int(rng.binomial(dead, q))
                    x[sp] -= dead
                    x[net.d_(z, s)] += corpses
                    x[net.r_(z)] += dead - corpses
                    flows[Flow.SWEEP_KILL, z] += dead
                    if hybrid:
                        flows[Flow.SWEEP_HYBRIDS, z] += dead
        return flows

    def advance_day(self, day: int, rates: DailyRates, levers: Levers) -> tuple[F64, F64]:
        net = self.net
        coef = net.coefficients(rates)
        flows = np.zeros(net.n_flow_bins)
        route = np.zeros(net.n_route_bins)
        samples: list[F64] = []
        t = 0.0
        for t_end in (*self.sample_times, 1.0):  # run.record_every: segments ending at the sample times
            t = self._advance_to(day, t, t_end, coef, rates.mass_action, flows, route)
            if t_end < 1.0:
                samples.append(self.counts())
        self.samples = samples
        return flows.reshape(N_FLOWS, self.world.n_zones), route.reshape(N_ROUTE_FLOWS, self.world.n_routes)

    def _advance_to(self, day: int, t: float, t_end: float, coef: F64, mass_action: bool, flows: F64,
                    route: F64) -> float:
        """Simulate from ``t`` to ``t_end`` (times within ``day``), refilling uniforms as needed."""
        net, d = self.net, self._deps
        done = False
        while not done:
            t, self._pos, n, done = ssa_advance(
                self.x, t, t_end, coef, net.reactant, net.product, net.pressure, net.zone, net.p_ptr, net.p_idx,
                net.p_w, net.species_zone, net.living, self.world.n_zones, mass_action, net.flow_index,
                net.route_index, d["sp_rx_ptr"], d["sp_rx_idx"], d["sp_p_ptr"], d["sp_p_idx"], d["zone_rx_ptr"],
                d["zone_rx_idx"], self._u, self._pos, flows, route)
            self.n_events += n
            if self.n_events > self.max_events:  # the estimate can miss a process that speeds up
                raise ScenarioError("<ssa run>", "run", _Shown(f"more than {self.max_events:.3g} events by day {day}"),
                                    f"at most {self.max_events:.3g} events (the documented bound for the ssa "
                                    "engine); change the zones' populations, run.days (--days), the rates, or the "
                                    "engine (--engine ode)")
            if not done:  # out of uniforms: keep the unread ones, append a fresh block
                self._u = np.concatenate([self._u[self._pos:], self._rng.random(BLOCK)])
                self._pos = 0
        return t

    def extras(self) -> dict[str, Any]:
        return {}
