"""Running a kernel over the parts of the population on a few threads.

Kernels are serial, ``nogil`` Numba functions over one *part* (a fixed interleaving of chunks of
people); :class:`Parts` runs part ``p`` of ``n_parts`` on its own thread. This keeps compilation
fast (no ``parallel=True`` lowering) and behaves well on a busy machine (no spinning OpenMP
barrier). Results never depend on the number of parts: each person is handled by exactly one part,
and the parts' counts are integers summed afterwards.

The number of parts is Numba's thread count as it stands when the engine is built: the
configured ``NUMBA_NUM_THREADS`` (default: the cores), lowered by ``numba.set_num_threads`` and by a
``NUMBA_NUM_THREADS`` set in the environment after Numba was imported. Both are how an ensemble
worker asks for one thread (:func:`aftermath.run.tasks.single_thread_worker`); the environment
variable also covers tasks run on other threads of the worker (``set_num_threads`` is per thread).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numba as nb
from numba.np.ufunc import parallel as nb_parallel


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


class Parts:
    """A fixed number of parts and, when more than one, a thread pool to run them."""

    def __init__(self, n_parts: int | None = None) -> None:
        self.n = default_parts() if n_parts is None else max(1, int(n_parts))
        self._pool = ThreadPoolExecutor(self.n, thread_name_prefix="abm") if self.n > 1 else None

    def run(self, kernel: Callable[..., Any], *args: Any) -> None:
        """``kernel(p, n_parts, *args)`` for every part ``p``; returns when all are done."""
        if self._pool is None:
            kernel(0, 1, *args)
            return
        futures = [self._pool.submit(kernel, p, self.n, *args) for p in range(self.n)]
        wait(futures)  # every part ends before an error is raised: none still writes the arrays
        for f in futures:
            f.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __del__(self) -> None:
        self.close()
