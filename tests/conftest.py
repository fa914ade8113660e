"""Session-wide test order."""

from __future__ import annotations

import pytest

#: Files run last: the fault runs of ``tests/contract/test_faults.py`` start from the kernels the rest of
#: the suite compiled into the checkout's cache (``faults.seed_cache``), so they compile least once
#: those are there; the file also keeps both cores busy by itself, so it loses nothing at the end of
#: a ``-n 2`` run.
LAST = ("tests/contract/test_faults.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] in LAST)  # stable: the rest keep their order
