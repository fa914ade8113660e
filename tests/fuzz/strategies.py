"""Hypothesis strategies for the fuzz harness: scenario files, conditions and command lines.

Each strategy draws a *case* (see :mod:`tests.fuzz.harness`) and says, when it knows, why the input
must be refused (``case["reject"]``): a boolean or a string where a number belongs, a count that is
not a whole number in a stochastic engine, a scenario with nobody in it, a non-finite or absurd
number, a control character in a name, an unknown or missing key... The oracle then calls an
accepted case with a reason *nonsense accepted*.

``big=True`` adds what is expensive when the project has no budget (huge populations, many zones,
horizons of many days, runs by the billion); the CI tests leave it off, the long script turns it on.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import math
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import strategies as st


def builtin_dir() -> Path:
    spec = importlib.util.find_spec("aftermath")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "scenario" / "builtin"


BUILTIN_TEXT: dict[str, str] = {p.stem: p.read_text() for p in sorted(builtin_dir().glob("*.toml"))}
BUILTINS: dict[str, dict[str, Any]] = {k: tomllib.loads(v) for k, v in BUILTIN_TEXT.items()}
NAMES = sorted(BUILTINS)
ENGINES = ("ode", "ssa", "abm")

# -- TOML out -------------------------------------------------------------------------------------

_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESC:
            out.append(_ESC[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(v: Any) -> str:
    if isinstance(v, Nested | ManyZones):
        return v.toml()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        r = repr(v)
        return r if ("." in r or "e" in r) else r + ".0"
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_str(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dump_toml(data: dict[str, Any]) -> str:
    """Valid TOML for any JSON-like dict: top-level keys, values inline (tables as inline tables)."""
    return "".join(f"{toml_str(str(k))} = {toml_value(v)}\n" for k, v in data.items())


# -- hostile values ---------------------------------------------------------------------------------

HUGE_FLOAT = 9223372036854774784.0  # the largest double below 2**63: two of them overflow int64
NUMBERS: list[Any] = [
    0,
    1,
    -1,
    -5,
    2,
    3,
    7,
    0.5,
    999.5,
    1.5,
    -0.0,
    0.0,
    1e-6,
    1e-300,
    5e-324,
    1e6,
    1e9,
    1e10,
    1e19,
    1e100,
    1e300,
    1e308,
    HUGE_FLOAT,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    10**19,
    10**30,
    -(2**63),
    math.inf,
    -math.inf,
    math.nan,
]
CHEAP_NUMBERS = [x for x in NUMBERS if not (isinstance(x, int | float) and math.isfinite(x) and abs(x) > 1e6)]
STRINGS = [
    "",
    "0.25",
    "1",
    "true",
    "abc",
    "nan",
    "inf",
    "\x00",
    "a\x00b",
    "tab\there",
    "line\nbreak",
    "\x1b[31mred",
    "\u202etxt",
    "ｄａｙ",
    "fеar",
    "zone one",
    "-",
    "a" * 70,
    "x" * 5000,
    "é",
    "😀",
    "\u200b",
    "'; drop table runs; --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
]
ID_LIKE = ["a", "b", "town", "zone-2", "z_3", "A1", "1a", "-a", "a b", "a.b", "ａ", "\x00", "", "x" * 65, "x" * 64]


def hostile_values(big: bool) -> st.SearchStrategy[Any]:
    nums = NUMBERS if big else CHEAP_NUMBERS
    leaf = st.one_of(
        st.sampled_from(nums),
        st.booleans(),
        st.sampled_from(STRINGS),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        st.just(dt.date(2026, 1, 1)),
    )
    return st.one_of(
        leaf,
        st.lists(leaf, max_size=3),
        st.dictionaries(st.sampled_from(["x", "S", "id", "beta", "days"]), leaf, max_size=2),
        st.builds(nested, st.integers(1, 1200 if big else 60), st.sampled_from(["list", "table"])),
    )


class Nested:
    """A value nested ``depth`` deep (``[[[1]]]`` or ``{x = {x = 1}}``), written out without recursion."""

    def __init__(self, depth: int, kind: str) -> None:
        self.depth, self.kind = depth, kind

    def toml(self) -> str:
        if self.kind == "list":
            return "[" * self.depth + "1" + "]" * self.depth
        return '{"x" = ' * self.depth + "1" + "}" * self.depth

    def __repr__(self) -> str:
        return f"<{self.kind} nested {self.depth} deep>"


class ManyZones:
    """``n`` small zones ``z0``, ``z1``... written out fast (100,000 of them are a 4 MB file)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def toml(self) -> str:
        return "[" + ", ".join(f'{{"id" = "z{i}", "population" = {{"S" = 10, "Z" = 1}}}}' for i in range(self.n)) + "]"

    def __repr__(self) -> str:
        return f"<{self.n} zones>"


def nested(depth: int, kind: str) -> Nested:
    return Nested(depth, kind)


def kind_of(v: Any) -> str:
    if isinstance(v, Nested):
        return "list" if v.kind == "list" else "table"
    if isinstance(v, ManyZones):
        return "list"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "table"
    return type(v).__name__


# -- paths into a scenario ------------------------------------------------------------------------


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of ``data`` (tables by key, lists by index)."""
    out: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for k, v in items:
        p = (*prefix, k)
        out.append(p)
        out += paths(v, p)
    return out


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


ALLOW_NEGATIVE = {"k_res"}
INTEGER_KEYS = {"days", "seed", "latency_shape", "calm_days"}
REQUIRED = {"zones", "id", "type", "from", "to", "action", "other"}
DOC_STRINGS = {"description"}
NAME_KEYS = {"name", "id", "kind", "faction", "sanctuary", "isolation", "from", "to", "other"}
CONDITION_KEYS = {"when", "until"}
COUNT_KEYS = {"S", "E", "H", "Z", "D", "R"}


def _key(path: tuple[Any, ...]) -> Any:
    return path[-1] if path else None


def value_problems(path: tuple[Any, ...], old: Any, new: Any) -> list[str]:
    """Why replacing ``old`` by ``new`` at ``path`` must be refused, as far as the docs say."""
    key = _key(path)
    where = ".".join(map(str, path))
    ko, kn = kind_of(old), kind_of(new)
    if ko != kn:
        if ko == "number" and kn == "bool":
            return [f"{where} = {new!r}: a boolean where a number belongs"]
        if ko == "number" and kn == "string":
            return [f"{where} = {new!r}: a string where a number belongs"]
        if ko == "bool" and kn != "bool":
            return [f"{where} = {new!r}: not a boolean"]
        if ko == "string" and kn != "string":
            return [f"{where} = {new!r}: not a string"]
        if ko in ("table", "list") or kn in ("table", "list"):
            return [f"{where}: a {kn} where a {ko} belongs"]
        if kn not in ("number", "bool", "string", "list", "table"):
            return [f"{where} = {new!r}: a {kn}"]
        return []
    if kn == "number":
        if math.isnan(new) or math.isinf(new):
            return [f"{where} = {new!r}: not finite"]
        if new < 0 and key not in ALLOW_NEGATIVE:
            return [f"{where} = {new!r}: negative"]
        if abs(new) >= 1e100 and key != "supplies":
            return [f"{where} = {new!r}: absurdly large"]
        if key in INTEGER_KEYS and new != int(new):
            return [f"{where} = {new!r}: not a whole number"]
        if key == "days" and path[:1] == ("run",) and not (1 <= new <= 100_000):
            return [f"{where} = {new!r}: days outside 1 to 100,000"]
        if key == "seed" and new >= 2**63:
            return [f"{where} = {new!r}: seed >= 2^63"]
    if kn == "string":
        bad = [c for c in new if ord(c) < 0x20 or ord(c) == 0x7F]
        if key in DOC_STRINGS:
            bad = [c for c in bad if c not in "\n\t\r"]
        if bad and key not in CONDITION_KEYS:
            return [f"{where} = {new!r}: control characters in text"]
        if key in ("id", "kind") and not _is_id(new):
            return [f"{where} = {new!r}: not an id"]
    return []


def _is_id(s: str) -> bool:
    """docs/scenario.md: a letter followed by letters, digits, _ or -, at most 64 characters."""
    return 0 < len(s) <= 64 and s[0].isalpha() and all(c.isalnum() or c in "_-" for c in s)


def population_problems(data: dict[str, Any], engine: str | None) -> tuple[list[str], float | None]:
    """Whole-scenario checks on people: nobody at all; fractional people in a stochastic engine.
    Returns the reasons and the file's humans (S + E + H), None when the zones are malformed."""
    zones = data.get("zones")
    if not isinstance(zones, list):
        return [], None
    total, humans, fractional = 0.0, 0.0, []
    for i, z in enumerate(zones):
        pop = z.get("population", {}) if isinstance(z, dict) else None
        if not isinstance(pop, dict):
            return [], None
        for k, v in pop.items():
            if k not in COUNT_KEYS or isinstance(v, bool) or not isinstance(v, int | float):
                return [], None
            if not math.isfinite(v):
                return [], None
            total += v
            if k in "SEH":
                humans += v
            if v != int(v):
                fractional.append(f"zones.{i}.population.{k} = {v!r}")
    reasons = []
    if total <= 0 and zones:
        reasons.append("nobody in the scenario")
    if fractional and engine in ("ssa", "abm"):
        reasons.append(f"fractional people in the {engine} engine: {fractional[0]}")
    return reasons, humans


# -- conditions -------------------------------------------------------------------------------------

VARIABLES = [
    "day",
    "fear",
    "vigilance",
    "supplies",
    "supply_days",
    "humans",
    "susceptible",
    "latent",
    "hybrids",
    "ferals",
    "corpses",
    "infected",
    "population",
    "new_infections",
    "deaths",
    "breaches",
    "calm_days",
    "trust",
    "world_ferals",
    "world_fear",
]
GOOD_NUMBERS = ["0", "1", "0.5", "30", "100", "1e3", "2.5e-1", ".5", "5.", "1000000"]
#: number literals with surprises: each must be refused (the docs' grammar has plain decimals)
ODD_NUMBERS = ["1_000", "0x10", "0o7", "0b1", "1j", "1e400", "9" * 310, "1" + "0" * 400, "007", "1__0", "0xG"]
NEAR_MISS = [
    "day # a comment",
    "# nothing",
    "ｄａｙ > 1",
    "fеar > 0.5",
    "day\u200b > 1",
    "day >\u00a01",
    "day > 1;",
    "day ** 2 > 1",
    "day // 2 > 1",
    "day % 2 == 0",
    "day << 1",
    "~day",
    "day & 1",
    "day if fear else 1",
    "abs(day) > 1",
    "day.real > 1",
    "day[0]",
    "'a' < 'b'",
    "f'{day}'",
    "(x := 1)",
    "lambda: 1",
    "day in (1, 2)",
    "day is 1",
    "__import__('os')",
    "[1][0]",
    "{1: 2}",
    "...",
    "None",
    "True",
    "yes",
    "day > 1 and",
    "(" * 300 + "1" + ")" * 300,
    "not " * 120 + "1",
    "-" * 400 + "1",
    "day >\n1",
    "day > \\\n 1",
    "",
    "   ",
    "x" * 501,
    "day > 1" + " " * 600,
    "(0 - 1) / 0 > -1",
    "1 / 0 > 0",
    "0 / 0 == 0",
    "day >= 1e308 * 10",
]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    """A condition in the documented grammar (mostly) with near misses mixed in."""
    if depth > 3 or draw(st.integers(0, 2)) == 0:
        atom = draw(
            st.one_of(
                st.sampled_from(VARIABLES),
                st.sampled_from(GOOD_NUMBERS),
                st.sampled_from(["true", "false"]),
                st.sampled_from(ODD_NUMBERS) if draw(st.integers(0, 9)) == 0 else st.sampled_from(GOOD_NUMBERS),
            )
        )
        return (
            draw(st.sampled_from(["{}", "-{}", "({})", "not {}", "!{}"])).format(atom) if draw(st.booleans()) else atom
        )
    op = draw(st.sampled_from(["and", "or", "&&", "||", "<", "<=", ">", ">=", "==", "!=", "+", "-", "*", "/"]))
    left = draw(expressions(depth + 1))
    right = draw(expressions(depth + 1))
    text = f"{left} {op} {right}"
    return f"({text})" if draw(st.booleans()) else text


@st.composite
def conditions(draw: st.DrawFn) -> str:
    base = draw(st.one_of(expressions(), st.sampled_from(NEAR_MISS)))
    how = draw(st.integers(0, 9))
    if how == 0:  # a random character somewhere
        ch = draw(st.characters(exclude_categories=("Cs",)))
        i = draw(st.integers(0, len(base)))
        base = base[:i] + ch + base[i:]
    elif how == 1:
        base = base + " " + draw(st.sampled_from(NEAR_MISS))
    elif how == 2:
        base = draw(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
    return base


# -- scenarios --------------------------------------------------------------------------------------


def _parents(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [()] + [p for p in paths(data) if isinstance(get(data, p), dict | list)]


_MISSING = object()


def lookup(data: Any, path: tuple[Any, ...]) -> Any:
    try:
        return get(data, path)
    except (KeyError, IndexError, TypeError):
        return _MISSING


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a is b or repr(a) == repr(b))


def _still(path: tuple[Any, ...], value: Any) -> Any:
    return lambda d: same(lookup(d, path), value)


def _has_key(path: tuple[Any, ...], key: str) -> Any:
    return lambda d: isinstance(lookup(d, path), dict) and key in lookup(d, path)


def _lacks_key(path: tuple[Any, ...], key: str) -> Any:
    return lambda d: isinstance(lookup(d, path), dict) and key not in lookup(d, path)


def _duplicate_ids(path: tuple[Any, ...]) -> Any:
    def check(d: Any) -> bool:
        items = lookup(d, path)
        ids = [i.get("id") for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        ids = [i for i in ids if isinstance(i, str)]
        return len(ids) != len(set(ids))

    return check


Pending = list[tuple[str, Any]]


def _value_reasons(original: dict[str, Any], path: tuple[Any, ...], old: Any, new: Any) -> Pending:
    orig = lookup(original, path)
    return [(why, _still(path, new)) for why in value_problems(path, old if orig is _MISSING else orig, new)]


@st.composite
def mutate(draw: st.DrawFn, data: dict[str, Any], big: bool, reasons: Pending, original: dict[str, Any]) -> None:
    """One mutation of ``data`` in place, with the reasons it must be refused, each with a test of
    whether it still holds once every mutation is made (a later one may undo or replace it)."""
    op = draw(
        st.sampled_from(
            [
                "value",
                "value",
                "value",
                "scale",
                "delete",
                "unknown",
                "rename",
                "duplicate",
                "empty",
                "nobody",
                "fraction",
                "condition",
                "name",
                "people",
                "zones",
            ]
        )
    )
    all_paths = paths(data)
    if op in ("value", "scale", "delete", "rename", "name") and not all_paths:
        op = "unknown"
    if op == "value":
        path = draw(st.sampled_from(all_paths))
        old = get(data, path)
        new = draw(hostile_values(big))
        get(data, path[:-1])[path[-1]] = new
        reasons += _value_reasons(original, path, old, new)
    elif op == "scale":
        nums = [p for p in all_paths if kind_of(get(data, p)) == "number"]
        if not nums:
            return
        path = draw(st.sampled_from(nums))
        old = get(data, path)
        factor = draw(st.sampled_from([-1, 0, 0.5, 10, 1000, 1e6] + ([1e12, 1e300, 1e308] if big else [])))
        try:
            new = old * factor
        except OverflowError:
            new = math.inf
        if (
            isinstance(new, float)
            and math.isfinite(new)
            and new == int(new)
            and isinstance(old, int)
            and abs(new) < 2**62
        ):
            new = int(new)
        get(data, path[:-1])[path[-1]] = new
        reasons += _value_reasons(original, path, old, new)
    elif op == "delete":
        path = draw(st.sampled_from(all_paths))
        parent = get(data, path[:-1])
        key = path[-1]
        if isinstance(parent, dict):
            del parent[key]
            if key in REQUIRED:
                reasons.append((f"{'.'.join(map(str, path))}: a required key deleted", _lacks_key(path[:-1], key)))
        else:
            parent.pop(key)
    elif op == "unknown":
        tables = [p for p in _parents(data) if isinstance(get(data, p) if p else data, dict)]
        path = draw(st.sampled_from(tables))
        name = draw(st.sampled_from(["betta", "x", "Days", "S ", "zones2", "\x00", "", "é", "a.b"]))
        table = get(data, path) if path else data
        if name not in table:
            table[name] = draw(hostile_values(big))
            reasons.append((f"{'.'.join(map(str, (*path, name)))}: an unknown key", _has_key(path, name)))
    elif op == "rename":
        keyed = [p for p in all_paths if isinstance(p[-1], str)]
        if not keyed:
            return
        path = draw(st.sampled_from(keyed))
        parent = get(data, path[:-1])
        new_key = path[-1] + draw(st.sampled_from(["s", "_", "2"]))
        if new_key not in parent:
            parent[new_key] = parent.pop(path[-1])
            reasons.append(
                (f"{'.'.join(map(str, path))} renamed {new_key!r}: an unknown key", _has_key(path[:-1], new_key))
            )
    elif op == "duplicate":
        lists = [p for p in all_paths if isinstance(get(data, p), list) and get(data, p)]
        if not lists:
            return
        path = draw(st.sampled_from(lists))
        items = get(data, path)
        item = copy.deepcopy(draw(st.sampled_from(items)))
        items.append(item)
        if isinstance(item, dict) and "id" in item and path[-1] in ("zones", "factions", "strains"):
            reasons.append((f"{'.'.join(map(str, path))}: duplicate id {item['id']!r}", _duplicate_ids(path)))
    elif op == "empty":
        lists = [p for p in all_paths if isinstance(get(data, p), list)]
        if lists:
            path = draw(st.sampled_from(lists))
            if get(data, path):
                get(data, path[:-1])[path[-1]] = []
                if path == ("zones",):
                    reasons.append(("zones = []: at least one zone", lambda d: d.get("zones") == []))
    elif op == "nobody":
        for z in data.get("zones", []) if isinstance(data.get("zones"), list) else []:
            if isinstance(z, dict):
                z["population"] = draw(st.sampled_from([{}, {"S": 0}, {"S": 0, "Z": 0}, {"R": 0}]))
    elif op == "fraction":
        zones = [z for z in data.get("zones", []) if isinstance(z, dict)] if isinstance(data.get("zones"), list) else []
        if zones:
            z = draw(st.sampled_from(zones))
            if isinstance(z.get("population"), dict):
                z["population"][draw(st.sampled_from(sorted(COUNT_KEYS)))] = draw(
                    st.sampled_from([0.5, 999.5, 1e-9, 2.25])
                )
    elif op == "condition":
        cond = draw(conditions())
        pols = data.get("policies")
        zones = data.get("zones")
        zone = zones[0].get("id") if isinstance(zones, list) and zones and isinstance(zones[0], dict) else "town"
        zone = zone if isinstance(zone, str) else "town"
        tables = [p for p in pols if isinstance(p, dict)] if isinstance(pols, list) else []
        if tables and draw(st.booleans()):
            draw(st.sampled_from(tables))[draw(st.sampled_from(["when", "until"]))] = cond
        else:
            data.setdefault("policies", [])
            if isinstance(data["policies"], list):
                data["policies"].append({"type": "cure", "zones": [zone], "rate": 0.1, "when": cond})
    elif op == "name":
        strs = [p for p in all_paths if kind_of(get(data, p)) == "string"]
        if not strs:
            return
        path = draw(st.sampled_from(strs))
        old = get(data, path)
        new = draw(st.one_of(st.sampled_from(STRINGS + ID_LIKE), st.text(max_size=20)))
        if path[-1] in CONDITION_KEYS:
            return
        get(data, path[:-1])[path[-1]] = new
        reasons += _value_reasons(original, path, old, new)
    elif op == "people":
        zones = [z for z in data.get("zones", []) if isinstance(z, dict)] if isinstance(data.get("zones"), list) else []
        if zones:
            z = draw(st.sampled_from(zones))
            counts = [10**3, 10**4, 10**5] + (
                [10**7, 10**9, 10**10, 10**12, 1e19, HUGE_FLOAT, 2**63, 2**64] if big else []
            )
            z["population"] = {draw(st.sampled_from("SEHZDR")): draw(st.sampled_from(counts))}
            z["population"].setdefault("S", 10)
    elif op == "zones":
        n = draw(st.sampled_from([2, 5, 30] + ([300, 300, 3000, 3000, 20_000] + [30] * 24 + [100_000] if big else [])))
        data["zones"] = (
            [{"id": f"z{i}", "population": {"S": 10, "Z": 1}} for i in range(n)] if n < 300 else ManyZones(n)
        )
        data.pop("routes", None)
        data.pop("policies", None)
        data.pop("factions", None)


@st.composite
def scenario_cases(draw: st.DrawFn, big: bool = False) -> dict[str, Any]:
    """A built-in scenario, mutated, written as a file, then checked or run for 1 to 3 days."""
    name = draw(st.sampled_from(NAMES))
    data = copy.deepcopy(BUILTINS[name])
    pending: Pending = []
    for _ in range(draw(st.integers(0, 4))):
        draw(mutate(data, big, pending, BUILTINS[name]))
    reasons = [why for why, holds in pending if holds(data)]
    text = dump_toml(data)
    raw = draw(st.integers(0, 14))
    if raw == 0:  # damage the text itself
        how = draw(st.sampled_from(["truncate", "insert", "duplicate-line", "deep", "bom", "empty", "junk"]))
        lines = text.splitlines(keepends=True)
        if how == "truncate":
            text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
        elif how == "insert":
            i = draw(st.integers(0, len(text)))
            text = (
                text[:i]
                + draw(st.sampled_from(["\x00", "[", "]", "=", '"', "\n[[zones]]\n", "\ufeff", "\x7f"]))
                + text[i:]
            )
        elif how == "duplicate-line" and lines:
            line = draw(st.sampled_from(lines))
            text = text + line
        elif how == "deep":
            depth = draw(st.sampled_from([50, 500, 1000, 5000] if big else [50, 200]))
            text = text + "deep = " + "[" * depth + "1" + "]" * depth + "\n"
        elif how == "bom":
            text = "\ufeff" + text
        elif how == "empty":
            text = ""
        else:
            text = draw(st.text(max_size=200, alphabet=st.characters(exclude_categories=("Cs",))))
        reasons = []  # whatever the text is now, its parse decides; the oracle below checks the run's output
        data = {}
    checking = draw(st.integers(0, 4)) == 0
    engine_opt = None if checking else draw(st.sampled_from([None, "ode", "ssa", "abm"]))
    run = data.get("run") if isinstance(data.get("run"), dict) else {}
    file_engine = run.get("engine", "ode") if isinstance(run, dict) else "ode"
    engine = engine_opt or (file_engine if file_engine in ENGINES else None)
    people_reasons, humans = population_problems(data, engine) if data else ([], None)
    reasons += people_reasons
    days = draw(st.integers(1, 3))
    if checking:
        argv = ["check", "{tmp}/scenario.toml"]
        check: dict[str, Any] = {}
    else:
        argv = ["run", "{tmp}/scenario.toml", "--days", str(days), "--json"]
        if engine_opt:
            argv += ["--engine", engine_opt]
        if draw(st.booleans()):
            argv += ["--seed", str(draw(st.integers(0, 2**63 - 1)))]
        check = {"json": True, "summary": True}
        if humans is not None and not reasons:
            check["initial_humans"] = humans
    return {
        "kind": "scenario",
        "argv": argv,
        "files": {"scenario.toml": {"text": text}},
        "reject": sorted(set(reasons)),
        "check": check,
    }


# -- command lines ----------------------------------------------------------------------------------


def _opt(
    draw: st.DrawFn, flag: str, good: list[Any], bad: list[tuple[Any, str]], reasons: list[str], p_bad: int = 3
) -> list[str]:
    """``[flag, value]`` with a good value, or a bad one (and its reason) about one time in ``p_bad``."""
    if bad and draw(st.integers(0, p_bad - 1)) == 0:
        value, why = draw(st.sampled_from(bad))
        if why:
            reasons.append(f"{flag} {value}: {why}")
        return [flag, str(value)]
    return [flag, str(draw(st.sampled_from(good)))]


DAYS_BAD: list[tuple[Any, str]] = [
    (0, "no days"),
    (-1, "negative days"),
    (-5, "negative days"),
    ("1.5", ""),
    ("true", ""),
    ("", ""),
    (10**20, ""),
]
DAYS_BAD_BIG: list[tuple[Any, str]] = [(200_000, "more than 100,000 days"), (100_001, "more than 100,000 days")]
SEED_BAD: list[tuple[Any, str]] = [
    (-1, "negative seed"),
    (2**63, "seed >= 2^63"),
    (2**64, "seed >= 2^63"),
    (2**64 + 5, "seed >= 2^63"),
    ("x", ""),
    ("1e3", ""),
]
ENGINE_BAD: list[tuple[Any, str]] = [
    ("gpu", "no such engine"),
    ("", "no such engine"),
    ("ABM", "no such engine"),
    ("ode ", "no such engine"),
    ("ode\x00", "no such engine"),
]
SETS_GOOD = ["pathogen.beta=0.3", "zones.town.wall=0.5", "run.seed=3", "defence.alpha=0.01"]
SETS_BAD: list[tuple[Any, str]] = [
    ("pathogen.beta=-1", "negative rate"),
    ("pathogen.beta=true", "a boolean rate"),
    ('pathogen.beta="0.25"', "a string rate"),
    ("pathogen.beta=nan", "not finite"),
    ("pathogen.beta=inf", "not finite"),
    ("pathogen.beta=1e308", "absurdly large"),
    ("pathogen.betta=1", "unknown key"),
    ("run.days=0", "no days"),
    ("run.days=true", "a boolean days"),
    ("nonsense", ""),
    ("=", ""),
    ("zones.nowhere.wall=1", "no such zone"),
    ("zones.town.population.S=0.5", ""),
    ("run.seed=-1", "negative seed"),
    ("run.seed=18446744073709551616", "seed >= 2^63"),
    ("zones.town.population={}", ""),
    ("pathogen=[[[[1]]]]", "a list for a table"),
    ('zones.town.name="a\\u0000b"', "control characters in a name"),
]


@st.composite
def cli_cases(draw: st.DrawFn, big: bool = False) -> dict[str, Any]:
    """A command line of ``aftermath``: each flag with a good value or, often, a bad one."""
    reasons: list[str] = []
    absent: list[str] = []
    allowed: list[str] | None = None
    check: dict[str, Any] = {}
    cmd = draw(
        st.sampled_from(
            [
                "run",
                "run",
                "run",
                "check",
                "scenarios",
                "ensemble",
                "sweep",
                "compare",
                "report",
                "query",
                "export",
                "rerun",
                "validate",
                "junk",
            ]
        )
    )
    scen = draw(st.sampled_from(["sir", "munz-basic", "hyosan", "alemi-mixed"]))
    days_bad = DAYS_BAD + (DAYS_BAD_BIG if big else [])
    days: list[str] = []
    files: dict[str, Any] = {}
    if cmd == "run":
        days = _opt(draw, "--days", [1, 2, 3], days_bad, reasons)
        argv = ["run", scen, *days]
        if draw(st.booleans()):
            argv += _opt(draw, "--engine", list(ENGINES), ENGINE_BAD, reasons)
        if draw(st.booleans()):
            argv += _opt(draw, "--seed", [0, 1, 7, 2**63 - 1], SEED_BAD, reasons)
        if draw(st.integers(0, 3)) == 0:
            argv += _opt(draw, "--set", SETS_GOOD if scen == "sir" else ["pathogen.beta=0.3"], SETS_BAD, reasons, 2)
        as_json = draw(st.booleans())
        if as_json:
            argv.append("--json")
            check = {"json": True, "summary": True}
        if draw(st.integers(0, 3)) == 0:
            argv.append("--chronicle")
        if draw(st.integers(0, 3)) == 0:
            plot, why = draw(
                st.sampled_from(
                    [
                        ("{tmp}/fig.png", ""),
                        ("{tmp}/fig.svg", ""),
                        ("{tmp}/fig.xyz", "bad format"),
                        ("{tmp}/missing/fig.png", "no such folder"),
                        ("{tmp}", "a folder"),
                        ("", "empty path"),
                    ]
                )
            )
            argv += ["--plot", plot]
            if why:
                reasons.append(f"--plot {plot}: {why}")
            absent.append("missing")
        if draw(st.integers(0, 3)) == 0:
            rep, why = draw(
                st.sampled_from(
                    [("{tmp}/r.html", ""), ("{tmp}/missing/dir/r.html", "no such folder"), ("{tmp}", "a folder")]
                )
            )
            argv += ["--report", rep]
            if why:
                reasons.append(f"--report {rep}: {why}")
            absent.append("missing")
    elif cmd == "check":
        target, why = draw(
            st.sampled_from(
                [
                    (scen, ""),
                    ("{tmp}/none.toml", "no such file"),
                    ("{tmp}", "a folder"),
                    ("{tmp}/empty.toml", "empty"),
                    ("/dev/null", "empty"),
                    ("nosuch", "no such scenario"),
                    ("", "empty name"),
                    ("{tmp}/secret.txt", "not TOML"),
                ]
                + ([("/dev/zero", "not a scenario file")] if big else [])
            )
        )
        files["empty.toml"] = {"text": ""}
        argv = ["check", target]
        if why:
            reasons.append(f"check {target}: {why}")
    elif cmd == "scenarios":
        argv = ["scenarios", *draw(st.sampled_from([[], ["extra"], ["--json"]]))]
        if len(argv) > 1:
            reasons.append("scenarios takes no arguments")
    elif cmd in ("ensemble", "sweep", "compare"):
        store, why = draw(
            st.sampled_from(
                [
                    ("{tmp}/s.duckdb", ""),
                    ("{tmp}/missing/s.duckdb", "no such folder"),
                    ("{tmp}", "a folder"),
                    ("{tmp}/secret.txt", "not a store"),
                ]
            )
        )
        if why:
            reasons.append(f"--store {store}: {why}")
        absent.append("missing")
        runs_bad: list[tuple[Any, str]] = [(0, "no runs"), (-1, "negative runs")] + (
            [(10**9, "beyond the budget")] if big else []
        )
        runs = _opt(draw, "--runs", [1, 2], runs_bad, reasons)
        days = _opt(draw, "--days", [1, 2, 3], days_bad, reasons)
        engine = _opt(draw, "--engine", ["ode", "ssa"] + (["abm"] if cmd == "compare" else []), ENGINE_BAD, reasons)
        argv = [cmd, "sir" if scen == "hyosan" and cmd != "compare" else scen, *runs, *engine, *days, "--store", store]
        if draw(st.integers(0, 3)) == 0:
            argv += _opt(draw, "--seed", [0, 5], SEED_BAD, reasons)
        if draw(st.integers(0, 5)) == 0:
            argv += _opt(draw, "--workers", [1, 2], [(0, "no workers"), (-2, "negative workers")], reasons)
        if cmd == "sweep":
            spec, why = draw(
                st.sampled_from(
                    [
                        ("pathogen.beta=0.1:0.3:2", ""),
                        ("pathogen.beta=0.1,0.2", ""),
                        ("pathogen.beta=0:1:0", "no points"),
                        ("pathogen.beta=1:0:-3", "negative points"),
                        ("pathogen.beta", "no values"),
                        ("pathogen.beta=a:b:c", "not numbers"),
                        ("pathogen.betta=0.1,0.2", "unknown key"),
                        ("pathogen.beta=nan,inf", "not finite"),
                        ("pathogen.beta=-1,0.1", "negative rate"),
                    ]
                    + ([("pathogen.beta=0:1:100000000", "beyond the budget")] if big else [])
                )
            )
            argv += ["--param", spec]
            if why:
                reasons.append(f"--param {spec}: {why}")
            if big and draw(st.integers(0, 5)) == 0:
                argv += ["--lhs", "1000000000"]
                reasons.append("--lhs 1000000000: beyond the budget")
        if cmd == "compare":
            pol, why = draw(
                st.sampled_from(
                    [
                        ("more:pathogen.beta=0.3", ""),
                        ("nolabel", "not LABEL:PATH=VALUE"),
                        (":pathogen.beta=1", "no label"),
                        ("x:pathogen.beta=-1", "negative rate"),
                        ("x:pathogen.betta=1", "unknown key"),
                        ("x:policies.99.kill=1", "no such policy"),
                    ]
                )
            )
            argv += ["--policy", pol]
            if why:
                reasons.append(f"--policy {pol}: {why}")
        if cmd == "ensemble" and draw(st.integers(0, 3)) == 0:
            v, why = draw(
                st.sampled_from(
                    [
                        ("b:pathogen.beta=0.3", ""),
                        ("b", "not NAME:PATH=VALUE"),
                        ("b:pathogen.beta=true", "a boolean rate"),
                    ]
                )
            )
            argv += ["--variant", v]
            if why:
                reasons.append(f"--variant {v}: {why}")
        if draw(st.booleans()):
            argv.append("--json")
            check = {"json": True}
    elif cmd == "report":
        target, why = draw(
            st.sampled_from(
                [(scen, ""), ("{tmp}/none.duckdb", "no such store"), ("{tmp}/secret.txt", "not a scenario")]
            )
        )
        out, why2 = draw(
            st.sampled_from([("{tmp}/r.html", ""), ("{tmp}", "a folder"), ("{tmp}/missing/r.html", "no such folder")])
        )
        days = _opt(draw, "--days", [1, 2, 3], days_bad, reasons)
        argv = ["report", target, "-o", out, *days]
        if draw(st.booleans()):
            argv += _opt(draw, "--engine", list(ENGINES), ENGINE_BAD, reasons)
        reasons += [r for r in (why and f"report {target}: {why}", why2 and f"-o {out}: {why2}") if r]
        absent.append("missing")
    elif cmd in ("query", "export", "rerun"):
        store, why = draw(
            st.sampled_from(
                [("{tmp}/none.duckdb", "no such store"), ("{tmp}", "a folder"), ("{tmp}/secret.txt", "not a store")]
            )
        )
        reasons.append(f"--store {store}: {why}")
        if cmd == "query":
            argv = ["query", "select count(*) from runs", "--store", store]
        elif cmd == "export":
            argv = ["export", "--parquet", "{tmp}/out", "--store", store]
            absent.append("out")
        else:
            argv = ["rerun", store]
        days = []
    elif cmd == "validate":
        argv = ["validate", *draw(st.sampled_from([["--list"], ["--check", "nosuch"], ["--check", ""]]))]
        if argv[1] == "--check":
            reasons.append("no such check")
    else:
        argv = draw(
            st.lists(
                st.one_of(
                    st.sampled_from(
                        [
                            "run",
                            "--days",
                            "-d",
                            "--",
                            "-",
                            "--json",
                            "--help=x",
                            "--engine",
                            "sir",
                            "-5",
                            "--seed",
                            "--set",
                            "=",
                            "--no-such",
                        ]
                    ),
                    st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
                ),
                min_size=1,
                max_size=5,
            )
        )
        check = {}
        if argv and argv[0] == "run" and not any(a.startswith("-") for a in argv[1:]):
            argv = [*argv[:2], "--days", "1"]  # a bare run of a file named by chance: keep it short
        absent = []
        allowed = None
    check = {**check, "absent": absent}
    if allowed is not None:
        check["allowed_files"] = allowed
    return {"kind": "cli", "argv": argv, "files": files, "reject": sorted(set(reasons)), "check": check}
