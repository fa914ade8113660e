"""The results store: one DuckDB file, written by one writer, read as pandas frames.

Writing: :meth:`Store.write` inserts a group of runs in one transaction; each run's tables are
scanned by DuckDB straight from Arrow (``INSERT ... BY NAME SELECT ... FROM`` a registered table),
never row by row. If anything fails the transaction is rolled back and none of those runs is in
the store. Only the process that owns the :class:`Store` writes; workers send it records.

Reading: every method returns a :class:`pandas.DataFrame`; quantiles are computed in SQL.
:meth:`Store.provenance` and :meth:`Store.scenario` say what a batch ran, from the store alone.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from aftermath.defaults import DEFAULT_PATH  # defined there, for the command line to read without DuckDB
from aftermath.store.records import RunRecord, sha256
from aftermath.store.schema import (
    DDL,
    KNOWN_TABLES,
    OPEN_TABLES,
    PROVENANCE_COLUMNS,
    RUN_TABLES,
    SCHEMA_VERSION,
    SUMMARY_COLUMNS,
)

if TYPE_CHECKING:
    from aftermath.scenario.schema import Scenario

DEFAULT_Q = (0.05, 0.25, 0.5, 0.75, 0.95)

_RUN_COLUMNS = (
    "batch_id", "point", "variant", "overrides", "replicate", "seed", "scenario", "scenario_hash", "engine",
    "days", "status", "error", "aftermath_version", "numpy_version", "numba_version", "python_version", "host",
    "started_at", "finished_at", "init_s", "run_s", "wall_s",
)
_RUN_TYPES = {
    "point": pa.int32(), "replicate": pa.int32(), "seed": pa.uint64(), "days": pa.int32(),
    "started_at": pa.timestamp("us"), "finished_at": pa.timestamp("us"),
    "init_s": pa.float64(), "run_s": pa.float64(), "wall_s": pa.float64(),
}


#: Tables written by ``aftermath calibrate`` only, created the first time a calibration writes to a
#: store (a store that never held a calibration does not have them; its schema version is unchanged).
CALIBRATION_DDL = (
    """CREATE TABLE IF NOT EXISTS calibrations (
        calibration_id VARCHAR PRIMARY KEY,
        scenario VARCHAR NOT NULL,
        scenario_hash VARCHAR NOT NULL,
        scenario_json VARCHAR,
        source VARCHAR,
        engine VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        spec JSON NOT NULL,
        data JSON NOT NULL,
        status VARCHAR NOT NULL,
        best JSON,
        summary JSON,
        aftermath_version VARCHAR,
        created_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS calibration_trials (
        calibration_id VARCHAR NOT NULL,
        trial INTEGER NOT NULL,
        stage VARCHAR NOT NULL,
        params JSON NOT NULL,
        log_likelihood DOUBLE,
        log_prior DOUBLE,
        accepted BOOLEAN,
        wall_s DOUBLE,
        PRIMARY KEY (calibration_id, trial))""",
)
CALIBRATION_TABLES = ("calibrations", "calibration_trials")
#: Every table a store written by aftermath may hold (what ``export`` writes out).
STORE_TABLES = KNOWN_TABLES | frozenset(CALIBRATION_TABLES)
_TRIAL_COLUMNS = ("calibration_id", "trial", "stage", "params", "log_likelihood", "log_prior", "accepted", "wall_s")


class StoreError(RuntimeError):
    """The store cannot be opened or asked what was asked; the message says why."""


class Store:
    """A results store in a DuckDB file (``":memory:"`` for one that lives only in this process).

    Args:
        path: the file; created with the schema when missing unless ``read_only``.
        read_only: open for reading only (several readers may share a file no writer holds).
        name: what the user called the path, for errors: the flag (``--store``, the default) or,
            for a command that takes the store as an argument, ``"store"``.
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, read_only: bool = False, sandbox: bool = False,
                 name: str = "--store") -> None:
        self.path = str(path)
        if sandbox and not read_only:
            raise StoreError("a sandboxed store is opened read only")
        existed = self.path != ":memory:" and Path(self.path).exists()
        check_path(self.path, read_only, name)
        config: dict[str, Any] = dict(SANDBOX) if sandbox else {}
        try:
            self.con = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise _open_error(self.path, exc) from None
        self.read_only = read_only
        self.sandbox = sandbox
        try:
            if existed:
                self._check_intact()
                self._check_own()
            if sandbox:
                self.con.execute("SET lock_configuration = true")
            if not read_only:
                for ddl in DDL:
                    self.con.execute(ddl)
                self._migrate()
        except duckdb.Error as exc:
            self.con.close()
            raise _open_error(self.path, exc) from None
        except StoreError:
            self.con.close()
            raise
        self._columns: dict[str, list[str]] = {}

    def _check_intact(self) -> None:
        """A damaged store is named as such when opened, not by an IOException in the middle of a
        command: the file must hold at least the blocks in use (:func:`short_of`)."""
        wal = Path(self.path + ".wal")
        if wal.exists():  # blocks of a WAL being replayed are not in the file yet
            return
        row = self.con.execute(
            "SELECT block_size, used_blocks FROM pragma_database_size() WHERE database_name = current_database()"
        ).fetchone()
        if row is None or row[0] is None or row[1] is None:
            return
        size = Path(self.path).stat().st_size
        need = short_of(size, int(row[0]), int(row[1]))
        if need:
            raise StoreError(f"the store {self.path!r} is damaged: the file has {size:,} bytes, its blocks in use "
                             f"need {need:,} (truncated?); expected a whole DuckDB file written by aftermath")

    def _check_own(self) -> None:
        """A store holds aftermath's tables and sequence and nothing else: a view (which every
        command but ``query`` would run with full file access), another schema or a macro makes it
        a hand-made file, refused whatever command opens it."""
        db = self.con.execute("SELECT current_database()").fetchone()
        name = db[0] if db else ""
        odd = self.con.execute(
            "SELECT 'view ' || schema_name || '.' || view_name FROM duckdb_views() "
            "WHERE NOT internal AND database_name = ? "
            "UNION ALL SELECT 'schema ' || schema_name FROM duckdb_schemas() "
            "WHERE NOT internal AND database_name = ? AND schema_name <> 'main' "
            "UNION ALL SELECT 'macro ' || function_name FROM duckdb_functions() "
            "WHERE NOT internal AND database_name = ? "
            "UNION ALL SELECT 'table ' || schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE database_name = ? AND schema_name <> 'main'", [name, name, name, name]).fetchall()
        if odd:
            raise StoreError(f"the store {self.path!r} holds {odd[0][0]!r}, which aftermath never writes; expected "
                             "a store written by aftermath (tables and a sequence only)")

    def _migrate(self) -> None:
        """Bring a store written by an older schema up to this one (schema 1 lacks the provenance
        columns of ``batches``, schema 2 some of ``summaries``: they are added, NULL for the rows
        already there)."""
        for name, kind in PROVENANCE_COLUMNS:
            self.con.execute(f"ALTER TABLE batches ADD COLUMN IF NOT EXISTS {name} {kind}")
        for name, kind in SUMMARY_COLUMNS:
            self.con.execute(f"ALTER TABLE summaries ADD COLUMN IF NOT EXISTS {name} {kind}")
        self.con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        self.con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND TRY_CAST(value AS INTEGER) < ?",
                         [str(SCHEMA_VERSION), SCHEMA_VERSION])  # never downgrade a newer store's label

    def schema_version(self) -> int:
        """The schema the store follows (1 for a store from before provenance opened read only)."""
        try:
            rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        except duckdb.Error:
            return 0
        return int(rows[0][0]) if rows else 0

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------
    def add_batch(self, batch: dict[str, Any]) -> None:
        """Record a batch (an ensemble or a sweep) once; a rerun of the same batch changes nothing,
        except that provenance a batch of an older store lacks (NULL) is filled in: its id hashes
        the scenario, engine, seeds and points, so what the rerun brings is what the batch ran."""
        row = {**batch, "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}
        cols = list(row)
        self.con.execute(
            f"INSERT OR IGNORE INTO batches ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols],
        )
        fill = [c for c, _ in PROVENANCE_COLUMNS if batch.get(c) is not None]
        if fill:
            self.con.execute(
                f"UPDATE batches SET {', '.join(f'{c} = coalesce({c}, ?)' for c in fill)} WHERE batch_id = ?",
                [*(batch[c] for c in fill), batch["batch_id"]])

    def done(self, batch_id: str) -> set[tuple[int, int]]:
        """(point, replicate) of the runs of ``batch_id`` already stored whole."""
        rows = self.con.execute(
            "SELECT point, replicate FROM runs WHERE batch_id = ? AND status = 'done'", [batch_id]
        ).fetchall()
        return {(int(p), int(r)) for p, r in rows}

    def write(self, records: Sequence[RunRecord]) -> list[int | None]:
        """Insert runs in one transaction: all of them, with every row, or none.

        A run already stored ``done`` under the same (batch, point, replicate) is skipped (its id is
        ``None`` in the answer); a stored ``failed`` one is replaced. Each table gets one
        ``INSERT`` for the whole group, so writing runs in groups is cheaper than one by one.
        Returns the new run ids, in the order of ``records``.
        """
        if not records:
            return []
        t0 = time.perf_counter()
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            ids = self._write_group(records, t0)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return ids

    def write_run(self, record: RunRecord) -> int | None:
        """Insert one run in its own transaction."""
        return self.write([record])[0]

    def _write_group(self, records: Sequence[RunRecord], t0: float) -> list[int | None]:
        con = self.con
        keys = pa.table({
            "batch_id": [r.key[0] for r in records], "point": [r.key[1] for r in records],
            "replicate": [r.key[2] for r in records],
        })
        con.register("_keys", keys)
        try:
            prior = con.execute(
                "SELECT r.batch_id, r.point, r.replicate, r.run_id, r.status FROM runs r "
                "JOIN _keys k USING (batch_id, point, replicate)").fetchall()
        finally:
            con.unregister("_keys")
        done = {(b, int(p), int(r)) for b, p, r, _, st in prior if st == "done"}
        stale = [int(rid) for *_, rid, st in prior if st != "done"]
        if stale:
            con.execute(f"DELETE FROM runs WHERE run_id IN ({', '.join(map(str, stale))})")
        todo: list[RunRecord] = []
        seen: set[tuple[str, int, int]] = set(done)
        for rec in records:
            if rec.key not in seen:
                seen.add(rec.key)
                todo.append(rec)
        ids: dict[tuple[str, int, int], int] = {}
        if todo:
            rows = con.execute(f"SELECT nextval('run_ids') FROM range({len(todo)})").fetchall()
            ids = {rec.key: int(r[0]) for rec, r in zip(todo, rows, strict=True)}
        for name in RUN_TABLES:
            parts = []
            for rec in todo:
                table = rec.tables.get(name)
                if table is not None and table.num_rows:
                    rid = pa.array(np.full(table.num_rows, ids[rec.key], dtype=np.int64))
                    parts.append(table.append_column("run_id", rid))
            if parts:
                self._insert(name, pa.concat_tables(parts, promote_options="permissive"))
        if todo:
            elapsed = (time.perf_counter() - t0) / len(todo)
            types = {c: _RUN_TYPES.get(c, pa.string()) for c in _RUN_COLUMNS}
            cols = {c: pa.array([rec.meta.get(c) for rec in todo], types[c]) for c in _RUN_COLUMNS}
            cols["run_id"] = pa.array([ids[rec.key] for rec in todo], pa.int64())
            cols["store_s"] = pa.array([elapsed] * len(todo), pa.float64())
            self._insert("runs", pa.table(cols))
        return [None if rec.key in done else ids.get(rec.key) for rec in records]

    def _insert(self, name: str, table: pa.Table) -> None:
        """``INSERT INTO name BY NAME SELECT * FROM table``, DuckDB scanning the Arrow data."""
        if name in OPEN_TABLES:
            self._widen(name, table)
        view = f"_in_{name}"
        self.con.register(view, table)
        try:
            self.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def _widen(self, name: str, table: pa.Table) -> None:
        """Add to an open table (strains, ledger) the columns this run brings that it lacks."""
        have = self._columns.get(name)
        if have is None:
            have = self._columns[name] = [r[0] for r in self.con.execute(f"DESCRIBE {name}").fetchall()]
        new = [c for c in table.column_names if c not in have]
        if not new:
            return
        view = f"_ty_{name}"
        self.con.register(view, table.slice(0, 0))
        try:
            types = dict(self.con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {view})").fetchall())
        finally:
            self.con.unregister(view)
        for c in new:
            self.con.execute(f"ALTER TABLE {name} ADD COLUMN {quote_ident(c)} {types[c]}")
            have.append(c)

    # -- reading ----------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Any SQL over the store, as a frame (of the last statement, when there are several)."""
        try:
            cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
            if cur is None:  # only comments, blanks or semicolons: DuckDB ran nothing
                raise StoreError(f"query: got {sql[:80]!r}, expected an SQL statement, e.g. SELECT * FROM runs LIMIT 5")
            return cur.df()
        except duckdb.Error as exc:
            if damaged_error(exc):
                raise StoreError(f"the store {self.path!r} is damaged: {_first_line(exc)}") from None
            if self.sandbox and isinstance(exc, duckdb.PermissionException | duckdb.InvalidInputException):
                raise StoreError(f"query refused: {_first_line(exc)} (a query reads the store, read only, and "
                                 "nothing else: no files, extensions or settings)") from None
            raise StoreError(f"query failed: {exc}") from None

    def batches(self) -> pd.DataFrame:
        return self.query("SELECT * FROM batches ORDER BY created_at")

    def batch_id(self, batch: str | None = None) -> str:
        """The full id of ``batch`` (an id or a unique prefix of one); the latest batch when None."""
        if batch is None:
            rows = self.con.execute("SELECT batch_id FROM batches ORDER BY created_at DESC LIMIT 1").fetchall()
            if not rows:
                raise StoreError(f"the store {self.path!r} has no batches")
            return str(rows[0][0])
        rows = self.con.execute("SELECT batch_id FROM batches WHERE starts_with(batch_id, ?)", [batch]).fetchall()
        if len(rows) != 1:
            raise StoreError(f"{'no' if not rows else 'more than one'} batch matches {batch!r}")
        return str(rows[0][0])

    def provenance(self, batch: str | None = None) -> dict[str, Any]:
        """What a batch ran, as the store recorded it: enough to run it again from the store alone.

        Keys: ``batch_id``, ``kind``; ``scenario`` (the canonical JSON text of the whole base
        scenario; :meth:`scenario` validates it), ``scenario_name``, ``scenario_hash`` (sha256 of
        that text), ``scenario_origin`` (``stored``, or ``builtin NAME`` for a batch of an older
        store whose hash a built-in still matches), ``source`` (built-in name or file path);
        ``engine``, ``master_seed``, ``seeds`` (run seed of each replicate, in order),
        ``seed_scheme``, ``runs``, ``days``, ``points`` (``[[label, {path: value}], ...]``, the
        overrides in the order they were applied; an older store's are in ``spec``'s sorted order), ``spec``;
        ``baseline`` (the label of the point the others are weighed against, or None);
        ``aftermath_version``, ``versions``, ``created``; and ``missing``, the keys the store did not
        record (None in the answer: a batch written before schema 2). A batch of an older store
        takes its seeds and version from its ``runs`` rows when it has some.
        """
        bid = self.batch_id(batch)
        have = self._batch_columns()
        cols = ["kind", "scenario", "scenario_hash", "engine", "master_seed", "runs", "days", "points", "spec",
                "created_at", *(c for c, _ in PROVENANCE_COLUMNS)]
        select = ", ".join(c if c in have else f"NULL AS {c}" for c in cols)
        row = self.con.execute(f"SELECT {select} FROM batches WHERE batch_id = ?", [bid]).fetchone()
        if row is None:  # pragma: no cover - batch_id found it
            raise StoreError(f"no batch {bid!r}")
        b = dict(zip(cols, row, strict=True))
        spec = _loads(b["spec"]) or {}
        text = b["scenario_json"]
        origin: str | None = "stored" if text is not None else None
        if text is not None and sha256(str(text)) != b["scenario_hash"]:
            raise StoreError(f"batch {bid}: the stored scenario does not hash to its scenario_hash (store corrupted?)")
        if text is None:
            found = _builtin_with_hash(str(b["scenario"]), str(b["scenario_hash"]))
            if found is not None:
                text, origin = found[1], f"builtin {found[0]}"
        ordered = _loads(b["point_overrides"])
        points = ([[label, dict(pairs)] for label, pairs in ordered] if ordered is not None
                  else spec.get("points"))
        seeds = _loads(b["seeds"])
        if seeds is None:
            seeds = self._run_seeds(bid)
        version = b["aftermath_version"]
        if version is None:
            found_v = [str(r[0]) for r in self.con.execute(
                "SELECT DISTINCT aftermath_version FROM runs WHERE batch_id = ? AND aftermath_version IS NOT NULL "
                "ORDER BY 1", [bid]).fetchall()]
            version = ", ".join(found_v) or None
        created = b["created_at"]
        out: dict[str, Any] = {
            "batch_id": bid, "kind": b["kind"], "scenario": None if text is None else str(text),
            "scenario_name": b["scenario"], "scenario_hash": b["scenario_hash"], "scenario_origin": origin,
            "source": b["source"], "engine": b["engine"],
            "master_seed": None if b["master_seed"] is None else int(b["master_seed"]),
            "seeds": seeds, "seed_scheme": b["seed_scheme"], "runs": int(b["runs"]),
            "days": None if b["days"] is None else int(b["days"]), "points": points,
            "spec": spec, "baseline": b["baseline"], "aftermath_version": version,
            "versions": _loads(b["versions"]),
            "created": created.isoformat() if isinstance(created, dt.datetime) else created,
        }
        out["missing"] = [k for k in ("scenario", "source", "seeds", "seed_scheme", "baseline", "aftermath_version",
                                      "versions") if out[k] is None]
        return out

    def scenario(self, batch: str | None = None, point: int | str | None = None) -> Scenario:
        """The validated base scenario a batch ran, read from the store (see :meth:`provenance`);
        with ``point`` (an index or a variant label), that point's scenario: the base with its
        overrides applied in their recorded order.

        Raises :class:`StoreError` when the store did not record it (a batch written before
        schema 2 whose scenario no built-in matches by hash), or for an unknown point.
        """
        from aftermath.scenario.load import ScenarioError, from_dict, with_overrides

        prov = self.provenance(batch)
        if point is not None:
            points = prov["points"] or []
            labels = [str(p[0]) for p in points]
            idx = labels.index(point) if isinstance(point, str) and point in labels else point
            if not isinstance(idx, int) or not 0 <= idx < len(points):
                raise StoreError(f"batch {prov['batch_id']} has no point {point!r}; its points: {labels}")
            base = self.scenario(prov["batch_id"])
            try:
                return with_overrides(base, points[idx][1], source=f"<store batch {prov['batch_id']} {labels[idx]}>")
            except ScenarioError as exc:
                raise StoreError(f"batch {prov['batch_id']}: point {labels[idx]!r} does not load: {exc}") from None
        if prov["scenario"] is None:
            raise StoreError(f"batch {prov['batch_id']} has no recorded scenario ({prov['scenario_name']!r}; "
                             "a store from before schema 2, and no built-in has its hash): not recorded")
        try:
            return from_dict(json.loads(prov["scenario"]), source=f"<store batch {prov['batch_id']}>")
        except (ValueError, ScenarioError) as exc:
            raise StoreError(f"batch {prov['batch_id']}: the stored scenario does not load: {exc}") from None

    def _batch_columns(self) -> set[str]:
        return {str(r[0]) for r in self.con.execute("SELECT column_name FROM (DESCRIBE batches)").fetchall()}

    def _run_seeds(self, bid: str) -> list[int] | None:
        """Replicate seeds from the batch's ``runs`` rows (exact integers, not pandas' floats)."""
        rows = self.con.execute(
            "SELECT replicate, min(seed) FROM runs WHERE batch_id = ? GROUP BY replicate ORDER BY replicate",
            [bid]).fetchall()
        if not rows or [int(r) for r, _ in rows] != list(range(len(rows))):
            return None
        return [int(s) for _, s in rows]

    def runs(self, batch: str | None = None, status: str | None = None) -> pd.DataFrame:
        """The ``runs`` table, of one batch or of all (``batch=None``), optionally of one status."""
        where, params = self._where(batch, status)
        return self.query(f"SELECT * FROM runs {where} ORDER BY run_id", params)

    def summaries(self, batch: str | None = None) -> pd.DataFrame:
        """One row per done run: its point, variant, replicate, seed and summary columns."""
        where, params = self._where(batch, "done", prefix="r.")
        return self.query(
            "SELECT r.point, r.variant, r.replicate, r.seed, s.* FROM summaries s JOIN runs r USING (run_id) "
            f"{where} ORDER BY r.point, r.replicate", params)

    def series(self, run_id: int | Iterable[int] | None = None, batch: str | None = None,
               state: str | None = None, zone: str | None = None) -> pd.DataFrame:
        """Counts per (run, day, zone, state), of some runs or of a batch's done runs."""
        conds, params = [], []
        if run_id is not None:
            ids = [run_id] if isinstance(run_id, int) else list(run_id)
            conds.append(f"run_id IN ({', '.join(str(int(i)) for i in ids)})")
        if batch is not None:
            conds.append("run_id IN (SELECT run_id FROM runs WHERE batch_id = ? AND status = 'done')")
            params.append(self.batch_id(batch))
        for col, val in (("state", state), ("zone", zone)):
            if val is not None:
                conds.append(f"{col} = ?")
                params.append(val)
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        return self.query(f"SELECT * FROM series {where} ORDER BY run_id, day, zone, state", params)

    def quantiles(self, batch: str | None = None, state: str = "Z", zone: str | None = None,
                  q: Sequence[float] = DEFAULT_Q) -> pd.DataFrame:
        """Quantiles across a batch's runs of one state's count per day, per point (variant).

        The count is summed over zones unless ``zone`` is given; quantiles interpolate linearly
        between order statistics (DuckDB ``quantile_cont``, numpy's default ``linear`` method).
        Columns: point, variant, day, n (runs), mean, then one column per quantile named ``q0.05``...
        """
        bid = self.batch_id(batch)
        qs = [float(x) for x in q]
        if not qs or any(not 0.0 <= x <= 1.0 for x in qs):
            raise StoreError(f"quantiles must lie in [0, 1], got {list(q)}")
        zone_cond = "AND s.zone = $zone" if zone is not None else ""
        params: dict[str, Any] = {"batch": bid, "state": state, "qs": qs}
        if zone is not None:
            params["zone"] = zone
        cols = ", ".join(f'qv[{i + 1}] AS "q{x:g}"' for i, x in enumerate(qs))
        # aggregate the batch's series first, then join the few runs rows: about twice as fast as
        # joining every series row to runs (benchmarks/RESULTS.md)
        sql = f"""
            WITH per_run AS (
                SELECT s.run_id, s.day, sum(s.count) AS value
                FROM series s
                WHERE s.state = $state {zone_cond}
                  AND s.run_id IN (SELECT run_id FROM runs WHERE batch_id = $batch AND status = 'done')
                GROUP BY s.run_id, s.day),
            agg AS (
                SELECT r.point, r.variant, p.day, count(*) AS n, avg(p.value) AS mean,
                       quantile_cont(p.value, $qs::DOUBLE[]) AS qv
                FROM per_run p JOIN runs r USING (run_id)
                GROUP BY r.point, r.variant, p.day)
            SELECT point, variant, day, n, mean, {cols} FROM agg ORDER BY point, day"""
        return self.query(sql, params)

    def summary_quantiles(self, batch: str | None = None, metrics: Sequence[str] = ("survivors", "deaths"),
                          q: Sequence[float] = DEFAULT_Q) -> pd.DataFrame:
        """Quantiles across runs of summary columns, one row per (point, variant, metric)."""
        from aftermath.store.schema import SUMMARY_COLUMNS

        known = [c for c, _ in SUMMARY_COLUMNS]
        bad = [m for m in metrics if m not in known]
        if bad:
            raise StoreError(f"unknown summary metric(s) {bad}; known: {known}")
        bid = self.batch_id(batch)
        qs = [float(x) for x in q]
        cols = ", ".join(f'qv[{i + 1}] AS "q{x:g}"' for i, x in enumerate(qs))
        parts = [
            f"SELECT r.point, r.variant, {k} AS k, '{m}' AS metric, count(s.{m}) AS n, avg(s.{m}) AS mean, "
            f"quantile_cont(s.{m}, $qs::DOUBLE[]) AS qv FROM summaries s JOIN runs r USING (run_id) "
            "WHERE r.batch_id = $batch AND r.status = 'done' GROUP BY r.point, r.variant"
            for k, m in enumerate(metrics)
        ]
        sql = f"SELECT point, variant, metric, n, mean, {cols} FROM ({' UNION ALL '.join(parts)}) ORDER BY point, k"
        return self.query(sql, {"batch": bid, "qs": qs})

    def _where(self, batch: str | None, status: str | None, prefix: str = "") -> tuple[str, list[Any]]:
        conds, params = [], []
        if batch is not None:
            conds.append(f"{prefix}batch_id = ?")
            params.append(self.batch_id(batch))
        if status is not None:
            conds.append(f"{prefix}status = ?")
            params.append(status)
        return (f"WHERE {' AND '.join(conds)}" if conds else ""), params

    # -- calibrations (aftermath calibrate) -----------------------------------------------------
    def ensure_calibration_tables(self) -> None:
        """Create the calibration tables if this store has none yet (a store opened for writing)."""
        for ddl in CALIBRATION_DDL:
            self.con.execute(ddl)

    def has_calibrations(self) -> bool:
        return "calibrations" in self.tables()

    def add_calibration(self, row: dict[str, Any]) -> None:
        """Record a calibration once; a rerun of the same one (same id) changes nothing."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        row = {**row, "created_at": now, "status": row.get("status", "running")}
        cols = list(row)
        self.con.execute(
            f"INSERT OR IGNORE INTO calibrations ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols])

    def finish_calibration(self, calibration_id: str, best: str, summary: str) -> None:
        self.con.execute(
            "UPDATE calibrations SET status = 'done', best = ?, summary = ?, finished_at = ? WHERE calibration_id = ?",
            [best, summary, dt.datetime.now(dt.UTC).replace(tzinfo=None), calibration_id])

    def write_trials(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert (or replace) trials of calibrations in one transaction: all of them or none."""
        if not rows:
            return
        table = pa.table({
            "calibration_id": pa.array([r["calibration_id"] for r in rows], pa.string()),
            "trial": pa.array([int(r["trial"]) for r in rows], pa.int32()),
            "stage": pa.array([r["stage"] for r in rows], pa.string()),
            "params": pa.array([r["params"] for r in rows], pa.string()),
            "log_likelihood": pa.array([r.get("log_likelihood") for r in rows], pa.float64()),
            "log_prior": pa.array([r.get("log_prior") for r in rows], pa.float64()),
            "accepted": pa.array([r.get("accepted") for r in rows], pa.bool_()),
            "wall_s": pa.array([r.get("wall_s") for r in rows], pa.float64()),
        })
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.register("_in_trials", table)
            try:
                self.con.execute("INSERT OR REPLACE INTO calibration_trials BY NAME SELECT * FROM _in_trials")
            finally:
                self.con.unregister("_in_trials")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def calibrations(self) -> pd.DataFrame:
        """The ``calibrations`` table (empty when the store never held one)."""
        if not self.has_calibrations():
            return pd.DataFrame(columns=["calibration_id", "scenario", "engine", "method", "status", "created_at"])
        return self.query("SELECT * FROM calibrations ORDER BY created_at")

    def calibration_trials(self, calibration_id: str) -> pd.DataFrame:
        """Every stored trial of a calibration, in order: trial, stage, params (JSON text),
        log_likelihood, log_prior, accepted, wall_s."""
        if not self.has_calibrations():
            return pd.DataFrame(columns=list(_TRIAL_COLUMNS))
        return self.query("SELECT * FROM calibration_trials WHERE calibration_id = ? ORDER BY trial", [calibration_id])

    # -- export -----------------------------------------------------------------------------
    def tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def export_parquet(self, directory: str | Path) -> list[Path]:
        """Every table as ``DIR/<table>.parquet`` (DuckDB ``COPY ... (FORMAT PARQUET)``).

        ``DIR`` is created if its parent exists (no other folder is created). Only the tables of the
        schema are exported, their names quoted: a store with any other table is refused, since its
        table names would otherwise name files and enter SQL.
        """
        out = Path(directory)
        names = self.tables()
        unknown = [n for n in names if n not in STORE_TABLES]
        if unknown:
            raise StoreError(f"the store {self.path!r} has table(s) {unknown!r} that are not in its schema; "
                             f"expected only {sorted(STORE_TABLES)} (not a store written by aftermath?)")
        if out.exists() and not out.is_dir():
            raise StoreError(f"--parquet {str(out)!r}: is a file, expected a folder")
        if not out.parent.is_dir():
            raise StoreError(f"--parquet {str(out)!r}: no folder {str(out.parent)!r} to create it in; "
                             "expected an existing folder or a new one inside an existing folder")
        out.mkdir(exist_ok=True)
        written = []
        for name in names:
            target = out / f"{name}.parquet"
            order = (" ORDER BY run_id" if name in (*RUN_TABLES, "runs")
                     else " ORDER BY calibration_id, trial" if name == "calibration_trials" else "")
            try:
                self.con.execute(f"COPY (SELECT * FROM {quote_ident(name)}{order}) TO '{_sql_str(target)}' "
                                 "(FORMAT PARQUET)")
            except duckdb.Error as exc:
                if damaged_error(exc):
                    raise StoreError(f"the store {self.path!r} is damaged: {_first_line(exc)}") from None
                raise StoreError(f"cannot export {name!r} to {str(target)!r}: {_first_line(exc)}") from None
            written.append(target)
        return written


#: DuckDB settings of a store opened for ``aftermath query``: the query can read the store's tables
#: and nothing else. No file is read or written (``read_csv``, ``read_text``, ``COPY TO``, ``ATTACH``
#: of another file, ``EXPORT DATABASE``), no extension is installed or loaded, nothing spills to a
#: temporary folder, and ``lock_configuration`` (set right after opening) refuses every ``SET``,
#: ``RESET`` and settings ``PRAGMA``. ``allowed_directories`` and ``allowed_paths`` keep their
#: defaults: empty apart from the store's own file (DuckDB adds it and its WAL; it refuses a COPY to them).
SANDBOX: dict[str, Any] = {
    "enable_external_access": False,
    "allow_unsigned_extensions": False,
    "allow_community_extensions": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "temp_directory": "",
}

#: The file header of a DuckDB database: the main header and two database headers of 4 KiB.
_HEADER_BYTES = 3 * 4096


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (any double quote doubled)."""
    return '"' + name.replace('"', '""') + '"'


def short_of(size: int, block_size: int, used_blocks: int) -> int:
    """The bytes a store file of ``size`` must have and lacks (0: none lacking): its header and the
    blocks in use. Not the header's total of blocks: DuckDB trims free blocks from the file's end
    and keeps counting them (a healthy store read 76,034,048 bytes against 294 blocks of 262,144,
    27 of them free), so only fewer bytes than the used blocks need is a truncation."""
    need = _HEADER_BYTES + block_size * used_blocks
    return need if size < need else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def damaged_error(exc: BaseException) -> bool:
    """An error DuckDB raises when the file is truncated or its blocks are corrupt."""
    text = str(exc)
    return isinstance(exc, duckdb.Error) and not isinstance(exc, duckdb.PermissionException) and any(
        s in text for s in ("Could not read enough bytes", "checksum", "Corrupt", "corrupt", "not a valid DuckDB",
                            "DuckDB database file", "Failed to deserialize", "in block at location"))


def check_path(path: str | Path, read_only: bool = False, name: str = "--store") -> None:
    """Whether ``path`` can be a store (:class:`Store` would refuse it with the same error), checked
    without creating or opening anything: for a command to refuse a bad path before it starts."""
    if str(path) != ":memory:":
        _check_file(Path(path), read_only, name)


def _check_file(path: Path, read_only: bool, name: str = "--store") -> None:
    """Refuse, before DuckDB touches it, a path that is no store file: a folder, a missing store to
    read, a new store in a folder that does not exist (nothing creates folders unasked), a file
    that is not a DuckDB database (the magic ``DUCK`` at byte 8). The errors start with ``name``
    (the flag, or ``store`` for an argument) and the path."""
    at = f"{name} {str(path)!r}"
    if path.is_dir():
        raise StoreError(f"{at}: is a folder, expected a DuckDB file")
    if not path.exists():
        if read_only:
            other = "pass --store PATH" if name.startswith("--") else "name another store"
            raise StoreError(f"{at}: no store there; expected a results store (run an ensemble first, or {other})")
        if not path.parent.is_dir():
            raise StoreError(f"{at}: no folder {str(path.parent)!r}; expected a file in an "
                             "existing folder (aftermath creates no folders)")
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise StoreError(f"{at}: cannot read it ({exc.strerror or exc})") from None
    if len(head) < 12 or head[8:12] != b"DUCK":
        what = "is empty" if not head else "is damaged or not a DuckDB file (no DUCK magic at byte 8)"
        raise StoreError(f"{at}: {what}; expected a results store written by aftermath")


def _open_error(path: str, exc: BaseException) -> StoreError:
    if damaged_error(exc) and "Could not set lock" not in str(exc):
        return StoreError(f"the store {path!r} is damaged: {_first_line(exc)}")
    return StoreError(f"cannot open the store {path!r}: {_first_line(exc)}")


def _loads(text: Any) -> Any:
    """A JSON column's value (DuckDB returns the text), or None."""
    if text is None:
        return None
    return json.loads(text) if isinstance(text, str) else text


def _builtin_with_hash(name: str, digest: str) -> tuple[str, str] | None:
    """(key, canonical JSON) of the built-in scenario called ``name`` that hashes to ``digest``."""
    from aftermath.scenario.load import builtin_names, load, to_dict
    from aftermath.store.records import canonical_json

    for key in builtin_names():
        try:
            sc = load(key)
        except Exception:  # a broken built-in must not stop reading a store
            continue
        text = canonical_json(to_dict(sc))
        if sc.name == name and sha256(text) == digest:
            return key, text
    return None


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")
