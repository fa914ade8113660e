"""Evolution: the strain table (the phylogeny) and mutation at infection (docs/model.md#strains).

At each new infection, with probability ``mu`` the infecting strain mutates: every trait is
multiplied by ``exp(Normal(0, sd))`` and clipped to ``world.TRAIT_BOUNDS``; the new strain gets a
row (id, parent, day, zone, traits). The step kernel marks such infections ``PENDING``;
:func:`resolve_pending` then creates their strains in person-index order (so ids do not depend on
threads) and finishes the infection with the new strain's traits. When the table is full
(``pathogen.mutation.max_strains`` rows, the fixed strains included) mutation stops and the
chronicle says so.

Fitness, for the chronicle's "new lineage" (a mutation that raised fitness markedly): the expected
number of bites one new infection deals in a fully susceptible, fully vigilant zone under
frequency mixing (an R0-like proxy)::

    fitness = beta * ((1 - p) * T_Z + p * (eta + r * T_Z) / (r + delta))
    T_Z     = 1 / (alpha + gamma_z)          (a feral's expected life among defenders)

with ``p`` the hybrid outcome at the population's mean resistance, ``r`` the relapse rate,
``delta`` background death (hybrids bite at ``eta`` while they last, and relapse into ferals with
probability ``r / (r + delta)``). Denominators are floored at 1e-6 per day so that the proxy stays
finite where nothing removes the infected. A strain is a new lineage when its fitness exceeds
its parent's by ``lineage_ratio``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.rng import Stream, uniform
from aftermath.engines.abm.state import PENDING
from aftermath.engines.abm.step import infect
from aftermath.model.world import TRAIT_BOUNDS, TRAITS, World, hybrid_probability

if TYPE_CHECKING:
    import pandas as pd

F64 = NDArray[np.float64]
K_TRAIT = int(Stream.TRAIT)
T_LAT, T_PH = TRAITS.index("latency"), TRAITS.index("p_hybrid")
FLOOR = 1e-6


class StrainTable:
    """Growing table of strains: the fixed set first (parent -1, day 0), then mutants."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.capacity = int(world.scenario.pathogen.mutation.max_strains)
        n0 = world.n_strains
        alloc = max(n0, min(self.capacity, 64))
        self.traits = np.zeros((alloc, len(TRAITS)))
        self.traits[:n0] = world.traits
        self.parent = np.full(alloc, -1, dtype=np.int64)
        self.day = np.zeros(alloc, dtype=np.int64)
        self.zone = np.full(alloc, -1, dtype=np.int64)
        self.n = n0
        self.lo = np.array([TRAIT_BOUNDS[t][0] for t in TRAITS])
        self.hi = np.array([TRAIT_BOUNDS[t][1] for t in TRAITS])

    @property
    def full(self) -> bool:
        return self.n >= self.capacity

    def reserve(self, extra: int) -> None:
        """Room for ``extra`` more rows (bounded by the capacity)."""
        need = min(self.n + extra, self.capacity)
        if need <= self.traits.shape[0]:
            return
        alloc = min(self.capacity, max(need, 2 * self.traits.shape[0]))
        for name, fill in (("traits", 0.0), ("parent", -1), ("day", 0), ("zone", -1)):
            old = getattr(self, name)
            new = np.full((alloc, *old.shape[1:]), fill, dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)

    def fitness(self, rows: slice | NDArray[np.int64] | None = None) -> F64:
        """The R0-like fitness proxy of the module docstring, per strain."""
        sc = self.world.scenario
        tr = self.traits[: self.n] if rows is None else self.traits[rows]
        beta, ph, r = tr[:, TRAITS.index("beta")], tr[:, T_PH], tr[:, TRAITS.index("relapse")]
        p = hybrid_probability(ph, sc.pathogen.k_res, sc.pathogen.resistance_mean)
        tz = 1.0 / max(sc.defence.alpha + sc.defence.decay, FLOOR)
        out: F64 = beta * ((1.0 - p) * tz + p * (sc.pathogen.eta + r * tz) / np.maximum(r + sc.demography.death, FLOOR))
        return out

    def frame(self) -> pd.DataFrame:
        """The strain table: strain, parent, day, zone, traits and fitness."""
        import pandas as pd

        w = self.world
        names = [self.name(i) for i in range(self.n)]
        df = pd.DataFrame(self.traits[: self.n], columns=list(TRAITS))
        df.insert(0, "strain", names)
        df.insert(1, "parent", [self.name(int(p)) if p >= 0 else "" for p in self.parent[: self.n]])
        df.insert(2, "day", self.day[: self.n].astype(np.int64))
        df.insert(3, "zone", [w.zone_ids[int(z)] if z >= 0 else "" for z in self.zone[: self.n]])
        df["fitness"] = self.fitness()
        return df

    def name(self, i: int) -> str:
        return self.world.strain_ids[i] if i < self.world.n_strains else f"s{i}"


@nb.njit(cache=True)
def _normal(keys, j, i):
    u1 = uniform(keys[K_TRAIT + 2 * j], i)
    u2 = uniform(keys[K_TRAIT + 2 * j + 1], i)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


@nb.njit(cache=True)
def mutate_traits(keys, i, parent_traits, sd, lo, hi, out):
    """Each trait times ``exp(Normal(0, sd))``, clipped to its bounds (draws keyed by person ``i``)."""
    for j in range(parent_traits.shape[0]):
        v = parent_traits[j] * math.exp(sd * _normal(keys, j, i))
        out[j] = min(max(v, lo[j]), hi[j])


@nb.njit(cache=True)
def resolve_pending(n, chunk, pend_chunk, state, zone, strain, next_t, res_table, res_key, t, day, dt, keys,
                    traits, parent, born_day, born_zone, n_strains, capacity, sd, lo, hi, k_res, shape,
                    counts, czs, flows, outcome_tags):
    """Create the strains of this step's mutated infections, in person order; finish the infections.

    Returns the new number of strains. ``counts``, ``czs`` and ``flows`` are the engine's totals;
    ``outcome_tags[state]`` are the flows of the infection's outcome in that state that the step
    did not count already (:func:`aftermath.engines.abm.tables.infection_outcome_tags`).
    """
    ns = n_strains
    lat = traits[:, T_LAT]
    for c in range(pend_chunk.shape[0]):
        if pend_chunk[c] == 0:
            continue
        for i in range(c * chunk, min(n, c * chunk + chunk)):
            if state[i] != PENDING:
                continue
            s = np.int64(strain[i])
            z = np.int64(zone[i])
            if ns < capacity:
                mutate_traits(keys, i, traits[s], sd, lo, hi, traits[ns])
                parent[ns] = s
                born_day[ns] = day
                born_zone[ns] = z
                s = ns
                ns += 1
                lat = traits[:, T_LAT]
            strain[i] = s
            new = infect(keys, i, s, t, dt, lat, traits[:, T_PH], k_res, res_table, res_key[0], shape, next_t)
            state[i] = new
            for k in range(outcome_tags.shape[1]):
                f = outcome_tags[new, k]
                if f >= 0:
                    flows[f, z] += 1
            counts[z, new] += 1
            czs[z, s, new - 1] += 1
        pend_chunk[c] = 0
    return ns
