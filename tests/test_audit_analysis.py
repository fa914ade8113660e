"""Second fault-injection audit: calibration, comparisons, ensembles, the store's bands and ensemble
statistics. Each test holds a behaviour that a plausible injected bug broke while every other test
still passed: a closed-form value, an exact identity, or a statistical check whose tolerance comes
from its sample size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import aftermath as am
from aftermath.calibrate import calibrate
from aftermath.calibrate import likelihood as lk
from aftermath.calibrate.data import model_values
from aftermath.calibrate.fit import _hessian_cov
from aftermath.calibrate.mcmc import adaptive_metropolis, ess
from aftermath.calibrate.priors import Prior, Space
from aftermath.calibrate.problem import SHRINK_GAMMA, Problem, gaussian_synthetic
from aftermath.compare import comparison
from aftermath.model.world import STATE_NAMES
from aftermath.report.ensemble import describe, quantile_frame
from aftermath.run import ensemble, sweep
from aftermath.scenario.load import from_dict, with_overrides
from aftermath.store import Store

SMALL = {"zones.town.population": {"S": 990, "Z": 10}}  # the SIR town at 1,000 people

# -- likelihoods --------------------------------------------------------------------------------


def test_gaussian_synthetic_is_the_multivariate_normal_of_the_shrunk_covariance() -> None:
    """The documented estimator: the rows' mean, their covariance with correlations shrunk halfway
    to independence (variances at least the floor), scored by SciPy's multivariate normal."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 3))
    sim = rng.standard_normal((40, 3)) @ a + np.array([1.0, -2.0, 3.0])
    t = np.array([0.5, -1.0, 2.0])
    cov = np.cov(sim, rowvar=False)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    shrunk = (SHRINK_GAMMA * corr + (1 - SHRINK_GAMMA) * np.eye(3)) * np.outer(sd, sd)
    expect = stats.multivariate_normal(sim.mean(axis=0), shrunk).logpdf(t)
    assert gaussian_synthetic(sim, t, np.zeros(3)) == pytest.approx(expect, rel=1e-10)
    # a floor above a variance raises that variance only
    floor = np.array([0.0, 10 * cov[1, 1], 0.0])
    sd2 = sd.copy()
    sd2[1] = math.sqrt(floor[1])
    floored = (SHRINK_GAMMA * corr + (1 - SHRINK_GAMMA) * np.eye(3)) * np.outer(sd2, sd2)
    expect2 = stats.multivariate_normal(sim.mean(axis=0), floored).logpdf(t)
    assert gaussian_synthetic(sim, t, floor) == pytest.approx(expect2, rel=1e-10)


@pytest.mark.parametrize(("kind", "mu", "kw"), [
    ("poisson", [300.0, 500.0, 800.0, 1200.0], {}),
    ("lognormal", [3.0, 20.0, 80.0, 300.0], {"sigma": 0.3}),
    ("normal", [3.0, 20.0, 80.0, 300.0], {"sd": 4.0}),
])
def test_synthetic_likelihood_on_many_replicates_is_the_exact_density(kind: str, mu: list[float],
                                                                      kw: dict[str, float]) -> None:
    """With R replicates of independent observations, the synthetic likelihood on the transformed
    scale plus the transform's log-Jacobian is the density of y itself: exactly Gaussian for the
    normal and the log-normal, and for Poisson counts of mean >= 300 the square root's Gaussian is
    within ~0.01 per observation. The Monte Carlo error of the Gaussian's mean and variances is
    ~sqrt(2 / R) = 0.01 per observation at R = 20,000, so 4 observations agree within 0.1; a
    Jacobian's dropped constant (log 2 per count) or sign, or half a log-determinant, moves it by > 1."""
    rng = np.random.default_rng(11)
    m = np.array(mu)
    y = lk.draw(kind, m, rng, **kw)
    r = 20_000
    sim = lk.transform(kind, lk.draw(kind, np.broadcast_to(m, (r, len(m))).copy(), rng, **kw))
    syn = gaussian_synthetic(sim, lk.transform(kind, y), np.zeros(len(m))) + lk.log_jacobian(kind, y)
    exact = float(np.sum(lk.logpdf(kind, y, m, **kw)))
    assert syn == pytest.approx(exact, abs=0.1)


# -- priors and the sampler's diagnostics -------------------------------------------------------------


def test_prior_densities_are_normalised_and_match_scipy() -> None:
    """Each prior's density integrates to 1 over its bounds and is SciPy's uniform or log-uniform;
    the density in u (the sampler's coordinate) integrates to 1 over the line."""
    for p, ref in ((Prior("a", 0.5, 4.0), stats.uniform(0.5, 3.5)),
                   (Prior("b", 0.01, 10.0, "log-uniform"), stats.loguniform(0.01, 10.0))):
        xs = np.array([p.lo, 0.7, 1.3, 3.9])
        assert [p.log_density(float(x)) for x in xs] == pytest.approx(ref.logpdf(xs), rel=1e-12)
        total, _ = integrate.quad(lambda x, p=p: math.exp(p.log_density(x)), p.lo, p.hi, limit=200)
        assert total == pytest.approx(1.0, rel=1e-8)
        assert p.log_density(p.hi * 1.01) == -math.inf
    space = Space([Prior("a", 0.5, 4.0), Prior("b", 0.01, 10.0, "log-uniform")])
    x = np.array([1.0, 0.2])
    assert space.log_prior_x(x) == pytest.approx(-math.log(3.5) - math.log(0.2) - math.log(math.log(1000.0)))
    total, _ = integrate.quad(lambda u: math.exp(space.log_prior_u(np.array([u, 0.0]))), -50, 50)
    assert total / 0.25 == pytest.approx(1.0, rel=1e-8)  # 0.25: the second coordinate's density at u = 0


def test_ess_of_independent_and_ar1_series() -> None:
    """ESS = n / tau with tau = (1 + phi) / (1 - phi) for an AR(1) series (1 for independent draws).
    For n = 20,000 the estimate's relative error is ~sqrt(2 (2M + 1) / n) ~ 6% (window M ~ 15), so
    within 25%; the factor 3 of a miscounted lag 0 is far outside."""
    rng = np.random.default_rng(2)
    n = 20_000
    iid = rng.standard_normal(n)
    assert ess(iid) == pytest.approx(n, rel=0.25)
    phi = 0.5
    ar = np.empty(n)
    ar[0] = rng.standard_normal() / math.sqrt(1 - phi**2)
    e = rng.standard_normal(n)
    for i in range(1, n):
        ar[i] = phi * ar[i - 1] + e[i]
    assert ess(ar) == pytest.approx(n * (1 - phi) / (1 + phi), rel=0.25)


# -- the calibration problem ----------------------------------------------------------------------


def test_report_fraction_enters_the_aligned_stochastic_likelihood() -> None:
    """Data that are 30% of an outbreak's boys in bed: the (default, aligned) synthetic likelihood of
    the SSA prefers a reporting fraction of 0.3 to full reporting, by far (on the square-root scale
    the curves differ by ~8 standard deviations at the peak)."""
    sc = am.load("boarding-school")
    res = am.simulate(sc, engine="ode", days=14)
    frame = pd.DataFrame({"day": np.arange(14), "zone": "all", "measure": "I"})
    data = frame.assign(value=np.round(0.3 * model_values(res.counts, res.flows, res.zone_ids, frame)))
    space = Space([Prior("pathogen.beta", 0.5, 4.0)])

    def ll(fraction: float) -> float:
        pb = Problem(sc, "ssa", data, space, {"I": "poisson"}, 14, [1, 2, 3, 5, 6], fraction)
        assert pb.ref_rows is not None  # aligned
        return pb.loglik([1.66])

    assert ll(0.3) > ll(1.0) + 50


def test_a_reporting_delay_moves_the_day_the_data_show_the_infection_alive() -> None:
    """Boys in bed reported 3 days late: the last positive count, on day 13, shows the infection
    still present at the start of day 13 - 3 = 10, not 13."""
    sc = am.load("boarding-school")
    data = pd.DataFrame({"day": np.arange(14), "zone": "all", "measure": "I", "value": np.full(14, 4.0)})
    space = Space([Prior("pathogen.beta", 0.5, 4.0)])
    assert Problem(sc, "ssa", data, space, {"I": "poisson"}, 14, [1], delay=0, align=False).alive_at == 13
    assert Problem(sc, "ssa", data, space, {"I": "poisson"}, 14, [1], delay=3, align=False).alive_at == 10



def test_a_reporting_delay_is_a_shift_of_the_days_in_the_stochastic_fit() -> None:
    """The same outbreak's data reported 3 days later, fitted with a delay of 3: every replicate, its
    noise and its alignment are the same, so the likelihood is the same and the fit's curve
    (``Problem.expected``) is the undelayed one, 3 days later: the delay is applied once."""
    sc = am.load("boarding-school")
    res = am.simulate(sc, engine="ode", days=14)
    frame = pd.DataFrame({"day": np.arange(14), "zone": "all", "measure": "I"})
    data = frame.assign(value=np.round(model_values(res.counts, res.flows, res.zone_ids, frame)))
    space = Space([Prior("pathogen.beta", 0.5, 4.0)])
    seeds = [1, 2, 3, 5]
    now = Problem(sc, "ssa", data, space, {"I": "poisson"}, 14, seeds)
    late = Problem(sc, "ssa", data.assign(day=data["day"] + 3), space, {"I": "poisson"}, 14, seeds, delay=3)
    assert late.ref_rows is not None and late.peak_day == now.peak_day + 3
    assert late.loglik([1.66]) == now.loglik([1.66])
    curve = now.expected([1.66], frame)
    assert np.isfinite(curve).all() and curve.max() > 100
    assert np.array_equal(late.expected([1.66], frame.assign(day=frame["day"] + 3)), curve)

# -- comparisons and ensemble statistics ------------------------------------------------------------


def test_lives_saved_are_paired_by_replicate_against_the_named_baseline() -> None:
    """Lives saved pair replicate i of a variant with replicate i of the baseline, whatever the rows'
    order and wherever the baseline stands among the variants: here the variant saves exactly
    i + 1 lives in replicate i while replicates differ by hundreds."""
    base = [100.0, 400.0, 250.0, 900.0, 30.0]
    rows = [{"variant": "walls", "replicate": i, "survivors": base[i] + i + 1, "engine": "ssa"}
            for i in (3, 0, 4, 2, 1)]
    rows += [{"variant": "baseline", "replicate": i, "survivors": base[i], "engine": "ssa"} for i in range(5)]
    frame = comparison(pd.DataFrame(rows), baseline="baseline").set_index(["variant", "metric"])
    saved = frame.loc[("walls", "lives_saved")]
    lo, hi = np.quantile([1, 2, 3, 4, 5], [0.05, 0.95])
    assert (saved["mean"], saved["lo"], saved["hi"]) == pytest.approx((3.0, lo, hi))
    own = frame.loc[("baseline", "lives_saved")]
    assert (own["mean"], own["lo"], own["hi"]) == (0.0, 0.0, 0.0)


def test_describe_gives_the_5th_50th_and_95th_percentiles() -> None:
    summaries = pd.DataFrame({"seed": np.arange(101) * 7, "days": 30, "deaths": np.arange(101.0)})
    out = describe(summaries).set_index("metric")
    assert list(out.index) == ["deaths"]  # seed and days are not metrics
    assert out.loc["deaths"].to_dict() == pytest.approx({"q05": 5.0, "q50": 50.0, "q95": 95.0})


def _two_towns() -> am.Scenario:
    return from_dict({
        "name": "two towns", "run": {"days": 12},
        "pathogen": {"beta": 0.6, "latency": 0.0, "p_hybrid": 0.0, "relapse": 0.0, "eta": 0.0},
        "defence": {"alpha": 0.0, "decay": 0.1},
        "society": {"fear": {"per_infection": 0.0, "per_death": 0.0, "per_breach": 0.0, "flight": 0.0}},
        "zones": [{"id": "east", "population": {"S": 300, "Z": 5}},
                  {"id": "west", "population": {"S": 200, "Z": 5}}],
        "routes": [{"from": "east", "to": "west", "rate": 0.05, "both_ways": True}],
    })


def test_the_world_band_is_the_quantile_of_the_sum_over_zones() -> None:
    """quantile_frame's zone "all" is the quantile over runs of the world total, per day and state,
    and each zone's band is the quantile of that zone's count."""
    sc = _two_towns()
    results = [am.simulate(sc, engine="ssa", seed=s) for s in range(7)]
    q = quantile_frame(results)
    counts = np.stack([r.counts for r in results])  # [run, time, zone, state]
    for state in ("S", "Z"):
        k = STATE_NAMES.index(state)
        world = q[(q.zone == "all") & (q.state == state)].sort_values("day")
        expect = np.quantile(counts[:, :, :, k].sum(axis=2), [0.05, 0.5, 0.95], axis=0)
        assert np.array_equal(world[["q05", "q50", "q95"]].to_numpy().T, expect)
        west = q[(q.zone == "west") & (q.state == state)].sort_values("day")
        assert np.array_equal(west["q50"].to_numpy(), np.quantile(counts[:, :, 1, k], 0.5, axis=0))
    assert (q[(q.zone == "all") & (q.state == "S")]["q95"] > q[(q.zone == "all") & (q.state == "S")]["q05"]).any()


def test_paired_differences_default_to_the_recorded_baseline() -> None:
    """A batch records its baseline; ``paired`` weighs the others against it, not against the first
    variant listed."""
    variants = {"faster": {**SMALL, "pathogen.beta": 0.5}, "base": SMALL}
    with ensemble("sir", runs=2, engine="ode", days=10, variants=variants, baseline="base") as res:
        diff = res.paired("survivors")
        assert set(diff["variant"]) == {"faster"}
        wide = res.summaries().pivot(index="replicate", columns="variant", values="survivors")
        assert diff["survivors_diff"].to_numpy() == pytest.approx((wide["faster"] - wide["base"]).to_numpy())
        assert (diff["survivors_diff"] < 0).all()  # a faster epidemic leaves fewer survivors


def test_a_resumed_batch_runs_each_missing_run_once_and_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    """Two variants x 4 SSA replicates, interrupted after 3 runs came back: the rerun runs exactly the
    5 missing (point, replicate) pairs, once each, and its store holds what an uninterrupted batch
    holds; a third call runs nothing."""
    variants = {"base": SMALL, "faster": {**SMALL, "pathogen.beta": 0.4}}
    kw = {"runs": 4, "master_seed": 21, "engine": "ssa", "days": 15, "variants": variants}
    cols = ["point", "variant", "replicate", "seed", "survivors", "deaths", "peak_ferals"]
    with ensemble("sir", **kw) as whole:
        expect = whole.summaries()[cols].sort_values(["point", "replicate"]).reset_index(drop=True)
    path = tmp_path / "e.duckdb"

    def stop_after_three(done: int, total: int, rec: object) -> None:
        if rec is not None and done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensemble("sir", store=path, progress=stop_after_three, **kw)
    with Store(path) as st:
        first = {(int(p), int(r)) for p, r in st.runs()[["point", "replicate"]].itertuples(index=False)}
    assert len(first) == 3
    ran: list[tuple[int, int]] = []

    def count(done: int, total: int, rec: object) -> None:
        if rec is not None:
            ran.append((int(rec.meta["point"]), int(rec.meta["replicate"])))  # type: ignore[attr-defined]

    with ensemble("sir", store=path, progress=count, **kw) as res:
        assert sorted(ran) == sorted({(p, r) for p in range(2) for r in range(4)} - first)
        got = res.summaries()[cols].sort_values(["point", "replicate"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expect, check_dtype=False)
    ran.clear()
    with ensemble("sir", store=path, progress=count, **kw) as res:
        assert ran == [] and (res.skipped, res.stored) == (8, 0)


# -- the sampler and the fit ------------------------------------------------------------------------


def test_each_kept_draw_carries_its_own_log_posterior() -> None:
    """``Chain.logp[i]`` is the target at ``Chain.samples[i]`` (the posterior frame's column)."""
    prec = np.array([[2.0, 0.5], [0.5, 1.0]])

    def logp(u: np.ndarray) -> float:
        return float(-0.5 * u @ prec @ u)

    chain = adaptive_metropolis(logp, np.array([1.0, -1.0]), np.eye(2), 400, np.random.default_rng(4))
    assert len(chain.samples) == len(chain.logp) == 200
    assert chain.logp == pytest.approx([logp(u) for u in chain.samples], rel=1e-12)


def test_the_hessian_covariance_of_a_quadratic_is_its_inverse_precision() -> None:
    """Central differences are exact on a quadratic: minus the inverse Hessian of -u'Pu/2 is P^-1,
    off-diagonal terms included."""
    prec = np.array([[4.0, 1.5, -0.5], [1.5, 2.0, 0.3], [-0.5, 0.3, 1.0]])
    u0 = np.array([0.2, -0.4, 0.1])
    cov = _hessian_cov(lambda u: float(-0.5 * (u - u0) @ prec @ (u - u0)), np.zeros(3), h=1e-2)
    assert cov == pytest.approx(np.linalg.inv(prec), rel=1e-6, abs=1e-8)


def test_a_parameter_the_data_say_nothing_about_keeps_its_prior() -> None:
    """Data that cannot tell betas apart (a normal likelihood with sd 1e6): the posterior is the
    uniform prior on [1.2, 2.0], so the chain, which runs on u = logit(z), must carry the prior's
    density in u (its Jacobian) to draw x uniformly: the share of draws in the middle half is 1/2
    within 4 Monte Carlo errors sqrt(1/4 / ESS), and each corner quarter holds about a quarter.
    The reported best log-likelihood is the likelihood's, without the prior."""
    sc = am.load("boarding-school")
    data = pd.DataFrame({"day": [3, 5, 7], "zone": "all", "measure": "I", "value": [20.0, 250.0, 160.0]})
    res = calibrate(sc, data, {"pathogen.beta": (1.2, 2.0)}, likelihood="normal", sd=1e6, trials=4,
                    samples=1200, seed=3)
    x = res.posterior["pathogen.beta"].to_numpy()
    n_eff = ess(x)
    assert n_eff > 50
    tol = 4 * math.sqrt(0.25 / n_eff)
    assert np.mean((x > 1.4) & (x < 1.8)) == pytest.approx(0.5, abs=tol)
    assert np.mean(x < 1.4) == pytest.approx(0.25, abs=tol)
    assert res.best_loglik == pytest.approx(res.problem.loglik([res.best["pathogen.beta"]]), abs=1e-9)


def test_a_sweeps_table_gives_each_points_mean_and_sd_over_its_replicates() -> None:
    """Per point, the table's metric is the mean over the point's replicates (and ``_sd`` their
    sample standard deviation), as the summaries give them run by run."""
    small = with_overrides(am.load("sir"), SMALL, source="<test>")
    with sweep(small, {"pathogen.beta": [0.3, 0.5]}, runs=5, master_seed=8, engine="ssa", days=20) as res:
        table = res.table(["survivors", "peak_ferals"]).set_index("point")
        s = res.summaries()
        for m in ("survivors", "peak_ferals"):
            by = s.groupby("point")[m]
            assert table[m].to_numpy() == pytest.approx(by.mean().to_numpy(), rel=1e-12)
            assert table[f"{m}_sd"].to_numpy() == pytest.approx(by.std(ddof=1).to_numpy(), rel=1e-12)
        assert (table["runs"] == 5).all()
        assert (by.mean() != by.median()).any()  # a check that tells a mean from a median
