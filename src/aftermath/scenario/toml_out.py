"""Writing a scenario back as TOML: the dashboard's "download the scenario", and the values and keys
of ``aftermath show`` (:func:`toml_value`, :func:`toml_key`).

The scenario's plain mapping (:func:`aftermath.scenario.load.to_dict`: tables, arrays of tables,
strings, numbers, booleans) is written as TOML, and the text is read back with ``tomllib`` and
compared with the mapping before it is returned: a scenario that would not read back the same is
never written (:class:`TomlWriteError`). No TOML writer is a dependency of the package (``tomllib``
only reads), and a scenario needs only this small part of TOML.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


class TomlWriteError(ValueError):
    """The mapping holds something this writer cannot write exactly (a bug if it is a scenario)."""


def toml_key(k: str) -> str:
    """A key: bare when TOML allows, else quoted."""
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def toml_value(v: Any) -> str:
    """A value: strings in JSON quoting (a subset of TOML's basic strings), numbers (``inf`` too; a
    float's ``repr`` always has a point or an exponent), booleans, arrays and inline tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            raise TomlWriteError("a number that is not a number (nan)")
        return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, str):
        # JSON escapes (\", \\, \n, \uXXXX) are TOML basic-string escapes too
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TomlWriteError(f"a value of type {type(v).__name__}")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _table(lines: list[str], data: Mapping[str, Any], prefix: str) -> None:
    plain = [(k, v) for k, v in data.items() if not isinstance(v, Mapping) and not _is_table_array(v)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping)]
    arrays = [(k, v) for k, v in data.items() if _is_table_array(v)]
    for k, v in plain:
        lines.append(f"{toml_key(str(k))} = {toml_value(v)}")
    for k, v in tables:
        name = f"{prefix}.{toml_key(str(k))}" if prefix else toml_key(str(k))
        lines.extend(["", f"[{name}]"])
        _table(lines, v, name)
    for k, items in arrays:
        name = f"{prefix}.{toml_key(str(k))}" if prefix else toml_key(str(k))
        for item in items:
            lines.extend(["", f"[[{name}]]"])
            _table(lines, item, name)


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` as TOML text that ``tomllib`` reads back equal to ``data``."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, data, "")
    text = "\n".join(lines).strip("\n") + "\n"
    if tomllib.loads(text) != json.loads(json.dumps(data)):
        raise TomlWriteError("the written TOML does not read back the same")
    return text
