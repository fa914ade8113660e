"""Fuzz the condition language (``when``/``until``): the documented grammar, near misses (comments,
unicode look-alikes, Python syntax the language does not have, huge or odd number literals, deep
nesting, division by zero) and random text (issue 11, part 6).

Parsing runs in this process (it is cheap, so many cases); conditions inside a policy also go
through the loader and a 2-day run in the fuzz worker.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

from hypothesis import given, seed
from hypothesis import strategies as st

from aftermath.scenario.conditions import Condition, ConditionError
from tests.fuzz.checks import NEVER, assert_not
from tests.fuzz.conftest import SEED, fuzz_settings
from tests.fuzz.harness import Runner
from tests.fuzz.strategies import BUILTINS, conditions, dump_toml

#: a documented number literal: plain decimal, optional fraction and exponent
DECIMAL = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TOKEN = re.compile(r"[A-Za-z_]\w*|(?:\d|\.\d)(?:[\w.]|(?<=[eE])[+-])*")


def grammar_problems(text: str) -> list[str]:
    """What an accepted condition should not have had (docs/scenario.md, Conditions; issue 11)."""
    out = []
    text = text.strip()  # surrounding whitespace (unicode's too) is not part of a condition
    if not text.isascii():
        out.append("non-ASCII characters (e.g. a full-width look-alike of a name)")
    if "#" in text:
        out.append("'#' (a comment hides the rest)")
    for tok in _TOKEN.findall(text):
        if tok[0].isdigit() or tok[0] == ".":
            if not re.fullmatch(DECIMAL, tok):
                out.append(f"number literal {tok!r} is not a plain decimal")
            elif not math.isfinite(float(tok)):
                out.append(f"number literal {tok!r} is not finite as a number")
    return out


def _parse(text: str) -> Condition | None:
    try:
        return Condition.parse(text)
    except ConditionError:
        return None


@seed(SEED)
@fuzz_settings(500)
@given(text=conditions())
def test_parse_raises_only_condition_error(text: str) -> None:
    _parse(text)  # anything but ConditionError (RecursionError, OverflowError, MemoryError...) fails


@seed(SEED)
@fuzz_settings(500)
@given(text=conditions(), values=st.lists(st.floats(0, 1e12, allow_nan=False), min_size=20, max_size=20))
def test_accepted_conditions_evaluate_to_a_truth_value(text: str, values: list[float]) -> None:
    cond = _parse(text)
    if cond is None:
        return
    env = dict(zip(sorted(cond.names), values, strict=False))
    assert cond(env) in (True, False), text


@seed(SEED)
@fuzz_settings(500)
@given(text=conditions())
def test_accepted_conditions_keep_to_the_grammar(text: str) -> None:
    cond = _parse(text)
    if cond is None:
        return
    assert not grammar_problems(text), f"{text!r} accepted with {grammar_problems(text)}"


def policy_case(cond: str, engine: str) -> dict[str, Any]:
    data = {**BUILTINS["sir"], "policies": [{"type": "cure", "zones": ["town"], "rate": 0.1, "when": cond}]}
    return {
        "kind": "condition",
        "argv": ["run", "{tmp}/c.toml", "--days", "2", "--engine", engine, "--json"],
        "files": {"c.toml": {"text": dump_toml(data)}},
        "reject": [],
        "check": {"json": True, "summary": True},
    }


@seed(SEED)
@fuzz_settings(40)
@given(cond=conditions(), engine=st.sampled_from(["ode", "ssa", "abm"]))
def test_conditions_in_a_policy_never_crash(runner: Runner, cond: str, engine: str) -> None:
    assert_not(runner, policy_case(cond, engine), (*NEVER, "messy rejection"))


@seed(SEED)
@fuzz_settings(500)
@given(text=conditions())
def test_parse_prints_no_warning(text: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _parse(text)
    assert not caught, f"{text!r}: {[str(w.message) for w in caught]}"
