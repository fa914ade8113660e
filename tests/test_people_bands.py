"""Bands move together (issue 13, ties): when one of a band walks a route and gets in, the
band-mates where they set out from follow through the same gate, each with their own gate draw,
counted as the step's own moves (``aftermath.engines.abm.step.follow_bands``).

The world: two zones joined both ways, everyone healthy (no infection), a gate that screens
arrivals (specificity 0.7: three healthy walkers in ten are turned away), and one band
of six made by hand in ``a``. The step-by-step check reads the arrays after every step (the
engine's debug hook, which also recounts the zones: the followers' moves are in the counts)."""

from __future__ import annotations

import numpy as np

from aftermath.engines.abm.engine import AbmEngine
from aftermath.engines.abm.state import Ever
from aftermath.engines.abm.step import BAND_BASE
from aftermath.engines.driver import simulate
from aftermath.model.policies import PolicyBook
from aftermath.model.rates import daily_rates
from aftermath.model.society import Society
from aftermath.model.world import build_world
from aftermath.scenario.load import from_dict, load, with_overrides
from aftermath.scenario.scale import scale_population

BAND = 6


def _pair(moves: bool, rate: float = 0.3, gate: bool = True):
    screen = [{"type": "admission", "faction": "gov", "zones": ["b"], "mode": "screen", "specificity": 0.7}]
    return from_dict({
        "name": "pair", "run": {"days": 40, "dt": 0.25},
        "pathogen": {"beta": 0.0, "mutation": {"mu": 0.0}},
        "society": {"memory": {"band_moves": moves, "per_turned_away": 0.01}},
        "zones": [{"id": "a", "faction": "gov", "population": {"S": 300}, "household_size": 3},
                  {"id": "b", "faction": "gov", "population": {"S": 300}, "household_size": 3}],
        "routes": [{"from": "a", "to": "b", "rate": rate, "both_ways": True}],
        "factions": [{"id": "gov"}],
        "policies": screen if gate else [],
    })


def _with_band(sc, seed: int) -> tuple[AbmEngine, np.ndarray]:
    """An engine whose people 0..5 (all in ``a``) are one band, the only one."""
    eng = AbmEngine(build_world(sc), seed, check=True)
    ties, pop = eng.ties, eng.pop
    members = np.arange(BAND, dtype=np.int64)
    assert (pop.zone[members] == 0).all()
    pop.household[members] = BAND_BASE
    ties.band_count[0] = BAND
    ties.band_slots[0, :BAND] = members
    ties.n_bands = 1
    ties.in_band[:] = ties.band_bits(pop)  # (the step asks these, not the household ids)
    ties.count_bands(pop)  # room for their walks in the step
    return eng, members


def _days(eng: AbmEngine, days: int, after_step) -> None:
    world = eng.world
    society, book = Society(world), PolicyBook(world)
    verify = eng._verify

    def step_hook(day: int, k: int) -> None:
        verify(day, k)
        after_step(day, k)

    eng._verify = step_hook  # type: ignore[method-assign]
    for day in range(days):
        lv, _ = book.decide(day, society.indicators(day, eng.counts()))
        fl, rf = eng.advance_day(day, daily_rates(world, society, lv), lv)
        society.update(day, eng.counts(), fl, rf, lv)
        after_step(day, -1)  # the evening: memory faded, bands formed


def _watch(seed: int) -> tuple[int, int, int]:
    """Run the gated world with its band, checking every step; returns (steps on which some of the
    band moved, followers, band-mates turned away at the gate)."""
    eng, members = _with_band(_pair(True), seed)
    pop, ties, world = eng.pop, eng.ties, eng.world
    before = {"zone": pop.zone[members].copy(), "memory": pop.memory[members].copy()}
    seen = [0, 0, 0]

    def check(day: int, k: int) -> None:
        zone, memory = pop.zone[members].copy(), pop.memory[members].copy()
        assert not (pop.ever[: pop.n] & int(Ever.WALKED)).any()  # follow_bands' marks are off again
        if k < 0:
            before["memory"] = memory
            return
        alive = pop.state[members] <= 2
        for z0 in (0, 1):
            went = (before["zone"] == z0) & (zone != z0) & alive
            if not went.any():
                continue
            seen[0] += 1
            # everyone who was where they set out from has arrived too, or was turned away at
            # that gate this step (a turned-away walker remembers it: their memory rose)
            stayed = (before["zone"] == z0) & (zone == z0) & alive
            assert (memory[stayed] > before["memory"][stayed]).all(), (day, k, z0, zone, before)
            seen[2] += int(stayed.sum())
        for j, walker, r, outcome, _ in ties.followed:
            assert pop.household[j] == pop.household[walker] == BAND_BASE
            if outcome == 2:  # the band stayed (the walker may still go with another's walk later that step)
                assert j == walker
                continue
            seen[1] += j != walker
            assert pop.zone[j] == (world.route_to[r] if outcome == 1 else world.route_from[r])
        before["zone"], before["memory"] = zone, memory

    _days(eng, 40, check)
    return seen[0], seen[1], seen[2]


def test_a_band_arrives_together_or_is_turned_away_at_the_same_gate() -> None:
    moved_steps, followers, turned = (sum(x) for x in zip(*(_watch(seed) for seed in range(3)), strict=True))
    assert moved_steps >= 20 and followers >= 50 and turned >= 5, (moved_steps, followers, turned)


def test_a_band_without_moving_together_scatters() -> None:
    """Open gates, the same seeds with ``band_moves`` off: members walk on their own hazards and
    end apart far more often. Per seed, the share of the band's pairs in the same zone at the end.
    Under the null (moving together changes nothing) a seed's difference is as likely negative as
    positive; at least 11 of 12 seeds positive (a tie counts against) is a one-sided sign test at
    p = 13 / 4096 = 0.003. With open gates a band that moves together never splits: share 1.

    And moving together leaves each member's rate of moving as it was (the band goes at one
    member's rate): moves per member over 40 days at 0.3 a day are Poisson with mean 12 either
    way (a step of a quarter day makes it 0.3 (1 - 0.075 / 2) a day, 11.6); a band's moves are
    shared, so the 12 seeds give 12 independent counts: their mean is within 4 standard errors
    (sqrt(11.6 / 12) = 0.98) of 11.6, where every walk carrying the band along would give ~6 times it."""
    together, apart, moves = [], [], []
    for seed in range(12):
        for band_moves, out in ((True, together), (False, apart)):
            eng, members = _with_band(_pair(band_moves, gate=False), seed)
            last = {"zone": eng.pop.zone[members].copy(), "moves": 0}

            def count(day: int, k: int, eng=eng, members=members, last=last) -> None:
                z = eng.pop.zone[members].copy()
                last["moves"] += int((z != last["zone"]).sum())
                last["zone"] = z

            _days(eng, 40, count)
            if band_moves:
                moves.append(last["moves"] / BAND)
            z = eng.pop.zone[members]
            same = (z[:, None] == z[None, :])[np.triu_indices(BAND, 1)]
            out.append(float(same.mean()))
    diff = np.array(together) - np.array(apart)
    assert (diff > 0).sum() >= 11, (together, apart)
    assert together == [1.0] * 12, together
    expect = 0.3 * 40 * (1 - 0.075 / 2)
    assert abs(np.mean(moves) - expect) <= 4 * np.sqrt(expect / 12), moves


def test_bands_keep_together_in_hyosan() -> None:
    """Hyosan with the bands that form from lost households: with bands moving together, the
    living members of a band share a zone more often at day 120 than with ``band_moves`` off."""
    sc = scale_population(load("hyosan"), 8000)
    share = {}
    for moves in (True, False):
        eng = AbmEngine(build_world(with_overrides(sc, {"society.memory.band_moves": moves})), 3)
        _days(eng, 120, lambda day, k: None)
        n = eng.pop.n
        hh, zone, alive = eng.pop.household[:n], eng.pop.zone[:n], eng.pop.state[:n] <= 2
        sel = (hh >= BAND_BASE) & alive
        pairs = same = 0
        for h in np.unique(hh[sel]):
            z = zone[sel & (hh == h)]
            k = z.size
            pairs += k * (k - 1) // 2
            same += int(sum((z == v).sum() * ((z == v).sum() - 1) // 2 for v in np.unique(z)))
        share[moves] = same / max(pairs, 1)
        assert pairs >= 100, pairs
    assert share[True] > share[False] + 0.05, share


def test_band_moves_changes_nothing_with_memory_off() -> None:
    """With memory off (no bands) the setting changes nothing."""
    sc = scale_population(load("hyosan"), 3000)
    off = {"society.memory.per_loss": 0.0, "society.memory.per_turned_away": 0.0, "society.memory.per_sealed": 0.0,
           "society.memory.per_breach": 0.0, "society.memory.distrust": 0.0}
    a = simulate(with_overrides(sc, {**off, "society.memory.band_moves": True}), engine="abm", days=30, seed=4)
    b = simulate(with_overrides(sc, {**off, "society.memory.band_moves": False}), engine="abm", days=30, seed=4)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.flows, b.flows)


def test_bands_moving_together_give_the_same_run_for_any_number_of_parts(monkeypatch) -> None:
    """The band pass is in person order with draws keyed by person: 1, 2 or 3 parts (threads),
    the same run bit for bit, in a world where bands form (deaths) and walk through a gate."""
    import hashlib

    from aftermath.engines.abm import engine as abm_engine
    from aftermath.engines.abm.parts import Parts

    sc = with_overrides(_pair(True, rate=0.2), {"demography.death": 0.03, "run.days": 40, "cast": 40})
    digests = set()
    for n_parts in (1, 2, 3):
        monkeypatch.setattr(abm_engine, "Parts", lambda n=n_parts: Parts(n))
        monkeypatch.setattr(Parts, "PARALLEL_PEOPLE", 0)  # on the threads however few
        r = simulate(sc, engine="abm", seed=2)
        digests.add(hashlib.sha256(r.counts.tobytes() + r.flows.tobytes() + r.route_flows.tobytes()).hexdigest())
        assert r.route_flows[:, 2].sum() > 0  # some were turned away at the gate
        assert any(e["kind"] == "followed_band" for e in r.extras["cast"]["events"])  # and bands moved
    assert len(digests) == 1
