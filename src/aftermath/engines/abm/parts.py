"""Running a kernel over the parts of the population on a few threads.

Kernels are serial, ``nogil`` Numba functions over one *part* (a fixed interleaving of chunks of
people); :class:`Parts` runs part ``p`` of ``n_parts`` on its own thread. This keeps compilation
fast (no ``parallel=True`` lowering) and behaves well on a busy machine (no spinning OpenMP
barrier). Results never depend on the number of parts: each person is handled by exactly one part,
and the parts' counts are integers summed afterwards.

The number of parts is Numba's thread count (``NUMBA_NUM_THREADS``, default: the cores).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba as nb


def default_parts() -> int:
    """Threads to use: Numba's configured thread count."""
    return max(1, int(nb.config.NUMBA_NUM_THREADS))


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
        for f in futures:
            f.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __del__(self) -> None:
        self.close()
