"""Policies change effective rates and move people; never the scenario. Small worlds, known outcomes."""

from __future__ import annotations

import numpy as np
import pytest

import aftermath as am
from aftermath.model.flows import Flow
from aftermath.model.world import State
from aftermath.scenario.load import from_dict


def two_zones(policies: list[dict], **run: object) -> am.Scenario:
    """A city with ferals beside a walled refuge, one route each way; society effects off."""
    return from_dict({
        "name": "two zones",
        "run": {"days": 60, **run},
        "pathogen": {"beta": 0.4, "latency": 2.0, "p_hybrid": 0.3, "relapse": 0.02, "eta": 0.2},
        "defence": {"alpha": 0.1, "decay": 0.02},
        "society": {"fear": {"per_infection": 0.0, "per_death": 0.0, "per_breach": 0.0, "flight": 0.0}},
        "factions": [{"id": "gov"}],
        "zones": [
            {"id": "city", "population": {"S": 5000, "Z": 50}},
            {"id": "refuge", "faction": "gov", "wall": 0.5, "population": {"S": 2000}},
        ],
        "routes": [{"from": "city", "to": "refuge", "rate": 0.05, "feral_rate": 0.01, "both_ways": True}],
        "policies": policies,
    })


def test_policy_that_never_triggers_changes_nothing_bit_for_bit() -> None:
    base = am.simulate(two_zones([]))
    never = am.simulate(two_zones([{"type": "admission", "zones": ["refuge"], "mode": "closed",
                                    "when": "day > 100000"}]))
    assert np.array_equal(base.counts, never.counts)
    assert np.array_equal(base.flows, never.flows)


def test_closed_gate_turns_everyone_away_and_counts_them() -> None:
    closed = am.simulate(two_zones([{"type": "admission", "zones": ["refuge"], "mode": "closed"}]))
    f = closed.flows.sum(axis=0)
    refuge = 1
    assert f[Flow.HUMAN_ARRIVED, refuge] == 0.0
    assert f[Flow.EXCLUDED, refuge] > 0 and f[Flow.EXCLUDED_HEALTHY, refuge] > 0
    assert f[Flow.EXCLUDED_HEALTHY, refuge] <= f[Flow.EXCLUDED, refuge]


def test_screening_admits_healthy_by_specificity() -> None:
    spec = 0.7
    res = am.simulate(two_zones([{"type": "admission", "zones": ["refuge"], "mode": "screen",
                                  "sensitivity": 0.9, "specificity": spec}]))
    f = res.flows.sum(axis=0)
    healthy_arrivals = f[Flow.HUMAN_ARRIVED, 1] - f[Flow.INFECTED_ARRIVED, 1]
    turned = f[Flow.EXCLUDED_HEALTHY, 1]
    assert healthy_arrivals / (healthy_arrivals + turned) == pytest.approx(spec, rel=1e-6)


def test_seal_stops_people_leaving_but_not_breaching_ferals() -> None:
    policy = [{"type": "seal", "zones": ["city"]}]
    sealed = am.simulate(two_zones(policy))
    f = sealed.flows.sum(axis=0)
    assert f[Flow.HUMAN_ARRIVED, 1] == 0.0  # nobody left the city for the refuge
    assert f[Flow.HUMAN_ARRIVED, 0] > 0.0  # people still came in
    assert sealed.sealed[:, 0].all() and not sealed.sealed[:, 1].any()
    assert f[Flow.FERAL_ARRIVED, 1] == 0.0  # ferals that cannot breach stay in
    breaching = am.simulate(am.scenario.load.with_overrides(two_zones(policy), {"pathogen.breach": 0.5}))
    assert breaching.flows.sum(axis=0)[Flow.FERAL_ARRIVED, 1] > 0.0  # those that can, get out


def test_cull_removes_hybrids_and_is_counted() -> None:
    base = am.simulate(two_zones([]))
    cull = am.simulate(two_zones([{"type": "hybrids", "zones": ["city", "refuge"], "action": "cull", "rate": 0.5}]))
    assert cull.summary()["culled"] > 0 and base.summary()["culled"] == 0
    assert cull.counts[-1, :, State.H].sum() < 0.5 * base.counts[-1, :, State.H].sum()


def test_policy_starting_later_matches_baseline_until_then() -> None:
    base = am.simulate(two_zones([]))
    late = am.simulate(two_zones([{"type": "cure", "zones": ["city"], "rate": 0.3, "when": "day >= 20"}]))
    assert np.array_equal(base.counts[:21], late.counts[:21])
    assert not np.allclose(base.counts[21:], late.counts[21:])


def test_until_switches_off_and_repeat_switches_back_on() -> None:
    cond = {"type": "cure", "zones": ["city"], "rate": 0.2, "when": "day % 1 == 0 and day >= 10", "until": "day >= 15"}
    with pytest.raises(am.ScenarioError):
        two_zones([cond])  # % is not in the language
    once = am.simulate(two_zones([{"type": "cure", "zones": ["city"], "rate": 0.2, "when": "day >= 10",
                                   "until": "day >= 15"}]))
    active = once.policy_active[:, 0, 0]
    assert active[10:15].all() and not active[:10].any() and not active[15:].any()
    again = am.simulate(two_zones([{"type": "cure", "zones": ["city"], "rate": 0.2, "when": "day >= 10",
                                    "until": "day >= 15 and day < 16", "repeat": True}]))
    assert again.policy_active[16:, 0, 0].all() and not again.policy_active[15, 0, 0]


def test_sweeps_every_t_days_kill_their_share() -> None:
    res = am.simulate(two_zones([{"type": "sweep", "zones": ["city"], "every": 7, "kill": 0.5}], days=30))
    sweeps = [e.day for e in res.chronicle if e.kind == "policy_sweep"]
    assert sweeps == [0, 7, 14, 21, 28]
    first_day_kill = res.flows[0, Flow.SWEEP_KILL, 0]
    assert first_day_kill == pytest.approx(0.5 * 50)


def test_protect_moves_hybrids_to_the_sanctuary_and_lowers_relapse() -> None:
    base = am.simulate(two_zones([]))
    protect = am.simulate(two_zones([{"type": "hybrids", "zones": ["city"], "action": "protect",
                                      "sanctuary": "refuge", "rate": 0.5, "care": 1.0}]))
    f = protect.flows.sum(axis=0)
    assert f[Flow.HYBRID_MOVED, 1] > 0
    assert f[Flow.RELAPSE, 1] == 0.0  # full care: no relapse in the sanctuary
    assert base.flows.sum(axis=0)[Flow.RELAPSE].sum() > 0


def test_conditions_read_zone_indicators() -> None:
    res = am.simulate(two_zones([{"type": "seal", "zones": ["refuge"], "when": "ferals >= 1"}]))
    first = int(np.flatnonzero(res.sealed[:, 1])[0])
    assert res.counts[first, 1, State.Z] >= 1.0  # the morning it switched on, ferals were there
    assert res.counts[first - 1, 1, State.Z] < 1.0 or first == 0


def test_competing_hybrid_policies_the_harshest_wins_whatever_the_order() -> None:
    protect = {"type": "hybrids", "zones": ["city"], "action": "protect", "sanctuary": "refuge", "rate": 0.5}
    cull = {"type": "hybrids", "zones": ["city"], "action": "cull", "rate": 0.05}
    a = am.simulate(two_zones([protect, cull]))
    b = am.simulate(two_zones([cull, protect]))
    assert np.array_equal(a.counts, b.counts)
    only_cull = am.simulate(two_zones([cull]))
    # the cull runs at its own rate (0.05), not the protect policy's 0.5, and nobody is moved
    assert np.allclose(a.counts, only_cull.counts)
    assert a.flows[:, Flow.HYBRID_MOVED].sum() == 0.0


def test_reopening_lifts_a_closure_but_keeps_screening() -> None:
    pols = [{"type": "admission", "zones": ["refuge"], "mode": "closed"},
            {"type": "admission", "zones": ["refuge"], "mode": "screen", "specificity": 0.5},
            {"type": "reopen", "zones": ["refuge"], "calm_days": 1}]
    sc = am.scenario.load.with_overrides(two_zones(pols), {"zones.city.population.Z": 0.0})  # calm from day 0
    res = am.simulate(sc)
    assert res.screening[1:, 1].all()  # screening holds from the day the gates reopen
    reopened = [e.day for e in res.chronicle if e.kind == "policy_reopen"]
    assert reopened and res.flows[reopened[0], Flow.HUMAN_ARRIVED, 1] > 0


def test_a_truce_shares_food_and_a_broken_one_does_not() -> None:
    """Two factions in a truce: a starving enclave is fed from its partner's stores; total kept."""
    def world(truce: bool, share: float) -> am.Scenario:
        return from_dict({
            "run": {"days": 20},
            "society": {"trust": {"share_supplies": share}},
            "factions": [{"id": "a", "truces": ["b"] if truce else []}, {"id": "b"}],
            "zones": [{"id": "rich", "faction": "a", "supplies": 50000, "production": 0.0,
                       "population": {"S": 1000}},
                      {"id": "poor", "faction": "b", "supplies": 1000, "production": 0.0,
                       "population": {"S": 1000}}],
        })
    shared = am.simulate(world(True, 0.5))
    alone = am.simulate(world(False, 0.5))
    off = am.simulate(world(True, 0.0))
    assert alone.flows[:, Flow.STARVATION, 1].sum() > 0 and off.flows[:, Flow.STARVATION, 1].sum() > 0
    assert shared.flows[:, Flow.STARVATION].sum() == 0.0  # 51,000 person-days feed 2,000 for 25 days
    # food is moved, not made: both zones ate 2,000 a day for 20 days
    assert shared.supplies[-1].sum() == pytest.approx(51000 - 2000 * 20)
