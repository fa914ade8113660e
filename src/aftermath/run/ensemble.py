"""Ensembles: many replicates of one or more variants of a scenario, stored run by run.

A *batch* is a set of points (variants of a base scenario, by scenario path) times ``runs``
replicates. Its id is a hash of everything that decides its results (base scenario, points, engine,
master seed, runs, horizon), so the same command names the same batch: rerun after an interruption,
it finds the runs already stored and runs only the rest (resume). Replicate ``i`` uses the same seed
at every point (common random numbers, :mod:`aftermath.run.seeds`). The batch's row in the store
keeps its provenance (the whole base scenario, the seeds, the baseline's label, the versions), so
:mod:`aftermath.run.rerun` can run it again from the store alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from aftermath.engines.base import ENGINE_NAMES
from aftermath.engines.budget import MAX_RUNS
from aftermath.run.executors import Executor, InProcess, make_executor
from aftermath.run.seeds import SEED_SCHEME, replicate_seeds
from aftermath.run.tasks import Task
from aftermath.scenario import load as _load
from aftermath.scenario.schema import Scenario
from aftermath.store.records import RunRecord, batch_provenance, canonical_json, scenario_hash, sha256
from aftermath.store.store import DEFAULT_Q, Store

#: ``progress(done, total, record)``, called after each run comes back (``record`` is None once
#: at the start, with the runs already stored counted as done).
Progress = Callable[[int, int, RunRecord | None], None]

#: Summary metrics reported by default (columns of the ``summaries`` table).
DEFAULT_METRICS = ("survivors", "deaths", "peak_ferals", "peak_day", "attack_rate")


@dataclass(frozen=True)
class Point:
    """One variant of the base scenario: a label and overrides by scenario path."""

    label: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


def as_scenario(scenario: str | Path | Scenario) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else _load.load(scenario)


def scenario_source(scenario: str | Path | Scenario) -> str:
    """Where a batch's scenario came from, as recorded: ``builtin NAME``, a file's absolute path, or
    ``<python>`` for a :class:`Scenario` object (its whole text is recorded in every case)."""
    if isinstance(scenario, Scenario):
        return "<python>"
    src = str(scenario)
    if src in _load.builtin_names():
        return f"builtin {src}"
    return str(Path(src).resolve())


def batch_id(kind: str, base: Scenario, points: Sequence[Point], engine: str, master_seed: int,
             runs: int, days: int, seeds: Sequence[int] | None = None) -> str:
    """The id of a batch: 16 hex digits of the sha256 of everything that decides its runs.

    ``seeds`` enter the hash only when they are not those the master seed derives (so a batch
    given other seeds is another batch, and every batch of an older store keeps its id).
    """
    spec: dict[str, Any] = {
        "kind": kind, "scenario": scenario_hash(base), "engine": engine, "master_seed": int(master_seed),
        "runs": int(runs), "days": int(days), "points": [[p.label, dict(p.overrides)] for p in points],
    }
    if seeds is not None and [int(x) for x in seeds] != replicate_seeds(master_seed, runs):
        spec["seeds"] = [int(x) for x in seeds]
    return sha256(canonical_json(spec))[:16]


@dataclass
class BatchResult:
    """What a batch left in the store, with its quantile bands as frames.

    The store stays open (``result.store``); close it, or use the result as a context manager.
    """

    store: Store
    batch_id: str
    kind: str
    points: list[Point]
    runs: int
    stored: int = 0  # runs stored by this call
    skipped: int = 0  # runs found already stored (resumed)
    failed: int = 0  # runs that raised (stored as failed; a rerun retries them)
    wall_s: float = 0.0
    executor: str = "in-process"
    baseline: str | None = None  # the label the others are weighed against, as recorded

    def __enter__(self) -> BatchResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()

    def run_table(self) -> pd.DataFrame:
        """The ``runs`` rows of this batch."""
        return self.store.runs(self.batch_id)

    def summaries(self) -> pd.DataFrame:
        """One row per done run: point, variant, replicate, seed and the summary columns."""
        return self.store.summaries(self.batch_id)

    def quantiles(self, state: str = "Z", zone: str | None = None, q: Sequence[float] = DEFAULT_Q) -> pd.DataFrame:
        return self.store.quantiles(self.batch_id, state=state, zone=zone, q=q)

    def bands(self, state: str = "Z", zone: str | None = None) -> pd.DataFrame:
        """Median and the central 50% and 90% bands of a state's count per day, per variant."""
        return _bands(self.quantiles(state, zone))

    def summary_bands(self, metrics: Sequence[str] = DEFAULT_METRICS) -> pd.DataFrame:
        """Median and 50%/90% bands of summary metrics across replicates, per variant."""
        return _bands(self.store.summary_quantiles(self.batch_id, metrics))

    def paired(self, metric: str, baseline: str | None = None) -> pd.DataFrame:
        """Per replicate, each variant's ``metric`` minus the baseline's (by default the batch's
        recorded baseline, else the first variant).

        Replicates share seeds across variants, so these are common-random-number differences.
        """
        s = self.summaries()
        base = baseline if baseline is not None else self.baseline or self.points[0].label
        wide = s.pivot(index="replicate", columns="variant", values=metric)
        if base not in wide.columns:
            raise KeyError(f"no variant {base!r}; variants: {list(wide.columns)}")
        diff = wide.sub(wide[base], axis=0).drop(columns=[base])
        return diff.reset_index().melt(id_vars="replicate", var_name="variant", value_name=f"{metric}_diff")


def _bands(q: pd.DataFrame) -> pd.DataFrame:
    out = q.rename(columns={"q0.5": "median", "q0.25": "lo50", "q0.75": "hi50", "q0.05": "lo90", "q0.95": "hi90"})
    return out


ENGINES = ENGINE_NAMES  # the registry's (aftermath.engines.base.ENGINES)

#: The most runs one batch (an ensemble, a sweep, a comparison) may hold: points x replicates.
#: Checked before anything is allocated; a larger study is several batches (docs/ensembles.md).
MAX_BATCH_RUNS = MAX_RUNS  # the budget's bound (aftermath.engines.budget.MAX_RUNS)


def check_batch_size(runs: int, points: int = 1) -> None:
    """Refuse, before allocating anything, a batch of more than :data:`MAX_BATCH_RUNS` runs."""
    total = runs * points
    if total > MAX_BATCH_RUNS:
        what = f"{runs:,} runs" if points == 1 else f"{points:,} points x {runs:,} runs = {total:,} runs"
        raise ValueError(f"--runs: got {what}, expected at most {MAX_BATCH_RUNS:,} runs in one batch "
                         "(split the study into several batches)")


def check_engine(name: str) -> None:
    """Fail before any run (not once per run, in the workers) for an unknown or missing engine."""
    import importlib

    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
    try:
        module = importlib.import_module(f"aftermath.engines.{name}")
    except ImportError as exc:
        raise ValueError(f"the {name!r} engine is not available: {exc}") from None
    if not hasattr(module, f"{name.capitalize()}Engine"):
        raise ValueError(f"the {name!r} engine is not available in this installation")


def open_store(store: Store | str | Path | None) -> Store:
    if isinstance(store, Store):
        return store
    return Store(":memory:" if store is None else store)


def run_batch(kind: str, scenario: str | Path | Scenario, points: Sequence[Point], runs: int,
              master_seed: int | None = None, engine: str | None = None, days: int | None = None,
              executor: Executor | None = None, store: Store | str | Path | None = None,
              progress: Progress | None = None, group: int = 32, flush_s: float = 10.0,
              spec: Mapping[str, Any] | None = None, baseline: str | None = None,
              seeds: Sequence[int] | None = None, source: str | None = None) -> BatchResult:
    """Run every (point, replicate) of a batch not yet stored, storing each as it comes back.

    Records are written in groups (at most ``group`` runs or ``flush_s`` seconds per transaction):
    each group is in the store whole or not at all, so an interruption loses at most the group in
    hand, and a rerun runs those again.

    ``baseline`` (a point's label) is recorded as the one the others are weighed against;
    ``seeds`` replaces the seeds derived from the master seed (a batch re-run from a store uses the
    recorded ones); ``source`` overrides where the scenario is recorded to come from.
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"--runs: got {runs!r}, expected a whole number >= 1")
    if not points:
        raise ValueError("a batch needs at least one point")
    check_batch_size(runs, len(points))
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        raise ValueError(f"variant labels must be unique, got {labels}")
    if baseline is not None and baseline not in labels:
        raise ValueError(f"baseline {baseline!r} is not one of the variants {labels}")
    base = as_scenario(scenario)
    # --days, --seed and --engine obey the bounds of the file's run.days, run.seed, run.engine (the
    # batch records the base scenario as it is: the options are validated, not written into it)
    _load.apply_run_options(base, days=days, seed=master_seed, engine=engine, source="run options")
    engine_name = engine or base.run.engine
    check_engine(engine_name)
    seed0 = base.run.seed if master_seed is None else int(master_seed)
    horizon = base.run.days if days is None else int(days)
    variants = [_load.with_overrides(base, p.overrides, source=f"variant {p.label}") for p in points]
    if seeds is None:
        seeds = replicate_seeds(seed0, runs)
    else:
        seeds = [int(x) for x in seeds][:runs]
        if len(seeds) < runs or any(not 0 <= x < 2**63 for x in seeds):
            raise ValueError(f"need {runs} seeds in [0, 2**63), got {len(seeds)}")
    ex = executor or InProcess()
    _check_budgets(variants, engine_name, horizon, runs * len(points), ex.workers)
    bid = batch_id(kind, base, points, engine_name, seed0, runs, horizon, seeds)
    st = open_store(store)
    try:
        st.add_batch({
            "batch_id": bid, "kind": kind, "scenario": base.name, "scenario_hash": scenario_hash(base),
            "engine": engine_name, "master_seed": seed0, "runs": runs, "days": horizon, "points": len(points),
            "spec": canonical_json({"points": [[p.label, dict(p.overrides)] for p in points], **(spec or {})}),
            **batch_provenance(base, source if source is not None else scenario_source(scenario), list(seeds),
                               SEED_SCHEME, baseline, [(p.label, dict(p.overrides)) for p in points]),
        })
        hashes = [scenario_hash(v) for v in variants]
        done = st.done(bid)
        tasks = [
            Task(v, engine_name, seeds[r], horizon, {
                "batch_id": bid, "point": i, "variant": p.label, "overrides": canonical_json(dict(p.overrides)),
                "replicate": r, "seed": seeds[r], "scenario": v.name, "scenario_hash": hashes[i], "engine": engine_name,
            })
            for r in range(runs) for i, (p, v) in enumerate(zip(points, variants, strict=True)) if (i, r) not in done
        ]
        total = runs * len(points)
        result = BatchResult(st, bid, kind, list(points), runs, skipped=len(done), baseline=baseline)
        result.executor = ex.name
        t0 = time.perf_counter()
        if progress is not None:
            progress(len(done), total, None)
        buffer: list[RunRecord] = []
        last = time.perf_counter()
        count = len(done)
        records = ex.run(tasks)
        try:
            for rec in records:
                buffer.append(rec)
                count += 1
                result.failed += 0 if rec.ok else 1
                if len(buffer) >= group or time.perf_counter() - last >= flush_s:
                    result.stored += _flush(st, buffer)
                    last = time.perf_counter()
                if progress is not None:
                    progress(count, total, rec)
        finally:
            # what came back is whole: keep it even when interrupted (Ctrl-C); then stop the workers,
            # even if that write fails (a second Ctrl-C): they would otherwise finish the runs in hand
            try:
                result.stored += _flush(st, buffer)
            finally:
                close = getattr(records, "close", None)
                if close is not None:
                    close()
            result.wall_s = time.perf_counter() - t0
        return result
    except BaseException:
        if st is not store:  # a store this call opened (from a path) is not left open on an error
            st.close()
        raise


#: The most variants whose budget a batch checks before it starts (an SSA estimate takes ~20 ms).
BUDGET_CHECKS = 64


def _check_budgets(variants: Sequence[Scenario], engine: str, days: int, runs: int, workers: int) -> None:
    """The variants' memory and work estimated before the store is opened or a worker started
    (:func:`aftermath.engines.budget.check_budget`): a batch whose runs would be refused one by one,
    in the workers, is refused once, here. Every variant of a batch of up to :data:`BUDGET_CHECKS`
    points; of a larger sweep, that many spread evenly from the first to the last (the corners of a
    grid, the extremes of a list). Every run still checks its own budget before it allocates."""
    from aftermath.engines.budget import check_budget

    n = len(variants)
    picks = range(n) if n <= BUDGET_CHECKS else sorted({round(i * (n - 1) / (BUDGET_CHECKS - 1))
                                                        for i in range(BUDGET_CHECKS)})
    for i in picks:
        v = variants[i]
        check_budget(v, engine, days, runs=runs, workers=workers, source=f"<{v.name}>")


def _flush(st: Store, buffer: list[RunRecord]) -> int:
    if not buffer:
        return 0
    try:
        ids = st.write(buffer)
        return sum(1 for rec, i in zip(buffer, ids, strict=True) if i is not None and rec.ok)
    finally:
        buffer.clear()


def ensemble(scenario: str | Path | Scenario, runs: int = 100, master_seed: int | None = None,
             engine: str | None = None, days: int | None = None,
             variants: Mapping[str, Mapping[str, Any]] | None = None,
             executor: Executor | str | None = None, workers: int | None = None,
             store: Store | str | Path | None = None, progress: Progress | None = None,
             baseline: str | None = None, source: str | None = None) -> BatchResult:
    """Run ``runs`` replicates of a scenario, or of each of its variants, into a store.

    Args:
        scenario: a built-in name, a TOML file or a :class:`Scenario`.
        runs: replicates per variant.
        master_seed: seeds of all replicates derive from it (default: the scenario's ``run.seed``).
        engine: ``ode``, ``ssa`` or ``abm`` (default: the scenario's). The ODE ignores seeds, so its
            replicates are identical; bands need a stochastic engine.
        days: horizon (default: the scenario's ``run.days``).
        variants: ``{label: {scenario path: value}}``; None runs the scenario as it is ("base").
            Replicate ``i`` of every variant uses the same seed (common random numbers).
        executor: an :class:`Executor`, or ``"processes"`` / ``"dask"`` with ``workers``.
        store: a :class:`Store`, a path, or None for an in-memory store.
        progress: called as runs come back (see :data:`Progress`).
        baseline: the label of the variant the others are weighed against, recorded with the batch
            (``compare`` passes its baseline; reports read it instead of guessing from labels).
        source: where the scenario came from, as recorded (default: :func:`scenario_source`; a
            caller that loaded a built-in itself passes ``scenario_source(name)``).

    >>> res = ensemble("sir", runs=4, engine="ode", days=30)
    >>> res.bands("Z").shape[0]
    31
    """
    pts = [Point(k, dict(v)) for k, v in variants.items()] if variants else [Point("base", {})]
    ex, owned = _executor(executor, workers)
    try:
        return run_batch("ensemble", scenario, pts, runs, master_seed, engine, days, ex, store, progress,
                         baseline=baseline, source=source)
    finally:
        if owned:
            ex.close()


def _executor(executor: Executor | str | None, workers: int | None) -> tuple[Executor, bool]:
    if executor is None or isinstance(executor, str):
        kind = executor or ("processes" if workers and workers > 1 else "in-process")
        if kind == "in-process":
            return InProcess(), True
        if kind == "processes":
            return make_executor(workers=max(2, workers or 2)), True
        if kind == "dask":
            return make_executor(workers=workers, dask=True), True
        raise ValueError(f"unknown executor {kind!r}: expected in-process, processes or dask")
    return executor, False
