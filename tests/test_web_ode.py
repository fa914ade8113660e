"""The ODE's fast path (SciPy's odeint for each day) gives exactly what solve_ivp's LSODA gave."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

import aftermath.engines.ode as ode
from aftermath.api import load, simulate


@pytest.mark.parametrize(("name", "days"), [("hyosan", 60), ("munz-basic", 20), ("sir", 40)])
def test_the_fast_ode_is_bit_identical_to_solve_ivp(monkeypatch: pytest.MonkeyPatch, name: str, days: int) -> None:
    sc = load(name)
    fast = simulate(sc, engine="ode", days=days)
    monkeypatch.setattr(ode, "solve_ivp", scipy_solve_ivp)
    slow = simulate(sc, engine="ode", days=days)
    assert np.array_equal(fast.counts, slow.counts)
    assert np.array_equal(fast.flows, slow.flows)
    assert np.array_equal(fast.route_flows, slow.route_flows)


def test_an_lsoda_failure_in_the_fast_path_is_reported() -> None:
    """odeint's LSODA stopping (here: too few steps allowed) comes back as a failed solution."""
    y0 = np.array([1.0])
    sol = ode.solve_ivp(lambda _t, y: -y, (0.0, 1.0), y0, t_eval=[1.0])
    assert sol.success and abs(sol.y[0, -1] - np.exp(-1.0)) < 1e-6
    import scipy.integrate

    orig = scipy.integrate.odeint

    def few_steps(*a: object, **k: object) -> object:
        k["mxstep"] = 3
        return orig(*a, **k)  # type: ignore[arg-type]

    mp = pytest.MonkeyPatch()
    mp.setattr(ode, "odeint", few_steps)
    try:
        bad = ode.solve_ivp(lambda _t, y: np.cos(50 * _t) - y, (0.0, 1.0), y0, t_eval=[1.0])
    finally:
        mp.undo()
    assert not bad.success and "Excess work" in bad.message


def test_on_day_reports_each_day_and_can_stop_a_run() -> None:
    seen: list[tuple[int, int]] = []
    simulate(load("sir"), engine="ode", days=5, on_day=lambda d, n: seen.append((d, n)))
    assert seen == [(d, 5) for d in range(1, 6)]

    class Stop(Exception):
        pass

    def stop(d: int, _n: int) -> None:
        if d == 3:
            raise Stop

    with pytest.raises(Stop):
        simulate(load("sir"), engine="ode", days=5, on_day=stop)


def _reference_coefficients(net: Any, rates: Any) -> np.ndarray:
    """The day's coefficients block by block, as computed before they were gathered in one step."""
    ns = net.world.n_strains
    coef = np.zeros(net.n_reactions)
    for b in net._blocks:
        v = np.asarray(b.rate(rates), dtype=np.float64)
        if b.share is not None:
            v = v * np.asarray(b.share(rates), dtype=np.float64)
        vals = np.broadcast_to(v, (b.n_places, ns)).reshape(-1)[b.flat] * b.mult
        if b.target is not None:
            vals = vals * (rates.hybrid_target[b.flat // ns] == b.target)
        coef[b.rows] = vals
    return coef


@pytest.mark.parametrize("engine", ["ode", "ssa"])
def test_the_gathered_coefficients_are_the_block_by_block_ones(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """Hyosan has hybrid targets (sanctuary, isolation), routes and policies that change the rates."""
    from aftermath.model.network import Network

    sc = load("hyosan")
    fast = simulate(sc, engine=engine, days=80, seed=3)
    monkeypatch.setattr(Network, "coefficients", _reference_coefficients)
    slow = simulate(sc, engine=engine, days=80, seed=3)
    assert np.array_equal(fast.counts, slow.counts) and np.array_equal(fast.flows, slow.flows)
