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
    led = ledger_by_faction(res).set_index(["faction", "cost"])["count"]
    assert led[("gov", "culled")] == pytest.approx(f[Flow.CULL, 1])
    assert 0 < led[("gov", "turned_away_attempts_healthy")] < led[("gov", "turned_away_attempts")]


def test_no_policy_means_nothing_left_out() -> None:
    rec = official_record(am.simulate(two_zones([])))
    assert (rec["left_out"] == 0).all() and (rec["true"] == rec["official"]).all()
