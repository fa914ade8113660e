"""The safe condition language used by policy triggers (docs/model.md#policies).

Conditions are small boolean expressions over a zone's daily indicators, e.g.
``fear > 0.6 and day >= 30``. They are parsed with Python's own expression parser and then
checked against a whitelist of node types, so nothing is ever executed: no calls, no
attributes, no subscripts, no names beyond :data:`VARIABLES`. Evaluation walks the tree.

Grammar (precedence from low to high): ``or``; ``and``; ``not``; comparisons (``<``, ``<=``,
``>``, ``>=``, ``==``, ``!=``, chainable); ``+``/``-``; ``*``/``/``; unary ``-`` and ``+``; numbers,
``true``/``false`` and variable names; parentheses.

Beside the tree's check, the text is read by :func:`_lex`, which admits only the tokens of
this grammar: ASCII letters, digits, spaces and the operators above. So there are no comments
(``#``), no names outside ASCII (Python would read a full-width ``ｄａｙ`` as ``day``), no strings,
and a number literal is decimal digits with an optional fraction and exponent (``12``, ``0.5``,
``.5``, ``1e3``, ``2.5E-2``) whose value is finite: no ``1_000``, ``0x1f``, ``1j``, ``1e400``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: Variables a condition may use, with what they mean. All are evaluated per zone, once a day.
#: Each sum of states is named for the states it sums; "humans" means S + E + H here as everywhere
#: in the record (:mod:`aftermath.record.measures`).
VARIABLES: dict[str, str] = {
    "day": "the day about to be simulated (0 on the first day)",
    "fear": "the zone's fear, in [0, 1]",
    "vigilance": "the zone's vigilance, in [0, 1]",
    "supplies": "the zone's supplies, in person-days",
    "supply_days": "the zone's supplies divided by its humans, who eat (days of food left)",
    "humans": "humans in the zone: S + E + H, everyone alive who is still themselves (S + E in "
              "aftermath 0.1.0: write susceptible + latent for that)",
    "susceptible": "S in the zone",
    "latent": "E in the zone",
    "hybrids": "H in the zone",
    "ferals": "Z in the zone",
    "corpses": "D in the zone",
    "infected": "E + H + Z in the zone",
    "population": "living bodies in the zone: S + E + H + Z",
    "new_infections": "infections in the zone on the previous day",
    "deaths": "deaths in the zone on the previous day",
    "breaches": "ferals that got through the zone's wall on the previous day",
    "calm_days": "consecutive days without a new infection or a feral in the zone",
    "trust": "the lowest trust the zone's faction has in a faction it keeps a truce with (1 if none)",
    "world_ferals": "Z summed over all zones",
    "world_fear": "population-weighted mean fear over all zones",
}

_CMP: dict[type, Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _div(a: float, b: float) -> float:
    """``a / b``; by zero: ``+inf`` when ``a > 0``, ``-inf`` when ``a < 0``, and 0 for ``0 / 0``
    (nothing over nothing: ``supplies / population`` in an empty zone without food)."""
    if b != 0:
        return a / b
    return math.inf if a > 0 else -math.inf if a < 0 else 0.0


_BIN: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _div,
}
_CONST = {"true": 1.0, "false": 0.0}


class ConditionError(ValueError):
    """A condition that cannot be parsed or uses something the language does not have."""


def _check(node: ast.AST, names: set[str]) -> None:
    """Reject every node type the language does not have; collect variable names."""
    if isinstance(node, ast.Expression):
        _check(node.body, names)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
        _check(node.operand, names)
    elif isinstance(node, ast.Compare):
        if not all(type(op) in _CMP for op in node.ops):
            raise ConditionError("only <, <=, >, >=, == and != compare values")
        _check(node.left, names)
        for c in node.comparators:
            _check(c, names)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN:
            raise ConditionError("only +, -, * and / are allowed in arithmetic")
        _check(node.left, names)
        _check(node.right, names)
        if isinstance(node.op, ast.Div) and _constant(node.right) == 0.0:
            raise ConditionError(f"division by zero: {ast.unparse(node.right)!r} is always 0")
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ConditionError(f"{node.value!r} is not a number")
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:
            finite = False
        if not finite:
            raise ConditionError(f"a number too large: {str(node.value)[:20]}... (at most about 1.8e308)"
                                 if len(str(node.value)) > 20 else f"a number too large: {node.value}")
    elif isinstance(node, ast.Name):
        if node.id in _CONST:
            return
        if node.id not in VARIABLES:
            known = ", ".join(sorted(VARIABLES))
            raise ConditionError(f"unknown variable {node.id!r} (known: {known})")
        names.add(node.id)
    else:
        raise ConditionError(f"{type(node).__name__.lower()} is not allowed in a condition")


def _constant(node: ast.AST) -> float | None:
    """The value of an expression without variables (``0``, ``1 - 1``, ``false``), else None."""
    if any(isinstance(n, ast.Name) and n.id not in _CONST for n in ast.walk(node)):
        return None
    return _eval(node, {})


def _eval(node: ast.AST, env: Mapping[str, float]) -> float:
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return float(all(_eval(v, env) for v in node.values))
        return float(any(_eval(v, env) for v in node.values))
    if isinstance(node, ast.UnaryOp):
        x = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return float(not x)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env)
            if not _CMP[type(op)](left, right):
                return 0.0
            left = right
        return 1.0
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # _check admitted numbers only
    if isinstance(node, ast.Name):
        return _CONST[node.id] if node.id in _CONST else float(env[node.id])
    raise ConditionError(f"cannot evaluate {type(node).__name__}")  # unreachable after _check


def _compile(node: ast.AST) -> Callable[[Mapping[str, float]], float]:
    """A closure that computes what :func:`_eval` computes for ``node``, the same operations in the
    same order, without walking the tree: policies evaluate their conditions in every zone every
    morning. Only for a tree :func:`_check` admitted."""
    if isinstance(node, ast.BoolOp):
        parts = tuple(_compile(v) for v in node.values)
        if isinstance(node.op, ast.And):
            return lambda env: float(all(f(env) for f in parts))
        return lambda env: float(any(f(env) for f in parts))
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: float(not operand(env))
        if isinstance(node.op, ast.USub):
            return lambda env: -operand(env)
        return operand
    if isinstance(node, ast.Compare):
        left = _compile(node.left)
        if len(node.ops) == 1:
            cmp, right = _CMP[type(node.ops[0])], _compile(node.comparators[0])
            return lambda env: 1.0 if cmp(left(env), right(env)) else 0.0
        chain = tuple((_CMP[type(op)], _compile(c)) for op, c in zip(node.ops, node.comparators, strict=True))

        def compare(env: Mapping[str, float]) -> float:
            a = left(env)
            for op, comp in chain:
                b = comp(env)
                if not op(a, b):
                    return 0.0
                a = b
            return 1.0

        return compare
    if isinstance(node, ast.BinOp):
        fn, lhs, rhs = _BIN[type(node.op)], _compile(node.left), _compile(node.right)
        return lambda env: fn(lhs(env), rhs(env))
    if isinstance(node, ast.Constant):
        value = float(node.value)  # type: ignore[arg-type]  # _check admitted numbers only
        return lambda env: value
    if isinstance(node, ast.Name):
        if node.id in _CONST:
            const = _CONST[node.id]
            return lambda env: const
        name = node.id
        return lambda env: float(env[name])
    raise ConditionError(f"cannot evaluate {type(node).__name__}")  # unreachable after _check


@dataclass(frozen=True)
class Condition:
    """A parsed, checked condition. Build with :meth:`parse`; evaluate with :meth:`__call__`."""

    text: str
    names: frozenset[str] = field(default_factory=frozenset)
    _tree: ast.Expression | None = field(default=None, compare=False, repr=False)
    _fn: Callable[[Mapping[str, float]], float] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse ``text``; raise :class:`ConditionError` with a readable reason if it is not valid."""
        src = text.strip()
        if not src:
            raise ConditionError("a condition cannot be empty")
        if len(src) > 500:
            raise ConditionError("a condition is at most 500 characters")
        py = _to_python(src).strip()  # a leading "!" becomes " not ", which ast.parse calls an indent
        try:
            with warnings.catch_warnings():  # "1or" is a SyntaxWarning to Python; to us, an error below
                warnings.simplefilter("ignore")
                tree = ast.parse(py, mode="eval")
        except SyntaxError as exc:
            raise ConditionError(f"cannot parse {text!r}: {exc.msg}") from None
        except (RecursionError, MemoryError, ValueError):
            raise ConditionError(f"cannot parse {text!r}: nested too deeply") from None
        names: set[str] = set()
        _check(tree, names)  # first: names the construct that is not allowed (a call, a subscript...)
        _lex(src)  # then what Python's parser forgives: comments, non-ASCII names, odd number literals
        return cls(text=src, names=frozenset(names), _tree=tree, _fn=_compile(tree.body))

    def __call__(self, env: Mapping[str, float]) -> bool:
        """Evaluate against ``env``, which must give a value for every name in :attr:`names`."""
        if self._fn is not None:
            return bool(self._fn(env))
        assert self._tree is not None
        return bool(_eval(self._tree.body, env))

    def __reduce__(self) -> tuple[Callable[[str], Condition], tuple[str]]:
        """Pickled as its text (the compiled closure is not picklable): parsed again on loading."""
        return Condition.parse, (self.text,)


#: The tokens of the language (module docstring); anything else is refused by :func:`_lex`.
_TOKEN = re.compile(
    r"(?P<space>[ \t]+)"
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|&&|\|\||[<>!+\-*/()])"
)


def _lex(src: str) -> None:
    """Refuse any text outside the grammar's tokens, naming the first offending character."""
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            ch = src[pos]
            what = "comments are not part of the language" if ch == "#" else (
                "only ASCII letters, digits, spaces and the operators < <= > >= == != + - * / ( ) "
                "and or not && || ! are allowed")
            raise ConditionError(f"unexpected character {ch!r} at position {pos}: {what}")
        if m.lastgroup == "number":
            end = m.end()
            if end < len(src) and (src[end].isalnum() or src[end] in "_."):
                raise ConditionError(f"malformed number at position {pos}: a number is digits, an optional "
                                     "fraction and an optional exponent, such as 12, 0.5 or 1e3")
            if not math.isfinite(float(m.group())):
                raise ConditionError(f"a number too large at position {pos} (at most about 1.8e308)")
        pos = m.end()


def _to_python(src: str) -> str:
    """Accept ``&&``/``||``/``!`` spellings as well as ``and``/``or``/``not``."""
    out = src.replace("&&", " and ").replace("||", " or ")
    # a lone "!" (not part of "!=") means "not"
    res = []
    for i, ch in enumerate(out):
        if ch == "!" and (i + 1 >= len(out) or out[i + 1] != "="):
            res.append(" not ")
        else:
            res.append(ch)
    return "".join(res)
