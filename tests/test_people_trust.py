"""People (issue 13), the trust half at run level: culls of kin erode trust, and truces break sooner.

docs/model.md ("Memory of loss"): the other factions' trust in a faction falls by ``distrust`` times
the share of its people its culls bereaved, and its own people's trust in it is multiplied by
``1 - distrust * k``. ``tests/test_people.py`` checks that formula for one day with made-up counts;
these tests check what it does to whole runs.

The world (:func:`_truce_camp`): the government's camp, 900 people and 100 hybrids in households
of four, culls its hybrids (a hybrids policy, action "cull", rate 0.1 a day); the rebels' farm,
1,000 people, is linked to it by a route nobody walks, along which the camp's fear (of the deaths,
culls included) spreads, so fear erodes trust in both arms, by a different amount in each seed. The
two factions start in a truce, each trusting the other 0.6; the rebels break it the first morning
their trust in the government is below 0.5 (a truce policy, action "break"). No bites, no relapse:
the only deaths are the culls. Each seed is run with memory on (the defaults: ``distrust`` 1) and
off (every gain and ``distrust`` 0), 60 days, and three run-level outcomes are compared:

* the day the truce broke, from ``Result.truce`` (days + 1 if it held);
* the rebels' trust in the government, its mean over the run;
* the camp's people's trust in their own faction (``Society.faction_trust``), its mean over the
  run, in the same world with the truce kept (no break policy, threshold 0), since a broken truce
  itself changes that trust.

The Result keeps no trust over time, only truces, so the two means are read from the run's Society
after each day by a subclass that records and changes nothing (:class:`_Watch`; the first test
holds a watched run equal to a plain one).

The sign test: under the null hypothesis (memory changes nothing) each seed's difference is as
likely to go one way as the other. Seeds with equal outcomes are dropped (and reported); the exact
one-sided binomial p of the wins among the rest must be at most 2^-10 = 0.00098 for each outcome:
with 14 seeds, all 14 the way the docs say (p = 2^-14), or 13 of 14 (p = 15 / 2^14). Measured: 14
of 14, no ties, for each outcome (the truce broke on days 7 to 12 with memory, 37 to 52 without).
The slow version: a camp ten times larger, 60 seeds, p < 10^-6 (measured: 60 of 60, p = 2^-60).
The ODE (deterministic, one run each arm) must show the same direction, strictly (measured: the
break on day 6 against 27, the rebels' mean trust 0.22 against 0.48, the camp's 0.20 against 0.25).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import aftermath.engines.driver as driver
from aftermath.engines.driver import simulate
from aftermath.model.society import Society, SocietyEvent
from aftermath.model.world import World
from aftermath.result import Result
from aftermath.scenario.load import from_dict, with_overrides
from aftermath.scenario.schema import Scenario

OFF = {"society.memory.per_loss": 0.0, "society.memory.per_turned_away": 0.0, "society.memory.per_sealed": 0.0,
       "society.memory.per_breach": 0.0, "society.memory.distrust": 0.0}
#: the truce kept whatever trust does: no break policy, and the automatic break below 0 never comes
HOLD = {"policies": [{"type": "hybrids", "faction": "gov", "action": "cull", "rate": 0.1}],
        "society.trust.threshold": 0.0}
DAYS = 60
GOV, REBELS, CAMP = 0, 1, 0  # faction and zone indices, in the order the scenario lists them


def _truce_camp(scale: int = 1) -> Scenario:
    return from_dict({
        "name": "truce camp", "run": {"days": DAYS, "dt": 0.25},
        "pathogen": {"beta": 0.0, "latency": 0.0, "relapse": 0.0, "mutation": {"mu": 0.0}},
        "zones": [{"id": "camp", "faction": "gov", "population": {"S": 900 * scale, "H": 100 * scale},
                   "household_size": 4},
                  {"id": "farm", "faction": "rebels", "population": {"S": 1000 * scale}}],
        "routes": [{"from": "camp", "to": "farm", "both_ways": True}],  # rate 0: fear spreads, no one walks
        "factions": [{"id": "gov", "truces": ["rebels"], "trust": {"rebels": 0.6}},
                     {"id": "rebels", "truces": ["gov"], "trust": {"gov": 0.6}}],
        "policies": [{"type": "hybrids", "faction": "gov", "action": "cull", "rate": 0.1},
                     {"type": "truce", "faction": "rebels", "other": "gov", "action": "break",
                      "when": "trust < 0.5"}],
    })


class _Watch(Society):
    """The run's Society, recording after each day the rebels' trust in the government and the
    camp's people's trust in their own faction; it changes nothing."""

    last: _Watch | None = None

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.other: list[float] = []
        self.own: list[float] = []
        _Watch.last = self

    def update(self, *args: Any, **kwargs: Any) -> list[SocietyEvent]:
        events = super().update(*args, **kwargs)
        self.other.append(float(self.trust[REBELS, GOV]))
        self.own.append(float(self.faction_trust()[CAMP]))
        return events


def _watched(sc: Scenario, engine: str, seed: int) -> tuple[Result, _Watch]:
    r = simulate(sc, engine=engine, seed=seed)
    assert _Watch.last is not None
    return r, _Watch.last


def _break_day(r: Result) -> int:
    """The first time (days from the start) at which the truce no longer held; days + 1 if it held."""
    gone = np.flatnonzero(~r.truce[:, GOV, REBELS])
    return int(gone[0]) if gone.size else r.days + 1


def _outcomes(sc: Scenario, engine: str, seed: int) -> tuple[int, float, float]:
    """(break day, mean trust of the rebels in the government, mean trust of the camp in its own
    faction with the truce kept) of one run of ``sc`` and one of ``sc`` with the truce kept."""
    r, w = _watched(sc, engine, seed)
    _, kept = _watched(with_overrides(sc, HOLD), engine, seed)
    return _break_day(r), float(np.mean(w.other)), float(np.mean(kept.own))


def _p(wins: int, losses: int) -> float:
    """One-sided exact binomial p of ``wins`` or more of ``wins + losses`` at one half."""
    n = wins + losses
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n


def _sign_tests(sc: Scenario, seeds: int) -> dict[str, tuple[int, int, int, float]]:
    """Per outcome, (wins, losses, ties, p) over ``seeds`` paired seeds: a win is a seed whose
    outcome is lower with memory on than off (an earlier break, less trust)."""
    off = with_overrides(sc, OFF)
    tally = {k: [0, 0, 0] for k in ("break day", "rebels' trust", "own people's trust")}
    for seed in range(seeds):
        for key, on_x, off_x in zip(tally, _outcomes(sc, "abm", seed), _outcomes(off, "abm", seed), strict=True):
            tally[key][0 if on_x < off_x else 1 if on_x > off_x else 2] += 1
    return {k: (w, lo, t, _p(w, lo)) for k, (w, lo, t) in tally.items()}


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver, "Society", _Watch)


def test_watching_trust_changes_nothing(watch: None) -> None:
    sc = _truce_camp()
    r, w = _watched(sc, "abm", 3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(driver, "Society", Society)
        plain = simulate(sc, engine="abm", seed=3)
    assert np.array_equal(r.counts, plain.counts) and np.array_equal(r.truce, plain.truce)
    assert len(w.other) == len(w.own) == DAYS


def test_culls_of_kin_erode_trust_and_break_truces_sooner(watch: None) -> None:
    """14 paired seeds; for each outcome p <= 2^-10 (one-sided sign test, ties dropped)."""
    results = _sign_tests(_truce_camp(), seeds=14)
    for key, (wins, losses, ties, p) in results.items():
        assert p <= 2.0**-10, (key, wins, losses, ties, p)


def test_the_ode_shows_the_same_direction(watch: None) -> None:
    """Trust acts in every engine: the ODE, one run each arm, strictly the same way."""
    sc = _truce_camp()
    on, off = _outcomes(sc, "ode", 0), _outcomes(with_overrides(sc, OFF), "ode", 0)
    assert all(a < b for a, b in zip(on, off, strict=True)), (on, off)


@pytest.mark.slow
def test_culls_of_kin_erode_trust_and_break_truces_sooner_full(watch: None) -> None:
    """A camp ten times larger, 60 paired seeds; for each outcome p < 10^-6."""
    results = _sign_tests(_truce_camp(scale=10), seeds=60)
    for key, (wins, losses, ties, p) in results.items():
        assert p < 1e-6, (key, wins, losses, ties, p)
