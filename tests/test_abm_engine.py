"""ABM engine behaviour: evolution, the ledger, concealment, births, conservation, memory refusal."""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pytest

from aftermath.engines.abm.engine import AbmEngine
from aftermath.engines.driver import simulate
from aftermath.model.flows import Flow
from aftermath.model.world import TRAIT_BOUNDS, TRAITS, build_world
from aftermath.scenario.load import ScenarioError, from_dict, load
from aftermath.scenario.scale import scale_population
from aftermath.scenario.schema import Scenario


def variant(people: int = 3000, days: int = 40, **changes: Any) -> Scenario:
    data = scale_population(load("hyosan"), people).model_dump(by_alias=True)
    data["run"]["days"] = days
    for path, value in changes.items():
        *head, last = path.split("__")
        d = data
        for key in head:
            d = d[key]
        d[last] = value
    return from_dict(data)


def test_mutation_builds_a_valid_phylogeny() -> None:
    r = simulate(variant(pathogen__mutation__mu=0.2), engine="abm", seed=1)
    tab = r.extras["strains"]
    assert len(tab) > 5
    ids = list(tab["strain"])
    assert tab["parent"].iloc[0] == ""
    for i, row in tab.iloc[1:].iterrows():
        assert row["parent"] in ids[: int(i)]  # parents are older strains
        assert 0 <= row["day"] < 40 and row["zone"] in r.zone_ids
    for t in TRAITS:
        lo, hi = TRAIT_BOUNDS[t]
        assert tab[t].between(lo, hi).all()
    assert r.strain_counts.shape[1] == len(tab)
    infected = r.counts[:, :, 1:4].sum(axis=(1, 2))
    assert np.array_equal(r.strain_counts[1:].sum(axis=1), infected[1:])  # the recorder leaves day 0 empty
    lineages = [e for e in r.chronicle if e.kind == "new_lineage"]
    for e in lineages:
        assert e.value > 1.25
        # the ratio in words; the strain's id (what a user types in a query) last, in brackets
        m = re.fullmatch(r"a fitter strain appeared in (.+), (\d\.\d\d) times as fit as (the founding strain|"
                         r"the strain it came from \((\S+)\)) \(strain (\S+)\)", e.text)
        assert m and float(m.group(2)) == pytest.approx(e.value, abs=0.006), e.text
        assert m.group(5) in ids and (m.group(4) is None or m.group(4) in ids)


def test_a_fitter_strain_is_told_in_words() -> None:
    """New lineages in the chronicle: how much fitter in words, against the founding strain or the
    one it came from, the new strain's id (what a query takes) last, in brackets."""
    r = simulate(variant(pathogen__mutation__mu=0.2, pathogen__mutation__lineage_ratio=1.05, days=60),
                 engine="abm", seed=1)
    ids = list(r.extras["strains"]["strain"])
    told = [e for e in r.chronicle if e.kind == "new_lineage"]
    assert len(told) >= 3
    for e in told:
        m = re.fullmatch(r"a fitter strain appeared in (.+), (\d\.\d\d) times as fit as (the founding strain|"
                         r"the strain it came from \((\S+)\)) \(strain (\S+)\)", e.text)
        assert m and float(m.group(2)) == pytest.approx(e.value, abs=0.006), e.text
        names = {z.name or z.id for z in r.scenario.zones}
        assert m.group(1) in names | {n.replace("The ", "the ", 1) for n in names}, e.text
        assert m.group(5) in ids and (m.group(4) is None or m.group(4) in ids)


def test_a_fitter_strain_names_its_founder_when_there_are_several() -> None:
    r = simulate(variant(pathogen__mutation__mu=0.2, pathogen__mutation__lineage_ratio=1.05, days=40,
                         pathogen__strains=[{"id": "b", "beta": 0.6}]), engine="abm", seed=1)
    told = [e.text for e in r.chronicle if e.kind == "new_lineage" and "founding" in e.text]
    founders = set(r.extras["strains"]["strain"][:2])
    assert told and all(re.search(r"as fit as the founding strain (\S+) \(strain", t).group(1) in founders
                        for t in told), told


def test_strain_table_fills_and_says_so() -> None:
    r = simulate(variant(pathogen__mutation__mu=0.5, pathogen__mutation__max_strains=6), engine="abm", seed=2)
    assert len(r.extras["strains"]) == 6
    assert [e.kind for e in r.chronicle].count("strain_table_full") == 1


def test_ledger_is_consistent_with_flows() -> None:
    r = simulate(variant(days=60), engine="abm", seed=4)
    led, tot = r.extras["ledger"], r.extras["ledger_totals"]
    assert list(led.columns) == ["flag", "zone", "faction", "fate", "count"]
    assert led.groupby("flag")["count"].sum().to_dict() == {k: v for k, v in tot.items() if v}
    flows = r.flows.sum(axis=(0, 2))
    assert tot["sealed_in"] > 0 and tot["sacrificed"] <= tot["sealed_in"]
    assert tot["culled"] == flows[Flow.CULL]
    assert tot["hybrids_swept"] == flows[Flow.SWEEP_HYBRIDS]
    assert tot["excluded"] <= flows[Flow.EXCLUDED] and tot["excluded_healthy"] <= tot["excluded"]
    sac = led[led["flag"] == "sacrificed"]
    assert set(sac["zone"]) <= {"quarantine"} and set(sac["fate"]) <= {"dead", "infected", "hybrid", "feral"}


def test_concealment_shields_hybrids_from_culls() -> None:
    cull = {"type": "hybrids", "action": "cull", "zones": ["wild"], "rate": 1.0, "name": "cull the wild"}

    def run(base: float) -> dict[str, int]:
        sc = variant(days=20, society__concealment__base=base, society__concealment__trust_weight=0.0)
        data = sc.model_dump(by_alias=True)
        data["policies"] = [*data["policies"], cull]
        out: dict[str, int] = simulate(from_dict(data), engine="abm", seed=5).extras["ledger_totals"]
        return out

    hidden, open_ = run(1.0), run(0.0)
    assert hidden["culled"] == 0 and hidden["concealed"] > 0
    assert open_["culled"] > 0


def test_births_and_conservation_in_debug_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERMATH_ABM_CHECK", "1")
    r = simulate(variant(days=30, demography__births=20.0), engine="abm", seed=6, check=True)
    born = r.flows[:, Flow.BIRTH].sum()
    assert born > 0
    assert r.counts[-1].sum() == r.counts[0].sum() + born


def test_refuses_a_population_too_large_before_allocating() -> None:
    sc = scale_population(load("hyosan"), 10**12)
    with pytest.raises(ScenarioError) as err:
        AbmEngine(build_world(sc), 0)
    msg = str(err.value)
    assert "at most" in msg and "GiB" in msg and "people on this machine" in msg
    assert err.value.path == "zones" and err.value.value == 10**12


def test_refusal_uses_available_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    import aftermath.engines.budget as budget

    monkeypatch.setattr(budget, "memory_limits", lambda: {"available memory (MemAvailable)": 400 * 2**20})
    with pytest.raises(ScenarioError, match=r"of 0\.39 GiB available"):
        AbmEngine(build_world(scale_population(load("hyosan"), 5_000_000)), 0)


def test_cli_runs_the_abm(tmp_path: Any) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "aftermath.cli", "run", "sir", "--engine", "abm", "--days", "20"],
                         capture_output=True, text=True, timeout=300, env={**os.environ})
    if "No module named aftermath.cli" in out.stderr:
        pytest.skip("no CLI module")
    assert out.returncode == 0, out.stderr[-2000:]
    # the run itself, not only an exit 0 (``python -m aftermath.cli`` once exited 0 having run nothing)
    assert "abm" in out.stdout and "20 days" in out.stdout and "peaked" in out.stdout, out.stdout[-2000:]


def test_make_engine_passes_the_driver_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """``make_engine(..., check=True)`` turns on the ABM's per-step recount, which catches kept
    counts that drift from the people; without it (and no AFTERMATH_ABM_CHECK) it is off."""
    from aftermath.engines.abm.engine import AbmCheckError
    from aftermath.engines.base import make_engine
    from aftermath.model.policies import PolicyBook
    from aftermath.model.rates import daily_rates
    from aftermath.model.society import Society

    monkeypatch.delenv("AFTERMATH_ABM_CHECK", raising=False)
    world = build_world(variant(people=500, days=2))
    assert make_engine("ode", world, 0, check=True).name == "ode"  # the others accept and ignore it
    assert not make_engine("abm", world, 0).check  # type: ignore[attr-defined]
    eng = make_engine("abm", world, 0, check=True)
    assert eng.check  # type: ignore[attr-defined]
    society = Society(world)
    levers, _ = PolicyBook(world).decide(0, society.indicators(0, eng.counts()))
    rates = daily_rates(world, society, levers)
    eng.advance_day(0, rates, levers)  # consistent: passes
    eng.counts_i[0, 0] += 1  # type: ignore[attr-defined]
    with pytest.raises(AbmCheckError):
        eng.advance_day(1, rates, levers)


def test_sealing_keeps_the_first_policy_act_zone() -> None:
    """A person turned away at one zone's gate and later sealed inside another keeps the gate's
    zone as their first policy act; the seal is where their sacrifice is looked for, and the
    ledger's sealed_in row is under the sealed zone, the excluded row under the gate's."""
    from aftermath.engines.abm.ledger import ledger_frame
    from aftermath.engines.abm.state import NO_ZONE, Flag, Population
    from aftermath.engines.abm.step import mark_sealed

    world = build_world(variant(people=500, days=2))
    pop = Population.empty(3)
    pop.n = 3
    pop.state[:3] = 0  # all S, all in zone 0
    pop.zone[:3] = 0
    pop.flags[0], pop.flag_zone[0] = int(Flag.EXCLUDED | Flag.EXCLUDED_HEALTHY), 1  # turned away at zone 1
    newly = np.zeros(world.n_zones, dtype=np.bool_)
    newly[0] = True
    mark_sealed(pop.n, pop.state, pop.zone, pop.flags, pop.flag_zone, pop.seal_zone, newly)
    assert list(pop.flag_zone[:3]) == [1, 0, 0]
    assert list(pop.seal_zone[:3]) == [0, 0, 0]
    assert all(pop.flags[:3] & Flag.SEALED_IN)
    led, tot = ledger_frame(world, pop)
    assert tot["sealed_in"] == 3 and tot["excluded"] == 1
    zone_of = {f: set(g["zone"]) for f, g in led.groupby("flag")}
    assert zone_of["sealed_in"] == {world.zone_ids[0]} and zone_of["excluded"] == {world.zone_ids[1]}
    # a second seal of another zone moves the seal, never the first act
    pop.zone[1] = 1
    newly[:] = False
    newly[1] = True
    mark_sealed(pop.n, pop.state, pop.zone, pop.flags, pop.flag_zone, pop.seal_zone, newly)
    assert pop.flag_zone[1] == 0 and pop.seal_zone[1] == 1 and pop.seal_zone[2] == 0
    assert NO_ZONE not in set(pop.flag_zone[:3])


_FRAMES_AFTER_THE_ENGINE = """
import gc, sys, weakref
from aftermath.engines import driver
from aftermath.engines.abm import engine
from aftermath.scenario.load import load, with_overrides
from aftermath.scenario.scale import scale_population
gc.disable()  # the engine must be freed by its reference counts at once, not by a later collection
held, seen = [], []
make = engine.ledger_table
def table(rows):
    seen.append(("made", held[0]() is None))
    return make(rows)
engine.ledger_table = table
def start(eng):
    held.append(weakref.ref(eng))
def day(d, days):
    seen.append(("day", d, "pandas" in sys.modules))
sc = with_overrides(scale_population(load("hyosan"), 2000), {"cast": int(sys.argv[1])})
r = driver.simulate(sc, engine="abm", days=3, on_start=start, on_day=day)
print(seen)
print(type(r.extras["ledger"]).__name__, type(r.extras["strains"]).__name__, int(r.extras["ledger"]["count"].sum()),
      len(r.extras.get("cast", {}).get("people", [])))
"""


@pytest.mark.parametrize("cast", [0, 5])
def test_an_abm_runs_frames_are_made_after_its_engine_is_gone(cast: int) -> None:
    """pandas is not loaded while the run's arrays are held: the ledger's and strains' frames are
    made by the driver once the engine is let go (pandas' 65 MiB on korea's 1.9 GB peak), and
    nothing holds the engine then (with a cast, its watcher holds the engine weakly: no cycle
    waits for the collector, which the child turns off); the extras are frames all the same. In a
    child process (this one has pandas loaded)."""
    import ast
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FRAMES_AFTER_THE_ENGINE, str(cast)], capture_output=True,
                         text=True, check=True, timeout=300).stdout.splitlines()
    seen = ast.literal_eval(out[-2])
    assert [s for s in seen if s[0] == "day"] == [("day", 1, False), ("day", 2, False), ("day", 3, False)]
    assert seen[-1] == ("made", True)  # the engine gone when the ledger's frame is made
    kind_l, kind_s, flagged, followed = out[-1].split()
    assert kind_l == kind_s == "DataFrame" and int(flagged) > 0
    assert (int(followed) >= cast) if cast else int(followed) == 0  # (the cast and their households)
