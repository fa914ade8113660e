"""One engine registry: the scenario schema, the CLI and the ensembles offer exactly its engines."""

from __future__ import annotations

import importlib
import typing

import pytest

from aftermath.engines.base import ENGINE_NAMES, ENGINES, check_engine, make_engine
from aftermath.model.world import build_world
from aftermath.scenario.load import load
from aftermath.scenario.schema import RunSettings


def test_schema_offers_the_registry() -> None:
    assert typing.get_args(RunSettings.model_fields["engine"].annotation) == ENGINE_NAMES
    assert importlib.import_module("aftermath.run.ensemble").ENGINES == ENGINE_NAMES


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_each_engine_builds_and_says_its_name(name: str) -> None:
    eng = make_engine(name, build_world(load("sir")), seed=1)
    assert eng.name == name == ENGINES[name].name


def test_unknown_engine_names_the_choices() -> None:
    with pytest.raises(ValueError, match="expected one of ode, ssa, abm"):
        check_engine("gpu")
