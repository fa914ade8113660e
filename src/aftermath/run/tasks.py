"""One run as a unit of work: what a worker receives, runs and sends back to the writer.

Workers never open the store; they return a :class:`~aftermath.store.RunRecord` (Arrow tables and
metadata) that the one writer inserts. A run that raises comes back as a ``failed`` record, so one
bad point does not stop a sweep, and a rerun tries it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from aftermath.scenario.schema import Scenario
from aftermath.store.records import RunRecord, failed_record, record_from_result

#: Libraries that start their own thread pools; a worker that shares cores with others uses one.
_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_single_threaded = False


def single_thread_worker() -> None:
    """Make this process use one thread for Numba and BLAS (set once per worker process).

    With N worker processes on N cores, each kernel's own threads would oversubscribe the machine;
    the parallelism is across runs instead. Environment variables cover libraries not yet imported,
    ``numba.set_num_threads(1)`` a Numba that already is.
    """
    global _single_threaded
    if _single_threaded:
        return
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    import numba

    numba.set_num_threads(1)
    _single_threaded = True


def worker_init(lifeline: Any = None, inherited_writer: int | None = None) -> None:
    """Initialise a worker process: one thread for Numba and BLAS, and a lifeline to the parent.

    ``lifeline`` is the read end of a pipe whose only write end the parent (the process that ran the
    command) holds: when the parent dies, however it dies (``kill -9`` included), the read sees end of
    file and this worker exits at once. Without its workers, the forkserver (kept alive by their
    copies of its "alive" pipe) and the resource tracker (by their copies of its pipe) see end of
    file too and exit: nothing is left behind. ``inherited_writer`` is the parent's write end when the
    worker was forked (``fork`` start method) and so holds a copy of it, which it closes.
    """
    single_thread_worker()
    if inherited_writer is not None:
        with contextlib.suppress(OSError):
            os.close(inherited_writer)
    if lifeline is not None:
        threading.Thread(target=_watch_lifeline, args=(lifeline,), name="aftermath-lifeline", daemon=True).start()


def _watch_lifeline(lifeline: Any) -> None:
    """Block until the parent's end of the lifeline closes (nothing is ever sent), then exit now."""
    try:
        while True:
            lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)  # the parent is gone: no result can be delivered, nothing to clean up here


@dataclass(frozen=True)
class Task:
    """Replicate ``meta["replicate"]`` of point ``meta["point"]``: a scenario (the variant), an engine,
    a seed and a horizon, and the ``runs`` columns known before the run."""

    scenario: Scenario
    engine: str
    seed: int
    days: int
    meta: dict[str, Any]

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.meta["batch_id"], int(self.meta["point"]), int(self.meta["replicate"]))


def run_task(task: Task, single_thread: bool = False) -> RunRecord:
    """Run one task and return its record (``failed`` with the error if the run raised)."""
    from aftermath.engines.driver import simulate

    if single_thread:
        single_thread_worker()
    started = _now()
    t0 = time.perf_counter()
    try:
        res = simulate(task.scenario, engine=task.engine, seed=task.seed, days=task.days)
        rec = record_from_result(res, task.meta)
    except Exception as exc:  # a failed run is data: stored as failed, retried on resume
        rec = failed_record({**task.meta, "days": task.days}, exc)
    rec.meta.update(started_at=started, finished_at=_now(), wall_s=time.perf_counter() - t0)
    return rec


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
