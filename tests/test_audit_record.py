"""Checks that a fault-injection audit found missing: each holds a property of the record (the SSA's
zone denominators, admission and official deaths, fear from sweeps, the chronicle's elimination,
the store's labels, the summary's definitions) that an injected bug broke without any test failing.

Each test names, in its docstring, the fault it was shown to catch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aftermath as am
from aftermath.engines.driver import simulate
from aftermath.model.flows import DEATH_FLOWS, FLOW_NAMES, Flow
from aftermath.model.world import STATE_NAMES, State
from aftermath.record.chronicle import PRESENCE
from aftermath.record.official import official_record
from aftermath.result import Result
from aftermath.store import Store, record_from_result
from tests.contract.worlds import FOREVER, Z_TOL, scenario
from tests.test_policies import two_zones

# -- the SSA: a zone's N after arrivals ----------------------------------------------------------

def test_ssa_recomputes_the_bites_of_a_zone_whose_n_grew_by_births() -> None:
    """Frequency mixing over the living: 20,000 births a day into a zone of 500 people raise its N
    40-fold within the day, and each birth must lower the bite hazard of the initial cohort (who
    count the first infections) at once. The SSA's mean of first infections over 200 seeds lies
    within Z_TOL standard errors (from the sample) of the ODE, here the mean: the hazard
    beta Z / N(t) is the same for everyone, N(t) all but deterministic at this size.
    (Audit fault: the destination zone's propensities not recomputed after a birth or an arrival:
    z = +16.)"""
    sc = scenario("ssa_births", [{"id": "a", "population": {"S": 500, "Z": 20}}],
                  run={"days": 1, "denominator": "living"},
                  pathogen={"beta": 0.5, "latency": FOREVER}, demography={"births": 20_000.0})
    ode = float(simulate(sc, engine="ode").flows[:, Flow.FIRST_INFECTION].sum())
    runs = 200
    x = np.array([simulate(sc, engine="ssa", seed=k).flows[:, Flow.FIRST_INFECTION].sum() for k in range(runs)])
    se = float(x.std(ddof=1)) / np.sqrt(runs)
    undiluted = 500 * -np.expm1(-0.5 * 20 / 520)  # N held at 520: ~9.5 first infections
    assert 0.5 < ode < undiluted / 5  # the births dilute the bites: a few first infections remain
    assert abs(x.mean() - ode) <= Z_TOL * se, f"SSA mean {x.mean():.3f} vs ODE {ode:.3f}, SE {se:.3f}"


# -- policies: admission, official deaths, fear -------------------------------------------------

def test_competing_admission_policies_the_harshest_wins_whatever_the_order() -> None:
    """Closed and screen on one zone: closed wins in either file order, with its own parameters:
    the run equals closed alone and nobody is admitted. (Audit fault: the mildest admission wins.)"""
    closed = {"type": "admission", "zones": ["refuge"], "mode": "closed"}
    screen = {"type": "admission", "zones": ["refuge"], "mode": "screen", "sensitivity": 0.9, "specificity": 0.7}
    a = am.simulate(two_zones([closed, screen]), days=30)
    b = am.simulate(two_zones([screen, closed]), days=30)
    only_closed = am.simulate(two_zones([closed]), days=30)
    refuge = 1
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.flows, b.flows)
    assert np.array_equal(a.counts, only_closed.counts) and np.array_equal(a.flows, only_closed.flows)
    assert a.flows[:, Flow.HUMAN_ARRIVED, refuge].sum() == 0.0
    assert a.flows[:, Flow.EXCLUDED, refuge].sum() > 0.0  # people came, and were turned away


def test_official_deaths_leave_out_the_culled_and_the_hybrids_killed_in_sweeps() -> None:
    """A faction that culls hybrids and sweeps its zone (hybrids too): its official deaths leave out
    both, CULL + SWEEP_HYBRIDS in its zone, each above 0. (Audit fault: the swept hybrids stay in
    the official deaths.)"""
    res = am.simulate(two_zones([
        {"type": "hybrids", "zones": ["refuge"], "action": "cull", "rate": 0.05},
        {"type": "sweep", "zones": ["refuge"], "every": 5, "kill": 0.5, "hybrids": True},
    ]))
    f = res.flows.sum(axis=0)
    refuge = 1
    culled, swept = f[Flow.CULL, refuge], f[Flow.SWEEP_HYBRIDS, refuge]
    assert culled > 0.5 and swept > 0.5
    deaths = official_record(res).set_index(["faction", "measure"]).loc[("gov", "deaths")]
    assert deaths["true"] == pytest.approx(f[list(DEATH_FLOWS), refuge].sum(), rel=1e-12)
    assert deaths["left_out"] == pytest.approx(culled + swept, rel=1e-9)
    assert deaths["official"] == pytest.approx(deaths["true"] - culled - swept, rel=1e-9)
    assert deaths["who"] == f"{culled:,.0f} culled hybrids and {swept:,.0f} hybrids killed in sweeps"


def test_the_deaths_of_a_sweep_raise_fear_the_same_day() -> None:
    """One zone, fear's only input per_death: a sweep on day 0 kills half of its 100 hybrids (deaths:
    docs/report.md) and nothing else happens. Fear at the end of day 0 is
    (1 - decay) fear0 + per_death * deaths / living, the 50 swept counted among the deaths.
    (Audit fault: society fed the day's flows without the sweep's.)"""
    fear0, decay, per_death = 0.2, 0.1, 0.5
    sc = scenario("sweep_fear", [{"id": "a", "population": {"S": 1000, "H": 100, "Z": 10}}],
                  run={"days": 2},
                  pathogen={"latency": FOREVER},
                  society={"fear": {"initial": fear0, "decay": decay, "per_death": per_death}},
                  policies=[{"type": "sweep", "zones": ["a"], "every": 100, "kill": 0.5, "hybrids": True}])
    res = simulate(sc, engine="ode")
    assert res.flows[0, Flow.SWEEP_HYBRIDS, 0] == pytest.approx(50.0, rel=1e-12)
    assert res.flows[0, list(DEATH_FLOWS), 0].sum() == pytest.approx(50.0, rel=1e-12)  # the only deaths
    living = 1000 + 50 + 5  # S, the hybrids and ferals the sweep left
    assert res.counts[1, 0, : State.D].sum() == pytest.approx(living, rel=1e-12)
    want = (1 - decay) * fear0 + per_death * 50 / living
    assert res.fear[1, 0] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert res.fear[2, 0] == pytest.approx((1 - decay) * want, rel=1e-12, abs=1e-12)  # no sweep on day 1


# -- the chronicle -------------------------------------------------------------------------------

def test_elimination_waits_for_the_latent() -> None:
    """The ferals are destroyed within a day or two while 20 latent carriers take weeks to turn (and
    each new feral is destroyed fast): no infected remain only once the latent are gone. The
    chronicle's elimination is that day, the summary's elimination_day. (Audit fault: the
    chronicle's elimination counted only hybrids and ferals.)"""
    sc = scenario("elimination", [{"id": "a", "population": {"S": 1000, "E": 20, "Z": 100}}],
                  run={"days": 60}, pathogen={"latency": 10.0}, defence={"decay": 5.0})
    res = simulate(sc, engine="ode")
    day = res.summary()["elimination_day"]
    assert day is not None
    assert [e.day for e in res.chronicle if e.kind == "elimination"] == [day]
    infected = res.counts[:, :, State.E : State.D].sum(axis=(1, 2))  # at the end of day d: index d + 1
    assert infected[day + 1] < PRESENCE <= infected[day]
    # the ferals were gone by day 2 while the latent remained: they are most of the last infected
    assert res.counts[3, :, State.Z].sum() < PRESENCE <= res.counts[3, :, State.E].sum()
    assert res.counts[day, :, State.E].sum() > res.counts[day, :, [State.H, State.Z]].sum()
    assert day > 20


def test_humans_extinct_is_the_summary_extinction_day() -> None:
    """Everyone dies at 0.5 a day, the latent too: the chronicle's humans_extinct is the summary's
    extinction_day, the first day whose end has fewer than half a human (S + E + H)."""
    sc = scenario("extinction", [{"id": "a", "population": {"S": 100, "E": 100}}],
                  run={"days": 30}, pathogen={"latency": FOREVER}, demography={"death": 0.5})
    res = simulate(sc, engine="ode")
    day = res.summary()["extinction_day"]
    assert day is not None
    assert [e.day for e in res.chronicle if e.kind == "humans_extinct"] == [day]
    humans = res.counts[:, :, [State.S, State.E, State.H]].sum(axis=(1, 2))
    assert humans[day + 1] < PRESENCE <= humans[day]


# -- the store -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hyosan() -> Result:
    """Hyosan on the ODE for a few weeks: six zones, hybrids that relapse."""
    return am.simulate(am.load("hyosan"), engine="ode", days=20)


def test_stored_series_and_flows_pivot_back_to_the_result(tmp_path: Path, hyosan: Result) -> None:
    """The store's series and flows, each row read back by its day, zone, state or flow labels, are
    the result's counts and flows exactly (flows are sparse: absent rows are zeros).
    (Audit fault: flows stored without transposing, under wrong zone and flow labels.)"""
    res = hyosan
    with Store(tmp_path / "s.duckdb") as st:
        st.add_batch({"batch_id": "b", "kind": "ensemble", "scenario": "Hyosan", "scenario_hash": "h",
                      "engine": "ode", "master_seed": 0, "runs": 1, "days": res.days, "points": 1, "spec": "{}"})
        (rid,) = st.write([record_from_result(res, {
            "batch_id": "b", "point": 0, "variant": "v0", "overrides": "{}", "replicate": 0, "seed": 0,
            "scenario": "Hyosan", "scenario_hash": "h", "engine": "ode"})])
        series = st.query("SELECT day, zone, state, count FROM series WHERE run_id = ?", [rid])
        flows = st.query("SELECT day, zone, flow, count FROM flows WHERE run_id = ?", [rid])
    zone = {z: i for i, z in enumerate(res.zone_ids)}
    counts = np.full(res.counts.shape, np.nan)
    counts[series["day"].to_numpy(int), series["zone"].map(zone).to_numpy(int),
           series["state"].map({s: i for i, s in enumerate(STATE_NAMES)}).to_numpy(int)] = series["count"]
    assert np.array_equal(counts, res.counts)
    assert len(flows) == np.count_nonzero(res.flows) and (flows["count"] != 0).all()
    got = np.zeros(res.flows.shape)
    got[flows["day"].to_numpy(int), flows["flow"].map({f: i for i, f in enumerate(FLOW_NAMES)}).to_numpy(int),
        flows["zone"].map(zone).to_numpy(int)] = flows["count"]
    assert np.array_equal(got, res.flows)


# -- the summary's definitions (docs/report.md, "A run's summary") -------------------------------

def _per_flow(res: Result, *flows: Flow) -> float:
    return float(res.flows[:, list(flows)].sum())


#: summary key -> its definition in docs/report.md, from the flows and the counts
DEFINITIONS: dict[str, Any] = {
    "initial_humans": lambda r: float(r.counts[0, :, [State.S, State.E, State.H]].sum()),
    "survivors": lambda r: float(r.counts[-1, :, [State.S, State.E, State.H]].sum()),
    "susceptible": lambda r: float(r.counts[-1, :, State.S].sum()),
    "latent": lambda r: float(r.counts[-1, :, State.E].sum()),
    "hybrids": lambda r: float(r.counts[-1, :, State.H].sum()),
    "ferals": lambda r: float(r.counts[-1, :, State.Z].sum()),
    "ferals_at_start": lambda r: float(r.counts[0, :, State.Z].sum()),
    "deaths": lambda r: _per_flow(r, Flow.BITE_DEATH, Flow.NATURAL_DEATH, Flow.STARVATION, Flow.CULL,
                                  Flow.SWEEP_HYBRIDS),
    "turned": lambda r: _per_flow(r, Flow.ONSET_FERAL, Flow.RELAPSE),
    "infections": lambda r: _per_flow(r, Flow.INFECTION),
    "births": lambda r: _per_flow(r, Flow.BIRTH),
    "breaches": lambda r: _per_flow(r, Flow.BREACH),
    "turned_away_attempts": lambda r: _per_flow(r, Flow.EXCLUDED),
    "turned_away_attempts_healthy": lambda r: _per_flow(r, Flow.EXCLUDED_HEALTHY),
    "culled": lambda r: _per_flow(r, Flow.CULL),
    "hybrids_swept": lambda r: _per_flow(r, Flow.SWEEP_HYBRIDS),
    "killed_by_policy": lambda r: _per_flow(r, Flow.CULL, Flow.SWEEP_HYBRIDS),
    "ferals_swept": lambda r: _per_flow(r, Flow.SWEEP_KILL) - _per_flow(r, Flow.SWEEP_HYBRIDS),
    "starved": lambda r: _per_flow(r, Flow.STARVATION),
    "attack_rate": lambda r: ((_per_flow(r, Flow.FIRST_INFECTION) + r.counts[0, :, [State.E, State.H]].sum())
                              / r.counts[0, :, [State.S, State.E, State.H]].sum()),
}


@pytest.mark.parametrize("key", sorted(DEFINITIONS))
def test_summary_keys_are_their_definitions(hyosan: Result, key: str) -> None:
    """Each summary key equals its definition in docs/report.md, on Hyosan (where hybrids relapse:
    ``turned`` is onset and relapse) and latent and hybrids are infected at the start. (Audit
    faults: ``turned`` without RELAPSE; ``attack_rate`` without the infected at the start.)"""
    if key == "turned":
        assert _per_flow(hyosan, Flow.RELAPSE) > 1.0  # the definition's second term is in play
    if key == "attack_rate":
        assert hyosan.counts[0, :, [State.E, State.H]].sum() > 1.0  # so is the infected at the start
    assert hyosan.summary()[key] == pytest.approx(DEFINITIONS[key](hyosan), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("engine", ["ode", "ssa", "abm"])
def test_attack_rate_counts_the_infected_at_the_start(engine: str) -> None:
    """900 susceptible, 60 latent and 40 hybrids at the start, and no bites: a tenth of the initial
    humans were ever infected, in every engine. (Audit fault: the attack rate left out the infected
    at the start.)"""
    sc = scenario("attack", [{"id": "a", "population": {"S": 900, "E": 60, "H": 40}}],
                  run={"days": 3}, pathogen={"latency": FOREVER})
    s = simulate(sc, engine=engine, seed=1).summary()
    assert s["initial_humans"] == 1000.0 and s["infections"] == 0.0
    assert s["attack_rate"] == 0.1
