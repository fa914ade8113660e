"""The cast: whom a run follows, and the record of their lives (observation only).

Casting chooses existing people of the day-0 population: a declared character (``[[characters]]``)
gets the living human of their zone (and starting state) whose household is large enough for the
named members and whose resistance is nearest the one asked for; a generated cast (``cast = N``)
takes people in turn from each zone of ``cast_zones``, at random by a generator of its own. Each
cast member's household is followed with them. Nothing is written to the population and no
random stream of the engine is drawn from, so a run with a cast is bit for bit the run without it
(``tests/test_people.py``).

After every step in which one of them took a slot (the step kernel says so from the set of the
people followed, ``Day.watched``, read only: :func:`aftermath.engines.abm.step._watch`; in the
event-driven step, after every step) :class:`CastWatch` reads the followed people's arrays (a few hundred
values) and finds, with :func:`slots_taken`, the transition each of them took: the same uniform of the
``EVENT`` stream and the same row of hazards the step kernel used. So the record says *why* a
person died (a bite, hunger, old age), was turned away or hidden, not only that their state
changed. The morning's seals and sweeps, the day's grief and bands (:mod:`.ties`) are recorded
too. Events are plain dicts (see :data:`EVENT_KINDS`), JSON-ready, in ``result.extras["cast"]``.
"""

from __future__ import annotations

import bisect
import weakref
from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.rng import Stream, stream_key
from aftermath.engines.abm.step import MEM_MAX, in_watched, memory_of, row_slot
from aftermath.engines.abm.tables import E, H, R, S, Z
from aftermath.model.flows import Flag
from aftermath.model.reactions import TRANSITIONS, Where
from aftermath.people.names import Namer, language_for

if TYPE_CHECKING:
    from aftermath.engines.abm.engine import AbmEngine

#: The cast's own generator stream (no kernel draws from it).
CAST_STREAM = 70
STATE_CODES = {"S": S, "E": E, "H": H}
STATE_WORDS = ("healthy", "latent", "hybrid", "feral", "dead", "gone")
#: Memory thresholds the record notes when crossed (shares of full memory).
MEMORY_MARKS = (1 / 3, 2 / 3)
#: The ``step`` of events of the morning (seals, sweeps) and of the evening (grief, bands, memory);
#: the day's steps are 0, 1, ...
MORNING, EVENING = -1, 99
#: Most household members followed with each cast member.
MAX_KIN = 7
#: Roles for a generated cast, by zone kind.
ROLES = {
    "enclave": ("guard", "cook", "medic", "radio operator", "mechanic"),
    "quarantine": ("nurse", "teacher", "shopkeeper", "bus driver", "pharmacist"),
    "school": ("student", "teacher", "janitor", "student"),
    "sanctuary": ("farmer", "carer", "lookout", "herbalist"),
    "city": ("scavenger", "straggler", "locksmith"),
    "wild": ("scavenger", "refugee", "hunter", "truck driver"),
}
#: Every kind of event the record holds (the story has a template for each).
EVENT_KINDS = (
    "start", "infected", "killed_by_bite", "destroyed", "decayed", "relapsed", "died", "starved", "cured",
    "culled", "hidden_from_cull", "transferred", "hidden_from_transfer", "rose", "burned", "walked",
    "turned_away", "wandered", "became_hybrid", "turned", "sealed_in", "swept", "sacrificed", "joined_band",
    "grieved", "memory_rose", "memory_faded", "hidden_at_gate", "let_in_by_mistake", "followed_band",
)


class CastError(ValueError):
    """A character that no one in the population fits; names the key, the value and what was expected."""

    def __init__(self, path: str, value: object, expected: str) -> None:
        self.path, self.value, self.expected = path, value, expected
        super().__init__(f"{path}: got {value!r}, expected {expected}")


@nb.njit(cache=True)
def slots_taken(idx, st0, z0, s0, m0, next_t, t, key, prob, rate, tot, where, flight, on, dt, out):
    """For each followed person, the slot the step kernel took this step: -1 none, -2 the end of
    latency (the kernel's own order and draws, :func:`aftermath.engines.abm.step.step_part`)."""
    for q in range(idx.shape[0]):
        out[q] = -1
        i = idx[q]
        st = np.int64(st0[q])
        if st >= R:
            continue
        z = np.int64(z0[q])
        s = np.int64(0) if st == S else np.int64(s0[q])
        mult = 1.0
        if on and st <= H:
            m = memory_of(m0[q])
            if m > 0 and flight != 0.0:
                mult = 1.0 + flight * m
        if st == E and next_t[i] <= t:
            out[q] = -2
            continue
        out[q] = row_slot(rate[z, st, s], tot[z, st, s], prob[z, st, s], where[st], mult, dt, key, i)


@nb.njit(cache=True)
def _look(idx, st0, z0, fl0, hh0, s0, m0, st1, z1, fl1, hh1, s1, m1, state, zone, flags, household, strain, memory,
          slot, use_slot, always, moved, watched, fol, changed):
    """What is to be told of the followed people: the rows of the band moves ``moved``
    (``ties.followed``' rows, the person first) whose person is followed (``watched``: the cast's
    set, :func:`aftermath.engines.abm.step.in_watched`), their row numbers into ``fol``; the
    places ``q`` of the people who changed state, zone, flags or household since the arrays
    ``st0 ...`` were taken (or took a slot: ``use_slot`` and ``slot[q] != -1``), into ``changed``, in
    cast order. If there are any of either (or ``always``), the arrays now into ``st1 ...`` (memory:
    news is none, 0), the cast's next arrays (the old ones kept to explain the change). Returns
    both counts."""
    n_fol = 0
    for r in range(moved.shape[0]):
        if in_watched(watched, moved[r, 0]):
            fol[n_fol] = r
            n_fol += 1
    k = 0
    for q in range(idx.shape[0]):
        i = idx[q]
        if ((use_slot and slot[q] != -1) or state[i] != st0[q] or zone[i] != z0[q] or flags[i] != fl0[q]
                or household[i] != hh0[q]):
            changed[k] = q
            k += 1
    if always or k or n_fol:
        for q in range(idx.shape[0]):
            i = idx[q]
            st1[q] = state[i]
            z1[q] = zone[i]
            fl1[q] = flags[i]
            hh1[q] = household[i]
            s1[q] = strain[i]
            m1[q] = 0 if memory[i] > MEM_MAX else memory[i]
    return k, n_fol


@nb.njit(cache=True)
def watch_step(idx, st0, z0, s0, m0, fl0, hh0, st1, z1, s1, m1, fl1, hh1, next_t, t, key, prob, rate, tot, where,
               flight, on, dt, slot, find_slots, state, zone, flags, household, strain, memory, moved, watched, fol,
               changed):
    """After a step, in one call: the slot each followed person took (:func:`slots_taken`, into
    ``slot``; unless ``find_slots`` is off: the event-driven step gives them), then what is to be
    told (:func:`_look`). Called in the scan only after the steps in which the step kernel saw one
    of them take a slot. One call where there were up to five and a NumPy filter (each call from
    Python checks and unpacks its arrays: 5 us with their headers in the caches, more after a step
    has swept the people's arrays)."""
    if find_slots:
        slots_taken(idx, st0, z0, s0, m0, next_t, t, key, prob, rate, tot, where, flight, on, dt, slot)
    return _look(idx, st0, z0, fl0, hh0, s0, m0, st1, z1, fl1, hh1, s1, m1, state, zone, flags, household, strain,
                 memory, slot, True, False, moved, watched, fol, changed)


@nb.njit(cache=True)
def memory_marks(idx, memory, st, m, day_memory, out):
    """The day's end: the followed people's memory now into ``m`` (news is none, 0), then each
    ``q`` whose memory differs from the day's start (``day_memory``, then set to ``m``) and who is
    human (``st``), with their memory at the day's start, into ``out[k] = (q, before)``; returns
    how many."""
    for q in range(idx.shape[0]):
        v = memory[idx[q]]
        m[q] = 0 if v > MEM_MAX else v
    k = 0
    for q in range(idx.shape[0]):
        if m[q] != day_memory[q]:
            if st[q] <= H:
                out[k, 0], out[k, 1] = q, day_memory[q]
                k += 1
            day_memory[q] = m[q]
    return k


#: The ledger flags the record reads, as ints (an ``IntFlag`` operation costs microseconds).
SEALED_IN, SWEPT, CONCEALED, MISCLASSIFIED, SACRIFICED = (int(Flag.SEALED_IN), int(Flag.SWEPT), int(Flag.CONCEALED),
                                                          int(Flag.MISCLASSIFIED), int(Flag.SACRIFICED))
#: The slots whose event is told by one word: slot name -> the record's kind.
SIMPLE = {"bite_kill": "killed_by_bite", "defence": "destroyed", "decay": "decayed", "relapse": "relapsed",
          "natural_death": "died", "starvation": "starved", "cure": "cured", "reanimation": "rose",
          "disposal": "burned", "wander": "wandered"}


class CastWatch:
    """The followed people of one ABM run and the events of their lives."""

    def __init__(self, eng: AbmEngine, people: list[dict[str, Any]]) -> None:
        # the engine by a weak reference: it holds this watcher, and a cycle between them kept its
        # arrays until the collector ran, past the end of the run (the driver lets the engine go
        # before pandas is loaded for the frames)
        self.eng: AbmEngine = weakref.proxy(eng)
        self.people = people
        self.idx = np.array([p["id"] for p in people], dtype=np.int64)
        self.name_of = {p["id"]: p["name"] for p in people}
        self.places: dict[int, list[int]] = {}  # person -> their places in the cast
        for q, p in enumerate(people):
            self.places.setdefault(int(p["id"]), []).append(q)
        self.pos = {int(i): q for q, i in enumerate(self.idx)}  # person -> a place in the cast (the last)
        self._changed = np.empty(self.idx.size, dtype=np.int64)
        self._no_rows = np.zeros((0, 5), dtype=np.int64)
        self.events: list[dict[str, Any]] = []
        self.slot = np.zeros(self.idx.size, dtype=np.int64)
        eng.ties.watch(self.idx)
        self._snap()
        self.day_memory = self.m.copy()
        w = eng.world
        self.zone_names = [z.name or z.id for z in w.scenario.zones]
        for q in range(len(people)):
            self._add(0, -1, q, "start", zone=int(self.z[q]), state=STATE_WORDS[int(self.st[q])])

    # -- casting -------------------------------------------------------------------------------
    @classmethod
    def build(cls, eng: AbmEngine) -> CastWatch | None:
        sc = eng.world.scenario
        if not sc.characters and not sc.cast:
            return None
        return cls(eng, choose(eng))

    # -- observation ---------------------------------------------------------------------------
    def _snap(self) -> None:
        """The followed people's arrays now (``self.st ...``), and a second set of the same arrays
        (``self._next``) that :func:`_look` fills with the arrays after a change, while the first
        still say what they were before it."""
        pop, i = self.eng.pop, self.idx
        self.st, self.z, self.s = pop.state[i].copy(), pop.zone[i].copy(), pop.strain[i].copy()
        self.fl, self.hh, self.m = pop.flags[i].copy(), pop.household[i].copy(), pop.memory[i].copy()
        self._next = tuple(np.empty_like(a) for a in (self.st, self.z, self.fl, self.hh, self.s, self.m))
        self._fol = np.empty(0, dtype=np.int64)  # rows of ties.followed of people followed (grown as needed)
        self._marks = np.empty((self.idx.size, 2), dtype=np.int64)

    def _take_next(self) -> None:
        """The arrays :func:`_look` filled become the cast's (the old ones, the next to fill)."""
        nxt = self._next
        self._next = (self.st, self.z, self.fl, self.hh, self.s, self.m)
        self.st, self.z, self.fl, self.hh, self.s, self.m = nxt

    def _add(self, day: int, step: int, q: int, kind: str, **detail: Any) -> None:
        ev = {"day": int(day), "step": int(step), "who": self.people[q]["name"], "kind": kind}
        ev.update(detail)
        self.events.append(ev)

    def morning(self, day: int) -> None:
        """Seals and sweeps of the morning (before the day's first step): step -1. (Called on
        mornings with either: nothing else changes anyone between the evening and the first step.)"""
        self._diff(day, MORNING)

    def after_step(self, day: int, k: int, t: int, keys: NDArray[np.uint64], rows: Any) -> None:
        eng = self.eng
        ties = eng.ties
        pop = eng.pop
        acted = ties.mark_n[:, 1]  # the step's word that one of them took a slot (step._watch)
        scan = eng.ev is None
        if scan and not acted.any():  # the scan: none did, so nothing of theirs changed
            return
        acted[:] = 0
        if not scan:  # the event-driven step: slots from its own draws (the end of latency, -2, as the scan's)
            slots_taken(self.idx, self.st, self.z, self.s, self.m, pop.next_t, np.int64(t),
                        keys[int(Stream.EVENT)], rows.prob, rows.rate, rows.tot, eng.tables.where,
                        float(ties.flight), bool(ties.on), float(eng.dt), self.slot)
            given = eng.ev.slots_taken_by(self.idx)  # type: ignore[union-attr]
            for w in np.flatnonzero((self.slot != -2) & (self.st < R)):
                self.slot[w] = given.get(int(self.idx[w]), -1)
        moved = ties.followed  # the band's moves after the step: a step's band walks can be thousands
        if self._fol.shape[0] < moved.shape[0]:
            self._fol = np.empty(moved.shape[0] + moved.shape[0] // 2, dtype=np.int64)
        st1, z1, fl1, hh1, s1, m1 = self._next
        n, n_fol = watch_step(self.idx, self.st, self.z, self.s, self.m, self.fl, self.hh, st1, z1, s1, m1, fl1, hh1,
                              pop.next_t, np.int64(t), keys[int(Stream.EVENT)], rows.prob, rows.rate, rows.tot,
                              eng.tables.where, float(ties.flight), bool(ties.on), float(eng.dt), self.slot, scan,
                              pop.state, pop.zone, pop.flags, pop.household, pop.strain, pop.memory, moved,
                              ties.watch_table, self._fol, self._changed)
        if n or n_fol:  # most steps nothing happens to anyone followed
            follow: dict[int, list[tuple[int, int, int]]] = {}
            for j, walker, r, outcome, _ in moved[self._fol[:n_fol]].tolist():
                for q in self.places.get(j, ()):
                    follow.setdefault(q, []).append((walker, r, outcome))
            self._tell(day, k, n, self.slot, follow)

    def end_day(self, day: int) -> None:
        """The day's grief and bands (:mod:`.ties`), and memory crossing a mark: step 99."""
        ties, pos = self.eng.ties, self.pos
        for j, lost, policy in ties.grieved.tolist():
            if j in pos:
                self._add(day, EVENING, pos[j], "grieved", lost=self.name_of.get(lost), policy=bool(policy),
                          zone=int(self.eng.pop.zone[j]))
        if ties.joined.shape[0]:  # one of them joined a band: their household changed
            self._diff(day, EVENING)
        # the day's end changes memory and bands only: their memory now (news as none, 0), and whose moved
        n = memory_marks(self.idx, self.eng.pop.memory, self.st, self.m, self.day_memory, self._marks)
        for q, before in self._marks[:n].tolist():  # (only a change crosses a mark)
            m, m0 = float(self.m[q]) / MEM_MAX, before / MEM_MAX
            for mark in MEMORY_MARKS:
                if m0 < mark <= m:
                    self._add(day, EVENING, q, "memory_rose", memory=round(m, 3), mark=round(mark, 3))
                elif m < mark <= m0:
                    self._add(day, EVENING, q, "memory_faded", memory=round(m, 3), mark=round(mark, 3))

    def _diff(self, day: int, k: int) -> None:
        """The morning's or the evening's changes (no slots): each followed person who changed
        state, zone, flags or household, explained (:meth:`_tell`); then the cast takes the arrays
        now, memory included, whoever changed (a seal or a sweep moves the memory of others)."""
        pop = self.eng.pop
        st1, z1, fl1, hh1, s1, m1 = self._next
        n, _ = _look(self.idx, self.st, self.z, self.fl, self.hh, self.s, self.m, st1, z1, fl1, hh1, s1, m1, pop.state,
                     pop.zone, pop.flags, pop.household, pop.strain, pop.memory, self.slot, False, True, self._no_rows,
                     self.eng.ties.watch_table, self._fol, self._changed)
        self._tell(day, k, n, None, {})

    def _tell(self, day: int, k: int, n: int, slot: NDArray[np.int64] | None,
              follow: dict[int, list[tuple[int, int, int]]]) -> None:
        """Explain each followed person who changed (the first ``n`` of ``self._changed``, from
        :func:`_look`), took a slot or moved with their band (``follow``), in cast order, from their
        arrays before (``self.st ...``) and after (``self._next``, then the cast's)."""
        qs = self._changed[:n].tolist()
        if follow:
            qs = sorted(set(qs) | set(follow))
        st1, z1, fl1, hh1, _, _ = self._next
        for q in qs:
            self._explain(day, k, q, -1 if slot is None else int(slot[q]), int(st1[q]), int(z1[q]), int(fl1[q]),
                          int(hh1[q]), follow.get(q, []))
        self._take_next()

    def _explain(self, day: int, k: int, q: int, j: int, st1: int, z1: int, fl1: int, hh1: int,
                 follow: list[tuple[int, int, int]] | None = None) -> None:
        """The event(s) of one followed person from their arrays before and after, the slot taken
        and what their band did after the step (:func:`aftermath.engines.abm.step.follow_bands`:
        ``(walker, route, outcome)``, outcome 1 got in, 0 turned away, 2 the band stayed)."""
        eng = self.eng
        st0, z0, fl0 = int(self.st[q]), int(self.z[q]), int(self.fl[q])
        new = fl1 & ~fl0
        add = self._add
        if new & SEALED_IN:
            add(day, k, q, "sealed_in", zone=z0)
        if j == -2:
            add(day, k, q, "became_hybrid" if st1 == H else "turned", zone=z1)
        elif j >= 0:
            me = int(self.idx[q])
            if not any(w == me and out == 2 for w, _, out in follow or []):  # else the band did not go
                name = TRANSITIONS[int(eng.tables.transition[st0, j])].name
                self._slot_event(day, k, q, name, j, st0, z0, st1, z1, new)
        elif st1 != st0 and (new & SWEPT or st0 == Z):  # a morning sweep
            add(day, k, q, "swept", zone=z0, was=STATE_WORDS[st0])
        for walker, r, outcome in follow or []:
            if walker == int(self.idx[q]):
                continue  # their own walk: told from the slot the step drew, above
            dest, at = int(eng.world.route_to[r]), int(eng.world.route_from[r])
            gate = j < 0 or TRANSITIONS[int(eng.tables.transition[st0, j])].name not in ("cull", "transfer")
            if outcome == 1:  # after any slot of their own this step: in the state they are in now
                add(day, k, q, "followed_band", zone=at, to=dest, state=STATE_WORDS[st1],
                    leader=self.name_of.get(walker))
                if gate and new & CONCEALED:
                    add(day, k, q, "hidden_at_gate", zone=dest, state=STATE_WORDS[st1])
                elif gate and new & MISCLASSIFIED:
                    add(day, k, q, "let_in_by_mistake", zone=dest, state=STATE_WORDS[st1])
            else:
                add(day, k, q, "turned_away", zone=dest, at=at, healthy=st1 == S,
                    screened=bool(new & MISCLASSIFIED), band=True)
        if new & SACRIFICED:
            add(day, k, q, "sacrificed", zone=int(self.eng.pop.seal_zone[self.idx[q]]))
        if hh1 != int(self.hh[q]) and hh1 >= (1 << 30) and st1 <= H:
            members = [self.name_of.get(m) for m in eng.ties.members(eng.pop, hh1, int(self.idx[q]))]
            add(day, k, q, "joined_band", zone=z1, band=hh1, with_=[m for m in members if m], size=len(members) + 1)

    def _slot_event(self, day: int, k: int, q: int, name: str, j: int, st0: int, z0: int, st1: int, z1: int,
                    new: int) -> None:
        eng, add = self.eng, self._add
        if name == "bite_infect":
            add(day, k, q, "infected", zone=z0, state=STATE_WORDS[min(st1, 5)])
        elif name in SIMPLE:
            if name == "wander" and z1 == z0:
                return
            add(day, k, q, SIMPLE[name], zone=z0, to=z1)
        elif name == "cull":
            add(day, k, q, "culled" if st1 != st0 else "hidden_from_cull", zone=z0)
        elif name == "transfer":
            add(day, k, q, "transferred" if z1 != z0 else "hidden_from_transfer", zone=z0, to=z1)
        elif TRANSITIONS[int(eng.tables.transition[st0, j])].where == Where.ROUTE:
            r = int(eng.out_routes[z0, int(eng.tables.route_k[st0, j])])
            dest = int(eng.world.route_to[r])
            healthy = st0 == S
            if z1 == dest:
                add(day, k, q, "walked", zone=z0, to=dest, state=STATE_WORDS[st0],
                    memory=round(float(self.m[q]) / MEM_MAX, 3))
                if new & CONCEALED:
                    add(day, k, q, "hidden_at_gate", zone=dest, state=STATE_WORDS[st0])
                elif new & MISCLASSIFIED:
                    add(day, k, q, "let_in_by_mistake", zone=dest, state=STATE_WORDS[st0])
            else:
                add(day, k, q, "turned_away", zone=dest, at=z0, healthy=healthy,
                    screened=bool(new & MISCLASSIFIED))

    # -- the record ----------------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        pop, i = self.eng.pop, self.idx
        final = []
        for q, p in enumerate(self.people):
            fl = int(pop.flags[i[q]])
            m = int(pop.memory[i[q]])
            final.append({"name": p["name"], "state": STATE_WORDS[int(pop.state[i[q]])], "zone": int(pop.zone[i[q]]),
                          "memory": round((m if m <= MEM_MAX else 0) / MEM_MAX, 3),
                          "flags": [str(f.name).lower() for f in Flag if fl & f]})
        return {"people": self.people, "events": self.events, "final": final, "memory_on": bool(self.eng.ties.on),
                "zones": self.zone_names, "days": None}


class _ZonePool:
    """The living humans of one zone at day 0 whose household no cast member has taken yet: the
    zone's people (ascending, as ``np.flatnonzero`` gives them, made once) less the places of those
    taken since (few: a sorted list), so that the ``r``-th of them is found without a pass over the
    zone for each pick (fifty such passes, with a test against every household taken, cost a cast
    of 50 at 10^6 people 70 ms)."""

    def __init__(self, ids: NDArray[np.int64]) -> None:
        self.ids = ids
        self.gone: list[int] = []  # places in ``ids`` taken since, ascending

    @property
    def size(self) -> int:
        return self.ids.size - len(self.gone)

    def drop(self, person: int) -> None:
        """``person`` is no longer a candidate (their household was taken), if they were one."""
        k = int(np.searchsorted(self.ids, person))
        if k < self.ids.size and int(self.ids[k]) == person:
            j = bisect.bisect_left(self.gone, k)
            if j == len(self.gone) or self.gone[j] != k:
                self.gone.insert(j, k)

    def nth(self, r: int) -> int:
        """The ``r``-th candidate left (from 0), in ascending order."""
        k = r
        for g in self.gone:  # each place gone at or before the one reached moves it on by one
            if g > k:
                break
            k += 1
        return int(self.ids[k])


def choose(eng: AbmEngine) -> list[dict[str, Any]]:
    """The followed people: each character (or generated cast member), then their household.

    Generated names come from the list the scenario's ``cast_names`` chooses, in its order
    (:func:`aftermath.people.names.language_for`); each person's ``given`` is their given name
    (a declared name is read in the list's order: :class:`aftermath.people.names.NameList`), so
    a story calls people by it without guessing from the order of the words."""
    sc, pop, world = eng.world.scenario, eng.pop, eng.world
    n = pop.n
    rng = np.random.default_rng(int(stream_key(eng.seed, CAST_STREAM, 0)))
    state, zone, house = pop.state[:n], pop.zone[:n], pop.household[:n]
    human = state <= H
    sizes: NDArray[np.int64] | None = None  # household sizes (only a declared household needs them)
    taken: set[int] = set()
    chosen: list[tuple[int, dict[str, Any]]] = []
    declared = {c.name for c in sc.characters or []}
    namer = Namer(rng, taken=declared, language=language_for(sc))  # the list the scenario chose
    name_key = int(stream_key(eng.seed, CAST_STREAM, 1))
    zone_ids = list(world.zone_ids)
    for ci, ch in enumerate(sc.characters or []):
        ok = human.copy()
        if ch.zone is not None:
            ok &= zone == zone_ids.index(ch.zone)
        if ch.state is not None:
            ok &= state == STATE_CODES[ch.state]
        cand = np.flatnonzero(ok)
        cand = cand[~np.isin(house[cand], list(taken))] if taken else cand
        if ch.household:
            if sizes is None:
                sizes = np.bincount(house, minlength=pop.next_household)
            cand = cand[sizes[house[cand]] >= len(ch.household) + 1]
        if cand.size == 0:
            fits = f" in zone {ch.zone!r}" if ch.zone else ""
            raise CastError(f"characters.{ci}", ch.name, f"someone alive{fits}"
                            + (f" in state {ch.state}" if ch.state else "")
                            + (f" with a household of at least {len(ch.household) + 1}" if ch.household else "")
                            + " at day 0 to play them")
        cand = rng.permutation(cand)
        if ch.resistance is not None:
            pick = int(cand[int(np.argmin(np.abs(pop.resistance_of(cand) - ch.resistance)))])
        else:
            pick = int(cand[0])
        taken.add(int(house[pick]))
        chosen.append((pick, {"name": ch.name, "role": ch.role, "kin_names": list(ch.household)}))
    want = int(sc.cast or 0)
    zones = [zone_ids.index(zid) for zid in sc.cast_zones] if sc.cast_zones else list(range(world.n_zones))
    pools: dict[int, _ZonePool] = {}  # each zone's candidates, made at its first turn
    if want > 0:
        for z in dict.fromkeys(zones):
            ids = np.flatnonzero(human & (zone == z))
            if ids.size:
                pools[z] = _ZonePool(ids[~np.isin(house[ids], list(taken))] if taken else ids)
    zones = [z for z in zones if z in pools]  # (zones with someone alive at day 0)
    k = 0
    while want > 0 and zones and k < 50 * want:
        z = zones[k % len(zones)]
        k += 1
        pool = pools[z]
        if pool.size == 0:
            continue
        pick = pool.nth(int(rng.integers(pool.size)))
        h = int(house[pick])
        taken.add(h)
        for j in (pick, *eng.ties.members(pop, h, pick)):  # the household is no one's to be picked from now
            at = pools.get(int(zone[j]))
            if at is not None:
                at.drop(int(j))
        roles = ROLES.get(world.zone_kinds[z], ("survivor",))
        namer.rng = np.random.default_rng([name_key, pick])  # their own draws (avoiding the names given before)
        chosen.append((pick, {"name": namer.full(), "role": roles[int(rng.integers(len(roles)))], "kin_names": []}))
        want -= 1
    people: list[dict[str, Any]] = []
    for pick, info in chosen:
        name = info["name"]
        surname = namer.family_of(name)  # a declared name is read in the list's order
        people.append({"id": pick, "name": name, "given": namer.given_of(name), "role": info["role"], "cast": True,
                       "kin_of": None,
                       "household": int(house[pick]), "zone0": int(zone[pick]), "state0": STATE_WORDS[int(state[pick])],
                       "resistance": None})
        kin = eng.ties.members(pop, int(house[pick]), pick)[:MAX_KIN]
        names = list(info["kin_names"])
        namer.rng = np.random.default_rng([name_key, pick, 1])
        for m, j in enumerate(kin):
            kname = names[m] if m < len(names) else namer.full(surname)
            namer.taken.add(kname)
            people.append({"id": int(j), "name": kname, "given": namer.given_of(kname), "role": None, "cast": False,
                           "kin_of": name,
                           "household": int(house[j]), "zone0": int(zone[j]), "state0": STATE_WORDS[int(state[j])],
                           "resistance": None})
    resistance = pop.resistance_of(np.array([p["id"] for p in people], dtype=np.int64)).tolist()  # (one call)
    for p, r in zip(people, resistance, strict=True):
        p["resistance"] = round(r, 3)
    return people
