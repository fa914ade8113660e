"""Fuzz the command line: every command with its flags given good values and, often, bad ones
(``--days -5``/``0``, ``--seed -1``/``2^64``, ``--engine gpu``, ``--plot`` and ``--report`` into
missing folders or folders, stores that are folders...), plus random tokens (issue 11, part 6).

Properties: no traceback, hang or crash ever; a refusal is exit 2 and one line; an accepted command
line had no bad value, created no folder it was not asked to, and ``--json`` output is one JSON
document alone on stdout with sane numbers. Everything runs in a temporary folder.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, seed

from tests.fuzz.checks import NEVER, assert_not
from tests.fuzz.conftest import SEED, fuzz_settings
from tests.fuzz.harness import Runner
from tests.fuzz.strategies import cli_cases

EXAMPLES = 100


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=cli_cases())
def test_command_lines_never_crash(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, NEVER)


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=cli_cases())
def test_command_lines_are_refused_in_one_line(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, ("messy rejection",))


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=cli_cases())
def test_command_lines_accepted_only_when_sane(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, ("nonsense accepted",))
