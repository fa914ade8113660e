"""The engine contract (issue 10, part 2): every engine must pass every check, in the spirit of
scikit-learn's ``check_estimator``. The worlds and the meaning of their expectations are in
:mod:`tests.contract.worlds`; ``docs/engines.md`` says what is checked and why the tolerances are
what they are. Test ids end in the engine (``[decay-abm]``), so ``-k abm`` runs one engine's part.

* ``test_balances``: each day, each stock changed by exactly the flows that moved people into and out
  of it (the product state and the flow tag of every transition), nothing else moved, nothing else
  was counted.
* ``test_means``: the ODE equals the closed form (it is the exact mean here); the stochastic engines'
  seed means lie within ``Z_TOL`` standard errors of it (plus, for the ABM, its time-step bias bound).
* ``test_shares``: the outcome shares (kappa, q, p_hybrid) are binomial with the declared p.
* ``test_abm_ledger``: the ABM's ledger counts exactly the people that the flows moved, with their fate.

The ABM runs twice: its scan step (``abm``) and its event-driven step (``abm-events``,
``run.abm_mode = "events"``): the same model drawn in another order must pass the same checks.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest

from aftermath.engines.driver import simulate
from aftermath.model.flows import Flow, RouteFlow
from aftermath.model.world import State
from aftermath.result import Result
from tests.contract.worlds import ODE_TOL, Z_TOL, World, all_worlds

WORLDS = {w.name: w for w in all_worlds()}
TERM = re.compile(r"\s*([+-]?)\s*(\w+)\.(\w+)\s*")


def engine_of(case: str) -> str:
    """The engine a case runs: ``abm-events`` is the ABM with its event-driven step."""
    return "abm" if case == "abm-events" else case


def _cases(select: object = None, engines: tuple[str, ...] = ("ode", "ssa", "abm", "abm-events")) -> list[object]:
    out = []
    for w in WORLDS.values():
        if select is not None and not select(w):  # type: ignore[operator]
            continue
        for e in (*w.engines, "abm-events") if "abm" in w.engines else w.engines:
            if e not in engines:
                continue
            marks = ([pytest.mark.xfail(strict=True, reason=w.xfail[engine_of(e)])] if engine_of(e) in w.xfail
                     else [])
            out.append(pytest.param(w.name, e, id=f"{w.name}-{e}", marks=marks))
    return out


@functools.cache
def runs(name: str, engine: str) -> tuple[Result, ...]:
    """The world's runs on one engine: the ODE once, the stochastic engines on seeds 0 .. runs - 1
    (the first in debug mode: conservation and the feral balance asserted every day, and for the ABM
    a recount after every step)."""
    w = WORLDS[name]
    seeds = [0] if engine == "ode" else list(range(w.runs))
    sc = w.scenario
    if engine == "abm-events":
        sc = sc.model_copy(update={"run": sc.run.model_copy(update={"abm_mode": "events"})})
    return tuple(simulate(sc, engine=engine_of(engine), seed=s, check=(s == 0)) for s in seeds)


def terms(expr: str) -> list[tuple[float, str, str]]:
    """``"a.D + a.R"`` -> [(1, "a", "D"), (1, "a", "R")]."""
    out, pos = [], 0
    while pos < len(expr):
        m = TERM.match(expr, pos)
        assert m and m.end() > pos, f"cannot parse {expr!r} at {expr[pos:]!r}"
        out.append((-1.0 if m.group(1) == "-" else 1.0, m.group(2), m.group(3)))
        pos = m.end()
    return out


def daily(res: Result, place: str, name: str) -> np.ndarray:
    """A term's value per day: a stock's change, a flow's count, a route flow's count."""
    if place.startswith("route") and name in RouteFlow.__members__:
        return res.route_flows[:, RouteFlow[name], int(place[5:])]
    z = res.zone_ids.index(place)
    if name in State.__members__:
        return np.diff(res.counts[:, z, State[name]])
    return res.flows[:, Flow[name], z]


def final(res: Result, expr: str) -> float:
    """An expression at the end of the run: stocks' final counts, flows' totals, ledger totals."""
    value = 0.0
    for sign, place, name in terms(expr):
        if place == "ledger":
            value += sign * res.extras["ledger_totals"][name]
        elif name in State.__members__:
            value += sign * float(res.counts[-1, res.zone_ids.index(place), State[name]])
        else:
            value += sign * float(daily(res, place, name).sum())
    return value


def _ode_tol(w: World) -> float:
    return ODE_TOL * w.people + 1e-9


@pytest.mark.parametrize(("world", "engine"), _cases())
def test_balances(world: str, engine: str) -> None:
    """Flows equal stock changes, day by day; stocks and flows no balance names stay put."""
    w = WORLDS[world]
    tol = _ode_tol(w) if engine == "ode" else 1e-9
    # flows checked statistically (test_means, test_shares) may count; every other one must not
    named = {(place, name) for e in (*(x.what for x in w.expects), *(x.part for x in w.shares))
             for _, place, name in terms(e) if name not in State.__members__}
    for res in runs(world, engine):
        for bal in w.balances:
            lhs, rhs = bal.split("=")
            residual = np.zeros(res.days)
            for sign, place, name in terms(lhs):
                residual += sign * daily(res, place, name)
                named.add((place, name))
            for sign, place, name in terms(rhs):
                residual -= sign * daily(res, place, name)
                named.add((place, name))
            worst = int(np.argmax(np.abs(residual)))
            assert abs(residual[worst]) <= tol, (
                f"{world} ({engine}, seed {res.seed}): {bal!r} off by {residual[worst]:g} on day {worst}")
        for place in res.zone_ids:
            for st in State:
                if (place, st.name) not in named:
                    moved = np.abs(daily(res, place, st.name)).max()
                    assert moved <= tol, f"{world} ({engine}, seed {res.seed}): {place}.{st.name} changed by {moved:g}"
            for fl in Flow:
                if (place, fl.name) not in named and fl.name not in w.leaks:
                    counted = np.abs(daily(res, place, fl.name)).max()
                    assert counted <= tol, (
                        f"{world} ({engine}, seed {res.seed}): flow {place}.{fl.name} counted {counted:g}")
        for k in range(res.route_flows.shape[2]):
            for rk in RouteFlow:
                if (f"route{k}", rk.name) not in named:
                    counted = np.abs(res.route_flows[:, rk, k]).max()
                    assert counted <= tol, f"{world} ({engine}): route flow route{k}.{rk.name} counted {counted:g}"


@pytest.mark.parametrize(("world", "engine"), _cases(lambda w: bool(w.expects)))
def test_means(world: str, engine: str) -> None:
    """The ODE is the closed form; the stochastic seed means are within their standard errors of it."""
    w = WORLDS[world]
    rs = runs(world, engine)
    for ex in w.expects:
        if ex.ledger and engine_of(engine) != "abm":
            continue
        values = np.array([final(r, ex.what) for r in rs])
        if engine == "ode":
            tol, what = _ode_tol(w) + w.leak_bound, "ODE"
        else:
            se = math.sqrt(ex.var / len(rs))
            bias = ex.abm_bias if engine_of(engine) == "abm" else 0.0
            tol = Z_TOL * se + bias + w.leak_bound + 1e-9
            what = f"mean of {len(rs)} seeds (s.e. {se:.3g}, dt bias {bias:.3g})"
        got = float(values.mean())
        assert abs(got - ex.mean) <= tol, (
            f"{world} ({engine}): {ex.what} = {got:.6g}, expected {ex.mean:.6g} +- {tol:.3g} ({what})")


@pytest.mark.parametrize(("world", "engine"), _cases(lambda w: bool(w.shares)))
def test_shares(world: str, engine: str) -> None:
    """Outcome shares: part / whole is binomial with p, pooled over the seeds."""
    w = WORLDS[world]
    rs = runs(world, engine)
    for sh in w.shares:
        part = sum(final(r, sh.part) for r in rs)
        whole = sum(final(r, sh.whole) for r in rs)
        assert whole > 0, f"{world} ({engine}): nothing to share ({sh.whole} = 0)"
        tol = 1e-6 if engine == "ode" else Z_TOL * math.sqrt(sh.p * (1 - sh.p) / whole)
        assert abs(part / whole - sh.p) <= tol, (
            f"{world} ({engine}): {sh.part} / ({sh.whole}) = {part / whole:.5f}, expected {sh.p} +- {tol:.3g} "
            f"(binomial over {whole:.0f})")


@pytest.mark.parametrize(("world", "engine"), _cases(lambda w: bool(w.ledger), engines=("abm", "abm-events")))
def test_abm_ledger(world: str, engine: str) -> None:
    """The ABM's ledger flags exactly the people its flows moved, in the zone of the act, with their fate."""
    w = WORLDS[world]
    for res in runs(world, engine):
        frame = res.extras["ledger"]
        for flag, expr, zone, fate in w.ledger:
            moved = final(res, expr)
            assert res.extras["ledger_totals"][flag] == moved, (
                f"{world}: ledger {flag} = {res.extras['ledger_totals'][flag]}, the flows {expr} = {moved}")
            rows = frame[frame["flag"] == flag]
            assert set(rows["zone"]) <= {zone} and set(rows["fate"]) <= set(fate.split("|")), (
                f"{world}: ledger {flag} rows {rows.to_dict('records')}, expected zone {zone}, fate {fate}")
            assert rows["count"].sum() == moved


def test_every_flow_is_exercised() -> None:
    """The worlds together make every flow category count something (on the ODE), so a tag that an
    engine drops shows somewhere."""
    seen = np.zeros(len(Flow))
    for name, w in WORLDS.items():
        for res in runs(name, "ode") if "ode" in w.engines else ():
            seen += res.flows.sum(axis=(0, 2))
    missing = [f.name for f in Flow if seen[f] <= 0.5]
    assert not missing, f"no contract world exercises {missing}"
