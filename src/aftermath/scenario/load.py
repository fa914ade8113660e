"""Loading scenarios: built-in names or TOML files, validation errors a person can act on, variants.

Every failure here raises :class:`ScenarioError`, which names the file, the key path, the value
and what was expected. The CLI prints it and exits with code 2; it never shows a traceback.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
import stat
import tomllib
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from aftermath.scenario.regions import TableFiles, table_files
from aftermath.scenario.schema import Policy, Scenario, _Expect, _RefError

BUILTIN_PACKAGE = "aftermath.scenario.builtin"
#: The largest scenario file (or text) read: 1 MiB. Checked before reading.
MAX_FILE_BYTES = 1 << 20
#: The deepest nesting of tables and arrays in a scenario (a real one needs 4).
MAX_DEPTH = 32


class ScenarioError(ValueError):
    """A scenario that cannot be loaded: says where, what and what was expected."""

    def __init__(self, source: str, path: str, value: object, expected: str) -> None:
        self.source, self.path, self.value, self.expected = source, path, value, expected
        where = f"{source}: {path}" if path else source
        shown = "" if value is _MISSING else f": got {_show(value)}"
        super().__init__(f"{where}{shown}, expected {expected}" if shown else f"{where}: expected {expected}")


_MISSING = object()


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, default first."""
    names = sorted(
        p.name.removesuffix(".toml")
        for p in resources.files(BUILTIN_PACKAGE).iterdir()
        if p.name.endswith(".toml")
    )
    return sorted(names, key=lambda n: (n != "hyosan", n))


def builtin_text(name: str) -> str:
    return resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")


def load(source: str | Path = "hyosan") -> Scenario:
    """Load a built-in scenario by name, or a TOML file by path."""
    src = str(source)
    if not src.strip():  # Path("") is "." (a folder that exists): name what was given
        raise ScenarioError("scenario", "", src, "a built-in name (aftermath scenarios) or a TOML file")
    if src in builtin_names():
        return parse_toml(builtin_text(src), source=f"<builtin {src}>")
    path = Path(src)
    if not path.exists():
        expected = f"an existing scenario file or one of the built-ins {builtin_names()} (no such file)"
        raise ScenarioError(src, "", _MISSING, expected)
    # a [regions] table's CSV file is read from the scenario file's folder
    return parse_toml(read_scenario_text(path, src), source=src, files=TableFiles(base=path.parent))


def read_scenario_text(path: Path, source: str) -> str:
    """The text of a scenario file: a regular file of at most :data:`MAX_FILE_BYTES`, in UTF-8.

    The kind and size are checked before reading (``/dev/zero`` or a pipe is refused, not read),
    and no more than the limit is ever read, even from a file that grows meanwhile.
    """
    not_regular = "a regular file (this is a device, folder, pipe or socket)"
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before open(): a FIFO would block it
            raise ScenarioError(source, "", _MISSING, not_regular)
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):  # replaced meanwhile
                raise ScenarioError(source, "", _MISSING, not_regular)
            if st.st_size > MAX_FILE_BYTES:
                raise ScenarioError(source, "", _MISSING, f"a scenario file of at most {MAX_FILE_BYTES:,} bytes "
                                    f"(this one has {st.st_size:,})")
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(source, "", _MISSING, f"a readable UTF-8 TOML file ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(source, "", _MISSING, f"a scenario file of at most {MAX_FILE_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, "", _MISSING, f"a readable UTF-8 TOML file ({exc})") from None


def parse_toml(text: str, source: str = "<string>", files: TableFiles | None = None) -> Scenario:
    """Parse and validate TOML text (at most :data:`MAX_FILE_BYTES` of it, nested at most
    :data:`MAX_DEPTH` deep). ``files``: as :func:`from_dict`'s."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(source, "", _MISSING, f"a scenario of at most {MAX_FILE_BYTES:,} characters")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, text, source) from None
    except RecursionError:
        raise ScenarioError(source, "", _MISSING, f"TOML nested at most {MAX_DEPTH} deep (arrays or inline "
                            "tables nested too deeply to read)") from None
    except ValueError:  # an integer of more than 4300 digits (Python's conversion limit)
        raise ScenarioError(source, "", _MISSING, "valid TOML whose integers have at most 4300 digits") from None
    return from_dict(data, source=source, files=files)


def _toml_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> ScenarioError:
    """Name the line (as the path) and its text (as the value) of a TOML syntax error."""
    msg = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
    if m is None:
        return ScenarioError(source, "", _MISSING, f"valid TOML ({msg})")
    line, col = int(m.group(1)), int(m.group(2))
    lines = text.splitlines()
    shown = lines[line - 1] if 0 < line <= len(lines) else _MISSING
    return ScenarioError(source, f"line {line}, column {col}", shown, f"valid TOML ({msg[: m.start()]})")


def from_dict(data: Mapping[str, Any], source: str = "<dict>", files: TableFiles | None = None) -> Scenario:
    """Validate a plain mapping (as read from TOML) into a :class:`Scenario`.

    NumPy scalars are read as the Python numbers they hold (a sweep's values are often NumPy's);
    otherwise numbers are strict: ``true`` or ``"0.25"`` is not a number.

    ``files`` says whether ``regions.data`` may name a CSV file and where a relative one is read
    from (:class:`~aftermath.scenario.regions.TableFiles`; ``BUILTIN_ONLY`` for a scenario from a
    web client). None: as the caller's context set it (by default any file, from the current folder).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(source, "", data, "a table of scenario keys")
    plain = _plain(data, source, "", 0)
    try:
        if files is None:
            return Scenario.model_validate(plain)
        with table_files(files):
            return Scenario.model_validate(plain)
    except ValidationError as exc:
        raise _to_scenario_error(exc, source, plain) from None
    except _RefError as exc:  # raised directly in some pydantic versions
        raise ScenarioError(source, exc.path, exc.value, exc.expected) from None


def _plain(value: Any, source: str, path: str, depth: int) -> Any:
    """``value`` with NumPy scalars made Python numbers; nesting deeper than :data:`MAX_DEPTH` refused."""
    if depth > MAX_DEPTH:
        raise ScenarioError(source, path, _MISSING, f"tables and arrays nested at most {MAX_DEPTH} deep")
    if isinstance(value, Mapping):
        return {k: _plain(v, source, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, source, f"{path}.{i}" if path else str(i), depth + 1) for i, v in enumerate(value)]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _to_scenario_error(exc: ValidationError, source: str, data: Mapping[str, Any]) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # an unknown key first: a misspelt required key ('frm', 'from_') also reads as the key missing
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    ctx = err.get("ctx") or {}
    ctx_err = ctx.get("error")
    if isinstance(ctx_err, _RefError):
        return ScenarioError(source, ctx_err.path, ctx_err.value, ctx_err.expected)
    raw = tuple(err["loc"])
    loc = [str(p) for i, p in enumerate(raw) if not _is_union_tag(raw, i)]
    path = ".".join(loc)
    kind = err["type"]
    value = err.get("input", _MISSING)
    if isinstance(ctx_err, _Expect):
        return ScenarioError(source, path, value, ctx_err.expected)
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        known = _known_keys(raw[:-1])
        near = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return ScenarioError(source, path, _Unknown(loc[-1], value), f"one of the known keys {known}{hint}")
    if kind == "missing":
        return ScenarioError(source, path, _MISSING, "this key to be set (it is required)")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = value.get("type", _MISSING) if isinstance(value, dict) else _MISSING
        expected = f"one of the policy types [{_POLICY_TAGS_TEXT}]"
        if tag is _MISSING:
            expected = f"this key to be set to {expected}"
        return ScenarioError(source, path + ".type", tag, expected)
    if kind == "value_error" and loc and loc[-1] in ("when", "until"):
        return ScenarioError(source, path, value, f"a valid condition ({msg})")
    return ScenarioError(source, path, value, _expected(kind, ctx, msg))


class _Unknown:
    """Shows an unknown key and the value given to it, in an error message."""

    def __init__(self, key: str, value: object) -> None:
        self.key, self.value = key, value

    def __repr__(self) -> str:
        return f"unknown key {self.key!r} (set to {_show(self.value)})"


def _policy_types() -> dict[str, type[BaseModel]]:
    """The policy models of the ``Policy`` union, by their ``type`` tag."""
    members = typing.get_args(typing.get_args(Policy)[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0]: m for m in members}


_POLICY_TYPES = _policy_types()
_POLICY_TAGS_TEXT = ", ".join(repr(t) for t in _POLICY_TYPES)


def _is_union_tag(loc: tuple[Any, ...], i: int) -> bool:
    """Pydantic puts the policy's ``type`` tag into the location (``policies.0.sweep.kill``); drop it.

    Only at that position: ``disposal`` and ``hybrids`` are also ordinary keys elsewhere.
    """
    return i == 2 and loc[0] == "policies" and isinstance(loc[1], int) and loc[i] in _POLICY_TYPES


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The TOML keys of the table at ``loc`` (a pydantic location, tags included), for messages."""
    node: type[BaseModel] | None = Scenario
    for part in loc:
        if isinstance(part, int):
            continue  # a list position: same model
        if part in _POLICY_TYPES and node is None:
            node = _POLICY_TYPES[part]  # the tag after a policy's position
            continue
        if node is None:
            return []
        field = next((f for n, f in node.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        models = _models_in(field.annotation)
        node = models[0] if len(models) == 1 else None  # None: the policy union, resolved by its tag
    return [f.alias or n for n, f in node.model_fields.items()] if node is not None else []


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The model classes inside an annotation such as ``X``, ``list[X]``, ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer (not true/false, not in quotes)",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number (not true/false, not in quotes)",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string (in quotes)",
    "recursion_loop": f"tables and arrays nested at most {MAX_DEPTH} deep",
    "list_type": "a list (a TOML array, or [[tables]])",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "string_pattern_mismatch": "an id: a letter, then letters, digits, '_' or '-'",
}


def _bound(bound: object) -> str:
    """A bound as a person writes it: 100,000 or 1e+12, 0.25."""
    if isinstance(bound, int | float) and math.isfinite(bound):
        if float(bound).is_integer() and abs(bound) < 1e7:
            return f"{int(bound):,}"
        return f"{bound:g}"
    return str(bound)


def _expected(kind: str, ctx: Mapping[str, Any], msg: str) -> str:
    """What was expected, in plain words rather than pydantic's."""
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    for key, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if key in ctx and kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            return f"a number {op} {_bound(ctx[key])}"
    if kind == "string_too_long":
        return f"a string of at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item(s)"
    if kind == "literal_error":
        return "one of " + msg.removeprefix("Input should be ")
    if kind == "value_error":
        return f"a valid value ({msg})"
    low = msg[0].lower() + msg[1:] if msg else msg
    for prefix in ("input should be ", "input should ", "value should be "):
        if low.startswith(prefix):
            return low[len(prefix):]
    return low


# -- variants ---------------------------------------------------------------------------------


def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a plain mapping that :func:`from_dict` reads back (TOML key names)."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any], source: str = "<variant>",
                   files: TableFiles | None = None) -> Scenario:
    """A new scenario with values set by scenario path, e.g. ``{"pathogen.beta": 0.3}``.

    Lists of things with an ``id`` (zones, factions, strains) are addressed by id:
    ``zones.school.wall``; other lists by index: ``policies.0.kill``; a policy also by its name,
    in double quotes when it has spaces or dots: ``policies."cull hybrids when afraid".action``
    (:func:`policy_paths` lists them). The result is validated like a file, so a bad override
    raises :class:`ScenarioError` naming the path. ``files``: as :func:`from_dict`'s.
    """
    data = to_dict(scenario)
    for key, value in overrides.items():
        _set_path(data, key, value, source)
    return from_dict(data, source=source, files=files)


def split_path(key: str, source: str = "--set") -> list[tuple[str, bool]]:
    """The parts of a scenario path, split at dots outside double quotes: ``(text, quoted)`` each.

    ``policies."sweep the city".kill`` is ``[("policies", False), ("sweep the city", True),
    ("kill", False)]``. An unclosed quote is an error naming the path.
    """
    parts: list[tuple[str, bool]] = []
    buf, quoted, in_quote, i = "", False, False, 0
    while i < len(key):
        ch = key[i]
        if ch == '"':
            if in_quote:
                in_quote = False
            elif buf:
                raise ScenarioError(source, key, key, 'a path whose quoted parts are whole: policies."a name".key')
            else:
                in_quote, quoted = True, True
        elif ch == "." and not in_quote:
            parts.append((buf, quoted))
            buf, quoted = "", False
        else:
            if quoted and not in_quote:
                raise ScenarioError(source, key, key, 'a dot after a quoted part: policies."a name".key')
            buf += ch
        i += 1
    if in_quote:
        raise ScenarioError(source, key, key, 'a closing double quote: policies."a name".key')
    parts.append((buf, quoted))
    return parts


def _set_path(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = split_path(key, source)
    node: Any = data
    for depth, (part, quoted) in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(p for p, _ in parts[: depth + 1])
        if isinstance(node, list):
            idx = _list_index(node, part, quoted)
            if idx is None:
                raise ScenarioError(source, where, part, _list_expected(node))
            if last:
                node[idx] = copy.deepcopy(value)
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if part not in node:
                    node[part] = {}
                node = node[part]
        else:
            raise ScenarioError(source, where, node, "a table or a list to descend into")


def _list_expected(items: list[Any]) -> str:
    ids = [x.get("id") for x in items if isinstance(x, dict) and x.get("id") is not None]
    names = [x.get("name") for x in items if isinstance(x, dict) and x.get("name") is not None]
    if ids:
        return f"an index or one of the ids {ids}"
    if names:
        return f"an index (0 to {len(items) - 1}) or one of the names {names}"
    return f"an index (0 to {len(items) - 1})" if items else "an index of a non-empty list"


def _list_index(items: list[Any], part: str, quoted: bool = False) -> int | None:
    """The position ``part`` names in ``items``: an id, an index (unquoted), or a name (a policy's)."""
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == part:
            return i
    if not quoted and re.fullmatch(r"-?[0-9]{1,18}", part) and -len(items) <= int(part) < len(items):
        return int(part) % len(items)  # ASCII digits only
    named = [i for i, item in enumerate(items) if isinstance(item, dict) and item.get("name") == part]
    if len(named) == 1:
        return named[0]
    return None


def policy_paths(scenario: Scenario) -> list[dict[str, Any]]:
    """Each policy with the paths that address it in ``--set`` and ``compare --policy``: by index
    (``policies.5``) and, when its name is unique, by name (``policies."cull hybrids when afraid"``)."""
    names = [p.name for p in scenario.policies]
    out = []
    for i, p in enumerate(scenario.policies):
        by_name = None
        if p.name is not None and names.count(p.name) == 1 and '"' not in p.name:
            by_name = f'policies."{p.name}"'
        out.append({"index": i, "name": p.name, "type": p.type, "faction": p.faction, "zones": list(p.zones),
                    "when": p.when, "until": p.until, "path": f"policies.{i}", "path_by_name": by_name})
    return out


def parse_value(text: str) -> Any:
    """Parse a command-line value as TOML would (numbers, booleans, strings, arrays)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):  # not TOML, too deep, too many digits
        return text


# -- run options from a command line ------------------------------------------------------------

#: The command-line flag of each run option, for messages.
_RUN_FLAGS = {"days": "--days", "seed": "--seed", "engine": "--engine"}


def apply_run_options(scenario: Scenario, days: int | None = None, seed: int | None = None,
                      engine: str | None = None, source: str = "<command line>") -> Scenario:
    """``scenario`` with ``run.days``, ``run.seed`` and ``run.engine`` set from a command line (or
    an API call), validated by the same schema as a file: ``--days 200000`` is refused exactly as
    ``days = 200000`` is. ``None`` leaves a value as the scenario has it.

    Raises :class:`ScenarioError` naming the flag and the key, e.g.
    ``<command line>: --days (run.days): got -5, expected a number >= 1``.
    """
    # a value the scenario already has (of the same type: ``days=14.0`` is still refused as a file's
    # ``days = 14.0`` is) needs no new validation: the scenario is returned as it is (it is frozen)
    given = {k: v for k, v in (("days", days), ("seed", seed), ("engine", engine))
             if v is not None and not (type(v) is type(getattr(scenario.run, k)) and v == getattr(scenario.run, k))}
    if not given:
        return scenario
    data = to_dict(scenario)
    data.setdefault("run", {}).update(given)
    try:
        return from_dict(data, source=source)
    except ScenarioError as exc:
        key = exc.path.removeprefix("run.")
        if exc.path.startswith("run.") and key in given:
            raise ScenarioError(source, f"{_RUN_FLAGS[key]} ({exc.path})", exc.value, exc.expected) from None
        raise
