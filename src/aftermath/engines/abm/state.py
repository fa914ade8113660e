"""The population as struct-of-arrays, preallocated once, and its memory estimate (which
:mod:`aftermath.engines.budget` checks against the machine's limit before anything is allocated).

Core state per person (20 bytes, 22 with more than 65,535 strains; the target is at most 32):

========== ======= ===== =======================================================================
array      dtype   bytes meaning
========== ======= ===== =======================================================================
state      uint8   1     :class:`~aftermath.model.world.State` code (6 = infection pending its
                         mutated strain, only inside a step)
zone       uint16  2     where the person is
strain     uint16  2     strain id for E, H, Z and D (row of the strain table); 0 otherwise
                         (int32, 4 bytes, where ``mutation.max_strains`` is above 65,535)
next_t     int32   4     step at which the scheduled transition (end of latency) happens
household  int32   4     household id (concealment is a household's decision)
flags      uint8   1     ledger bits (:class:`Flag`): what policy did to this person
flag_zone  uint16  2     zone of the first policy act on this person (65535: none); never moved
seal_zone  uint16  2     zone most recently sealed around this person while uninfected (65535:
                         none): where an infection, a bite or starvation makes them sacrificed
ever       uint8   1     infection history (:class:`Ever`): ever infected; born during the run
memory     uint8   1     memory of loss, 0 to 253 (:mod:`aftermath.people.ties`); 254 and 255 are
                         news of this person's death for their household, kept until the day ends
========== ======= ===== =======================================================================

Ties cost no byte here: a band is a new household id (:mod:`aftermath.people.ties`). Nor does
individual resistance: it is a function of the person (:meth:`Population.resistance_of`), drawn
through the quantiles of its distribution from the person's own uniform of the ``RESISTANCE``
stream, so each person has one value for the whole run, whenever it is read.

Arrays are sized for the initial population plus the births expected over the horizon (mean
plus ten standard deviations); they grow by doubling only if a run outlives that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.rng import Stream, from_table, stream_key
from aftermath.engines.budget import BASE_BYTES
from aftermath.engines.budget import birth_capacity as budget_birth_capacity
from aftermath.model.flows import Flag
from aftermath.model.world import N_STATES, State, World

BYTES_PER_AGENT = 20
#: strain ids fit two bytes up to this table capacity (:func:`strain_dtype`); four above it
WIDE_STRAINS = 65535
#: Transient bytes per person while the population is set up (float64 draws, index arrays).
SETUP_BYTES_PER_AGENT = 16
NO_ZONE = 65535
PENDING = 6  # internal state code: infected this step, strain mutating (resolved before the step ends)

U8 = NDArray[np.uint8]
U16 = NDArray[np.uint16]
I32 = NDArray[np.int32]
F64 = NDArray[np.float64]


class Ever(IntFlag):
    """Infection history per person: what makes an infection a *first* one (``FIRST_INFECTION``).

    An infection counts in ``FIRST_INFECTION`` when neither ``INFECTED`` nor ``BORN`` is set (the
    initial cohort's never infected; ``TURNED`` and ``WALKED`` are marks of the day, not history),
    and sets ``INFECTED``. At day 0 everyone not in S (E, H, Z, D, R) is marked as
    already infected; the born are marked ``BORN`` and so never count.
    """

    INFECTED = 1
    BORN = 2
    #: turned away at a gate this day, with memory on: their household and band hear of it at the
    #: day's end (:meth:`aftermath.people.ties.Ties.end_day`), which clears it; not history (the
    #: first-infection test reads ``INFECTED | BORN`` only)
    TURNED = 4
    WALKED = 128  # moved with their band in this step's follow_bands (set and cleared there)


FLAG_NAMES = {
    Flag.SEALED_IN: "sealed_in", Flag.SACRIFICED: "sacrificed", Flag.CULLED: "culled",
    Flag.EXCLUDED: "excluded", Flag.EXCLUDED_HEALTHY: "excluded_healthy", Flag.CONCEALED: "concealed",
    Flag.MISCLASSIFIED: "misclassified", Flag.SWEPT: "hybrids_swept",
}


def initial_people(world: World) -> NDArray[np.int64]:
    """[zone, state] whole people at day 0 (the budget refused fractional counts before this)."""
    out: NDArray[np.int64] = np.rint(world.counts0).astype(np.int64)
    return out


def birth_capacity(world: World, days: int) -> int:
    """Room for the births of ``days`` days: mean plus ten standard deviations, plus a margin
    (the formula :mod:`aftermath.engines.budget` estimates memory with)."""
    return budget_birth_capacity(float(world.births.sum()), days)


def memory_estimate(people: int, n_zones: int, strain_cap: int, per_zone_strain: int) -> int:
    """Peak bytes a run of ``people`` agents needs (core state, set-up transients, tables, base);
    :func:`aftermath.engines.budget.check_budget` compares it with the machine's limit.
    ``per_zone_strain``: the tables' bytes per (zone, strain)
    (:func:`aftermath.engines.abm.tables.bytes_per_zone_strain` for the scenario's routes)."""
    tables = strain_cap * (n_zones * per_zone_strain + 128)
    per_person = BYTES_PER_AGENT + SETUP_BYTES_PER_AGENT + (2 if strain_cap > WIDE_STRAINS else 0)
    return people * per_person + tables + BASE_BYTES


def strain_dtype(max_strains: int) -> type[np.unsignedinteger[Any]] | type[np.signedinteger[Any]]:
    """The strain id's type: two bytes where the strain table holds at most 65,535 strains (every
    built-in: korea's 51.8 million people save 99 MiB), else four."""
    return np.uint16 if max_strains <= WIDE_STRAINS else np.int32


@dataclass
class Population:
    """Struct-of-arrays of every person; ``n`` of ``capacity`` slots are in use."""

    n: int
    state: U8
    zone: U16
    strain: NDArray[Any]  # uint16 (int32 above 65,535 strains: strain_dtype)
    next_t: I32
    household: I32
    flags: U8
    flag_zone: U16
    seal_zone: U16
    ever: U8
    next_household: int
    memory: U8 = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))
    #: resistance's quantiles (:func:`resistance_table`) and the key of each person's draw
    res_table: F64 = field(default_factory=lambda: np.full(RES_PIECES + 1, 0.5))
    res_key: NDArray[np.uint64] = field(default_factory=lambda: np.zeros(1, dtype=np.uint64))

    def resistance_of(self, idx: NDArray[np.integer[Any]]) -> F64:
        """The resistance of the people ``idx`` (the same whenever asked)."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        out: F64 = np.empty(idx.shape[0], dtype=np.float64)
        _resistance_of(self.res_table, self.res_key[0], idx, out)
        return out

    @property
    def capacity(self) -> int:
        return int(self.state.shape[0])

    @classmethod
    def empty(cls, capacity: int, max_strains: int = WIDE_STRAINS) -> Population:
        return cls(
            n=0,
            state=np.full(capacity, State.R, dtype=np.uint8),
            zone=np.zeros(capacity, dtype=np.uint16),
            strain=np.zeros(capacity, dtype=strain_dtype(max_strains)),
            next_t=np.full(capacity, -1, dtype=np.int32),
            household=np.zeros(capacity, dtype=np.int32),
            flags=np.zeros(capacity, dtype=np.uint8),
            flag_zone=np.full(capacity, NO_ZONE, dtype=np.uint16),
            seal_zone=np.full(capacity, NO_ZONE, dtype=np.uint16),
            ever=np.zeros(capacity, dtype=np.uint8),
            next_household=0,
            memory=np.zeros(capacity, dtype=np.uint8),
        )

    def grow(self, needed: int) -> None:
        """Make room for ``needed`` more people (doubling). Only a run far past its horizon needs it."""
        if self.n + needed <= self.capacity:
            return
        cap = max(2 * self.capacity, self.n + needed)
        for name, fill in (("state", State.R), ("zone", 0), ("strain", 0), ("next_t", -1),
                           ("household", 0), ("flags", 0), ("flag_zone", NO_ZONE), ("seal_zone", NO_ZONE),
                           ("ever", 0), ("memory", 0)):
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def used(self) -> slice:
        return slice(0, self.n)

    def nbytes(self) -> int:
        return sum(int(getattr(self, a).nbytes) for a in
                   ("state", "zone", "strain", "next_t", "household", "flags",
                    "flag_zone", "seal_zone", "ever", "memory"))


#: pieces of the resistance distribution's quantile function (:func:`resistance_table`)
RES_PIECES = 4096


def resistance_table(world: World) -> F64:
    """Individual resistance is Beta(mean, sd) (``world.resistance_beta``), or the mean for
    everyone: its quantiles at ``0, 1/K, ..., 1`` (``K`` = :data:`RES_PIECES`), which
    :func:`.rng.from_table` draws from (each piece of probability ``1 / K`` exactly, linear within
    it: the Beta's own quantiles at every piece's ends)."""
    from scipy import stats

    from aftermath.model.world import resistance_beta

    p = world.scenario.pathogen
    ab = resistance_beta(p.resistance_mean, p.resistance_sd)
    if ab is None:
        return np.full(RES_PIECES + 1, p.resistance_mean, dtype=np.float64)
    q: F64 = stats.beta.ppf(np.linspace(0.0, 1.0, RES_PIECES + 1), ab[0], ab[1])
    return q


@nb.njit(cache=True)
def _resistance_of(table, key, idx, out):
    for k in range(idx.shape[0]):
        out[k] = from_table(table, key, idx[k])


def populate(world: World, seed: int, capacity: int) -> Population:
    """The day-0 population: each zone's people by state, founding strain, resistance and households.

    Households: a zone of ``n`` people with mean household size ``h`` has ``ceil(n / h)``
    households; person ``j`` of the zone joins household ``j mod ceil(n / h)``, so households are
    of (nearly) equal size and their members are spread over the initial states. Written in place,
    zone by zone, with no temporary the size of the population.
    """
    people = initial_people(world)
    pop = Population.empty(capacity, max(world.scenario.pathogen.mutation.max_strains, world.n_strains))
    n = int(people.sum())
    at = 0
    for z in range(world.n_zones):
        for st in range(N_STATES):
            k = int(people[z, st])
            pop.zone[at: at + k] = z
            pop.state[at: at + k] = st
            at += k
    pop.res_table = resistance_table(world)
    pop.res_key = np.array([stream_key(seed, int(Stream.RESISTANCE), 0)], dtype=np.uint64)
    pop.ever[:n] = pop.state[:n] != State.S  # (True is Ever.INFECTED)
    start, hh = 0, 0
    for z, zone in enumerate(world.scenario.zones):
        nz = int(people[z].sum())
        n_house = max(1, math.ceil(nz / zone.household_size))
        pop.household[start: start + nz] = np.arange(nz, dtype=np.int32) % np.int32(n_house) + np.int32(hh)
        start += nz
        hh += n_house
    pop.next_household = hh
    pop.n = n
    return pop
