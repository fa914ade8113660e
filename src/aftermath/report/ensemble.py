"""Many runs reduced to what a report shows: quantile bands, key numbers, policy comparisons.

These are the in-memory forms the plots and the HTML report take. A results store can produce the
same frames from SQL; the report does not care where they came from.

Frames:

- **quantile frame**: ``day, zone, state, q05, q25, q50, q75, q95``; one row per day, zone and
  state; ``zone == "all"`` is the world total (quantiles of the sum, not sums of quantiles).
- **summary frame**: one row per run, a column per scalar of :meth:`Result.summary`.
- **comparison frame**: ``variant, metric, mean, lo, hi``; one row per policy variant and metric.
  ``metric == "lives_saved"`` is survivors in the variant minus survivors in the baseline, paired
  by replicate (common random numbers); every other metric is a cost counted in people (culled,
  excluded, excluded_healthy, swept_hybrids, starved, sacrificed, concealed...). ``lo`` and ``hi``
  bound a 90% interval over replicates (5th and 95th percentiles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from aftermath.model.world import STATE_NAMES

if TYPE_CHECKING:
    from aftermath.result import Result

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_NAMES = ("q05", "q25", "q50", "q75", "q95")
#: Costs taken from each run's summary for a comparison (the ledger's totals are added when present).
COST_METRICS = ("culled", "excluded", "excluded_healthy", "swept_hybrids", "starved")
COMPARISON_COLUMNS = ("variant", "metric", "mean", "lo", "hi")


def quantile_frame(results: Sequence[Result]) -> pd.DataFrame:
    """Quantile bands of every (day, zone, state) over ``results`` (runs of one scenario)."""
    counts = np.stack([r.counts for r in results])  # [run, time, zone, state]
    world = counts.sum(axis=2, keepdims=True)
    allc = np.concatenate([counts, world], axis=2)
    q = np.quantile(allc, QUANTILES, axis=0)  # [q, time, zone, state]
    zones = [*results[0].zone_ids, "all"]
    t, z, s = allc.shape[1:]
    out = pd.DataFrame({
        "day": np.repeat(np.arange(t), z * s),
        "zone": np.tile(np.repeat(np.array(zones, dtype=object), s), t),
        "state": np.tile(np.array(STATE_NAMES, dtype=object), t * z),
    })
    for name, arr in zip(QUANTILE_NAMES, q, strict=True):
        out[name] = arr.reshape(-1)
    return out


def summary_frame(results: Sequence[Result]) -> pd.DataFrame:
    """One row per run: seed and every scalar of its summary, plus ledger totals when present."""
    rows = []
    for r in results:
        s = r.summary()
        row = {k: v for k, v in s.items() if isinstance(v, int | float | str) or v is None}
        row.update(_ledger_scalars(s.get("ledger")))
        rows.append(row)
    return pd.DataFrame(rows)


def describe(summaries: pd.DataFrame) -> pd.DataFrame:
    """Median and 90% interval of each numeric column of a summary frame: ``metric, q05, q50, q95``."""
    num = summaries.select_dtypes("number").drop(columns=["seed", "days"], errors="ignore")
    q = num.quantile(list(QUANTILES[::2])).T
    q.columns = ["q05", "q50", "q95"]
    return q.rename_axis("metric").reset_index()


def comparison_frame(variants: Mapping[str, Sequence[Result]], baseline: str) -> pd.DataFrame:
    """Lives saved and ledger costs per variant, against ``baseline``, paired by replicate.

    Each variant's runs must be in replicate order (replicate ``i`` used the same seed everywhere).
    """
    frames = [summary_frame(runs).assign(variant=name, replicate=range(len(runs))) for name, runs in variants.items()]
    return comparison_from_summaries(pd.concat(frames, ignore_index=True), baseline)


def comparison_from_summaries(summaries: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """The comparison frame from one row per run with ``variant, replicate, survivors`` and cost
    columns (as the store's ``summaries`` table): lives saved are paired by replicate."""
    base = summaries[summaries["variant"] == baseline].set_index("replicate")["survivors"]
    rows = []
    for name, s in summaries.groupby("variant", sort=False):
        s = s.set_index("replicate")
        common = s.index.intersection(base.index)
        saved = s.loc[common, "survivors"].to_numpy(dtype=float) - base.loc[common].to_numpy(dtype=float)
        rows.append(_row(str(name), "lives_saved", saved))
        for c in s.columns:
            if c in COST_METRICS or c.startswith("ledger_"):
                rows.append(_row(str(name), c.removeprefix("ledger_"), s[c].to_numpy(dtype=float)))
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _row(variant: str, metric: str, values: np.ndarray) -> dict[str, object]:
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"variant": variant, "metric": metric, "mean": np.nan, "lo": np.nan, "hi": np.nan}
    lo, hi = np.quantile(v, [0.05, 0.95])
    return {"variant": variant, "metric": metric, "mean": float(v.mean()), "lo": float(lo), "hi": float(hi)}


def _ledger_scalars(ledger: object) -> dict[str, float]:
    """Flatten ledger totals (a mapping, possibly nested per policy or faction) to summed scalars."""
    out: dict[str, float] = {}

    def walk(node: object) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    key = f"ledger_{k}"
                    out[key] = out.get(key, 0.0) + float(v)
                else:
                    walk(v)
        elif isinstance(node, pd.DataFrame):
            walk(node.select_dtypes("number").sum().to_dict())

    walk(ledger)
    return out
