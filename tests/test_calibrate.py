"""Calibration (``aftermath calibrate``): the pieces against known answers, bad input, the store and
resuming, and the boarding-school outbreak of 1978 against Murray's published fit.

The coverage of the posterior intervals over synthetic data sets is in ``test_calibrate_coverage.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import aftermath as am
from aftermath.calibrate import boarding_school_csv, calibrate, read_data
from aftermath.calibrate import likelihood as lk
from aftermath.calibrate.data import model_values, observation_groups
from aftermath.calibrate.fit import PROPOSAL_SD, _bounded_cov, _sample
from aftermath.calibrate.mcmc import adaptive_metropolis, ess
from aftermath.calibrate.priors import CalibrationError, Prior, Space, parse_prior
from aftermath.cli import app
from aftermath.store.store import Store

runner = CliRunner()
DATA = boarding_school_csv()
PARAMS = {"pathogen.beta": (0.5, 4.0), "defence.decay": (0.1, 1.5)}

# -- the pieces ---------------------------------------------------------------------------------


def test_likelihoods_at_hand_checked_points() -> None:
    """One point of each density worked out by hand: a (n, p) of the negative binomial, or a
    log-normal scale, other than the documented one gives another number."""
    # Poisson(3) at 2: 3^2 e^-3 / 2!
    assert lk.logpdf("poisson", np.array([2.0]), np.array([3.0]))[0] == pytest.approx(np.log(9 * np.exp(-3) / 2))
    # negative binomial, mean 3, size 2 (p = 2 / 5) at 2: C(3, 2) (2/5)^2 (3/5)^2 = 108/625
    assert lk.logpdf("negbin", np.array([2.0]), np.array([3.0]), dispersion=2.0)[0] == pytest.approx(
        np.log(108 / 625))
    # Normal(10, 2) one sd above the mean: exp(-1/2) / (2 sqrt(2 pi))
    assert lk.logpdf("normal", np.array([12.0]), np.array([10.0]), sd=2.0)[0] == pytest.approx(
        -0.5 - np.log(2.0) - 0.5 * np.log(2 * np.pi))
    # log(1 + y) = 1 and log(1 + mu) = 2, s = 0.5: z = -2, and the Jacobian 1 / (1 + y) = 1 / e
    assert lk.logpdf("lognormal", np.array([np.e - 1]), np.array([np.e**2 - 1]), sigma=0.5)[0] == pytest.approx(
        -2.0 - np.log(0.5) - 0.5 * np.log(2 * np.pi) - 1.0)


@pytest.mark.parametrize(("kind", "mu", "kw", "var"), [
    ("poisson", 7.3, {}, 7.3),
    ("negbin", 7.3, {"dispersion": 2.5}, 7.3 + 7.3**2 / 2.5),
    ("negbin", 250.0, {"dispersion": 8.9}, 250.0 + 250.0**2 / 8.9),
])
def test_count_likelihoods_have_the_documented_mean_and_variance(kind: str, mu: float, kw: dict[str, float],
                                                                 var: float) -> None:
    """The mass summed over the counts: total 1, mean mu, variance mu (Poisson) or mu + mu^2 / k."""
    y = np.arange(0.0, 20_000.0)
    p = np.exp(lk.logpdf(kind, y, np.full_like(y, mu), **kw))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (y * p).sum() == pytest.approx(mu, rel=1e-9)
    assert ((y - mu) ** 2 * p).sum() == pytest.approx(var, rel=1e-9)


def test_continuous_likelihoods_integrate_to_one_with_the_documented_moments() -> None:
    """The normal: mean mu, sd sd. The log-normal is a density of y (not of log(1 + y)): it
    integrates to 1 over y, and log(1 + y) has mean log(1 + mu) and sd sigma."""
    from scipy import integrate

    def moments(f: Any, g: Any, lo: float, hi: float) -> list[float]:
        return [integrate.quad(lambda t, h=h: h(t) * np.exp(f(t)), lo, hi, limit=200)[0]
                for h in (lambda t: 1.0, g, lambda t: g(t) ** 2)]

    mu, sd = 40.0, 6.0
    m0, m1, m2 = moments(lambda t: lk.logpdf("normal", np.array([t]), np.array([mu]), sd=sd)[0], lambda t: t,
                         mu - 12 * sd, mu + 12 * sd)
    assert (m0, m1, np.sqrt(m2 - m1**2)) == pytest.approx((1.0, mu, sd), rel=1e-7)
    mu, s = 40.0, 0.3
    m0, m1, m2 = moments(lambda t: lk.logpdf("lognormal", np.array([t]), np.array([mu]), sigma=s)[0],
                         lambda t: np.log1p(t), 0.0, np.expm1(np.log1p(mu) + 12 * s))
    assert (m0, m1, np.sqrt(m2 - m1**2)) == pytest.approx((1.0, np.log1p(mu), s), rel=1e-7)


def test_priors_parse_and_map_both_ways() -> None:
    p = parse_prior("pathogen.beta=0.1:3")
    assert (p.path, p.lo, p.hi, p.kind) == ("pathogen.beta", 0.1, 3.0, "uniform")
    q = parse_prior("defence.decay=0.01:1:log")
    assert q.kind == "log-uniform"
    space = Space([p, q])
    x = np.array([1.7, 0.44])
    assert space.x_from_u(space.u_from_x(x)) == pytest.approx(x)
    # the log-uniform prior is uniform in log x: the median of its draws is the geometric mean
    z = np.random.default_rng(1).uniform(size=20_000)
    assert np.median([q.from_z(v) for v in z]) == pytest.approx(0.1, rel=0.05)


def _treated_school(name: str = "treat v1.2") -> am.Scenario:
    """The boarding school with a cure policy whose name has a space and a dot."""
    from aftermath.scenario import load as sl

    data = sl.to_dict(am.load("boarding-school"))
    data["policies"] = [{"name": name, "type": "cure", "zones": ["school"], "rate": 0.05}]
    return sl.from_dict(data)


def test_quoted_policy_paths_read_as_overrides_write_them() -> None:
    """A policy addressed by a quoted name (dots and '=' inside the quotes belong to the name) is
    parsed, read and written the same way as by ``--set``."""
    from aftermath.calibrate.fit import _get_path
    from aftermath.scenario import load as sl

    p = parse_prior('policies."treat v1.2".rate=0:1')
    assert (p.path, p.lo, p.hi) == ('policies."treat v1.2".rate', 0.0, 1.0)
    assert parse_prior('policies."a..b=c".rate=0.1:2:log').path == 'policies."a..b=c".rate'
    for bad in ('policies."treat v1.2.rate=0:1', "policies..rate=0:1", 'policies."".rate=0:1'):
        with pytest.raises(CalibrationError, match="expected PATH=LO:HI"):
            parse_prior(bad)
    data = sl.to_dict(_treated_school())
    assert _get_path(data, 'policies."treat v1.2".rate') == 0.05
    assert _get_path(data, "policies.0.rate") == 0.05 == _get_path(data, "policies.-1.rate")
    assert _get_path(data, "zones.school.population.Z") == 1
    assert _get_path(data, 'policies."treat v1".rate') is None and _get_path(data, "policies.1.rate") is None
    over = sl.to_dict(sl.with_overrides(_treated_school(), {'policies."treat v1.2".rate': 0.3}))
    assert _get_path(over, 'policies."treat v1.2".rate') == 0.3


def test_a_quoted_policy_path_is_fitted_from_the_scenarios_own_value(tmp_path: Path) -> None:
    """The search's first trial is the scenario's own value, found through the quoted name."""
    path = 'policies."treat v1.2".rate'
    res = calibrate(_treated_school(), DATA, {path: (0.0, 0.5)}, likelihood="normal", sd=20.0, trials=2,
                    samples=10, seed=2, store=tmp_path / "c.duckdb")
    with Store(tmp_path / "c.duckdb", read_only=True) as st:
        first = json.loads(st.calibration_trials(res.calibration_id)["params"].iloc[0])
    assert first == {path: 0.05}
    assert set(res.best) == {path} and 0.0 <= res.best[path] <= 0.5


def test_metropolis_recovers_a_known_gaussian() -> None:
    """A correlated 2-d Gaussian: the kept chain's mean and sd within a few Monte Carlo errors."""
    cov = np.array([[1.0, 0.8], [0.8, 2.0]])
    prec = np.linalg.inv(cov)
    rng = np.random.default_rng(3)
    chain = adaptive_metropolis(lambda u: float(-0.5 * u @ prec @ u), np.array([2.0, -2.0]), np.eye(2), 8000, rng)
    n_eff = min(ess(chain.samples[:, 0]), ess(chain.samples[:, 1]))
    assert n_eff > 300
    se = np.sqrt(np.diag(cov) / n_eff)
    assert np.abs(chain.samples.mean(axis=0)) == pytest.approx([0, 0], abs=4 * float(se.max()))
    assert chain.samples.std(axis=0) == pytest.approx(np.sqrt(np.diag(cov)), rel=0.15)
    assert 0.15 < chain.acceptance < 0.6


def test_measures_map_onto_the_record() -> None:
    """Prevalence on day d is the count at the end of day d; incidence the day's flow; a delay shifts both."""
    res = am.simulate(am.load("boarding-school"), engine="ode")
    frame = pd.DataFrame({"day": [0, 5, 5, 2], "zone": ["all", "all", "school", "all"],
                          "measure": ["I", "infections", "S", "R"], "value": [0.0] * 4})
    v = model_values(res.counts, res.flows, res.zone_ids, frame)
    assert v[0] == pytest.approx(res.total("Z")[1])
    assert v[1] == pytest.approx(res.flows[5, 0].sum())
    assert v[2] == pytest.approx(res.total("S")[6])
    assert v[3] == pytest.approx(res.total("R")[3])
    late = model_values(res.counts, res.flows, res.zone_ids, frame, delay=2)
    assert late[0] == pytest.approx(res.total("Z")[0])  # before day 0: the start
    assert late[1] == pytest.approx(res.flows[3, 0].sum())
    # a calibration computes the series' rows once (observation_groups) and reuses them every trial
    groups = observation_groups(frame)
    assert [(m, z, list(r)) for m, z, r in groups] == [("I", "all", [0]), ("infections", "all", [1]),
                                                       ("S", "school", [2]), ("R", "all", [3])]
    assert np.array_equal(model_values(res.counts, res.flows, res.zone_ids, frame, 2, groups), late)


def test_report_fraction_and_delay_enter_the_likelihood() -> None:
    """Half of the new infections reported two days late: the likelihood prefers the fraction and
    delay they were made with, and with them the true beta."""
    from aftermath.calibrate.problem import Problem
    from aftermath.model.flows import Flow

    sc = am.load("boarding-school")
    inc = am.simulate(sc, engine="ode").flows[:, Flow.INFECTION, 0]
    frame = pd.DataFrame({"day": np.arange(2, 14), "zone": "all", "measure": "infections",
                          "value": np.round(0.5 * inc[:12])})
    space = Space([Prior("pathogen.beta", 0.5, 4.0)])

    def ll(fraction: float, delay: int, beta: float = 1.66) -> float:
        return Problem(sc, "ode", frame, space, {"infections": "poisson"}, 14, [0], fraction, delay).loglik([beta])

    assert ll(0.5, 2) > max(ll(1.0, 2), ll(0.5, 0), ll(0.25, 2), ll(0.5, 3))
    assert ll(0.5, 2) > max(ll(0.5, 2, 1.5), ll(0.5, 2, 1.8))


def test_shipped_data_are_the_published_series() -> None:
    d = read_data(DATA)
    assert list(d["value"]) == [3, 8, 26, 76, 225, 298, 258, 233, 189, 128, 68, 29, 14, 4]
    assert list(d["day"]) == list(range(14))
    sc = am.load("boarding-school")
    assert sc.initial_humans() == 762 and sc.zones[0].population.Z == 1


def test_the_boarding_schools_summary_counts_763_boys() -> None:
    """The run summary in the SIR vocabulary: the whole is S + I + R (763 boys, the index case among
    them), not the 762 humans at the start, who are the attack rate's denominator."""
    import re

    from aftermath.record.vocabulary import summary_lines, vocabulary

    res = am.simulate(am.load("boarding-school"), engine="ode")
    s = res.summary()
    lines = summary_lines(s, vocabulary(res.scenario), res.counts)
    whole, sus, inf, rem = (int(v) for v in re.findall(r"\d+", re.sub(r"\[/?bold\]", "", lines[0])))
    assert lines[0].startswith("Of 763 people at the end, ")
    assert (sus, inf, rem) == (round(s["susceptible"]), round(s["ferals"]), 715) and sus + inf + rem == whole
    assert lines[1] == f"{s['attack_rate']:.1%} of the 762 susceptible at the start were infected at some point " \
                       "(the attack rate, or final size)."
    assert round(s["attack_rate"] * 762) == 762 - sus  # every boy but the susceptible left was infected


# -- bad input: exit 2, one line naming flag or column, value and expectation -------------------


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["calibrate", "boarding-school", *args, "--store", str(tmp_path / "s.duckdb")])
    return res.exit_code, res.output


def _csv(tmp_path: Path, text: str) -> str:
    p = tmp_path / "d.csv"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize(("csv", "args", "words"), [
    ("day,zone,value\n0,all,3\n", [], ["no column 'measure'", "expected columns"]),
    ("day,zone,measure,value\n0,all,bedridden,3\n", [], ["'measure'", "'bedridden'", "expected one of"]),
    ("day,zone,measure,value\n0,all,I,\n", [], ["no observations", "expected at least one"]),
    ("day,zone,measure,value\n0.5,all,I,3\n", [], ["'day'", "'0.5'", "whole number"]),
    ("day,zone,measure,value\n0,all,I,-3\n", [], ["'value'", "'-3'", ">= 0"]),
    ("day,zone,measure,value\n0,dorm,I,3\n", [], ["'zone'", "'dorm'", "school"]),
    ("day,zone,measure,value\n0,all,I,3\n0,all,I,4\n", [], ["appears twice"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--param", "pathogen.beta=3:1"], ["pathogen.beta", "LO < HI"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--param", "pathogen.bta=0.1:3"], ["pathogen.bta"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--param", "defence.decay=-1:3"], ["defence.decay", "-1"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--param", "pathogen.beta=0:3:log"], ["LO > 0"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--likelihood", "gauss"], ["--likelihood", "'gauss'", "poisson"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--report-fraction", "1.5"], ["--report-fraction", "1.5", "(0, 1]"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--trials", "0"], ["--trials", "0", "whole number"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--trials", "100000"], ["runs in all", "at most 100,000"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--param", "obs.dispersion=1:10"], ["obs.dispersion", "negbin"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--likelihood", "I=poisson", "--likelihood", "I=normal"],
     ["--likelihood I=normal", "given twice", "first I=poisson"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--likelihood", "poisson", "--likelihood", "normal"],
     ["--likelihood normal", "every measure", "given twice"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--sd", "3"], ["--sd 3", "normal"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--likelihood", "normal", "--sigma", "0.2"], ["--sigma 0.2", "lognormal"]),
    ("day,zone,measure,value\n0,all,I,3\n", ["--dispersion", "5"], ["--dispersion 5", "negbin"]),
    ("day,zone,measure,value\n0,all,I,3\n1,all,I,2.5\n", [], ["I=poisson", "day 1", "2.5", "whole number"]),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, csv: str, args: list[str], words: list[str]) -> None:
    if not any(a == "--param" for a in args):
        args = [*args, "--param", "pathogen.beta=0.5:4"]
    code, out = _cli(tmp_path, "--data", _csv(tmp_path, csv), *args)
    assert code == 2, out
    assert "Traceback" not in out
    assert len(out.strip().splitlines()) == 1, out
    for w in words:
        assert w in out, out
    assert not (tmp_path / "s.duckdb").exists()  # refused before the store is touched


def test_missing_data_file_and_no_param(tmp_path: Path) -> None:
    code, out = _cli(tmp_path, "--data", str(tmp_path / "nope.csv"), "--param", "pathogen.beta=0.5:4")
    assert code == 2 and "no such file" in out and len(out.strip().splitlines()) == 1
    code, out = _cli(tmp_path, "--data", str(DATA))
    assert code == 2 and "--param" in out and len(out.strip().splitlines()) == 1


def test_errors_have_no_blank_line_and_no_plan_before_them(tmp_path: Path) -> None:
    """A store path that cannot be used is refused before the plan is printed; an empty --data or
    --store is reported as '' (not '.', which is what Path('') is); no blank line before an error."""
    base = ["calibrate", "boarding-school", "--param", "pathogen.beta=0.5:3"]
    cases = [(["--data", "boarding-school", "--store", str(tmp_path / "nodir" / "c.duckdb")], "no folder"),
             (["--data", "", "--store", str(tmp_path / "s.duckdb")], "--data: got ''"),
             (["--data", "boarding-school", "--store", ""], "--store: got ''"),
             (["--data", _csv(tmp_path, "day,zone,value\n0,all,3\n"), "--store", str(tmp_path / "s.duckdb")],
              "no column 'measure'")]
    for args, words in cases:
        res = runner.invoke(app, [*base, *args])
        assert res.exit_code == 2, res.output
        assert res.output.startswith("error: ") and res.output.count("\n") == 1, repr(res.output)
        assert words in res.output
    with pytest.raises(CalibrationError, match="--data: got ''"):
        read_data("")


# -- the boarding school, 1978 -----------------------------------------------------------------

#: Murray, Mathematical Biology I (chapter 10): r = 2.18e-3 per day per boy and a = 0.44 per
#: day, for N = 763 (one index case): beta = r N = 1.66/day, R0 = r N / a = 3.77, infectious period 1/a = 2.27
#: days. Murray fitted the curve to the counts by least squares: the `normal` likelihood's best fit.
MURRAY_R0 = 2.18e-3 * 763 / 0.44
MURRAY_PERIOD = 1 / 0.44


@pytest.fixture(scope="module")
def boarding() -> object:
    """A short chain (the fast tests); the slow test below runs a long one."""
    return calibrate("boarding-school", DATA, PARAMS, likelihood="normal", trials=30, samples=60, seed=1)


def test_boarding_school_best_fit_is_murrays(boarding: object) -> None:
    """Murray fitted by least squares, which is the ``normal`` likelihood's best fit: his R0, infectious
    period and beta to 2% (his r and a are given to 3 and 2 figures, 0.44 being 0.435 to 0.445: 1.1%)."""
    best = boarding.best  # type: ignore[attr-defined]
    assert best["pathogen.beta"] / best["defence.decay"] == pytest.approx(MURRAY_R0, rel=0.02)
    assert 1 / best["defence.decay"] == pytest.approx(MURRAY_PERIOD, rel=0.02)
    assert best["pathogen.beta"] == pytest.approx(2.18e-3 * 763, rel=0.02)


@pytest.mark.slow
def test_boarding_school_intervals_hold_murray() -> None:
    """Murray states no interval: his R0 and infectious period must lie inside our 90% credible
    intervals, and so must Keeling and Rohani's (beta = 1.66/day, 1/gamma = 2.2 days: R0 = 3.65). The
    README's command as it is (the default trials and chain: 4,000 steps, half kept), whose sample
    must be one ``calibrate`` does not warn of (2,000 steps gave effective sample sizes of 25)."""
    res = calibrate("boarding-school", DATA, PARAMS, likelihood="normal", seed=0)
    post = res.posterior
    r0 = post["pathogen.beta"] / post["defence.decay"]
    period = 1 / post["defence.decay"]
    for value in (MURRAY_R0, 1.66 * 2.2):
        assert r0.quantile(0.05) < value < r0.quantile(0.95)
    for value in (MURRAY_PERIOD, 2.2):
        assert period.quantile(0.05) < value < period.quantile(0.95)
    assert min(res.summary()["ess"]) > 100 and res.warnings == []


def test_boarding_school_plot_and_summary(boarding: object, tmp_path: Path) -> None:
    res = boarding
    s = res.summary()  # type: ignore[attr-defined]
    assert list(s["param"]) == ["pathogen.beta", "defence.decay", "obs.sd"]
    bands = res.fit_bands(draws=12)  # type: ignore[attr-defined]
    assert res.fit_bands(draws=12) is bands  # kept, per number of draws
    assert not res.fit_bands(draws=3)[["pred05", "pred95"]].equals(bands[["pred05", "pred95"]])  # type: ignore[attr-defined]
    assert ((bands["q05"] <= bands["q50"] + 1e-9) & (bands["q50"] <= bands["q95"] + 1e-9)).all()
    assert (bands["pred05"] <= bands["q50"]).all() and (bands["pred95"] >= bands["q50"]).all()
    out = tmp_path / "fit.png"
    fig = res.plot(out, draws=12)  # type: ignore[attr-defined]
    assert out.stat().st_size > 10_000
    # the normal likelihood's predictive interval goes below 0 where the counts are small; the plot
    # draws it clipped at 0 (counts are never negative), and exactly there
    low = bands["pred05"].to_numpy()
    assert (low < 0).any()
    ax = fig.axes[0]
    lows = [line.get_ydata() for line in ax.lines if line.get_linestyle() == ":"]
    assert len(lows) == 2 and np.array_equal(lows[0], np.clip(low, 0, None))
    ys = np.concatenate([c.get_paths()[0].vertices[:, 1] for c in ax.collections[:3]])
    assert ys.min() == 0.0
    for line in ax.lines[:-1]:  # every band and the best fit (the last line is the data)
        assert np.min(line.get_ydata()) >= 0


# -- the store and resuming ---------------------------------------------------------------------


def test_every_trial_is_stored_and_an_interrupted_calibration_resumes(tmp_path: Path) -> None:
    store = tmp_path / "cal.duckdb"
    kw = {"likelihood": "poisson", "trials": 6, "samples": 24, "seed": 4}
    whole = calibrate("boarding-school", DATA, PARAMS, store=tmp_path / "whole.duckdb", **kw)  # type: ignore[arg-type]

    class Stop(Exception):
        pass

    def stop_at_40(done: int, total: int, stage: str) -> None:
        if done == 40:
            raise Stop

    with pytest.raises(Stop):
        calibrate("boarding-school", DATA, PARAMS, store=store, progress=stop_at_40, **kw)  # type: ignore[arg-type]
    with Store(store, read_only=True) as st:
        cid = st.calibrations()["calibration_id"].iloc[0]
        assert st.calibrations()["status"].iloc[0] == "running"
        assert len(st.calibration_trials(cid)) == 40  # every trial finished before the interruption
    again = calibrate("boarding-school", DATA, PARAMS, store=store, **kw)  # type: ignore[arg-type]
    assert again.calibration_id == whole.calibration_id == cid
    assert again.resumed == 40 and again.stored == whole.trials - 40
    assert again.best == whole.best  # bit-identical: the replay takes the same path
    pd.testing.assert_frame_equal(again.posterior, whole.posterior)
    with Store(store, read_only=True) as st:
        trials = st.calibration_trials(cid)
        assert len(trials) == whole.trials and list(trials["trial"]) == list(range(whole.trials))
        assert set(trials["stage"]) == {"search", "polish", "hessian", "mcmc"}
        assert trials.loc[trials["stage"] == "mcmc", "accepted"].iloc[1:].notna().all()  # after the start
        assert json.loads(trials["params"].iloc[0]).keys() == set(PARAMS)
        assert st.calibrations()["status"].iloc[0] == "done"


def test_a_point_scored_once_is_not_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The polish starts at the search's best point, the chain at the Hessian's centre, and L-BFGS-B
    at a bound asks for one point again: each distinct point is simulated once. Every trial is still
    numbered and stored, and the fit is the same as with every point run (the score is the same)."""
    from aftermath.calibrate.problem import Problem

    calls: list[tuple[float, ...]] = []
    loglik = Problem.loglik

    def counted(self: Problem, x: Any) -> float:
        calls.append(tuple(float(v) for v in x))
        return loglik(self, x)

    monkeypatch.setattr(Problem, "loglik", counted)
    kw = {"likelihood": "poisson", "trials": 6, "samples": 24, "seed": 4}
    res = calibrate("boarding-school", DATA, PARAMS, store=tmp_path / "c.duckdb", **kw)  # type: ignore[arg-type]
    assert len(calls) == len(set(calls))  # no point run twice
    with Store(tmp_path / "c.duckdb", read_only=True) as st:
        trials = st.calibration_trials(res.calibration_id)
    assert list(trials["trial"]) == list(range(res.trials)) and res.stored == res.trials
    points = [tuple(json.loads(p)[k] for k in PARAMS) for p in trials["params"]]
    assert set(points) == set(calls) and len(calls) < res.trials  # this fit repeats points (21 of 117)
    # a repeated point has the first one's score, and no run: wall_s 0
    first = {}
    for pt, ll, wall in zip(points, trials["log_likelihood"], trials["wall_s"], strict=True):
        if pt in first:
            assert ll == first[pt] and wall == 0.0
        else:
            first[pt] = ll
    # the same fit with every point run again
    from aftermath.calibrate import fit as fit_module

    monkeypatch.setattr(fit_module._Trials, "__call__", _without_reuse(fit_module._Trials.__call__))
    calls.clear()
    again = calibrate("boarding-school", DATA, PARAMS, **kw)  # type: ignore[arg-type]
    assert len(calls) == res.trials
    assert again.best == res.best
    pd.testing.assert_frame_equal(again.posterior, res.posterior)


def _without_reuse(call: Any) -> Any:
    def run_every_point(self: Any, stage: str, x: Any) -> float:
        self.scores.clear()
        return float(call(self, stage, x))

    return run_every_point


def test_the_command_end_to_end_and_again_from_the_store(tmp_path: Path) -> None:
    """The one-command example of docs/calibration.md, shortened; run twice, the second time every
    trial comes from the store. A store that held no calibration gains the tables and still exports."""
    path = tmp_path / "old.duckdb"
    with Store(path) as st:
        assert not st.has_calibrations() and st.calibrations().empty
    plot = tmp_path / "fit.png"
    args = ["calibrate", "boarding-school", "--data", "boarding-school", "--param", "pathogen.beta=1:2.5",
            "--trials", "3", "--samples", "10", "--store", str(path), "--json"]
    first = runner.invoke(app, [*args, "--plot", str(plot)])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["stored"] == report["trials"] > 0 and report["resumed"] == 0
    assert set(report["best"]) == {"pathogen.beta"} and report["posterior"][0]["param"] == "pathogen.beta"
    assert plot.stat().st_size > 10_000
    # 5 kept draws: the sample is flagged unreliable, in the JSON and in one line on stderr
    assert any("effective sample size" in w for w in report["warnings"])
    warned = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "effective sample size pathogen.beta" in warned[0]
    again = json.loads(runner.invoke(app, args).stdout)
    assert again["resumed"] == report["trials"] and again["stored"] == 0 and again["best"] == report["best"]
    with Store(path) as st:
        assert st.has_calibrations()
        names = {p.name for p in st.export_parquet(tmp_path / "pq")}
    assert {"calibrations.parquet", "calibration_trials.parquet", "runs.parquet"} <= names


# -- a stochastic engine: synthetic likelihood on common random numbers ---------------------------


def test_replicates_that_died_out_are_conditioned_away() -> None:
    """The data show boys in bed on the last day: a replicate whose infection died out before then
    contradicts them. The likelihood is the share still going times the Gaussian of those."""
    from aftermath.calibrate.problem import Problem, gaussian_synthetic

    sc = am.load("boarding-school")
    seeds = list(range(1, 13))
    pb = Problem(sc, "ssa", read_data(DATA, sc), Space([Prior("pathogen.beta", 0.5, 4.0)]), {"I": "poisson"}, 14,
                 seeds, align=False)
    assert pb.alive_at == 13  # the start of day 13 (4 boys in bed at its end)
    ll = pb.loglik([1.66])
    alive = pb.alive.copy()
    assert 0 < alive.sum() < len(seeds)  # seed 4's outbreak died out at once (deterministic for these seeds)
    mu = pb.values([1.66])[alive]
    sim = np.array([lk.transform("poisson", lk.draw("poisson", m, np.random.default_rng([s, 7919])))
                    for m, s in zip(mu, np.array(seeds)[alive], strict=True)])
    expect = (np.log(alive.mean()) + gaussian_synthetic(sim, lk.transform("poisson", pb.y), np.full(14, 0.25))
              + lk.log_jacobian("poisson", pb.y))
    assert ll == pytest.approx(expect)


def test_replicates_are_aligned_at_the_datas_peak() -> None:
    """With ``align`` (the default), each replicate's observations are shifted so that their peak
    falls on the data's peak day (day 5 of the boarding school), the days outside the data's window
    read from a run 13 days longer; recomputed here from the runs themselves."""
    from aftermath.calibrate.problem import Problem, gaussian_synthetic

    sc = am.load("boarding-school")
    seeds = list(range(1, 13))
    data = read_data(DATA, sc)
    pb = Problem(sc, "ssa", data, Space([Prior("pathogen.beta", 0.5, 4.0)]), {"I": "poisson"}, 14, seeds)
    assert pb.span == 13 and pb.sim_days == 27 and pb.peak_day == 5
    ll = pb.loglik([1.66])
    ext_days = np.arange(-13, 27)  # the data's days 0..13, 13 more either side
    ext = pd.DataFrame({"day": ext_days, "zone": "all", "measure": "I"})
    rows, shifts = [], []
    for s in np.array(seeds)[pb.alive]:
        res = am.simulate(sc, engine="ssa", seed=int(s), days=27)
        drawn = lk.draw("poisson", model_values(res.counts, res.flows, res.zone_ids, ext),
                        np.random.default_rng([int(s), 7919]))
        window = drawn[13:27]  # what the data's days 0..13 would have shown
        shift = int(np.argmax(window)) - 5
        shifts.append(shift)
        rows.append(lk.transform("poisson", drawn[13 + shift: 27 + shift]))
        assert int(np.argmax(rows[-1])) == 5 or rows[-1].max() == rows[-1][5]  # every peak on the data's
    assert len(set(shifts)) > 1  # the replicates took off on different days
    expect = (np.log(pb.alive.mean()) + gaussian_synthetic(np.array(rows), lk.transform("poisson", pb.y),
                                                           np.full(14, 0.25)) + lk.log_jacobian("poisson", pb.y))
    assert ll == pytest.approx(expect)




def test_a_stochastic_fits_curve_is_the_aligned_median_of_its_replicates() -> None:
    """What a stochastic fit draws (``Problem.expected``) is what its likelihood scores: the median
    over the replicates still going, each shifted by the alignment at the data's peak (recomputed
    here from the runs), so it peaks on the data's peak day (day 5), where single replicates took
    off days apart; the curve without alignment is the plain median of those going."""
    from aftermath.calibrate.problem import Problem

    sc = am.load("boarding-school")
    seeds = list(range(1, 13))
    data = read_data(DATA, sc)
    space = Space([Prior("pathogen.beta", 0.5, 4.0)])
    pb = Problem(sc, "ssa", data, space, {"I": "poisson"}, 14, seeds)
    frame = pd.DataFrame({"day": np.arange(14), "zone": "all", "measure": "I"})
    curve = pb.expected([1.66], frame)
    ext = pd.DataFrame({"day": np.arange(-13, 27), "zone": "all", "measure": "I"})
    rows, peaks = [], []
    for s in seeds:
        res = am.simulate(sc, engine="ssa", seed=s, days=27)
        if res.counts[13, :, 3].sum() < 0.5:  # died out before the data's last boys in bed
            continue
        vals = model_values(res.counts, res.flows, res.zone_ids, ext)
        drawn = lk.draw("poisson", vals, np.random.default_rng([s, 7919]))
        shift = int(np.argmax(drawn[13:27])) - 5
        rows.append(vals[13 + shift: 27 + shift])
        peaks.append(int(np.argmax(vals[13:27])))
    assert len(set(peaks)) > 1  # unaligned, the replicates peak on different days
    assert np.array_equal(curve, np.median(np.array(rows), axis=0))
    assert int(np.argmax(curve)) == 5
    plain = Problem(sc, "ssa", data, space, {"I": "poisson"}, 14, seeds, align=False)
    going = plain.values([1.66], frame)[plain.alive]
    assert np.array_equal(plain.expected([1.66], frame), np.median(going, axis=0))
    ode = Problem(sc, "ode", data, space, {"I": "poisson"}, 14, [0])
    assert np.array_equal(ode.expected([1.66], frame), ode.values([1.66], frame)[0])


def test_ssa_fit_uses_common_random_numbers() -> None:
    """The same seeds at every trial: the synthetic likelihood is a deterministic function of the
    parameters, and a fit of the data recovers a beta near the ODE's."""
    from aftermath.calibrate.data import read_data as rd
    from aftermath.calibrate.priors import Space as Sp
    from aftermath.calibrate.problem import Problem

    sc = am.load("boarding-school")
    pb = Problem(sc, "ssa", rd(DATA, sc), Sp([Prior("pathogen.beta", 0.5, 4.0)]), {"I": "poisson"}, 14,
                 [11, 12, 13, 14, 15, 16])
    assert pb.loglik([1.7]) == pb.loglik([1.7])  # same seeds, same value
    assert pb.loglik([1.7]) > pb.loglik([1.2])
    res = calibrate("boarding-school", DATA, {"pathogen.beta": (0.5, 4.0)}, engine="ssa", replicates=4,
                    trials=6, samples=10, seed=2)
    assert res.method.startswith("synthetic likelihood")
    assert 1.3 < res.best["pathogen.beta"] < 2.2


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_chain_from_a_best_fit_at_a_bound() -> None:
    """A best fit at a bound (report fraction 1) used to start the chain at u = logit(1 - 1e-12) = 27.6,
    where the Hessian is flat: a proposal of variance ~1e12, 4% acceptance, a degenerate interval and
    an overflow in exp. The chain now starts at z = 1 - 1e-3 with its proposal's sd at most the prior's.
    The posterior: beta ~ N(1.68, 0.015) and f with density exp(36 z) in z = (f - 0.1) / 0.9."""
    space = Space([Prior("pathogen.beta", 0.5, 3.0), Prior("obs.report_fraction", 0.1, 1.0)])

    def post_u(_stage: str, u: np.ndarray) -> float:
        beta, f = space.x_from_u(u)
        return float(-0.5 * ((beta - 1.68) / 0.015) ** 2 + 40.0 * f + space.log_prior_u(u))

    at_bound = np.array([1.68, 1.0])
    for seed in range(4):  # the reported case's 600 steps: acceptance was 6-11% before, 35-43% now
        short = _sample(post_u, space, at_bound, 600, np.random.default_rng(seed), h=1e-3)  # type: ignore[arg-type]
        assert 0.2 < short.acceptance < 0.6
    chain = _sample(post_u, space, at_bound, 4000, np.random.default_rng(11), h=1e-3)  # type: ignore[arg-type]
    assert 0.2 < chain.acceptance < 0.6
    xs = np.array([space.x_from_u(u) for u in chain.samples])
    beta = xs[:, 0]
    n_eff = ess(beta)
    assert n_eff > 100
    assert beta.mean() == pytest.approx(1.68, abs=4 * 0.015 / np.sqrt(n_eff))
    # the 90% interval's width is 2 x 1.645 sd; its Monte Carlo error with n_eff draws is ~ 1 / sqrt(n_eff)
    width = np.quantile(beta, 0.95) - np.quantile(beta, 0.05)
    assert width == pytest.approx(2 * 1.645 * 0.015, rel=4 / np.sqrt(n_eff))
    # f: 1 - z is exponential with rate 36 (truncated at 1: negligibly), median ln 2 / 36
    z = (xs[:, 1] - 0.1) / 0.9
    n_f = ess(z)
    assert np.median(1 - z) == pytest.approx(np.log(2) / 36, rel=4 / np.sqrt(n_f))


def test_proposal_covariance_is_bounded_and_keeps_correlations() -> None:
    lo, hi = PROPOSAL_SD
    flat = _bounded_cov(np.array([[1e12, 0.5e12], [0.5e12, 1e12]]))
    assert np.sqrt(np.diag(flat)) == pytest.approx([hi, hi])
    assert flat[0, 1] / flat[0, 0] == pytest.approx(0.5)  # the correlation kept
    sharp = _bounded_cov(np.diag([1e-20, 0.04]))
    assert np.sqrt(np.diag(sharp)) == pytest.approx([lo, 0.2])
    nan = _bounded_cov(np.array([[np.inf, 0.0], [0.0, 0.04]]))
    assert np.diag(nan) == pytest.approx([hi**2, 0.04]) and nan[0, 1] == 0


@pytest.mark.slow
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_boarding_school_report_fraction_at_its_bound() -> None:
    """The reviewer's case: the best report fraction is 1 - 1e-12 (a bound). Before: acceptance 4%,
    beta's 90% interval 1.678-1.681 (ESS 5) and an overflow in exp."""
    res = calibrate("boarding-school", DATA, ["pathogen.beta=0.5:3", "obs.report_fraction=0.1:1"],
                    trials=20, samples=600, seed=0)
    assert 0.15 < res.acceptance < 0.6
    lo, hi = res.interval("pathogen.beta")
    assert hi - lo > 0.02 and lo < res.best["pathogen.beta"] < hi
    assert res.to_dict()["warnings"] == res.warnings == res.diagnose()


def test_the_table_shows_each_parameter_path_whole_at_80_columns(tmp_path: Path) -> None:
    """A parameter's path is what the user typed: at 80 columns it is shown whole (it was cut to
    'obs.report_fract…'), the prior wrapping instead."""
    res = runner.invoke(app, ["calibrate", "boarding-school", "--data", "boarding-school", "--param",
                              "pathogen.beta=0.5:4", "--param", "obs.report_fraction=0.1:1", "--trials", "12",
                              "--samples", "40", "--store", str(tmp_path / "s.duckdb")], terminal_width=80)
    assert res.exit_code == 0, res.output
    assert " obs.report_fraction " in res.stdout and "…" not in res.stdout, res.stdout
