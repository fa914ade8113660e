"""ABM: ``FIRST_INFECTION`` counts each person of the initial cohort's first infection, exactly once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import aftermath.engines.driver as driver
from aftermath.engines.abm.state import Ever
from aftermath.engines.driver import simulate
from aftermath.model.flows import Flow
from aftermath.scenario.load import from_dict, load
from aftermath.scenario.scale import scale_population
from aftermath.scenario.schema import Scenario


def sis(people: int = 3000, days: int = 120, cure: float = 0.0, births: float = 0.0, latency: float = 0.0) -> Scenario:
    """The SIR limit turned SIS-like: no decay, ferals cured back to S (``cure``), optional births."""
    data = scale_population(load("sir"), people).model_dump(by_alias=True)
    data["run"]["days"] = days
    data["pathogen"].update({"beta": 0.5, "latency": latency})
    data["defence"]["decay"] = 0.0
    data["demography"]["births"] = births
    data["zones"][0]["population"].update({"S": float(people - 10), "Z": 10.0})
    if cure > 0:
        data["policies"] = [{"type": "cure", "zones": ["town"], "rate": cure}]
    return from_dict(data)


def run_keeping_engine(sc: Scenario, seed: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    made: list[Any] = []
    real = driver.make_engine

    def keep(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(driver, "make_engine", keep)
    return simulate(sc, engine="abm", seed=seed), made[0]


@pytest.mark.parametrize("latency", [0.0, 2.0])
def test_first_infections_with_cure_and_births(latency: float, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = sis(cure=0.2, births=2.0, latency=latency)
    r, eng = run_keeping_engine(sc, 3, monkeypatch)
    s0 = float(r.counts[0, :, 0].sum())
    first = r.flows[:, Flow.FIRST_INFECTION].sum()
    infections = r.flows[:, Flow.INFECTION].sum()
    assert r.flows[:, Flow.CURE].sum() > 0 and r.flows[:, Flow.BIRTH].sum() > 0
    assert 0 < first <= s0  # at most one first infection per initial human
    assert first < infections  # the cured are infected again; those are not first infections
    # exactly the initial cohort's S who were ever infected (the rest of the cohort is marked at day 0;
    # the born, appended after it, never count)
    pop = eng.pop
    n0 = int(r.counts[0].sum())
    ever_infected = int(((pop.ever[:n0] & Ever.INFECTED) != 0).sum())
    assert first == ever_infected - (n0 - s0)
    assert ((pop.ever[n0: pop.n] & Ever.BORN) != 0).all() and pop.n > n0


@pytest.mark.parametrize("latency", [0.0, 2.0])
def test_first_infections_equal_infections_without_cure_or_births(latency: float) -> None:
    r = simulate(sis(latency=latency), engine="abm", seed=4)
    first = r.flows[:, Flow.FIRST_INFECTION]
    assert first.sum() > 0
    assert np.array_equal(first, r.flows[:, Flow.INFECTION])


def test_mutation_does_not_change_first_infections() -> None:
    """Mutated infections (resolved after the step) count as first infections too."""
    data = sis().model_dump(by_alias=True)
    data["pathogen"]["mutation"]["mu"] = 0.3
    r = simulate(from_dict(data), engine="abm", seed=5)
    assert np.array_equal(r.flows[:, Flow.FIRST_INFECTION], r.flows[:, Flow.INFECTION])
