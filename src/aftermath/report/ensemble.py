"""Many runs reduced to what a report shows: quantile bands, key numbers, policy comparisons.

These are the in-memory forms the plots and the HTML report take. A results store can produce the
same frames from SQL; the report does not care where they came from.

Frames:

- **quantile frame**: ``day, zone, state, q05, q25, q50, q75, q95``; one row per day, zone and
  state; ``zone == "all"`` is the world total (quantiles of the sum, not sums of quantiles).
- **summary frame**: one row per run, a column per scalar of :meth:`Result.summary` (the ledger's
  people as ``ledger_*``; the old names kept for scripts left out) and the whole summary in
  ``summary``. :func:`record_scalars` makes the same row from a store's summary JSON.
- **comparison frame**: ``variant, metric, mean, lo, hi, engine, source``; one row per policy
  variant and metric, made by :func:`aftermath.compare.comparison`, the one comparison (its
  metrics are defined once, in :data:`aftermath.compare.METRICS`).
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
COMPARISON_COLUMNS = ("variant", "metric", "mean", "lo", "hi", "engine", "source")


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
    """One row per run: :func:`record_scalars` of its summary, and the summary itself."""
    rows = []
    for r in results:
        s = r.summary()
        rows.append({**record_scalars(s), "summary": s})
    return pd.DataFrame(rows)


def record_scalars(summary: Mapping[str, object]) -> dict[str, object]:
    """The scalars of one run's summary, as a row: every number and label at its top level, the
    ledger's people as ``ledger_<name>``; the old keys kept for scripts (copies of new ones) are
    left out so that no number is shown twice."""
    from aftermath.result import LEGACY_KEYS

    skip = {*LEGACY_KEYS, "swept"}
    row: dict[str, object] = {k: v for k, v in summary.items()
                              if k not in skip and (isinstance(v, int | float | str) or v is None)}
    if "humans" in row and "susceptible" not in summary:  # a record from before "humans" meant S + E + H
        row["susceptible"] = row.pop("humans")
    ledger = summary.get("ledger")
    if isinstance(ledger, Mapping):
        from aftermath.result import ledger_people

        ledger = ledger_people(dict(ledger))  # older records kept the ABM's flag names
    row.update(_ledger_scalars(ledger))
    return row


def describe(summaries: pd.DataFrame) -> pd.DataFrame:
    """Median and 90% interval of each numeric column of a summary frame: ``metric, q05, q50, q95``."""
    num = summaries.select_dtypes("number").drop(columns=["seed", "days"], errors="ignore")
    q = num.quantile(list(QUANTILES[::2])).T
    q.columns = ["q05", "q50", "q95"]
    return q.rename_axis("metric").reset_index()


def comparison_frame(variants: Mapping[str, Sequence[Result]], baseline: str) -> pd.DataFrame:
    """The comparison (:func:`aftermath.compare.comparison`) of in-memory runs per variant, against
    ``baseline``. Each variant's runs must be in replicate order (replicate ``i`` used the same seed
    everywhere)."""
    frames = [summary_frame(runs).assign(variant=name, replicate=range(len(runs))) for name, runs in variants.items()]
    return comparison_from_summaries(pd.concat(frames, ignore_index=True), baseline)


def comparison_from_summaries(summaries: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """The comparison from one row per run (as the store's ``summaries``): the one comparison,
    :func:`aftermath.compare.comparison`."""
    from aftermath.compare import comparison

    return comparison(summaries, baseline)


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
