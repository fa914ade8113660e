"""Running a kernel over the parts of the population on a few threads.

Kernels are serial, ``nogil`` Numba functions over one *part* (a fixed interleaving of chunks of
people, or of zones); :class:`Parts` runs part ``p`` of ``n_parts`` on its own thread (part 0 on
the calling thread; every part there, in turn, for work too small to hand out: ``here``). This
keeps compilation fast (no ``parallel=True`` lowering) and behaves well on a busy machine (no
spinning OpenMP barrier). Results never depend on the number of parts: each person is handled by
exactly one part, and the parts' counts are integers summed afterwards.

Per-part output arrays (:func:`part_array`) start each part's block on its own cache lines, with at
least a line of padding between blocks: two threads counting events into neighbouring words of one line
would otherwise pass the line back and forth on every event (false sharing).

:class:`Parts` keeps the wall time of its runs and the CPU time its parts spent (``span_s``,
``busy_s``; the runs kept on the calling thread apart, in ``here_s``): on a machine shared with
other work, ``busy_s / (n * span_s)`` tells how much of the time the parts actually ran at once,
whatever the load made of the wall-clock ratio.

The number of parts is Numba's thread count as it stands when the engine is built: the
configured ``NUMBA_NUM_THREADS`` (default: the cores), lowered by ``numba.set_num_threads`` and by a
``NUMBA_NUM_THREADS`` set in the environment after Numba was imported. Both are how an ensemble
worker asks for one thread (:func:`aftermath.run.tasks.single_thread_worker`); the environment
variable also covers tasks run on other threads of the worker (``set_num_threads`` is per thread).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numba as nb
import numpy as np
from numba.np.ufunc import parallel as nb_parallel
from numpy.typing import DTypeLike, NDArray

LINE = 64  # bytes of a cache line


def default_parts() -> int:
    """Threads to use: Numba's thread count now (see the module docstring)."""
    n = int(nb.config.NUMBA_NUM_THREADS)
    env = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
    # set_num_threads launches Numba's threading layer; if nothing launched it, nothing lowered
    # the count, and asking would start the layer's idle threads for nothing
    if getattr(nb_parallel, "_is_initialized", True):
        n = min(n, int(nb.get_num_threads()))
    return max(1, n)


def part_array(n_parts: int, shape: tuple[int, ...], dtype: DTypeLike = np.int64) -> NDArray[Any]:
    """Zeros for ``n_parts`` blocks of ``shape``, each block on its own cache lines.

    A C-contiguous array of shape ``(n_parts, rows + pad, *shape[1:])`` (``rows = shape[0]``): the
    ``pad`` rows after each block, never written, make it end a whole number of lines after it
    starts and put at least one line between it and the next, and the array starts on a line.
    Kernels index the first ``rows`` rows; Python reads them through :func:`part_rows`.

    Always C-contiguous, whatever the number of parts or the size: a kernel that takes it is
    compiled once (a view of the rows alone is C-contiguous with one part or no columns and not
    otherwise, and each layout compiled the step's kernels again, some 20 s apiece)."""
    item = np.dtype(dtype).itemsize
    rows, rest = shape[0], shape[1:]
    row_bytes = int(np.prod(rest, dtype=np.int64)) * item
    if rows == 0 or row_bytes == 0:
        return np.zeros((n_parts, *shape), dtype=dtype)
    per_line = LINE // math.gcd(row_bytes, LINE)  # rows that fill a whole number of lines
    padded = -(-(rows * row_bytes + LINE) // row_bytes)  # the rows and at least a line after them
    padded = -(-padded // per_line) * per_line
    raw = np.zeros(n_parts * padded * row_bytes + LINE, dtype=np.uint8)
    off = (-raw.ctypes.data) % LINE
    out: NDArray[Any] = raw[off: off + n_parts * padded * row_bytes].view(dtype).reshape(n_parts, padded, *rest)
    return out


def part_rows(a: NDArray[Any], rows: int) -> NDArray[Any]:
    """The parts' blocks of :func:`part_array` without their padding rows."""
    return a[:, :rows]


class _Thread:
    """The thread of one part ``p`` (of ``n``): it waits for a job, runs it and says it is done.

    Two locks, one each way, are the whole hand-off: a thread pool's queue and futures cost twice
    as much per run on the development machine (a run of an empty kernel on two parts: 145 us
    with ``concurrent.futures``, 60 to 90 us with the locks), and the event step hands a kernel out once
    or more a step (72 times in the SIR's 100 days at 1e6). The thread holds only this object, not
    the :class:`Parts` (nor, after a run, the job's arguments or its error), so that an engine
    dropped without :meth:`Parts.close` is collected and its threads told to stop."""

    def __init__(self, p: int, n: int) -> None:
        self.go = threading.Lock()
        self.done = threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job: tuple[Callable[..., Any], tuple[Any, ...]] | None = None  # None: stop
        self.cpu = 0.0  # the last job's CPU time (the thread's own clock)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=_serve, args=(self, p, n), name=f"abm-{p}", daemon=True)
        self.thread.start()

    def start(self, kernel: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.job = (kernel, args)
        self.error = None
        self.go.release()

    def stop(self) -> None:
        self.job = None
        self.go.release()


def _serve(t: _Thread, p: int, n: int) -> None:
    while True:
        t.go.acquire()
        job = t.job
        if job is None:
            return
        kernel, args = job
        c0 = time.thread_time()
        try:
            kernel(p, n, *args)
        except BaseException as e:  # (raised on the calling thread by Parts.run)
            t.error = e
        t.cpu = time.thread_time() - c0
        t.job = None
        del job, kernel, args  # (the arrays are the engine's: not kept alive by an idle thread)
        t.done.release()


class Parts:
    """A fixed number of parts and, when more than one, a thread for each part but the first."""

    def __init__(self, n_parts: int | None = None) -> None:
        self.n = default_parts() if n_parts is None else max(1, int(n_parts))
        self._threads: list[_Thread] = []
        self._pid = -1  # the process that started the threads (a forked child starts its own)
        self._running = False
        self.span_s = 0.0  # wall time inside run()
        self.busy_s = 0.0  # CPU time of the parts (their threads' own clocks)
        self.here_s = 0.0  # wall time of the runs kept on the calling thread (``here``), apart

    def _timed(self, kernel: Callable[..., Any], p: int, *args: Any) -> float:
        c0 = time.thread_time()
        kernel(p, self.n, *args)
        return time.thread_time() - c0

    #: a kernel over zones runs every part on the calling thread below this many (zone, strain) rows
    #: (``run(..., here=rows < PARALLEL_ROWS)``): a thread's hand-off costs more than the work. On the
    #: development machine a hand-off cost 100 to 150 us (by a thread pool; 60 to 90 since: :class:`_Thread`),
    #: the rows of 21,600 (zone, strain) took 0.3 ms and their merge 37 us on one thread, and split
    #: by zone over two threads neither went faster (hyosan at 1e6, the event step on two threads,
    #: alternating runs: 3.74 to 3.77 s before, 3.22 s with both here)
    PARALLEL_ROWS = 131072
    #: a kernel over the population's chunks runs every part on the calling thread below this many
    #: people (``run(..., here=self.few(n))``): a part's share of a smaller population is less work
    #: than its hand-off (hyosan on two threads, the scan step, a year: at 10,000 people 0.44 s handed
    #: out and 0.28 s here, 30,000 0.52 and 0.41 s, 60,000 0.63 and 0.56 s, 120,000 0.87 and 0.92 s).
    #: The tests of thread counts set it to 0, so that their small worlds run on the threads
    PARALLEL_PEOPLE = 65536

    def few(self, people: int) -> bool:
        """Whether a kernel over ``people`` people's chunks is too little work to hand out."""
        return people < self.PARALLEL_PEOPLE

    def run(self, kernel: Callable[..., Any], *args: Any, here: bool = False) -> None:
        """``kernel(p, n_parts, *args)`` for every part ``p``; returns when all are done. ``here``:
        every part on the calling thread, one after the other (the same results: the parts are
        independent; for work too small to hand out)."""
        t0 = time.perf_counter()
        if here and self.n > 1:  # (timed apart: no thread was meant to run at once)
            for p in range(self.n):
                kernel(p, self.n, *args)
            self.here_s += time.perf_counter() - t0
            return
        if self.n == 1:
            self.busy_s += self._timed(kernel, 0, *args)
            self.span_s += time.perf_counter() - t0
            return
        if self._running:  # (a kernel that runs kernels, or two callers: the locks would cross)
            raise RuntimeError("Parts.run is not re-entrant: one run at a time")
        if self._pid != os.getpid():  # the first run (or a forked child, whose parent's threads are gone)
            self._threads = [_Thread(p, self.n) for p in range(1, self.n)]
            self._pid = os.getpid()
        threads, waited = self._threads, False
        errors: list[BaseException] = []
        self._running = True
        try:
            for t in threads:
                t.start(kernel, args)
            # part 0 on this thread: one hand-off fewer, and this thread works instead of waiting
            try:
                self.busy_s += self._timed(kernel, 0, *args)
            finally:
                # every part ends before an error is raised: none still writes the arrays (if part 0
                # raised, its error is the one raised, and the others' are dropped)
                for t in threads:
                    t.done.acquire()
                waited = True
                for t in threads:
                    if t.error is not None:
                        errors.append(t.error)
                        t.error = None  # (a kept error would hold the frames it passed through, engine and all)
        finally:
            self._running = False
            if not waited:  # a signal (Ctrl-C) while handing out or waiting: the locks may be out of step,
                self.close()  # so these threads stop once done and the next run starts new ones
        self.span_s += time.perf_counter() - t0
        for t in threads:
            self.busy_s += t.cpu
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Stop the threads (a later :meth:`run` starts new ones); one still in a kernel (a run was
        interrupted) stops when it is done."""
        threads, self._threads = self._threads, []
        if self._pid == os.getpid():
            for t in threads:
                try:  # noqa: SIM105 (close runs from __del__, where module names may be gone)
                    t.stop()
                except RuntimeError:  # (its hand-off already released: it reads the stop first)
                    pass
        self._pid = -1

    def __del__(self) -> None:
        try:  # noqa: SIM105 (not contextlib.suppress: at interpreter exit the module's names may be gone)
            self.close()
        except Exception:
            pass
