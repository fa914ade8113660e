"""The tables of the results store, as DuckDB DDL. docs/store.md describes every column.

One row of ``runs`` per run; every other table refers to it by ``run_id``. A run is written in one
transaction together with all its rows, so a run whose ``runs`` row exists is complete. ``UNIQUE
(batch_id, point, replicate)`` is what makes resuming safe: a replicate of a point of a batch can be
stored once only.

Schema 2 added the batch's provenance to ``batches`` (:data:`PROVENANCE_COLUMNS`): the whole
canonical scenario, where it came from, the replicate seeds, the baseline's label and the versions
that wrote it, so a batch can be repeated from the store alone. A store written by schema 1 still
opens: opened for writing it gains the columns (``ALTER TABLE ... ADD COLUMN``, NULL for its old
batches); opened read only it is read as if they were NULL ("not recorded").

Schema 3 names the flat ``summaries`` columns after the record's measures
(:mod:`aftermath.record.measures`): ``humans`` (which held S alone) gave way to ``susceptible`` and
``latent``; the peaks, the attempts turned away, the swept and ``killed_by_policy`` got columns of
their own. An older store opened for writing gains them (NULL for its old runs, whose summaries'
JSON still holds what they recorded); its old ``humans`` column stays, NULL for new runs.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

#: Columns of ``batches`` added by schema 2, with their types; NULL in batches of older stores.
PROVENANCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("scenario_json", "VARCHAR"),  # canonical JSON of the whole base scenario; sha256 = scenario_hash
    ("source", "VARCHAR"),  # where the scenario came from: a built-in's name, a file's path, <python>
    ("seeds", "JSON"),  # the replicate seeds, in replicate order
    ("point_overrides", "JSON"),  # [[label, [[path, value], ...]], ...]: overrides in the order applied
    ("seed_scheme", "VARCHAR"),  # how they derive from master_seed
    ("baseline", "VARCHAR"),  # the label of the point the others are weighed against, or NULL
    ("aftermath_version", "VARCHAR"),  # of the process that created the batch
    ("versions", "JSON"),  # numpy, numba, python and duckdb versions of that process
)

#: Flat numeric columns of ``summaries``; everything else of :meth:`Result.summary` is in its JSON.
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("initial_humans", "DOUBLE"),
    ("survivors", "DOUBLE"),
    ("susceptible", "DOUBLE"),
    ("latent", "DOUBLE"),
    ("hybrids", "DOUBLE"),
    ("ferals", "DOUBLE"),
    ("deaths", "DOUBLE"),
    ("turned", "DOUBLE"),
    ("infections", "DOUBLE"),
    ("attack_rate", "DOUBLE"),
    ("peak_ferals", "DOUBLE"),
    ("peak_ferals_day", "INTEGER"),
    ("peak_infections", "DOUBLE"),
    ("peak_infections_day", "INTEGER"),
    ("peak_day", "INTEGER"),  # = peak_ferals_day (the name before schema 3)
    ("elimination_day", "INTEGER"),
    ("extinction_day", "INTEGER"),
    ("births", "DOUBLE"),
    ("breaches", "DOUBLE"),
    ("turned_away_attempts", "DOUBLE"),
    ("turned_away_attempts_healthy", "DOUBLE"),
    ("excluded", "DOUBLE"),  # = turned_away_attempts (the name before schema 3)
    ("excluded_healthy", "DOUBLE"),  # = turned_away_attempts_healthy
    ("culled", "DOUBLE"),
    ("hybrids_swept", "DOUBLE"),
    ("ferals_swept", "DOUBLE"),
    ("killed_by_policy", "DOUBLE"),
    ("swept", "DOUBLE"),  # = ferals_swept + hybrids_swept (as before schema 3)
    ("swept_hybrids", "DOUBLE"),  # = hybrids_swept
    ("starved", "DOUBLE"),
)

DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS batches (
        batch_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        scenario VARCHAR NOT NULL,
        scenario_hash VARCHAR NOT NULL,
        engine VARCHAR NOT NULL,
        master_seed UBIGINT NOT NULL,
        runs INTEGER NOT NULL,
        days INTEGER,
        points INTEGER NOT NULL,
        spec JSON NOT NULL,
        created_at TIMESTAMP NOT NULL,
        """ + ",\n        ".join(f"{name} {kind}" for name, kind in PROVENANCE_COLUMNS) + """
    )""",
    """CREATE SEQUENCE IF NOT EXISTS run_ids START 1""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id BIGINT PRIMARY KEY,
        batch_id VARCHAR NOT NULL,
        point INTEGER NOT NULL,
        variant VARCHAR NOT NULL,
        overrides JSON NOT NULL,
        replicate INTEGER NOT NULL,
        seed UBIGINT NOT NULL,
        scenario VARCHAR NOT NULL,
        scenario_hash VARCHAR NOT NULL,
        engine VARCHAR NOT NULL,
        days INTEGER NOT NULL,
        status VARCHAR NOT NULL,
        error VARCHAR,
        aftermath_version VARCHAR,
        numpy_version VARCHAR,
        numba_version VARCHAR,
        python_version VARCHAR,
        host VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        init_s DOUBLE,
        run_s DOUBLE,
        wall_s DOUBLE,
        store_s DOUBLE,
        UNIQUE (batch_id, point, replicate)
    )""",
    """CREATE TABLE IF NOT EXISTS series (
        run_id BIGINT NOT NULL, day INTEGER NOT NULL, zone VARCHAR NOT NULL, state VARCHAR NOT NULL,
        count DOUBLE NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS flows (
        run_id BIGINT NOT NULL, day INTEGER NOT NULL, zone VARCHAR NOT NULL, flow VARCHAR NOT NULL,
        count DOUBLE NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS society (
        run_id BIGINT NOT NULL, day INTEGER NOT NULL, zone VARCHAR NOT NULL,
        fear DOUBLE, vigilance DOUBLE, supplies DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS strain_series (
        run_id BIGINT NOT NULL, day INTEGER NOT NULL, strain INTEGER NOT NULL, count DOUBLE NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS chronicle (
        run_id BIGINT NOT NULL, day INTEGER, zone VARCHAR, kind VARCHAR, text VARCHAR, value DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS strains (
        run_id BIGINT NOT NULL, strain VARCHAR, parent VARCHAR, day INTEGER, zone VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS ledger (run_id BIGINT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS summaries (run_id BIGINT PRIMARY KEY, "
    + ", ".join(f"{name} {kind}" for name, kind in SUMMARY_COLUMNS)
    + ", summary JSON)",
]

#: Tables with one group of rows per run (the ``runs`` row is written last, in the same transaction).
RUN_TABLES = ("series", "flows", "society", "strain_series", "chronicle", "strains", "ledger", "summaries")
#: Every table of the schema: the only ones ``export`` writes out (their names name files).
KNOWN_TABLES = frozenset(("meta", "batches", "runs", *RUN_TABLES))
#: Tables whose columns follow what the run produced: new columns are added as they appear.
OPEN_TABLES = ("strains", "ledger")
