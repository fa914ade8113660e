"""The scenario schema as the page's forms read it: pydantic's JSON schema of
:class:`~aftermath.scenario.schema.Scenario` (every key, its default, bounds and description, the
same ``Field`` definitions ``docs/scenario.md`` documents), with each number's unit added.

Units follow the schema's conventions (its module docstring): rates per day, durations in days,
populations in people, supplies in person-days; a key's unit is read from its documented bound
(each kind of quantity has its own, e.g. a rate at most :data:`~aftermath.scenario.schema.MAX_RATE`),
with the weights that share a rate's bound named here.
"""

from __future__ import annotations

import functools
from typing import Any

from aftermath.scenario import schema as S
from aftermath.scenario.conditions import VARIABLES

#: Keys whose bound is a rate's but that are relative weights (they multiply a rate).
WEIGHTS = ("eta", "hybrid_weight", "flight")
#: Units by key where the bound does not say it.
BY_KEY = {"days": "days", "calm_days": "days", "every": "days", "dt": "days", "household_size": "people",
          "latency_shape": "stages", "max_strains": "strains", "sd": "log-normal s.d.", "k_res": "logit per unit"}
#: Units by the documented upper bound of each kind of quantity.
BY_BOUND = {S.MAX_RATE: "per day", S.MAX_PEOPLE: "people", S.MAX_DURATION: "days", S.MAX_GAIN: "gain",
            S.MAX_BIRTHS: "people per day", S.MAX_SUPPLIES: "person-days"}


def unit(key: str, prop: dict[str, Any]) -> str:
    """The unit of a number ``key`` with JSON-schema ``prop`` (its bounds), or ''."""
    if key in BY_KEY:
        return BY_KEY[key]
    hi = prop.get("maximum", prop.get("exclusiveMaximum"))
    if hi == 1.0 and prop.get("minimum") == 0.0:
        return "share"
    if key in WEIGHTS:
        return "relative weight"
    return BY_BOUND.get(hi, "") if hi is not None else ""


def _walk(node: Any) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for key, prop in props.items():
                choices = prop.get("anyOf", [prop])
                for c in choices:
                    if c.get("type") in ("number", "integer"):
                        u = unit(key, c)
                        if u:
                            prop["x-unit"] = u
                        break
        for v in node.values():
            _walk(v)
    elif isinstance(node, list):
        for v in node:
            _walk(v)


@functools.lru_cache(maxsize=1)
def form_schema() -> dict[str, Any]:
    """The JSON schema with units, and the variables a policy condition may use."""
    sch = S.Scenario.model_json_schema(by_alias=True)
    _walk(sch)
    return {"schema": sch, "condition_variables": VARIABLES}
