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
