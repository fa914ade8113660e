"""Fuzz the scenario loader: built-in scenarios with keys and values mutated, written as files, then
checked or run for 1 to 3 days (issue 11, part 6).

Properties: no traceback, hang or crash ever; a refusal is exit 2 and one line; what is accepted
had no reason to be refused (booleans or strings as numbers, non-finite or absurd numbers, nobody in
the scenario, fractional people in a stochastic engine, unknown or missing keys, duplicate ids...)
and its summary has no NaN, no negative count, and the file's number of people.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, seed

from tests.fuzz.checks import NEVER, assert_not
from tests.fuzz.conftest import SEED, fuzz_settings
from tests.fuzz.harness import Runner
from tests.fuzz.strategies import scenario_cases

EXAMPLES = 150


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=scenario_cases())
def test_scenario_files_never_crash(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, NEVER)


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=scenario_cases())
def test_scenario_files_are_refused_in_one_line(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, ("messy rejection",))


@seed(SEED)
@fuzz_settings(EXAMPLES)
@given(case=scenario_cases())
def test_scenario_files_accepted_only_when_sane(runner: Runner, case: dict[str, Any]) -> None:
    assert_not(runner, case, ("nonsense accepted",))
