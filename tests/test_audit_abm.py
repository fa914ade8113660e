"""ABM behaviours a fault-injection audit found no test holding: the band walks' person order, memory's
concealment at screening gates, the event step's geometric skips reaching a list's last place, the
within-day sample taken after its own step, a policy's condition read in each of its zones, and a
household's concealment decided for the whole household.

Statistical checks take their tolerance from the sample size (binomial standard errors, a sign test);
every world is small, so the file runs in seconds once the kernels are compiled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from aftermath.engines.abm.events import choose_range
from aftermath.engines.abm.rng import Stream, stream_key
from aftermath.engines.abm.step import CHUNK, gather_walks
from aftermath.engines.driver import simulate
from aftermath.model.flows import Flag
from aftermath.model.world import State
from aftermath.record.fine import fine_counts
from aftermath.scenario.load import with_overrides
from aftermath.scenario.schema import Scenario
from tests.contract.worlds import scenario

#: standard errors allowed for one binomial frequency (two-sided p ~ 6e-5 per check)
Z_TOL = 4.0


def _run_keeping_engine(sc: Scenario, seed: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The run and the ABM engine that made it (to read its population arrays)."""
    from tests.test_abm_attack_rate import run_keeping_engine

    return run_keeping_engine(sc, seed, monkeypatch)


# -- band walks: gathered in person order, whatever the number of parts ---------------------------

def _noted_walks(people: np.ndarray, ks: np.ndarray, rows: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """``moves, move_lo, move_n`` as the step leaves them with ``rows`` rows (the event step's
    parts, which may visit people of any chunk in any order): each walker's note (their place in
    their chunk plus ``k`` chunks: the ``k``-th route out of their zone) in their chunk's room of
    a row dealt at random, in a shuffled order, each chunk's room with some spare."""
    chunk = people // CHUNK
    n_chunks = int(chunk.max()) + 1
    move_lo = np.zeros(n_chunks + 1, dtype=np.int64)
    np.cumsum(np.bincount(chunk, minlength=n_chunks) + 3, out=move_lo[1:])
    moves = np.full(rows * int(move_lo[-1]), -1, dtype=np.int32)
    move_n = np.zeros((rows, n_chunks), dtype=np.int64)
    for q in rng.permutation(people.size):
        row, c = int(rng.integers(rows)), int(chunk[q])
        moves[row * move_lo[-1] + move_lo[c] + move_n[row, c]] = people[q] - c * CHUNK + ks[q] * CHUNK
        move_n[row, c] += 1
    return moves, move_lo, move_n


def test_band_walks_are_gathered_in_person_order_for_any_number_of_parts() -> None:
    """``gather_walks`` puts the step's band walks in person order, each with its route (the
    ``k``-th out of the walker's zone), so the band pass (which draws and moves in that order) is
    the same for 1, 2 or 3 parts (threads) noting them in any order."""
    rng = np.random.default_rng(7)
    people = np.sort(rng.choice(5 * CHUNK, size=300, replace=False)).astype(np.int64)
    ks = rng.integers(0, 5, size=people.size).astype(np.int64)
    zone = rng.integers(0, 3, size=5 * CHUNK).astype(np.uint16)
    out_routes = 10 * np.arange(3, dtype=np.int64)[:, None] + np.arange(5, dtype=np.int64)[None, :]
    expected = (people << 32) | out_routes[zone[people], ks]  # ascending: people are distinct and come first
    for rows in (1, 2, 3):
        moves, move_lo, move_n = _noted_walks(people, ks, rows, rng)
        words = np.zeros(people.size, dtype=np.int64)
        n_walk = int(gather_walks(moves, move_lo, move_n, zone, out_routes, words))
        assert n_walk == people.size
        np.testing.assert_array_equal(words, expected, err_msg=f"{rows} rows")
        assert not move_n.any()  # zeroed for the next step


# -- memory's concealment gain at screening gates -------------------------------------------------

def _gate(conceal: float) -> Scenario:
    """Households of four hybrids in a camp walk to a town that screens arrivals (catching every
    hybrid) and culls hybrids (at rate 0: the cull is harsh, so households hide their own, but never
    acts, so no concealment happens anywhere but at the gate). A hybrid turned away remembers it
    (``per_turned_away`` 1, the only memory gain); memory multiplies the harshness term of
    concealment by ``1 + conceal * memory``."""
    return scenario("gate-memory", [
        {"id": "camp", "faction": "gov", "population": {"H": 200}, "household_size": 4},
        {"id": "town", "faction": "gov", "population": {"S": 200}},
    ], run={"days": 12}, factions=[{"id": "gov"}],
        routes=[{"from": "camp", "to": "town", "rate": 0.4}],
        society={"concealment": {"base": 0.0, "harshness": 0.3, "trust_weight": 0.0},
                 "memory": {"per_loss": 0.0, "per_turned_away": 1.0, "per_sealed": 0.0, "per_breach": 0.0,
                            "distrust": 0.0, "conceal": conceal, "band_size": 0}},
        policies=[{"type": "admission", "zones": ["town"], "mode": "screen", "sensitivity": 1.0, "specificity": 1.0},
                  {"type": "hybrids", "zones": ["town"], "action": "cull", "rate": 0.0}])


def test_memory_of_being_turned_away_raises_concealment_at_a_screening_gate() -> None:
    """Paired seeds, memory's concealment gain 2 against 0 (everything else the same): a household
    turned away once hides its hybrid more readily at the next try, so more hybrids get through
    concealed. Under the null hypothesis (the gain changes nothing at the gate) each seed's
    difference is as likely positive as negative: every seed with a difference must be positive and
    at least 12 of them, a one-sided sign test at p <= 2^-12 = 0.00024."""
    on, off = _gate(2.0), _gate(0.0)
    wins = losses = hidden_without_memory = 0
    for seed in range(14):
        r_on, r_off = simulate(on, engine="abm", seed=seed), simulate(off, engine="abm", seed=seed)
        on_c, off_c = r_on.summary()["ledger"]["concealed"], r_off.summary()["ledger"]["concealed"]
        wins += on_c > off_c
        losses += on_c < off_c
        hidden_without_memory += off_c > 0
    assert losses == 0 and wins >= 12, (wins, losses)
    assert hidden_without_memory > 0  # the harsh cull alone already makes households hide some


def test_news_waiting_on_a_person_is_no_memory_when_their_household_hides_them() -> None:
    """A news byte (254, 255: a death, turning or cull not yet told to the household; one turned
    and cured back the same day still carries it) holds no memory, for concealment too: hybrids
    whose bytes all hold news, culled in a harsh camp with memory's concealment gain on, are hidden
    on their first day exactly as often as the same hybrids remembering nothing (the same day; the
    day's end then tells the households of the culled, which changes memory). Read as memory, the
    byte's 255 would double the harshness term of concealment and hide nearly every one of them.
    (Memory is on through a gain nothing here can use: there are no gates.)"""
    sc = scenario("news-conceal", [{"id": "camp", "faction": "gov", "population": {"H": 400}, "household_size": 4}],
                  run={"days": 1}, factions=[{"id": "gov"}],
                  society={"concealment": {"base": 0.0, "harshness": 0.5, "trust_weight": 0.0},
                           "memory": {"per_loss": 0.0, "per_turned_away": 0.5, "per_sealed": 0.0,
                                      "per_breach": 0.0, "distrust": 0.0, "conceal": 1.0, "band_size": 0}},
                  policies=[{"type": "hybrids", "zones": ["camp"], "action": "cull", "rate": 1.0}])

    def news(eng: Any) -> None:
        eng.pop.memory[: eng.pop.n] = 255

    for seed in range(3):
        plain, told = simulate(sc, engine="abm", seed=seed), simulate(sc, engine="abm", seed=seed, on_start=news)
        assert plain.summary()["ledger"]["concealed"] > 0  # the harsh cull alone makes households hide some
        assert np.array_equal(plain.counts, told.counts) and np.array_equal(plain.flows, told.flows)
        assert plain.summary()["ledger"] == told.summary()["ledger"]


# -- the event step's geometric skips: every place of a list, the last included --------------------

@pytest.mark.parametrize("p", [0.2, 0.7])
def test_choose_range_chooses_each_place_with_its_probability(p: float) -> None:
    """Each of the places ``lo .. hi - 1`` is chosen with probability ``p``, the last one too: over
    ``keys`` independent keys each place's frequency is within ``Z_TOL`` binomial standard errors
    ``sqrt(p (1 - p) / keys)`` of ``p``, and the places come out ascending and within the range."""
    keys, lo = 20_000, 3
    se = math.sqrt(p * (1.0 - p) / keys)
    out = np.empty(8, dtype=np.int64)
    for n in range(1, 6):
        hits = np.zeros(n, dtype=np.int64)
        for k in range(keys):
            key = np.uint64(stream_key(11, int(Stream.COUNT), n * keys + k))
            got = int(choose_range(lo, lo + n, p, key, out))
            assert 0 <= got <= n
            places = out[:got] - lo
            assert (np.diff(places) > 0).all() and (places >= 0).all() and (places < n).all()
            hits[places] += 1
        z = (hits / keys - p) / se
        assert (np.abs(z) <= Z_TOL).all(), (n, p, hits, z)


def test_the_event_step_decays_every_feral() -> None:
    """Three ferals that decay at 2 a day for 10 days and nobody else (``run.abm_mode = "events"``):
    each is gone but with probability exp(-20) ~ 2e-9, so none may remain in any of 20 seeds (a
    feral that the event step could never draw would stay for ever)."""
    sc = scenario("events-decay", [{"id": "a", "population": {"Z": 3}}], run={"days": 10, "abm_mode": "events"},
                  defence={"decay": 2.0})
    for seed in range(20):
        r = simulate(sc, engine="abm", seed=seed)
        assert r.counts[-1, 0, State.Z] == 0, seed
        assert r.counts[-1, 0, State.R] == 3, seed  # decayed ferals are removed (R), none lost


# -- samples within the day: the state after the step they name ----------------------------------

def test_the_mid_day_sample_is_the_state_after_the_first_half_day() -> None:
    """Pure decay at 1 a day, ``dt = record_every = 0.5``: the sample at t = 0.5 is the state after
    the first step, each of the Z0 ferals surviving with probability exp(-0.5) (the ABM's step is
    exact for a constant hazard): within ``Z_TOL`` binomial SDs ``sqrt(Z0 p (1 - p))`` of Z0 p."""
    z0 = 100_000
    sc = scenario("fine-decay", [{"id": "a", "population": {"Z": z0}}],
                  run={"days": 1, "dt": 0.5, "record_every": 0.5}, defence={"decay": 1.0})
    r = simulate(sc, engine="abm", seed=3)
    t, c = fine_counts(r)
    np.testing.assert_allclose(t, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(c[[0, 2]], r.counts)  # whole days: the daily record
    for when, z in ((0.5, c[1, 0, State.Z]), (1.0, c[2, 0, State.Z])):
        p = math.exp(-when)
        assert abs(z - z0 * p) <= Z_TOL * math.sqrt(z0 * p * (1.0 - p)), (when, z, z0 * p)


# -- a policy over several zones reads each zone's own indicators --------------------------------

@pytest.mark.parametrize("feral_zone", [0, 1])
def test_a_faction_policy_switches_on_only_where_its_condition_holds(feral_zone: int) -> None:
    """A faction's cure over its two zones, ``when = "ferals >= 1"``, with ferals in one zone only
    (no routes): the policy acts in that zone from day 0 and never in the other (ODE and exact SSA)."""
    zones: list[dict[str, Any]] = [{"id": "a", "faction": "gov", "population": {"S": 500.0}},
                                   {"id": "b", "faction": "gov", "population": {"S": 500.0}}]
    zones[feral_zone]["population"]["Z"] = 20.0
    sc = scenario("policy-zones", zones, run={"days": 5}, factions=[{"id": "gov"}],
                  policies=[{"type": "cure", "faction": "gov", "rate": 0.1, "when": "ferals >= 1"}])
    for engine in ("ode", "ssa"):
        r = simulate(sc, engine=engine, seed=1)
        acted = r.policy_acted[:, 0, :]
        assert acted[:, feral_zone].all(), (engine, acted)
        assert not acted[:, 1 - feral_zone].any(), (engine, acted)


# -- concealment under a cull: decided per household ---------------------------------------------

def test_a_household_hides_all_its_hybrids_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cull of households of four hybrids with ``concealment.base = 0.5``: the household decides
    (once, for the run) whether to hide its own, so no household has both a concealed and a culled
    member, and at a cull rate of 4 a day for 5 days every member of a hiding household has had a
    cull event (all but with probability exp(-20)), so each household's concealed count is 0 or 4."""
    sc = scenario("house-conceal", [{"id": "a", "population": {"H": 400}, "household_size": 4}], run={"days": 5},
                  society={"concealment": {"base": 0.5, "harshness": 0.0, "trust_weight": 0.0}},
                  policies=[{"type": "hybrids", "action": "cull", "zones": ["a"], "rate": 4.0}])
    sc = with_overrides(sc, {"society.memory.band_size": 0})
    _, eng = _run_keeping_engine(sc, 5, monkeypatch)
    pop = eng.pop
    n = pop.n
    house = pop.household[:n].astype(np.int64)
    concealed = (pop.flags[:n] & int(Flag.CONCEALED)) != 0
    culled = (pop.flags[:n] & int(Flag.CULLED)) != 0
    size = np.bincount(house)
    hidden = np.bincount(house, weights=concealed)
    killed = np.bincount(house, weights=culled)
    lived = size > 0
    assert (size[lived] == 4).all()
    assert ((hidden[lived] == 0) | (hidden[lived] == size[lived])).all(), np.c_[size, hidden, killed][lived]
    assert ((hidden[lived] == 0) | (killed[lived] == 0)).all()
    # both kinds of household exist: 100 households, each hiding with probability 1/2
    assert 0 < (hidden[lived] > 0).sum() < lived.sum()
    assert (hidden + killed)[lived].sum() == n  # everyone had a cull event: concealed or culled
