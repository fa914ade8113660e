"""Fuzz the store reader: ``query``, ``export``, ``report``, ``rerun`` and ``ensemble`` on stores that
are truncated, have bytes flipped or zeroed, are random bytes, a folder or text, or are valid but
carry hostile table names and views that read files; and ``query`` with SQL that reaches for files,
extensions or settings (issue 11, part 6).

Properties: no traceback, hang or crash ever; a refusal is exit 2 and one line; nothing is written
but what was asked for (no injected ``COPY``), no file's contents reach the output, plainly damaged
stores are named as such, and ``query`` refuses everything outside the store's tables.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, seed

from tests.fuzz.checks import NEVER, assert_not
from tests.fuzz.conftest import SEED, fuzz_settings
from tests.fuzz.harness import Runner
from tests.fuzz.stores import store_cases

EXAMPLES = 60


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=store_cases())
def test_stores_never_crash(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, NEVER)


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=store_cases())
def test_stores_are_refused_in_one_line(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, ("messy rejection",))


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=store_cases())
def test_stores_accepted_only_when_sane(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, ("nonsense accepted",))
