"""Session-wide: the order of the files, and the kernels compiled once before pytest-xdist's workers
start. For ``tests/contract/faults.py``, which runs tests on a patched copy of ``src/``: make sure
that copy is what is imported (``AFTERMATH_CONTRACT_SRC``): a fault must never be "caught" or
"survive" on the unpatched code; and tell the runner what each failed case raised
(``AFTERMATH_FAULT_LOG``). (Here, not in ``tests/contract/``: some faults run other files.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Generator
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


def pytest_configure(config: pytest.Config) -> None:
    want = os.environ.get("AFTERMATH_CONTRACT_SRC")
    if not want:
        return
    import aftermath

    got = Path(aftermath.__file__).resolve()
    if not got.is_relative_to(Path(want).resolve()):
        raise pytest.UsageError(f"aftermath imported from {got}, not from the patched copy {want}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """For the fault runner (``AFTERMATH_FAULT_LOG``): each failed case and what it raised, and
    whether that was a failed check (an ``AssertionError``, the engines' check errors among them, or
    ``pytest.fail``) rather than code that would not run."""
    report = yield
    log = os.environ.get("AFTERMATH_FAULT_LOG")
    if log and report.failed and call.excinfo is not None:
        t = call.excinfo.type
        check = issubclass(t, (AssertionError, pytest.fail.Exception))
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{item.nodeid}\t{t.__module__}.{t.__qualname__}\t{'check' if check else 'crash'}\n")
    return report
