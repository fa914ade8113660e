"""The step kernel: every person's competing transitions for one time step, resolved together.

For each person, from the state at the start of the step (synchronous update):

1. a scheduled transition due now happens first (the end of latency: the branch of the
   individual outcome, hybrid with ``p_i``, else feral; MODEL.md 4);
2. otherwise one uniform ``u`` of the ``EVENT`` stream decides whether anything happens
   (``u < p`` of the person's row, :mod:`~aftermath.engines.abm.tables`) and, reused as
   ``u / p``, which slot it is;
3. :func:`act` applies the slot: its hook, if it has one, chooses the branch (``INFECT``: strain
   of the biter, mutation, latency or an individual outcome; ``ADMIT``: the gate; ``CONCEAL``: a
   household may hide the person and nothing happens), and the table gives the product state,
   the destination, the flow tags, the route flow and the ledger marks.

The kernel has no branch per mechanism: a mechanism is a declaration in
:mod:`aftermath.model.reactions` (and a hook if it does more for an individual).

People with nothing that can happen to them (the removed, the unthreatened) cost a byte read.
Each person touches only their own slots; counts change through per-part deltas (a part is a
fixed interleaving of 4096-person chunks), summed afterwards as integers, so the result is the
same for any number of threads. Infections that mutate are left ``PENDING`` and resolved in index
order by :func:`aftermath.engines.abm.mutation.resolve_pending`.
"""

from __future__ import annotations

import math
import sys
from collections import namedtuple

import numba as nb
import numpy as np

from aftermath.engines.abm.prefetch import prefetch
from aftermath.engines.abm.rng import Stream, from_table, stream_key, uniform
from aftermath.engines.abm.sorts import sort_in_place
from aftermath.engines.abm.state import NO_ZONE, PENDING, Ever
from aftermath.engines.abm.tables import P_BITE, D, E, H, R, S, Z
from aftermath.model.flows import Flag, Flow
from aftermath.model.reactions import Hook, Where

K_EVENT, K_STRAIN, K_LAT, K_HYB, K_MUT = int(Stream.EVENT), int(Stream.STRAIN), int(Stream.LATENCY), \
    int(Stream.HYBRID), int(Stream.MUTATE)
K_ADMIT, K_HOUSE = int(Stream.ADMIT), int(Stream.HOUSEHOLD)
F_BREACH, F_FIRST = int(Flow.BREACH), int(Flow.FIRST_INFECTION)
F_SWEEP, F_SWEEPH = int(Flow.SWEEP_KILL), int(Flow.SWEEP_HYBRIDS)
FL_SEALED, FL_SACR, FL_CONC, FL_MISC, FL_SWEPT = int(Flag.SEALED_IN), int(Flag.SACRIFICED), int(Flag.CONCEALED), \
    int(Flag.MISCLASSIFIED), int(Flag.SWEPT)
FL_CULLED = int(Flag.CULLED)
# memory of loss (aftermath.people.ties): 0 to MEM_MAX; a human who dies, turns or is culled carries
# news for their household (MEM_NEWS, MEM_NEWS_POLICY) until the day's news is collected
MEM_MAX, MEM_NEWS_POLICY, MEM_NEWS = 253, 254, 255
#: Band household ids start here (births take ids from ``next_household``, far below).
BAND_BASE = 1 << 30
#: People per chunk: the kernels step the people a chunk at a time, chunks dealt to the parts in
#: turn; a band member's walk is noted by their place in their chunk (:func:`_note_walk`).
CHUNK = 4096
#: The random stream of a band's decision to go (:func:`follow_bands`; beyond rng.Stream's and the cast's 70).
BAND_STREAM = 71
HK_INFECT, HK_CONCEAL, HK_ADMIT = int(Hook.INFECT), int(Hook.CONCEAL), int(Hook.ADMIT)
W_ROUTE, W_TARGET = int(Where.ROUTE), int(Where.TARGET)
EV_INFECTED = np.uint8(Ever.INFECTED)
EV_WALKED = np.uint8(Ever.WALKED)
EV_TURNED = np.uint8(Ever.TURNED)
#: the bits of ``ever`` that are history (infected before, born): none set is a first infection
EV_HISTORY = np.uint8(Ever.INFECTED | Ever.BORN)
U8_PENDING = np.uint8(PENDING)


#: the largest argument of ``exp`` whose value is finite
EXP_MAX = math.log(sys.float_info.max)


@nb.njit(cache=True)
def hybrid_probability(p_h, k_res, r):
    """``logit(p_i) = logit(p_h) + k_res (r - 0.5)`` (as ``aftermath.model.world.hybrid_probability``)."""
    if p_h <= 0.0:
        return 0.0
    if p_h >= 1.0:
        return 1.0
    lg = math.log(p_h / (1.0 - p_h)) + k_res * (r - 0.5)
    if -lg > EXP_MAX:  # exp overflows: 0 (as compiled, where exp is inf; run as Python, math.exp raises)
        return 0.0
    return 1.0 / (1.0 + math.exp(-lg))


@nb.njit(cache=True)
def latency_steps(keys, i, latency, shape, dt):
    """Steps until latency ends: Erlang(shape, mean ``latency``) drawn at onset, at least one step."""
    acc = 0.0
    for j in range(shape):
        acc -= math.log(1.0 - uniform(keys[K_LAT + j], i))
    k = int(np.floor(0.5 + latency * acc / shape / dt))
    return max(1, k)


@nb.njit(cache=True)
def pick_strain(pcum, z, j, n_strains, w):
    """Smallest strain s with ``pcum[z, j, s] > w`` (binary search): the biter's strain."""
    lo, hi = 0, n_strains - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if pcum[z, j, mid] > w:
            hi = mid
        else:
            lo = mid + 1
    return lo


@nb.njit(cache=True)
def _pick(rates, v):
    last = 0
    for j in range(rates.shape[0]):
        rj = rates[j]
        if rj > 0.0:
            last = j
            if v < rj:
                return j
            v -= rj
    return last


@nb.njit(cache=True)
def _move(dc, dzs, p, z, st, s, z2, st2, s2):
    dc[p, z, st] -= 1
    if st >= E and st <= D:
        dzs[p, z, s, st - 1] -= 1
    dc[p, z2, st2] += 1
    if st2 >= E and st2 <= D:
        dzs[p, z2, s2, st2 - 1] += 1


@nb.njit(cache=True)
def onset(keys, i, p_h, k_res, res_table, res_key):
    """End of latency (or an immediate outcome): H with the individual probability, else Z (the
    person's resistance, :func:`.rng.from_table`, and the draw read only where both outcomes can
    happen: the same outcome as ``uniform < hybrid_probability`` always)."""
    if p_h <= 0.0:
        return Z
    if p_h >= 1.0:
        return H
    r = from_table(res_table, res_key, i)
    return H if uniform(keys[K_HYB], i) < hybrid_probability(p_h, k_res, r) else Z


@nb.njit(cache=True, inline="always")
def infect(keys, i, s, t, dt, latency, p_h, k_res, res_table, res_key, shape, next_t):
    """Outcome of an infection by strain ``s``: E with its end of latency scheduled, or H / Z at once
    (inlined where it is called: as a call, with its dozen arguments, it was 8% of the event step
    on a peak day of the SIR at 1e6)."""
    if latency[s] > 0.0:
        next_t[i] = t + latency_steps(keys, i, latency[s], shape, dt)
        return E
    return onset(keys, i, p_h[s], k_res, res_table, res_key)


@nb.njit(cache=True)
def admission(st, a, screen, quarantined, hidden, u):
    """Gate decision for a walker: returns (admitted, misclassified, concealed).

    ``a`` is the chance to be let in (open 1, closed 0, screen: specificity for S, a miss for the
    infected). Under screening an infected walker is also caught in the quarantine pens when
    their latency ends within ``quarantine_days`` (``quarantined``); a household that hides its
    member gets a caught one through anyway.
    """
    if st == S:
        ok = u < a
        return ok, (not ok) and screen, False
    if not screen:
        return u < a, False, False
    caught = (u >= a) or quarantined
    if caught:
        if hidden:
            return True, False, True
        return False, False, False
    return True, True, False


People = namedtuple("People", ["state", "zone", "strain", "next_t", "resistance", "household", "flags",
                               "flag_zone", "seal_zone", "ever", "memory", "res_key"])
"""The population's arrays (see :mod:`.state`), as the kernels take them; ``resistance``: the
quantiles each person's resistance is drawn through with the key ``res_key[0]`` (:func:`.rng.from_table`)."""

Rows = namedtuple("Rows", ["coef", "rate", "tot", "prob", "pcum"])
"""The day's coefficients and the step's hazard rows (see :mod:`.tables`)."""

Day = namedtuple("Day", ["keys", "t", "dt", "n_strains", "out_routes", "route_to", "walled", "screen",
                         "quarantine", "conceal", "hybrid_target", "latency", "p_h", "k_res", "shape", "mu",
                         "can_mutate", "mem", "sprob", "watched"])
"""What the step needs to know of the day: streams, step, places, gates and the strains' traits;
``sprob[z, m]``: a susceptible's step probability at memory m (:mod:`.memory_rows`, with memory on);
``watched``: the set of the people a cast follows (:func:`in_watched`; empty: none), read only to
log what each of them did (:func:`_watch`)."""

Mem = namedtuple("Mem", ["on", "daily", "keep", "flight", "conceal", "turned", "seen", "band", "bands"])
"""Memory of loss in the step (:mod:`aftermath.people.ties`): ``on`` (else untouched: the model
without memory, bit for bit); ``daily``, ``keep``, ``seen``: how memory fades and what breaches
add (applied by the weekly pass of :mod:`aftermath.people.ties`, not the step); ``flight``:
walking rate gain per memory point;
``conceal[z]``: concealment added per point; ``turned``: points added to a person turned away;
``band``: bands move together (a band member's walk is only noted, for :func:`follow_bands`);
``bands``: a bit for each person in a band (:func:`band_bit`)."""

Out = namedtuple("Out", ["dc", "dzs", "fl", "rf", "pend_chunk", "news_chunk", "moves", "move_lo", "move_n",
                         "marks", "mark_n", "watch_log"])
"""Per-part deltas: counts ``dc[p, zone, state]``, ``dzs[p, zone, strain, state - 1]``, flows
``fl[p, flow, zone]``, route flows ``rf[p, kind, route]``; mutated infections per chunk; the
walks of band members (``Mem.band``, :func:`_note_walk`): ``move_n[row, c]`` of chunk ``c``'s from
``moves[row * move_lo[-1] + move_lo[c]]`` on (``move_lo[c + 1] - move_lo[c]``: the chunk's band
members, each walks at most once a step), four bytes each; with memory on, the day's marks (:func:`_keep_mark`):
part ``p`` notes ``mark_n[p, 0]`` of them in ``marks[p]`` (counted on past its room: then the
day's end looks for them in the arrays instead); what the people a cast follows did
(:func:`_watch`): part ``p`` logs ``mark_n[p, 1]`` rows of the day in ``watch_log[p]``."""


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _touch_chunk(a, c, n_chunks, chunk, n):
    """Prefetches chunk ``c``'s bytes of ``a`` (a byte per person), a line at a time. The scan reads
    the memory byte only of those whose draw falls under the step probability at full memory (and
    of the latent and hybrids): a few in a hundred, a line apart, too sparse for the hardware's
    prefetcher, each read a miss (4% of the step kernel's samples with memory on, hyosan at 1e6)."""
    if c < n_chunks:
        for q in range(c * chunk, min(n, c * chunk + chunk), 64):
            prefetch(a, q)


# The step's functions run without Numba's reference counting (``_nrt=False``): reading an array
# out of a bundle counts a reference, and those atomic counts doubled the cost of an event
# (measured: 0.97 s vs 0.51 s of CPU for the 1e6-person SIR). They allocate nothing (Numba refuses
# to compile an allocation there), and the arrays are owned by the engine for the whole call.
@nb.njit(cache=True, nogil=True, _nrt=False)
def step_part(p, n_parts, n, chunk, P, T, W, dy, out):
    """Advance part ``p`` of the people (``P``) by one step with the slot table ``T`` and rows
    ``W``: chunks ``p, p + n_parts, ...``; deltas go to row ``p`` of ``out``'s arrays."""
    n_chunks = (n + chunk - 1) // chunk
    event_key = dy.keys[K_EVENT]
    state, zone = P.state, P.zone
    # a susceptible's step probability is their zone's row's, or with memory raising walks, one of
    # the zone's by memory level (dy.sprob): whoever draws above the top of them (at full memory)
    # does nothing whatever they remember, and only the others read their memory
    s_mem = dy.mem.on and dy.mem.flight != 0.0
    s_top = dy.sprob[:, MEM_MAX] if s_mem else W.prob[:, 0, 0]
    for c in range(p, n_chunks, n_parts):
        lo = c * chunk
        hi = min(n, lo + chunk)
        if dy.mem.on:  # the memory bytes of this part's next chunk (of this one too, first), read here and there
            if c == p:
                _touch_chunk(P.memory, c, n_chunks, chunk, n)
            _touch_chunk(P.memory, c + n_parts, n_chunks, chunk, n)
        for i in range(lo, hi):
            st = np.int64(state[i])
            if st == R:
                continue
            z = np.int64(zone[i])
            mult = 1.0
            if st == S:  # the common case first: one table lookup, usually one uniform, done
                pr = s_top[z]
                s = np.int64(0)
                if pr <= 0.0:
                    continue
                u = uniform(event_key, i)
                if u >= pr:
                    continue
                if s_mem:
                    pr = W.prob[z, 0, 0]
                    m = memory_level(P, i)
                    if m > 0:  # _walk_prob(W, T, z, S, 0, mult, dt), tabulated by memory level
                        mult = 1.0 + dy.mem.flight * m
                        pr = dy.sprob[z, m]
                    if u >= pr:
                        continue
            else:
                step_infected(p, i, st, z, P, T, W, dy, out, c)
                continue
            if mult != 1.0:
                j = _pick_walk(W.rate[z, st, s], T.where[st], mult,
                               u / pr * (W.tot[z, st, s] + (mult - 1.0) * _walks(W.rate[z, st, s], T.where[st])))
            else:
                j = _pick(W.rate[z, st, s], u / pr * W.tot[z, st, s])
            act(p, i, st, z, s, j, P, T, W, dy, out, c)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def step_infected(p, i, st, z, P, T, W, dy, out, c):
    """One step of person ``i`` in state ``st`` (E, H, Z or D) in zone ``z``: the scheduled end of
    latency if due, else their row's slot by the kernel's draw (shared with the event-driven
    engine, :mod:`.events`, which visits only the infected this way)."""
    s = np.int64(P.strain[i])
    if st == E and P.next_t[i] <= dy.t:  # scheduled: end of latency
        end_latency(p, i, z, s, P, T, dy, out, c)
        return
    mult = 1.0
    if dy.mem.on and st <= H and dy.mem.flight != 0.0:
        # whoever draws above the bound of the step probability at the most memory there is does
        # nothing whatever they remember, and the memory byte is not read (reading it for every
        # latent and hybrid brought most of the memory array through the cache every step)
        if uniform(dy.keys[K_EVENT], i) >= W.tot[z, st, s] * (1.0 + dy.mem.flight * MEM_NEWS) * dy.dt * (1.0 + 1e-9):
            return
        mult = recall(i, P, dy.mem)
    j = row_slot(W.rate[z, st, s], W.tot[z, st, s], W.prob[z, st, s], T.where[st], mult, dy.dt,
                 dy.keys[K_EVENT], i)
    if j >= 0:
        act(p, i, st, z, s, j, P, T, W, dy, out, c)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def row_slot(rate, tot, prob, where, mult, dt, key, i):
    """The slot person ``i`` takes this step from their row (``rate``, its total ``tot`` and step
    probability ``prob``), their walking slots' rates times ``mult``; -1 none. The step kernel's
    own draw (``uniform(key, i)``)."""
    if mult != 1.0:
        # the draw first (it depends on nothing else): most draw above ``tot * mult * dt``, which
        # bounds the probability (``1 - exp(-x) <= x``, the walks are part of ``tot``, ``mult >= 1``;
        # a relative 1e-9 covers rounding), and do nothing without the row's walks or an expm1
        u = uniform(key, i)
        if u >= tot * max(mult, 1.0) * dt * (1.0 + 1e-9):
            return -1
        extra = (mult - 1.0) * _walks(rate, where)
        pr = -math.expm1(-(tot + extra) * dt)
        if pr <= 0.0 or u >= pr:
            return -1
        return _pick_walk(rate, where, mult, u / pr * (tot + extra))
    pr = prob
    if pr <= 0.0:
        return -1
    u = uniform(key, i)
    if u >= pr:
        return -1
    return _pick(rate, u / pr * tot)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def memory_of(byte):
    """The memory of loss a memory byte holds, 0 to ``MEM_MAX``. News of one's own turning (254,
    255: someone cured back the same day, perhaps infected again) is no memory, as the day's news
    makes of it."""
    m = np.int64(byte)
    return m if m <= MEM_MAX else np.int64(0)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def add_memory(byte, points):
    """A memory byte after ``points`` more memory (at most ``MEM_MAX``). A byte that holds news
    keeps it: the news is told at the day's end, when the one who carried it starts again from no
    memory, so what they lived that day is not kept (one turned and cured back the same day is the
    only living person who carries news; adding to it had made their news full memory, untold)."""
    m = np.int64(byte)
    return m if m > MEM_MAX else min(m + points, MEM_MAX)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def memory_level(P, i):
    """Person ``i``'s memory of loss (:func:`memory_of` their byte)."""
    return memory_of(P.memory[i])


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def recall(i, P, M):
    """The multiplier of person ``i``'s walking rate that their memory makes (it fades, and
    breaches seen raise it, in the weekly pass of :mod:`aftermath.people.ties`; news is no memory:
    :func:`memory_level`)."""
    m = memory_level(P, i)
    if m == 0 or M.flight == 0.0:
        return 1.0
    return 1.0 + M.flight * m


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _walks(rates, where):
    """The walking (route) part of a row's total rate."""
    acc = 0.0
    for j in range(rates.shape[0]):
        if where[j] == W_ROUTE:
            acc += rates[j]
    return acc


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _walk_prob(W, T, z, st, s, mult, dt):
    """The step probability of a row whose walking slots are multiplied by ``mult``."""
    return -math.expm1(-(W.tot[z, st, s] + (mult - 1.0) * _walks(W.rate[z, st, s], T.where[st])) * dt)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _pick_walk(rates, where, mult, v):
    """As :func:`_pick`, with the walking slots' rates multiplied by ``mult``."""
    last = 0
    for j in range(rates.shape[0]):
        rj = rates[j] * (mult if where[j] == W_ROUTE else 1.0)
        if rj > 0.0:
            last = j
            if v < rj:
                return j
            v -= rj
    return last


#: The multiplier of :func:`in_watched`'s hash (Fibonacci hashing: 2^64 over the golden ratio).
FIB = np.uint64(0x9E3779B97F4A7C15)
#: :func:`in_watched`'s blocks: a bit for each 2^6 people, in words of 2^12 people.
BLOCK_BITS, WORD_BITS = 6, 12


def watch_set(ids: np.ndarray, capacity: int = 0) -> np.ndarray:
    """``ids`` as the set :func:`in_watched` reads: the bits ``b`` of its size (at least four
    times the people, at least 64 places), the places, then a bit for each block of 64 people
    (ids 0 to ``capacity - 1``, and at least to the largest of ``ids``) that holds one of them."""
    ids = np.unique(ids)
    b = max(6, int(4 * max(ids.size, 1) - 1).bit_length())
    top = max(int(capacity), int(ids[-1]) + 1 if ids.size else 0)
    words = (top + (1 << WORD_BITS) - 1) >> WORD_BITS
    table = np.full(1 + (1 << b) + words, -1, dtype=np.int64)
    table[0] = b
    mask = (1 << b) - 1
    for i in ids.tolist():
        k = ((i * int(FIB)) & 0xFFFFFFFFFFFFFFFF) >> (64 - b)
        while table[1 + k] >= 0:
            k = (k + 1) & mask
        table[1 + k] = i
    bits = np.zeros(words, dtype=np.uint64)
    np.bitwise_or.at(bits, ids >> WORD_BITS, np.left_shift(np.uint64(1), ((ids >> BLOCK_BITS) & 63).astype(np.uint64)))
    table[1 + (1 << b):] = bits.view(np.int64)
    return table


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def in_watched(table, i):
    """Whether person ``i`` is in ``table``, a set made by :func:`watch_set`: ``table[0]`` the bits
    ``b`` of its size, then ``2^b`` places, each a person or -1, a person at the place their hash
    says or the first free one after it (at most a quarter full), then the blocks' bits. The
    block's bit first: a word read for 4,096 people in a row, so that the scan's look for each
    event is a read that stays in the cache and a branch that goes one way (a look in the places
    for every event cost the step kernel 0.3% at 10^6 people, its reads a few kilobytes at random
    that the kernel's own reads pushed out of the cache); then, in a block of someone followed,
    one or two reads of the places. (A bit for each person, read at random for each event, was a
    cache miss each and cost the step more than the cast's watching saved.)"""
    if table.shape[0] == 0 or i < 0:
        return False
    b = table[0]
    w = 1 + (np.int64(1) << b) + (i >> WORD_BITS)
    if w >= table.shape[0] or (table[w] >> ((i >> BLOCK_BITS) & 63)) & 1 == 0:
        return False
    mask = (np.int64(1) << b) - 1
    k = np.int64((np.uint64(i) * FIB) >> np.uint64(64 - b))
    while True:
        v = table[1 + k]
        if v == i:
            return True
        if v < 0:
            return False
        k = (k + 1) & mask


#: The columns of a row of the cast's log (:func:`_watch`, ``Out.watch_log``): the step, the
#: person, the slot they took (:data:`W_LATENCY`: the end of their latency; -1: none, a band's row
#: only), their state, zone, strain, ledger flags, household, memory byte and the zone they were
#: last sealed in before it, and for a band's move (:func:`follow_bands`) the walker, the route and
#: the outcome (-1 for their own slot).
(WL_T, WL_I, WL_J, WL_ST, WL_Z, WL_S, WL_FL, WL_HH, WL_M, WL_SEAL, WL_WALKER, WL_ROUTE, WL_OUT,
 N_WL) = range(14)
#: The slot of the row of an end of latency (which takes no slot).
W_LATENCY = -2


@nb.njit(cache=True, nogil=True, _nrt=False)
def _log_watched(p, i, j, st, z, s, P, t, out):
    """A row of ``out.watch_log[p]`` for person ``i`` about to take slot ``j`` at step ``t`` (their
    state ``st``, zone ``z`` and strain ``s``; flags, household and memory read here), not yet a
    band's. Counted on past the log's room, unwritten (the day's end finds the count too large)."""
    k = out.mark_n[p, 1]
    if k < out.watch_log.shape[1]:
        out.watch_log[p, k, WL_T] = t
        out.watch_log[p, k, WL_I] = i
        out.watch_log[p, k, WL_J] = j
        out.watch_log[p, k, WL_ST] = st
        out.watch_log[p, k, WL_Z] = z
        out.watch_log[p, k, WL_S] = s
        out.watch_log[p, k, WL_FL] = P.flags[i]
        out.watch_log[p, k, WL_HH] = P.household[i]
        out.watch_log[p, k, WL_M] = P.memory[i]
        out.watch_log[p, k, WL_SEAL] = P.seal_zone[i]
        out.watch_log[p, k, WL_WALKER] = -1
        out.watch_log[p, k, WL_ROUTE] = -1
        out.watch_log[p, k, WL_OUT] = -1
    out.mark_n[p, 1] = k + 1


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _watch(p, i, j, st, z, s, P, dy, out):
    """Person ``i`` is about to take slot ``j`` (or end their latency): if a cast follows them
    (``dy.watched``), a row of the log says so with what they were (:func:`_log_watched`); the
    cast keeps the day's rows at its end and tells them with the record
    (:meth:`aftermath.people.cast.CastWatch.end_day`). Reads,
    decides nothing: a run with a cast is the run without it. One look in a small set per event
    otherwise, and no call from Python each step (the cast's Python after every step in which
    one of its people acted cost more than all its look-ups)."""
    if in_watched(dy.watched, i):
        _log_watched(p, i, j, st, z, s, P, dy.t, out)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _watch_band(i, walker, r, outcome, P, dy, out):
    """After :func:`follow_bands` moved person ``i`` with ``walker``'s band along route ``r``
    (``outcome`` 1 got in, 0 turned away: the row :func:`act` logged for them, part 0's last, gets
    the band's columns) or the band stayed (outcome 2: the walker's row, new)."""
    if not in_watched(dy.watched, i):
        return
    if outcome == 2:
        _log_watched(0, i, -1, np.int64(P.state[i]), np.int64(P.zone[i]), np.int64(P.strain[i]), P, dy.t, out)
    k = out.mark_n[0, 1] - 1
    if k < out.watch_log.shape[1]:
        out.watch_log[0, k, WL_WALKER] = walker
        out.watch_log[0, k, WL_ROUTE] = r
        out.watch_log[0, k, WL_OUT] = outcome


#: The kinds of a day's mark (:func:`_keep_mark`, the low bit): news for a household, a person turned away.
MARK_NEWS, MARK_TURNED = 0, 1


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _keep_mark(p, i, kind, out):
    """Note that person ``i`` carries a mark of the day (``kind``: :data:`MARK_NEWS`, the news
    byte in ``memory``; :data:`MARK_TURNED`, ``Ever.TURNED``) in part ``p``'s row of ``out.marks``,
    so that the day's end finds them without a pass over everyone's bytes
    (:func:`aftermath.people.ties.marks_of_day`). Counted on past the row's room, unwritten."""
    k = out.mark_n[p, 0]
    if k < out.marks.shape[1]:
        out.marks[p, k] = (np.int64(i) << 1) | kind
    out.mark_n[p, 0] = k + 1


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _news(p, P, i, c, out, policy):
    """A human died, turned or was culled: the news waits on them for their household."""
    P.memory[i] = MEM_NEWS_POLICY if policy else MEM_NEWS
    out.news_chunk[c] += 1
    _keep_mark(p, i, MARK_NEWS, out)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def end_latency(p, i, z, s, P, T, dy, out, c):
    """The scheduled end of latency: the branch of the individual outcome (``Hook.ONSET``)."""
    _watch(p, i, W_LATENCY, E, z, s, P, dy, out)
    b = T.onset_branch_of[onset(dy.keys, i, dy.p_h[s], dy.k_res, P.resistance, P.res_key[0])]
    for k in range(T.onset_tags.shape[1]):
        f = T.onset_tags[b, k]
        if f >= 0:
            out.fl[p, f, z] += 1
    new_st = T.onset_product[b]
    P.state[i] = new_st
    _move(out.dc, out.dzs, p, z, E, s, z, new_st, s)
    if dy.mem.on and new_st >= Z:
        _news(p, P, i, c, out, False)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def act(p, i, st, z, s, j, P, T, W, dy, out, c):
    """Person ``i`` (state ``st``, zone ``z``, strain ``s``) takes slot ``j``: the slot's hook, if
    any, chooses the branch (or, hiding the person, cancels it); the table says the rest."""
    _watch(p, i, j, st, z, s, P, dy, out)
    dest = z
    r = -1
    where = T.where[st, j]
    if where == W_ROUTE:
        r = dy.out_routes[z, T.route_k[st, j]]
        dest = np.int64(dy.route_to[r])
        if dy.mem.band and st <= H and band_bit(dy.mem.bands, i):
            _note_walk(p, i, T.route_k[st, j], c, out)  # a band member's walk: the band decides after the step
            return
    elif where == W_TARGET:
        dest = np.int64(dy.hybrid_target[z])
    new_s = s
    if T.pressure[st, j] == P_BITE and dy.n_strains > 1:  # the biter's strain (of one: the founder, 0)
        new_s = pick_strain(W.pcum, z, j, dy.n_strains, uniform(dy.keys[K_STRAIN], i) * W.rate[z, st, s, j])
    elif T.pressure[st, j] == P_BITE:
        new_s = 0
    bits = 0
    if T.sacrifice[st, j] and (P.flags[i] & FL_SEALED) and P.seal_zone[i] == z:
        bits |= FL_SACR
    b = 0
    hook = T.hook[st, j]
    if hook == HK_INFECT:
        if (P.ever[i] & EV_HISTORY) == 0:  # the initial cohort's first infection (attack rate)
            out.fl[p, F_FIRST, z] += 1
        P.ever[i] |= EV_INFECTED
        if dy.can_mutate and uniform(dy.keys[K_MUT], i) < dy.mu:
            # the strain is made in person order after the step (mutation.resolve_pending), which
            # counts the outcome's own tags; here those common to every outcome
            for k in range(T.tags.shape[3]):
                f = T.tags[st, j, 0, k]
                if f >= 0 and _in_all(T, st, j, f):
                    out.fl[p, f, z] += 1
            P.state[i] = U8_PENDING
            P.strain[i] = new_s
            _mark(P, i, bits, z)
            out.dc[p, z, S] -= 1
            out.pend_chunk[c] += 1
            return
        b = T.branch_of[st, j, infect(dy.keys, i, new_s, dy.t, dy.dt, dy.latency, dy.p_h, dy.k_res, P.resistance,
                                      P.res_key[0], dy.shape, P.next_t)]
    elif hook == HK_CONCEAL:
        cz = dy.conceal[z]
        if dy.mem.on:
            cz += dy.mem.conceal[z] * memory_of(P.memory[i])
        if cz > 0.0 and uniform(dy.keys[K_HOUSE], P.household[i]) < cz:
            _mark(P, i, bits | FL_CONC, z)
            return
    elif hook == HK_ADMIT:
        refuse = T.stays[st, j]
        arrive = 1 - refuse  # a gate's two branches: the one that moves, and the refusal
        ok_rate = W.coef[st, j, arrive, z, s]
        a = ok_rate / (ok_rate + W.coef[st, j, refuse, z, s])
        quar = st == E and dy.screen[r] and (P.next_t[i] - dy.t) <= dy.quarantine[r]
        hidden = False
        if st != S:
            cz = dy.conceal[dest]
            if dy.mem.on:
                cz += dy.mem.conceal[dest] * memory_of(P.memory[i])
            hidden = cz > 0.0 and uniform(dy.keys[K_HOUSE], P.household[i]) < cz
        ok, wrong, concealed = admission(st, a, dy.screen[r], quar, hidden, uniform(dy.keys[K_ADMIT], i))
        b = arrive if ok else refuse
        if dy.mem.on and not ok and dy.mem.turned > 0:  # turned away: remembered, and news for their own
            P.memory[i] = add_memory(P.memory[i], dy.mem.turned)
            if not P.ever[i] & EV_TURNED:  # (once a day: the mark is taken off at its end)
                P.ever[i] |= EV_TURNED
                _keep_mark(p, i, MARK_TURNED, out)
        if wrong:
            bits |= FL_MISC
        if concealed:
            bits |= FL_CONC
    else:
        b = 0
    new_st = T.product[st, j, b]
    new_z = dest if T.moves[st, j, b] else z
    if new_st == S or new_st == R or (st == S and T.pressure[st, j] != P_BITE):  # noqa: SIM109
        new_s = 0  # no strain (a corpse of no strain rises as the founder's)
    for k in range(T.tags.shape[3]):
        f = T.tags[st, j, b, k]
        if f >= 0:
            out.fl[p, f, dest] += 1
    if T.breach[st, j] and dy.walled[r]:
        out.fl[p, F_BREACH, dest] += 1
    rt = T.route_tag[st, j, b]
    if rt >= 0:
        out.rf[p, rt, r] += 1
    bits |= T.ledger[st, j, b]
    _mark(P, i, bits, dest if where == W_ROUTE else z)
    if new_st != st or new_z != z:
        # (``z`` and ``s`` are the person's zone and strain, a susceptible's 0: only a changed word is
        # written, for a store to a line not in the cache waits for it: 6% of the SIR's event step)
        P.state[i] = new_st
        if new_z != z:
            P.zone[i] = new_z
        if new_s != s:
            P.strain[i] = new_s
        _move(out.dc, out.dzs, p, z, st, s, new_z, new_st, new_s)
        if dy.mem.on and st <= H and new_st >= Z:
            _news(p, P, i, c, out, (bits & FL_CULLED) != 0)


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def band_bit(bits, i):
    """Whether person ``i`` is in a band (their household id at least :data:`BAND_BASE`), from
    ``bits`` (:attr:`aftermath.people.ties.Ties.in_band`: bit ``i % 64`` of word ``i // 64``). The
    step asks it at every walk: the household id, four bytes a person read at random, was a cache
    miss each time (3% of the step kernel at 10^6 people, by ``benchmarks/people.py --kernel-ab``);
    these words are a thirty-second of it."""
    return ((bits[i >> 6] >> (i & 63)) & 1) != 0


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _note_walk(p, i, k, c, out):
    """A band member's walk along the ``k``-th route out of their zone, noted for
    :func:`follow_bands` (nothing else) in the room of their chunk ``c`` (``i // CHUNK``): four bytes,
    their place in the chunk and ``k`` (:func:`gather_walks`). The rows of ``out.move_n``: one (the
    scan: a chunk is stepped by one part), or one for each part (the event step, whose parts may visit
    the same chunk), each with room for every band member of every chunk."""
    row = p % out.move_n.shape[0]
    if c >= out.move_n.shape[1]:  # (never with chunks of CHUNK: counted where the gathering refuses it)
        out.move_n[row, 0] = out.move_lo[out.move_lo.shape[0] - 1] + 1
        return
    n = out.move_n[row, c]
    lo = out.move_lo[c]
    if n < out.move_lo[c + 1] - lo:  # always (one walk a member a step): no write out of bounds
        out.moves[row * out.move_lo[out.move_lo.shape[0] - 1] + lo + n] = (np.int64(i) - c * CHUNK) + k * CHUNK
    out.move_n[row, c] = n + 1


@nb.njit(cache=True)
def gather_walks(moves, move_lo, move_n, zone, out_routes, words):
    """The step's band walks (noted by :func:`_note_walk`: ``move_n[row, c]`` of them from
    ``moves[row * move_lo[-1] + move_lo[c]]`` on) as words ``person << 32 | route`` in ``words``,
    in person order (the same for any number of parts), each walker's route the ``k``-th out of
    their zone (``zone``, ``out_routes``: the walker has not moved since). Zeroes ``move_n``;
    returns how many, or -1 (and nothing read) if a chunk's row noted more than its room."""
    for row in range(move_n.shape[0]):
        for c in range(move_n.shape[1]):
            if move_n[row, c] > move_lo[c + 1] - move_lo[c]:
                return -1
    n_walk = 0
    total = move_lo[move_lo.shape[0] - 1]
    for row in range(move_n.shape[0]):
        for c in range(move_n.shape[1]):
            at = row * total + move_lo[c]
            for q in range(move_n[row, c]):
                note = np.int64(moves[at + q])
                i = c * CHUNK + note % CHUNK
                words[n_walk] = (i << 32) | np.int64(out_routes[zone[i], note // CHUNK])
                n_walk += 1
            move_n[row, c] = 0
    sort_in_place(words[:n_walk])
    return n_walk


@nb.njit(cache=True)
def _route_slot(T, W, st, s, z0, kr, n_strains):
    """The route slot of state ``st`` for the ``kr``-th route out of ``z0`` if its walking rate
    is above 0 this step (not sealed in, not held; a strain new this step has no rates yet), else -1."""
    if s >= n_strains:
        return -1
    for jj in range(T.where.shape[1]):
        if T.where[st, jj] == W_ROUTE and T.route_k[st, jj] == kr:
            return jj if W.rate[z0, st, s, jj] > 0.0 else -1
    return -1


#: band walks whose walkers' and members' words :func:`follow_bands` prefetches together
TOUCH_WALKS = 16


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _touch_bands(w, q0, q1, P, band_count, band_slots):
    """Prefetches what :func:`follow_bands` reads for walks ``q0 .. q1 - 1``, a stage at a time
    for all of them (the walkers' words, then their bands' rows of members, then the members'
    words), so that the misses of a stage overlap (:mod:`.prefetch`): a band's members lie far
    apart. Reads only."""
    for q in range(q0, q1):
        i = w[q] >> 32
        prefetch(P.household, i)
        prefetch(P.zone, i)
        prefetch(P.state, i)
        prefetch(P.ever, i)
    for q in range(q0, q1):
        b = np.int64(P.household[w[q] >> 32]) - BAND_BASE
        if b >= 0:
            prefetch(band_count, b)
            prefetch(band_slots[b], 0)
    for q in range(q0, q1):
        b = np.int64(P.household[w[q] >> 32]) - BAND_BASE
        if b >= 0:
            for m in range(band_count[b]):
                j = band_slots[b, m]
                prefetch(P.household, j)
                prefetch(P.zone, j)
                prefetch(P.state, j)
                prefetch(P.ever, j)


@nb.njit(cache=True, nogil=True)
def gather_and_follow(moves, move_lo, move_n, seed, P, T, W, dy, out, chunk, band_count, band_slots, route_from,
                      log):
    """The step's band walks (noted by the parts in ``moves``) gathered in person order
    (:func:`gather_walks`), then :func:`follow_bands`, in one call from Python (each call of a
    kernel that takes the bundles costs tens of microseconds in the run; the bands' stream keyed
    here, for the run's ``seed``, at the step ``dy.t``, not by a call of its own). Returns its log's rows,
    or -1 if a chunk noted more walks than its room (or ``chunk`` is not :data:`CHUNK`), or
    ``-2 - n`` for ``n`` walks when ``log`` has fewer than ``n`` rows a place in a band (nothing
    done: the caller makes room and calls again). (Not in ``follow_bands`` itself, which runs
    without reference counting: the sort allocates, and so do the words.)"""
    if chunk != CHUNK:
        return -1  # (the notes of the walks count people in chunks of CHUNK)
    n_walk = move_n.sum()
    if n_walk * band_slots.shape[1] > log.shape[0]:
        return -2 - n_walk
    words = np.empty(n_walk, dtype=np.int64)
    n_walk = gather_walks(moves, move_lo, move_n, P.zone, dy.out_routes, words)
    if n_walk < 0:
        return -1
    key = stream_key(seed, BAND_STREAM, dy.t)
    return follow_bands(words[:n_walk], key, P, T, W, dy, out, chunk, band_count, band_slots, route_from, log)


@nb.njit(cache=True, nogil=True, _nrt=False)
def follow_bands(w, key, P, T, W, dy, out, chunk, band_count, band_slots, route_from, log):
    """Bands move together. A band member's walk in the step (``w``, from :func:`gather_walks`,
    in person order) is the band's proposal to go: the step did nothing else with it. The band
    goes with chance ``1 / k``, ``k`` the members where the walker is who can walk that route
    (alive humans not moved this step whose own walking rate on it is above 0), so a band
    leaves at the rate one member walks and each member moves at their own rate on average: the
    model's mean flows are unchanged, only moves are shared. When it goes, the walker and the
    others (band slot order) each go through the gate as the kernel's walker would (:func:`act`
    with their own route slot: their own ``ADMIT`` draw, the household's concealment, the
    quarantine pens), so the counts, flows, route flows, ledger marks and memory are the
    kernel's (part 0 of ``out``); ``dy.mem.band`` must be off here. ``key``: the stream of the
    band's decision (``uniform(key, walker)``). Returns the log's rows: ``log[k] = (person,
    walker, route, outcome, 0)``, outcome 1 got in, 0 turned away, 2 the band stayed (the
    walker's row only); whoever has a row with outcome 0 or 1 has moved this step, and carries
    ``Ever.WALKED`` in ``P.ever`` until the end of the call (so that asking costs a byte read
    however many walked: the log was searched, which grew with the square of a step's band
    walks, 157 s of korea's first 200 days; then a hash set)."""
    n_log = 0
    for q in range(w.shape[0]):
        if q % TOUCH_WALKS == 0:
            _touch_bands(w, q, min(w.shape[0], q + TOUCH_WALKS), P, band_count, band_slots)
        e = w[q]
        i = e >> 32
        r = e & 0xFFFFFFFF
        h = np.int64(P.household[i])
        b = h - BAND_BASE
        z0 = np.int64(route_from[r])
        if np.int64(P.zone[i]) != z0 or P.ever[i] & EV_WALKED:
            continue  # went with the band already this step
        kr = -1
        for k in range(dy.out_routes.shape[1]):
            if dy.out_routes[z0, k] == r:
                kr = k
        st_i = np.int64(P.state[i])
        s_i = np.int64(0) if st_i == S else np.int64(P.strain[i])
        j_i = -1
        for jj in range(T.where.shape[1]):
            if T.where[st_i, jj] == W_ROUTE and T.route_k[st_i, jj] == kr:
                j_i = jj
        # the band stays when u * k >= 1: counting the able stops as soon as that holds (the
        # product only grows with k, rounding included), so a band that stays, the common case,
        # reads its members only until then: the same decision as the whole count
        u = uniform(key, i)
        k_able = 1
        for m in range(band_count[b]):
            if u * k_able >= 1.0:
                break
            j = np.int64(band_slots[b, m])
            if j == i or P.household[j] != h or np.int64(P.zone[j]) != z0 or P.state[j] > H:
                continue
            st = np.int64(P.state[j])
            s = np.int64(0) if st == S else np.int64(P.strain[j])
            if _route_slot(T, W, st, s, z0, kr, dy.n_strains) >= 0 and not P.ever[j] & EV_WALKED:
                k_able += 1
        if u * k_able >= 1.0:
            log[n_log, 0], log[n_log, 1], log[n_log, 2], log[n_log, 3], log[n_log, 4] = i, i, r, 2, 0
            n_log += 1
            _watch_band(i, i, r, 2, P, dy, out)
            continue
        for m in range(-1, band_count[b]):
            if m < 0:
                j, st, s, slot = i, st_i, s_i, j_i  # the walker, by the slot the step drew
            else:
                j = np.int64(band_slots[b, m])
                if j == i or P.household[j] != h or np.int64(P.zone[j]) != z0 or P.state[j] > H:
                    continue
                st = np.int64(P.state[j])
                s = np.int64(0) if st == S else np.int64(P.strain[j])
                slot = _route_slot(T, W, st, s, z0, kr, dy.n_strains)
                if slot < 0 or P.ever[j] & EV_WALKED:
                    continue
            act(0, j, st, z0, s, slot, P, T, W, dy, out, j // chunk)
            log[n_log, 0], log[n_log, 1], log[n_log, 2] = j, i, r
            log[n_log, 3] = np.int64(np.int64(P.zone[j]) != z0)
            log[n_log, 4] = 0
            _watch_band(j, i, r, log[n_log, 3], P, dy, out)
            n_log += 1
            P.ever[j] |= EV_WALKED
    for q in range(n_log):  # the marks off again
        if log[q, 3] != 2:
            P.ever[log[q, 0]] &= ~EV_WALKED
    return n_log


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _mark(P, i, bits, at):
    """Ledger bits on person ``i``; ``flag_zone`` keeps the zone of the first policy act."""
    if bits:
        if P.flag_zone[i] == NO_ZONE:
            P.flag_zone[i] = at
        P.flags[i] |= bits


@nb.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _in_all(T, st, j, f):
    """Whether flow ``f`` is a tag of every branch of slot ``j``."""
    for b in range(T.n_branches[st, j]):
        found = False
        for k in range(T.tags.shape[3]):
            if T.tags[st, j, b, k] == f:
                found = True
        if not found:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def count_part(p, n_parts, n, chunk, state, zone, strain, cs, czs):
    """Recount part ``p``: [zone, state] into ``cs[p]``, [zone, strain, (E, H, Z, D)] into ``czs[p]``."""
    n_chunks = (n + chunk - 1) // chunk
    for c in range(p, n_chunks, n_parts):
        for i in range(c * chunk, min(n, c * chunk + chunk)):
            st = state[i]
            z = zone[i]
            cs[p, z, st] += 1
            if st >= E and st <= D:
                czs[p, z, strain[i], st - 1] += 1


@nb.njit(cache=True, nogil=True)
def sweep_part(p, n_parts, n, chunk, state, zone, strain, flags, flag_zone, kill, hybrids, q, key_kill,
                 key_q, fl):
    """A morning sweep: each feral (and hybrid where ``hybrids[z]``) in zone z is destroyed with
    probability ``kill[z]``; a destroyed one leaves a corpse (D) with ``q``, else is removed."""
    n_chunks = (n + chunk - 1) // chunk
    for c in range(p, n_chunks, n_parts):
        for i in range(c * chunk, min(n, c * chunk + chunk)):
            st = state[i]
            if st != Z and st != H:
                continue
            z = zone[i]
            k = kill[z]
            if k <= 0.0 or (st == H and not hybrids[z]):
                continue
            if uniform(key_kill, i) < k:
                state[i] = D if uniform(key_q, i) < q else R
                fl[p, F_SWEEP, z] += 1
                if st == H:
                    fl[p, F_SWEEPH, z] += 1
                    if flag_zone[i] == NO_ZONE:
                        flag_zone[i] = z
                    flags[i] |= FL_SWEPT


@nb.njit(cache=True, nogil=True)
def mark_sealed(n, state, zone, flags, flag_zone, seal_zone, newly_sealed):
    """The uninfected inside a zone at the moment it is sealed: they may become its sacrifice.

    ``seal_zone`` is set to the zone (the latest seal wins); ``flag_zone`` only when no policy
    had acted on the person before (it stays the zone of the first act).
    """
    for i in range(n):
        if state[i] == S and newly_sealed[zone[i]]:
            flags[i] |= FL_SEALED
            seal_zone[i] = zone[i]
            if flag_zone[i] == NO_ZONE:
                flag_zone[i] = zone[i]


@nb.njit(cache=True)
def schedule_latency(idx, t, dt, keys, strain, latency, shape, next_t):
    """Draw the end of latency for the people ``idx`` who are latent at step ``t`` (set-up)."""
    for i in idx:
        next_t[i] = t + latency_steps(keys, i, latency[strain[i]], shape, dt)
