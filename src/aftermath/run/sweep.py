"""Sweeps: a scenario run over a grid or a sample of parameter values, with a sensitivity summary.

Each point of a sweep is a variant (overrides by scenario path) run ``runs`` times under common
random numbers; the sweep is a batch like an ensemble (same store, same resume). Sampling:

* ``grid``: every combination of the parameters' values.
* ``lhs``: a Latin hypercube of ``samples`` points within the parameters' bounds (scipy.stats.qmc,
  seeded by the master seed).
* ``sobol``: Saltelli's scheme for Sobol indices (needs the optional extra ``aftermath[sensitivity]``,
  SALib); ``samples`` is the base sample size N, giving N (D + 2) points.

Sensitivity: Spearman rank correlations of each output with each parameter, over all runs (always);
first-order and total Sobol indices with ``method="sobol"``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from aftermath.run.ensemble import (
    DEFAULT_METRICS,
    BatchResult,
    Point,
    Progress,
    _executor,
    as_scenario,
    check_batch_size,
    run_batch,
    scenario_source,
)
from aftermath.run.executors import Executor
from aftermath.run.params import MAX_POINTS, ParamError, ParamSpec, spec_from_value
from aftermath.scenario import load as _load
from aftermath.scenario.schema import Scenario
from aftermath.store.store import Store

METHODS = ("grid", "lhs", "sobol")


@dataclass
class SweepResult(BatchResult):
    """A sweep's batch, with its parameter values per point."""

    params: list[ParamSpec] = field(default_factory=list)
    method: str = "grid"
    values: list[dict[str, Any]] = field(default_factory=list)  # per point: {path: value}

    def points_frame(self) -> pd.DataFrame:
        """One row per point: its index, label and parameter values."""
        rows = [{"point": i, "variant": p.label, **v} for i, (p, v) in enumerate(zip(self.points, self.values,
                                                                                        strict=True))]
        return pd.DataFrame(rows)

    def table(self, metrics: Sequence[str] = DEFAULT_METRICS) -> pd.DataFrame:
        """Per point: parameter values, runs, and the mean (and sd, with replicates) of each metric."""
        s = self.summaries()
        g = s.groupby("point")[list(metrics)]
        out = self.points_frame().set_index("point")
        out["runs"] = s.groupby("point").size()
        means = g.mean()
        out = out.join(means)
        if self.runs > 1:
            out = out.join(g.std().add_suffix("_sd"))
        return out.reset_index()

    def run_frame(self, metrics: Sequence[str] = DEFAULT_METRICS) -> pd.DataFrame:
        """One row per run: point, replicate, parameter values and metrics."""
        s = self.summaries()[["point", "replicate", *metrics]]
        return self.points_frame().merge(s, on="point")

    def sensitivity(self, metrics: Sequence[str] = DEFAULT_METRICS) -> pd.DataFrame:
        """Spearman rank correlation of each metric with each parameter, over all runs.

        Columns: param, metric, rho, p_value, n. A constant parameter or metric gives NaN.
        """
        runs = self.run_frame(metrics)
        rows = []
        for p in self.params:
            x = pd.to_numeric(runs[p.path], errors="coerce").to_numpy(dtype=float)
            for m in metrics:
                y = runs[m].to_numpy(dtype=float)
                ok = np.isfinite(x) & np.isfinite(y)
                if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
                    rho, pv = float("nan"), float("nan")
                else:
                    r = stats.spearmanr(x[ok], y[ok])
                    rho, pv = float(r.statistic), float(r.pvalue)
                rows.append({"param": p.path, "metric": m, "rho": rho, "p_value": pv, "n": int(ok.sum())})
        return pd.DataFrame(rows)

    def sobol(self, metrics: Sequence[str] = DEFAULT_METRICS) -> pd.DataFrame:
        """First-order (S1) and total (ST) Sobol indices of each metric (``method="sobol"`` only).

        Uses the mean over replicates at each point. Needs SALib (``aftermath[sensitivity]``).
        """
        if self.method != "sobol":
            raise ValueError("Sobol indices need a sweep run with method='sobol'")
        from SALib.analyze import sobol as sobol_analyze

        problem = _problem(self.params)
        means = self.table(metrics).set_index("point").sort_index()
        if len(means) != len(self.points):
            raise ValueError(f"Sobol indices need every point: {len(means)} of {len(self.points)} are stored")
        rows = []
        for m in metrics:
            y = means[m].to_numpy(dtype=float)
            si = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=0)
            for i, p in enumerate(self.params):
                rows.append({"param": p.path, "metric": m, "S1": float(si["S1"][i]),
                             "S1_conf": float(si["S1_conf"][i]), "ST": float(si["ST"][i]),
                             "ST_conf": float(si["ST_conf"][i])})
        return pd.DataFrame(rows)


def _problem(params: Sequence[ParamSpec]) -> dict[str, Any]:
    return {"num_vars": len(params), "names": [p.path for p in params], "bounds": [list(p.span()) for p in params]}


def count_points(params: Sequence[ParamSpec], method: str = "grid", samples: int | None = None) -> int:
    """How many points a sweep has, computed without making them; more than :data:`MAX_POINTS`
    is refused (a grid's axes multiply: ``--param a=0:1:1000 --param b=0:1:1000`` is a million)."""
    if method not in METHODS:
        raise ParamError(f"unknown sweep method {method!r}: expected one of {list(METHODS)}")
    if not params:
        raise ParamError("a sweep needs at least one parameter")
    if method == "grid":
        n = 1
        for p in params:
            n *= len(p.grid())
        what = "a grid of " + " x ".join(f"{len(p.grid()):,}" for p in params) + f" = {n:,} points"
        flag = "--param"
    else:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ParamError(f"--{method}: got {samples!r}, expected a whole number >= 1 (method {method!r} "
                             "needs samples)")
        n = samples if method == "lhs" else samples * (len(params) + 2)
        what = f"{samples:,} samples" + ("" if method == "lhs" else f" x {len(params) + 2} = {n:,} points")
        flag = f"--{method}"
    if n > MAX_POINTS:
        raise ParamError(f"{flag}: got {what}, expected at most {MAX_POINTS:,} points in one sweep")
    return n


def sample_points(params: Sequence[ParamSpec], method: str = "grid", samples: int | None = None,
                  seed: int = 0) -> list[dict[str, Any]]:
    """The parameter values of every point, in order."""
    count_points(params, method, samples)
    if method == "grid":
        axes = [p.grid() for p in params]
        return [dict(zip([p.path for p in params], combo, strict=True)) for combo in itertools.product(*axes)]
    spans = np.array([p.span() for p in params], dtype=float)
    if method == "lhs":
        unit = stats.qmc.LatinHypercube(d=len(params), seed=np.random.default_rng(seed)).random(samples)
        x = spans[:, 0] + unit * (spans[:, 1] - spans[:, 0])
    else:
        try:
            from SALib.sample import sobol as sobol_sample
        except ImportError:
            raise ParamError("Sobol sampling needs SALib: pip install 'aftermath[sensitivity]'") from None
        x = sobol_sample.sample(_problem(params), samples, calc_second_order=False, seed=seed)
    out = []
    for row in x:
        point = {}
        for p, v in zip(params, row, strict=True):
            point[p.path] = int(np.rint(v)) if p.integer else float(v)
        out.append(point)
    return out


def point_label(values: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={_fmt(v)}" for k, v in values.items())


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def sweep(scenario: str | Path | Scenario, params: Mapping[str, Any], method: str = "grid",
          samples: int | None = None, runs: int = 1, master_seed: int | None = None, engine: str | None = None,
          days: int | None = None, executor: Executor | str | None = None, workers: int | None = None,
          store: Store | str | Path | None = None, progress: Progress | None = None,
          source: str | None = None) -> SweepResult:
    """Run a scenario over parameter values addressed by scenario path.

    Args:
        params: ``{path: values}`` where values is a list (grid), ``(lo, hi)``-style bounds as
            ``{"min": lo, "max": hi}``, a ``"START:STOP:N"`` string or a :class:`ParamSpec`.
            For ``lhs``/``sobol`` a list's min and max are the bounds.
        method: ``grid``, ``lhs`` or ``sobol``; ``samples`` for the last two.
        runs: replicates per point (same seeds at every point).
        source: where the scenario came from, as recorded (default: :func:`scenario_source` of
            ``scenario``: ``builtin NAME``, a file's absolute path, ``<python>`` for a Scenario).
        Others as :func:`aftermath.run.ensemble`.

    >>> res = sweep("sir", {"pathogen.beta": [0.2, 0.3]}, engine="ode", days=30)
    >>> list(res.table()["pathogen.beta"])
    [0.2, 0.3]
    """
    specs = [spec_from_value(k, v) for k, v in params.items()]
    base = as_scenario(scenario)
    seed0 = base.run.seed if master_seed is None else int(master_seed)
    check_batch_size(runs, count_points(specs, method, samples))  # before a single point is made
    if not 0 <= seed0 < 2**63:  # the sampler is seeded before run_batch validates --seed
        from aftermath.scenario.load import apply_run_options

        apply_run_options(base, seed=seed0, source="command line")
    values = sample_points(specs, method, samples, seed0)
    _load.with_overrides(base, values[0], source="the swept parameters")  # a wrong path fails here, before any run
    points = [Point(point_label(v), v) for v in values]
    ex, owned = _executor(executor, workers)
    spec = {"method": method, "samples": samples,
            "params": {p.path: {"values": list(p.values), "bounds": p.bounds} for p in specs}}
    try:
        # base is the loaded scenario: where it came from is said by ``scenario``, as an ensemble says it
        res = run_batch("sweep", base, points, runs, seed0, engine, days, ex, store, progress, spec=spec,
                        source=source if source is not None else scenario_source(scenario))
    finally:
        if owned:
            ex.close()
    return SweepResult(**vars(res), params=specs, method=method, values=values)
