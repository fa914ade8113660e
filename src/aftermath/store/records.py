"""What one run sends to the writer: its metadata, its tables (Arrow) and its summary.

A :class:`RunRecord` is built where the run ran (in a worker process or on a Dask worker) so that
the single writer only inserts. Tables are Arrow with dictionary-encoded labels, built straight
from the result's arrays: cheap to build, to pickle and for DuckDB to scan.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from aftermath.model.flows import FLOW_NAMES
from aftermath.model.world import STATE_NAMES
from aftermath.result import Result
from aftermath.scenario.load import to_dict
from aftermath.scenario.schema import Scenario
from aftermath.store.schema import SUMMARY_COLUMNS


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, pd.DataFrame):
        return obj.to_dict(orient="records")
    return str(obj)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scenario_hash(scenario: Scenario) -> str:
    """sha256 of the canonical JSON of :func:`aftermath.scenario.load.to_dict`."""
    return sha256(canonical_json(to_dict(scenario)))


def versions() -> dict[str, str]:
    import numba

    import aftermath

    return {
        "aftermath_version": aftermath.__version__,
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "python_version": platform.python_version(),
        "host": platform.node(),
    }


def batch_provenance(base: Scenario, source: str | None, seeds: list[int], seed_scheme: str,
                     baseline: str | None, points: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The provenance columns of a ``batches`` row (schema 2): the whole base scenario as canonical
    JSON (its sha256 is ``scenario_hash``), where it came from, the replicate seeds and how they
    were derived, each point's overrides in the order they are applied (``spec`` sorts them, and a
    later path can overwrite an earlier one), the baseline's label and the versions of this process."""
    import duckdb

    v = versions()
    return {
        "scenario_json": canonical_json(to_dict(base)), "source": source,
        "seeds": canonical_json([int(s) for s in seeds]), "seed_scheme": seed_scheme, "baseline": baseline,
        "point_overrides": canonical_json([[label, [[k, v] for k, v in ov.items()]] for label, ov in points]),
        "aftermath_version": v["aftermath_version"],
        "versions": canonical_json({"numpy": v["numpy_version"], "numba": v["numba_version"],
                                    "python": v["python_version"], "duckdb": duckdb.__version__}),
    }


@dataclass
class RunRecord:
    """One run, ready to insert. ``meta`` holds the ``runs`` columns except ``run_id``."""

    meta: dict[str, Any]
    tables: dict[str, pa.Table] = field(default_factory=dict)
    summary: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.meta.get("status") == "done")

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.meta["batch_id"], int(self.meta["point"]), int(self.meta["replicate"]))


def _labels(names: tuple[str, ...] | list[str], codes: np.ndarray) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(list(names), pa.string()))


def result_tables(res: Result) -> dict[str, pa.Table]:
    """The result's series, flows, society, strains, chronicle and ledger as Arrow tables."""
    t, nz, ns = res.counts.shape
    tables: dict[str, pa.Table] = {}
    tables["series"] = pa.table({
        "day": np.repeat(np.arange(t, dtype=np.int32), nz * ns),
        "zone": _labels(res.zone_ids, np.tile(np.repeat(np.arange(nz), ns), t)),
        "state": _labels(STATE_NAMES, np.tile(np.arange(ns), t * nz)),
        "count": res.counts.reshape(-1),
    })
    _, nf, _ = res.flows.shape
    flows = res.flows.transpose(0, 2, 1).reshape(-1)
    keep = np.flatnonzero(flows != 0.0)  # flows are sparse: absent rows are zeros (docs/store.md)
    tables["flows"] = pa.table({
        "day": (keep // (nz * nf)).astype(np.int32),
        "zone": _labels(res.zone_ids, (keep // nf) % nz),
        "flow": _labels(FLOW_NAMES, keep % nf),
        "count": flows[keep],
    })
    tables["society"] = pa.table({
        "day": np.repeat(np.arange(t, dtype=np.int32), nz),
        "zone": _labels(res.zone_ids, np.tile(np.arange(nz), t)),
        "fear": res.fear.reshape(-1),
        "vigilance": res.vigilance.reshape(-1),
        "supplies": res.supplies.reshape(-1),
    })
    ts, nst = res.strain_counts.shape
    tables["strain_series"] = pa.table({
        "day": np.repeat(np.arange(ts, dtype=np.int32), nst),
        "strain": np.tile(np.arange(nst, dtype=np.int32), ts),
        "count": res.strain_counts.reshape(-1),
    })
    ev = res.chronicle
    tables["chronicle"] = pa.table({
        "day": pa.array([e.day for e in ev], pa.int32()),
        "zone": pa.array([e.zone for e in ev], pa.string()),
        "kind": pa.array([e.kind for e in ev], pa.string()),
        "text": pa.array([e.text for e in ev], pa.string()),
        "value": pa.array([float(e.value) for e in ev], pa.float64()),
    })
    tables["strains"] = pa.Table.from_pandas(res.strains_frame(), preserve_index=False)
    ledger = res.extras.get("ledger")
    if isinstance(ledger, pd.DataFrame) and len(ledger.columns):
        tables["ledger"] = pa.Table.from_pandas(ledger, preserve_index=False)
    return tables


def summary_row(summary: dict[str, Any]) -> pa.Table:
    """The ``summaries`` row of one run: flat numeric columns and the whole summary as JSON."""
    cols: dict[str, pa.Array] = {}
    for name, kind in SUMMARY_COLUMNS:
        v = summary.get(name)
        if kind == "INTEGER":
            cols[name] = pa.array([None if v is None else int(v)], pa.int32())
        else:
            cols[name] = pa.array([None if v is None or not math.isfinite(float(v)) else float(v)], pa.float64())
    cols["summary"] = pa.array([canonical_json(summary)], pa.string())
    return pa.table(cols)


def record_from_result(res: Result, meta: dict[str, Any]) -> RunRecord:
    """A finished run's record: ``meta`` gives batch, point, variant, replicate and timings."""
    summary = res.summary()
    tables = result_tables(res)
    tables["summaries"] = summary_row(summary)
    full = {**meta, "status": "done", "error": None, "init_s": res.timings.get("init_s"),
            "run_s": res.timings.get("run_s"), "days": res.days, **versions()}
    return RunRecord(full, tables, summary)


def failed_record(meta: dict[str, Any], exc: BaseException) -> RunRecord:
    """A run that raised: stored with status ``failed`` and no rows, and run again on resume."""
    text = f"{type(exc).__name__}: {exc}"
    return RunRecord({**meta, "status": "failed", "error": text[:2000], **versions()}, {}, None)
