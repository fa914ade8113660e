"""Ties and memory of loss in the agent-based engine (docs/model.md, "People: households, bands
and memory").

Each person carries one byte of memory (``Population.memory``, 0 to 253; 253 is full memory,
``m = memory / 253`` in [0, 1]). What raises it:

* someone of their household or band dies, turns feral or is culled (``per_loss``): the step
  kernel leaves the news on the one lost (254: killed by policy, 255: otherwise), and
  :func:`grieve` hands it to the living members at the end of the day;
* being turned away at a gate (``per_turned_away``, in the kernel), or someone of their household
  or band being turned away: the gate marks them (``Ever.TURNED``) and :func:`hear_turned` tells
  their household at the end of the day, once a day whoever of it was refused;
* being alive in a zone the morning it is sealed (``per_sealed``);
* a breach of their zone's wall (``per_breach`` a day on which at least one feral for every
  thousand of the zone's living bodies, and at least ``BREACH_NEWS`` = 5, got in: a trickle is
  routine), added at the week's end.

Whoever writes news or a gate's mark also notes the person in the day's marks (``Out.marks``, a
row a part: :func:`aftermath.engines.abm.step._keep_mark`), so the day's end finds them there
(:func:`marks_of_day`) rather than by a pass over everyone's bytes (:func:`news_in_chunks`,
:func:`turned_today`: 0.09 s of a year at 1e6 people, where about 1,400 a day carry news). On a
day when a part noted more than its row holds, the day's end takes those passes (the same
people), and the rows are made longer from the next day.

It fades by ``fade`` of itself a day, applied once a week with the week's breaches seen
(:func:`fade_week`: ``m <- floor(m (1 - fade)^7) + breaches``, so small memories go within weeks):
a pass over everyone once a week instead of a byte more to read in every step.
What it changes (in the kernel): a person's walking rate is multiplied by
``1 + fear.flight * memory.flight * m`` (the bereaved flee sooner), and the harshness term of
concealment by ``1 + memory.conceal * m`` (they hide their own more readily). Trust between
factions reads the share of people bereaved by a faction's culls (:mod:`aftermath.model.society`).

Ties: a household whose members are all lost but one leaves that one alone; at the end of the
day they join their zone's open *band* (at most ``band_size`` people), which is a new household
id (``BAND_BASE + k``): the band shares the grief of its members' deaths and one decision to hide
an infected member, exactly as a household does. Bands move together (``band_moves``): a band
member's walk is the band's proposal to go, taken with chance one over the members who can walk
(:func:`aftermath.engines.abm.step.follow_bands`), so each still moves at their own rate on
average. Ties cost little per person: membership is the household id, the members of a day-0
household are found from the layout of :func:`populate`, and a band's members are kept in a
small table (four bytes per place in a band and one for its size; four bytes a member not yet
removed for the step's walks, sized by a count by chunk that the day's news raises as bands form
and a weekly pass makes exact: :func:`band_chunks`), and a bit for each person says whether they
are in a band (:attr:`Ties.in_band`, which the step asks at each walk).

With every gain 0 (:meth:`~aftermath.scenario.schema.Memory.gains_zero`) none of this runs: the
model without memory, bit for bit.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.parts import Parts
from aftermath.engines.abm.prefetch import prefetch
from aftermath.engines.abm.sorts import argsort_stable, bisect_left, sort_in_place
from aftermath.engines.abm.state import Ever, Population, initial_people
from aftermath.engines.abm.step import (
    BAND_BASE,
    MARK_NEWS,
    MEM_MAX,
    MEM_NEWS_POLICY,
    N_WL,
    Mem,
    add_memory,
    in_watched,
    watch_set,
)
from aftermath.model.world import World
from aftermath.record.chronicle import BREACH_NEWS

#: A breach is seen when at least this share of the zone's living bodies got in (one in a
#: thousand) and at least BREACH_NEWS ferals: the same at any population size.
BREACH_SHARE = 0.001
I64 = NDArray[np.int64]
_H = 2  # states S, E, H (0, 1, 2) are the living humans
_R = 5  # the removed: no way back


def points(share: float) -> int:
    """A share of full memory in memory points (0 to 253)."""
    return round(share * MEM_MAX)


@nb.njit(cache=True, nogil=True, inline="always")
def _day0_places(h, zone_start, zone_hh, zone_nh, zone_end):
    """Where the people of day-0 household ``h`` were placed (:func:`populate`'s layout: every
    ``zone_nh``-th person of its zone from its first): ``range(start, stop, step)``'s three."""
    lo, hi = 0, zone_hh.shape[0] - 1
    while lo < hi:  # the zone whose households contain h
        mid = (lo + hi + 1) // 2
        if zone_hh[mid] <= h:
            lo = mid
        else:
            hi = mid - 1
    return zone_start[lo] + (h - zone_hh[lo]), zone_end[lo], zone_nh[lo]


@nb.njit(cache=True)
def _members_of(h, i, n_init, household, zone_start, zone_hh, zone_nh, zone_end, band_count, band_slots,
                band_base, out):
    """The people of household ``h`` (still in it), except ``i``, into ``out``; returns how many."""
    k = 0
    if h < n_init:
        start, stop, step = _day0_places(h, zone_start, zone_hh, zone_nh, zone_end)
        for j in range(start, stop, step):
            if j != i and household[j] == h and k < out.shape[0]:
                out[k] = j
                k += 1
    elif h >= band_base:
        b = h - band_base
        for q in range(band_count[b]):
            j = band_slots[b, q]
            if j != i and household[j] == h and k < out.shape[0]:
                out[k] = j
                k += 1
    return k


@nb.njit(cache=True, nogil=True)
def fade_week(p, n_parts, n, chunk, state, zone, memory, keep, seen, any_seen):
    """The week's fading and breaches seen, for every living human (S, E, H) of part ``p`` (the
    chunks ``p, p + n_parts, ...`` of ``chunk`` people: each person's own byte, so any number of
    parts gives the same). Branch-free: everyone's new value is made and stored, kept for the
    living and the old byte for the others (a test per person cost several times the arithmetic:
    the guess went wrong at each person who remembers; and a store under a test becomes a masked
    store, docs/engines.md). Without breaches seen, ``seen`` is not read (``m`` 0: ``v`` 0 = ``m``),
    and a chunk where no one remembers anything is not written: its page of the memory array, if
    never written, stays unmapped (at korea's scale tens of MB of peak memory)."""
    for c in range(p, (n + chunk - 1) // chunk, n_parts):
        lo = c * chunk
        hi = min(n, lo + chunk)
        mem, st, zn = memory[lo:hi], state[lo:hi], zone[lo:hi]  # views from 0: the loops vectorise (5x)
        if not any_seen:
            some = 0
            for i in range(hi - lo):
                some |= mem[i]
            if some == 0:
                continue
            for i in range(hi - lo):
                m = np.int64(mem[i])
                v = min(np.int64(m * keep), MEM_MAX)
                mem[i] = v if st[i] <= _H else m
            continue
        for i in range(hi - lo):
            m = np.int64(mem[i])
            v = min(np.int64(m * keep) + seen[zn[i]], MEM_MAX)  # m and seen 0: v = 0 = m, unchanged
            mem[i] = v if st[i] <= _H else m


ONES = np.uint64(0x0101010101010101)
HIGHS = np.uint64(0x8080808080808080)
NEWS_U8 = np.uint8(MEM_NEWS_POLICY)


@nb.njit(cache=True, nogil=True)
def news_part(p, n_parts, memory, words, n, news_chunk, chunk, off, out, found):
    """The people who carry news (memory 254 or 255) in the chunks ``c`` of part ``p`` (``c % n_parts
    == p``), read only where the chunk's count says there is some (every writer of news counts it
    there: the step's ``_news`` and :meth:`Ties.swept`, so the count bounds the chunk's news): in
    person order into ``out[off[c]:]``, ``found[c]`` of them; the counts zeroed. At korea's scale
    a pass over everyone's byte each day took longer than the news. Blocks of 64 bytes are tested
    at once (a count that vectorises: 128 to 75 us a day at 1e6 people); in a block with news,
    ``words`` (the same bytes eight at a time, ``chunk`` a multiple of 8) are skipped whole where
    none of the eight is 254 or 255: ``b | 1 == 255`` exactly for those, so ``~(w | ONES)`` has a
    zero byte (the classic test, exact for whether there is one)."""
    for c in range(p, news_chunk.shape[0], n_parts):
        found[c] = 0
        most = news_chunk[c]
        if most == 0:
            continue
        news_chunk[c] = 0
        lo = c * chunk
        hi = min(n, lo + chunk)
        k = 0
        # whole blocks of 64 bytes first, counted at once (a view from 0: it vectorises), and only a
        # block with news read further
        full = max(hi - lo, 0)  # a count beyond the people (a grown array's chunks): none read
        hi = lo + full
        full -= full % 64
        mv = memory[lo: lo + full]
        for b in range(0, full, 64):
            hit = 0
            for q in range(64):
                hit += mv[b + q] >= NEWS_U8
            if hit == 0:
                continue
            for w in range((lo + b) >> 3, (lo + b + 64) >> 3):  # its words with news, byte by byte
                x = ~(words[w] | ONES)
                if ((x - ONES) & ~x & HIGHS) == np.uint64(0):
                    continue
                for i in range(w << 3, (w << 3) + 8):
                    if memory[i] >= MEM_NEWS_POLICY and k < most:
                        out[off[c] + k] = i
                        k += 1
        for i in range(lo + full, hi):
            if memory[i] >= MEM_NEWS_POLICY and k < most:
                out[off[c] + k] = i
                k += 1
        found[c] = k


@nb.njit(cache=True)
def news_offsets(news_chunk):
    """Where each chunk's news go (the counts summed before it), and room for them all."""
    off = np.empty(news_chunk.shape[0], dtype=np.int64)
    total = 0
    for c in range(news_chunk.shape[0]):
        off[c] = total
        total += news_chunk[c]
    return off, np.empty(total, dtype=np.int64), np.zeros(news_chunk.shape[0], dtype=np.int64)


@nb.njit(cache=True)
def news_gather(off, out, found):
    """The chunks' news closed up, in chunk order: the people who carry news, in person order."""
    w = 0
    for c in range(off.shape[0]):
        for k in range(found[c]):
            out[w] = out[off[c] + k]
            w += 1
    return out[:w]


@nb.njit(cache=True)
def news_in_chunks(memory, words, n, news_chunk, chunk):
    """The people who carry news, in person order, on one thread (:func:`news_part` over every
    chunk, then :func:`news_gather`); the counts zeroed."""
    off, out, found = news_offsets(news_chunk)
    one = np.int64(1)  # (int64, not a literal: the signature of the parts' calls, compiled once)
    news_part(one - 1, one, memory, words, n, news_chunk, chunk, off, out, found)
    return news_gather(off, out, found)


#: how many bands ahead :func:`band_chunks` prefetches its members' words
BANDS_AHEAD = 8


@nb.njit(cache=True, nogil=True)
def band_chunks(p, n_parts, n_bands, band_count, band_slots, household, state, band_base, chunk, per_part):
    """The band members (still in their band) not removed, by chunk of people, of the bands
    ``p, p + n_parts, ...``: ``per_part[p, c]`` of them (zeroed first; summed over the parts by
    the caller): everyone who may walk with a band before the next pass, since the dead and the
    turned can come back (a corpse rises, a feral is cured). A pass over the band table that
    reads two words of each member at random places: once a week (:meth:`Ties.end_day`); in
    between, :func:`join_bands` adds those who join, so the counts bound the walkers from above.
    (Counting only the living, less those who carried news, was wrong where cure brings the turned
    back: the count went below zero.)"""
    per_chunk = per_part[p]
    per_chunk[:] = 0
    ahead = BANDS_AHEAD * n_parts
    for b in range(p, n_bands, n_parts):
        if b + ahead < n_bands:  # the members of a band a few on: their misses overlap (prefetch)
            for q in range(band_count[b + ahead]):
                j = band_slots[b + ahead, q]
                prefetch(household, j)
                prefetch(state, j)
        h = band_base + b
        for q in range(band_count[b]):
            j = np.int64(band_slots[b, q])
            if household[j] == h and state[j] < _R:
                per_chunk[j // chunk] += 1


@nb.njit(cache=True)
def _has(sorted_ids, j):
    k = bisect_left(sorted_ids, j)
    return k < sorted_ids.shape[0] and sorted_ids[k] == j


@nb.njit(cache=True, nogil=True)
def _touch_households(news, k0, k1, p, n_parts, state, household, memory, n_init, zone_start, zone_hh, zone_nh,
                      zone_end, band_count, band_slots, band_base):
    """Prefetches the words :func:`grieve` reads for news ``k0 .. k1 - 1`` (the lost ones'
    households, then their members' household, state and memory), each stage for all of them
    before the next, so that their cache misses overlap instead of following one another
    (:mod:`aftermath.engines.abm.prefetch`). Reads only."""
    for k in range(k0, k1):
        prefetch(household, news[k])
    for k in range(k0, k1):
        h = np.int64(household[news[k]])
        if h % n_parts != p:
            continue
        if h < n_init:
            start, stop, step = _day0_places(h, zone_start, zone_hh, zone_nh, zone_end)
            for j in range(start, stop, step):
                prefetch(household, j)
                prefetch(state, j)
                prefetch(memory, j)
        elif h >= band_base:
            b = h - band_base
            for q in range(band_count[b]):
                j = band_slots[b, q]
                prefetch(household, j)
                prefetch(state, j)
                prefetch(memory, j)


#: news whose households' words :func:`grieve` prefetches together before handing them out
TOUCH_NEWS = 64


@nb.njit(cache=True, nogil=True)
def grieve(p, n_parts, news, state, household, memory, per_loss, n_init, zone_start, zone_hh, zone_nh, zone_end,
           band_count, band_slots, band_base, watched, alone, grieved, ng):
    """The day's news (``news``: the people who carry it, in person order: deaths, turnings,
    culls of humans) to their households, those of household or band ``h`` with
    ``h % n_parts == p`` (a household's news and members are one part's alone, handled in the
    news' order: any number of parts gives the same). ``alone[k]``: the one living member news
    ``k`` left its household, -1 if none or more. For the people in ``watched`` (the cast's set,
    :func:`~aftermath.engines.abm.step.in_watched`): ``grieved[p, r] =
    (person, lost one, policy, k)``, ``ng[p]`` rows. The words of the next :data:`TOUCH_NEWS`
    news are prefetched together first (:func:`_touch_households`: a news' members lie far apart, and
    one after another their misses cost 0.28 us a news at 1e6 people)."""
    buf = np.empty(256, dtype=np.int64)
    n = 0
    for k in range(news.shape[0]):
        if k % TOUCH_NEWS == 0:
            _touch_households(news, k, min(news.shape[0], k + TOUCH_NEWS), p, n_parts, state, household,
                              memory, n_init, zone_start, zone_hh, zone_nh, zone_end, band_count, band_slots,
                              band_base)
        i = news[k]
        h = np.int64(household[i])
        if h % n_parts != p:
            continue
        policy = memory[i] == MEM_NEWS_POLICY
        memory[i] = 0
        m = _members_of(h, i, n_init, household, zone_start, zone_hh, zone_nh, zone_end, band_count, band_slots,
                        band_base, buf)
        living = 0
        sv = -1
        for q in range(m):
            j = buf[q]
            if state[j] <= _H:
                living += 1
                sv = j
                memory[j] = add_memory(memory[j], per_loss)
                if n < grieved.shape[1] and in_watched(watched, j):
                    grieved[p, n, 0], grieved[p, n, 1], grieved[p, n, 2], grieved[p, n, 3] = j, i, policy, k
                    n += 1
        alone[k] = sv if living == 1 else -1
    ng[p] = n


#: ``Ever.TURNED`` in each byte of a word
TURNED_BYTES = np.uint64(0x0101010101010101 * int(Ever.TURNED))
EV_TURNED = np.uint8(Ever.TURNED)


@nb.njit(cache=True)
def _appended(out, k, i):
    """``out`` with ``i`` at ``k`` (the same array, or one twice as long when it is full)."""
    if k == out.shape[0]:
        grown = np.empty(2 * k, dtype=np.int64)
        grown[:k] = out
        out = grown
    out[k] = i
    return out


@nb.njit(cache=True)
def turned_today(ever, words, n):
    """The people turned away at a gate this day (``Ever.TURNED``, set by the step's gate with
    memory on), in person order; the bit cleared. Eight bytes at a time (``words``: the same bytes
    as ``uint64``): a day's turned away are few among the people."""
    out = np.empty(64, dtype=np.int64)
    k = 0
    for w in range(n >> 3):
        if (words[w] & TURNED_BYTES) == np.uint64(0):
            continue
        for i in range(w << 3, (w << 3) + 8):
            if ever[i] & EV_TURNED:
                ever[i] &= ~EV_TURNED
                out = _appended(out, k, i)
                k += 1
    for i in range((n >> 3) << 3, n):  # the last few, past the whole words
        if ever[i] & EV_TURNED:
            ever[i] &= ~EV_TURNED
            out = _appended(out, k, i)
            k += 1
    return out[:k]


@nb.njit(cache=True)
def marks_of_day(marks, mark_n, extra, memory, ever):
    """The day's news and turned away from the marks the step noted (``marks[p, :mark_n[p, 0]]``,
    each ``person << 1 | kind``, :func:`aftermath.engines.abm.step._keep_mark`; ``extra``: more,
    such as the morning's sweep), instead of a pass over everyone's bytes: ``(news, turned)``,
    each in person order, once each; the counts zeroed and the turned-away marks taken off
    ``ever``. Exactly what the passes find (:func:`news_in_chunks`, :func:`turned_today`): every
    byte of news and every mark is noted where it is written, and a noted one that no longer
    carries it (a person turned away after their news, whose byte the gate capped) is dropped
    here as the passes would not find it. The caller checks first that no part counted past its
    room."""
    total = extra.shape[0]
    for p in range(mark_n.shape[0]):
        total += mark_n[p, 0]
    every = np.empty(total, dtype=np.int64)
    k = 0
    for p in range(mark_n.shape[0]):
        for q in range(mark_n[p, 0]):
            every[k] = marks[p, q]
            k += 1
        mark_n[p, 0] = 0
    for q in range(extra.shape[0]):
        every[k] = extra[q]
        k += 1
    sort_in_place(every)
    news = np.empty(total, dtype=np.int64)
    turned = np.empty(total, dtype=np.int64)
    nn, nt, last = 0, 0, -1
    for q in range(total):
        e = every[q]
        if e == last:
            continue
        last = e
        i = e >> 1
        if (e & 1) == MARK_NEWS:
            if memory[i] >= MEM_NEWS_POLICY:
                news[nn] = i
                nn += 1
        elif ever[i] & EV_TURNED:
            ever[i] &= ~EV_TURNED
            turned[nt] = i
            nt += 1
    return news[:nn], turned[:nt]


@nb.njit(cache=True)
def hear_turned(turned, state, household, memory, points, n_init, zone_start, zone_hh, zone_nh, zone_end,
                band_count, band_slots, band_base):
    """The households and bands of the people turned away at a gate this day (``turned``, in
    person order) hear of it: each living member who was not turned away themselves (they have
    their own memory of it, from the gate) remembers it once, ``points`` more memory, however many
    of their own the gates refused that day (a band refused together is one refusal to its
    members, not one for each). Saturating, and once per household: the same in any order. After
    the day's news, so that no living member's byte still carries news."""
    buf = np.empty(256, dtype=np.int64)
    hs = np.empty(turned.shape[0], dtype=np.int64)
    for k in range(turned.shape[0]):
        hs[k] = household[turned[k]]
    order = argsort_stable(hs)
    for r in range(order.shape[0]):
        k = order[r]
        if r > 0 and hs[order[r - 1]] == hs[k]:
            continue  # this household heard already
        m = _members_of(hs[k], -1, n_init, household, zone_start, zone_hh, zone_nh, zone_end, band_count,
                        band_slots, band_base, buf)
        for q in range(m):
            j = buf[q]
            if state[j] <= _H and not _has(turned, j):
                memory[j] = min(np.int64(memory[j]) + points, MEM_MAX)


@nb.njit(cache=True)
def join_bands(start, news, alone, state, zone, household, n_init, zone_start, zone_hh, zone_nh, zone_end,
               band_count, band_slots, open_band, n_bands, band_size, band_base, watched, joined, nj, band_chunk,
               chunk, in_band):
    """After :func:`grieve`: the last living member of each household that news ``k`` left with
    one (``alone[k]``, in the news' order) joins a band (``band_chunk``: the band members not
    removed by chunk of ``chunk`` people), if the household has one living member now. A day-0
    household only loses members: when that one is still in it and the one lost is dead (not cured
    back the same day) it has exactly them, without counting again; otherwise (a band, which can
    gain members today, or those cases) its members are counted again; ``in_band``: a bit for each
    person in a band (:func:`aftermath.engines.abm.step.band_bit`). From news ``start`` on;
    returns ``(n_bands, n_joined, stop)``: ``stop`` the news where the band table had no room
    for a new band (the caller grows it and calls again from there), else ``len(news)``; for the
    people in ``watched`` (the cast's set), ``joined[k] = (person, band id)``."""
    buf = np.empty(256, dtype=np.int64)
    for q in range(start, news.shape[0]):
        sv = alone[q]
        if sv < 0:
            continue
        h = np.int64(household[news[q]])
        if not (h < n_init and household[sv] == h and state[news[q]] > _H):
            k = _members_of(h, -1, n_init, household, zone_start, zone_hh, zone_nh, zone_end, band_count,
                            band_slots, band_base, buf)
            sv, living = -1, 0
            for r in range(k):
                if state[buf[r]] <= _H:
                    living += 1
                    sv = buf[r]
            if living != 1:
                continue  # joined already, or no one left
        z = zone[sv]
        b = open_band[z]
        if b < 0 or band_count[b] >= band_size or band_base + b == h:
            if n_bands >= band_count.shape[0]:  # no room for another band: the caller grows the table
                return n_bands, nj, q
            b = n_bands
            n_bands += 1
            band_count[b] = 0
            open_band[z] = b
        band_slots[b, band_count[b]] = sv
        band_count[b] += 1
        household[sv] = band_base + b
        in_band[sv >> 6] |= np.int64(1) << (sv & 63)
        band_chunk[sv // chunk] += 1
        if nj < joined.shape[0] and in_watched(watched, sv):
            joined[nj, 0], joined[nj, 1] = sv, band_base + b
            nj += 1
    return n_bands, nj, news.shape[0]


class Ties:
    """The memory parameters in points, the household layout and the bands of one ABM run."""

    def __init__(self, world: World, pop: Population, chunk: int) -> None:
        sc = world.scenario
        mem = sc.society.memory
        self.on = not mem.gains_zero()
        self.world, self.chunk = world, chunk
        assert chunk % 8 == 0, "news_part reads a chunk's bytes eight at a time"
        self.per_loss, self.turned = points(mem.per_loss), points(mem.per_turned_away)
        self.per_sealed, self.per_breach = points(mem.per_sealed), points(mem.per_breach)
        self.keep = 1.0 - mem.fade
        self.flight = sc.society.fear.flight * mem.flight / MEM_MAX
        self.conceal_gain = sc.society.concealment.harshness * mem.conceal / MEM_MAX
        self.band_size = int(mem.band_size)
        #: bands move together (:func:`aftermath.engines.abm.step.follow_bands`)
        self.band_moves = self.on and self.band_size > 1 and bool(mem.band_moves)
        self.followed = np.zeros((0, 5), dtype=np.int64)  # the step's (person, walker, route, outcome, 0)
        people = initial_people(world).sum(axis=1)
        sizes = np.array([z.household_size for z in sc.zones])
        nh = np.maximum(1, np.ceil(people / sizes)).astype(np.int64)
        self.zone_start = np.concatenate([[0], np.cumsum(people)[:-1]]).astype(np.int64)
        self.zone_end = np.cumsum(people).astype(np.int64)
        self.zone_nh = nh
        self.zone_hh = np.concatenate([[0], np.cumsum(nh)[:-1]]).astype(np.int64)
        self.n_init = int(nh.sum())
        assert self.n_init == pop.next_household, "household layout differs from populate()"
        nz = world.n_zones
        self.seen = np.zeros(nz, dtype=np.int64)
        self.open_band = np.full(nz, -1, dtype=np.int64)
        self.n_bands = 0
        #: the bands' sizes (a byte each: ``band_size`` is at most 100) and members (an int32 each)
        self.band_count = np.zeros(16, dtype=np.uint8 if self.band_size < 256 else np.int32)
        self.band_slots = np.zeros((16, max(self.band_size, 1)), dtype=np.int32)
        self.news_chunk = np.zeros(math.ceil(pop.capacity / chunk) + 1, dtype=np.int64)
        #: living band members by chunk, at most (:func:`band_chunks`): where the step's band walks go
        self.band_chunk = np.zeros_like(self.news_chunk)
        #: a bit for each person in a band (``household >= BAND_BASE``), read by the step for each walk
        #: (:func:`aftermath.engines.abm.step.band_bit`): an eighth of a byte a person, where the
        #: household id read at each walk was a cache miss (3% of the step kernel at 10^6 people)
        self.in_band = np.zeros(pop.capacity // 64 + 1, dtype=np.int64)
        self.moves = np.zeros(1, dtype=np.int32)  # the step's band walks (Out.moves): four bytes a band member
        self.move_n = np.zeros((1, 1), dtype=np.int64)  # how many each chunk noted (Out.move_n)
        self.grieved = np.zeros((0, 3), dtype=np.int64)  # the day's (person, lost one, policy): for the cast
        self.joined = np.zeros((0, 2), dtype=np.int64)
        self._grieved, self._joined = np.zeros((0, 0, 4), dtype=np.int64), np.zeros((0, 2), dtype=np.int64)
        #: whose grief and bands to report (the cast), a set (:meth:`watch`), and how many they are
        self.watch_table = np.zeros(0, dtype=np.int64)
        self.n_watched = 0
        #: the day's marks by part (:meth:`mark_layout`), and the morning sweep's news
        self.marks = np.zeros((1, 1), dtype=np.uint32)
        self.mark_n = np.zeros((1, 8), dtype=np.int64)  # a part's counts on a cache line of their own
        self.mark_room = self.MARK_ROOM
        #: what the people followed did in the day's steps, by part (``Out.watch_log``, :meth:`mark_layout`)
        self.watch_log = np.zeros((1, 0, N_WL), dtype=np.int64)
        self.steps = 1  # the steps of a day (:meth:`watch`: the log's room)
        self.swept_marks = np.zeros(0, dtype=np.int64)

    def members(self, pop: Population, h: int, but: int = -1) -> list[int]:
        """The people of household or band ``h`` now."""
        buf = np.empty(256, dtype=np.int64)
        k = _members_of(h, but, self.n_init, pop.household, self.zone_start, self.zone_hh, self.zone_nh,
                        self.zone_end, self.band_count, self.band_slots, BAND_BASE, buf)
        return [int(x) for x in buf[:k]]

    def mem(self, harshness: NDArray[np.float64]) -> Mem:
        """The day's memory bundle for the step kernel."""
        return Mem(self.on, False, float(self.keep), float(self.flight),
                   np.ascontiguousarray(self.conceal_gain * harshness, dtype=np.float64), np.int64(self.turned),
                   self.seen, self.band_moves, self.in_band)

    def walk_layout(self, rows: int = 1) -> tuple[NDArray[np.int32], I64, I64]:
        """Where the step notes its band members' walks (``Out.moves``, ``move_lo``, ``move_n``;
        :func:`aftermath.engines.abm.step._note_walk`): in each of ``rows`` rows, room for each band
        member not yet removed, by chunk, from :attr:`band_chunk`, a bound that is exact once a week:
        bands form only at the end of a day, and the weekly pass counts those who died since. Four
        bytes a member (a row: the scan steps a chunk in one part), a 128th spare (a thirty-second at
        most before the buffer is made anew: some 160 kB at 10^6 people, counted in the two bytes a
        person that memory and ties may take)."""
        bc = self.band_chunk
        lo = np.zeros(bc.shape[0] + 1, dtype=np.int64)
        np.cumsum(bc, out=lo[1:])
        need = rows * int(lo[-1])
        if self.moves.shape[0] < need or self.moves.shape[0] > need + need // 32 + 64:  # room, a 32nd spare at most
            self.moves = np.zeros(need + need // 128 + 16, dtype=np.int32)
        if self.move_n.shape != (rows, bc.shape[0]):
            self.move_n = np.zeros((rows, bc.shape[0]), dtype=np.int64)  # (zeroed by each step's gathering)
        return self.moves, lo, self.move_n

    def watch(self, ids: I64, steps: int, capacity: int) -> None:
        """Report the grief and bands of the people ``ids`` (a cast, of a population of at most
        ``capacity``); the step reads the same set, in days of ``steps`` steps, and logs what they
        did (:meth:`mark_layout`)."""
        self.watch_table = watch_set(ids, capacity)
        self.n_watched = int(np.unique(ids).size)
        self.steps = steps

    #: a part's room for the day's marks at first (grown after a day that had more)
    MARK_ROOM = 512

    def mark_layout(self, n_parts: int) -> tuple[NDArray[np.uint32], I64, I64]:
        """Where each part notes the day's marks (``Out.marks``, ``Out.mark_n``: a row of
        :attr:`mark_room` each, made anew when the parts or the room changed) and logs what the
        people followed did (``Out.watch_log``): room for three rows of each of them a step in
        every part, the most part 0 can hold (a person takes at most one slot a step, in their
        part; after the step, in part 0, a band member's own walk may find the band staying, a row,
        and a later band-mate's walk may then take them along, a row, and no more: they have moved)."""
        if self.marks.shape != (n_parts, self.mark_room):
            self.marks = np.zeros((n_parts, self.mark_room), dtype=np.uint32)  # (person << 1 | kind: people < 2^31)
            self.mark_n = np.zeros((n_parts, 8), dtype=np.int64)  # (the log's counts are zero between days)
        room = 3 * self.n_watched * self.steps
        if self.watch_log.shape[:2] != (n_parts, room):
            self.watch_log = np.zeros((n_parts, room, N_WL), dtype=np.int64)
        return self.marks, self.mark_n, self.watch_log

    def ensure(self, pop: Population) -> None:
        """Room for news of every chunk, and a band bit for everyone, after the population grew."""
        need = math.ceil(pop.capacity / self.chunk) + 1
        if need > self.news_chunk.shape[0]:
            grown = np.zeros(need, dtype=np.int64)
            grown[: self.news_chunk.shape[0]] = self.news_chunk
            self.news_chunk = grown
            grown = np.zeros(need, dtype=np.int64)
            grown[: self.band_chunk.shape[0]] = self.band_chunk
            self.band_chunk = grown
        words = pop.capacity // 64 + 1
        if words > self.in_band.shape[0]:
            grown = np.zeros(words, dtype=np.int64)
            grown[: self.in_band.shape[0]] = self.in_band
            self.in_band = grown

    def sealed(self, pop: Population, newly: NDArray[np.bool_]) -> None:
        """Everyone alive in a zone sealed this morning remembers it."""
        if not self.on or self.per_sealed == 0:
            return
        n = pop.n
        who = np.flatnonzero((pop.state[:n] <= _H) & newly[pop.zone[:n]])
        pop.memory[who] = np.minimum(pop.memory[who].astype(np.int64) + self.per_sealed, MEM_MAX)

    def swept(self, pop: Population, hybrids: I64) -> None:
        """Hybrids (indices) killed by this morning's sweep: news for their households."""
        if not self.on or hybrids.size == 0:
            return
        pop.memory[hybrids] = MEM_NEWS_POLICY
        np.add.at(self.news_chunk, hybrids // self.chunk, 1)
        self.swept_marks = np.concatenate([self.swept_marks, hybrids.astype(np.int64) << 1])  # MARK_NEWS

    def end_day(self, pop: Population, breaches: NDArray[np.float64], day: int = -1,
                counts: NDArray[np.int64] | None = None, workers: Parts | None = None,
                turned_away: float = 0.0) -> None:
        """Hand the day's news to households, form bands, tell the households of the day's
        ``turned_away`` (the day's count of people turned away at gates: their marks are looked
        for only when there are some), note the breaches seen (``counts``: the zones' people by
        state, for the size of a breach); at the end of each week (day 6, 13, ...) fade
        everyone's memory and add the breaches seen (the passes over everyone in parts on
        ``workers``' threads, if given)."""
        if not self.on:
            return
        living = counts[:, :4].sum(axis=1) if counts is not None else np.zeros(breaches.shape[0])
        seen = (breaches >= BREACH_NEWS) & (breaches >= BREACH_SHARE * living)
        self.seen += np.where(seen, self.per_breach, 0)
        most = int(self.mark_n[:, 0].max())
        if most <= self.marks.shape[1]:  # the marks the step noted: no pass over everyone
            news, turned = marks_of_day(self.marks, self.mark_n, self.swept_marks, pop.memory, pop.ever)
            self.news_chunk[:] = 0
        else:  # more than a part's room: the passes over the bytes, and more room from tomorrow
            self.mark_n[:, 0] = 0  # (column 1 counts the cast's log: the cast reads it after this)
            # (at most a byte for 64 people in all, four to a mark: a day past that takes the passes, a few a year)
            self.mark_room = min(max(2 * self.mark_room, most + most // 4),
                                 max(self.MARK_ROOM, pop.capacity // (256 * self.marks.shape[0])))
            news = self._news_found(pop, workers)
            turned = np.zeros(0, dtype=np.int64)
            if self.turned > 0:  # (the marks off whatever the day's count says, as marks_of_day takes them off: a
                # mark left on would keep the gate from noting that person again, tomorrow, by its test)
                words = pop.ever[: pop.ever.shape[0] // 8 * 8].view(np.uint64)
                turned = turned_today(pop.ever, words, np.int64(pop.n))
        self.swept_marks = self.swept_marks[:0]
        self.news_day(pop, news, workers)
        if turned_away > 0 and self.turned > 0:
            hear_turned(turned, pop.state, pop.household, pop.memory, np.int64(self.turned), self.n_init,
                        self.zone_start, self.zone_hh, self.zone_nh, self.zone_end, self.band_count,
                        self.band_slots, np.int64(BAND_BASE))
        if day % 7 == 6:
            seen = np.minimum(self.seen, MEM_MAX)
            args = (np.int64(pop.n), np.int64(self.chunk), pop.state, pop.zone, pop.memory, float(self.keep ** 7),
                    seen, bool(seen.any()))
            if workers is not None:
                workers.run(fade_week, *args, here=workers.few(pop.n))
            else:
                fade_week(0, 1, *args)
            self.seen[:] = 0
            if self.band_moves:  # the deaths that carried no news off the bound on living band members
                self.count_bands(pop, workers)

    def band_bits(self, pop: Population) -> NDArray[np.int64]:
        """The band bits :attr:`in_band` should hold: a bit for each person whose household id is
        a band's (a pass over everyone's household ids: for checks, and for bands made by hand)."""
        n = pop.n
        bits = np.zeros(self.in_band.shape[0] * 8, dtype=np.uint8)
        packed = np.packbits(pop.household[:n] >= BAND_BASE, bitorder="little")
        bits[: packed.shape[0]] = packed
        return bits.view("<i8").astype(np.int64)

    def count_bands(self, pop: Population, workers: Parts | None = None) -> None:
        """Count the living band members by chunk exactly (:attr:`band_chunk`; whoever makes a band
        other than by :func:`join_bands` sets :attr:`in_band` to :meth:`band_bits` and calls this
        before the next day)."""
        n_parts = workers.n if workers is not None else 1
        per_part = np.zeros((n_parts, self.band_chunk.shape[0]), dtype=np.int64)
        args = (np.int64(self.n_bands), self.band_count, self.band_slots, pop.household, pop.state,
                np.int64(BAND_BASE), np.int64(self.chunk), per_part)
        if workers is not None:
            workers.run(band_chunks, *args, here=workers.few(pop.n))
        else:
            band_chunks(0, 1, *args)
        self.band_chunk[:] = per_part.sum(axis=0)

    #: below this many news a day, grief is handed out on the calling thread (the same either way)
    PARALLEL_NEWS = 4096

    def _news_found(self, pop: Population, workers: Parts | None = None) -> I64:
        """The people who carry news, by a pass over the bytes of the chunks that counted some (in
        parts on ``workers``' threads when there is much of it): the day's marks' stand-in."""
        total = int(self.news_chunk.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        words = pop.memory[: pop.memory.shape[0] // 8 * 8].view(np.uint64)
        if workers is not None and workers.n > 1 and total >= self.PARALLEL_NEWS:  # found by chunk in parts
            off, out, found = news_offsets(self.news_chunk)
            workers.run(news_part, pop.memory, words, np.int64(pop.n), self.news_chunk, np.int64(self.chunk), off,
                        out, found)
            return news_gather(off, out, found)
        return news_in_chunks(pop.memory, words, np.int64(pop.n), self.news_chunk, np.int64(self.chunk))

    def news_day(self, pop: Population, news: I64, workers: Parts | None = None) -> None:
        """The day's news (``news``: the people who carry it, in person order) to households
        (:func:`grieve`, in parts on ``workers``' threads when there is much of it), then the
        lonely join bands (:func:`join_bands`)."""
        if news.shape[0] == 0:
            self.grieved, self.joined = self.grieved[:0], self.joined[:0]
            return
        w = self.n_watched
        n_parts = workers.n if workers is not None and news.shape[0] >= self.PARALLEL_NEWS else 1
        if self._grieved.shape[:2] != (n_parts, 8 * w):  # (kept from day to day: rows are written before read)
            self._grieved = np.zeros((n_parts, 8 * w, 4), dtype=np.int64)
            self._joined = np.zeros((w, 2), dtype=np.int64)
        grieved, joined = self._grieved, self._joined
        ng = np.zeros(n_parts, dtype=np.int64)
        alone = np.full(news.shape[0], -1, dtype=np.int64)
        args = (news, pop.state, pop.household, pop.memory, np.int64(self.per_loss), self.n_init, self.zone_start,
                self.zone_hh, self.zone_nh, self.zone_end, self.band_count, self.band_slots, np.int64(BAND_BASE),
                self.watch_table, alone, grieved, ng)
        if n_parts > 1:
            workers.run(grieve, *args)  # type: ignore[union-attr]
        else:
            grieve(0, 1, *args)
        rows = grieved[0, : ng[0]]
        if n_parts > 1 and ng.any():  # the cast's grief: the news' order, as one pass made it
            rows = np.concatenate([grieved[p, : ng[p]] for p in range(n_parts)])
            rows = rows[np.argsort(rows[:, 3], kind="stable")][: 8 * w]
        if self.band_size <= 0:
            alone[:] = -1
        start, nj = 0, 0
        while True:
            self.n_bands, nj, start = join_bands(
                np.int64(start), news, alone, pop.state, pop.zone, pop.household, self.n_init, self.zone_start,
                self.zone_hh, self.zone_nh, self.zone_end, self.band_count, self.band_slots, self.open_band,
                np.int64(self.n_bands), np.int64(self.band_size), np.int64(BAND_BASE), self.watch_table, joined,
                np.int64(nj), self.band_chunk, np.int64(self.chunk), self.in_band)
            if start >= news.shape[0]:
                break
            self._band_room(self.n_bands + 1)
        self.grieved, self.joined = rows[:, :3], joined[:nj]

    def _band_room(self, bands: int) -> None:
        """Room in the band table for ``bands`` bands (a thirty-second more when it grows, and at
        least a band for 2,048 day-0 households: each growth resizes two arrays and calls
        :func:`join_bands` again; by a thirty-second alone, 119 times a year at 10^6 people), grown in place
        (``ndarray.resize``: the allocator remaps a large block rather than copying it, so there is
        no second table, 96 MiB at korea's scale, while it grows; nothing else holds these arrays)."""
        cap = self.band_count.shape[0]
        if bands <= cap:
            return
        cap = max(bands, cap + max(cap // 32, 16 + self.n_init // 2048))
        self.band_count.resize(cap, refcheck=False)
        self.band_slots.resize((cap, self.band_slots.shape[1]), refcheck=False)

    def nbytes_ties(self) -> int:
        """Bytes the ties keep beyond the household ids: the band table, the counts by chunk, the
        step's buffer for band walks, the band bits and the day's marks."""
        return int(self.band_count.nbytes + self.band_slots.nbytes + self.news_chunk.nbytes + self.moves.nbytes
                   + self.marks.nbytes + self.mark_n.nbytes + self.in_band.nbytes + self.band_chunk.nbytes
                   + self.move_n.nbytes)
