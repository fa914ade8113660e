"""Assertions shared by the fuzz tests: each property names the outcomes it forbids."""

from __future__ import annotations

from typing import Any

from tests.fuzz.harness import Runner, classify, show

NEVER = ("traceback", "hang", "crash", "internal error", "other exit")


def assert_not(runner: Runner, case: dict[str, Any], forbidden: tuple[str, ...]) -> None:
    res = runner.run(case)
    outcome = classify(case, res)
    assert outcome[0] not in forbidden, "\n" + show(case, res, outcome)
