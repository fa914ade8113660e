"""Weighing a dilemma: policy variants run under common random numbers, lives saved against costs.

``compare`` runs every variant over the same replicates (replicate ``i`` uses the same seed in every
variant) on the ensemble machinery (:func:`aftermath.run.ensemble.ensemble`, so runs are stored and
an interrupted comparison resumes), then reports per variant and against the baseline: lives saved
(survivors minus the baseline's, paired by replicate), deaths, and what the policies cost in people,
each with a 90% interval over replicates.

:func:`comparison` is the one comparison: ``compare``, its report and the report of a results store
all call it, and :data:`METRICS` defines each of its metrics once (``docs/report.md``). No metric
is a sum of overlapping counts: a metric that is part of another (``part_of``) is shown beside it
and never added to it, and the weighing figure's cost is ``killed_by_policy`` (culled hybrids plus
hybrids killed in sweeps: people, each of whom dies once).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aftermath.record.vocabulary import Vocabulary, word
from aftermath.scenario.load import ScenarioError, parse_value, to_dict
from aftermath.scenario.schema import Scenario

BASELINE = "baseline"
#: Where a metric comes from: the counts or flows every engine records, or the agent-based engine's
#: per-person ledger (absent from ODE and SSA runs).
FROM_RECORD, FROM_LEDGER = "record", "ledger"


@dataclass(frozen=True)
class Metric:
    """One metric of a comparison, defined once."""

    name: str
    meaning: str
    source: str = FROM_RECORD
    part_of: str | None = None  # the metric this one is a subset of: shown beside it, never added to it
    cost: bool = True  # a cost of policy in people (drawn in the ledger panel)


#: Metrics reported per variant, in this order (those absent from every run are left out).
METRICS: tuple[Metric, ...] = (
    Metric("lives_saved", "survivors minus the baseline's survivors, replicate by replicate (same seeds)",
           cost=False),
    Metric("survivors", "humans (S + E + H) alive at the end", cost=False),
    Metric("deaths", "people who died: bitten to death, natural deaths, starved, culled, and hybrids killed "
           "in sweeps (turning feral is not a death)", cost=False),
    Metric("killed_by_policy", "people killed by a policy: hybrids culled and hybrids killed in sweeps (a person "
           "dies once, so no one is counted twice)", part_of="deaths"),
    Metric("culled", "hybrids killed by a cull", part_of="killed_by_policy"),
    Metric("hybrids_swept", "hybrids killed in sweeps", part_of="killed_by_policy"),
    Metric("starved", "people who starved to death", part_of="deaths"),
    Metric("turned_away_attempts", "crossings refused at a gate: a person refused twice counts twice"),
    Metric("turned_away_attempts_healthy", "of those, crossings by uninfected (S) people",
           part_of="turned_away_attempts"),
    Metric("people_turned_away", "people refused at a gate at least once, each counted once", FROM_LEDGER),
    Metric("healthy_people_turned_away", "of them, people refused while uninfected", FROM_LEDGER,
           part_of="people_turned_away"),
    Metric("sealed_in", "uninfected people inside a zone when it was sealed", FROM_LEDGER),
    Metric("sacrificed", "of them, people later infected, bitten to death or starved in the sealed zone",
           FROM_LEDGER, part_of="sealed_in"),
    Metric("concealed", "infected people their households hid from screening, a cull or a transfer",
           FROM_LEDGER),
    Metric("misclassified", "people the screening got wrong (a healthy person refused, an infected one "
           "admitted)", FROM_LEDGER),
)
METRIC = {m.name: m for m in METRICS}
METRIC_NAMES = tuple(METRIC)
#: Summary keys of older records, read as the metric they were (each meant the same then).
_OLD_KEYS = {"turned_away_attempts": "excluded", "turned_away_attempts_healthy": "excluded_healthy",
             "hybrids_swept": "swept_hybrids"}
#: The ledger's flag names in older records, by the metric they are.
_OLD_LEDGER = {"people_turned_away": "excluded", "healthy_people_turned_away": "excluded_healthy"}


def parse_variant(spec: str, base: Scenario, variants: dict[str, dict[str, Any]], flag: str = "--policy") -> None:
    """Add one ``flag`` spec (``LABEL:PATH=VALUE`` or a variant file) to ``variants``; a label
    repeated sets several paths, but one path set twice under a label is refused."""
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
        raise ScenarioError(flag, "", spec,
                            "LABEL:PATH=VALUE (e.g. cull:policies.5.action=cull) or a variant file")
    label, key = label.strip(), key.strip()
    if label == BASELINE:
        raise ScenarioError(flag, "", spec, f"a label other than {BASELINE!r} (the scenario as it is)")
    if key in variants.get(label, {}):
        raise ScenarioError(f"{flag} {label}", "", spec,
                            f"{key} set once under the label {label!r} (it is set twice: give each label its own name)")
    variants.setdefault(label, {})[key] = parse_value(value.strip())


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
            progress: Any = None, source: str | None = None) -> tuple[pd.DataFrame, Any]:
    """Run the baseline and each variant over ``runs`` common-random-number replicates.

    Returns (the comparison, :func:`comparison`, with columns ``variant, metric, mean, lo, hi, engine,
    source``; the batch result).
    """
    from aftermath.run.ensemble import ensemble

    points: dict[str, Mapping[str, Any]] = {BASELINE: {}}
    points.update(variants)
    res = ensemble(scenario, runs=runs, master_seed=master_seed, engine=engine, days=days, variants=points,
                   executor=executor, workers=workers, store=store, progress=progress,
                   baseline=BASELINE, source=source)  # recorded with the batch: reports read it, not guess
    return comparison(res.summaries()), res


def summary_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run's summary (as :meth:`Result.summary`) from a row of a summary frame: its ``summary``
    column (the store's JSON, or a dict) when there is one, else the row's own columns."""
    raw = row.get("summary")
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
    if isinstance(raw, Mapping):
        return dict(raw)
    return {k: v for k, v in row.items() if k != "summary"}


def run_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """Every metric of :data:`METRICS` that one run's summary has (lives saved excepted, which
    needs the baseline): the one place a comparison's numbers are read from a record."""
    ledger = summary.get("ledger") if isinstance(summary.get("ledger"), Mapping) else {}
    assert isinstance(ledger, Mapping)

    def value(name: str) -> float | None:
        m = METRIC[name]
        src = ledger if m.source == FROM_LEDGER else summary
        old = (_OLD_LEDGER if m.source == FROM_LEDGER else _OLD_KEYS).get(name)
        v = src.get(name, src.get(old) if old else None)
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        return float(v) if np.isfinite(v) else None

    out = {m.name: v for m in METRICS[1:] if (v := value(m.name)) is not None}
    if "killed_by_policy" not in out and "culled" in out and "hybrids_swept" in out:  # an older record
        out["killed_by_policy"] = out["culled"] + out["hybrids_swept"]
    return out


def comparison(summaries: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """The comparison of policy variants: one row per variant and metric of :data:`METRICS`.

    ``summaries`` has one row per run with ``variant``, ``replicate`` and the run's summary (a
    ``summary`` column, JSON or dict, as the store's ``summaries()``; else the summary's keys as
    columns). Returns columns ``variant, metric, mean, lo, hi, engine, source``: the mean and 90%
    interval (5th and 95th percentiles) over replicates; ``engine`` the engine(s) the runs used and
    ``source`` whether the figure comes from the record every engine keeps or the ABM's ledger.
    Lives saved are paired by replicate against ``baseline`` (common random numbers).
    """
    runs = []
    for i, row in enumerate(summaries.to_dict(orient="records")):
        s = summary_of({str(k): v for k, v in row.items()})
        runs.append({"variant": str(row.get("variant", s.get("variant", ""))),
                     "replicate": row.get("replicate", i), "engine": str(s.get("engine", row.get("engine", ""))),
                     **run_metrics(s)})
    frame = pd.DataFrame(runs)
    columns = ["variant", "metric", "mean", "lo", "hi", "engine", "source"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    if baseline not in set(frame["variant"]):  # lives saved would be dropped without a word
        raise ValueError(f"baseline {baseline!r} is not one of the variants {list(pd.unique(frame['variant']))}")
    base = frame[frame["variant"] == baseline].set_index("replicate")["survivors"].astype(float) \
        if "survivors" in frame.columns else pd.Series(dtype=float)
    rows = []
    for name, g in frame.groupby("variant", sort=False):
        g = g.set_index("replicate")
        engine = ", ".join(sorted(set(g["engine"])))
        values: dict[str, np.ndarray] = {}
        if "survivors" in g.columns:
            common = g.index.intersection(base.index)
            values["lives_saved"] = g.loc[common, "survivors"].to_numpy(float) - base.loc[common].to_numpy(float)
        for m in METRICS[1:]:
            if m.name in g.columns:
                values[m.name] = pd.to_numeric(g[m.name], errors="coerce").to_numpy(float)
        for m_name, v in values.items():
            v = v[np.isfinite(v)]
            if v.size:
                lo, hi = np.quantile(v, [0.05, 0.95])
                rows.append({"variant": str(name), "metric": m_name, "mean": float(v.mean()), "lo": float(lo),
                             "hi": float(hi), "engine": engine, "source": METRIC[m_name].source})
    return pd.DataFrame(rows, columns=columns)


def table_rows(frame: pd.DataFrame, metrics: Sequence[str] = METRIC_NAMES,
               vocab: Vocabulary | None = None) -> list[list[str]]:
    """Rows for a printed table: a header of variants, then one row per metric present, each cell
    'mean' over a second line '[lo, hi]'. A metric from the ABM's ledger is marked "(ledger)"; one
    that is part of another is indented under it. Metrics are named as :func:`metric_label` names
    them, in ``vocab``'s words where given."""
    variants = list(dict.fromkeys(frame["variant"]))
    cell = {(r.variant, r.metric): f"{r.mean:,.0f}\n[{r.lo:,.0f}, {r.hi:,.0f}]" for r in frame.itertuples()}
    rows = [["", *variants]]
    for m in metrics:
        if any((v, m) in cell for v in variants):
            label = metric_label(m, vocab)
            rows.append([label, *(cell.get((v, m), "-") for v in variants)])
    return rows


def metric_label(name: str, vocab: Vocabulary | None = None) -> str:
    """How a metric is named in a table (the terminal's and the HTML report's): its name in words
    (:func:`aftermath.record.vocabulary.word`: "crossings by healthy people refused (attempts)"),
    "of which" for a part of another, and "(ledger)" for one only the agent-based engine's ledger
    keeps. ``vocab``: a scenario's vocabulary (``run.vocabulary``), Aftermath's own without one."""
    m = METRIC.get(name)
    label = word(name, vocab)
    if m is None:
        return label
    depth, parent = 0, m.part_of
    while parent is not None:
        depth, parent = depth + 1, METRIC[parent].part_of
    if depth:
        label = "  " * depth + f"of which {label}"
    return f"{label} (ledger)" if m.source == FROM_LEDGER else label
