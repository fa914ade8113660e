"""Writing a scenario back as TOML, for the dashboard's "download the scenario".

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


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise TomlWriteError(f"a non-finite number {v!r}")
        text = repr(v)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(v, str):
        # JSON escapes (\", \\, \n, \uXXXX) are TOML basic-string escapes too
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise TomlWriteError(f"a value of type {type(v).__name__}")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _table(lines: list[str], data: Mapping[str, Any], prefix: str) -> None:
    plain = [(k, v) for k, v in data.items() if not isinstance(v, Mapping) and not _is_table_array(v)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping)]
    arrays = [(k, v) for k, v in data.items() if _is_table_array(v)]
    for k, v in plain:
        lines.append(f"{_key(str(k))} = {_scalar(v)}")
    for k, v in tables:
        name = f"{prefix}.{_key(str(k))}" if prefix else _key(str(k))
        lines.extend(["", f"[{name}]"])
        _table(lines, v, name)
    for k, items in arrays:
        name = f"{prefix}.{_key(str(k))}" if prefix else _key(str(k))
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
