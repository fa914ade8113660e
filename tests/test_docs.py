"""docs/scenario.md documents every key of the schema, in the section of the table it belongs to.

The schema is walked from :class:`Scenario` through every nested model (lists, optional values and
the members of the policy union). Each model has a TOML table path (``[run]``,
``[[pathogen.strains]]``, ``[zones.population]``, ``type = "seal"`` for a policy type); the doc must
have a heading naming that path in backticks, and every field's TOML key (``from``, not ``from_``)
must appear in backticks in that section. Fields every policy has are looked for in the common
``[[policies]]`` section. Scalar defaults must appear in the key's table row.
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from aftermath.scenario import schema
from aftermath.scenario.conditions import VARIABLES
from aftermath.scenario.load import from_dict, parse_toml

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario.md"
ROOT_TOKEN = "top-level keys"  # the heading of the top-level table
COMMON_POLICY_TOKEN = "`[[policies]]`"


@dataclass(frozen=True)
class Table:
    model: type[BaseModel]
    token: str  # what its heading names, backticks included
    path: str  # dotted key path, for messages


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The model classes inside an annotation: X, list[X], X | None, dict[str, X], Annotated[...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        for m in _models_in(arg):
            if m not in out:
                out.append(m)
    return out


def _is_list(annotation: object) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) is list


def _key(name: str, field: object) -> str:
    return getattr(field, "alias", None) or name


def _policy_tag(model: type[BaseModel]) -> str | None:
    if not issubclass(model, schema._Policy):
        return None
    (tag,) = typing.get_args(model.model_fields["type"].annotation)
    return str(tag)


def schema_tables() -> list[Table]:
    """Every model reachable from Scenario, with the heading token of its table."""
    tables: list[Table] = [Table(schema.Scenario, ROOT_TOKEN, "")]
    seen: set[type[BaseModel]] = {schema.Scenario}
    queue = [tables[0]]
    while queue:
        parent = queue.pop(0)
        for name, field in parent.model.model_fields.items():
            key = _key(name, field)
            path = f"{parent.path}.{key}" if parent.path else key
            for sub in _models_in(field.annotation):
                if sub in seen:
                    continue
                seen.add(sub)
                tag = _policy_tag(sub)
                if tag is not None:
                    token = f'`type = "{tag}"`'
                elif _is_list(field.annotation):
                    token = f"`[[{path}]]`"
                else:
                    token = f"`[{path}]`"
                table = Table(sub, token, f"{path}[type={tag}]" if tag else path)
                tables.append(table)
                queue.append(table)
    return tables


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body up to the next heading of any level) for every heading; code blocks skipped."""
    out: list[tuple[str, str]] = []
    heading, body, in_code = "", [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and re.match(r"#{1,6} ", line):
            out.append((heading, "\n".join(body)))
            heading, body = line, []
        else:
            body.append(line)
    out.append((heading, "\n".join(body)))
    return out


def section_text(text: str, token: str) -> str | None:
    """The bodies of every section whose heading contains ``token``; None if there is none."""
    found = [body for heading, body in sections(text) if token in heading]
    return "\n".join(found) if found else None


def _format_default(value: object) -> str | None:
    if value is PydanticUndefined or value is None:
        return None
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int | float):
        return f"`{value:g}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return None


def _row(body: str, key: str) -> str | None:
    for line in body.splitlines():
        if line.startswith(f"| `{key}` |"):
            return line
    return None


def undocumented(text: str) -> list[str]:
    """Everything in the schema that ``text`` fails to document; empty when all is well."""
    problems: list[str] = []
    common = section_text(text, COMMON_POLICY_TOKEN)
    if common is None:
        problems.append(f"no section headed {COMMON_POLICY_TOKEN} for the fields every policy has")
        common = ""
    for table in schema_tables():
        body = section_text(text, table.token)
        if body is None:
            problems.append(f"no section headed {table.token} for {table.model.__name__}")
            continue
        for name, field in table.model.model_fields.items():
            key = _key(name, field)
            where = f"{table.path}.{key}" if table.path else key
            inherited = _policy_tag(table.model) is not None and name in schema._Policy.model_fields
            home = common if inherited else body
            if f"`{key}`" not in home:
                problems.append(f"{where}: `{key}` is not named in the section {table.token}")
                continue
            expected = _format_default(field.default)
            row = _row(home, key)
            if expected is not None and row is not None:
                cells = [c.strip() for c in row.strip("|").split("|")]
                if not any(expected == c or c.startswith(expected + " ") for c in cells[1:4]):
                    problems.append(f"{where}: the default {expected} is not in its row: {row}")
    return problems


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_walk_reaches_every_model() -> None:
    models = {t.model for t in schema_tables()}
    policy_members = typing.get_args(typing.get_args(schema.Policy)[0])
    assert len(policy_members) == 9
    for m in (
        schema.Scenario,
        schema.RunSettings,
        schema.Pathogen,
        schema.StrainSpec,
        schema.Mutation,
        schema.Defence,
        schema.Demography,
        schema.Society,
        schema.Fear,
        schema.Vigilance,
        schema.Supplies,
        schema.Trust,
        schema.Concealment,
        schema.Zone,
        schema.Population,
        schema.Route,
        schema.Faction,
        *policy_members,
    ):
        assert m in models, m.__name__
    # and nothing in the schema module that Scenario uses was missed
    declared = {
        obj
        for obj in vars(schema).values()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == schema.__name__
    }
    assert declared - models <= {schema._Base, schema._Policy, schema.StrainTraits}


def test_every_key_is_documented(doc: str) -> None:
    problems = undocumented(doc)
    assert not problems, "docs/scenario.md is out of step with the schema:\n" + "\n".join(problems)


def test_toml_key_names_are_used_not_python_names(doc: str) -> None:
    route = section_text(doc, "`[[routes]]`")
    assert route is not None
    assert "`from`" in route
    assert "`from_`" not in doc


def test_check_fails_for_an_undocumented_key(doc: str) -> None:
    """The check can fail: take a key out of the doc and it is reported, in the right table."""
    without_kappa = doc.replace("`kappa`", "kappa")
    assert any(p.startswith("pathogen.kappa:") for p in undocumented(without_kappa))
    # a key documented in one table does not count for another that has a key of the same name
    fear = section_text(doc, "`[society.fear]`")
    assert fear is not None
    without_fear_decay = doc.replace(fear, fear.replace("| `decay` |", "| decay |"))
    assert "`decay`" in without_fear_decay  # still named for [defence]
    assert any(p.startswith("society.fear.decay:") for p in undocumented(without_fear_decay))
    # a policy type without its section
    no_sweep = doc.replace('`type = "sweep"`', "sweeps")
    assert any("SweepPolicy" in p for p in undocumented(no_sweep))
    # a wrong default
    wrong = doc.replace("| `days` | days | `365` |", "| `days` | days | `366` |")
    assert wrong != doc
    assert any(p.startswith("run.days:") for p in undocumented(wrong))


def test_check_fails_for_a_new_field(doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A field added to the schema but not to the doc is caught."""
    from pydantic import Field

    class Patched(schema.Defence):
        armour: float = Field(0.0, description="an undocumented new key")

    monkeypatch.setattr(schema.Scenario.model_fields["defence"], "annotation", Patched, raising=True)
    assert any(p.startswith("defence.armour:") for p in undocumented(doc))


def test_every_condition_variable_is_documented(doc: str) -> None:
    body = section_text(doc, "Conditions")
    assert body is not None
    missing = [v for v in VARIABLES if f"| `{v}` |" not in body]
    assert not missing, f"condition variables not in the Conditions table: {missing}"


def test_condition_operators_are_documented(doc: str) -> None:
    body = section_text(doc, "Conditions")
    assert body is not None
    for op in ("`or`", "`and`", "`not`", "`&&`", "`!`", "`<=`", "`!=`", "`/`", "`true`", "`false`"):
        assert op in body, op


def test_every_policy_type_has_a_section(doc: str) -> None:
    for member in typing.get_args(typing.get_args(schema.Policy)[0]):
        tag = _policy_tag(member)
        assert section_text(doc, f'`type = "{tag}"`') is not None, tag


def test_toml_examples_in_the_doc_are_valid(doc: str) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", doc, flags=re.S)
    assert blocks, "the doc should have a complete example"
    for block in blocks:
        scenario = parse_toml(block, source="docs/scenario.md")
        assert scenario.zones


def test_the_complete_example_uses_every_top_level_table(doc: str) -> None:
    (example,) = re.findall(r"## A complete small example.*?```toml\n(.*?)```", doc, flags=re.S)
    data = tomllib.loads(example)
    for key in ("run", "pathogen", "defence", "society", "zones", "routes", "factions", "policies"):
        assert key in data, key
    assert from_dict(data).policies
