"""Which strain a product carries: the ABM's bites take the biter's strain in proportion to each
strain's pressure, the bitten dead keep it (and rise in it), and each strain's own latency and
hybrid chance decide the outcome. The table test and the one-strain contract worlds cannot see
these; a fault that gave every product strain 0, or the founder's traits, passed them."""

from __future__ import annotations

import numpy as np
from scipy import stats

from aftermath.engines.abm import AbmEngine
from aftermath.model.policies import Levers
from aftermath.model.rates import daily_rates
from aftermath.model.society import Society
from aftermath.model.world import State, build_world
from aftermath.scenario.load import from_dict, load

N_S, Z0, Z1 = 20_000, 100, 300


def two_strain_engine(reanimation: float = 0.0) -> AbmEngine:
    """One zone, mass action off, 20,000 S and ferals of two strains: ``a`` (the founder: latent 5
    days, never hybrid) with 100 ferals and ``b`` (no latency, always hybrid, twice the bite rate)
    with 300; about 2,000 bites a day. A quarter of bites kill."""
    data = load("sir").model_dump(by_alias=True)
    data["zones"][0]["population"] = {"S": float(N_S), "Z": float(Z0 + Z1)}
    data["pathogen"].update({"beta": 2.0, "latency": 5.0, "p_hybrid": 0.0, "kappa": 0.25, "k_res": 0.0,
                             "strains": [{"id": "b", "beta": 4.0, "latency": 0.0, "p_hybrid": 1.0}]})
    data["defence"].update({"alpha": 0.0, "decay": 0.0, "reanimation": reanimation})
    data["run"].update({"days": 2, "dt": 0.25})
    eng = AbmEngine(build_world(from_dict(data)), seed=11)
    pop = eng.pop
    ferals = np.flatnonzero(pop.state[: pop.n] == State.Z)
    pop.strain[ferals[Z0:]] = 1  # the last 300 ferals carry strain b
    eng.counts_i, eng.czs = eng._recount()
    return eng


def advance(eng: AbmEngine, days: int = 1) -> None:
    world = eng.world
    for day in range(days):
        eng.advance_day(day, daily_rates(world, Society(world), Levers.none(world.n_zones)), Levers.none(1))


def test_bites_take_the_biters_strain_in_proportion_to_its_pressure() -> None:
    eng = two_strain_engine()
    advance(eng)
    pop = eng.pop
    st, strain = pop.state[: pop.n], pop.strain[: pop.n]
    bitten = (st != State.S) & (np.arange(pop.n) < N_S)  # the people were S at the start (placed first)
    bitten_states = st[bitten]
    by_b = strain[bitten] == 1
    n = int(bitten.sum())
    assert n > 1000
    share_b = 4.0 * Z1 / (4.0 * Z1 + 2.0 * Z0)  # 6/7
    assert stats.binomtest(int(by_b.sum()), n, share_b).pvalue > 1e-4
    # each strain's own outcome: a infects into latency (E, some already ended as ferals: never a
    # hybrid), b at once into a hybrid (H)
    infected = bitten_states != State.D
    from_a = bitten_states[infected & ~by_b]
    assert set(from_a) == {State.E, State.Z} and (from_a == State.E).mean() > 0.7
    assert set(bitten_states[infected & by_b]) == {State.H}
    # the bitten dead keep the biter's strain, in the same proportion
    dead = bitten_states == State.D
    assert stats.binomtest(int((dead & by_b).sum()), int(dead.sum()), share_b).pvalue > 1e-4
    assert stats.binomtest(int(dead.sum()), n, 0.25).pvalue > 1e-4


def test_the_dead_rise_in_their_strain() -> None:
    eng = two_strain_engine(reanimation=50.0)  # a corpse rises within the step
    advance(eng)
    pop = eng.pop
    st, strain = pop.state[: pop.n], pop.strain[: pop.n]
    risen = (st == State.Z) & (np.arange(pop.n) < N_S)
    assert risen.sum() > 100
    share_b = 4.0 * Z1 / (4.0 * Z1 + 2.0 * Z0)
    assert stats.binomtest(int((strain[risen] == 1).sum()), int(risen.sum()), share_b).pvalue > 1e-4
    # and the strain counts the engine keeps agree with the people
    counts, czs = eng._recount()
    assert np.array_equal(counts, eng.counts_i)
    assert np.array_equal(czs, eng.czs)
