"""A calibration problem: a scenario, data, fitted parameters and an observation model, as a
log-likelihood of parameter values.

* Deterministic engine (``ode``): one run per parameter value; the log-likelihood is the sum over
  observations of the chosen likelihood of each measure (:mod:`aftermath.calibrate.likelihood`).
* Stochastic engines (``ssa``, ``abm``): a synthetic likelihood (Wood 2010). Each parameter value
  is run ``replicates`` times on the same seeds (common random numbers, :mod:`aftermath.run.seeds`),
  observations are drawn from the observation model with random numbers fixed per replicate, and
  the observed data, on a scale where they are near Gaussian (square root for counts, log(1 + y)
  for the log-normal), are scored under the Gaussian those replicates give (mean, and covariance
  with correlations shrunk halfway towards independence, Warton's estimator as in Ong et al. 2018).
  The same seeds for every trial make the likelihood a smooth function of the parameters, not a
  fresh dice roll each time, which is what lets an optimiser and a Metropolis chain use it.
  An outbreak seeded by a few people often dies out at once in a stochastic run, which the data,
  when they count the infection on a day, show did not happen: the likelihood is then P(still going)
  times the Gaussian of the replicates still going at the start of the last such day, P estimated by
  their share (a replicate that contradicts the data is not averaged into its mean).

  Phase: an outbreak from a few cases takes off at a random time (with one index case in the
  boarding school, the peak comes on any day from 4 to 10), so the replicates' mean curve is flatter
  and wider than any one of them, and a Gaussian per day of the raw curves is best matched, against
  one sharp observed curve, by a beta too high (measured: +8% on average, up to +41%). Each
  replicate is therefore aligned on the data before it is scored (``align``, the default): its
  observations (noise included) are shifted in time so that the peak of the reference series (the
  infection measure with the most counts) falls on the day of the data's own peak, the days outside
  the data's window taken from a longer run (:func:`align_span`). The likelihood is then that of
  the curve's shape around its peak: the take-off time, which the data tell little about, is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from aftermath.calibrate import likelihood as lk
from aftermath.calibrate.data import MEASURES, Groups, model_values, observation_groups
from aftermath.calibrate.priors import Space
from aftermath.engines.driver import simulate
from aftermath.scenario.load import apply_run_options, with_overrides
from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]

#: Measures whose positive count on day d means that someone was infected at the start of day d.
INFECTION_MEASURES = ("I", "infected", "ferals", "E", "H", "Z", "infections", "turned", "recoveries")
#: Warton's shrinkage of the synthetic likelihood's correlations: R = GAMMA R_hat + (1 - GAMMA) I.
SHRINK_GAMMA = 0.5


@dataclass
class Problem:
    base: Scenario
    engine: str
    data: pd.DataFrame
    space: Space
    likelihoods: dict[str, str]
    days: int
    seeds: list[int]
    report_fraction: float = 1.0
    delay: int = 0
    dispersion: float | None = None
    sigma: float | None = None
    sd: float | None = None
    align: bool = True  # stochastic engines: align each replicate's peak on the data's (module docstring)
    kinds: NDArray[Any] = field(init=False)
    y: F64 = field(init=False)

    def __post_init__(self) -> None:
        self.y = self.data["value"].to_numpy(dtype=float)
        self.kinds = np.array([self.likelihoods[m] for m in self.data["measure"]], dtype=object)
        seen = self.data[(self.data["value"] > 0) & self.data["measure"].isin(INFECTION_MEASURES)]
        #: the time index (start of the day) by which the data show the infection still present, or None
        self.alive_at: int | None = (min(max(int(seen["day"].max()) - self.delay, 0), self.days)
                                     if len(seen) else None)
        self.alive: NDArray[np.bool_] = np.ones(len(self.seeds), dtype=bool)
        #: the base with the trials' run options (horizon, engine, first seed) already set, so that
        #: a trial's scenario is validated once (its parameters), not again by ``simulate``
        self._trial_base = apply_run_options(self.base, days=self.days, engine=self.engine,
                                             seed=int(self.seeds[0]) if len(self.seeds) else None, source="<calibrate>")
        self._groups: Groups = observation_groups(self.data)
        self._setup_alignment()

    def _setup_alignment(self) -> None:
        """The reference series, the data's peak day on it, and the extended frame the shifted
        replicates are read from (every observed series on every day within ``span`` of the data)."""
        #: the rows of the data's reference series, or None (no alignment)
        self.ref_rows: NDArray[np.intp] | None = None
        self.span = 0
        if not (self.stochastic and self.align):
            return
        span, ref = align_span(self.data)
        if ref is None:
            return
        self.span = span
        self.ref_rows = ref
        ref_days = self.data["day"].to_numpy()[ref]
        self.peak_day = int(ref_days[int(np.argmax(self.y[ref]))])
        lo, hi = int(self.data["day"].min()) - span, int(self.data["day"].max()) + span
        width = hi - lo + 1
        keys: list[tuple[str, str]] = [(str(m), str(z)) for m, z in
                                       self.data[["measure", "zone"]].drop_duplicates().itertuples(index=False)]
        self.ext = pd.DataFrame([(d, m, z) for m, z in keys for d in range(lo, hi + 1)],
                                columns=["day", "measure", "zone"])
        offset = {k: i * width for i, k in enumerate(keys)}
        #: the row of the extended frame of each observation, unshifted
        self.ext_index = np.array([offset[(str(m), str(z))] + int(d) - lo for d, m, z in
                                   self.data[["day", "measure", "zone"]].itertuples(index=False)], dtype=np.intp)
        self.ext_kinds = np.array([self.likelihoods[m] for m in self.ext["measure"]], dtype=object)
        self._ext_groups: Groups = observation_groups(self.ext)

    @property
    def sim_days(self) -> int:
        """The days a stochastic replicate is run for: the data's horizon, and ``span`` more when aligned."""
        return self.days + self.span

    @property
    def stochastic(self) -> bool:
        return self.engine != "ode"

    def split(self, x: Sequence[float] | F64) -> tuple[dict[str, float], dict[str, float]]:
        """Scenario overrides and observation parameters of a parameter vector."""
        over, obs = {}, {"report_fraction": self.report_fraction, "dispersion": self.dispersion,
                         "sigma": self.sigma, "sd": self.sd}
        for p, v in zip(self.space.priors, x, strict=True):
            if p.is_obs:
                obs[p.path.removeprefix("obs.")] = float(v)
            else:
                over[p.path] = float(v)
        return over, obs  # type: ignore[return-value]

    def scenario(self, x: Sequence[float] | F64) -> Scenario:
        over, _ = self.split(x)
        return with_overrides(self._trial_base, over, source="<calibrate>") if over else self._trial_base

    def values(self, x: Sequence[float] | F64, frame: pd.DataFrame | None = None,
               seeds: Sequence[int] | None = None) -> F64:
        """The model's values at the rows of ``frame`` (default: the data), one row per seed: [R, n]."""
        sc = self.scenario(x)
        frame = self.data if frame is None else frame
        groups = self._groups if frame is self.data else observation_groups(frame)
        seeds = self.seeds if seeds is None else seeds
        out = np.empty((len(seeds), len(frame)))
        alive = np.ones(len(seeds), dtype=bool)
        infected = list(MEASURES["infected"].index)
        for i, s in enumerate(seeds):
            res = simulate(sc, engine=self.engine, seed=int(s), days=self.days)
            out[i] = model_values(res.counts, res.flows, res.zone_ids, frame, self.delay, groups)
            if self.alive_at is not None:
                alive[i] = res.counts[self.alive_at, :, infected].sum() >= 0.5
        self.alive = alive
        return out

    def loglik(self, x: Sequence[float] | F64) -> float:
        if self.ref_rows is not None:
            return self._aligned(x)
        vals = self.values(x)
        _, obs = self.split(x)
        mu = obs["report_fraction"] * vals
        if not self.stochastic:
            return self._exact(mu[0], obs)
        keep = self.alive
        if not keep.any():
            return -np.inf
        return float(np.log(keep.mean())) + self._synthetic(mu[keep], obs, [s for s, k in zip(self.seeds, keep,
                                                                                            strict=True) if k])

    def _exact(self, mu: F64, obs: dict[str, Any]) -> float:
        total = 0.0
        for kind in lk.LIKELIHOODS:
            sel = self.kinds == kind
            if sel.any():
                ll = lk.logpdf(kind, self.y[sel], mu[sel], obs["dispersion"], obs["sigma"], obs["sd"])
                total += float(np.sum(ll))
        return total if np.isfinite(total) else -np.inf

    def _synthetic(self, mu: F64, obs: dict[str, Any], seeds: Sequence[int]) -> float:
        r, n = mu.shape
        sim = np.empty((r, n))
        t_obs = np.empty(n)
        jac = 0.0
        floor = np.empty(n)
        for kind in lk.LIKELIHOODS:
            sel = self.kinds == kind
            if not sel.any():
                continue
            for i, s in enumerate(seeds):  # observation noise on random numbers fixed per replicate
                rng = np.random.default_rng([int(s), 7919])
                drawn = lk.draw(kind, mu[i, sel], rng, obs["dispersion"], obs["sigma"], obs["sd"])
                sim[i, sel] = lk.transform(kind, drawn)
            t_obs[sel] = lk.transform(kind, self.y[sel])
            jac += lk.log_jacobian(kind, self.y[sel])
            floor[sel] = {"lognormal": (obs["sigma"] or 0.1) ** 2, "normal": (obs["sd"] or 1.0) ** 2}.get(kind, 0.25)
        return gaussian_synthetic(sim, t_obs, floor) + jac


    def _aligned(self, x: Sequence[float] | F64) -> float:
        """The synthetic likelihood of replicates aligned at the data's peak (module docstring)."""
        _, obs = self.split(x)
        rows = [t[self.ext_index + shift] for _res, t, shift in self._aligned_runs(x, obs)]
        if not rows:
            return -np.inf
        sim = np.array(rows)
        t_obs = np.empty(len(self.y))
        floor = np.empty(len(self.y))
        jac = 0.0
        for kind in lk.LIKELIHOODS:
            sel = self.kinds == kind
            if sel.any():
                t_obs[sel] = lk.transform(kind, self.y[sel])
                jac += lk.log_jacobian(kind, self.y[sel])
                floor[sel] = {"lognormal": (obs["sigma"] or 0.1) ** 2,
                              "normal": (obs["sd"] or 1.0) ** 2}.get(kind, 0.25)
        return float(np.log(self.alive.mean())) + gaussian_synthetic(sim, t_obs, floor) + jac

    def _aligned_runs(self, x: Sequence[float] | F64, obs: dict[str, Any]) -> Iterator[tuple[Any, F64, int]]:
        """The replicates at ``x`` still going where the data show the infection, each as (its
        run, its observations over the extended frame, the shift that aligns it: :meth:`_observed`);
        ``alive`` says which went on once they are all run."""
        assert self.ref_rows is not None
        sc = self.scenario(x)
        infected = list(MEASURES["infected"].index)
        ref_ext = self.ext_index[self.ref_rows]  # the reference series' observed days, in the extended frame
        ref_days = self.data["day"].to_numpy()[self.ref_rows]
        alive = np.ones(len(self.seeds), dtype=bool)
        for i, s in enumerate(self.seeds):
            res = simulate(sc, engine=self.engine, seed=int(s), days=self.sim_days)
            if self.alive_at is not None:
                alive[i] = res.counts[self.alive_at, :, infected].sum() >= 0.5
            if alive[i]:
                t, shift = self._observed(res, int(s), obs, ref_ext, ref_days)
                yield res, t, shift
        self.alive = alive

    def _observed(self, res: Any, seed: int, obs: dict[str, Any], ref_ext: NDArray[np.intp],
                  ref_days: NDArray[Any]) -> tuple[F64, int]:
        """A replicate's observations over the extended frame (noise on random numbers fixed per
        replicate), on the likelihood's scale, and the shift that aligns it: its peak, found as the
        data's is (on its observations, on the days observed), minus the data's."""
        mu = obs["report_fraction"] * model_values(res.counts, res.flows, res.zone_ids, self.ext, self.delay,
                                                   self._ext_groups)
        t = np.empty(len(self.ext))
        drawn_ref = np.empty(len(self.ext))
        for kind in lk.LIKELIHOODS:
            sel = self.ext_kinds == kind
            if sel.any():
                rng = np.random.default_rng([seed, 7919])
                drawn = lk.draw(kind, mu[sel], rng, obs["dispersion"], obs["sigma"], obs["sd"])
                drawn_ref[sel] = drawn
                t[sel] = lk.transform(kind, drawn)
        peak = int(ref_days[int(np.argmax(drawn_ref[ref_ext]))])
        return t, peak - self.peak_day

    def expected(self, x: Sequence[float] | F64, frame: pd.DataFrame) -> F64:
        """The expected reported values (``report_fraction`` times the model's, no observation
        noise) at the rows of ``frame``, as the likelihood sees the model at ``x``: the ODE's; a
        stochastic engine's median over the replicates still going where the data show the
        infection, each shifted by the likelihood's alignment (``align``), so that a fit's curve is
        the shape the likelihood scored, not one replicate's take-off. NaN where none is left."""
        _, obs = self.split(x)
        if not self.stochastic:
            return np.asarray(self.values(x, frame, seeds=self.seeds[:1])[0] * obs["report_fraction"])
        if self.ref_rows is None:
            vals = self.values(x, frame)[self.alive]
        else:
            groups = observation_groups(frame)  # (a shift moves the days, not the series)
            rows = [model_values(res.counts, res.flows, res.zone_ids, frame.assign(day=frame["day"].to_numpy() + shift),
                                 self.delay, groups) for res, _t, shift in self._aligned_runs(x, obs)]
            vals = np.array(rows).reshape(len(rows), len(frame))
        if not len(vals):
            return np.full(len(frame), np.nan)
        return np.asarray(np.median(vals, axis=0) * obs["report_fraction"])


def align_span(data: pd.DataFrame) -> tuple[int, NDArray[np.intp] | None]:
    """The reference series of the alignment and the most a replicate can be shifted by.

    The reference is the observed series (measure, zone) of an infection measure
    (:data:`INFECTION_MEASURES`) with the largest sum of counts; a replicate's peak and the data's
    lie on its observed days, so a shift is at most their span. Returns ``(span, rows)``, or
    ``(0, None)`` when no such series has a positive count (nothing to align on)."""
    best: tuple[float, Any] | None = None
    for key, idx in data.groupby(["measure", "zone"], sort=False).indices.items():
        if str(key[0]) in INFECTION_MEASURES:  # type: ignore[index]
            total = float(data["value"].to_numpy()[idx].sum())
            if total > 0 and (best is None or total > best[0]):
                best = (total, idx)
    if best is None:
        return 0, None
    rows = np.asarray(best[1], dtype=np.intp)
    d = data["day"].to_numpy()[rows]
    return int(d.max() - d.min()), rows


def gaussian_synthetic(sim: F64, t_obs: F64, floor: F64) -> float:
    """Log density of ``t_obs`` under the Gaussian of the simulated rows ``sim`` [R, n]: their mean,
    variances at least ``floor``, correlations shrunk by :data:`SHRINK_GAMMA`."""
    r, n = sim.shape
    mean = sim.mean(axis=0)
    cov = np.cov(sim, rowvar=False).reshape(n, n) if r > 1 else np.zeros((n, n))
    var = np.maximum(np.diag(cov), floor)
    sd = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(np.sqrt(np.maximum(np.diag(cov), 1e-300)), np.sqrt(np.maximum(np.diag(cov), 1e-300)))
    corr = np.nan_to_num(corr, nan=0.0)
    np.fill_diagonal(corr, 1.0)
    corr = SHRINK_GAMMA * corr + (1 - SHRINK_GAMMA) * np.eye(n)
    sigma = corr * np.outer(sd, sd)
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        chol = np.diag(sd)
    z = np.linalg.solve(chol, t_obs - mean)
    return float(-0.5 * z @ z - np.sum(np.log(np.diag(chol))) - 0.5 * n * np.log(2 * np.pi))
