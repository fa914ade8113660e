"""The official record leaves out exactly whom a faction's policies put out of sight."""

from __future__ import annotations

import pytest

import aftermath as am
from aftermath.model.flows import Flow
from aftermath.record.official import ledger_by_faction, official_record
from tests.test_policies import two_zones


def test_turned_away_and_culled_are_left_out_of_the_official_record() -> None:
    res = am.simulate(two_zones([
        {"type": "admission", "zones": ["refuge"], "mode": "screen", "sensitivity": 0.9, "specificity": 0.8},
        {"type": "hybrids", "zones": ["refuge"], "action": "cull", "rate": 0.5},
    ]))
    rec = official_record(res).set_index(["faction", "measure"])
    f = res.flows.sum(axis=0)
    arrivals = rec.loc[("gov", "arrivals")]
    assert arrivals["left_out"] == pytest.approx(f[Flow.EXCLUDED, 1])
    assert arrivals["true"] - arrivals["official"] == pytest.approx(arrivals["left_out"])
    deaths = rec.loc[("gov", "deaths")]
    assert deaths["left_out"] == pytest.approx(f[Flow.CULL, 1]) and deaths["left_out"] > 0
    assert deaths["who"] == f"{f[Flow.CULL, 1]:,.0f} culled hybrids"  # what is left out, with its count
    led = ledger_by_faction(res).set_index(["faction", "cost"])["count"]
    assert led[("gov", "culled")] == pytest.approx(f[Flow.CULL, 1])
    assert 0 < led[("gov", "turned_away_attempts_healthy")] < led[("gov", "turned_away_attempts")]


def test_no_policy_means_nothing_left_out() -> None:
    rec = official_record(am.simulate(two_zones([])))
    assert (rec["left_out"] == 0).all() and (rec["true"] == rec["official"]).all()


def test_hybrids_killed_where_no_faction_governs_are_in_no_books() -> None:
    """Hyosan's sweeps of the outskirts (a zone of no faction): the hybrids they kill are in no
    faction's official record, and the summary says how many."""
    from aftermath.record.official import NO_FACTION, ungoverned_policy_deaths
    from aftermath.scenario.load import load

    res = am.simulate(load("hyosan"), days=200)
    f = res.flows.sum(axis=0)
    free = [i for i, z in enumerate(res.scenario.zones) if not z.faction]
    assert free
    nobody = ungoverned_policy_deaths(res)
    assert nobody == pytest.approx(f[Flow.CULL, free].sum() + f[Flow.SWEEP_HYBRIDS, free].sum()) and nobody > 0
    assert NO_FACTION not in set(official_record(res)["faction"])
