"""The per-day shortcuts (compiled conditions, cached indices, vectorised trust) compute exactly what the
plain code they replace computes. benchmarks/ode_day.py --identical checks whole runs against another
checkout; these hold the pieces, bit for bit, within one."""

from __future__ import annotations

import copy
import pickle
import random

import numpy as np
import pytest

import aftermath as am
from aftermath.engines.ode import OdeEngine
from aftermath.model.policies import Levers, PolicyBook
from aftermath.model.rates import daily_rates
from aftermath.model.society import Society
from aftermath.model.world import build_world
from aftermath.scenario.conditions import VARIABLES, Condition, _eval

EXPRESSIONS = [
    "true", "false", "fear > 0.6 and day >= 30", "fear > 0.6 or !(day < 30)", "not fear",
    "0 < fear <= vigilance < 1", "1 < fear > 0.5 == 1", "supplies / humans < 3", "ferals / corpses",
    "-fear + +vigilance * 2 - 1 / 3 >= -0.5", "(hybrids + latent) * 2 != infected || calm_days == 0",
    "fear && vigilance && supplies", "deaths - breaches", "world_fear >= world_ferals / population",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_compiled_condition_is_the_tree_walk(text: str) -> None:
    cond = Condition.parse(text)
    rng = random.Random(text)
    choices = [0.0, -0.0, 1.0, 0.5, 0.6, 3.0, 30.0, float("inf"), -2.0]
    for _ in range(200):
        env = {name: rng.choice(choices) if rng.random() < 0.5 else rng.uniform(-1, 40) for name in VARIABLES}
        assert cond._fn is not None and cond._tree is not None
        got, want = cond._fn(env), _eval(cond._tree.body, env)
        assert np.float64(got).tobytes() == np.float64(want).tobytes(), (text, env)
        assert cond(env) == bool(want)


def test_condition_pickles_as_its_text() -> None:
    cond = Condition.parse("fear > 0.6 and day >= 30")
    back = pickle.loads(pickle.dumps(cond))
    assert back == cond and back({"fear": 0.7, "day": 31.0}) and not back({"fear": 0.7, "day": 3.0})


def _hyosan_after(days: int) -> tuple[OdeEngine, Society, PolicyBook]:
    world = build_world(am.load("hyosan"))
    eng, society, book = OdeEngine(world), Society(world), PolicyBook(world)
    for day in range(days):
        levers, _ = book.decide(day, society.indicators(day, eng.counts()))
        society.apply_truce_changes(day, levers)
        flows, route = eng.advance_day(day, daily_rates(world, society, levers), levers)
        society.update(day, eng.counts(), flows, route, levers)
    return eng, society, book


def test_ode_counts_are_the_networks() -> None:
    eng, _, _ = _hyosan_after(20)
    assert eng.counts().tobytes() == eng.net.counts(eng.x).tobytes()
    assert eng.strain_counts().tobytes() == eng.net.strain_counts(eng.x).tobytes()


def test_zone_trust_is_the_zone_by_zone_minimum() -> None:
    _, society, _ = _hyosan_after(3)
    rng = np.random.default_rng(5)
    w = society.world
    for _ in range(50):
        society.trust = rng.random(society.trust.shape)
        truce = rng.random(society.truce.shape) < 0.5
        society.truce = truce | truce.T
        want = [1.0 if f < 0 or not society.truce[f].any() else float(society.trust[f, society.truce[f]].min())
                for f in w.zone_faction]
        assert society._zone_trust().tolist() == want


def test_levers_copy_is_equal_and_independent() -> None:
    lv = Levers.none(4)
    lv.cure[1] = 0.5
    lv.truce_changes.append((0, 1, True, 2))
    c = lv.copy()
    for name, value in vars(lv).items():
        other = getattr(c, name)
        assert np.array_equal(value, other) if isinstance(value, np.ndarray) else value == other
        assert other is not value
    c.cure[1] = 0.0
    assert lv.cure[1] == 0.5


def test_a_copied_book_decides_as_the_original() -> None:
    eng, society, book = _hyosan_after(30)
    twin = copy.deepcopy(book)
    env = society.indicators(30, eng.counts())
    (lv, ev), (lv2, ev2) = book.decide(30, env), twin.decide(30, env)
    assert ev == ev2 and np.array_equal(book.acted, twin.acted)
    for name, value in vars(lv).items():
        other = getattr(lv2, name)
        assert np.array_equal(value, other) if isinstance(value, np.ndarray) else value == other


def _fields(rates: object) -> list[bytes]:
    from dataclasses import fields

    return [np.asarray(getattr(rates, f.name)).tobytes() + str(np.asarray(getattr(rates, f.name)).dtype).encode()
            for f in fields(rates)]  # type: ignore[arg-type]


def test_rates_of_day_are_yesterdays_only_while_their_inputs_are() -> None:
    """``RatesOfDay`` gives yesterday's rates object again only for the same levers object and
    society's arrays equal bit for bit, and then they are what ``daily_rates`` computes; another
    levers object, or one society value changed (by one ulp, or 0.0 to -0.0), computes them anew."""
    from aftermath.model.rates import RatesOfDay

    eng, society, book = _hyosan_after(20)
    world = eng.world
    levers, _ = book.decide(20, society.indicators(20, eng.counts()))
    of_day = RatesOfDay(world)
    first = of_day(society, levers)
    assert _fields(first) == _fields(daily_rates(world, society, levers))
    assert of_day(society, levers) is first
    assert of_day(society, levers.copy()) is not first  # another object: computed again (and kept)
    again = of_day(society, levers)
    assert again is not first and _fields(again) == _fields(first)
    assert of_day(society, levers) is again
    for name, change in (("fear", lambda a: np.nextafter(a, np.inf)), ("trust", lambda a: a + 0.0),
                         ("kin_culled", lambda a: np.where(a == 0.0, -0.0, a))):
        saved = getattr(society, name).copy()
        setattr(society, name, change(saved))
        changed = of_day(society, levers)
        differs = getattr(society, name).tobytes() != saved.tobytes()
        assert (changed is not again) == differs, name
        assert _fields(changed) == _fields(daily_rates(world, society, levers))
        setattr(society, name, saved)
        again = of_day(society, levers)


def test_the_policy_books_idle_levers_are_one_object_until_a_policy_acts() -> None:
    """While no policy acts (hyosan with one policy, sealing the quarantine from day 10) the book
    gives the same levers object each day, equal to no levers at all; on the day it acts, a new
    object with that policy's levers."""
    from aftermath.scenario.load import with_overrides

    sc = with_overrides(am.load("hyosan"), {"policies": [
        {"name": "seal later", "type": "seal", "zones": ["quarantine"], "when": "day >= 10"}]})
    world = build_world(sc)
    eng, society, book = OdeEngine(world), Society(world), PolicyBook(world)
    none = Levers.none(world.n_zones)
    idle, acted_on = None, None
    for day in range(120):
        levers, _ = book.decide(day, society.indicators(day, eng.counts()))
        if book.active.any() or levers.truce_changes:
            acted_on = day
            assert levers is not idle
            break
        if idle is None:
            idle = levers
        assert levers is idle
        assert all(np.array_equal(getattr(levers, f), getattr(none, f)) for f in ("seal_out", "admit_mode", "cure"))
        society.apply_truce_changes(day, levers)
        flows, route = eng.advance_day(day, daily_rates(world, society, levers), levers)
        society.update(day, eng.counts(), flows, route, levers)
    assert idle is not None and acted_on == 10
    assert levers.seal_out[world.zone_ids.index("quarantine")]


def _is_the_run_computed_anew(kept: am.Result, sc: am.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """``kept`` (seed 3) is the ABM run of ``sc`` that computes the day's rates, what the engine takes
    from the levers, and its coefficients anew every day (nothing kept by identity)."""
    from aftermath.engines import driver
    from aftermath.engines.abm.engine import AbmEngine

    real = AbmEngine._of_levers

    def anew(self, levers):
        self._levers_of = None
        self._coef_rates = None
        return real(self, levers)

    monkeypatch.setattr(AbmEngine, "_of_levers", anew)
    monkeypatch.setattr(driver, "RatesOfDay", lambda w: (lambda society, levers: daily_rates(w, society, levers)))
    fresh = am.simulate(sc, engine="abm", seed=3)
    assert np.array_equal(kept.counts, fresh.counts) and np.array_equal(kept.flows, fresh.flows)
    assert np.array_equal(kept.route_flows, fresh.route_flows) and kept.summary() == fresh.summary()


def test_the_abm_day_kept_from_the_levers_and_rates_is_the_day_computed_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the ABM keeps while the levers and rates are the same objects (the gates' screening and
    quarantine, memory's bundle, the day's coefficients) gives the run computed anew every day:
    hyosan at 4,000 people whose garrison closes its gate from day 8 and whose every zone culls
    hybrids from day 15, no policy acting before."""
    from aftermath.model.flows import Flow
    from aftermath.scenario.load import with_overrides
    from aftermath.scenario.scale import scale_population

    world = am.load("hyosan")
    sc = with_overrides(scale_population(world, 4000), {"run.days": 30, "policies": [
        {"name": "close later", "type": "admission", "zones": ["garrison"], "mode": "closed", "when": "day >= 8"},
        {"name": "cull later", "type": "hybrids", "zones": [z.id for z in world.zones], "action": "cull",
         "rate": 2.0, "when": "day >= 15"}]})
    kept = am.simulate(sc, engine="abm", seed=3)
    _is_the_run_computed_anew(kept, sc, monkeypatch)
    assert kept.flows[:8, Flow.EXCLUDED].sum() == 0 < kept.flows[8:, Flow.EXCLUDED].sum()  # the policies acted
    assert kept.flows[:15, Flow.CULL].sum() == 0 < kept.flows[15:, Flow.CULL].sum()


def test_idle_days_reuse_the_rates_and_a_screening_gate_then_acts_as_computed_anew(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A camp of latent and hybrids walking to a town that screens arrivals (quarantine of 2 days)
    from day 5 and culls the camp's hybrids from day 12: on the idle days before, the day loop
    gives yesterday's rates object again and the ABM keeps its coefficients by it; the whole run
    equals the run that computes the rates, the levers' gates and the coefficients anew each day,
    and its gate turns people away and misclassifies some (the screening acted)."""
    from aftermath.engines.abm.engine import AbmEngine
    from aftermath.model import rates as rates_module
    from aftermath.model.flows import Flow
    from tests.contract.worlds import scenario

    sc = scenario("kept-day", [
        {"id": "camp", "faction": "gov", "population": {"S": 3000, "E": 300, "H": 300}, "household_size": 3},
        {"id": "town", "faction": "gov", "population": {"S": 500}}],
        run={"days": 30}, pathogen={"latency": 4.0}, factions=[{"id": "gov"}],
        routes=[{"from": "camp", "to": "town", "rate": 0.2}],
        policies=[{"type": "admission", "zones": ["town"], "mode": "screen", "sensitivity": 0.9, "specificity": 1.0,
                   "quarantine_days": 2, "when": "day >= 5"},
                  {"type": "hybrids", "zones": ["camp"], "action": "cull", "rate": 0.3, "when": "day >= 12"}])
    reused, shortcuts = [0], [0]
    real_call, real_coef = rates_module.RatesOfDay.__call__, AbmEngine._day_coefficients

    def counted(self, society, levers):
        last = self._last
        out = real_call(self, society, levers)
        reused[0] += last is not None and out is last[2]
        return out

    def coef(self, rates, levers, first=0):
        shortcuts[0] += first == 0 and rates is self._coef_rates
        return real_coef(self, rates, levers, first)

    monkeypatch.setattr(rates_module.RatesOfDay, "__call__", counted)
    monkeypatch.setattr(AbmEngine, "_day_coefficients", coef)
    kept = am.simulate(sc, engine="abm", seed=3)
    assert reused[0] >= 3 and shortcuts[0] >= 3, (reused, shortcuts)
    assert kept.flows[:5, Flow.EXCLUDED].sum() == 0 < kept.flows[5:, Flow.EXCLUDED].sum()
    assert kept.summary()["ledger"]["misclassified"] > 0
    _is_the_run_computed_anew(kept, sc, monkeypatch)


def test_the_rates_of_day_key_on_everything_daily_rates_reads_of_society() -> None:
    """``RatesOfDay.SOCIETY`` names every attribute of the society that ``daily_rates`` reads (a
    society read through a proxy that notes each name), so that a new input cannot leave the day's
    rates kept while it changes."""
    from aftermath.model.rates import RatesOfDay

    eng, society, book = _hyosan_after(3)
    levers, _ = book.decide(3, society.indicators(3, eng.counts()))
    read: set[str] = set()

    class Noting:
        def __getattr__(self, name: str) -> object:
            read.add(name)
            return getattr(society, name)

    daily_rates(eng.world, Noting(), levers)  # type: ignore[arg-type]
    assert read and read <= set(RatesOfDay.SOCIETY), read - set(RatesOfDay.SOCIETY)


def test_a_truce_change_appended_to_the_idle_levers_is_not_given_again() -> None:
    """The idle levers are one object from day to day; if a caller appends a truce change to them,
    the next idle day gets new levers without it rather than that change again."""
    world = build_world(am.load("sir"))
    book = PolicyBook(world)
    first, _ = book.decide(0, [])
    assert book.decide(1, [])[0] is first
    first.truce_changes.append((0, 1, True, 0))
    again, _ = book.decide(2, [])
    assert again is not first and again.truce_changes == []
    assert book.decide(3, [])[0] is again
