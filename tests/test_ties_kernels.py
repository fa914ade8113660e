"""The ties' day kernels (:mod:`aftermath.people.ties`) on their own: finding the day's news eight
bytes at a time finds exactly who carries it, in person order, compiled or not."""

from __future__ import annotations

import numpy as np
import pytest

from aftermath.engines.abm.state import Ever
from aftermath.engines.abm.step import MARK_NEWS, MARK_TURNED
from aftermath.people.ties import fade_week, marks_of_day, news_in_chunks, turned_today


def _case(rng: np.random.Generator, cap: int, n: int, share: float, chunk: int):
    mem = rng.integers(0, 254, cap).astype(np.uint8)
    hits = rng.random(cap) < share
    mem[hits] = rng.choice([254, 255], int(hits.sum()))
    counts = np.zeros(cap // chunk + 2, dtype=np.int64)
    np.add.at(counts, np.flatnonzero(hits) // chunk, 1)
    return mem, counts


@pytest.mark.parametrize("share", [0.0005, 0.05, 0.6])
def test_news_found_eight_bytes_at_a_time_is_everyone_who_carries_it(share: float) -> None:
    """Random memories (0 to 253, and 254 or 255 on a share of people), a population of ``n`` in
    arrays of ``cap`` (tails that are not whole words, chunks the last of which is cut short): the
    people found are exactly those of the first ``n`` with 254 or 255, ascending, and the chunks'
    counts are zeroed; the same with the pure-Python kernel."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        cap = int(rng.integers(1, 5000))
        n = int(rng.integers(0, cap + 1))
        chunk = 8 * int(rng.integers(1, 40))
        mem, counts = _case(rng, cap, n, share, chunk)
        want = np.flatnonzero(mem[:n] >= 254)
        for kernel in (news_in_chunks, news_in_chunks.py_func):
            c = counts.copy()
            words = mem[: cap // 8 * 8].view(np.uint64)
            with np.errstate(over="ignore"):  # the word test wraps around on purpose (uint64)
                got = kernel(mem, words, np.int64(n), c, np.int64(chunk))
            assert np.array_equal(got, want)
            assert not c.any()


def test_a_chunk_without_a_count_is_not_read() -> None:
    """News is read only where a writer counted it (a chunk counted 0 is skipped whole)."""
    mem = np.zeros(64, dtype=np.uint8)
    mem[[3, 40]] = 255
    counts = np.array([1, 0], dtype=np.int64)  # chunk 1 (people 32 to 63) said to hold none
    got = news_in_chunks(mem, mem.view(np.uint64), np.int64(64), counts, np.int64(32))
    assert got.tolist() == [3]


def test_resistance_is_a_beta_of_the_persons_own_draw() -> None:
    """Each person's resistance, a function of the person (nothing stored): the same whenever read,
    different for another seed, and over 200,000 people Beta(mean 0.5, sd 0.15) by a
    Kolmogorov-Smirnov test (p > 1e-4; a wrong table or key fails it), compiled or not."""
    from scipy import stats

    from aftermath.engines.abm.state import _resistance_of, populate
    from aftermath.model.world import build_world, resistance_beta
    from aftermath.scenario.load import load
    from aftermath.scenario.scale import scale_population

    world = build_world(scale_population(load("hyosan"), 200_000))
    pop = populate(world, 3, 200_000)
    idx = np.arange(200_000)
    r = pop.resistance_of(idx)
    assert np.array_equal(r, pop.resistance_of(idx)) and r.min() >= 0.0 and r.max() <= 1.0
    assert not np.array_equal(r[:1000], populate(world, 4, 200_000).resistance_of(idx[:1000]))
    a, b = resistance_beta(0.5, 0.15)
    assert stats.kstest(r, stats.beta(a, b).cdf).pvalue > 1e-4
    slow = np.empty(500)
    _resistance_of.py_func(pop.res_table, pop.res_key[0], idx[:500], slow)
    assert np.allclose(slow, r[:500], rtol=0, atol=1e-12)


def test_news_found_in_parts_is_the_same_for_any_number_of_parts() -> None:
    """The day's news found chunk by chunk in parts (``news_part``, as the threads run it) and closed
    up in chunk order is exactly everyone who carries it, in person order, for 1, 2 and 3 parts."""
    from aftermath.people.ties import news_gather, news_offsets, news_part

    rng = np.random.default_rng(5)
    for _ in range(30):
        cap = int(rng.integers(1, 6000))
        n = int(rng.integers(0, cap + 1))
        chunk = 8 * int(rng.integers(1, 40))
        mem, counts = _case(rng, cap, n, 0.05, chunk)
        want = np.flatnonzero(mem[:n] >= 254)
        words = mem[: cap // 8 * 8].view(np.uint64)
        for parts in (1, 2, 3):
            c = counts.copy()
            off, out, found = news_offsets(c)
            for p in range(parts):
                news_part(p, parts, mem, words, np.int64(n), c, np.int64(chunk), off, out, found)
            assert np.array_equal(news_gather(off, out, found), want)
            assert not c.any()


@pytest.mark.parametrize("any_seen", [False, True])
def test_the_weekly_fade_is_the_rule_for_the_living_and_nothing_for_others(any_seen: bool) -> None:
    """``m <- min(floor(m keep) + seen[zone], 253)`` for the living (S, E, H), every other byte as
    it was (the news 254 and 255 of the removed, the memories of ferals), beyond ``n`` untouched,
    a chunk of zeros skipped and one with a single memory not;
    in 1, 2 and 3 parts, chunks the last of which is cut short; the same with the pure-Python kernel."""
    rng = np.random.default_rng(5)
    cap, n, chunk = 5000, 4711, 8 * 37
    state = rng.integers(0, 7, cap).astype(np.uint8)
    zone = rng.integers(0, 4, cap).astype(np.uint16)
    mem0 = rng.integers(0, 256, cap).astype(np.uint8)
    mem0[rng.random(cap) < 0.5] = 0
    mem0[chunk: 3 * chunk] = 0  # chunks where no one remembers anything (skipped without breaches)
    mem0[3 * chunk - 1], state[3 * chunk - 1] = 7, 0  # but one, who is alive, at the chunk's end
    seen = np.array([0, 3, 40, 253], dtype=np.int64) if any_seen else np.zeros(4, dtype=np.int64)
    keep = 0.99 ** 7
    m = mem0.astype(np.int64)
    want = mem0.copy()
    living = np.flatnonzero(state[:n] <= 2)
    want[living] = np.minimum((m[living] * keep).astype(np.int64) + seen[zone[living]], 253)
    for kernel in (fade_week, fade_week.py_func):
        for n_parts in (1, 2, 3):
            mem = mem0.copy()
            for p in range(n_parts):
                kernel(p, n_parts, np.int64(n), np.int64(chunk), state, zone, mem, keep, seen, any_seen)
            assert np.array_equal(mem, want)


@pytest.mark.parametrize("compiled", [True, False])
def test_the_days_marks_find_what_the_passes_over_the_bytes_find(compiled: bool) -> None:
    """marks_of_day against the passes it stands in for (:func:`news_in_chunks`,
    :func:`turned_today`): random news bytes and turned-away marks, each noted in a random part's
    row, some twice (a person turned away in two steps of a day, news written twice), some noted
    whose byte no longer carries news (a gate capped it), and the morning's ``extra``: the same
    people in the same order, the counts zeroed, the marks taken off ``ever`` and its other bits
    kept; compiled and as Python."""
    kernel = marks_of_day if compiled else marks_of_day.py_func
    rng = np.random.default_rng(5)
    for _ in range(40):
        n = int(rng.integers(8, 3000)) // 8 * 8
        n_parts = int(rng.integers(1, 4))
        mem = rng.integers(0, 254, n).astype(np.uint8)
        ever = rng.integers(0, 4, n).astype(np.uint8)  # INFECTED and BORN bits, kept
        news = rng.choice(n, int(rng.integers(0, n // 10 + 1)), replace=False)
        mem[news] = rng.choice([254, 255], news.size)
        turned = rng.choice(n, int(rng.integers(0, n // 20 + 1)), replace=False)
        ever[turned] |= int(Ever.TURNED)
        kept = ever & ~np.uint8(Ever.TURNED)
        noted = np.concatenate([news << 1 | MARK_NEWS, turned << 1 | MARK_TURNED])
        stale = rng.choice(np.flatnonzero(mem < 254), min(5, int((mem < 254).sum())), replace=False)
        noted = np.concatenate([noted, rng.choice(noted, noted.size // 5) if noted.size else noted,
                                stale << 1 | MARK_NEWS])
        extra_n = int(rng.integers(0, noted.size + 1))
        rng.shuffle(noted)
        extra, noted = np.sort(noted[:extra_n]), noted[extra_n:]
        part = rng.integers(0, n_parts, noted.size)
        marks = np.zeros((n_parts, max(1, noted.size)), dtype=np.int64)
        mark_n = np.zeros((n_parts, 8), dtype=np.int64)
        for p in range(n_parts):
            mine = noted[part == p]
            marks[p, : mine.size] = mine
            mark_n[p, 0] = mine.size
        counts = np.zeros(n // 64 + 2, dtype=np.int64)
        np.add.at(counts, news // 64, 1)
        want_news = news_in_chunks(mem.copy(), mem.view(np.uint64), np.int64(n), counts, np.int64(64))
        want_turned = turned_today(ever.copy(), ever.view(np.uint64), np.int64(n))
        got_news, got_turned = kernel(marks, mark_n, extra, mem, ever)
        assert np.array_equal(got_news, want_news)
        assert np.array_equal(got_turned, want_turned)
        assert not mark_n.any()
        assert np.array_equal(ever, kept)


@pytest.mark.parametrize("compiled", [True, False])
def test_the_casts_set_holds_exactly_its_people(compiled: bool) -> None:
    """``in_watched`` on ``watch_set``: true for each person followed (0, neighbours, large ids,
    repeats, sets from 1 to 3,000 people, so that places collide and probe on, and blocks hold
    several), false for everyone else, past the population's capacity and below 0 too; an empty
    set holds no one; compiled and as Python."""
    from aftermath.engines.abm.step import in_watched, watch_set

    look = in_watched if compiled else in_watched.py_func
    rng = np.random.default_rng(3)
    for size in (1, 7, 64, 400, 3000):
        ids = np.concatenate([rng.choice(60_000, size, replace=False), [0, 1, 59_999]])[:size]
        table = watch_set(np.concatenate([ids, ids[:3]]), capacity=60_000 if size < 400 else 0)
        assert 2 ** table[0] >= 4 * np.unique(ids).size
        want = np.zeros(70_000, dtype=bool)
        want[ids] = True
        people = range(-3, 70_000) if compiled else np.concatenate(
            [ids, ids + 1, ids - 1, rng.integers(0, 70_000, 2000), [-1, -2]]).tolist()
        with np.errstate(over="ignore"):  # (the hash wraps around on purpose, uint64)
            assert all(bool(look(table, np.int64(i))) == (i >= 0 and want[i]) for i in people)
    assert not look(np.zeros(0, dtype=np.int64), np.int64(5))


@pytest.mark.parametrize("compiled", [True, False])
def test_memory_added_saturates_and_leaves_news_untold_alone(compiled: bool) -> None:
    """``add_memory`` (a gate's refusal, a household's grief): memory 0 to 253 rises by the points
    and stops at 253; a byte holding news (254, 255) keeps it, whatever is added, so that the news
    is still told at the day's end; compiled and as Python."""
    from aftermath.engines.abm.step import add_memory

    add = add_memory if compiled else add_memory.py_func
    for byte in range(256):
        for points in (0, 1, 38, 253):
            got = int(add(np.uint8(byte), np.int64(points)))
            assert got == (byte if byte >= 254 else min(byte + points, 253)), (byte, points, got)
