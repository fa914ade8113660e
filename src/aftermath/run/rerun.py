"""Run a stored batch again from the store alone, and check that it gives the stored results.

A batch's row in the store keeps its provenance (:meth:`aftermath.store.Store.provenance`): the
whole base scenario, each point's overrides in the order applied, the engine, the horizon, the
replicate seeds and the baseline's label. :func:`rerun` reads them (not the scenario file, which
may be gone or changed), runs the batch again into another store (in memory by default), and
compares every run with the stored run of the same (point, replicate), table by table, row for row.
The stochastic engines give bit-identical runs for the same seed on the same versions, so a
difference means another code version, another platform, or a store that does not say what ran.

Before any run it checks that each rebuilt variant hashes to the ``scenario_hash`` its stored runs
recorded, so what runs is what ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from aftermath.run.ensemble import BatchResult, Point, Progress, _executor, run_batch
from aftermath.run.executors import Executor
from aftermath.run.seeds import SEED_SCHEME, replicate_seeds
from aftermath.scenario import load as _load
from aftermath.store.records import scenario_hash, versions
from aftermath.store.schema import RUN_TABLES
from aftermath.store.store import Store, StoreError, damaged_error, quote_ident


@dataclass
class RerunResult:
    """A batch run again: the new runs (``result``, in the ``into`` store) and how they compare."""

    store: str  # the store the batch was read from
    batch_id: str  # the stored batch
    provenance: dict[str, Any]
    result: BatchResult
    check: pd.DataFrame  # per table: table, runs (pairs compared), differing (runs with a differing row)
    compared: int = 0  # (point, replicate) pairs done in both
    differing: int = 0  # of them, runs that differ in at least one table
    unmatched: int = 0  # rerun runs with no done stored run to compare with
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Every rerun run was compared with a stored one, and none differs in any row."""
        return self.compared > 0 and self.differing == 0 and self.unmatched == 0 and self.result.failed == 0

    def __enter__(self) -> RerunResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.result.store.close()


def rerun(store: str | Path, batch: str | None = None, runs: int | None = None, into: str | Path | None = None,
          executor: Executor | str | None = None, workers: int | None = None,
          progress: Progress | None = None) -> RerunResult:
    """Run a stored batch again from what the store recorded, and compare with the stored runs.

    Args:
        store: the store holding the batch (opened read only; it is not written).
        batch: its id or a unique prefix (the latest batch when None).
        runs: replicates per point to run again (default: all the batch's); the first ``runs``.
        into: a store file for the new runs (default: in memory); not ``store`` itself, where the
            batch's runs are already stored and nothing would run.
        executor, workers, progress: as :func:`aftermath.run.ensemble`.

    Raises :class:`StoreError` when the batch cannot be run again from the store (its scenario or
    seeds were not recorded, or the rebuilt variants do not hash as the stored runs say).
    """
    src_path = str(store)
    if into is not None and Path(into).resolve() == Path(src_path).resolve():
        raise StoreError("--into must be another store than the one the batch is read from "
                         "(its runs are already there, so nothing would run)")
    with Store(src_path, read_only=True, name="store") as src:  # (rerun's argument, not a flag)
        prov = src.provenance(batch)
        base = src.scenario(prov["batch_id"])
        bid = prov["batch_id"]
        stored = {int(p): str(h) for p, h in src.con.execute(
            "SELECT DISTINCT point, scenario_hash FROM runs WHERE batch_id = ?", [bid]).fetchall()}
    n = prov["runs"] if runs is None else int(runs)
    if n < 1:
        raise ValueError(f"runs must be >= 1, got {n}")
    if prov["days"] is None:
        raise StoreError(f"batch {bid} has no recorded horizon (days)")
    notes: list[str] = []
    seeds = _seeds(prov, n, notes)
    points = [Point(str(label), dict(ov)) for label, ov in prov["points"] or []]
    if not points:
        raise StoreError(f"batch {bid} records no points")
    for i, p in enumerate(points):
        variant = _load.with_overrides(base, p.overrides, source=f"<rerun {p.label}>")
        if i in stored and scenario_hash(variant) != stored[i]:
            raise StoreError(f"batch {bid}: point {i} ({p.label!r}) rebuilt from the store does not hash as its "
                             "stored runs (the order of its overrides was not recorded?); cannot re-run it exactly")
    now = versions()["aftermath_version"]
    if prov["aftermath_version"] not in (None, now):
        notes.append(f"the batch was written by aftermath {prov['aftermath_version']}, this is {now}: "
                     "results may differ")
    spec = {k: v for k, v in (prov["spec"] or {}).items() if k != "points"}
    ex, owned = _executor(executor, workers)
    try:
        res = run_batch(prov["kind"], base, points, n, prov["master_seed"], prov["engine"], prov["days"], ex,
                        None if into is None else str(into), progress, spec=spec, baseline=prov["baseline"],
                        seeds=seeds, source=prov["source"])
    finally:
        if owned:
            ex.close()
    try:
        check = compare_runs(res.store, res.batch_id, src_path, bid)
    except BaseException:
        res.store.close()
        raise
    compared = int(check.attrs.get("compared", 0))
    differing = int(check.attrs.get("differing", 0))
    unmatched = int(check.attrs.get("unmatched", 0))
    return RerunResult(src_path, bid, prov, res, check, compared, differing, unmatched, notes)


def _seeds(prov: dict[str, Any], n: int, notes: list[str]) -> list[int]:
    """The seeds of the first ``n`` replicates: recorded ones, or derived by the recorded scheme."""
    recorded = prov["seeds"]
    if recorded is not None and len(recorded) >= n:
        return [int(s) for s in recorded[:n]]
    if prov["seed_scheme"] not in (None, SEED_SCHEME) or prov["master_seed"] is None:
        raise StoreError(f"batch {prov['batch_id']} records {len(recorded or [])} seeds and another seed scheme "
                         f"({prov['seed_scheme']!r}); cannot derive {n}")
    derived = replicate_seeds(prov["master_seed"], n)
    if recorded is not None and derived[: len(recorded)] != [int(s) for s in recorded]:
        raise StoreError(f"batch {prov['batch_id']}: its recorded seeds are not those its master seed derives")
    if recorded is None:
        notes.append("seeds not recorded: derived from the master seed (the one scheme aftermath has used)")
    return derived


def compare_runs(new: Store, new_batch: str, old_path: str, old_batch: str) -> pd.DataFrame:
    """:func:`_compare_runs`, with DuckDB's errors reading the stored runs (a block found corrupt
    only when read) as a :class:`StoreError` that names the store."""
    try:
        return _compare_runs(new, new_batch, old_path, old_batch)
    except duckdb.Error as exc:
        what = "is damaged" if damaged_error(exc) else "cannot be compared"
        raise StoreError(f"the store {old_path!r} {what}: {str(exc).strip().splitlines()[0]}") from None


def _compare_runs(new: Store, new_batch: str, old_path: str, old_batch: str) -> pd.DataFrame:
    """Compare the runs of ``new_batch`` in ``new`` with those of ``old_batch`` in the store at
    ``old_path``, pairing runs by (point, replicate), every table row for row (``run_id`` aside).

    Returns one row per table: ``table``, ``runs`` (pairs compared), ``differing`` (pairs with at
    least one row in one and not the other). ``attrs`` holds ``compared`` and ``differing`` over all
    tables, and ``unmatched``: new runs without a done stored run to compare with.
    """
    con = new.con
    alias = "_rerun_src"
    con.execute(f"ATTACH '{old_path.replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _pairs AS
            SELECT n.run_id AS new_id, o.run_id AS old_id, n.point, n.replicate, n.seed = o.seed AS same_seed
            FROM runs n JOIN {alias}.runs o ON n.point = o.point AND n.replicate = o.replicate
            WHERE n.batch_id = ? AND o.batch_id = ? AND n.status = 'done' AND o.status = 'done'""",
                    [new_batch, old_batch])
        pairs = int(con.execute("SELECT count(*) FROM _pairs").fetchone()[0])  # type: ignore[index]
        done = int(con.execute("SELECT count(*) FROM runs WHERE batch_id = ? AND status = 'done'",
                               [new_batch]).fetchone()[0])  # type: ignore[index]
        rows = [{"table": "runs.seed", "runs": pairs, "differing": int(con.execute(
            "SELECT count(*) FROM _pairs WHERE NOT same_seed").fetchone()[0])}]  # type: ignore[index]
        bad: set[tuple[int, int]] = {(int(p), int(r)) for p, r in con.execute(
            "SELECT point, replicate FROM _pairs WHERE NOT same_seed").fetchall()}
        for table in RUN_TABLES:
            mine = _columns(con, table)
            theirs = _columns(con, f"{alias}.{table}")
            cols = [c for c in mine if c != "run_id" and c in theirs]
            extra = [c for c in (*mine, *theirs) if c != "run_id" and c not in cols]
            sel = ", ".join(f"t.{quote_ident(c)}" for c in cols)  # column names come from the store
            sel = f", {sel}" if sel else ""
            diff = con.execute(f"""
                WITH a AS (SELECT p.point, p.replicate{sel} FROM {table} t
                           JOIN _pairs p ON t.run_id = p.new_id),
                     b AS (SELECT p.point, p.replicate{sel} FROM {alias}.{table} t
                           JOIN _pairs p ON t.run_id = p.old_id),
                     d AS ((SELECT * FROM a EXCEPT ALL SELECT * FROM b)
                           UNION ALL (SELECT * FROM b EXCEPT ALL SELECT * FROM a))
                SELECT DISTINCT point, replicate FROM d""").fetchall()
            found = {(int(p), int(r)) for p, r in diff}
            if extra:  # columns only one side has: a run with a non-NULL value there differs
                for c in dict.fromkeys(extra):
                    where, ids = (table, "new_id") if c in mine else (f"{alias}.{table}", "old_id")
                    found |= {(int(p), int(r)) for p, r in con.execute(
                        f'SELECT DISTINCT p.point, p.replicate FROM {where} t JOIN _pairs p '
                        f"ON t.run_id = p.{ids} WHERE t.{quote_ident(c)} IS NOT NULL").fetchall()}
            bad |= found
            rows.append({"table": table, "runs": pairs, "differing": len(found)})
        con.execute("DROP TABLE _pairs")
    finally:
        con.execute(f"DETACH {alias}")
    out = pd.DataFrame(rows, columns=["table", "runs", "differing"])
    out.attrs.update(compared=pairs, differing=len(bad), unmatched=done - pairs)
    return out


def _columns(con: Any, table: str) -> list[str]:
    return [str(r[0]) for r in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()]
