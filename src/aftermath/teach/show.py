"""A scenario as commented TOML to start from (``aftermath show``), and its policies with their paths.

Every key is written, defaults included, each with a comment taken from the schema: the field's
description, its unit where the bound says it (a rate per day, a probability, people, days) and its
bounds. The text reads back as the same scenario (``tests/test_teach_tools.py`` holds it).
"""

from __future__ import annotations

import math
import typing
from typing import Any

from pydantic import BaseModel

from aftermath.scenario import schema
from aftermath.scenario.load import to_dict
from aftermath.scenario.schema import Scenario
from aftermath.scenario.toml_out import toml_key, toml_value

#: Units read from a field's upper bound (the schema's named bounds).
_UNITS = {
    schema.MAX_RATE: "per day",
    schema.MAX_PEOPLE: "people",
    schema.MAX_DURATION: "days",
    schema.MAX_BIRTHS: "births per day",
    schema.MAX_SUPPLIES: "person-days",
}
_WIDTH = 100


def _bounds(field: Any) -> tuple[str, str | None]:
    """``(bounds text, unit)`` from a field's metadata (Ge, Le, Gt, Lt)."""
    lo = hi = None
    lo_op, hi_op = ">=", "<="
    for m in field.metadata:
        if hasattr(m, "ge"):
            lo = m.ge
        if hasattr(m, "gt"):
            lo, lo_op = m.gt, ">"
        if hasattr(m, "le"):
            hi = m.le
        if hasattr(m, "lt"):
            hi, hi_op = m.lt, "<"
    unit = _UNITS.get(hi) if isinstance(hi, int | float) else None
    if unit == "per day" and any(w in (field.description or "") for w in ("weight", "multiplier", "relative")):
        unit = None  # a weight shares the rates' bound, not their unit
    if lo == 0 and hi == 1 and field.annotation in (float, float | None):
        unit = "probability or share"
    if lo is None and hi is None:
        return "", unit
    if lo is not None and hi is not None and lo_op == ">=" and hi_op == "<=":
        return f"{_num(lo)} to {_num(hi)}", unit
    parts = [f"{op} {_num(v)}" for op, v in ((lo_op, lo), (hi_op, hi)) if v is not None]
    return ", ".join(parts), unit


def _num(x: Any) -> str:
    if x == 2**63:
        return "2^63"
    if isinstance(x, int | float) and math.isfinite(x):
        if float(x).is_integer() and abs(x) < 1e7:
            return f"{int(x):,}".replace(",", "_") if abs(x) >= 10_000 else str(int(x))
        return f"{x:g}"
    return str(x)


def _field_of(model: type[BaseModel], key: str) -> Any:
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)


def _sub_model(field: Any, value: Any) -> type[BaseModel] | None:
    """The model a table or array of tables holds (a policy's by its ``type`` tag)."""
    models: list[type[BaseModel]] = []

    def walk(a: Any) -> None:
        if isinstance(a, type) and issubclass(a, BaseModel):
            models.append(a)
        for x in typing.get_args(a):
            walk(x)

    walk(field.annotation)
    if len(models) == 1:
        return models[0]
    if isinstance(value, dict) and "type" in value:
        return next((m for m in models if "type" in m.model_fields
                     and typing.get_args(m.model_fields["type"].annotation) == (value["type"],)), None)
    return None


def _comment(field: Any) -> str:
    bounds, unit = _bounds(field)
    bits = [field.description or ""]
    tail = "; ".join(b for b in (unit, bounds) if b)
    if tail:
        bits.append(f"[{tail}]")
    return " ".join(b for b in bits if b).replace("\n", " ")


def _emit_table(out: list[str], model: type[BaseModel], data: dict[str, Any], header: str | None) -> None:
    scalars = {k: v for k, v in data.items() if not _is_table(model, k, v)}
    tables = {k: v for k, v in data.items() if _is_table(model, k, v)}
    if header is not None:
        doc = (model.__doc__ or "").strip().splitlines()
        out.append("")
        if doc and doc[0]:
            out.append(f"# {doc[0]}")
        out.append(header)
    for k, v in scalars.items():
        field = _field_of(model, k)
        line = f"{toml_key(k)} = {toml_value(v)}"
        note = _comment(field) if field is not None else ""
        if note:
            pad = max(24, len(line) + 2)
            text = f"{line.ljust(pad)}# {note}"
            line = text if len(text) <= _WIDTH or len(line) > 60 else f"# {note}\n{line}"
        out.append(line)
    prefix = "" if header is None else header.strip("[]") + "."
    for k, v in tables.items():
        field = _field_of(model, k)
        if isinstance(v, dict):
            sub = _sub_model(field, v)
            if sub is not None:
                _emit_table(out, sub, v, f"[{prefix}{k}]")
        else:
            for item in v:
                sub = _sub_model(field, item)
                if sub is not None:
                    _emit_table(out, sub, item, f"[[{prefix}{k}]]")


def _is_table(model: type[BaseModel], key: str, value: Any) -> bool:
    field = _field_of(model, key)
    if field is None:
        return False
    if isinstance(value, dict):
        return _sub_model(field, value) is not None and key != "population"  # a zone's population: inline
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return _sub_model(field, value[0]) is not None
    return False


def commented_toml(scenario: Scenario, title: str = "") -> str:
    """The whole scenario as TOML, every key with a comment from the schema."""
    data = to_dict(scenario)
    out = [f"# {title or scenario.name}: every key, defaults included, with its meaning and bounds.",
           "# Edit and run with: aftermath run FILE.toml (docs/scenario.md documents every key)."]
    _emit_table(out, Scenario, data, None)
    return "\n".join(out) + "\n"
