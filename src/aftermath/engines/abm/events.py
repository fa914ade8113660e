"""The event-driven step (``run.abm_mode = "events"``): a cost that follows the events, not the people.

The scan step (:func:`.step.step_part`) reads every person every step and draws a uniform for
every susceptible. Here the same discrete-time process is drawn in another order:

* **Susceptibles** share their zone's row (strain 0: the same rates, the same step probability
  ``p``). Each of the ``n`` susceptibles of a zone has an event with probability ``p``,
  independently: so the gaps between them along any fixed order are Geometric(p). Each zone keeps
  its susceptibles in a list (``sl``, one int32 per person; a susceptible's place in it is kept in
  the ``next_t`` word, which only a latent person otherwise uses); the step walks each list by
  geometric skips and visits only the places it lands on (the same Bernoulli trials, in
  O(events)). Which slot each takes: ``rate_j / total`` by a uniform of the ``PICK`` stream. With
  memory of loss, whose walking gain makes a susceptible's probability depend on their memory,
  candidates are drawn at the zone's top probability (full memory) and each is kept with
  probability ``p(memory) / p(top)`` (thinning, the ``THIN`` stream): again exactly each person's
  own chance. Those who left (infected, dead, walked away) leave holes that the list's tail fills.
* **The infected** (E, H, Z, D) are visited from an index list (``al``) with the scan step's own
  code (:func:`.step.step_infected`: the same draws, person by person), in parts over threads
  by chunk as the scan step deals them.
* The removed cost nothing.

Everything else is the scan step's: the rows, :func:`.step.act` for every transition, the
mutations resolved in person order, the bands' walks, the per-part deltas summed as integers.
The lists change only between phases, in one order, so a seed gives the same run for any number
of threads. The skips are drawn per (step, zone) from the ``COUNT`` stream (counter-based keys),
so a policy that never triggers draws nothing more.

Who costs what: per step, one logarithm and one visit per susceptible with an event and one
per infected person; per day the scan's passes that read everyone (news of the dead, the weekly
fade of memory) stay. Memory: one int32 per susceptible (the lists, with a sixteenth spare) and
one per infected person.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.rng import GOLDEN, Stream, mix64, uniform
from aftermath.engines.abm.state import NO_ZONE
from aftermath.engines.abm.step import (
    F_SWEEP,
    F_SWEEPH,
    FL_SWEPT,
    MEM_MAX,
    Day,
    Out,
    People,
    Rows,
    _move,
    _pick,
    _pick_walk,
    _walks,
    act,
    step_infected,
)
from aftermath.engines.abm.tables import D, H, R, S, Z

K_PICK, K_THIN = int(Stream.PICK), int(Stream.THIN)

I32 = NDArray[np.int32]
I64 = NDArray[np.int64]


@nb.njit(cache=True)
def _zone_key(key, z):
    return mix64(key + (np.uint64(z) + np.uint64(1)) * GOLDEN)


@nb.njit(cache=True)
def build_lists(n, state, zone, next_t, nz, spare, min_spare):
    """The zones' susceptible lists and the infected list of the population's first ``n`` people,
    in person order. Returns (sl, s_lo, s_cap, s_n, al, n_act)."""
    cnt = np.zeros(nz, dtype=np.int64)
    n_act = 0
    for i in range(n):
        st = state[i]
        if st == S:
            cnt[zone[i]] += 1
        elif st != R:
            n_act += 1
    s_lo = np.zeros(nz, dtype=np.int64)
    s_cap = np.zeros(nz, dtype=np.int64)
    tot = 0
    for z in range(nz):
        s_lo[z] = tot
        s_cap[z] = cnt[z] + max(min_spare, cnt[z] // spare)
        tot += s_cap[z]
    sl = np.zeros(tot, dtype=np.int32)
    s_n = np.zeros(nz, dtype=np.int64)
    al = np.zeros(max(1024, 2 * n_act), dtype=np.int32)
    m = 0
    for i in range(n):
        st = state[i]
        if st == S:
            z = zone[i]
            sl[s_lo[z] + s_n[z]] = i
            next_t[i] = s_n[z]
            s_n[z] += 1
        elif st != R:
            al[m] = i
            m += 1
    return sl, s_lo, s_cap, s_n, al, m


@nb.njit(cache=True)
def choose(sl, s_lo, s_n, prob, sprob, thin, key, ks, chosen):
    """Who among each zone's susceptibles has an event this step: each place of the zone's list
    independently with the zone's step probability ``p`` (or its top one when thinning by
    memory), found by geometric skips (the gap to the next one is Geometric(p): the same
    Bernoulli trials, in O(events)), from the ``COUNT`` stream keyed by (step, zone). The places,
    ascending, go to ``chosen`` zone after zone; ``ks[z]``: how many. Returns the total, or -1
    when ``chosen`` has no room (the caller enlarges it and asks again: the draws are the same)."""
    nz = s_n.shape[0]
    total = 0
    cap = chosen.shape[0]
    for z in range(nz):
        ks[z] = 0
        n = s_n[z]
        p = sprob[z, MEM_MAX] if thin else prob[z, S, 0]
        if n == 0 or p <= 0.0:
            continue
        kz = _zone_key(key, z)
        k = 0
        if p >= 1.0:
            if total + n > cap:
                return -1
            for q in range(n):
                chosen[total + q] = q
            k = n
        else:
            lg = np.log1p(-p)
            q = np.int64(-1)
            m = 0
            while True:
                gap = np.floor(np.log(1.0 - uniform(kz, m)) / lg)  # trials up to and with the next success - 1
                m += 1
                if gap >= n - q - 1:
                    break
                q += np.int64(gap) + 1
                if total + k >= cap:
                    return -1
                chosen[total + k] = q
                k += 1
        ks[z] = k
        total += k
    return total


@nb.njit(cache=True, nogil=True, _nrt=False)
def apply_s(P, T, W, dy, out, sl, s_lo, s_n, ks, chosen, chunk, newact, arrivals, taken):
    """The chosen susceptibles (places ``chosen`` of each zone's list, ``ks[z]`` of them) take
    their slots (:func:`.step.act`, as part 0); then each zone's list drops those who left it
    (infected, dead, or walked away: the walkers are ``arrivals`` for their new zone's list after
    the step, the infected ``newact`` for the infected list), the list's tail filling the holes.
    ``taken[k] = person << 16 | slot`` for each who took a slot (what the cast reads). Returns
    (new infected, arrivals, taken)."""
    n_new = 0
    n_arr = 0
    n_taken = 0
    thin = dy.mem.on and dy.mem.flight != 0.0
    pick_key, thin_key = dy.keys[K_PICK], dy.keys[K_THIN]
    where = T.where[S]
    c0 = 0
    for z in range(s_n.shape[0]):
        k = ks[z]
        if k == 0:
            continue
        lo, n = s_lo[z], s_n[z]
        rate = W.rate[z, S, 0]
        tot = W.tot[z, S, 0]
        top = dy.sprob[z, MEM_MAX] if thin else 0.0
        for m in range(k):
            i = np.int64(sl[lo + chosen[c0 + m]])
            mult = 1.0
            if thin:
                mm = np.int64(P.memory[i])
                if uniform(thin_key, i) * top >= dy.sprob[z, mm]:
                    continue  # a candidate at full memory's rate, not at their own
                if mm > 0:
                    mult = 1.0 + dy.mem.flight * mm
            u = uniform(pick_key, i)
            if mult != 1.0:
                j = _pick_walk(rate, where, mult, u * (tot + (mult - 1.0) * _walks(rate, where)))
            else:
                j = _pick(rate, u * tot)
            taken[n_taken] = (i << 16) | j
            n_taken += 1
            act(0, i, S, z, 0, j, P, T, W, dy, out, i // chunk)
        g = 0  # the places of those who left, ascending, over the chosen ones' places
        for m in range(k):
            q = chosen[c0 + m]
            i = np.int64(sl[lo + q])
            st = P.state[i]
            if st == S and np.int64(P.zone[i]) == z:
                continue
            if st == S:
                arrivals[n_arr] = i
                n_arr += 1
            elif st != R:
                newact[n_new] = i
                n_new += 1
            chosen[c0 + g] = q
            g += 1
        n2 = n - g
        top_h = g - 1
        src = n - 1
        h = 0
        while h < g and chosen[c0 + h] < n2:  # a hole below the new end: the last one still listed fills it
            while top_h >= 0 and chosen[c0 + top_h] == src:
                top_h -= 1
                src -= 1
            i = np.int64(sl[lo + src])
            sl[lo + chosen[c0 + h]] = i
            P.next_t[i] = chosen[c0 + h]
            src -= 1
            h += 1
        s_n[z] = n2
        c0 += k
    return n_new, n_arr, n_taken


@nb.njit(cache=True, nogil=True, _nrt=False)
def active_part(p, n_parts, al, n_act, chunk, P, T, W, dy, out):
    """Part ``p`` of the infected list: each person of a chunk ``c`` with ``c % n_parts == p``
    steps as in the scan step (:func:`.step.step_infected`)."""
    for k in range(n_act):
        i = np.int64(al[k])
        c = i // chunk
        if c % n_parts != p:
            continue
        st = np.int64(P.state[i])
        if st == S or st >= R:
            continue
        step_infected(p, i, st, np.int64(P.zone[i]), P, T, W, dy, out, c)


@nb.njit(cache=True)
def compact(al, n_act, newact, n_new, state, arrivals, n_arr, out):
    """The infected list after a step, in person order, into ``out``: keep E, H, Z, D (``al``, in
    person order); the cured are arrivals for their zone's susceptible list; the removed leave;
    this step's new infected (``newact``, sorted here) join. Returns (n_act, n_arr)."""
    newact[:n_new].sort()
    m = 0
    b = 0
    for k in range(n_act):
        i = al[k]
        st = state[i]
        if st == S:
            arrivals[n_arr] = i
            n_arr += 1
            continue
        if st == R:
            continue
        while b < n_new and newact[b] < i:
            j = newact[b]
            b += 1
            if state[j] != S and state[j] != R:
                out[m] = j
                m += 1
        out[m] = i
        m += 1
    while b < n_new:
        j = newact[b]
        b += 1
        if state[j] != S and state[j] != R:
            out[m] = j
            m += 1
    return m, n_arr


@nb.njit(cache=True)
def append_s(sl, s_lo, s_cap, s_n, next_t, zone, who, start):
    """Append ``who[start:]`` to their zones' lists; returns where it stopped (a full zone)."""
    for q in range(start, who.shape[0]):
        i = who[q]
        z = zone[i]
        if s_n[z] >= s_cap[z]:
            return q
        sl[s_lo[z] + s_n[z]] = i
        next_t[i] = s_n[z]
        s_n[z] += 1
    return who.shape[0]


@nb.njit(cache=True)
def regrow(sl, s_lo, s_cap, s_n, new_cap):
    """The lists copied into room of ``new_cap`` per zone (places within a zone unchanged)."""
    nz = s_n.shape[0]
    lo2 = np.zeros(nz, dtype=np.int64)
    tot = 0
    for z in range(nz):
        lo2[z] = tot
        tot += new_cap[z]
    out = np.zeros(tot, dtype=np.int32)
    for z in range(nz):
        for m in range(s_n[z]):
            out[lo2[z] + m] = sl[s_lo[z] + m]
    return out, lo2


@nb.njit(cache=True)
def leave_list(sl, s_lo, s_n, next_t, z, i):
    """Take person ``i`` out of zone ``z``'s list (the last one takes their place); False if not there."""
    pos = np.int64(next_t[i])
    n = s_n[z]
    if pos < 0 or pos >= n or sl[s_lo[z] + pos] != i:
        return False
    last = sl[s_lo[z] + n - 1]
    sl[s_lo[z] + pos] = last
    next_t[last] = pos
    s_n[z] = n - 1
    return True


@nb.njit(cache=True)
def band_moved(log, n_log, route_from, state, zone, sl, s_lo, s_n, next_t, arrivals, n_arr):
    """Susceptibles the bands took to another zone (rows of :func:`.step.follow_bands`' log) leave
    their old zone's list and arrive in the new one after the step. Returns the arrivals."""
    for g in range(n_log):
        i = log[g, 0]
        z0 = np.int64(route_from[log[g, 2]])
        if state[i] == S and np.int64(zone[i]) != z0 and leave_list(sl, s_lo, s_n, next_t, z0, i):
            arrivals[n_arr] = i
            n_arr += 1
    return n_arr


@nb.njit(cache=True, nogil=True)
def sweep_active_part(p, n_parts, al, n_act, chunk, state, zone, strain, flags, flag_zone, kill, hybrids, q,
                      key_kill, key_q, fl, dc, dzs):
    """A morning sweep over the infected list, as :func:`.step.sweep_part` (the same draws),
    counting the moves as deltas instead of a recount of everyone."""
    for k in range(n_act):
        i = np.int64(al[k])
        if (i // chunk) % n_parts != p:
            continue
        st = np.int64(state[i])
        if st != Z and st != H:
            continue
        z = np.int64(zone[i])
        kz = kill[z]
        if kz <= 0.0 or (st == H and not hybrids[z]):
            continue
        if uniform(key_kill, i) < kz:
            new = D if uniform(key_q, i) < q else R
            state[i] = new
            s = np.int64(strain[i])
            _move(dc, dzs, p, z, st, s, z, new, s)
            fl[p, F_SWEEP, z] += 1
            if st == H:
                fl[p, F_SWEEPH, z] += 1
                if flag_zone[i] == NO_ZONE:
                    flag_zone[i] = z
                flags[i] |= FL_SWEPT


@nb.njit(cache=True)
def verify(n, state, zone, next_t, sl, s_lo, s_n, al, n_act):
    """Debug check: the lists hold exactly the susceptibles of each zone (each at the place its
    ``next_t`` says) and the infected once each. Returns an error code (0: consistent)."""
    nz = s_n.shape[0]
    cnt = np.zeros(nz, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    n_inf = 0
    for i in range(n):
        st = state[i]
        if st == S:
            z = zone[i]
            cnt[z] += 1
            pos = np.int64(next_t[i])
            if pos < 0 or pos >= s_n[z] or sl[s_lo[z] + pos] != i:
                return 1
        elif st != R:
            n_inf += 1
    for z in range(nz):
        if cnt[z] != s_n[z]:
            return 2
    if n_inf != n_act:
        return 3
    for k in range(n_act):
        i = al[k]
        if i < 0 or i >= n or seen[i] or state[i] == S or state[i] >= R:
            return 4
        seen[i] = True
    return 0


class EventLists:
    """The event-driven step's lists (see the module docstring) and the buffers of a step."""

    SPARE, MIN_SPARE = 16, 1024  # room per zone: a sixteenth more, at least 1024

    def __init__(self, n: int, state: NDArray[np.uint8], zone: NDArray[np.uint16], next_t: I32, nz: int) -> None:
        (self.sl, self.s_lo, self.s_cap, self.s_n, self.al, n_act) = build_lists(
            n, state, zone, next_t, nz, self.SPARE, self.MIN_SPARE)
        self.n_act = int(n_act)
        self.al2 = np.zeros_like(self.al)
        self.ks = np.zeros(nz, dtype=np.int64)
        self.chosen = np.zeros(4096, dtype=np.int64)
        self.newact = np.zeros(1024, dtype=np.int32)
        self.arrivals = np.zeros(1024, dtype=np.int32)
        self.taken = np.zeros(1024, dtype=np.int64)
        self.n_new = 0
        self.n_arr = 0
        self.n_taken = 0

    @staticmethod
    def _room(a: I32, need: int) -> I32:
        if a.shape[0] >= need:
            return a
        out = np.zeros(max(need, 2 * a.shape[0]), dtype=np.int32)
        out[: a.shape[0]] = a
        return out

    def step(self, workers: object, P: People, T: object, W: Rows, dy: Day, out: Out, chunk: int,
             key: np.uint64) -> None:
        """The step: the susceptibles with an event (serial, part 0), then the infected (parts)."""
        thin = bool(dy.mem.on and dy.mem.flight != 0.0)
        while True:
            total = int(choose(self.sl, self.s_lo, self.s_n, W.prob, dy.sprob, thin, key, self.ks, self.chosen))
            if total >= 0:
                break
            self.chosen = np.zeros(2 * self.chosen.shape[0], dtype=np.int64)
        self.newact = self._room(self.newact, total)
        self.arrivals = self._room(self.arrivals, total + self.n_act)
        if self.taken.shape[0] < total:
            self.taken = np.zeros(max(total, 2 * self.taken.shape[0]), dtype=np.int64)
        n_new, n_arr, n_taken = apply_s(P, T, W, dy, out, self.sl, self.s_lo, self.s_n, self.ks, self.chosen,
                                        chunk, self.newact, self.arrivals, self.taken)
        self.n_new, self.n_arr, self.n_taken = int(n_new), int(n_arr), int(n_taken)
        workers.run(active_part, self.al, self.n_act, chunk, P, T, W, dy, out)  # type: ignore[attr-defined]

    def band_moved(self, log: I64, route_from: NDArray[np.int64], state: NDArray[np.uint8],
                   zone: NDArray[np.uint16], next_t: I32) -> None:
        """After the bands' walks: their susceptibles change lists."""
        self.arrivals = self._room(self.arrivals, self.n_arr + log.shape[0] + self.n_act)
        self.n_arr = int(band_moved(log, log.shape[0], route_from, state, zone, self.sl, self.s_lo, self.s_n,
                                    next_t, self.arrivals, self.n_arr))

    def settle(self, state: NDArray[np.uint8], zone: NDArray[np.uint16], next_t: I32) -> None:
        """After the step (and its mutations and bands): the infected list compacted, the new
        infected added, the arrivals (walkers, the cured) put in their zones' lists."""
        if self.al2.shape[0] < self.n_act + self.n_new:
            self.al2 = np.zeros(max(self.n_act + self.n_new, 2 * self.al2.shape[0]), dtype=np.int32)
        self.arrivals = self._room(self.arrivals, self.n_arr + self.n_act + self.n_new)
        n_act, n_arr = compact(self.al, self.n_act, self.newact, self.n_new, state, self.arrivals, self.n_arr,
                               self.al2)
        self.al, self.al2 = self.al2, self.al  # the merged list, and the old one's room for next time
        self.n_act, self.n_new = int(n_act), 0
        self.add_susceptible(self.arrivals[: int(n_arr)], zone, next_t)
        self.n_arr = 0

    def add_susceptible(self, who: I32, zone: NDArray[np.uint16], next_t: I32) -> None:
        """Susceptibles joining their zones' lists (arrivals, the cured, the born)."""
        done = 0
        while True:
            done = int(append_s(self.sl, self.s_lo, self.s_cap, self.s_n, next_t, zone, who, done))
            if done >= who.shape[0]:
                return
            z = int(zone[who[done]])  # a full zone: every zone gets room again, that one twice its size
            cap = self.s_n + np.maximum(self.MIN_SPARE, self.s_n // self.SPARE)
            cap[z] = max(int(cap[z]), 2 * int(self.s_cap[z]))
            self.sl, self.s_lo = regrow(self.sl, self.s_lo, self.s_cap, self.s_n, cap)
            self.s_cap = cap

    def sweep(self, workers: object, chunk: int, pop: object, levers_kill: NDArray[np.float64],
              hybrids: NDArray[np.bool_], q: float, key_kill: np.uint64, key_q: np.uint64, fl: I64, dc: I64,
              dzs: I64) -> None:
        """A morning sweep over the infected (deltas in ``dc``, ``dzs``, flows in ``fl``)."""
        workers.run(sweep_active_part, self.al, self.n_act, chunk, pop.state, pop.zone,  # type: ignore[attr-defined]
                    pop.strain, pop.flags, pop.flag_zone, levers_kill, hybrids, q, key_kill, key_q, fl,  # type: ignore[attr-defined]
                    dc, dzs)

    def slots_taken_by(self, idx: I64) -> dict[int, int]:
        """Of the people ``idx`` (the cast), those the susceptibles' phase gave a slot this step:
        {person: slot}. (Those it did not had no event; the infected's slots are the scan's.)"""
        taken = self.taken[: self.n_taken]
        who = taken >> 16
        hit = np.flatnonzero(np.isin(who, idx))
        return {int(who[h]): int(taken[h] & 0xFFFF) for h in hit}

    def infected(self) -> I32:
        return self.al[: self.n_act]

    def check(self, n: int, state: NDArray[np.uint8], zone: NDArray[np.uint16], next_t: I32) -> int:
        return int(verify(n, state, zone, next_t, self.sl, self.s_lo, self.s_n, self.al, self.n_act))

    def nbytes(self) -> int:
        return int(self.sl.nbytes + self.al.nbytes + self.al2.nbytes + self.newact.nbytes + self.arrivals.nbytes
                   + self.taken.nbytes + self.chosen.nbytes)
