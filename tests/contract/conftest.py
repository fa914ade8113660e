"""When ``tests/contract/faults.py`` runs the suite on a patched copy of ``src/``, make sure that
copy is what is imported (``AFTERMATH_CONTRACT_SRC``): a fault must never be "caught" or "survive"
on the unpatched code."""

from __future__ import annotations

import os
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
