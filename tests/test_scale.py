"""scale_population: the same world with more or fewer people."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftermath.scenario.load import load
from aftermath.scenario.scale import scale_population
from aftermath.scenario.schema import STATES


def test_total_is_exact_and_shares_are_kept() -> None:
    sc = load("hyosan")
    big = scale_population(sc, 10_000_000)
    assert big.initial_population() == 10_000_000
    f = 10_000_000 / sc.initial_population()
    for a, b in zip(sc.zones, big.zones, strict=True):
        for s in STATES:
            assert abs(getattr(b.population, s) - f * getattr(a.population, s)) <= 1.0
            assert getattr(b.population, s) == int(getattr(b.population, s))
        if a.supplies is None:
            assert b.supplies is None
        else:
            assert b.supplies == pytest.approx(a.supplies * f, abs=0.5)


def test_pure_and_identity() -> None:
    sc = load("hyosan")
    before = sc.model_dump()
    scale_population(sc, 1234)
    assert sc.model_dump() == before
    assert scale_population(sc, int(sc.initial_population())) == sc


def test_births_scale_with_people() -> None:
    sc = load("munz-basic")
    data = sc.model_dump(by_alias=True)
    data["demography"]["births"] = 2.0
    from aftermath.scenario.load import from_dict

    sc2 = scale_population(from_dict(data), 5000)
    assert sc2.demography.births == pytest.approx(2.0 * 10)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="from 1 to"):
        scale_population(load("sir"), -1)


@settings(max_examples=40, deadline=None)
@given(people=st.integers(min_value=1, max_value=10**9))  # nobody at all is refused (issue 11)
def test_any_total(people: int) -> None:
    sc = scale_population(load("hyosan"), people)
    assert sc.initial_population() == people
    assert all(getattr(z.population, s) >= 0 for z in sc.zones for s in STATES)
