"""What the catalogue measures on a run: final fractions, peaks, crossings, ensembles.

Runs go through the public driver (:func:`aftermath.engines.driver.simulate`), so the checks
exercise exactly what users run. Two things need more than daily counts:

* sub-day times (Munz's crossing at ``t = 2.755``, the SIR peak between two daily samples):
  :func:`dense_ode` integrates the same reaction network, with the ODE engine's own right-hand side
  (:meth:`~aftermath.engines.ode.OdeEngine.day_rhs`), continuously with dense output. It applies
  only when the day's rates never change (no policies acting, society off), and it proves that
  rather than assuming it: its solution at every whole day must match the day loop's counts;
* stochastic engines: :meth:`Runs.ensemble` runs seeds ``0 .. runs - 1`` and returns the mean and its
  standard error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp
from scipy.optimize import minimize_scalar

from aftermath.engines.driver import simulate
from aftermath.engines.ode import ATOL, RTOL, OdeEngine
from aftermath.model.policies import PolicyBook
from aftermath.model.rates import daily_rates
from aftermath.model.society import Society
from aftermath.model.world import State, build_world
from aftermath.result import Result
from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]

#: How closely the dense solution must reproduce the day loop at whole days (people, relative to N).
DENSE_AGREEMENT = 1e-6


@dataclass(frozen=True)
class Dense:
    """A continuous ODE trajectory of world totals per state: ``totals(t)`` is ``[state]``."""

    t_end: float
    totals: Callable[[float], F64]
    population: float

    def state(self, s: State) -> Callable[[float], float]:
        return lambda t: float(self.totals(t)[s])


def dense_ode(sc: Scenario, t_end: float) -> Dense:
    """Integrate ``sc``'s network from 0 to ``t_end`` in one go, with dense output.

    Raises ``ValueError`` when the day's rates are not constant over the run (checked by comparing
    with the day loop at every whole day), since one continuous integration would then be wrong.
    """
    world = build_world(sc)
    eng = OdeEngine(world)
    society = Society(world)
    book = PolicyBook(world)
    levers, _ = book.decide(0, society.indicators(0, eng.counts()))
    if levers.sweep_kill.any():
        raise ValueError("dense_ode: sweeps change the state at day boundaries")
    rhs = eng.day_rhs(daily_rates(world, society, levers))
    net = eng.net
    y0 = np.concatenate([eng.x, np.zeros(net.n_flow_bins + net.n_route_bins)])
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="LSODA", rtol=RTOL, atol=ATOL, dense_output=True)
    if not sol.success:
        raise RuntimeError(f"dense_ode: integration failed: {sol.message}")
    dense = sol.sol

    def totals(t: float) -> F64:
        out: F64 = net.counts(dense(t)[: net.n_species]).sum(axis=0)
        return out

    days = int(np.ceil(t_end))
    daily = simulate(sc, engine="ode", days=days).counts.sum(axis=1)
    n0 = float(daily[0].sum())
    worst = max(float(np.abs(totals(float(d)) - daily[d]).max()) for d in range(days + 1))
    if worst > DENSE_AGREEMENT * max(n0, 1.0):
        raise ValueError(f"dense_ode: the rates change during the run (off the day loop by {worst:.3g} people)")
    return Dense(t_end, totals, n0)


def dense_peak(d: Dense, s: State) -> tuple[float, float]:
    """Time and value of the largest count of state ``s`` on a dense trajectory."""
    f = d.state(s)
    ts = np.linspace(0.0, d.t_end, int(d.t_end * 8) + 1)
    i = int(np.argmax([f(t) for t in ts]))
    lo, hi = ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)]
    opt = minimize_scalar(lambda t: -f(t), bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    return float(opt.x), -float(opt.fun)


def peak_time(series: F64) -> float:
    """Time of the peak of a daily series, refined by a parabola through the top three samples.

    Used identically for every engine, so its own (small) bias cancels in engine comparisons.
    """
    i = int(np.argmax(series))
    if 0 < i < len(series) - 1:
        y0, y1, y2 = series[i - 1], series[i], series[i + 1]
        curv = y0 - 2.0 * y1 + y2
        if curv < 0.0:
            return i + 0.5 * (y0 - y2) / curv
    return float(i)


def population0(res: Result) -> float:
    return float(res.counts[0].sum())


def final_share(res: Result, s: State) -> float:
    """World total of state ``s`` at the end, as a share of the initial population."""
    return float(res.total(s)[-1]) / population0(res)


@dataclass(frozen=True)
class Estimate:
    """A measured value; ``se`` is the standard error of an ensemble mean (0 for one run)."""

    value: float
    se: float = 0.0
    n: int = 1


class Runs:
    """Runs of (scenario, engine, seed), each simulated once per catalogue run (checks that measure
    two things of one ensemble, such as final size and peak time, share its runs)."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str, int], Result] = {}

    def run(self, sc: Scenario, engine: str, seed: int = 0) -> Result:
        key = (sc.model_dump_json(), engine, seed)
        if key not in self._done:
            self._done[key] = simulate(sc, engine=engine, seed=seed)
        return self._done[key]

    def ensemble(self, sc: Scenario, engine: str, runs: int, stat: Callable[[Result], float]) -> Estimate:
        """Mean and standard error of ``stat`` over seeds ``0 .. runs - 1``.

        Fixed seeds make the check reproducible, and are the common random numbers of a perturbed
        rerun (docs/architecture.md habit 5).
        """
        vals = np.array([stat(self.run(sc, engine, seed)) for seed in range(runs)])
        se = float(vals.std(ddof=1) / np.sqrt(runs)) if runs > 1 else 0.0
        return Estimate(float(vals.mean()), se, runs)
