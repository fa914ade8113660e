"""The cast: whom a run follows, and the record of their lives (observation only).

Casting chooses existing people of the day-0 population: a declared character (``[[characters]]``)
gets the living human of their zone (and starting state) whose household is large enough for the
named members and whose resistance is nearest the one asked for; a generated cast (``cast = N``)
takes people in turn from each zone of ``cast_zones``, at random by a generator of its own. Each
cast member's household is followed with them. Nothing is written to the population and no
random stream of the engine is drawn from, so a run with a cast is bit for bit the run without it
(``tests/test_people.py``).

The step kernels log what they did (:func:`aftermath.engines.abm.step._watch`, from the set of
the people followed, ``Day.watched``; read only, a look in a small set per event): a row each time
one of them takes a slot or ends their latency, with the slot and their arrays just before, and a
row for each move with their band. At the day's end :class:`CastWatch` keeps the day's rows (one
compiled call; no call from Python after each step), and the record is told from them at the
run's end, with the state they were in after each step, so the
record says *why* a person died (a bite, hunger, old age), was turned away or hidden, not only
that their state changed. The morning's seals and sweeps, the day's grief and bands (:mod:`.ties`) are recorded
too. Events are plain dicts (see :data:`EVENT_KINDS`), JSON-ready, in ``result.extras["cast"]``.
"""

from __future__ import annotations

import bisect
import weakref
from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.rng import stream_key
from aftermath.engines.abm.step import (
    MEM_MAX,
    N_WL,
    WL_FL,
    WL_HH,
    WL_I,
    WL_J,
    WL_M,
    WL_OUT,
    WL_ROUTE,
    WL_SEAL,
    WL_ST,
    WL_T,
    WL_WALKER,
    WL_Z,
)
from aftermath.engines.abm.tables import E, H, S, Z
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
def _look(idx, st0, z0, fl0, hh0, st1, z1, fl1, hh1, m1, state, zone, flags, household, memory, changed):
    """The places ``q`` of the followed people who changed state, zone, flags or household since
    the arrays ``st0 ...`` were taken, into ``changed``, in cast order; the arrays now into ``st1
    ...`` (memory: news is none, 0), the cast's next arrays (the old ones kept to explain the
    change). Returns how many changed."""
    k = 0
    for q in range(idx.shape[0]):
        i = idx[q]
        if state[i] != st0[q] or zone[i] != z0[q] or flags[i] != fl0[q] or household[i] != hh0[q]:
            changed[k] = q
            k += 1
    for q in range(idx.shape[0]):
        i = idx[q]
        st1[q] = state[i]
        z1[q] = zone[i]
        fl1[q] = flags[i]
        hh1[q] = household[i]
        m1[q] = 0 if memory[i] > MEM_MAX else memory[i]
    return k


#: The slot of a row that closes a person's day in the cast's log (:func:`day_end`).
W_END = -3


#: The kinds of a row of the evenings kept (:func:`day_end`): a grief, a memory crossing a mark.
EV_GRIEF, EV_MARK = 0, 1


@nb.njit(cache=True)
def day_end(mark_n, log, kept, evening, counts, t_end, day, idx, state, zone, flags, memory, st, z, fl, m,
            day_memory, grieved):
    """The cast's day's end, in one call (each call from Python after the day's passes costs some
    10 us, its interpreter's and Numba's dispatch's data out of the caches: a call, not a method of
    Python for each event). The rows the step kernels logged in the day (``log[p, :mark_n[p, 1]]``,
    :func:`aftermath.engines.abm.step._watch`) go to ``kept[counts[0]:]``, each followed by a row
    that closes the day for its person (slot :data:`W_END`, step ``t_end``: their state, zone and
    flags now), and the log's counts are zeroed. The state, zone and flags now of those with rows
    (no one else's changed in the day's steps) into ``st``, ``z``, ``fl`` (a read of everyone's,
    each a miss in the caches after the day's passes, cost half the call); everyone's memory now
    into ``m`` (news is none, 0). To ``evening[counts[1]:]``: ``(day, EV_GRIEF, q, lost one, policy,
    zone)`` for each of the day's griefs of the people followed (``grieved``: ``(person, lost one,
    policy)``; ``q`` the person's last place in the cast), then ``(day, EV_MARK, q, memory at the
    day's start, memory now, 0)`` for each human ``q`` whose memory moved across one of
    :data:`MEMORY_MARKS` since the day's start (``day_memory``, then set to ``m``). Returns 0 with
    ``counts`` moved on; -1 if a part logged more rows than its room; ``-2 - need`` if ``kept`` or
    ``evening`` has room for fewer than ``need`` rows (nothing done: the caller makes room for
    that many in both and calls again)."""
    total = 0
    for p in range(mark_n.shape[0]):
        if mark_n[p, 1] > log.shape[1]:
            return -1
        total += mark_n[p, 1]
    need = max(counts[0] + 2 * total, counts[1] + grieved.shape[0] + idx.shape[0])
    if need > kept.shape[0] or need > evening.shape[0]:
        return -2 - need
    n = counts[0]
    for p in range(mark_n.shape[0]):
        for k in range(mark_n[p, 1]):
            i = log[p, k, WL_I]
            for c in range(log.shape[2]):
                kept[n, c] = log[p, k, c]
                kept[n + 1, c] = -1
            kept[n + 1, WL_T] = t_end
            kept[n + 1, WL_I] = i
            kept[n + 1, WL_J] = W_END
            kept[n + 1, WL_ST] = state[i]
            kept[n + 1, WL_Z] = zone[i]
            kept[n + 1, WL_FL] = flags[i]
            n += 2
            for q in range(idx.shape[0]):
                if idx[q] == i:
                    st[q], z[q], fl[q] = state[i], zone[i], flags[i]
        mark_n[p, 1] = 0
    counts[0] = n
    e = counts[1]
    for r in range(grieved.shape[0]):
        j = grieved[r, 0]
        at = -1
        for q in range(idx.shape[0]):
            if idx[q] == j:
                at = q
        if at >= 0:
            evening[e, 0], evening[e, 1], evening[e, 2] = day, EV_GRIEF, at
            evening[e, 3], evening[e, 4], evening[e, 5] = grieved[r, 1], grieved[r, 2], zone[j]
            e += 1
    for q in range(idx.shape[0]):
        v = memory[idx[q]]
        m[q] = 0 if v > MEM_MAX else v
        if m[q] != day_memory[q]:
            if st[q] <= H:
                now, before = np.float64(m[q]) / MEM_MAX, np.float64(day_memory[q]) / MEM_MAX
                for mark in MEMORY_MARKS:
                    if before < mark <= now or now < mark <= before:
                        evening[e, 0], evening[e, 1], evening[e, 2] = day, EV_MARK, q
                        evening[e, 3], evening[e, 4], evening[e, 5] = day_memory[q], m[q], 0
                        e += 1
                        break
            day_memory[q] = m[q]
    counts[1] = e
    return 0


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
        self._changed = np.empty(self.idx.size, dtype=np.int64)
        self.events: list[dict[str, Any]] = []
        eng.ties.watch(self.idx, eng.steps, eng.pop.capacity)
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
        self.st, self.z, self.fl = pop.state[i].copy(), pop.zone[i].copy(), pop.flags[i].copy()
        self.hh, self.m = pop.household[i].copy(), pop.memory[i].copy()
        self._next: tuple[Any, ...] = tuple(np.empty_like(a) for a in (self.st, self.z, self.fl, self.hh, self.m))
        #: the rows of the steps and of the evenings (:func:`day_end`), how many of each, told with
        #: the record (:meth:`_tell_kept`)
        self.kept = np.empty((64, N_WL), dtype=np.int64)
        self.evening = np.empty((64, 6), dtype=np.int64)
        self.counts = np.zeros(2, dtype=np.int64)

    def _take_next(self) -> None:
        """The arrays :func:`_look` filled become the cast's (the old ones, the next to fill)."""
        nxt = self._next
        self._next = (self.st, self.z, self.fl, self.hh, self.m)
        self.st, self.z, self.fl, self.hh, self.m = nxt

    def _add(self, day: int, step: int, q: int, kind: str, **detail: Any) -> None:
        ev = {"day": int(day), "step": int(step), "who": self.people[q]["name"], "kind": kind}
        ev.update(detail)
        self.events.append(ev)

    def morning(self, day: int) -> None:
        """Seals and sweeps of the morning (before the day's first step): step -1. (Called on
        mornings with either: nothing else changes anyone between the evening and the first step.)"""
        self._diff(day, MORNING)

    def end_day(self, day: int) -> None:
        """The day's end (:func:`day_end`, one compiled call): the rows the step kernels logged of
        the day, the day's griefs (:mod:`.ties`) and memory crossing a mark kept, to be told with
        the record (:meth:`_tell_kept`); a band joined told now (step 99: whom it holds now)."""
        ties, pop = self.eng.ties, self.eng.pop
        while True:
            got = day_end(ties.mark_n, ties.watch_log, self.kept, self.evening, self.counts,
                          (day + 1) * self.eng.steps - 1, day, self.idx, pop.state, pop.zone, pop.flags, pop.memory,
                          self.st, self.z, self.fl, self.m, self.day_memory, ties.grieved)
            if got >= -1:
                break
            need = -2 - got
            self.kept = _grown(self.kept, int(self.counts[0]), need)  # (either may be short: both grown)
            self.evening = _grown(self.evening, int(self.counts[1]), need)
        if got < 0:  # (room for all they can do: never)
            raise RuntimeError(f"the cast's log of day {day}: more rows in a part than its room")
        if ties.joined.shape[0]:  # one of them joined a band: their household changed
            self._diff(day, EVENING)

    def _tell_kept(self) -> None:
        """Tell what was kept (:func:`day_end`): the steps (:meth:`_tell_steps`), the evenings'
        griefs and memory crossing a mark; then put them among the events told as they came (the
        starts, the mornings' seals and sweeps, the bands joined) by day and step, an evening's
        griefs before its bands and its memory after them, as the evening made them: the record as
        if each had been told when it happened."""
        self._tell_steps()
        rows = self.evening[: int(self.counts[1])].tolist()
        self.counts[1] = 0
        for day, kind, q, a, b, c in rows:
            if kind == EV_GRIEF:
                self._add(day, EVENING, q, "grieved", lost=self.name_of.get(a), policy=bool(b), zone=c)
                continue
            m, m0 = b / MEM_MAX, a / MEM_MAX
            for mark in MEMORY_MARKS:
                if m0 < mark <= m:
                    self._add(day, EVENING, q, "memory_rose", memory=round(m, 3), mark=round(mark, 3))
                elif m < mark <= m0:
                    self._add(day, EVENING, q, "memory_faded", memory=round(m, 3), mark=round(mark, 3))
        # (the evening's kinds after every step of the day, though a day of 100 steps or more has a
        # step 99 too; its griefs first, its bands, then memory, as the evening made them)
        rank = {"grieved": 1, "joined_band": 2, "memory_rose": 3, "memory_faded": 3}
        self.events.sort(key=lambda ev: (ev["day"], ev["step"] + (1 << 20) * rank.get(ev["kind"], 0)
                                         if ev["step"] == EVENING else ev["step"]))  # (stable)

    def _tell_steps(self) -> None:
        """Tell the steps from the rows the step kernels logged (:func:`aftermath.engines.abm.step._watch`,
        kept day by day: :func:`day_end`): a row each time one of the people followed took a slot
        or ended their latency, with their arrays just before, a row for each move with a band
        (:func:`~aftermath.engines.abm.step.follow_bands`), and a row that closes each of their
        days with their state, zone and flags at its end. A person's rows of one step are one
        turn: the slot they took, the bands' moves, what they were before (the first row's
        arrays) and after (the next row's: the next turn's first, or the day's close; nothing but
        their own turns changes them during the day's steps, and their household changes only in
        the evening). Told in step and cast order, as looking after each step would have, then
        put among the record's other events (those of the mornings and evenings, told as they
        came) by day and step: the same record, told once, not with a call from Python after each
        step (which cost more than all the step kernels' looks in the set of the people followed)."""
        rows = self.kept[: int(self.counts[0])]
        self.counts[0] = 0
        if rows.shape[0] == 0:
            return
        phase = np.where(rows[:, WL_J] == W_END, 2, (rows[:, WL_WALKER] >= 0).astype(np.int64))
        order = np.lexsort((phase, rows[:, WL_T], rows[:, WL_I]))  # (stable: the bands' rows as made)
        turns: list[list[Any]] = []  # [step, person, first row, slot, [(walker, route, outcome)], after]
        last: list[Any] | None = None  # the person's last turn, while it waits for the row after it
        for r, ph in zip(rows[order].tolist(), phase[order].tolist(), strict=True):
            if last is not None and (ph == 2 or last[0] != r[WL_T]):
                last[5] = (r[WL_ST], r[WL_Z], r[WL_FL])  # (each day of a person's ends with a close)
                last = None
            if ph == 2:
                continue
            if last is None:
                last = [r[WL_T], r[WL_I], r, -1, [], None]
                turns.append(last)
            if ph == 0:
                last[3] = r[WL_J]
            else:
                last[4].append((r[WL_WALKER], r[WL_ROUTE], r[WL_OUT]))
        arrays: tuple[NDArray[Any], ...] = (self.st, self.z, self.fl, self.hh, self.m)
        kept = tuple(a.copy() for a in arrays)
        steps = self.eng.steps
        for t, q, k in sorted((turn[0], q, k) for k, turn in enumerate(turns) for q in self.places[turn[1]]):
            _, _, r, j, follow, (st1, z1, fl1) = turns[k]
            self.st[q], self.z[q], self.fl[q], self.hh[q] = r[WL_ST], r[WL_Z], r[WL_FL], r[WL_HH]
            self.m[q] = 0 if r[WL_M] > MEM_MAX else r[WL_M]
            self._explain(t // steps, t % steps, q, j, st1, z1, fl1, r[WL_HH], follow, r[WL_SEAL])
        for a, b in zip(arrays, kept, strict=True):
            a[:] = b

    def _diff(self, day: int, k: int) -> None:
        """The morning's or the evening's changes (no slots): each followed person who changed
        state, zone, flags or household, explained (:meth:`_explain`); then the cast takes the
        arrays now, memory included, whoever changed (a seal or a sweep moves the memory of others)."""
        pop = self.eng.pop
        st1, z1, fl1, hh1, m1 = self._next
        n = _look(self.idx, self.st, self.z, self.fl, self.hh, st1, z1, fl1, hh1, m1, pop.state, pop.zone,
                  pop.flags, pop.household, pop.memory, self._changed)
        for q in self._changed[:n].tolist():
            self._explain(day, k, q, -1, int(st1[q]), int(z1[q]), int(fl1[q]), int(hh1[q]))
        self._take_next()

    def _explain(self, day: int, k: int, q: int, j: int, st1: int, z1: int, fl1: int, hh1: int,
                 follow: list[tuple[int, int, int]] | None = None, seal: int = -1) -> None:
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
            tr = TRANSITIONS[int(eng.tables.transition[st0, j])]
            mine = [out for w, _, out in follow or [] if w == me]
            # a band member's own walk is the band's proposal: told as the band took it (not if it
            # stayed, out 2), and not at all if another's walk took them first (they moved with it)
            if not (2 in mine or (follow and not mine and tr.where == Where.ROUTE)):
                self._slot_event(day, k, q, tr.name, j, st0, z0, st1, z1, new)
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
        if new & SACRIFICED:  # (the zone they were sealed in that day: ``seal``, or now)
            add(day, k, q, "sacrificed", zone=seal if seal >= 0 else int(self.eng.pop.seal_zone[self.idx[q]]))
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
        self._tell_kept()
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


def _grown(a: NDArray[np.int64], used: int, need: int) -> NDArray[np.int64]:
    """``a`` with room for ``need`` rows (half as many more), its first ``used`` kept."""
    if a.shape[0] >= need:
        return a
    out = np.empty((need + need // 2, a.shape[1]), dtype=a.dtype)
    out[:used] = a[:used]
    return out


class _ZonePool:
    """The candidates of one zone at day 0: its people (ids ``lo`` on, the day-0 layout) but those
    who are not (``out[k]``: person ``lo + k`` is dead or feral, or of a household taken before the
    pool was made), less the people of the households taken since (few: their ranks among the
    candidates, in a sorted list). Of the candidates and the others, the fewer are listed (their ids,
    ascending), so that the ``r``-th candidate is the ``r``-th of the list, or found past those not
    candidates by a binary search: a list of every candidate's id was 8 MB written at 10^6 people,
    4 ms of a cast's 7, for fifty picks; a pass over the zone for each pick (with a test against
    every household taken) cost a cast of 50 at 10^6 people 70 ms."""

    def __init__(self, lo: int, out: NDArray[np.bool_]) -> None:
        self.lo = lo
        n_out = int(np.count_nonzero(out))
        self.n = out.size - n_out
        self.listed = n_out * 2 > out.size  # the candidates listed, not the others
        self.ids = np.flatnonzero(~out if self.listed else out) + lo
        if not self.listed:
            self.before = self.ids - lo - np.arange(self.ids.size)  # candidates before each of the others
        self.gone: list[int] = []  # the ranks of the candidates taken since, ascending

    @property
    def size(self) -> int:
        return self.n - len(self.gone)

    def _at(self, r: int) -> int:
        """The ``r``-th candidate (from 0), taken or not."""
        if self.listed:
            return int(self.ids[r])
        return self.lo + r + int(np.searchsorted(self.before, r, side="right"))

    def _rank(self, person: int) -> int:
        """``person``'s rank among the candidates (taken or not), or -1 if they are not one."""
        k = int(np.searchsorted(self.ids, person))
        here = k < self.ids.size and int(self.ids[k]) == person
        if self.listed:
            return k if here else -1
        r = person - self.lo - k
        return r if 0 <= r < self.n and not here else -1

    def drop(self, person: int) -> None:
        """``person`` is no longer a candidate (their household was taken), if they were one."""
        r = self._rank(person)
        if r < 0:
            return
        j = bisect.bisect_left(self.gone, r)
        if j == len(self.gone) or self.gone[j] != r:
            self.gone.insert(j, r)

    def nth(self, r: int) -> int:
        """The ``r``-th candidate left (from 0), in ascending order."""
        k = r
        for g in self.gone:  # each rank gone at or before the one reached moves it on by one
            if g > k:
                break
            k += 1
        return self._at(k)


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
    sizes: NDArray[np.int64] | None = None  # household sizes (only a declared household needs them)
    taken: set[int] = set()
    chosen: list[tuple[int, dict[str, Any]]] = []
    declared = {c.name for c in sc.characters or []}
    namer = Namer(rng, taken=declared, language=language_for(sc))  # the list the scenario chose
    name_key = int(stream_key(eng.seed, CAST_STREAM, 1))
    zone_ids = list(world.zone_ids)
    for ci, ch in enumerate(sc.characters or []):
        ok = state <= H
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
        lo, hi = eng.ties.zone_start, eng.ties.zone_end  # (day 0: each zone's people are ids lo[z] to hi[z] - 1)
        for z in dict.fromkeys(zones):
            a, b = int(lo[z]), int(hi[z])
            assert a == b or zone[a] == zone[b - 1] == z, "the day-0 layout is by zone"
            out = state[a:b] > H
            if taken:
                out |= np.isin(house[a:b], list(taken))
            pool = _ZonePool(a, out)
            if pool.size:
                pools[z] = pool
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
