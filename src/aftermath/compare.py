"""Weighing a dilemma: policy variants run under common random numbers, lives saved against costs.

``compare`` runs every variant over the same replicates (replicate ``i`` uses the same seed in every
variant) on the ensemble machinery (:func:`aftermath.run.ensemble.ensemble`, so runs are stored and
an interrupted comparison resumes), then reports per variant and against the baseline: lives saved
(survivors minus the baseline's, paired by replicate), deaths, and what the policies cost in people
(culled, turned away, of them healthy, hybrids killed in sweeps, starved, and the agent-based
ledger's sacrificed, concealed and misclassified), each with a 90% interval over replicates.

A variant is given as ``LABEL:PATH=VALUE`` (repeat a label to set several paths), or as a variant
file (TOML) named by its path::

    name = "cull"                       # optional; the file's stem otherwise
    [set]                               # values by scenario path
    "policies.5.action" = "cull"
    [[policies]]                        # optional: replaces the scenario's policy list
    type = "hybrids"
    ...
    [[add_policies]]                    # optional: appended to the scenario's policies
    type = "seal"
    ...
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aftermath.scenario.load import ScenarioError, parse_value, to_dict
from aftermath.scenario.schema import Scenario

BASELINE = "baseline"
#: Metrics reported per variant, in this order (those absent from every run are dropped).
METRICS = ("lives_saved", "survivors", "deaths", "culled", "excluded", "excluded_healthy", "swept_hybrids",
           "starved", "sacrificed", "concealed", "misclassified")


def parse_variant(spec: str, base: Scenario, variants: dict[str, dict[str, Any]]) -> None:
    """Add one ``--policy`` spec (``LABEL:PATH=VALUE`` or a variant file) to ``variants``."""
    path = Path(spec)
    if spec.endswith(".toml") or path.is_file():
        label, overrides = variant_file(path, base)
        if label in variants:
            raise ScenarioError(spec, "name", label, "a variant name not used before")
        variants[label] = overrides
        return
    label, sep, rest = spec.partition(":")
    key, eq, value = rest.partition("=")
    if not sep or not eq or not label.strip() or not key.strip():
        raise ScenarioError("--policy", "", spec,
                            "LABEL:PATH=VALUE (e.g. cull:policies.5.action=cull) or a variant file")
    if label.strip() == BASELINE:
        raise ScenarioError("--policy", "", spec, f"a label other than {BASELINE!r} (the scenario as it is)")
    variants.setdefault(label.strip(), {})[key.strip()] = parse_value(value.strip())


def variant_file(path: Path, base: Scenario) -> tuple[str, dict[str, Any]]:
    """Read a variant file into (label, overrides by scenario path)."""
    src = str(path)
    if not path.is_file():
        raise ScenarioError(src, "", src, "an existing variant file (no such file)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(src, "", path.name, f"valid TOML ({exc})") from None
    unknown = set(data) - {"name", "set", "policies", "add_policies"}
    if unknown:
        key = sorted(unknown)[0]
        raise ScenarioError(src, key, data[key], "one of the keys name, set, policies, add_policies")
    overrides: dict[str, Any] = dict(data.get("set", {}))
    if not isinstance(data.get("set", {}), dict):
        raise ScenarioError(src, "set", data["set"], "a table of scenario paths and values")
    policies = list(data["policies"]) if "policies" in data else list(to_dict(base).get("policies", []))
    if "add_policies" in data or "policies" in data:
        overrides["policies"] = policies + list(data.get("add_policies", []))
    return str(data.get("name", path.stem)), overrides


def compare(scenario: str | Path | Scenario, variants: Mapping[str, Mapping[str, Any]], runs: int = 20,
            engine: str | None = None, master_seed: int | None = None, days: int | None = None,
            store: Any = None, executor: Any = None, workers: int | None = None,
            progress: Any = None) -> tuple[pd.DataFrame, Any]:
    """Run the baseline and each variant over ``runs`` common-random-number replicates.

    Returns (comparison frame with columns ``variant, metric, mean, lo, hi``, the batch result).
    """
    from aftermath.run.ensemble import ensemble

    points: dict[str, Mapping[str, Any]] = {BASELINE: {}}
    points.update(variants)
    res = ensemble(scenario, runs=runs, master_seed=master_seed, engine=engine, days=days, variants=points,
                   executor=executor, workers=workers, store=store, progress=progress, baseline=BASELINE)
    return comparison(res.summaries()), res


def comparison(summaries: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Per variant and metric: mean and 90% interval over replicates; lives saved paired by replicate."""
    s = _with_ledger(summaries)
    base = s[s["variant"] == baseline].set_index("replicate")["survivors"].astype(float)
    rows = []
    for name, g in s.groupby("variant", sort=False):
        g = g.set_index("replicate")
        common = g.index.intersection(base.index)
        values: dict[str, np.ndarray] = {
            "lives_saved": g.loc[common, "survivors"].to_numpy(float) - base.loc[common].to_numpy(float)}
        for m in METRICS[1:]:
            if m in g.columns:
                values[m] = pd.to_numeric(g[m], errors="coerce").to_numpy(float)
        for m, v in values.items():
            v = v[np.isfinite(v)]
            if v.size:
                lo, hi = np.quantile(v, [0.05, 0.95])
                rows.append({"variant": str(name), "metric": m, "mean": float(v.mean()), "lo": float(lo),
                             "hi": float(hi)})
    return pd.DataFrame(rows, columns=["variant", "metric", "mean", "lo", "hi"])


def _with_ledger(summaries: pd.DataFrame) -> pd.DataFrame:
    """Lift the agent-based ledger's totals out of each run's summary JSON into columns."""
    s = summaries.copy()
    if "summary" not in s.columns:
        return s
    totals: list[dict[str, float]] = []
    for raw in s["summary"]:
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
        ledger = data.get("ledger") or {}
        totals.append({k: float(v) for k, v in ledger.items() if isinstance(v, int | float)})
    ledger_cols = pd.DataFrame(totals, index=s.index)
    for col in ledger_cols.columns:
        if col not in s.columns:
            s[col] = ledger_cols[col]
    return s


def table_rows(frame: pd.DataFrame, metrics: Sequence[str] = METRICS) -> list[list[str]]:
    """Rows for a printed table: a header of variants, then one row per metric present, each cell
    'mean' over a second line '[lo, hi]'."""
    variants = list(dict.fromkeys(frame["variant"]))
    cell = {(r.variant, r.metric): f"{r.mean:,.0f}\n[{r.lo:,.0f}, {r.hi:,.0f}]" for r in frame.itertuples()}
    rows = [["", *variants]]
    for m in metrics:
        if any((v, m) in cell for v in variants):
            rows.append([m.replace("_", " "), *(cell.get((v, m), "-") for v in variants)])
    return rows
