"""The exact stochastic engine: reproducible, exact, conserving, and the same network as the ODE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import aftermath.engines.ssa as ssa_mod
from aftermath.api import load, simulate
from aftermath.engines.kernels import propensities, zone_denominators
from aftermath.engines.ssa import SsaEngine, _propensity, _tree_select, _tree_set, dependency_graph
from aftermath.model.network import build_network
from aftermath.model.policies import Levers, PolicyBook
from aftermath.model.rates import daily_rates
from aftermath.model.society import Society
from aftermath.model.world import State, build_world


def _same(a, b) -> bool:  # type: ignore[no-untyped-def]
    return bool(np.array_equal(a.counts, b.counts) and np.array_equal(a.flows, b.flows)
                and np.array_equal(a.route_flows, b.route_flows))


def test_same_seed_is_bit_identical_and_seeds_differ() -> None:
    sc = load("hyosan")  # zones, routes, walls, latency stages, policies, society
    a = simulate(sc, engine="ssa", seed=7, days=60)
    b = simulate(sc, engine="ssa", seed=7, days=60)
    c = simulate(sc, engine="ssa", seed=8, days=60)
    assert _same(a, b)
    assert not np.array_equal(a.counts, c.counts)


def test_block_size_does_not_change_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks force the kernel to stop and rebuild its propensities from the counts every few
    events; the run must be the same bit for bit. This also proves the incremental updates (the
    dependency graph) equal a full recomputation, on a network with routes and several zones."""
    sc = load("hyosan")
    ref = simulate(sc, engine="ssa", seed=3, days=30)
    monkeypatch.setattr(ssa_mod, "BLOCK", 7)
    small = simulate(sc, engine="ssa", seed=3, days=30)
    assert _same(ref, small)


def test_conservation_and_integer_counts() -> None:
    for name in ("hyosan", "munz-basic", "sir"):
        res = simulate(load(name), engine="ssa", seed=1, days=40, check=True)  # asserts flows == stock changes
        assert np.all(res.counts >= 0)
        assert np.array_equal(res.counts, np.rint(res.counts))
        assert np.array_equal(res.flows, np.rint(res.flows))


def test_whole_initial_counts_required() -> None:
    sc = load("sir", zones__town__population__Z=10.5)
    with pytest.raises(ValueError, match="whole number of people"):
        simulate(sc, engine="ssa")


def _day0(name: str):  # type: ignore[no-untyped-def]
    world = build_world(load(name))
    net = build_network(world)
    society = Society(world)
    levers, _ = PolicyBook(world).decide(0, society.indicators(0, net.counts(net.initial_state())))
    return world, net, daily_rates(world, society, levers)


@pytest.mark.parametrize("name", ["hyosan", "munz-basic", "sir"])
def test_propensities_match_the_shared_kernel(name: str) -> None:
    world, net, rates = _day0(name)
    coef = net.coefficients(rates)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.integers(0, 50, net.n_species).astype(np.int64)
        xf = x.astype(np.float64)
        den = zone_denominators(xf, net.species_zone, net.living, world.n_zones, rates.mass_action)
        ref = np.empty(net.n_reactions)
        propensities(xf, coef, net.reactant, net.pressure, net.zone, net.p_ptr, net.p_idx, net.p_w, den, ref)
        pv = np.array([net.p_w[net.p_ptr[p]:net.p_ptr[p + 1]] @ xf[net.p_idx[net.p_ptr[p]:net.p_ptr[p + 1]]]
                       for p in range(len(net.p_ptr) - 1)])
        mine = [_propensity(r, x, coef, net.reactant, net.pressure, net.zone, pv, den) for r in range(net.n_reactions)]
        np.testing.assert_allclose(mine, ref, rtol=1e-14, atol=0.0)


def test_dependency_graph_covers_every_reader() -> None:
    """Every reaction whose propensity reads a species is listed under that species."""
    _, net, _ = _day0("hyosan")
    d = dependency_graph(net)
    for r in range(net.n_reactions):
        readers = {int(net.reactant[r])} if net.reactant[r] >= 0 else set()
        p = net.pressure[r]
        if p >= 0:
            readers |= set(net.p_idx[net.p_ptr[p]:net.p_ptr[p + 1]].tolist())
            z = net.zone[r]
            assert r in d["zone_rx_idx"][d["zone_rx_ptr"][z]:d["zone_rx_ptr"][z + 1]]
        for s in readers:
            assert r in d["sp_rx_idx"][d["sp_rx_ptr"][s]:d["sp_rx_ptr"][s + 1]]


def test_sum_tree_selects_in_proportion_and_never_an_empty_leaf() -> None:
    a = np.array([0.0, 2.0, 0.0, 0.0, 1.0, 0.0, 5.0])
    n_leaves = 8
    tree = np.zeros(2 * n_leaves)
    for r, v in enumerate(a):
        _tree_set(tree, n_leaves, r, v)
    assert tree[1] == a.sum()
    picks = [_tree_select(tree, n_leaves, u * tree[1]) for u in np.linspace(0.0, 1.0 - 1e-16, 8001)]
    counts = np.bincount(picks, minlength=len(a))
    assert set(np.flatnonzero(counts)) == {1, 4, 6}
    np.testing.assert_allclose(counts / counts.sum(), a / a.sum(), atol=1e-3)
    assert _tree_select(tree, n_leaves, tree[1] * (1 + 1e-12)) == 6  # round-off past the end


def test_pure_decay_is_exact() -> None:
    """Z -> R at gamma for 10 days: each feral survives with probability exp(-10 gamma), exactly
    (a time-stepped engine would not be). Tolerance: 4 standard errors of the ensemble mean."""
    sc = load("sir", pathogen__beta=0.0, zones__town__population__S=0, zones__town__population__Z=1000, run__days=10)
    runs = 300
    z = np.array([simulate(sc, engine="ssa", seed=s).total(State.Z)[-1] for s in range(runs)])
    p = np.exp(-10 * sc.defence.decay)
    se = np.sqrt(1000 * p * (1 - p) / runs)
    assert abs(z.mean() - 1000 * p) < 4 * se
    assert abs(z.var(ddof=1) / (1000 * p * (1 - p)) - 1) < 4 * np.sqrt(2 / (runs - 1))


def test_sweep_is_binomial_with_ode_tags() -> None:
    world = build_world(load("munz-basic", zones__town__population__Z=10_000, defence__q=0.3))
    lv = Levers.none(1)
    lv.sweep_kill[0] = 0.4
    kills, corpses = [], []
    for seed in range(200):
        eng = SsaEngine(world, seed)
        flows = eng.sweep(0, lv, world.scenario.defence.q)
        c = eng.counts()[0]
        kills.append(flows[:, 0].sum())
        corpses.append(c[State.D])
        assert c[State.Z] + flows[:, 0].sum() == 10_000 and c[State.D] + c[State.R] == flows[:, 0].sum()
    assert abs(np.mean(kills) - 4000) < 4 * np.sqrt(10_000 * 0.24 / 200)
    assert abs(np.mean(corpses) - 1200) < 4 * np.sqrt(10_000 * 0.4 * 0.3 * (1 - 0.4 * 0.3) / 200)


_JIT_SCRIPT = textwrap.dedent("""
    import json, numpy as np
    from aftermath.api import load
    from aftermath.engines.ssa import SsaEngine, ssa_advance
    from aftermath.model.policies import PolicyBook
    from aftermath.model.rates import daily_rates
    from aftermath.model.society import Society
    from aftermath.model.world import build_world
    world = build_world(load("hyosan"))
    eng = SsaEngine(world, 5)
    net, d = eng.net, eng._deps
    society = Society(world)
    levers, _ = PolicyBook(world).decide(0, society.indicators(0, eng.counts()))
    rates = daily_rates(world, society, levers)
    coef = net.coefficients(rates)
    u = np.random.default_rng(11).random(3001)
    flows, route, x = np.zeros(net.n_flow_bins), np.zeros(net.n_route_bins), eng.x.copy()
    t, pos, n, done = ssa_advance(x, 0.0, 1.0, coef, net.reactant, net.product, net.pressure, net.zone,
        net.p_ptr, net.p_idx, net.p_w, net.species_zone, net.living, world.n_zones, rates.mass_action,
        net.flow_index, net.route_index, d["sp_rx_ptr"], d["sp_rx_idx"], d["sp_p_ptr"], d["sp_p_idx"],
        d["zone_rx_ptr"], d["zone_rx_idx"], u, 0, flows, route)
    print(json.dumps({"x": x.tolist(), "flows": flows.tolist(), "route": route.tolist(),
                      "t": t, "pos": int(pos), "n": int(n), "done": bool(done)}))
""")


def _run_kernel(disable_jit: bool) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1" if disable_jit else "0"}
    out = subprocess.run([sys.executable, "-c", _JIT_SCRIPT], env=env, capture_output=True, text=True, check=True)
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[type-arg]
    return result


def test_kernel_matches_pure_python() -> None:
    """The compiled kernel and the same code run by the interpreter give the same events."""
    jit, py = _run_kernel(False), _run_kernel(True)
    assert jit["n"] > 100  # the uniforms ran out mid-day: many events, and a stop before the end
    assert jit["x"] == py["x"] and jit["flows"] == py["flows"] and jit["route"] == py["route"]
    assert (jit["pos"], jit["n"], jit["done"]) == (py["pos"], py["n"], py["done"])
    assert jit["t"] == pytest.approx(py["t"], rel=1e-12)
