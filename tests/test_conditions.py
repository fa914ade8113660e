"""The safe condition language of policy triggers (docs/model.md#policies; docs/scenario.md, Conditions)."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftermath.scenario.conditions import VARIABLES, Condition, ConditionError

ENV = {name: 0.0 for name in VARIABLES} | {
    "day": 40.0,
    "fear": 0.7,
    "ferals": 120.0,
    "population": 1000.0,
    "supplies": 5000.0,
    "calm_days": 3.0,
}


def holds(text: str, **env: float) -> bool:
    return Condition.parse(text)(ENV | env)


# -- parsing and evaluating ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fear > 0.6", True),
        ("fear > 0.6 and day >= 30", True),
        ("fear > 0.6 and day >= 50", False),
        ("fear > 0.9 or ferals > 100", True),
        ("fear > 0.9 or ferals > 200", False),
        ("not fear > 0.9", True),  # not binds looser than comparison: not (fear > 0.9)
        ("not (fear > 0.6 and day >= 30)", False),
        ("fear > 0.6 and not day < 30", True),
        ("fear == 0.7", True),
        ("fear != 0.7", False),
        ("fear <= 0.7", True),
        ("fear < 0.7", False),
        ("true", True),
        ("false", False),
        ("not false", True),
        ("true and false", False),
        ("3 > 2", True),
        ("1", True),
        ("0", False),
    ],
)
def test_boolean_logic_and_comparisons(text: str, expected: bool) -> None:
    assert holds(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5 < fear < 0.8", True),
        ("0.5 < fear < 0.6", False),
        ("0.8 > fear > 0.5", True),
        ("1 < 2 < 3 < 4", True),
        ("1 < 3 < 2", False),  # not (1 < 3) < 2, which would be true
        ("0 <= calm_days <= 3 == 3", True),
        ("100 < ferals <= population", True),
    ],
)
def test_chained_comparisons(text: str, expected: bool) -> None:
    assert holds(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ferals / population > 0.1", True),  # 0.12
        ("ferals / population > 0.125", False),
        ("supplies - 5 * population == 0", True),
        ("supplies / (population + 250) == 4", True),
        ("2 + 3 * 4 == 14", True),  # * binds tighter than +
        ("(2 + 3) * 4 == 20", True),
        ("10 - 4 - 3 == 3", True),  # left-associative
        ("12 / 3 / 2 == 2", True),
        ("-fear < 0", True),
        ("- -fear == fear", True),
        ("+fear == 0.7", True),
        ("1.5e2 == 150", True),
        ("(fear > 0.5) + (ferals > 1000) == 1", True),  # comparisons are numbers 1 / 0
        ("(fear > 0.5) * 10 == 10", True),
    ],
)
def test_arithmetic_and_precedence(text: str, expected: bool) -> None:
    assert holds(text) is expected


@pytest.mark.parametrize(
    ("symbolic", "words"),
    [
        ("fear > 0.6 && day >= 30", "fear > 0.6 and day >= 30"),
        ("fear > 0.9 || ferals > 100", "fear > 0.9 or ferals > 100"),
        ("!(fear > 0.9)", "not (fear > 0.9)"),
        ("!false", "not false"),
        ("!!true", "not not true"),
        ("fear != 0.7 || !(day < 30) && ferals > 1", "fear != 0.7 or not (day < 30) and ferals > 1"),
        ("fear>0.6&&day>=30", "fear > 0.6 and day >= 30"),
    ],
)
def test_symbolic_spellings(symbolic: str, words: str) -> None:
    for env in (ENV, ENV | {"fear": 0.2}, ENV | {"day": 10.0, "ferals": 0.0}):
        assert Condition.parse(symbolic)(env) is Condition.parse(words)(env)


def test_not_equal_is_not_negation() -> None:
    assert holds("fear != 0.5")
    assert not holds("fear != 0.7")
    assert Condition.parse("fear != 0.5").names == {"fear"}


def test_and_or_precedence() -> None:
    # "and" binds tighter than "or": a or (b and c)
    assert holds("day > 1 or fear > 0.9 and ferals > 1000")
    assert not holds("(day > 1 or fear > 0.9) and ferals > 1000")
    assert holds("day > 1 || fear > 0.9 && ferals > 1000")


def test_names_are_collected_and_text_kept() -> None:
    c = Condition.parse("  fear > 0.6 and (ferals / population > 0.1 or true)  ")
    assert c.names == {"fear", "ferals", "population"}
    assert c.text == "fear > 0.6 and (ferals / population > 0.1 or true)"
    assert Condition.parse("true").names == frozenset()


def test_result_is_a_bool_and_conditions_are_reusable() -> None:
    c = Condition.parse("ferals > 100")
    assert c({"ferals": 101}) is True
    assert c({"ferals": 99}) is False
    assert c({"ferals": 101}) is True  # evaluation keeps no state


def test_every_documented_variable_is_accepted() -> None:
    for name in VARIABLES:
        c = Condition.parse(f"{name} >= 0")
        assert c.names == {name}
        assert c({name: 1.0})


@given(
    a=st.floats(-1e6, 1e6, allow_nan=False),
    b=st.floats(-1e6, 1e6, allow_nan=False),
    op=st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
)
def test_comparisons_agree_with_python(a: float, b: float, op: str) -> None:
    expected = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
    assert Condition.parse(f"fear {op} supplies")({"fear": a, "supplies": b}) is expected


# -- division by zero ---------------------------------------------------------------------------


def test_division_by_zero_at_run_time_has_a_documented_value() -> None:
    # x / 0 is +inf for x > 0, -inf for x < 0 and 0 for 0 / 0 (documented in docs/scenario.md)
    assert holds("supplies / population > 30", supplies=100.0, population=0.0)
    assert holds("supplies / population == 0", supplies=0.0, population=0.0)
    assert holds("(0 - supplies) / population < -1e300", supplies=5.0, population=0.0)
    assert not holds("(0 - supplies) / population == 0", supplies=5.0, population=0.0)
    assert holds("supplies / population > 1e300", supplies=1.0, population=0.0)
    assert not holds("supplies / population < 30", supplies=100.0, population=0.0)


@pytest.mark.parametrize("text", ["(0 - 1) / 0 < 0", "day / 0 > 1", "fear / (1 - 1) > 0", "day / false > 0",
                                  "1 / (2 * 0) > 0"])
def test_division_by_a_constant_zero_is_refused_when_parsed(text: str) -> None:
    with pytest.raises(ConditionError, match="division by zero"):
        Condition.parse(text)


# -- rejection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abs(fear) > 0.5", "call"),
        ("max(fear, 1)", "call"),
        ("fear.real > 0", "attribute"),
        ("fear.__class__", "attribute"),
        ("fear[0] > 1", "subscript"),
        ("(lambda: 1)()", "call"),
        ("lambda: 1", "lambda"),
        ("panic > 0.5", "unknown variable 'panic'"),
        ("Fear > 0.5", "unknown variable 'Fear'"),  # names are case-sensitive
        ("True", "not a number"),  # Python's booleans are not the language's true/false
        ("'a' == 'a'", "not a number"),
        ('fear == "high"', "not a number"),
        ("fear ** 2 > 1", "only +, -, * and /"),
        ("fear // 2 > 1", "only +, -, * and /"),
        ("fear % 2 > 1", "only +, -, * and /"),
        ("fear in [1, 2]", "only <, <=, >, >=, == and !="),
        ("fear is 1", "only <, <=, >, >=, == and !="),
        ("[fear]", "list"),
        ("{fear: 1}", "dict"),
        ("(fear, day)", "tuple"),
        ("1 if fear else 0", "ifexp"),
        ("(x := 1)", "namedexpr"),
        ("~ferals", "unaryop"),
        ("f'{fear}'", "joinedstr"),
        ("[x for x in fear]", "listcomp"),
    ],
)
def test_rejected_constructs(text: str, reason: str) -> None:
    with pytest.raises(ConditionError) as info:
        Condition.parse(text)
    assert reason.lower() in str(info.value).lower()


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\n\t"],
)
def test_empty_condition(text: str) -> None:
    with pytest.raises(ConditionError, match="cannot be empty"):
        Condition.parse(text)


@pytest.mark.parametrize(
    "text",
    ["fear >", "fear > > 1", "and", "(fear > 1", "fear > 1)", "fear 1", "fear > 0.6 and", "=="],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ConditionError, match="cannot parse"):
        Condition.parse(text)


def test_statements_are_not_expressions() -> None:
    for text in ("import os", "fear = 1", "del fear", "x = __import__('os')"):
        with pytest.raises(ConditionError):
            Condition.parse(text)


def test_too_long() -> None:
    with pytest.raises(ConditionError, match="at most 500"):
        Condition.parse(" or ".join(["fear > 0.5"] * 60))
    Condition.parse(" or ".join(["fear > 0.5"] * 30))  # 400-odd characters is fine


def test_unknown_variable_lists_the_known_ones() -> None:
    with pytest.raises(ConditionError) as info:
        Condition.parse("panic > 1")
    for name in VARIABLES:
        assert name in str(info.value)


def test_condition_error_is_a_value_error() -> None:
    assert issubclass(ConditionError, ValueError)


# -- nothing is executed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "__import__('os').system('touch {f}')",
        "__import__('pathlib').Path('{f}').touch()",
        "open('{f}', 'w')",
        "exec(\"open('{f}', 'w')\")",
        "eval(\"open('{f}', 'w')\")",
        "fear > 0 and __import__('os').system('touch {f}')",
        "fear > 0 or open('{f}', 'w')",
        "[open('{f}', 'w') for _ in [1]]",
    ],
)
def test_nothing_is_executed(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = template.format(f=marker)
    with pytest.raises(ConditionError):
        Condition.parse(text)
    assert not marker.exists()


def test_evaluation_uses_no_eval_or_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    c = Condition.parse("fear > 0.6 && ferals / population > 0.1 || !(day < 30)")
    assert c(ENV)


def test_dunder_names_are_unknown_variables() -> None:
    for text in ("__builtins__", "__import__ > 0", "__class__ == 1"):
        with pytest.raises(ConditionError, match="unknown variable"):
            Condition.parse(text)
