"""Session-wide: the order of the files, and the kernels compiled once before pytest-xdist's workers
start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: Files run last in one process: the fault runs of ``tests/contract/test_faults.py`` start from the
#: kernels the rest of the suite compiled into the checkout's cache (``faults.seed_cache``), so they
#: compile least once those are there. (With workers, ``--dist loadfile`` hands out the files with
#: the most tests first, whatever this order; the warm-up has compiled the kernels by then.)
LAST = ("tests/contract/test_faults.py",)
#: The parts of ``tests/warm.py`` that run at once, one process each (about a minute each on a cold
#: cache on 2 cores, a few seconds on a warm one).
WARM = (("abm_scan",), ("abm_events", "other_engines"))
WARM_TIMEOUT = 900  # seconds: a warm-up that hangs is stopped, and the tests go on
ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] in LAST)  # stable: the rest keep their order


def pytest_sessionstart(session: pytest.Session) -> None:
    """With workers (``-n``), compile the suite's kernels first, in parallel processes: workers
    that met a kernel at once each compiled it (on a fresh clone, about 100 s of CPU twice)."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return  # a worker, or no workers
    if config.option.collectonly:
        return
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.warm", *parts], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for parts in WARM]
    failed = []
    for p in procs:
        try:
            out = p.communicate(timeout=WARM_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            p.kill()
            out = p.communicate()[0] + f"\n(stopped after {WARM_TIMEOUT} s)"
        if p.returncode != 0:
            failed.append(out)
    writer = config.get_terminal_writer()
    writer.line(f"kernels compiled or loaded in {time.perf_counter() - t0:.0f} s (tests/warm.py)")
    for out in failed:  # the tests that need the kernel will say what is wrong
        writer.line("tests/warm.py failed; the tests go on:\n" + out[-2000:], yellow=True)
