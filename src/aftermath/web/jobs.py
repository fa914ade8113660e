"""Runs in the background for the dashboard: progress, cancel, a bound on how many at once.

A job runs in a thread (the agent-based engine's kernels release the GIL, so the server keeps
answering). Its progress is pushed to the page: every step and the job's end call the job's
listeners (:meth:`Job.listen`), which wake the server's event stream (``GET /api/jobs/{id}/events``,
Server-Sent Events); ``GET /api/jobs/{id}`` answers the same view for a page that polls. A cancel
sets a flag that the run's per-day callback (``simulate(on_day=...)``) reads, and the run stops at
the end of that day. At most :data:`MAX_JOBS` jobs run at once; another is refused before it starts.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The most background runs (single runs, ensembles, comparisons) at once.
MAX_JOBS = 2
#: Finished jobs and results kept in memory (the oldest are forgotten first).
KEEP = 16


class Cancelled(Exception):
    """Raised in a run's per-day callback when its job was cancelled."""


class TooManyJobs(Exception):
    """More than :data:`MAX_JOBS` jobs at once."""


@dataclass
class Job:
    id: str
    kind: str
    total: int  # units of progress: simulated days over all runs (a comparison's: runs)
    done: int = 0
    days: int = 0  # days of each run
    runs: int = 1  # runs in all
    day: int = 0  # days done of the run in hand
    runs_done: int = 0  # runs finished
    status: str = "running"  # running, done, failed, cancelled
    message: str = ""
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    started: float = field(default_factory=time.monotonic)
    first_progress: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    _listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def step(self, done: int, day: int | None = None, runs_done: int | None = None) -> None:
        """Progress: ``done`` units so far (``day`` of the run in hand, ``runs_done`` runs finished),
        told to the listeners; raises :class:`Cancelled` once cancelled."""
        if self.first_progress is None:
            self.first_progress = time.monotonic() - self.started
        self.done = done
        if day is not None:
            self.day = day
        if runs_done is not None:
            self.runs_done = runs_done
        self.notify()
        if self.cancel.is_set():
            raise Cancelled

    def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake()`` (in the job's thread: it must be quick) on every step and at the end."""
        self._listeners.append(wake)

    def unlisten(self, wake: Callable[[], None]) -> None:
        if wake in self._listeners:
            self._listeners.remove(wake)

    def notify(self) -> None:
        for wake in tuple(self._listeners):
            wake()

    def view(self, result: bool = True) -> dict[str, Any]:
        """The job for the page; ``result``: with the finished run's payload (the end's view)."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "status": self.status, "done": self.done,
                               "total": self.total, "message": self.message,
                               "elapsed": round(time.monotonic() - self.started, 3),
                               "day": self.day, "days": self.days, "runs": self.runs, "runs_done": self.runs_done}
        if self.error is not None:
            out["error"] = self.error
        if result and self.status == "done" and self.result is not None:
            out["result"] = self.result
        return out


class Jobs:
    """The running and recent jobs, and the results they made (by id, for views and downloads)."""

    def __init__(self, max_jobs: int = MAX_JOBS, keep: int = KEEP) -> None:
        self.max_jobs, self.keep = max_jobs, keep
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self.results: OrderedDict[str, Any] = OrderedDict()

    def running(self) -> int:
        return sum(1 for j in self._jobs.values() if j.status == "running")

    def start(self, kind: str, total: int, work: Callable[[Job], dict[str, Any]],
              on_error: Callable[[BaseException], dict[str, Any] | None], days: int = 0, runs: int = 1) -> Job:
        """Start ``work(job)`` in a thread; refuse (:class:`TooManyJobs`) over :attr:`max_jobs`.

        ``on_error`` turns an exception into the error shown to the page (None: a bug, logged);
        ``days`` and ``runs``: each run's days and the runs, for the progress shown."""
        with self._lock:
            if self.running() >= self.max_jobs:
                raise TooManyJobs
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, total=max(1, total), days=days, runs=runs)
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].status == "running":
                    break
                del self._jobs[oldest]

        def target() -> None:
            try:
                job.result = work(job)
                job.day, job.runs_done = job.days, job.runs
                job.done, job.status = job.total, "done"
            except Cancelled:
                job.status, job.message = "cancelled", "cancelled"
            except BaseException as exc:  # shown on the page, never a traceback there
                err = on_error(exc)
                if err is None:
                    err = {"message": f"internal error ({type(exc).__name__}: {exc}); this is a bug in "
                                      "aftermath, not in your input"}
                    traceback.print_exc()
                job.status, job.error, job.message = "failed", err, err.get("message", "")
            finally:
                job.notify()  # the end, to the event streams

        threading.Thread(target=target, name=f"aftermath-job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def put_result(self, rid: str, value: Any) -> None:
        with self._lock:
            self.results[rid] = value
            while len(self.results) > self.keep:
                self.results.popitem(last=False)

    def cancel_all(self) -> None:
        for j in list(self._jobs.values()):
            j.cancel.set()
