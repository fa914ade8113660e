"""The ABM's parts: any number of them gives the same run, bit for bit (in one process).

``tests/test_abm_reproducibility.py`` compares 1 and 2 threads across processes (the
environment variable); here the engine is built with 1, 2 and 3 parts in one process, on
populations of several chunks, with mutation (strains made in person order after each step),
memory of loss, births and many zones (the zone-parted kernels: rows, merges, memory tables).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aftermath.engines.abm.engine as abm_engine
from aftermath.engines.abm.parts import LINE, Parts, part_array, part_rows
from aftermath.engines.driver import simulate
from aftermath.scenario.load import from_dict, load
from aftermath.scenario.scale import scale_population

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_abm_reproducibility import digest
from test_regions import small_korea


def run_with_parts(monkeypatch: pytest.MonkeyPatch, n_parts: int, sc: Any, seed: int) -> str:
    monkeypatch.setattr(abm_engine, "Parts", lambda: Parts(n_parts))
    monkeypatch.setattr(Parts, "PARALLEL_PEOPLE", 0)  # the people's kernels on the threads however few
    r = simulate(sc, engine="abm", seed=seed)
    return digest(r)


def hyosan_mutating() -> Any:
    """Hyosan at 14,000 people (4 chunks), 10 days, mutation 5% and births: every mechanism runs."""
    data = scale_population(load("hyosan"), 14_000).model_dump(by_alias=True)
    data["run"]["days"] = 10
    data["pathogen"]["mutation"]["mu"] = 0.05
    data["demography"]["births"] = 2.0
    return from_dict(data)


def test_hyosan_with_mutation_is_the_same_for_1_2_and_3_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """(The day's grief in parts however little news there is; the weekly fade and band count always;
    the rows and merges on the threads however few.)"""
    from aftermath.people.ties import Ties

    monkeypatch.setattr(Ties, "PARALLEL_NEWS", 0)
    monkeypatch.setattr(Parts, "PARALLEL_ROWS", 0)  # the rows and merges on the threads however few
    sc = hyosan_mutating()
    runs = {n: run_with_parts(monkeypatch, n, sc, seed=4) for n in (1, 2, 3)}
    assert runs[1] == runs[2] == runs[3]


def test_korea_is_the_same_for_1_and_3_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """17 zones (rows, merges and memory tables parted by zone), 26,000 people (7 chunks)."""
    monkeypatch.setattr(Parts, "PARALLEL_ROWS", 0)  # 17 zones of a few strains: on the threads all the same
    data = small_korea(per=2000)
    data["run"]["days"] = 12
    sc = from_dict(data)
    assert run_with_parts(monkeypatch, 1, sc, seed=2) == run_with_parts(monkeypatch, 3, sc, seed=2)


@pytest.mark.parametrize(("parts", "shape"), [(3, (5, 7)), (2, (40, 5)), (1, (17, 7)), (4, (3, 1)), (2, (9, 8))])
def test_part_arrays_keep_parts_on_their_own_cache_lines(parts: int, shape: tuple[int, int]) -> None:
    a = part_array(parts, shape)
    v = part_rows(a, shape[0])
    assert v.shape == (parts, *shape) and a.dtype == np.int64 and not a.any()
    assert a.flags.c_contiguous  # one layout, whatever the parts: one compiled kernel
    starts = [v[p].ctypes.data for p in range(parts)]
    assert all(s % LINE == 0 for s in starts)
    ends = [v[p, -1, -1:].ctypes.data + 8 for p in range(parts)]  # one past each block's last count
    assert all(starts[p + 1] - ends[p] >= LINE for p in range(parts - 1))  # a whole line between blocks
    v[parts // 2] += 1
    assert a.sum() == shape[0] * shape[1] and v[parts // 2].all()


@pytest.mark.parametrize("shape", [(0, 7), (5, 0)])
def test_empty_part_arrays(shape: tuple[int, int]) -> None:
    a = part_array(2, shape)
    assert part_rows(a, shape[0]).shape == (2, *shape) and a.flags.c_contiguous


def test_parts_measure_their_own_time() -> None:
    parts = Parts(2)

    def kernel(p: int, n: int, out: np.ndarray) -> None:
        out[p] = n

    out = np.zeros(2, dtype=np.int64)
    parts.run(kernel, out)
    assert out.tolist() == [2, 2]
    assert parts.span_s > 0 and parts.busy_s >= 0
    parts.close()


def test_parts_run_here_runs_every_part_on_the_calling_thread() -> None:
    import threading

    seen: list[tuple[int, int, str]] = []

    def kernel(p: int, n: int, out: list[tuple[int, int, str]]) -> None:
        out.append((p, n, threading.current_thread().name))

    parts = Parts(3)
    try:
        parts.run(kernel, seen, here=True)
        assert seen == [(p, 3, threading.current_thread().name) for p in range(3)]
        seen.clear()
        parts.run(kernel, seen)
        assert sorted(x[:2] for x in seen) == [(p, 3) for p in range(3)]
        assert sum(x[2] == threading.current_thread().name for x in seen) == 1  # part 0 here, the others on theirs
    finally:
        parts.close()


def test_parts_raise_a_threads_error_after_every_part_ends_and_run_again() -> None:
    import threading
    import time

    ended: list[int] = []

    def kernel(p: int, n: int) -> None:
        if p == 1:
            raise ValueError("part 1 failed")
        time.sleep(0.05)  # part 1's error is not raised before the others end
        ended.append(p)

    parts = Parts(3)
    try:
        with pytest.raises(ValueError, match="part 1 failed"):
            parts.run(kernel)
        assert sorted(ended) == [0, 2]
        out = np.zeros(3, dtype=np.int64)

        def ok(p: int, n: int, out: np.ndarray) -> None:
            out[p] = p + n

        parts.run(ok, out)  # the threads still serve after an error
        assert out.tolist() == [3, 4, 5]
        assert sum(t.name.startswith("abm-") for t in threading.enumerate()) >= 2
    finally:
        parts.close()


def test_parts_dropped_without_close_stop_their_threads() -> None:
    import gc

    parts = Parts(3)
    parts.run(lambda p, n: None)
    threads = [t.thread for t in parts._threads]
    assert len(threads) == 2 and all(t.is_alive() for t in threads)
    del parts
    gc.collect()
    for t in threads:  # they see the stop and end
        t.join(timeout=5)
    assert not any(t.is_alive() for t in threads)


def test_parts_after_a_threads_error_keep_nothing_alive() -> None:
    """A thread's error is raised and forgotten: kept, it would hold every frame it passed through
    (the engine's among them), and the threads would never be told to stop."""
    import gc
    import weakref

    def kernel(p: int, n: int) -> None:
        if p == 1:
            raise ValueError("part 1 failed")

    parts = Parts(2)
    with pytest.raises(ValueError, match="part 1 failed"):
        parts.run(kernel)
    threads = [t.thread for t in parts._threads]
    gone = weakref.ref(parts)
    del parts
    gc.collect()
    assert gone() is None
    for t in threads:
        t.join(timeout=5)
    assert not any(t.is_alive() for t in threads)


def test_parts_interrupted_while_waiting_run_right_afterwards() -> None:
    """Ctrl-C while the calling thread waits for the others: the run stops, the threads still at
    work are told to stop when done, and the next run waits for all of its parts (the hand-offs
    of the interrupted run do not answer for it)."""
    import signal
    import time

    def slow(p: int, n: int, out: list[int]) -> None:
        if p > 0:
            time.sleep(0.3)
            out.append(p)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    parts = Parts(3)
    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        done: list[int] = []
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(KeyboardInterrupt):
            parts.run(slow, done)
        signal.setitimer(signal.ITIMER_REAL, 0)
        again: list[int] = []
        parts.run(slow, again)
        assert sorted(again) == [1, 2]  # both other parts ended before run returned
        parts.run(slow, again)
        assert sorted(again) == [1, 1, 2, 2]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        parts.close()


def test_parts_run_is_not_re_entrant() -> None:
    parts = Parts(2)

    def nested(p: int, n: int) -> None:
        if p == 0:
            parts.run(lambda p, n: None)

    try:
        with pytest.raises(RuntimeError, match="not re-entrant"):
            parts.run(nested)
        parts.run(lambda p, n: None)  # and usable after
    finally:
        parts.close()
