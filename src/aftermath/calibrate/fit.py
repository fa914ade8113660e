"""``calibrate``: fit scenario parameters to observed counts, and sample their posterior.

Stages, each a sequence of *trials* (one likelihood evaluation: a run, or ``replicates`` runs of a
stochastic engine on common random numbers), every one written to the results store:

1. ``search``: Optuna's TPE sampler (seeded) over the priors' bounds, maximising the log posterior
   in the parameters' own units (with uniform priors, the likelihood). The scenario's own values
   are the first trial when they lie within the bounds.
2. ``polish``: SciPy's L-BFGS-B (the ODE: a smooth likelihood) or Nelder-Mead (a stochastic
   engine) from the best trial, on unbounded coordinates. The best fit is
   the trial of highest posterior density of all (the chain, below, may visit a better one).
3. ``hessian``: a finite-difference Hessian of the log posterior at the best fit (on unbounded
   coordinates): the first proposal of the chain.
4. ``mcmc``: adaptive Metropolis (:mod:`aftermath.calibrate.mcmc`); the second half of the chain is
   the posterior sample.

Every stage is deterministic given the seed and the likelihoods, so a calibration interrupted and
run again replays its stored trials (no run repeated) and goes on from the first one missing.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from aftermath.calibrate import likelihood as lk
from aftermath.calibrate.data import horizon, read_data
from aftermath.calibrate.mcmc import Chain, adaptive_metropolis, ess
from aftermath.calibrate.priors import OBS_PARAMS, CalibrationError, Prior, Space, as_priors
from aftermath.calibrate.problem import Problem
from aftermath.run.seeds import replicate_seeds
from aftermath.scenario import load as _load
from aftermath.scenario.load import ScenarioError
from aftermath.scenario.schema import Scenario
from aftermath.store.records import canonical_json, scenario_hash, sha256
from aftermath.store.store import Store

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aftermath.engines.budget import Budget

F64 = NDArray[np.float64]

#: ``progress(done, total, stage)`` after each trial (``done`` counts replayed ones too).
Progress = Callable[[int, int, str], None]

DEFAULT_TRIALS = {"ode": 60, "ssa": 30, "abm": 30}
#: Metropolis steps, half of them burn-in. For the ODE, 2,000 left the README's boarding-school fit
#: (three parameters) with a smallest effective sample size of 35, 25 and 51 in seeds 0, 1 and 2:
#: under the 50 that ``warnings`` asks for in 2 seeds of 3; 4,000 gave 103 to 177 (about 8 ms a step).
DEFAULT_SAMPLES = {"ode": 4000, "ssa": 600, "abm": 600}
DEFAULT_REPLICATES = 32
#: Default priors of the observation model's parameters, when a likelihood needs one not given.
DEFAULT_OBS_PRIORS = {"obs.dispersion": Prior("obs.dispersion", 0.1, 1000.0, "log-uniform"),
                      "obs.sigma": Prior("obs.sigma", 0.01, 5.0, "log-uniform"),
                      "obs.sd": Prior("obs.sd", 0.01, 1e6, "log-uniform")}
#: The most trials and the most runs one calibration may make.
MAX_TRIALS = 100_000
LEVEL = 0.9  # the credible intervals reported
#: The chain starts at z (the prior's unit scale) at least this far from a bound: a best fit at a bound
#: (z = 1e-12, u = 27.6) is far in the logistic prior's tail, where the chain would spend its burn-in.
START_MARGIN = 1e-3
#: The first proposal's standard deviations on u are kept within these: the ceiling is the prior's own
#: (the logistic distribution's, pi / sqrt(3)), the floor keeps a Hessian that is too sharp usable.
PROPOSAL_SD = (1e-6, math.pi / math.sqrt(3))
#: Below these, the chain's interval is not to be trusted (``CalibrationResult.warnings``).
MIN_ACCEPTANCE = 0.10
#: an acceptance above this: the chain's steps are too small for the posterior (it barely moves)
MAX_ACCEPTANCE = 0.90
MIN_ESS = 50.0
#: posterior draws whose curves a stochastic fit's bands are made of (each a median of the replicates)
STOCHASTIC_DRAWS = 20


def polish_budget(dim: int) -> int:
    return 40 * (dim + 1) + 20


def hessian_budget(dim: int) -> int:
    return 1 + 2 * dim + dim * (dim - 1)


@dataclass
class CalibrationResult:
    """A calibration: the best fit, the posterior sample and what was stored."""

    calibration_id: str
    problem: Problem
    best: dict[str, float]  # the best fit (posterior mode in the parameters' units)
    best_loglik: float
    posterior: pd.DataFrame  # one row per kept draw: a column per parameter, then log_posterior
    acceptance: float
    method: str
    trials: int = 0  # trials in all
    stored: int = 0  # trials evaluated (and stored) by this call
    resumed: int = 0  # trials found in the store
    wall_s: float = 0.0
    store: str = ":memory:"
    seed: int = 0
    warnings: list[str] = field(default_factory=list)  # why the intervals may be unreliable (empty: none)
    _bands: dict[int, pd.DataFrame] = field(default_factory=dict, repr=False)  # fit_bands by draws

    @property
    def engine(self) -> str:
        return self.problem.engine

    @property
    def data(self) -> pd.DataFrame:
        return self.problem.data

    @property
    def paths(self) -> list[str]:
        return list(self.problem.space.paths)

    def interval(self, path: str, level: float = LEVEL) -> tuple[float, float]:
        """The central credible interval of a parameter (or any posterior column)."""
        a = (1 - level) / 2
        col = self.posterior[path]
        return float(col.quantile(a)), float(col.quantile(1 - a))

    def summary(self, level: float = LEVEL) -> pd.DataFrame:
        """Per parameter: best fit, posterior mean and median, central interval, effective sample size."""
        rows = []
        pct = f"{level:.0%}"
        for p in self.problem.space.priors:
            col = self.posterior[p.path].to_numpy()
            lo, hi = self.interval(p.path, level)
            rows.append({"param": p.path, "prior": p.describe(), "best": self.best[p.path], "mean": float(col.mean()),
                         "median": float(np.median(col)), f"lo{pct}": lo, f"hi{pct}": hi, "ess": ess(col)})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints."""
        summ = self.summary()
        return {"calibration_id": self.calibration_id, "scenario": self.problem.base.name, "engine": self.engine,
                "method": self.method, "best": self.best, "best_log_likelihood": self.best_loglik,
                "posterior": [{k: _plain(v) for k, v in r.items()} for r in summ.to_dict(orient="records")],
                "draws": len(self.posterior), "acceptance": round(self.acceptance, 4), "trials": self.trials,
                "stored": self.stored, "resumed": self.resumed, "wall_s": round(self.wall_s, 3), "store": self.store,
                "observations": len(self.data), "seed": self.seed, "warnings": list(self.warnings)}

    def diagnose(self) -> list[str]:
        """Why the posterior sample may be unreliable: an acceptance below 10% (the chain rarely
        moves) or above 90% (its steps are too small to explore), or an effective sample size below
        50 (then the intervals are too narrow or too noisy: more ``--samples``)."""
        out = []
        if self.acceptance < MIN_ACCEPTANCE:
            out.append(f"acceptance {self.acceptance:.0%} < {MIN_ACCEPTANCE:.0%}")
        elif self.acceptance > MAX_ACCEPTANCE and len(self.posterior):
            out.append(f"acceptance {self.acceptance:.0%} > {MAX_ACCEPTANCE:.0%} (steps too small to explore)")
        if len(self.posterior):
            summ = self.summary()
            low = summ[summ["ess"] < MIN_ESS]
            if len(low):
                out.append("effective sample size " + ", ".join(f"{r.param} {r.ess:.0f}" for r in low.itertuples())
                           + f" < {MIN_ESS:.0f}")
        else:
            out.append("no posterior draws")
        return out

    def fit_bands(self, draws: int = 60) -> pd.DataFrame:
        """Per observed series (measure, zone) and day: the best fit, quantiles of the expected
        reported value over the posterior (q05, q25, q50, q75, q95) and the 90% predictive interval
        of an observation (pred05, pred95), from ``draws`` draws spread through the sample (at
        most :data:`STOCHASTIC_DRAWS` for a stochastic engine). The expected value is
        :meth:`Problem.expected`'s: a stochastic engine's median over the replicates, aligned at
        the data's peak as the likelihood aligns them, so that the bands show the posterior's
        uncertainty and not one replicate's chance take-off."""
        if draws in self._bands:
            return self._bands[draws]
        pb = self.problem
        keys = pb.data[["measure", "zone"]].drop_duplicates().itertuples(index=False)
        frame = pd.DataFrame([(d, m, z) for m, z in keys for d in range(int(pb.data["day"].max()) + 1)],
                             columns=["day", "measure", "zone"])
        best_x = [self.best[p] for p in pb.space.paths]
        best_vals = pb.expected(best_x, frame)
        if pb.stochastic:  # each draw's curve is a median over the replicates: fewer draws
            draws = min(draws, STOCHASTIC_DRAWS)
        n = min(draws, len(self.posterior))
        idx = np.linspace(0, len(self.posterior) - 1, n).round().astype(int) if n else np.array([], int)
        rng = np.random.default_rng([self.seed, 4242])
        exp = np.empty((n, len(frame)))
        pred = np.empty((n, len(frame)))
        kinds = np.array([pb.likelihoods[m] for m in frame["measure"]], dtype=object)
        for j, i in enumerate(idx):
            x = [float(self.posterior[p].iloc[i]) for p in pb.space.paths]
            _, obs = pb.split(x)
            exp[j] = pb.expected(x, frame)
            for kind in lk.LIKELIHOODS:
                sel = kinds == kind
                if sel.any():
                    pred[j, sel] = lk.draw(kind, exp[j, sel], rng, obs["dispersion"], obs["sigma"], obs["sd"])
        out = frame.copy()
        out["best"] = best_vals
        if n:
            for q in (5, 25, 50, 75, 95):
                out[f"q{q:02d}"] = np.quantile(exp, q / 100, axis=0)
            out["pred05"] = np.quantile(pred, 0.05, axis=0)
            out["pred95"] = np.quantile(pred, 0.95, axis=0)
        self._bands[draws] = out
        return out

    def plot(self, path: str | Path | None = None, draws: int = 60, title: str | None = None) -> Figure:
        """The fit against the data, with the posterior's bands (``docs/calibration.md``)."""
        from aftermath.calibrate.plots import plot_fit

        fig = plot_fit(self, draws=draws, title=title)
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig


def _plain(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


class _Trials:
    """Likelihood evaluations numbered in order, replayed from the store when already there.

    A point scored before in the same fit is not run again (``scores``, keyed by the exact parameter
    values): the polish starts from the search's best trial, the chain from the Hessian's centre,
    and L-BFGS-B at a bound asks for the same point again; the likelihood is a deterministic
    function of the parameters (common random numbers for a stochastic engine), so the score is
    the same. Such a trial is still numbered and stored (``wall_s`` 0), so the trials replay alike.
    """

    def __init__(self, store: Store | None, cid: str, problem: Problem, total: int,
                 progress: Progress | None, flush_every: int = 64, flush_s: float = 5.0) -> None:
        self.store, self.cid, self.problem = store, cid, problem
        self.total, self.progress = total, progress
        self.cache: dict[int, tuple[str, float | None]] = {}
        self.scores: dict[tuple[float, ...], float] = {}  # log-likelihood by the exact parameter values
        self.reused = 0  # trials scored from ``scores`` (no run)
        if store is not None:
            prior = store.calibration_trials(cid)
            for t, params, ll in zip(prior["trial"], prior["params"], prior["log_likelihood"], strict=True):
                self.cache[int(t)] = (str(params), None if pd.isna(ll) else float(ll))
        self.count = 0
        self.stored = 0
        self.resumed = 0
        self.buffer: list[dict[str, Any]] = []
        self.flush_every, self.flush_s = flush_every, flush_s
        self.last_flush = time.perf_counter()
        self.first_cost: float | None = None
        self.best_post = -math.inf  # the best log posterior (in the parameters' units) of any trial
        self.best_x: F64 | None = None
        self.best_ll = -math.inf

    def __call__(self, stage: str, x: Sequence[float] | F64) -> float:
        """The log-likelihood at ``x`` (natural units)."""
        self._maybe_flush()
        k = self.count
        self.count += 1
        params = json.dumps(self.problem.space.as_dict(np.asarray(x, dtype=float)), sort_keys=True)
        key = tuple(float(v) for v in np.asarray(x, dtype=float))
        hit = self.cache.get(k)
        wall: float | None
        if hit is not None and hit[0] == params:
            self.resumed += 1
            ll = -math.inf if hit[1] is None else hit[1]
            wall = None
        elif key in self.scores:
            ll = self.scores[key]
            wall = 0.0
            self.reused += 1
            self.stored += 1
        else:
            t0 = time.perf_counter()
            try:
                ll = self.problem.loglik(x)
            except ScenarioError:  # a run the model refuses there (an ODE too stiff): impossible, not fatal
                ll = -math.inf
            wall = time.perf_counter() - t0
            if self.first_cost is None:
                self.first_cost = wall
            self.stored += 1
        self.scores[key] = ll
        lp = self.problem.space.log_prior_x(np.asarray(x, dtype=float))
        if ll + lp > self.best_post:
            self.best_post, self.best_x, self.best_ll = ll + lp, np.asarray(x, dtype=float).copy(), ll
        row = {"calibration_id": self.cid, "trial": k, "stage": stage, "params": params,
               "log_likelihood": ll if math.isfinite(ll) else None, "log_prior": lp, "accepted": None,
               "wall_s": wall}
        if wall is not None:
            self.buffer.append(row)
        self.last_row = row
        if self.progress is not None:
            self.progress(self.count, self.total, stage)
        return ll

    def mark(self, accepted: bool) -> None:
        """Record whether the chain accepted the last trial (kept in the store's ``accepted``)."""
        if self.buffer and self.buffer[-1] is self.last_row:
            self.last_row["accepted"] = accepted

    def _maybe_flush(self) -> None:
        late = time.perf_counter() - self.last_flush >= self.flush_s
        if len(self.buffer) >= self.flush_every or (self.buffer and late):
            self.flush()

    def flush(self) -> None:
        if self.store is not None and self.buffer:
            self.store.write_trials(self.buffer)
        self.buffer = []
        self.last_flush = time.perf_counter()


def _check_params(base: Scenario, priors: Sequence[Prior]) -> None:
    """Every scenario path loads at both bounds (an unknown path, or bounds out of a key's range, are
    refused here, before any run)."""
    for p in priors:
        if p.is_obs:
            continue
        if p.path.startswith("obs."):
            raise CalibrationError(f"--param {p.path}: unknown observation parameter, expected one of "
                                   f"{', '.join(OBS_PARAMS)}")
        for v in (p.lo, p.hi):
            try:
                _load.with_overrides(base, {p.path: v}, source="--param")
            except ScenarioError as exc:
                raise CalibrationError(f"--param {p.path}={p.lo:g}:{p.hi:g}: {exc.path or p.path}: got {v!r}, "
                                       f"expected {exc.expected}") from None


def calibrate(scenario: str | Path | Scenario, data: str | Path | pd.DataFrame,
              params: Mapping[str, Any] | Sequence[Prior | str], *, engine: str | None = None,
              likelihood: str | Sequence[str] | Mapping[str, str] | None = None, report_fraction: float = 1.0,
              delay: int = 0, dispersion: float | None = None, sigma: float | None = None,
              sd: float | None = None, trials: int | None = None, samples: int | None = None,
              replicates: int | None = None, align: bool = True,
              seed: int | None = None, store: Store | str | Path | None = None,
              progress: Progress | None = None, plan: Callable[[dict[str, Any]], None] | None = None
              ) -> CalibrationResult:
    """Fit ``params`` of ``scenario`` to ``data`` and sample their posterior.

    Args:
        scenario: a built-in name, a TOML file or a :class:`Scenario`.
        data: a CSV path or a frame with columns ``day, zone, measure, value`` (:mod:`.data`).
        params: ``{path: (lo, hi)}`` (uniform), ``{path: (lo, hi, "log")}`` (log-uniform), or
            ``["pathogen.beta=0.1:3", ...]``.
        engine: ``ode`` (deterministic likelihood) or ``ssa``/``abm`` (synthetic likelihood).
        likelihood: ``poisson``, ``negbin`` or ``lognormal`` for every measure, or
            ``{measure: kind}`` / ``["measure=kind", ...]``.
        report_fraction, delay: the share of counts reported and the reporting delay in days.
        dispersion, sigma, sd: the negative binomial's size, the log-normal's sd (log scale) and the
            normal's sd, when not fitted.
        trials: optimiser trials (default 60 for the ODE, 30 otherwise); samples: Metropolis steps,
            half of them burn-in (default 4000, 600); replicates: runs per trial of a stochastic
            engine (default 32); align: a stochastic engine's replicates are aligned at the
            data's peak before they are scored (:mod:`aftermath.calibrate.problem`; False: the raw
            curves, which biases beta upward).
        seed: the master seed of the sampler, the chain and the replicates (default: ``run.seed``).
        store: a :class:`Store`, a path, or None (in memory). Trials are written as they come; the
            same call again resumes from them.

    Example (the shipped data set is named like a built-in scenario)::

        res = calibrate("boarding-school", "boarding-school",
                        {"pathogen.beta": (0.5, 4), "defence.decay": (0.1, 1.5)}, likelihood="normal")
        res.best, res.summary(), res.posterior, res.plot("fit.png")
    """
    t_start = time.perf_counter()
    base = scenario if isinstance(scenario, Scenario) else _load.load(scenario)
    _load.apply_run_options(base, seed=seed, engine=engine, source="command line")
    engine_name = engine or base.run.engine
    seed0 = base.run.seed if seed is None else int(seed)
    frame = read_data(data, base)
    measures = list(pd.unique(frame["measure"]))
    kinds = lk.parse_likelihoods(likelihood if likelihood is None or isinstance(likelihood, str | dict)
                                 else list(likelihood), measures)
    lk.check_counts(frame, kinds)
    priors = as_priors(params)
    _check_obs_options(report_fraction, delay, dispersion, sigma, sd)
    given = {p.path for p in priors}
    if "obs.report_fraction" in given and report_fraction != 1.0:
        raise CalibrationError("--report-fraction: given while obs.report_fraction is fitted; expected one of them")
    if "negbin" in kinds.values() and dispersion is None and "obs.dispersion" not in given:
        priors.append(DEFAULT_OBS_PRIORS["obs.dispersion"])
    if "lognormal" in kinds.values() and sigma is None and "obs.sigma" not in given:
        priors.append(DEFAULT_OBS_PRIORS["obs.sigma"])
    if "normal" in kinds.values() and sd is None and "obs.sd" not in given:
        priors.append(DEFAULT_OBS_PRIORS["obs.sd"])
    for name, needs in (("obs.dispersion", "negbin"), ("obs.sigma", "lognormal"), ("obs.sd", "normal")):
        if name in given and needs not in kinds.values():
            raise CalibrationError(f"--param {name}: no measure has the {needs} likelihood; expected "
                                   f"--likelihood {needs} for it to mean something")
    for flag, value, needs in (("--dispersion", dispersion, "negbin"), ("--sigma", sigma, "lognormal"),
                               ("--sd", sd, "normal")):
        if value is not None and needs not in kinds.values():  # (it would be ignored)
            raise CalibrationError(f"{flag} {value:g}: no measure has the {needs} likelihood; expected "
                                   f"--likelihood {needs} for it to mean something")
    _check_params(base, priors)
    days = horizon(frame, delay)  # the data decide the horizon
    try:
        _load.apply_run_options(base, days=days, source="--data")
    except ScenarioError as exc:
        raise CalibrationError(f"--data: the last day {int(frame['day'].max())} needs {days} simulated days; "
                               f"expected {exc.expected}") from None
    n_trials = DEFAULT_TRIALS.get(engine_name, 30) if trials is None else trials
    n_samples = DEFAULT_SAMPLES.get(engine_name, 600) if samples is None else samples
    reps = 1 if engine_name == "ode" else (DEFAULT_REPLICATES if replicates is None else replicates)
    least_reps = 2 if engine_name != "ode" else 1
    for flag, v, lo in (("--trials", n_trials, 1), ("--samples", n_samples, 10), ("--replicates", reps, least_reps)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= MAX_TRIALS:
            raise CalibrationError(f"{flag}: got {v!r}, expected a whole number from {lo} to {MAX_TRIALS:,}")
    space = Space(priors)
    total = n_trials + polish_budget(space.dim) + hessian_budget(space.dim) + n_samples + 1
    runs = total * reps
    seeds = replicate_seeds(seed0, reps)
    problem = Problem(base, engine_name, frame, space, kinds, days, seeds, report_fraction, int(delay),
                      dispersion, sigma, sd, align=bool(align))
    per_run = _check_work(base, priors, engine_name, problem.sim_days, runs)
    method = ("Optuna TPE + L-BFGS-B + adaptive Metropolis on the exact likelihood" if engine_name == "ode" else
              f"synthetic likelihood ({reps} replicates, common random numbers"
              f"{', aligned at the peak' if problem.ref_rows is not None else ''}): Optuna TPE + Nelder-Mead + "
              "adaptive Metropolis")
    spec = {"params": [[p.path, p.lo, p.hi, p.kind] for p in priors], "likelihoods": kinds,
            "report_fraction": report_fraction, "delay": int(delay), "dispersion": dispersion, "sigma": sigma, "sd": sd,
            "trials": n_trials, "samples": n_samples, "replicates": reps, "seed": seed0, "engine": engine_name,
            "days": days}
    if engine_name != "ode":
        spec["align"] = bool(align)
    data_json = canonical_json(frame.to_dict(orient="list"))
    cid = sha256(canonical_json({"scenario": scenario_hash(base), "data": sha256(data_json), **spec}))[:16]
    if isinstance(store, str | Path) and not str(store).strip():
        raise CalibrationError("--store: got '', expected a DuckDB file path")
    # the store is opened (a bad path refused) before the plan is told
    st = store if isinstance(store, Store) else Store(":memory:" if store is None else store)
    try:
        if plan is not None:
            plan({"calibration_id": cid, "trials": total, "runs": runs, "days": days, "engine": engine_name,
                  "params": [p.path for p in priors], "observations": len(frame), "method": method,
                  "work": f"{per_run.work * runs:.3g} {per_run.work_unit} in all ({per_run.work:.3g} a run)"})
        st.ensure_calibration_tables()
        st.add_calibration({
            "calibration_id": cid, "scenario": base.name, "scenario_hash": scenario_hash(base),
            "scenario_json": canonical_json(_load.to_dict(base)), "source": _source(scenario), "engine": engine_name,
            "method": method, "spec": canonical_json(spec), "data": data_json, "aftermath_version": _version(),
        })
        ev = _Trials(st, cid, problem, total, progress)
        try:
            res = _run(problem, ev, n_trials, n_samples, seed0)
        finally:
            ev.flush()
        best, best_ll, post, acc = res
        out = CalibrationResult(cid, problem, best, best_ll, post, acc, method, trials=ev.count, stored=ev.stored,
                                resumed=ev.resumed, store=st.path, seed=seed0)
        out.wall_s = time.perf_counter() - t_start
        out.warnings = out.diagnose()
        st.finish_calibration(cid, canonical_json(best), canonical_json(out.to_dict()["posterior"]))
        return out
    finally:
        if st is not store:
            st.close()


def _source(scenario: str | Path | Scenario) -> str:
    if isinstance(scenario, Scenario):
        return "<python>"
    s = str(scenario)
    return f"builtin {s}" if s in _load.builtin_names() else str(Path(s).resolve())


def _version() -> str:
    from aftermath import __version__

    return str(__version__)


def _check_obs_options(report_fraction: float, delay: int, dispersion: float | None, sigma: float | None,
                       sd: float | None) -> None:
    if isinstance(report_fraction, bool) or not isinstance(report_fraction, int | float) \
            or not 0 < report_fraction <= 1:
        raise CalibrationError(f"--report-fraction: got {report_fraction!r}, expected a number in (0, 1]")
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 10_000:
        raise CalibrationError(f"--delay: got {delay!r}, expected a whole number of days from 0 to 10,000")
    for flag, v in (("--dispersion", dispersion), ("--sigma", sigma), ("--sd", sd)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < math.inf):
            raise CalibrationError(f"{flag}: got {v!r}, expected a positive number")


def _check_work(base: Scenario, priors: Sequence[Prior], engine: str, days: int, runs: int) -> Budget:
    """Size the work before it starts: one run's budget (at the bounds' middle and upper ends: the
    larger), and the runs in all; returns the larger budget."""
    from aftermath.engines.budget import MAX_RUNS, check_budget

    if runs > MAX_RUNS:
        raise CalibrationError(f"--trials/--samples/--replicates: {runs:,} runs in all, expected at most "
                               f"{MAX_RUNS:,} (fewer trials, samples or replicates)")
    mid = {p.path: (math.sqrt(p.lo * p.hi) if p.log else (p.lo + p.hi) / 2) for p in priors if not p.is_obs}
    budgets = []
    for point in (mid, {p.path: p.hi for p in priors if not p.is_obs}):
        sc = _load.with_overrides(base, point, source="--param") if point else base
        budgets.append(check_budget(sc, engine, days, source="<calibrate>"))
    return max(budgets, key=lambda b: b.work)


def _run(pb: Problem, ev: _Trials, n_trials: int, n_samples: int, seed: int
         ) -> tuple[dict[str, float], float, pd.DataFrame, float]:
    import optuna
    from scipy import optimize

    space = pb.space
    d = space.dim

    def post_x(stage: str, x: F64) -> float:
        return ev(stage, x) + space.log_prior_x(x)

    # 1. search
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=int(seed) % 2**32)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    start = _scenario_values(pb)
    if start is not None:
        study.enqueue_trial(start)

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(p.path, p.lo, p.hi, log=p.log) for p in space.priors])
        v = post_x("search", x)
        return v if math.isfinite(v) else -1e300

    study.optimize(objective, n_trials=n_trials)
    if not math.isfinite(ev.best_post):
        raise CalibrationError(f"--param: none of the {n_trials} search trials had a finite likelihood (every run "
                               "refused, or no run explains the data); expected bounds where the scenario runs")
    x0 = np.array([study.best_trial.params[p] for p in space.paths])

    # 2. polish (Nelder-Mead on unbounded coordinates)
    budget = polish_budget(d)
    used = 0
    best_f = -post_x("polish", x0)
    best_xv = x0
    used += 1

    def neg(u: F64) -> float:
        nonlocal used, best_f, best_xv
        if used >= budget:
            raise _Done
        used += 1
        x = space.x_from_u(u)
        f = -post_x("polish", x)
        if not math.isfinite(f):
            f = 1e300
        if f < best_f:
            best_f, best_xv = f, x
        return f

    with contextlib.suppress(_Done):
        u_start = space.u_from_x(x0)
        if pb.stochastic:  # a surface rough at the scale of one event: no gradients
            simplex = np.vstack([u_start, u_start + 0.25 * np.eye(d)])
            optimize.minimize(neg, u_start, method="Nelder-Mead",
                              options={"xatol": 1e-4, "fatol": 1e-4, "maxfev": budget, "initial_simplex": simplex})
        else:  # smooth: quasi-Newton on finite differences (the ODE is solved to a relative 1e-8)
            optimize.minimize(neg, u_start, method="L-BFGS-B",
                              options={"maxfun": budget, "eps": 1e-6, "ftol": 1e-12, "gtol": 1e-6})
    x_best = np.asarray(best_xv, dtype=float)
    ll_best = -float(best_f) - space.log_prior_x(x_best)

    # 3. Hessian of the log posterior on unbounded coordinates (the chain's target)
    def post_u(stage: str, u: F64) -> float:
        return ev(stage, space.x_from_u(u)) + space.log_prior_u(u)

    # 4. adaptive Metropolis
    rng = np.random.default_rng([int(seed), 31337])
    chain = _sample(post_u, space, x_best, n_samples, rng, h=0.02 if pb.stochastic else 1e-3,
                    on_step=lambda _i, a: ev.mark(a))
    xs = np.array([space.x_from_u(u) for u in chain.samples]) if len(chain.samples) else np.empty((0, d))
    post = pd.DataFrame(xs, columns=space.paths)
    post["log_posterior"] = chain.logp
    if ev.best_x is not None and ev.best_post > ll_best + space.log_prior_x(x_best):  # the chain found better
        x_best, ll_best = ev.best_x, ev.best_ll
    return space.as_dict(x_best), ll_best, post, chain.acceptance


def _sample(post_u: Callable[[str, F64], float], space: Space, x_best: F64, n_samples: int,
            rng: np.random.Generator, h: float, on_step: Callable[[int, bool], None] | None = None) -> Chain:
    """Stages 3 and 4: the chain starts at the best fit, moved to z within [1e-3, 1 - 1e-3] of the
    prior's range (a fit at a bound has no finite u), with the inverse Hessian there, its standard
    deviations kept within :data:`PROPOSAL_SD`, as the first proposal."""
    u0 = space.u_from_x(x_best, margin=START_MARGIN)
    cov0 = _bounded_cov(_hessian_cov(lambda u: post_u("hessian", u), u0, h=h))
    return adaptive_metropolis(lambda u: post_u("mcmc", u), u0, cov0, n_samples, rng, on_step=on_step)


class _Done(Exception):
    pass


def _scenario_values(pb: Problem) -> dict[str, float] | None:
    """The scenario's own values of the fitted paths, when all lie within the bounds."""
    data = _load.to_dict(pb.base)
    out = {}
    for p in pb.space.priors:
        if p.is_obs:
            v: Any = pb.report_fraction if p.path == "obs.report_fraction" else None
        else:
            v = _get_path(data, p.path)
        if isinstance(v, bool) or not isinstance(v, int | float) or not p.lo <= v <= p.hi:
            return None
        out[p.path] = float(v)
    return out


def _get_path(data: Any, path: str) -> Any:
    """The value at a scenario path, read as :func:`aftermath.scenario.load.with_overrides` writes it
    (the same parts: ``policies."seal v1.2".when``, ids, indices, names); None where there is none."""
    cur = data
    for part, quoted in _load.split_path(path, source="--param"):
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list):
            idx = _load._list_index(cur, part, quoted)
            if idx is None:
                return None
            cur = cur[idx]
        else:
            return None
    return cur


def _hessian_cov(f: Callable[[F64], float], u: F64, h: float) -> F64:
    """The inverse of minus the finite-difference Hessian of ``f`` at ``u``, or a diagonal guess when
    that is not positive definite."""
    d = len(u)
    f0 = f(u)
    hess = np.zeros((d, d))
    e = np.eye(d) * h
    fp = [f(u + e[i]) for i in range(d)]
    fm = [f(u - e[i]) for i in range(d)]
    for i in range(d):
        hess[i, i] = (fp[i] - 2 * f0 + fm[i]) / h**2
    for i in range(d):
        for j in range(i + 1, d):
            fpp = f(u + e[i] + e[j])
            fmm = f(u - e[i] - e[j])
            # f(u+ei+ej) + f(u-ei-ej) - 2 f0 = h^2 (Hii + Hjj + 2 Hij)
            hess[i, j] = hess[j, i] = ((fpp + fmm - 2 * f0) / h**2 - hess[i, i] - hess[j, j]) / 2
    fallback = np.eye(d) * 0.05
    if not np.all(np.isfinite(hess)):
        return fallback
    try:
        cov = np.linalg.inv(-hess)
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        diag = -np.diag(hess)
        guess: F64 = np.diag(np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.05))
        return guess
    out: F64 = np.asarray(cov, dtype=np.float64)
    return out


def _bounded_cov(cov: F64, sd_range: tuple[float, float] = PROPOSAL_SD) -> F64:
    """``cov`` with each standard deviation clipped to ``sd_range`` and the correlations kept (a flat
    Hessian, at a bound, gives a variance of 1e10 on u; an infinite or NaN one gives the ceiling)."""
    cov = np.array(cov, dtype=float)
    sd = np.sqrt(np.where(np.isfinite(np.diag(cov)) & (np.diag(cov) > 0), np.diag(cov), np.inf))
    new = np.clip(sd, *sd_range)
    if not np.all(np.isfinite(cov)):
        return np.diag(new**2)
    scale = np.where(np.isfinite(sd), new / np.where(np.isfinite(sd), sd, 1.0), 0.0)
    out: F64 = cov * np.outer(scale, scale)
    bad = ~np.isfinite(sd)
    out[bad, :] = 0.0
    out[:, bad] = 0.0
    out[bad, bad] = new[bad] ** 2
    return out


def boarding_school_csv() -> Path:
    """The boarding-school data shipped with the package (``docs/calibration.md``)."""
    from aftermath.calibrate.data import dataset_path

    return dataset_path("boarding-school")
