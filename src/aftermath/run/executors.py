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

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from types import FrameType
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
PRELOAD = ("aftermath.run.executors", "aftermath.run.tasks", "aftermath.engines.driver", "aftermath.engines.ode")
#: Seconds the workers have to end their runs when they are stopped (:meth:`Processes.run`) before
#: they are killed; a run stops at once unless it is inside one long compiled kernel.
STOP_GRACE_S = 5.0


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Ctrl-C held for the block's length: the processes started in it (the forkserver, the
    workers, by any start method) never see it, and this one sees it when the block ends.

    Ctrl-C sends SIGINT to the terminal's whole process group. Without this, the forkserver, still
    importing PRELOAD (it ignores SIGINT only after that), printed a KeyboardInterrupt traceback; and
    a KeyboardInterrupt here, in the middle of starting a worker, left that worker unknown to the
    pool. So SIGINT is blocked in this thread (a blocked signal is inherited blocked through fork
    and exec, and nothing in the children unblocks it), and, in the main thread, this process's
    handler only notes it (another of its threads may take the signal); the Ctrl-C noted is raised
    when the block ends, a moment later, never lost. Only the command's own process handles Ctrl-C:
    it stops the workers (:meth:`Processes.run`).
    """
    noted: list[int] = []
    handler: Any = None
    blocked = False
    try:
        if threading.current_thread() is threading.main_thread():
            handler = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
        if hasattr(signal, "pthread_sigmask") and signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, ()):
            blocked = True
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        yield
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if handler is not None:
            signal.signal(signal.SIGINT, handler)
            if noted and callable(handler):
                handler(signal.SIGINT, None)  # Python's own: raises KeyboardInterrupt
            elif noted and handler == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)


def _start_resource_tracker() -> None:
    """Multiprocessing's resource tracker, started now, before :func:`_sigint_held`: starting it
    unblocks SIGINT in the thread that does (multiprocessing.resource_tracker), which would let the
    processes started after it in a held block (and by the threads that thread starts) see Ctrl-C."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


class _Stop(BaseException):
    """Raised in a worker's run when the process that started the worker stops it (SIGTERM)."""


_stopping = False  # in a worker: told to stop; the runs still queued for it return nothing
_busy = False  # in a worker: a run is under way


def _on_stop(signum: int, frame: FrameType | None) -> None:
    """A worker's SIGTERM: the run under way, if any, ends here; the worker then exits as a pool's
    worker does (on the pool's sentinel), running its exit handlers, which release what it holds."""
    global _stopping
    _stopping = True
    if _busy:
        raise _Stop


def _quiet_stop(info: Any) -> None:
    """A worker's ``sys.unraisablehook``: a :class:`_Stop` raised where Python cannot raise it (the
    signal came while a ``__del__`` or a weakref callback ran: "Exception ignored in ...") is not
    printed on the user's terminal (``_stopping`` still ends the worker's next runs, and the pool
    kills it after :data:`STOP_GRACE_S`); anything else is reported as Python would."""
    if isinstance(info.exc_value, _Stop):
        return
    sys.__unraisablehook__(info)


def _worker_start(lifeline: Any, inherited_writer: int | None) -> None:
    """A worker's initializer: SIGTERM stops its run (:func:`_on_stop`), then
    :func:`~aftermath.run.tasks.worker_init`. SIGINT (Ctrl-C) it never sees (:func:`_sigint_held`)."""
    sys.unraisablehook = _quiet_stop
    signal.signal(signal.SIGTERM, _on_stop)
    worker_init(lifeline, inherited_writer)


def _work(task: Task) -> RunRecord | None:
    """Run ``task`` in a worker; None once the worker is told to stop (nobody takes the record)."""
    global _busy
    if _stopping:
        return None
    _busy = True
    try:
        return run_task(task, True)
    except _Stop:
        return None
    finally:
        _busy = False


class Processes:
    """A pool of ``workers`` local processes (``start_method``: forkserver, spawn or fork).

    At most ``2 * workers`` tasks are in flight, so records do not pile up in memory when the
    writer is slower than the workers, and an interrupted run loses little work. The workers never
    see Ctrl-C; the caller that stops reading the records (Ctrl-C, an error) stops them.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, start_method: str = DEFAULT_START) -> None:
        if getattr(mp.current_process(), "_inheriting", False):
            # a worker (forkserver, spawn) re-imports the script that started the pool: a script
            # that starts a batch outside `if __name__ == "__main__":` starts it again in every
            # worker (which failed on the store's lock, far from the cause); Python's own check
            # (spawn._check_not_importing_main) comes only after the store is opened
            raise RuntimeError(
                "worker processes were asked for while a worker process imported the main script: "
                "a script that runs an ensemble or a sweep with workers must do so under "
                "`if __name__ == \"__main__\":` (each worker imports the script; docs/ensembles.md)")
        self.workers = workers or os.cpu_count() or 1
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline: tuple[Any, Any] | None = None

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context(self.start_method)
            if self.start_method == "forkserver":
                ctx.set_forkserver_preload(list(PRELOAD))
            if self.start_method != "fork":
                _start_resource_tracker()
            # the workers' lifeline (tasks.worker_init): they hold the read end, this process alone
            # the write end; when this process dies, however it dies, the workers end
            reader, writer = ctx.Pipe(duplex=False)
            self._lifeline = (reader, writer)
            inherited = writer.fileno() if self.start_method == "fork" else None
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_worker_start,
                initargs=(reader, inherited))
        return self._pool

    def run(self, tasks: Sequence[Task]) -> Iterator[RunRecord]:
        pool = self._ensure()
        pending: set[Future[RunRecord | None]] = set()
        todo = iter(tasks)
        limit = 2 * self.workers
        try:
            while True:
                for task in todo:
                    with _sigint_held():  # a submit may start the forkserver and a worker
                        pending.add(pool.submit(_work, task))
                    if len(pending) >= limit:
                        break
                if not pending:
                    return
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rec = fut.result()
                    assert rec is not None  # None only from workers being stopped, below
                    yield rec
        finally:
            for fut in pending:
                fut.cancel()
            if any(not fut.done() for fut in pending):
                # the caller stopped reading (Ctrl-C, an error) with runs under way whose records
                # nobody will take: the workers ignore Ctrl-C, so they are stopped here, at once
                self._stop_workers()

    def _stop_workers(self) -> None:
        """End the workers' runs now (their records are lost) and drop the pool: the next
        :meth:`run` starts another. :meth:`close` lets the runs in hand finish instead.

        Each worker gets SIGTERM: its run stops (:func:`_on_stop`), the runs queued for it return at
        once, and it exits as a pool's worker does, so that its exit handlers run (Numba's lock in
        each worker is released, else the resource tracker warns of a "leaked semaphore"). A worker
        still busy after :data:`STOP_GRACE_S` (inside a compiled kernel) is killed.
        """
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list((pool._processes or {}).values())  # the workers (no public accessor before 3.14)
        for proc in procs:
            with contextlib.suppress(OSError, ValueError):  # already ended, or closed
                proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in procs:
            with contextlib.suppress(OSError, ValueError):
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.exitcode is None:
                    proc.kill()
        pool.shutdown(wait=True)
        self._close_lifeline()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._close_lifeline()

    def _close_lifeline(self) -> None:
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
        self.client: Any = None
        self._loud: int | None = None
        if address is None:
            n = workers or os.cpu_count() or 1
            try:
                # started with Ctrl-C held (_sigint_held): the thread that runs the cluster, and so
                # its nannies and workers, never see Ctrl-C (they printed pages of tracebacks); this
                # process alone handles it, and close() stops them
                _start_resource_tracker()
                with _sigint_held():
                    self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                 dashboard_address=None)
                    self.client = Client(self._cluster)
            except BaseException:  # Ctrl-C while the cluster started: it is stopped, not left behind
                self.close()
                raise
        else:
            self.client = Client(address)
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        self.address = self.client.scheduler.address

    def run(self, tasks: Sequence[Task]) -> Iterator[RunRecord]:
        from dask.distributed import as_completed

        futures: list[Any] = []
        try:
            for t in tasks:  # Ctrl-C while thousands are submitted cancels those submitted (finally)
                futures.append(self.client.submit(run_task, t, True, pure=False))
            for fut in as_completed(futures):
                rec: RunRecord = fut.result()
                fut.release()
                yield rec
        finally:
            unfinished = [fut for fut in futures if not fut.done()]
            if unfinished and self._cluster is not None:
                # our own LocalCluster, stopped with runs under way (Ctrl-C): its workers and nannies
                # would log each cancelled run and each lost heartbeat as it closes (close())
                with contextlib.suppress(Exception):
                    self.client.run(_quiet_dask)
                if self._loud is None:
                    self._loud = _quiet_dask()
            for fut in unfinished:
                fut.cancel()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
        if self._loud is not None:  # this process's Dask logging as it was
            logging.getLogger("distributed").setLevel(self._loud)
            self._loud = None


def _quiet_dask() -> int:
    """Dask's logging in this process (a worker's, or ours for the nannies) quiet but for a crash;
    returns its level before."""
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.CRITICAL)
    return level


def make_executor(workers: int | None = None, dask: bool = False, scheduler: str | None = None,
                  start_method: str = DEFAULT_START) -> Executor:
    """The executor a command line asks for: ``--scheduler`` or ``--dask`` use Dask, ``--workers N``
    (N > 1) local processes, otherwise this process."""
    if scheduler or dask:
        return DaskExecutor(scheduler, workers)
    if workers is not None and workers > 1:
        return Processes(workers, start_method)
    return InProcess()
