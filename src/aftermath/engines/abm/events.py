"""The event-driven step (``run.abm_mode = "events"``): a cost that follows the events, not the people.

The scan step (:func:`.step.step_part`) reads every person every step and draws a uniform for
everyone who could have an event. Here the same discrete-time process is drawn in another order:

* **Lists by (zone, state).** The susceptible, hybrids, ferals and corpses of each zone are kept
  in lists per (zone, state) (``sl``, one int32 per person; a person's place in their list is
  kept in the ``next_t`` word, which only a latent person otherwise uses), ``NSH`` of them, one
  per shard of the people (blocks of 4,096 ids, every ``NSH``-th to a shard): so a zone's
  susceptible, most of the step's work, are several lists, which the threads share out evenly
  whatever one zone holds (the number is fixed: a seed gives the same run for any number of
  threads). Everyone in a list has
  an event this step with their own probability ``p_i`` (their row's: a susceptible's is the
  zone's; the infected's depend on their strain, a hybrid's also on memory of loss). The list's
  *top* ``p`` is the largest of these. The step walks each list by geometric skips (the gap to
  the next candidate is Geometric(top)) and keeps each candidate with probability
  ``p_i / top`` (thinning, the ``THIN`` stream): each person has an event with exactly their own
  chance, independently, and only the candidates are visited. Which slot each takes:
  ``rate_j / total`` by a uniform of the ``PICK`` stream. Whoever leaves a list (a change of state
  or zone) leaves a hole that the list's tail fills, and joins their new list after the visits, so
  no one has two events in a step: in the part that visited them when it can (:func:`join_own`),
  else in a serial pass after the step (:func:`settle_movers`), in the same order either way.
* **The latent** are kept in a calendar (``el``, ``el_t``): ordered by the step their latency
  ends (``next_t``, drawn at infection), then by person. Each step the due ones at its head end
  their latency (:func:`.step.end_latency`, as in the scan); those of the others with an event
  of their row (a walk, mostly) are drawn from the rest of the calendar as from a list (geometric
  skips at the top step probability over the zones and strains that hold latent people, thinned
  to each one's own).
  The newly latent are merged in after the step. A latent person costs nothing in a step in
  which nothing happens to them.
* The removed are in no list and cost nothing.

Everything else is the scan step's: the rows, :func:`.step.act` for every transition, the
mutations resolved in person order, the bands' walks, the per-part deltas summed as integers.
The lists change only between phases, in one order, so a seed gives the same run for any number
of threads. The skips are drawn per (step, list) from the ``COUNT`` stream (counter-based keys),
so a policy that never triggers draws nothing more.

Who costs what: per step and list, a few operations; per candidate, a logarithm and a visit
(about 180 ns at 1e7 people: a dozen arrays read at scattered places, their words prefetched
``TOUCH`` candidates at a time so that the misses overlap); per end of latency, a visit. Per day the
scan's passes over everyone (news of the dead, the weekly fade of memory) stay. Memory: one int32
per living person (the lists, with an eighth spare, and 256 places at least for each zone and
state, over its shards: ``MIN_SPARE``): less than the set-up's transients that the
budget already counts per person (:data:`.state.SETUP_BYTES_PER_AGENT`), and built after them.
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.prefetch import prefetch
from aftermath.engines.abm.rng import GOLDEN, Stream, mix64, uniform
from aftermath.engines.abm.sorts import argsort_stable, sort_in_place
from aftermath.engines.abm.state import NO_ZONE, PENDING
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
    end_latency,
    memory_level,
    recall,
)
from aftermath.engines.abm.tables import D, E, H, R, S, Z

K_PICK, K_THIN = int(Stream.PICK), int(Stream.THIN)
TOUCH = 64  # candidates whose words are prefetched ahead of their visits (:mod:`.prefetch`)
NK = 4  # kinds of list per zone: S, H, Z, D
#: each (zone, kind) is kept as NSH lists, its people's shards (``shard``: person ``i``'s block of
#: ``1 << SHARD_BITS`` ids, every NSH-th block to the same shard), so that one zone's susceptible
#: are several lists that can go to different threads, each over its own blocks of the people's
#: arrays. The list of (zone, kind, shard) is ``(zone * NK + kind) * NSH + shard``. The number is
#: fixed (not the number of threads): a seed gives the same run whatever the threads.
NSH = 4
SHARD_BITS = 12
assert NSH & (NSH - 1) == 0, "shard() masks the id's block with NSH - 1"
KIND_STATE = np.array([S, H, Z, D], dtype=np.int64)

I32 = NDArray[np.int32]
I64 = NDArray[np.int64]


@nb.njit(cache=True, inline="always")
def kind_of(st):
    """The list kind of state ``st`` (0 S, 1 H, 2 Z, 3 D), -1 for E and R (and pending)."""
    if st == S:
        return 0
    if st == H:
        return 1
    if st == Z:
        return 2
    if st == D:
        return 3
    return -1


@nb.njit(cache=True, inline="always")
def shard(i):
    """Person ``i``'s shard of their (zone, kind)'s lists."""
    return (np.int64(i) >> SHARD_BITS) & (NSH - 1)


@nb.njit(cache=True, inline="always")
def first_list(z, k):
    """The first of zone ``z``'s lists of kind ``k`` (its shards' lists follow it)."""
    return (np.int64(z) * NK + k) * NSH


@nb.njit(cache=True, inline="always")
def list_at(z, k, i):
    """The list of person ``i`` in zone ``z``, kind ``k``."""
    return first_list(z, k) + shard(i)


@nb.njit(cache=True, inline="always")
def list_of(state, zone, i):
    """The list person ``i`` belongs in (:func:`list_at`); -1 for the latent and the removed."""
    k = kind_of(state[i])
    return list_at(zone[i], k, i) if k >= 0 else np.int64(-1)


@nb.njit(cache=True, inline="always")
def join(sl, s_lo, s_cap, s_n, next_t, li, i):
    """Person ``i`` at the end of list ``li``, their place in ``next_t``; False if it is full."""
    if s_n[li] >= s_cap[li]:
        return False
    sl[s_lo[li] + s_n[li]] = i
    next_t[i] = s_n[li]
    s_n[li] += 1
    return True


@nb.njit(cache=True)
def count_lists(n, state, zone, nl):
    """How many of the first ``n`` people belong in each list, and how many are latent."""
    cnt = np.zeros(nl, dtype=np.int64)
    n_e = 0
    for i in range(n):
        li = list_of(state, zone, i)
        if li >= 0:
            cnt[li] += 1
        elif state[i] == E:
            n_e += 1
    return cnt, n_e


@nb.njit(cache=True)
def _list_key(key, li):
    return mix64(key + (np.uint64(li) + np.uint64(1)) * GOLDEN)


@nb.njit(cache=True)
def build_lists(n, state, zone, next_t, nz, spare, min_spare, slack):
    """The lists of the population's first ``n`` people, in person order, each with room to grow,
    and ``slack`` more at the end (where a full list moves). Returns (sl, s_lo, s_cap, s_n, el,
    el_t, n_e, tail): the (zone, state) lists, the latent calendar (:func:`calendar_of`), and
    where the free end starts."""
    nl = nz * NK * NSH
    cnt, n_e = count_lists(n, state, zone, nl)
    s_lo = np.zeros(nl, dtype=np.int64)
    s_cap = np.zeros(nl, dtype=np.int64)
    tot = 0
    for li in range(nl):
        s_lo[li] = tot
        s_cap[li] = cnt[li] + max(min_spare, cnt[li] // spare)
        tot += s_cap[li]
    sl = np.zeros(tot + slack, dtype=np.int32)
    s_n = np.zeros(nl, dtype=np.int64)
    lat = np.zeros(n_e, dtype=np.int64)
    m = 0
    for i in range(n):
        li = list_of(state, zone, i)
        if li >= 0:
            join(sl, s_lo, s_cap, s_n, next_t, li, i)  # (room: the counts above)
        elif state[i] == E:
            lat[m] = i
            m += 1
    el = np.zeros(max(1024, 2 * n_e), dtype=np.int32)
    el_t = np.zeros(el.shape[0], dtype=np.int32)
    calendar_of(lat, m, next_t, el, el_t)
    return sl, s_lo, s_cap, s_n, el, el_t, m, tot


@nb.njit(cache=True, inline="always")
def cal_key(t, i):
    """The calendar's order as one int64: end of latency ``t``, then person ``i``."""
    return (np.int64(t) << 32) | np.int64(i)


@nb.njit(cache=True)
def calendar_of(who, m, next_t, el, el_t):
    """The latent ``who[:m]`` in calendar order into ``el`` (and their ends of latency into
    ``el_t``): by the step their latency ends (``next_t``), then by person."""
    keys = np.empty(m, dtype=np.int64)
    for k in range(m):
        keys[k] = cal_key(next_t[who[k]], who[k])
    sort_in_place(keys)
    for k in range(m):
        el[k] = keys[k] & 0xFFFFFFFF
        el_t[k] = keys[k] >> 32


@nb.njit(cache=True, nogil=True, _nrt=False)
def list_tops(W, T, dy, czs, ns, tops):
    """Each list's top step probability this step: the largest of its people's (a susceptible's
    at full memory when memory of loss changes it; the infected's over the strains the zone holds
    in that state, a hybrid's at full memory)."""
    thin_s = dy.mem.on and dy.mem.flight != 0.0
    mem_h = dy.mem.on and dy.mem.flight != 0.0
    mmax = 1.0 + dy.mem.flight * MEM_MAX
    for z in range(czs.shape[0]):
        tops[first_list(z, 0)] = dy.sprob[z, MEM_MAX] if thin_s else W.prob[z, S, 0]
        for k in range(1, NK):
            st = KIND_STATE[k]
            best = 0.0
            for s in range(ns):
                if czs[z, s, st - 1] == 0:
                    continue
                p = W.prob[z, st, s]
                if mem_h and st == H:
                    p = -math.expm1(-(W.tot[z, st, s] + (mmax - 1.0) * _walks(W.rate[z, st, s], T.where[st])) * dy.dt)
                if p > best:
                    best = p
            tops[first_list(z, k)] = best
        for k in range(NK):  # every shard of a (zone, kind) has its top
            for h in range(1, NSH):
                tops[first_list(z, k) + h] = tops[first_list(z, k)]
    best = 0.0  # the latent's (one calendar for every zone): their walks, at full memory
    for z in range(czs.shape[0]):
        for s in range(ns):
            if czs[z, s, E - 1] == 0:
                continue
            p = W.prob[z, E, s]
            if mem_h:
                p = -math.expm1(-(W.tot[z, E, s] + (mmax - 1.0) * _walks(W.rate[z, E, s], T.where[E])) * dy.dt)
            if p > best:
                best = p
    tops[czs.shape[0] * NK * NSH] = best


@nb.njit(cache=True)
def choose_into(lo, hi, p, key, out, at, room):
    """The places ``lo .. hi - 1`` each chosen independently with probability ``p``, by geometric
    skips (the number of places passed over before the next chosen one is Geometric(p)) from the
    uniforms of ``key``, ascending into ``out[at:at + room]``. Returns how many, or -1 when there
    are more than ``room`` (the caller gives more room and asks again: the same draws)."""
    n = hi - lo
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        if n > room:
            return -1
        for q in range(n):
            out[at + q] = lo + q
        return n
    lg = math.log1p(-p)
    q = np.int64(-1)
    k = 0
    m = 0
    while True:
        gap = np.floor(math.log(1.0 - uniform(key, m)) / lg)
        m += 1
        if gap >= n - q - 1:
            break
        q += np.int64(gap) + 1
        if k >= room:
            return -1
        out[at + k] = lo + q
        k += 1
    return k


@nb.njit(cache=True)
def choose_range(lo, hi, p, key, out):
    """:func:`choose_into` the whole of ``out``."""
    return choose_into(lo, hi, p, key, out, 0, out.shape[0])


@nb.njit(cache=True)
def layout(s_n, tops, sigmas, least, room, k_lo):
    """Where each list's candidates go this step, before they are drawn (each part draws its
    lists' own): room for ``room[li]`` from ``k_lo[li]``, their expected number (``s_n * top``,
    Binomial) and ``sigmas`` standard deviations and ``least`` more, at most the list. Returns (the
    room in all, the candidates expected by list, rounded up: what :func:`deal` shares out, and
    their sum)."""
    nl = s_n.shape[0]
    expect = np.zeros(nl, dtype=np.int64)
    total = 0
    expected = 0
    for li in range(nl):
        p = min(max(tops[li], 0.0), 1.0)
        e = s_n[li] * p
        expect[li] = np.int64(np.ceil(e))
        room[li] = max(0, min(s_n[li], np.int64(np.ceil(e + sigmas * np.sqrt(e * (1.0 - p)))) + least))
        k_lo[li] = total
        total += room[li]
        expected += expect[li]
    return total, expect, expected


@nb.njit(cache=True, nogil=True, _nrt=False)
def fill_holes(sl, lo, n, holes, c0, g, next_t):
    """A list of ``n`` from ``lo`` loses the ``g`` places ``holes[c0:c0 + g]`` (ascending): the last
    ones still listed fill the holes below the new end. Returns the new length."""
    n2 = n - g
    top_h = g - 1
    src = n - 1
    h = 0
    while h < g and holes[c0 + h] < n2:
        while top_h >= 0 and holes[c0 + top_h] == src:
            top_h -= 1
            src -= 1
        i = sl[lo + src]
        sl[lo + holes[c0 + h]] = i
        next_t[i] = holes[c0 + h]
        src -= 1
        h += 1
    return n2


@nb.njit(cache=True, nogil=True, _nrt=False)
def lists_part(p, n_parts, owner, P, T, W, dy, out, pend, news, sl, s_lo, s_cap, s_n, ks, k_lo, room, key, chosen,
               tops, chunk, movers, n_movers, local):
    """The lists ``li`` with ``owner[li] == p``: their candidates, each place with the list's top
    probability (:func:`choose_into`: geometric skips from the ``COUNT`` stream keyed by (step,
    list)), ascending into ``chosen[k_lo[li]:]``, ``ks[li]`` of them (-1, and the list left as it
    was, when there are more than its ``room[li]``: the caller runs it again with more), each kept
    with their own probability, take their slots (:func:`.step.act`, as part ``p``; mutations and
    news counted in this part's rows ``pend[p]``, ``news[p]``); then the list drops those who left
    it, who go to ``movers[k_lo[li]:]`` (``n_movers[li]`` of them) to be placed after the step,
    but for the removed (no list: half the SIR's movers, each a random read when placed).
    Every list's draws and output have their own place, so neither the
    lists nor their order depend on which part ran them, and the parts draw their own lists'
    candidates (a serial pass over every list's before, a fifth of the SIR's step at 1e6).
    ``local``: bands do not move together this step and every list a mover can join is this
    part's (all lists on one part, or dealt by shard: :func:`deal_shards`), so the movers join
    them here (:func:`join_own`), not in the serial pass after the step."""
    o = Out(out.dc, out.dzs, out.fl, out.rf, pend[p], news[p], out.moves, out.move_lo, out.move_n, out.marks,
            out.mark_n, out.watch_log)
    thin_s = dy.mem.on and dy.mem.flight != 0.0
    pick_key, thin_key = dy.keys[K_PICK], dy.keys[K_THIN]
    mem_on = dy.mem.on
    latent = False  # whether an infection can start a latency (whose end it writes in next_t)
    for s in range(dy.n_strains):
        if dy.latency[s] > 0.0:
            latent = True
    for li in range(s_n.shape[0]):
        if owner[li] != p:
            continue
        n_movers[li] = 0
        c0 = k_lo[li]
        k = choose_into(0, s_n[li], tops[li], _list_key(key, li), chosen, c0, room[li])
        ks[li] = k
        if k <= 0:
            continue  # none, or no room (-1): nothing done
        z = li // (NK * NSH)
        st = KIND_STATE[(li // NSH) % NK]
        lo, n = s_lo[li], s_n[li]
        top = tops[li]
        where = T.where[st]
        g = 0  # those who left, over the chosen ones' places (ascending)
        n_mov = 0  # ... and of them those who join another list or the calendar (not the removed), to movers
        # the words a visit of this list reads besides state and zone: a susceptible has no strain,
        # its infection reads ``ever`` and schedules ``next_t`` (with latency); memory with memory on
        t_strain, t_ever, t_next = st != S, st == S, st == S and latent
        for m in range(k):
            if m % TOUCH == 0:  # the next few candidates' words, prefetched (their misses overlap: :mod:`.prefetch`)
                for m2 in range(m, min(k, m + TOUCH)):
                    i2 = sl[lo + chosen[c0 + m2]]
                    prefetch(P.state, i2)
                    prefetch(P.zone, i2)
                    if t_strain:
                        prefetch(P.strain, i2)
                    if mem_on:
                        prefetch(P.memory, i2)
                    if t_ever:
                        prefetch(P.ever, i2)
                    if t_next:
                        prefetch(P.next_t, i2)
            i = np.int64(sl[lo + chosen[c0 + m]])
            s = np.int64(0) if st == S else np.int64(P.strain[i])
            rate = W.rate[z, st, s]
            tot = W.tot[z, st, s]
            mult = 1.0
            if st == S:
                if thin_s:
                    mm = memory_level(P, i)
                    pi = dy.sprob[z, mm]
                    if mm > 0:
                        mult = 1.0 + dy.mem.flight * mm
                else:
                    pi = W.prob[z, S, 0]
            else:
                if st == H and dy.mem.on:
                    mult = recall(i, P, dy.mem)
                pi = W.prob[z, st, s]
                if mult != 1.0:
                    pi = -math.expm1(-(tot + (mult - 1.0) * _walks(rate, where)) * dy.dt)
            if pi <= 0.0 or (pi < top and uniform(thin_key, i) * top >= pi):
                continue  # a candidate at the list's top rate, not at their own
            u = uniform(pick_key, i)
            if mult != 1.0:
                j = _pick_walk(rate, where, mult, u * (tot + (mult - 1.0) * _walks(rate, where)))
            else:
                j = _pick(rate, u * tot)
            act(p, i, st, z, s, j, P, T, W, dy, o, i // chunk)
            # (only their own visit changes a person's state or zone in this phase: whether they
            # left is known now; ``g <= m``, so this place of ``chosen`` was read)
            st2 = P.state[i]
            if st2 == st and np.int64(P.zone[i]) == z:
                continue
            chosen[c0 + g] = chosen[c0 + m]
            g += 1
            if st2 != R:  # (the removed join no list, and nothing later in the step changes them)
                movers[c0 + n_mov] = i
                n_mov += 1
        n_movers[li] = n_mov
        s_n[li] = fill_holes(sl, lo, n, chosen, c0, g, P.next_t)
    if local:
        join_own(p, owner, P.state, P.zone, P.next_t, sl, s_lo, s_cap, s_n, ks, k_lo, movers, n_movers)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _touch_movers(movers, a, b, state, zone, next_t):
    """Prefetches the words a mover's joining reads, of ``movers[a:b]`` (:mod:`.prefetch`)."""
    for q in range(a, b):
        i = movers[q]
        prefetch(state, i)
        prefetch(zone, i)
        prefetch(next_t, i)


@nb.njit(cache=True, nogil=True, _nrt=False)
def join_own(p, owner, state, zone, next_t, sl, s_lo, s_cap, s_n, ks, k_lo, movers, n_movers):
    """After part ``p``'s visits: its lists' movers join their new lists here, as the serial pass
    after the step (:func:`settle_movers`) would have placed them, and leave the movers; those it
    cannot place stay, in order, for that pass.

    Why the result is the same: a person's shard is their id's, so with lists dealt by shard
    (:func:`deal_shards`) every list a mover of this part can join is this part's, and no other
    part's mover joins it; the movers come in list order, the pass's order among them. A list
    that fills keeps the rest of its joiners for the pass (full stays full: the same order); a
    mover whose list is not known yet (a mutation's, ``PENDING`` until the step's end) holds every
    mover after them back, and so does one whose list is not this part's (not with lists dealt
    by shard). The newly latent stay for the pass (the calendar sorts them). Nothing later in a
    step without band walks changes a placed mover's state or zone (the latent phase visits the
    calendar, mutations change the ``PENDING``). If any of this part's lists is to be drawn again
    (``ks < 0``, :meth:`EventLists._again`), nothing is joined here: that list's visit must see
    it as it was."""
    for li in range(ks.shape[0]):
        if owner[li] == p and ks[li] < 0:
            return
    held = False
    for li in range(ks.shape[0]):
        if owner[li] != p:
            continue
        c0 = k_lo[li]
        kept = 0
        nm = n_movers[li]
        for m in range(nm):
            if m % TOUCH == 0 and not held:  # the next few movers' words (as settle_movers)
                _touch_movers(movers, c0 + m, c0 + min(nm, m + TOUCH), state, zone, next_t)
            i = movers[c0 + m]
            if not held:
                if state[i] == PENDING:
                    held = True
                else:
                    tl = list_of(state, zone, i)
                    if tl >= 0:
                        if owner[tl] != p:
                            held = True
                        elif join(sl, s_lo, s_cap, s_n, next_t, tl, i):
                            continue
            movers[c0 + kept] = i
            kept += 1
        n_movers[li] = kept


@nb.njit(cache=True)
def gather_into(k_lo, counts, src, dst):
    """After the lists' phase: each list's outputs (``src[k_lo[li]:]``, ``counts[li]`` of them) to
    the front of ``dst``, in list order. Returns how many. ``dst`` may be ``src`` where the lists'
    places ascend in list order (the copy only moves left)."""
    w = 0
    for li in range(k_lo.shape[0]):
        for m in range(counts[li]):
            dst[w] = src[k_lo[li] + m]
            w += 1
    return w


@nb.njit(cache=True)
def gather(k_lo, counts, a):
    """:func:`gather_into` in place."""
    return gather_into(k_lo, counts, a, a)


@nb.njit(cache=True)
def gather_lists(ks, k_lo, n_movers, movers):
    """After the lists' phase, in one call: -1 if a list had more candidates than its room
    (``ks < 0``: those are drawn again, :meth:`EventLists._again`, which gathers), else the
    movers gathered in place (:func:`gather`) and how many."""
    for li in range(ks.shape[0]):
        if ks[li] < 0:
            return np.int64(-1)
    return gather(k_lo, n_movers, movers)


@nb.njit(cache=True)
def fold(pend, news, pend_chunk, news_chunk):
    """The parts' counts of mutations and news per chunk into the engine's (and zeroed; written
    whatever their value: no masked stores, :mod:`.merge`)."""
    for p in range(pend.shape[0]):
        for c in range(pend.shape[1]):
            pend_chunk[c] += pend[p, c]
            pend[p, c] = 0
        for c in range(news.shape[1]):
            news_chunk[c] += news[p, c]
            news[p, c] = 0


@nb.njit(cache=True)
def deal(ks, n_parts, owner):
    """Lists to parts, the largest first to the least loaded (any dealing gives the same run).
    Returns the most loaded part's share of the candidates."""
    order = argsort_stable(-ks)
    load = np.zeros(n_parts, dtype=np.int64)
    for li in order:
        p = np.argmin(load)
        owner[li] = p
        load[p] += ks[li] + 1
    return load.max() / max(1, load.sum())


@nb.njit(cache=True)
def deal_shards(ks, n_parts, owner):
    """Lists to parts by shard (shard ``h``'s lists, every zone's and kind's, to part
    ``h % n_parts``; ``n_parts`` divides :data:`NSH`): a mover keeps their shard, so each part's
    movers join only its own lists (:func:`join_own`). Returns the most loaded part's share of the
    candidates (as :func:`deal`)."""
    load = np.zeros(n_parts, dtype=np.int64)
    for li in range(ks.shape[0]):
        p = (li % NSH) % n_parts
        owner[li] = p
        load[p] += ks[li] + 1
    return load.max() / max(1, load.sum())


@nb.njit(cache=True, nogil=True, _nrt=False)
def latent_part(p, n_parts, el, n_due, cand, n_cand, top, chunk, P, T, W, dy, out, taken):
    """Part ``p`` of the latent (a person of chunk ``c`` is part ``c % n_parts``'s): the first
    ``n_due`` of the calendar end their latency (:func:`.step.end_latency`); the candidates
    ``el[cand[:n_cand]]``, drawn at the top step probability ``top``, are kept with their own (as
    in :func:`lists_part`) and take their slot (:func:`.step.act`); ``taken[m]``: the
    ``person << 16 | slot`` candidate ``m`` took, -1 none."""
    thin_key, pick_key = dy.keys[K_THIN], dy.keys[K_PICK]
    mem_e = dy.mem.on and dy.mem.flight != 0.0
    where = T.where[E]
    for k in range(n_due):
        if k % TOUCH == 0:  # the next few words, prefetched
            for k2 in range(k, min(n_due, k + TOUCH)):
                i2 = np.int64(el[k2])
                if (i2 // chunk) % n_parts == p:
                    prefetch(P.state, i2)
                    prefetch(P.zone, i2)
                    prefetch(P.strain, i2)
                    prefetch(P.memory, i2)
        i = np.int64(el[k])
        c = i // chunk
        if c % n_parts != p:
            continue
        end_latency(p, i, np.int64(P.zone[i]), np.int64(P.strain[i]), P, T, dy, out, c)
    for m in range(n_cand):
        i = np.int64(el[cand[m]])
        c = i // chunk
        if c % n_parts != p:
            continue
        taken[m] = -1
        z = np.int64(P.zone[i])
        s = np.int64(P.strain[i])
        rate = W.rate[z, E, s]
        tot = W.tot[z, E, s]
        mult = recall(i, P, dy.mem) if mem_e else 1.0
        pi = W.prob[z, E, s]
        if mult != 1.0:
            pi = -math.expm1(-(tot + (mult - 1.0) * _walks(rate, where)) * dy.dt)
        if pi <= 0.0 or (pi < top and uniform(thin_key, i) * top >= pi):
            continue
        u = uniform(pick_key, i)
        if mult != 1.0:
            j = _pick_walk(rate, where, mult, u * (tot + (mult - 1.0) * _walks(rate, where)))
        else:
            j = _pick(rate, u * tot)
        taken[m] = (i << 16) | j
        act(p, i, np.int64(E), z, s, j, P, T, W, dy, out, c)


@nb.njit(cache=True)
def latent_left(el, n_due, cand, n_cand, taken, state, movers, n_mov):
    """After the latent's phase: the ended (``el[:n_due]``) and the candidates no longer latent
    join the movers (their places in the calendar marked -1). Returns the movers."""
    for k in range(n_due):
        movers[n_mov] = el[k]
        n_mov += 1
    for m in range(n_cand):
        if taken[m] < 0:
            continue
        i = el[cand[m]]
        if state[i] != E:
            movers[n_mov] = i
            n_mov += 1
            el[cand[m]] = -1
    return n_mov


RADIX_FROM = 4096  # fewer keys than this: a comparison sort


@nb.njit(cache=True, inline="always")
def _bits(x):
    """The bits needed to write ``x >= 0``."""
    b = 0
    while x > 0:
        b += 1
        x >>= 1
    return b


RADIX_BITS = 11  # bits per pass of sort_keys' radix passes


@nb.njit(cache=True)
def sort_keys(a, n):
    """``a[:n]``, calendar keys (:func:`cal_key`: a step, then a person), sorted ascending, in
    place (``a`` is the only memory it uses, but for the rare wide keys' merge sort). Each key is
    packed as (step - the least step, person) into the bits the keys use; the newly latent of a
    step span a latency of steps and the people fit in fewer than 32 bits, so the packed keys
    usually fit in 32 bits: then they are written as ``uint32`` into the first half of ``a``'s
    bytes and sorted by least-significant-digit radix passes with the second half as the passes'
    other array; wider keys (a span of steps longer than 32 bits leave) by a merge sort
    (:func:`.sorts.sort_in_place`). The newly latent of a step at korea's peak are hundreds of
    thousands, and one comparison sort of them was most of placing the step's movers (300,000
    keys: 18 ms by comparison, 2 ms by the radix passes, measured once in a script, not a
    committed benchmark)."""
    if n < RADIX_FROM:
        sort_in_place(a[:n])
        return
    t_lo = a[0] >> 32
    t_hi = t_lo
    p_hi = np.int64(0)
    for k in range(n):
        t = a[k] >> 32
        t_lo = min(t_lo, t)
        t_hi = max(t_hi, t)
        p_hi = max(p_hi, a[k] & 0xFFFFFFFF)
    pb = _bits(p_hi)
    total = pb + _bits(t_hi - t_lo)
    mask = (np.int64(1) << pb) - 1
    if total > 32:
        sort_in_place(a[:n])  # wider keys (rare: a span of steps beyond what 32 bits leave): a merge sort
        return
    h = a.view(np.uint32)  # h[k] lies in a[k // 2], already read when h[k] is written
    for k in range(n):
        v = a[k]
        h[k] = np.uint32((((v >> 32) - t_lo) << pb) | (v & 0xFFFFFFFF))
    buckets = 1 << RADIX_BITS
    cnt = np.empty(buckets, dtype=np.int64)
    src, dst = 0, n  # the passes go between h[:n] and h[n:2n] (a[n // 2:n], read already)
    shift = 0
    while shift < total:
        cnt[:] = 0
        for k in range(n):
            cnt[(h[src + k] >> shift) & (buckets - 1)] += 1
        acc = 0
        for d in range(buckets):
            c = cnt[d]
            cnt[d] = acc
            acc += c
        for k in range(n):
            v32 = h[src + k]
            d = (v32 >> shift) & (buckets - 1)
            h[dst + cnt[d]] = v32
            cnt[d] += 1
        src, dst = dst, src
        shift += RADIX_BITS
    if src != 0:
        h[:n] = h[n:2 * n]
    for k in range(n - 1, -1, -1):  # a[k] covers h[2k] and h[2k + 1], read already
        v = np.int64(h[k])
        a[k] = (((v >> pb) + t_lo) << 32) | (v & mask)


@nb.njit(cache=True)
def settle_movers(movers, n_mov, state, zone, next_t, sl, s_lo, s_cap, s_n, new_e):
    """After the step: each mover joins the list of their state and zone, the removed none; the
    newly latent go to ``new_e`` (as ``next_t << 32 | person``, sorted: :func:`sort_keys`) for
    :func:`merge_latent`.
    Returns (n_new, d): the ``d`` movers that found their list full are ``movers[:d]`` (the
    caller makes room and places them)."""
    n_new = 0
    d = 0
    for q in range(n_mov):
        if q % TOUCH == 0:  # the next few movers' words
            _touch_movers(movers, q, min(n_mov, q + TOUCH), state, zone, next_t)
        i = movers[q]
        li = list_of(state, zone, i)
        if li >= 0:
            if not join(sl, s_lo, s_cap, s_n, next_t, li, i):  # a full list
                movers[d] = i  # (d <= q: this place was read)
                d += 1
        elif state[i] == E:
            new_e[n_new] = cal_key(next_t[i], i)
            n_new += 1
    sort_keys(new_e, n_new)
    return n_new, d


@nb.njit(cache=True)
def merge_latent(el, el_t, n_due, n_e, new_e, n_new):
    """The calendar's ``el[n_due:n_e]`` still latent (not -1) merged with the newly latent
    ``new_e[:n_new]`` (by end of latency, then person), in place (``el`` has room for them all: the
    kept ones close up at its front, then the merge runs from the back). Returns the new length."""
    m = 0
    for a in range(n_due, n_e):  # the kept, closed up at the front (a copy leftwards)
        if el[a] >= 0:
            el[m] = el[a]
            el_t[m] = el_t[a]
            m += 1
    w = m + n_new
    a = m - 1
    b = n_new - 1
    while b >= 0:  # the merge from the back: it writes at or above where it reads
        w -= 1
        if a >= 0 and cal_key(el_t[a], el[a]) > new_e[b]:
            el[w] = el[a]
            el_t[w] = el_t[a]
            a -= 1
        else:
            el[w] = new_e[b] & 0xFFFFFFFF
            el_t[w] = new_e[b] >> 32
            b -= 1
    return m + n_new


@nb.njit(cache=True)
def place(who, start, state, zone, next_t, sl, s_lo, s_cap, s_n):
    """``who[start:]`` (not latent) join the lists of their state and zone; returns where it stopped
    (a full list)."""
    for q in range(start, who.shape[0]):
        i = who[q]
        li = list_of(state, zone, i)
        if li >= 0 and not join(sl, s_lo, s_cap, s_n, next_t, li, i):
            return q
    return who.shape[0]


@nb.njit(cache=True)
def regrow(sl, s_lo, s_n, new_cap, slack):
    """The lists copied into room of ``new_cap`` each and ``slack`` at the end (places within a
    list unchanged). Returns (the new array, the lists' starts, where the free end starts)."""
    nl = s_n.shape[0]
    lo2 = np.zeros(nl, dtype=np.int64)
    tot = 0
    for li in range(nl):
        lo2[li] = tot
        tot += new_cap[li]
    out = np.zeros(tot + slack, dtype=np.int32)
    for li in range(nl):
        for m in range(s_n[li]):
            out[lo2[li] + m] = sl[s_lo[li] + m]
    return out, lo2, tot


@nb.njit(cache=True)
def compact_lists(sl, s_lo, s_cap, s_n, spare, min_spare):
    """The lists moved leftwards in place, in the order they lie, each keeping at most its room
    or its people plus a spare (no list grows here, so none overwrites one not yet moved): the
    room that lists left behind (moved away, or shrunk) becomes one free end. Returns its start."""
    order = argsort_stable(s_lo)
    pos = 0
    for li in order:
        lo, n = s_lo[li], s_n[li]
        cap = min(s_cap[li], n + max(min_spare, n // spare))
        for m in range(n):  # (pos <= lo: a copy leftwards, safe in place)
            sl[pos + m] = sl[lo + m]
        s_lo[li] = pos
        s_cap[li] = cap
        pos += cap
    return pos


@nb.njit(cache=True)
def relocate(sl, s_lo, s_cap, s_n, li, at, cap):
    """Move list ``li`` to the free end of ``sl`` (from ``at``, room for ``cap``): places unchanged."""
    lo = s_lo[li]
    for m in range(s_n[li]):
        sl[at + m] = sl[lo + m]
    s_lo[li] = at
    s_cap[li] = cap


@nb.njit(cache=True)
def leave_list(sl, s_lo, s_n, next_t, li, i):
    """Take person ``i`` out of list ``li`` (the last one takes their place); False if not there."""
    pos = np.int64(next_t[i])
    n = s_n[li]
    if pos < 0 or pos >= n or sl[s_lo[li] + pos] != i:
        return False
    last = sl[s_lo[li] + n - 1]
    sl[s_lo[li] + pos] = last
    next_t[last] = pos
    s_n[li] = n - 1
    return True


@nb.njit(cache=True)
def band_moved(log, n_log, route_from, state, zone, sl, s_lo, s_n, next_t, movers, n_mov):
    """People the bands took to another zone (rows of :func:`.step.follow_bands`' log) leave their
    old zone's list and join the new one after the step. Returns the movers."""
    for g in range(n_log):
        i = log[g, 0]
        z0 = np.int64(route_from[log[g, 2]])
        k = kind_of(state[i])
        if k >= 0 and np.int64(zone[i]) != z0 and leave_list(sl, s_lo, s_n, next_t, list_at(z0, k, i), i):
            movers[n_mov] = i
            n_mov += 1
    return n_mov


@nb.njit(cache=True)
def sweep_count(sl, s_lo, s_n, kill, hybrids, key_kill):
    """How many a sweep (:func:`sweep_lists`, the same draws) kills: (in all, in the largest
    share of one list, hybrids), to size its buffers before it runs (a korea sweep meets tens of
    millions of ferals; room for every one of them was 0.6 GB)."""
    total, most, n_h = 0, 0, 0
    for z in range(kill.shape[0]):
        kz = kill[z]
        if kz <= 0.0:
            continue
        for k in (1, 2):
            if KIND_STATE[k] == H and not hybrids[z]:
                continue
            for li in range(first_list(z, k), first_list(z, k) + NSH):
                lo = s_lo[li]
                g = 0
                for pos in range(s_n[li]):
                    if uniform(key_kill, np.int64(sl[lo + pos])) < kz:
                        g += 1
                total += g
                most = max(most, g)
                if KIND_STATE[k] == H:
                    n_h += g
    return total, most, n_h


@nb.njit(cache=True)
def sweep_lists(sl, s_lo, s_n, state, zone, strain, flags, flag_zone, next_t, kill, hybrids, q, key_kill, key_q,
                fl, dc, dzs, holes, movers, swept):
    """A morning sweep over the ferals' (and, where ``hybrids[z]``, the hybrids') lists, with the
    scan's draws (:func:`.step.sweep_part`), counted as deltas (part 0). Returns (movers, hybrids
    swept), the swept hybrids in ``swept``."""
    n_mov = 0
    n_sw = 0
    for z in range(kill.shape[0]):
        kz = kill[z]
        if kz <= 0.0:
            continue
        for k in (1, 2):
            st = KIND_STATE[k]
            if st == H and not hybrids[z]:
                continue
            for li in range(first_list(z, k), first_list(z, k) + NSH):
                lo, n = s_lo[li], s_n[li]
                g = 0
                for pos in range(n):
                    i = np.int64(sl[lo + pos])
                    if uniform(key_kill, i) < kz:
                        new = D if uniform(key_q, i) < q else R
                        state[i] = new
                        s = np.int64(strain[i])
                        _move(dc, dzs, 0, z, st, s, z, new, s)
                        fl[0, F_SWEEP, z] += 1
                        if st == H:
                            fl[0, F_SWEEPH, z] += 1
                            if flag_zone[i] == NO_ZONE:
                                flag_zone[i] = z
                            flags[i] |= FL_SWEPT
                            swept[n_sw] = i
                            n_sw += 1
                        holes[g] = pos
                        g += 1
                        if new != R:  # (the removed join no list)
                            movers[n_mov] = i
                            n_mov += 1
                s_n[li] = fill_holes(sl, lo, n, holes, 0, g, next_t)
    return n_mov, n_sw


@nb.njit(cache=True)
def verify(n, state, zone, next_t, sl, s_lo, s_n, el, el_t, n_e):
    """Debug check: the lists hold exactly the people of their (zone, state) (each at the place
    its ``next_t`` says) and the calendar the latent once each, in order of their end of latency
    (``el_t``, their ``next_t``), then of person. Returns an error code (0: fine)."""
    cnt, n_lat = count_lists(n, state, zone, s_n.shape[0])
    seen = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        li = list_of(state, zone, i)
        if li >= 0:
            pos = np.int64(next_t[i])
            if pos < 0 or pos >= s_n[li] or sl[s_lo[li] + pos] != i:
                return 1
    for li in range(s_n.shape[0]):
        if cnt[li] != s_n[li]:
            return 2
    if n_lat != n_e:
        return 3
    for k in range(n_e):
        i = el[k]
        if i < 0 or i >= n or seen[i] or state[i] != E or el_t[k] != next_t[i]:
            return 4
        if k > 0 and (el_t[k - 1] > el_t[k] or (el_t[k - 1] == el_t[k] and el[k - 1] >= i)):
            return 5
        seen[i] = True
    return 0


class EventLists:
    """The event-driven step's lists (see the module docstring) and the buffers of a step."""

    #: room per list: a 32nd more, at least 64 (256 a zone and kind, over its NSH shards); a full list
    #: moves to the free end
    SPARE, MIN_SPARE = 32, 64
    GROW = 2  # ... with half as much more room
    #: below this many candidates (or latent people) a phase runs on the calling thread: handing a
    #: few thousand visits to two threads costs more than it saves (hyosan at 1e6: 2 threads 1.4x
    #: slower than 1 with every phase handed out); the run is the same either way
    PARALLEL_FROM = 4096
    MOST_ON_ONE = 0.8
    #: each list's room for its candidates of a step: their expected number, SIGMAS standard
    #: deviations and LEAST more (at most the list); a list with more (about 1e-15 a list and
    #: step) is drawn again, after the others, with room for all of its people (:meth:`_again`)
    SIGMAS, LEAST = 8.0, 64

    @staticmethod
    def slack(n: int) -> int:
        """Room at the end of the lists, where full lists move: an eighth of the people (a sixteenth
        made the SIR at 1e6 close the lists up 18 times, 13 ms, once each zone's infected were four
        growing lists; an eighth, 5 times)."""
        return max(1 << 16, n // 8)  # (the close-ups counted in a /tmp script: a single run, not a benchmark)

    def __init__(self, n: int, state: NDArray[np.uint8], zone: NDArray[np.uint16], next_t: I32, nz: int) -> None:
        (self.sl, self.s_lo, self.s_cap, self.s_n, self.el, self.el_t, n_e, tail) = build_lists(
            n, state, zone, next_t, nz, self.SPARE, self.MIN_SPARE, self.slack(n))
        self.tail = int(tail)
        self.n_e = int(n_e)
        self.n_due = 0  # the calendar's first, who ended their latency this step
        self.cand = np.zeros(1024, dtype=np.int64)  # the latent's candidates (places in the calendar)
        self.taken_e = np.zeros(1024, dtype=np.int64)
        nl = nz * NK * NSH  # the lists
        self.ks = np.zeros(nl, dtype=np.int64)
        self.room = np.zeros(nl, dtype=np.int64)
        self.tops = np.zeros(nl + 1)  # and the latent's
        self.chosen = np.zeros(4096, dtype=np.int32)  # places in a list (below 2**31)
        self.k_lo = np.zeros(nl, dtype=np.int64)
        self.owner = np.zeros(nl, dtype=np.int64)
        self.n_movers = np.zeros(nl, dtype=np.int64)
        self.pend = np.zeros((1, 1), dtype=np.int64)
        self.news = np.zeros((1, 1), dtype=np.int64)
        self.movers = np.zeros(1024, dtype=np.int32)
        self.new_e = np.zeros(1024, dtype=np.int64)
        self.n_mov = 0
        # the kernels a run calls only once a list is full, loaded now (from Numba's cache: tens of
        # milliseconds each) so that the set-up pays for them and not the day one is first needed
        def kinds(*a: object) -> tuple[Any, ...]:
            return tuple(nb.typeof(x) for x in a)

        late = ((compact_lists, kinds(self.sl, self.s_lo, self.s_cap, self.s_n, self.SPARE, self.MIN_SPARE)),
                (regrow, kinds(self.sl, self.s_lo, self.s_n, self.s_cap, 0)),
                (relocate, kinds(self.sl, self.s_lo, self.s_cap, self.s_n, 0, 0, 0)),
                (place, kinds(self.movers, 0, state, zone, next_t, self.sl, self.s_lo, self.s_cap, self.s_n)),
                (gather_into, kinds(self.k_lo, self.n_movers, self.movers, self.movers)),)
        for kernel, sig in late:
            if hasattr(kernel, "compile"):  # (not with NUMBA_DISABLE_JIT)
                kernel.compile(sig)

    def _lists_args(self, P: People, T: object, W: Rows, dy: Day, out: Out, key: np.uint64,
                    chunk: int, local: bool = False) -> tuple[Any, ...]:
        """:func:`lists_part`'s arguments after ``(p, n_parts, owner)``, with the buffers as they are now."""
        return (P, T, W, dy, out, self.pend, self.news, self.sl, self.s_lo, self.s_cap, self.s_n, self.ks, self.k_lo,
                self.room, key, self.chosen, self.tops, chunk, self.movers, self.n_movers, local)

    def _again(self, args: tuple[Any, ...]) -> None:  # (args: the step's P, T, W, dy, out, key, chunk)
        """The lists that had more candidates than their room (``ks < 0``: left as they were)
        drawn again, on this thread, each with room for all of its people past the others' room;
        then every list's movers gathered in list order, as the parts would have."""
        again = self.ks < 0
        at = int(self.k_lo[-1] + self.room[-1])
        need = self.s_n[again]
        self.k_lo[again] = at + np.concatenate([[0], np.cumsum(need)[:-1]])
        self.room[again] = need
        end = at + int(need.sum())
        self.chosen = self._room(self.chosen, end)
        self.movers = self._room(self.movers, end + 64)
        self.owner[:] = np.where(again, 0, -1)
        lists_part(0, 1, self.owner, *self._lists_args(*args))  # (the buffers grown above)
        # (the lists' places no longer ascend in list order: gathered from a copy)
        self.n_mov = int(gather_into(self.k_lo, self.n_movers, self.movers.copy(), self.movers))

    @staticmethod
    def _room(a: NDArray[Any], need: int) -> NDArray[Any]:
        if a.shape[0] >= need:
            return a
        out = np.zeros(max(need, 2 * a.shape[0]), dtype=a.dtype)
        out[: a.shape[0]] = a
        return out

    def step(self, workers: object, P: People, T: object, W: Rows, dy: Day, out: Out, chunk: int,
             key: np.uint64, czs: I64) -> None:
        """The step: the lists' candidates (lists dealt to parts), then the latent (parts by chunk)."""
        list_tops(W, T, dy, czs, np.int64(dy.n_strains), self.tops)
        room_all, expect, expected = layout(self.s_n, self.tops, self.SIGMAS, self.LEAST, self.room, self.k_lo)
        room_all = int(room_all)
        if self.chosen.shape[0] < room_all:
            self.chosen = np.zeros(max(room_all, 2 * self.chosen.shape[0]), dtype=np.int32)
        self.movers = self._room(self.movers, room_all + 64)
        n_parts = int(workers.n)  # type: ignore[attr-defined]
        shape = (n_parts, out.pend_chunk.shape[0]), (n_parts, out.news_chunk.shape[0])
        if self.pend.shape != shape[0] or self.news.shape != shape[1]:
            self.pend, self.news = np.zeros(shape[0], dtype=np.int64), np.zeros(shape[1], dtype=np.int64)
        args = (P, T, W, dy, out, key, chunk)
        # the movers join their lists in the parts (join_own) when no band walks this step (a walk
        # changes a mover's zone after the parts) and the lists go to parts by shard; else after
        # the step, in the serial pass (settle); the run is the same either way
        local = not dy.mem.band
        by_shard = local and NSH % n_parts == 0  # (else the greedy dealing: the better balance)
        # little to do, or one list with most of it (one zone's susceptible): on this thread, where
        # the people's arrays are warm; the run is the same either way
        if expected < self.PARALLEL_FROM or n_parts == 1:
            handed = False
        elif by_shard and deal_shards(expect, n_parts, self.owner) <= self.MOST_ON_ONE:
            handed = True
        else:  # by load (the shards uneven, as in a world whose ids fill few shards, or parts that do not
            # divide them): a list a mover joins may be another part's, so they wait for the serial pass
            handed = deal(expect, n_parts, self.owner) <= self.MOST_ON_ONE
            local = local and not handed
        if not handed:
            self.owner[:] = 0
            lists_part(0, 1, self.owner, *self._lists_args(*args, local=local))
        else:
            workers.run(lists_part, self.owner, *self._lists_args(*args, local=local))  # type: ignore[attr-defined]
        n_mov = gather_lists(self.ks, self.k_lo, self.n_movers, self.movers)
        if n_mov < 0:  # more candidates than a list's room (never seen): those lists again
            self._again(args)
        else:
            self.n_mov = int(n_mov)
        fold(self.pend, self.news, out.pend_chunk, out.news_chunk)
        # the latent: the calendar's due end their latency; the others walk (candidates by skips)
        n_e = self.n_e
        if n_e == 0:  # no one latent: nothing due, no candidate (choose_range would draw none)
            self.n_due = 0
            return
        self.n_due = n_due = int(np.searchsorted(self.el_t[:n_e], int(dy.t), side="right"))
        top = float(self.tops[-1])
        lkey = np.uint64(_list_key(key, np.int64(self.s_n.shape[0])))
        while True:
            n_cand = int(choose_range(np.int64(n_due), np.int64(n_e), top, lkey, self.cand))
            if n_cand >= 0:
                break
            self.cand = np.zeros(2 * self.cand.shape[0], dtype=np.int64)
        if n_due + n_cand == 0:  # no latent's phase (its kernels would do nothing: ~20 us a step of dispatch)
            return
        self.taken_e = self._room(self.taken_e, n_cand)
        args2 = (self.el, n_due, self.cand, n_cand, top, chunk, P, T, W, dy, out, self.taken_e)
        if n_due + n_cand < self.PARALLEL_FROM or n_parts == 1:
            latent_part(0, 1, *args2)
        else:
            workers.run(latent_part, *args2)  # type: ignore[attr-defined]
        self.movers = self._room(self.movers, self.n_mov + n_due + n_cand + 64)
        self.n_mov = int(latent_left(self.el, n_due, self.cand, n_cand, self.taken_e, P.state, self.movers,
                                     np.int64(self.n_mov)))

    def band_moved(self, log: I64, route_from: NDArray[np.int64], state: NDArray[np.uint8],
                   zone: NDArray[np.uint16], next_t: I32) -> None:
        """After the bands' walks: those they took change lists."""
        self.movers = self._room(self.movers, self.n_mov + log.shape[0] + 64)
        self.n_mov = int(band_moved(log, log.shape[0], route_from, state, zone, self.sl, self.s_lo, self.s_n,
                                    next_t, self.movers, self.n_mov))

    def settle(self, state: NDArray[np.uint8], zone: NDArray[np.uint16], next_t: I32) -> None:
        """After the step (its mutations and bands): everyone who moved joins their new list."""
        self.new_e = self._room(self.new_e, self.n_mov)
        n_new, d = settle_movers(self.movers, np.int64(self.n_mov), state, zone, next_t, self.sl, self.s_lo,
                                 self.s_cap, self.s_n, self.new_e)
        if self.n_e or n_new:  # (no one latent, before or now: nothing to merge, as in an SIR)
            need = self.n_e + int(n_new)  # (at most: the kept and the new)
            self.el, self.el_t = self._room(self.el, need), self._room(self.el_t, need)
            n_e = merge_latent(self.el, self.el_t, np.int64(self.n_due), np.int64(self.n_e), self.new_e, n_new)
            self.n_e = int(n_e)
        self.n_mov, self.n_due = 0, 0
        if d:  # a list was full: room, then the rest (in the same order)
            self.add(self.movers[: int(d)].copy(), state, zone, next_t)

    def add(self, who: NDArray[np.int32], state: NDArray[np.uint8], zone: NDArray[np.uint16], next_t: I32) -> None:
        """People (not latent) joining the lists of their state and zone (the born, the rest of
        the movers when a list was full)."""
        done = 0
        while True:
            done = int(place(who, done, state, zone, next_t, self.sl, self.s_lo, self.s_cap, self.s_n))
            if done >= who.shape[0]:
                return
            w = who[done]
            li = int(list_at(zone[w], kind_of(state[w]), w))
            n_li = int(self.s_n[li])
            need = n_li + max(self.MIN_SPARE, n_li // self.GROW)
            if self.tail + need > self.sl.shape[0]:  # the free end is used up: the lists close up in place
                self.tail = int(compact_lists(self.sl, self.s_lo, self.s_cap, self.s_n, self.SPARE, self.MIN_SPARE))
            if self.tail + need <= self.sl.shape[0]:  # the full list moves to the free end (a copy of it alone)
                relocate(self.sl, self.s_lo, self.s_cap, self.s_n, li, self.tail, need)
                self.tail += need
                continue
            # no room left at the end: every list copied afresh, each with room again, and a new end
            cap = np.maximum(self.s_cap, self.s_n + np.maximum(self.MIN_SPARE, self.s_n // self.SPARE))
            cap[li] = max(int(cap[li]), need)
            self.sl, self.s_lo, tail = regrow(self.sl, self.s_lo, self.s_n, cap, self.slack(int(self.s_n.sum())))
            self.s_cap, self.tail = cap, int(tail)

    def sweep(self, pop: object, kill: NDArray[np.float64], hybrids: NDArray[np.bool_], q: float,
              key_kill: np.uint64, key_q: np.uint64, fl: I64, dc: I64, dzs: I64) -> I64:
        """A morning sweep over the ferals' and hybrids' lists (deltas in part 0 of ``dc``, ``dzs``,
        flows in ``fl``); returns the hybrids swept."""
        p = pop
        total, most, n_h = sweep_count(self.sl, self.s_lo, self.s_n, kill, hybrids, key_kill)
        holes = np.zeros(int(most) + 1, dtype=np.int32)
        movers = np.zeros(int(total) + 1, dtype=np.int32)
        swept = np.zeros(int(n_h) + 1, dtype=np.int64)
        n_mov, n_sw = sweep_lists(self.sl, self.s_lo, self.s_n, p.state, p.zone, p.strain, p.flags,  # type: ignore[attr-defined]
                                  p.flag_zone, p.next_t, kill, hybrids, q, key_kill, key_q, fl, dc, dzs,  # type: ignore[attr-defined]
                                  holes, movers, swept)
        self.add(movers[: int(n_mov)], p.state, p.zone, p.next_t)  # type: ignore[attr-defined]  # (corpses or removed)
        return swept[: int(n_sw)]

    def check(self, n: int, state: NDArray[np.uint8], zone: NDArray[np.uint16], next_t: I32) -> int:
        return int(verify(n, state, zone, next_t, self.sl, self.s_lo, self.s_n, self.el, self.el_t, self.n_e))
