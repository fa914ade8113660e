"""When ``tests/contract/faults.py`` runs the suite on a patched copy of ``src/``, make sure that
copy is what is imported (``AFTERMATH_CONTRACT_SRC``): a fault must never be "caught" or "survive"
on the unpatched code; and tell the runner what each failed case raised (``AFTERMATH_FAULT_LOG``)."""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest


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
