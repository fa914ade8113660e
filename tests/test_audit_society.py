"""Second fault-injection audit (society, policies, people, chronicle, official record): each test
holds one documented behaviour that a plausible injected fault changed while every other test
stayed green. Small hand-built worlds, values computed by hand from the documented rule."""

from __future__ import annotations

from collections import Counter
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import aftermath as am
from aftermath.model.flows import Flow, RouteFlow
from aftermath.model.policies import Levers
from aftermath.model.society import Society
from aftermath.model.world import State, build_world
from aftermath.people.cast import CastError
from aftermath.people.story import AFTERLIFE, TEMPLATES, _incubation, _mourning, tell
from aftermath.record.chronicle import BREACH_NEWS, ChronicleWatcher, Event
from aftermath.record.official import official_record
from aftermath.record.timeline import render_timeline
from aftermath.scenario.conditions import VARIABLES
from aftermath.scenario.load import from_dict


def _quiet_society() -> dict[str, Any]:
    """Society with every source of fear off, so only the rule under test moves a variable."""
    return {"fear": {"per_infection": 0.0, "per_death": 0.0, "per_breach": 0.0, "flight": 0.0}}


def _day(society: Society, counts: np.ndarray, flows: np.ndarray | None = None,
         route_flows: np.ndarray | None = None) -> None:
    w = society.world
    society.update(0, counts, np.zeros((len(Flow), w.n_zones)) if flows is None else flows,
                   np.zeros((len(RouteFlow), w.n_routes)) if route_flows is None else route_flows,
                   Levers.none(w.n_zones))


def _counts(*zones: dict[str, float]) -> np.ndarray:
    c = np.zeros((len(zones), len(State)))
    for z, pop in enumerate(zones):
        for state, n in pop.items():
            c[z, State[state]] = n
    return c


# --- society ---------------------------------------------------------------------------------------

def test_fear_spreads_along_a_one_way_route_in_both_directions() -> None:
    """Fear "takes a share of its route-neighbours' fear": neighbours along routes either way. On
    a one-way route a -> b, a's fear reaches b and b's reaches a, each by neighbour_share * gap."""
    sc = from_dict({"society": _quiet_society(),
                    "zones": [{"id": "a", "population": {"S": 100}}, {"id": "b", "population": {"S": 100}}],
                    "routes": [{"from": "a", "to": "b", "rate": 0.1}]})
    share = sc.society.fear.neighbour_share
    counts = _counts({"S": 100}, {"S": 100})
    for afraid, calm in ((0, 1), (1, 0)):
        s = Society(build_world(sc))
        s.fear = np.zeros(2)
        s.fear[afraid] = 0.8
        _day(s, counts)
        assert s.fear[calm] == pytest.approx(share * 0.8, rel=1e-12), (afraid, s.fear)
        assert s.fear[afraid] == pytest.approx(0.8 * (1 - sc.society.fear.decay), rel=1e-12)


def test_the_neighbour_term_is_the_mean_gap_over_every_route_neighbour() -> None:
    """A zone closes ``neighbour_share`` of the mean gap to its route-neighbours (those more afraid
    add their gap, the others 0), counting every neighbour, by a route in or out: a hub with
    routes to x and y and one from w, with only x afraid, gains share * 0.9 / 3."""
    sc = from_dict({"society": _quiet_society(),
                    "zones": [{"id": z, "population": {"S": 100}} for z in ("hub", "x", "y", "w")],
                    "routes": [{"from": "hub", "to": "x", "rate": 0.1}, {"from": "hub", "to": "y", "rate": 0.1},
                               {"from": "w", "to": "hub", "rate": 0.1}]})
    s = Society(build_world(sc))
    s.fear = np.array([0.0, 0.9, 0.0, 0.0])
    _day(s, _counts(*[{"S": 100}] * 4))
    assert s.fear[0] == pytest.approx(sc.society.fear.neighbour_share * 0.9 / 3, rel=1e-12)
    assert s.fear[2] == s.fear[3] == 0.0  # not neighbours of x


def test_a_breach_lowers_the_victims_trust_in_the_faction_it_came_from() -> None:
    """Trust "falls with breaches coming from the other side": ferals from faction A's zone into
    faction B's walled zone lower B's trust in A by per_breach per feral, not A's trust in B."""
    sc = from_dict({"society": _quiet_society(),
                    "factions": [{"id": "fa", "default_trust": 0.5}, {"id": "fb", "default_trust": 0.5}],
                    "zones": [{"id": "a", "faction": "fa", "population": {"S": 100, "Z": 50}},
                              {"id": "b", "faction": "fb", "wall": 0.5, "population": {"S": 100}}],
                    "routes": [{"from": "a", "to": "b", "rate": 0.0, "feral_rate": 0.1}]})
    p = sc.society.trust
    s = Society(build_world(sc))
    rf = np.zeros((len(RouteFlow), 1))
    rf[RouteFlow.FERALS, 0] = 10.0
    _day(s, _counts({"S": 100}, {"S": 100}), route_flows=rf)  # no fear: every faction is calm
    assert s.trust[1, 0] == pytest.approx(0.5 - p.per_breach * 10 + p.recovery, rel=1e-12)  # B's trust in A
    assert s.trust[0, 1] == pytest.approx(0.5 + p.recovery, rel=1e-12)  # A's trust in B is untouched


def test_food_is_shared_within_the_truce_only() -> None:
    """share_supplies: within the factions linked by truces, each zone moves ``share`` of the way
    to *the group's* common days of food, after the day's eating; a faction outside the truce,
    however rich, neither gives nor sets the level."""
    share = 0.5
    stores = (("a", "fa", 9000, 100), ("b", "fb", 300, 200), ("c", "fc", 1e6, 100))
    sc = from_dict({"society": {**_quiet_society(), "trust": {"share_supplies": share}},
                    "factions": [{"id": "fa", "truces": ["fb"]}, {"id": "fb"}, {"id": "fc"}],
                    "zones": [{"id": z, "faction": f, "supplies": food, "production": 0.0, "population": {"S": n}}
                              for z, f, food, n in stores]})
    s = Society(build_world(sc))
    _day(s, _counts({"S": 100}, {"S": 200}, {"S": 100}))
    eaten = np.array([9000 - 100, 300 - 200])  # stores after the day's meals
    days = eaten.sum() / 300.0
    want = eaten + share * (days * np.array([100, 200]) - eaten)
    assert s.supplies[:2] == pytest.approx(want, rel=1e-12)
    assert s.supplies[:2].sum() == pytest.approx(eaten.sum(), rel=1e-12)
    assert s.supplies[2] == 1e6 - 100


def test_a_truce_made_on_low_trust_holds() -> None:
    """Making a truce lifts both sides' trust above the breaking threshold, so a truce made
    between factions that trusted each other little does not break that same evening."""
    sc = _two_factions([{"type": "truce", "faction": "fa", "other": "fb", "action": "make", "when": "day >= 1"}])
    low = {"factions": [{"id": "fa", "default_trust": 0.05}, {"id": "fb", "default_trust": 0.05}]}
    res = am.simulate(am.scenario.load.with_overrides(sc, low))
    assert res.truce[2:, 0, 1].all() and res.truce[2:, 1, 0].all()
    assert not [e for e in res.chronicle if e.kind == "truce_broken"]


def test_indicators_are_their_documented_definitions() -> None:
    """Each zone's condition variables equal what conditions.VARIABLES says they are, on a
    hand-set society: yesterday's infections and deaths, calm days, days of food, and the world's
    fear weighted by population (not a plain mean over zones)."""
    sc = from_dict({"zones": [{"id": "a", "population": {"S": 100}}, {"id": "b", "population": {"S": 100}}],
                    "routes": [{"from": "a", "to": "b", "rate": 0.1, "both_ways": True}]})
    s = Society(build_world(sc))
    s.fear = np.array([0.9, 0.1])
    s.vigilance = np.array([0.7, 0.4])
    s.supplies = np.array([600.0, 50.0])
    s.calm_days = np.array([0, 12])
    s.last_flows[:] = 0.0
    s.last_flows[Flow.INFECTION] = [3.0, 0.0]
    s.last_flows[Flow.BITE_DEATH] = [7.0, 1.0]
    s.last_flows[Flow.STARVATION] = [0.0, 2.0]
    s.last_flows[Flow.BREACH] = [0.0, 4.0]
    counts = _counts({"S": 100, "E": 10, "H": 10, "Z": 80, "D": 5}, {"S": 20, "D": 1})
    env = s.indicators(9, counts)
    assert set(VARIABLES) <= set(env[0])
    a, b = env
    assert a["day"] == b["day"] == 9
    assert (a["new_infections"], b["new_infections"]) == (3.0, 0.0)
    assert (a["deaths"], b["deaths"]) == (7.0, 3.0)  # bite deaths and starvation
    assert (a["breaches"], b["breaches"]) == (0.0, 4.0)
    assert (a["calm_days"], b["calm_days"]) == (0.0, 12.0)
    assert (a["humans"], a["infected"], a["population"], a["corpses"]) == (120.0, 100.0, 200.0, 5.0)
    assert (a["supply_days"], b["supply_days"]) == (600.0 / 120.0, 50.0 / 20.0)
    assert a["world_ferals"] == b["world_ferals"] == 80.0
    weighted = (0.9 * 200 + 0.1 * 20) / 220
    assert a["world_fear"] == pytest.approx(weighted, rel=1e-12) and b["world_fear"] == a["world_fear"]


# --- policies --------------------------------------------------------------------------------------

def _two_factions(policies: list[dict[str, Any]], zones_a: int = 1) -> am.Scenario:
    zones = [{"id": f"a{k}", "faction": "fa", "population": {"S": 1000 * (k + 1)}} for k in range(zones_a)]
    return from_dict({"run": {"days": 6}, "society": _quiet_society(),
                      "factions": [{"id": "fa"}, {"id": "fb"}],
                      "zones": [*zones, {"id": "b", "faction": "fb", "population": {"S": 1000}}],
                      "routes": [{"from": "a0", "to": "b", "rate": 0.05, "both_ways": True}],
                      "policies": policies})


def test_of_two_admission_policies_only_the_one_in_force_acts() -> None:
    """"Switched on is not acting": with a closed gate and a screening gate both on at the refuge,
    the closed one (the harshest) is in force and acts every day; the screening never acts."""
    sc = from_dict({
        "run": {"days": 10}, "society": _quiet_society(),
        "zones": [{"id": "city", "population": {"S": 5000}}, {"id": "refuge", "population": {"S": 2000}}],
        "routes": [{"from": "city", "to": "refuge", "rate": 0.05, "both_ways": True}],
        "policies": [{"type": "admission", "zones": ["refuge"], "mode": "screen", "specificity": 0.6},
                     {"type": "admission", "zones": ["refuge"], "mode": "closed"}],
    })
    res = am.simulate(sc)
    assert not res.policy_acted[:, 0, :].any()
    assert res.policy_acted[:, 1, 1].all() and not res.policy_acted[:, 1, 0].any()
    assert res.flows[:, Flow.HUMAN_ARRIVED, 1].sum() == 0.0


def test_a_truce_made_by_one_faction_binds_both() -> None:
    """A truce is between two factions: made by one, it holds both ways (the recorded truce matrix
    stays symmetric) and opens the route in each direction."""
    res = am.simulate(_two_factions([{"type": "truce", "faction": "fa", "other": "fb", "action": "make",
                                      "when": "day >= 2"}]))
    assert not res.truce[:3].any() and res.truce[3:, 0, 1].all()
    assert np.array_equal(res.truce, res.truce.transpose(0, 2, 1))
    moved = res.route_flows[:, RouteFlow.HUMANS]
    assert (moved[:2] == 0).all() and (moved[3:] > 0).all()  # both directions, from the truce on


def test_a_truce_is_decided_when_its_condition_holds_in_any_zone_of_the_faction() -> None:
    """"Taken on the first morning its condition holds in any of the faction's zones": here only
    in the faction's second zone (population 2,000), so the truce is made on day 0."""
    res = am.simulate(_two_factions([{"type": "truce", "faction": "fa", "other": "fb", "action": "make",
                                      "when": "population > 1500"}], zones_a=2))
    assert not res.truce[0].any() and res.truce[1:, 0, 1].all() and res.truce[1:, 1, 0].all()
    made = [e for e in res.chronicle if e.kind == "truce_made"]
    assert [e.day for e in made] == [0]


def test_reopening_lifts_the_seal_of_the_calm_zone_only() -> None:
    """Reopening "lifts the zone's seals and closures": of the calm zone. A city full of ferals
    stays sealed while the calm refuge beside it reopens after calm_days."""
    sc = from_dict({
        "run": {"days": 15},
        "society": _quiet_society(),
        "zones": [{"id": "city", "population": {"S": 5000, "Z": 50}},
                  {"id": "refuge", "population": {"S": 2000}}],
        "routes": [{"from": "city", "to": "refuge", "rate": 0.05, "feral_rate": 0.01, "both_ways": True}],
        "policies": [{"type": "seal", "zones": ["city", "refuge"]},
                     {"type": "reopen", "zones": ["city", "refuge"], "calm_days": 3}],
    })
    res = am.simulate(sc)
    assert res.sealed[:, 0].all(), "the city, never calm, was unsealed"
    reopened = [e for e in res.chronicle if e.kind == "policy_reopen"]
    assert [e.zone for e in reopened] == ["refuge"]
    # calm_days counts whole days ended calm: 3 of them by the morning of day 3
    assert reopened[0].day == 3 and res.sealed[:3, 1].all() and not res.sealed[3:, 1].any()


def test_two_sweeps_on_one_morning_each_destroy_their_share() -> None:
    """Two sweep policies on the same morning each destroy a share ``kill`` of the ferals: two of
    a half leave a quarter, the same day's kill as one sweep of 0.75."""
    def kill(*shares: float) -> float:
        sc = from_dict({"run": {"days": 1}, "society": _quiet_society(),
                        "zones": [{"id": "city", "population": {"S": 1000, "Z": 400}}],
                        "policies": [{"type": "sweep", "zones": ["city"], "every": 7, "kill": k} for k in shares]})
        return float(am.simulate(sc).flows[0, Flow.SWEEP_KILL, 0])

    assert kill(0.5, 0.5) == pytest.approx(kill(0.75), rel=1e-12)
    assert kill(0.75) == pytest.approx(0.75 * 400, rel=1e-12)


# --- chronicle, timeline, official record ----------------------------------------------------------

def test_a_first_breach_is_always_told_and_later_ones_only_when_large() -> None:
    """The chronicle tells a zone's first breach whatever its size, and later ones of at least
    BREACH_NEWS ferals, each on its own day, with the count."""
    world = build_world(from_dict({"zones": [{"id": "fort", "wall": 0.5, "population": {"S": 100}}]}))
    counts = _counts({"S": 100})
    watch = ChronicleWatcher(world, counts)
    told = []
    for day, b in enumerate((2.0, 3.0, BREACH_NEWS + 2.0, 0.0)):
        flows = np.zeros((len(Flow), 1))
        flows[Flow.BREACH, 0] = b
        told += [(e.day, e.value, e.text) for e in watch.observe(day, counts, flows) if e.kind == "breach"]
    assert [(d, v) for d, v, _ in told] == [(0, 2.0), (2, BREACH_NEWS + 2.0)]
    assert "for the first time (2 of them)" in told[0][2] and "again (7 of them)" in told[1][2]


def test_a_breach_tells_who_fled_the_zone_and_where_most_went() -> None:
    """"; 40 fled, most to the wilds": the people who left the breached zone that day (not those
    who arrived in it), and the destination most of them took."""
    world = build_world(from_dict({
        "zones": [{"id": "fort", "wall": 0.5, "population": {"S": 100}}, {"id": "out", "population": {"S": 100}},
                  {"id": "wild", "name": "The wilds", "population": {"S": 100}}],
        "routes": [{"from": "fort", "to": "out", "rate": 0.1}, {"from": "fort", "to": "wild", "rate": 0.1},
                   {"from": "out", "to": "fort", "rate": 0.1}]}))
    counts = _counts({"S": 100}, {"S": 100}, {"S": 100})
    flows = np.zeros((len(Flow), 3))
    flows[Flow.BREACH, 0] = 6.0
    rf = np.zeros((len(RouteFlow), 3))
    r = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(world.route_from, world.route_to, strict=True))}
    rf[RouteFlow.HUMANS, r[0, 1]], rf[RouteFlow.HUMANS, r[0, 2]], rf[RouteFlow.HUMANS, r[1, 0]] = 10.0, 30.0, 500.0
    [ev] = [e for e in ChronicleWatcher(world, counts).observe(4, counts, flows, rf) if e.kind == "breach"]
    assert ev.text.endswith("(6 of them); 40 fled, most to the wilds"), ev.text


def test_the_timeline_folds_recurring_events_zone_by_zone() -> None:
    """Recurring events are folded "in the same zone": breaches of two zones keep a line each,
    each with the count of that zone's later breaches."""
    ev = [Event(1, "a", "breach", "ferals broke into a"), Event(2, "b", "breach", "ferals broke into b"),
          Event(3, "a", "breach", "ferals broke into a again"), Event(4, "a", "breach", "x"),
          Event(5, "c", "starvation", "c ran out of food")]
    lines = render_timeline(SimpleNamespace(chronicle=ev))  # type: ignore[arg-type]
    assert lines == ["Day    1 — Ferals broke into a; 2 more times after",
                     "Day    2 — Ferals broke into b",
                     "Day    5 — C ran out of food"]


def test_official_arrivals_count_every_crossing_and_leave_out_the_refused() -> None:
    """official_record's arrivals: true = crossings admitted + refused, official = admitted,
    left out = refused (docs/report.md)."""
    sc = from_dict({
        "run": {"days": 20}, "society": _quiet_society(), "factions": [{"id": "gov"}],
        "zones": [{"id": "city", "population": {"S": 5000, "Z": 50}},
                  {"id": "refuge", "faction": "gov", "population": {"S": 2000}}],
        "routes": [{"from": "city", "to": "refuge", "rate": 0.05, "both_ways": True}],
        "policies": [{"type": "admission", "zones": ["refuge"], "mode": "screen", "specificity": 0.6}],
    })
    res = am.simulate(sc)
    f = res.flows.sum(axis=0)
    admitted, refused = f[Flow.HUMAN_ARRIVED, 1], f[Flow.EXCLUDED, 1]
    assert admitted > 0 and refused > 0
    row = official_record(res).set_index(["faction", "measure"]).loc[("gov", "arrivals")]
    assert row["true"] == pytest.approx(admitted + refused, rel=1e-12)
    assert row["official"] == pytest.approx(admitted, rel=1e-12)
    assert row["left_out"] == pytest.approx(refused, rel=1e-12)


# --- people ----------------------------------------------------------------------------------------

def _camp(**extra: Any) -> am.Scenario:
    """Three small zones of households of ``hs``, for casting (the ABM run is one day)."""
    hs = extra.pop("household_size", 2)
    return from_dict({"run": extra.pop("run", {"days": 1}), "pathogen": {"beta": 0.0},
                      "zones": [{"id": z, "population": {"S": 60}, "household_size": hs} for z in ("a", "b", "c")],
                      **extra})


def test_a_generated_cast_comes_from_cast_zones() -> None:
    """cast = N takes people "in turn from each zone of cast_zones": with cast_zones = [c, a],
    two from c and two from a, none from b."""
    res = am.simulate(_camp(cast=4, cast_zones=["c", "a"]), engine="abm", seed=3)
    cast = [p for p in res.extras["cast"]["people"] if p["cast"]]
    assert sorted(p["zone0"] for p in cast) == [0, 0, 2, 2]


def test_a_character_needs_a_household_for_every_named_member() -> None:
    """A declared character gets someone "whose household is large enough for the named members":
    with households of two, no one can play a character with two named kin (a clear error), and
    with households of three both named kin are followed under their names."""
    who = {"name": "Han Yu-na", "zone": "b", "household": ["Han Jin-woo", "Han Bo-ra"]}
    with pytest.raises(CastError, match="household of at least 3"):
        am.simulate(_camp(characters=[who]), engine="abm", seed=0)
    res = am.simulate(_camp(characters=[who], household_size=3), engine="abm", seed=0)
    kin = [p["name"] for p in res.extras["cast"]["people"] if p["kin_of"] == "Han Yu-na"]
    assert kin == ["Han Jin-woo", "Han Bo-ra"]


def test_a_bite_is_measured_to_its_own_onset_not_a_later_one() -> None:
    """A latent bite is told with how long it took to show: to the person's *next* onset. A
    hybrid cured and bitten again later has a second bite and onset, which do not count."""
    def ev(day: int, kind: str, **kw: Any) -> dict[str, Any]:
        return {"day": day, "step": 0, "who": "X", "kind": kind, **kw}

    first = ev(3, "infected", state="latent")
    again = ev(30, "infected", state="latent")
    own = [ev(0, "start"), first, ev(10, "became_hybrid"), ev(20, "cured"), again, ev(34, "turned")]
    assert _incubation(own, first) == "; it would take seven days to show"
    assert _incubation(own, again) == "; it would take four days to show"
    assert _incubation(own[:2], first) == "; no one could see it yet"


def test_griefs_told_together_name_each_day_once_in_order() -> None:
    """Several griefs in a row are one sentence naming their days ("days 135 (two), 139 and 142"):
    each day once, in order, with how many losses a day brought where it brought more than one."""
    teller = SimpleNamespace(templates=TEMPLATES, short=lambda n: n, zone_names=["the camp"],
                             zone_faction=["the authorities"], words="aftermath")

    def grief(day: int, step: int, lost: str) -> dict[str, Any]:
        return {"day": day, "step": step, "who": "X", "kind": "grieved", "lost": lost, "zone": 0}

    run = [grief(135, 99, "A"), grief(135, 99, "B"), grief(139, 99, "C"), grief(142, 99, "D")]
    told, _, _ = _mourning(teller, "X", run, "intro", "X|135|grieved|X", False)  # type: ignore[arg-type]
    [sentence] = told
    assert sentence.kind == "grieved_often" and sentence.events == run
    assert "days 135 (two), 139 and 142" in sentence.text, sentence.text
    assert "four of its own (among them A, B, C and D)" in sentence.text, sentence.text


def test_a_seal_is_told_on_its_day_with_the_policy_that_sealed() -> None:
    """Everyone alive in a zone the morning it is sealed has a ``sealed_in`` event that day, the
    day the chronicle says the seal began, and the sentence names the policy that acted then."""
    sc = _camp(cast=3, cast_zones=["b"], run={"days": 5},
               policies=[{"type": "seal", "name": "lock the gates", "zones": ["b"], "when": "day >= 3"}])
    res = am.simulate(sc, engine="abm", seed=1)
    [on] = [e.day for e in res.chronicle if e.kind == "policy_on"]
    assert on == 3
    sealed = [s for life in tell(res) for s in life.sentences if s.kind == "sealed_in"]
    cast = [p for p in res.extras["cast"]["people"] if p["cast"]]
    assert len(sealed) == len(cast) == 3
    for s in sealed:
        assert s.events[0]["day"] == on and f"day {on}" in s.text and "(lock the gates)" in s.text, s.text


def test_turned_away_is_recorded_at_the_gate_that_refused_them() -> None:
    """A turn-away, a walker's or a band follower's, is recorded at the gate that refused it (the
    zone that screens, where the refusal is counted) and from where they came: here only b
    screens, so every one is (zone b, at a), on a day b refused someone."""
    res = am.simulate(from_dict({
        "run": {"days": 60, "dt": 0.25},
        "pathogen": {"beta": 0.0, "mutation": {"mu": 0.0}}, "demography": {"death": 0.03},
        "zones": [{"id": z, "population": {"S": 150}, "household_size": 2} for z in ("a", "b")],
        "routes": [{"from": "a", "to": "b", "rate": 0.2, "both_ways": True}],
        "policies": [{"type": "admission", "zones": ["b"], "mode": "screen", "specificity": 0.5}],
        "cast": 40,
    }), engine="abm", seed=1)
    away = [e for e in res.extras["cast"]["events"] if e["kind"] == "turned_away"]
    assert sum(1 for e in away if e.get("band")) >= 5 and len(away) >= 20
    for e in away:
        assert (e["zone"], e["at"]) == (1, 0), e
        assert res.flows[e["day"], Flow.EXCLUDED, 1] >= 1, e


@cache
def hybrid_camp() -> am.Result:
    """Two camps, bites that resolve at once (latency 0) into hybrids or ferals, hybrids who relapse,
    households of four and heavy memory of loss: kin losses, grief-driven journeys, relapses."""
    return am.simulate(from_dict({
        "run": {"days": 120, "dt": 0.25},
        "pathogen": {"beta": 0.3, "latency": 0.0, "p_hybrid": 0.6, "relapse": 0.05, "mutation": {"mu": 0.0}},
        "society": {"memory": {"per_loss": 0.35}},
        "zones": [{"id": z, "population": {"S": 300, "Z": 5}, "household_size": 4} for z in ("a", "b")],
        "routes": [{"from": "a", "to": "b", "rate": 0.1, "feral_rate": 0.1, "both_ways": True}],
        "cast": 20,
    }), engine="abm", seed=2)


def test_a_journey_is_told_as_flight_from_grief_from_a_third_of_full_memory() -> None:
    """A walk is told as flight from grief exactly when the walker's memory was at least a third
    of full memory (story.GRIEVING) when they set out."""
    told = [s for life in tell(hybrid_camp()) for s in life.sentences if s.kind in ("walked", "walked_grieving")]
    assert Counter(s.kind for s in told)["walked_grieving"] >= 5 and Counter(s.kind for s in told)["walked"] >= 5
    for s in told:
        assert (s.kind == "walked_grieving") == (s.events[0]["memory"] >= 1 / 3), (s.events[0], s.text)


def test_a_bitten_kin_is_a_loss_only_when_they_turned_at_once() -> None:
    """A kin's bite is told as a loss ("was bitten ... and turned feral at once") only when it
    left them feral; kin who came out of it hybrids, still themselves, are no loss."""
    r = hybrid_camp()
    kin_names = {p["name"] for p in r.extras["cast"]["people"] if not p["cast"]}
    bites = [e for e in r.extras["cast"]["events"] if e["kind"] == "infected" and e["who"] in kin_names]
    assert Counter(e["state"] for e in bites)["hybrid"] >= 5
    told = [s for life in tell(r) for s in life.sentences if s.kind == "kin" and s.events[0]["kind"] == "infected"]
    assert told
    for s in told:
        assert s.events[0]["state"] == "feral" and "turned feral at once" in s.text, s.text


def test_once_a_life_ends_its_story_tells_little_more() -> None:
    """After the sentence of a death or a turn (a relapse included), a life tells at most
    story.AFTERLIFE more of the person's own events and none of their household's; the rest of
    its own, if any, in one sentence (``afterlife``) that names its last day and place."""
    ends = ("killed_by_bite", "died", "starved", "culled", "swept", "turned", "relapsed")
    ended = afterlives = 0
    for life in tell(hybrid_camp()):
        at = next((i for i, s in enumerate(life.sentences) if s.kind in ends), None)
        if at is None:
            continue
        ended += 1
        after = [s for s in life.sentences[at + 1:] if s.kind not in ("fate", "afterlife")]
        rest = [s for s in life.sentences[at + 1:] if s.kind == "afterlife"]
        assert len(rest) <= 1 and all(f"day {s.events[-1]['day']}" in s.text for s in rest), life.text()
        assert len(after) <= AFTERLIFE and not [s for s in after if s.kind.startswith("kin")], life.text()
        own = [e for e in life.sentences[at + 1].events[:1]]  # (the first told after the end)
        untold = [e for e in hybrid_camp().extras["cast"]["events"] if e["who"] == life.name
                  and (e["day"], e["step"]) > (own[0]["day"], own[0]["step"])] if own and after else []
        told = {id(e) for s in life.sentences for e in s.events}
        if [e for e in untold if id(e) not in told and e["kind"] != "grieved" and not e["kind"].startswith("memory")]:
            assert rest, life.text()  # what was not told singly is told together
        afterlives += bool(rest)
        if rest and life.fate["state"] == "feral":  # the fate is where the afterlife left them
            last = rest[0].events[-1]
            assert last.get("to", last["zone"]) == life.fate["zone"], life.text()
    assert ended >= 5
    assert afterlives >= 1


def test_a_kin_who_kept_their_mind_is_told_whatever_the_latency() -> None:
    """A household member who became a hybrid is told in the character's life ("kin_hybrid"),
    whether the fever took days (a ``became_hybrid`` event) or none (latency 0: a bite whose
    state is ``hybrid``), while the character's own story lasts."""
    r = hybrid_camp()
    ends = ("killed_by_bite", "died", "starved", "culled", "swept", "turned", "relapsed")
    by_who: dict[str, list[dict[str, Any]]] = {}
    for e in r.extras["cast"]["events"]:
        by_who.setdefault(e["who"], []).append(e)
    expected = told = 0
    for life in tell(r):
        end = min((e["day"] for e in by_who.get(life.name, []) if e["kind"] in ends
                   or (e["kind"] == "infected" and e.get("state") == "feral")),  # (turned at once)
                  default=r.days + 1)
        kin = [p["name"] for p in r.extras["cast"]["people"] if p["kin_of"] == life.name]
        hybrids = [e for k in kin for e in by_who.get(k, []) if e["day"] < end and (
            e["kind"] == "became_hybrid" or (e["kind"] == "infected" and e["state"] == "hybrid"))]
        said = [s.events[0] for s in life.sentences if s.kind == "kin_hybrid"]
        expected += len(hybrids)
        told += sum(1 for e in hybrids if e in said)
    assert expected >= 5 and told == expected, (told, expected)
