"""Where runs run: in this process, in local worker processes, or on a Dask cluster.

Every executor takes the same tasks and yields the same records, in the order they finish; the
caller (the one writer) stores them. Workers use one Numba/BLAS thread each
(:func:`~aftermath.run.tasks.single_thread_worker`): the parallelism is across runs.

* :class:`InProcess` runs tasks one after another here (the default; simplest to debug).
* :class:`Processes` uses a :class:`concurrent.futures.ProcessPoolExecutor` with ``N`` workers.
* :class:`DaskExecutor` submits to a ``dask.distributed`` scheduler at an address, or to a
  :class:`~dask.distributed.LocalCluster` it starts (and stops) itself.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from aftermath.run.tasks import Task, run_task, worker_init
from aftermath.store.records import RunRecord


class Executor(Protocol):
    """Runs tasks and yields their records as they finish."""

    name: str
    workers: int

    def run(self, tasks: Sequence[Task]) -> Iterator[RunRecord]: ...

    def close(self) -> None: ...


class InProcess:
    """One run after another in this process."""

    name = "in-process"
    workers = 1

    def run(self, tasks: Sequence[Task]) -> Iterator[RunRecord]:
        for task in tasks:
            yield run_task(task)

    def close(self) -> None:
        pass


#: ``forkserver`` where there is one: each worker is forked from a clean, single-threaded server
#: that has already imported the model (PRELOAD), so it starts almost as fast as ``fork`` (measured
#: in benchmarks/RESULTS.md) without forking the parent's DuckDB and Dask threads. ``spawn`` elsewhere.
DEFAULT_START = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
PRELOAD = ("aftermath.run.tasks", "aftermath.engines.driver", "aftermath.engines.ode")


class Processes:
    """A pool of ``workers`` local processes (``start_method``: forkserver, spawn or fork).

    At most ``2 * workers`` tasks are in flight, so records do not pile up in memory when the
    writer is slower than the workers, and an interrupted run loses little work.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, start_method: str = DEFAULT_START) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline: tuple[Any, Any] | None = None

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context(self.start_method)
            if self.start_method == "forkserver":
                ctx.set_forkserver_preload(list(PRELOAD))
            # the workers' lifeline (tasks.worker_init): they hold the read end, this process alone
            # the write end; when this process dies, however it dies, the workers end
            reader, writer = ctx.Pipe(duplex=False)
            self._lifeline = (reader, writer)
            inherited = writer.fileno() if self.start_method == "fork" else None
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=worker_init,
                initargs=(reader, inherited))
        return self._pool

    def run(self, tasks: Sequence[Task]) -> Iterator[RunRecord]:
        pool = self._ensure()
        pending: set[Future[RunRecord]] = set()
        todo = iter(tasks)
        limit = 2 * self.workers
        try:
            while True:
                for task in todo:
                    pending.add(pool.submit(run_task, task, True))
                    if len(pending) >= limit:
                        break
                if not pending:
                    return
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._lifeline is not None:
            for conn in self._lifeline:
                conn.close()
            self._lifeline = None


class DaskExecutor:
    """Tasks submitted to a Dask cluster: ``address`` of a running scheduler, or a LocalCluster.

    Args:
        address: ``tcp://host:8786`` of a ``dask scheduler``; None starts a LocalCluster of
            ``workers`` single-threaded worker processes and stops it on :meth:`close`.
        workers: LocalCluster size (default: the number of cores).
    """

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # the [dask] extra
            raise RuntimeError("Dask execution needs dask[distributed]: pip install 'aftermath[dask]'") from exc
        self._cluster: Any = None
        if address is None:
            n = workers or os.cpu_count() or 1
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client: Any = Client(self._cluster)
        else:
            self.client = Client(address)
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        self.address = self.client.scheduler.address

    def run(self, tasks: Sequence[Task]) -> Iterator[RunRecord]:
        from dask.distributed import as_completed

        futures = [self.client.submit(run_task, t, True, pure=False) for t in tasks]
        done = as_completed(futures)
        try:
            for fut in done:
                rec: RunRecord = fut.result()
                fut.release()
                yield rec
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, dask: bool = False, scheduler: str | None = None,
                  start_method: str = DEFAULT_START) -> Executor:
    """The executor a command line asks for: ``--scheduler`` or ``--dask`` use Dask, ``--workers N``
    (N > 1) local processes, otherwise this process."""
    if scheduler or dask:
        return DaskExecutor(scheduler, workers)
    if workers is not None and workers > 1:
        return Processes(workers, start_method)
    return InProcess()
