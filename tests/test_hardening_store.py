"""Issue 11, part 4: stores are untrusted input.

``aftermath query`` runs in DuckDB's sandbox (aftermath.store.store.SANDBOX): ordinary SELECTs over
the store's tables work, and no query can read or write a file, attach a database, install or load
an extension, or change a setting. ``export`` quotes table names and exports only the schema's
tables. A truncated or damaged store is named as such when opened (exit 2, one line), not by an
IOException in the middle of a command.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aftermath.cli import app
from aftermath.run import ensemble
from aftermath.store.store import SANDBOX, Store, StoreError, quote_ident

runner = CliRunner()


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s.duckdb"
    with ensemble("sir", runs=3, engine="ode", days=20, store=path, variants={"base": {}, "b": {"pathogen.beta": 0.3}}):
        pass
    return path


def refused(res: object) -> str:
    """The one line of a command refused with exit 2 and no traceback."""
    assert res.exit_code == 2, (res.exit_code, res.output)  # type: ignore[attr-defined]
    assert "Traceback" not in res.output  # type: ignore[attr-defined]
    lines = [line for line in res.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1, res.stderr  # type: ignore[attr-defined]
    return lines[0]


# -- query: a sandbox that reads the store and nothing else ----------------------------------------

def test_ordinary_selects_over_the_store_still_work(store_file: Path) -> None:
    sql = "SELECT variant, count(*) AS n, avg(survivors) AS s FROM summaries JOIN runs USING (run_id) GROUP BY 1"
    res = runner.invoke(app, ["query", "--store", str(store_file), "--json", sql])
    assert res.exit_code == 0, res.output
    rows = {r["variant"]: r for r in json.loads(res.stdout)}
    assert rows["base"]["n"] == 3 and rows["b"]["n"] == 3
    res = runner.invoke(app, ["query", "--store", str(store_file), "--json",
                              "SELECT json_extract(summary, '$.survivors')::DOUBLE AS s, quantile_cont(day, 0.5) "
                              "FROM summaries JOIN series USING (run_id) GROUP BY 1 LIMIT 1"])
    assert res.exit_code == 0, res.output
    with Store(store_file, read_only=True, sandbox=True) as st:
        assert int(st.query("SELECT count(*) AS n FROM runs")["n"][0]) == 6


def hostile(tmp: Path) -> dict[str, tuple[str, Path | None]]:
    """Queries that would read or write a file, load code or change a setting, and the file each
    would create (None: it reads)."""
    secret = tmp / "secret.csv"
    secret.write_text("a,b\n1,2\n")
    other = tmp / "other.duckdb"
    duckdb.connect(str(other)).close()
    return {
        "read_csv": (f"SELECT * FROM read_csv('{secret}')", None),
        "read_csv_auto": (f"SELECT * FROM '{secret}'", None),
        "read_text": (f"SELECT * FROM read_text('{secret}')", None),
        "read_blob /etc/passwd": ("SELECT * FROM read_blob('/etc/passwd')", None),
        "read_parquet": (f"SELECT * FROM read_parquet('{tmp / 'x.parquet'}')", None),
        "read_json": (f"SELECT * FROM read_json('{secret}')", None),
        "glob": (f"SELECT * FROM glob('{tmp}/*')", None),
        "copy to": (f"COPY (SELECT * FROM runs) TO '{tmp / 'out.csv'}'", tmp / "out.csv"),
        "copy to parquet": (f"COPY runs TO '{tmp / 'out.parquet'}' (FORMAT PARQUET)", tmp / "out.parquet"),
        "copy from": (f"COPY meta FROM '{secret}'", None),
        "export database": (f"EXPORT DATABASE '{tmp / 'dump'}'", tmp / "dump"),
        "attach": (f"ATTACH '{other}' AS o", None),
        "attach new": (f"ATTACH '{tmp / 'new.duckdb'}' AS n", tmp / "new.duckdb"),
        "install": ("INSTALL httpfs", None),
        "load": ("LOAD httpfs", None),
        "load a file": (f"LOAD '{tmp / 'evil.duckdb_extension'}'", None),
        "set": ("SET threads = 1", None),
        "set external access": ("SET enable_external_access = true", None),
        "unlock": ("SET lock_configuration = false", None),
        "reset": ("RESET memory_limit", None),
        "pragma setting": ("PRAGMA enable_profiling", None),
        "pragma profile file": (f"PRAGMA profiling_output = '{tmp / 'profile.txt'}'", tmp / "profile.txt"),
        "drop": ("DROP TABLE runs", None),
        "delete": ("DELETE FROM runs", None),
        "insert": ("INSERT INTO meta VALUES ('k', 'v')", None),
        "copy onto the store": (f"COPY (SELECT 1) TO '{tmp / 's.duckdb'}'", None),
    }


def test_query_can_neither_read_nor_write_any_file(store_file: Path, tmp_path: Path) -> None:
    cases = hostile(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    size = store_file.stat().st_size
    for name, (sql, creates) in cases.items():
        line = refused(runner.invoke(app, ["query", "--store", str(store_file), sql]))
        assert "query refused" in line or "query failed" in line, (name, line)
        assert "secret" not in line.replace(str(tmp_path / "secret.csv"), ""), (name, line)
        if creates is not None:
            assert not creates.exists(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no folder made
    data = store_file.read_bytes()
    for sql in ("CHECKPOINT", "FORCE CHECKPOINT"):  # allowed: a no-op on a store opened read only
        assert runner.invoke(app, ["query", "--store", str(store_file), sql]).exit_code == 0
    assert store_file.read_bytes() == data
    assert store_file.stat().st_size == size
    with Store(store_file, read_only=True) as st:
        assert int(st.query("SELECT count(*) AS n FROM runs")["n"][0]) == 6


@pytest.mark.parametrize("sql", [";", "", "  ", "/* only a comment */"])
def test_a_query_with_no_statement_is_refused(store_file: Path, sql: str) -> None:
    line = refused(runner.invoke(app, ["query", "--store", str(store_file), sql]))
    assert "expected an SQL statement" in line


def test_the_sandbox_settings_are_on_and_locked(store_file: Path) -> None:
    with Store(store_file, read_only=True, sandbox=True) as st:
        settings = dict(st.con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration', "
            "'autoinstall_known_extensions', 'autoload_known_extensions', 'allow_unsigned_extensions', "
            "'allow_community_extensions', 'allowed_directories')").fetchall())
        with pytest.raises(StoreError, match="locked"):
            st.query("SET enable_external_access = true")
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    for key in ("autoinstall_known_extensions", "autoload_known_extensions", "allow_unsigned_extensions",
                "allow_community_extensions"):
        assert settings[key] == "false", key
        assert SANDBOX[key] is False
    assert settings["allowed_directories"] == "[]"
    with pytest.raises(StoreError, match="read only"):
        Store(store_file, sandbox=True)


# -- export: identifiers quoted, tables checked against the schema -----------------------------------

def test_export_refuses_a_hand_made_table_name(tmp_path: Path, store_file: Path) -> None:
    """A table whose name would close the COPY and write a CSV elsewhere: refused, nothing written."""
    evil = tmp_path / "evil.duckdb"
    shutil.copy(store_file, evil)
    target = tmp_path / "pwned.csv"
    name = f"runs ORDER BY 1) TO '{target}' (FORMAT CSV); --"
    con = duckdb.connect(str(evil))
    con.execute(f"CREATE TABLE {quote_ident(name)} (a INTEGER)")
    con.close()
    out = tmp_path / "pq"
    line = refused(runner.invoke(app, ["export", "--parquet", str(out), "--store", str(evil)]))
    assert "not in its schema" in line and "pwned" in line
    assert not target.exists() and not out.exists()


def test_export_quotes_identifiers(tmp_path: Path) -> None:
    assert quote_ident('a"b') == '"a""b"'
    st = Store(tmp_path / "s.duckdb")
    st.close()
    with Store(tmp_path / "s.duckdb", read_only=True) as st:
        files = st.export_parquet(tmp_path / "pq")
    assert {f.name for f in files} >= {"runs.parquet", "meta.parquet", "summaries.parquet"}


def test_export_creates_no_folder_but_its_own(store_file: Path, tmp_path: Path) -> None:
    line = refused(runner.invoke(app, ["export", "--parquet", str(tmp_path / "a" / "b"), "--store", str(store_file)]))
    assert "--parquet" in line and str(tmp_path / "a") in line
    assert not (tmp_path / "a").exists()
    res = runner.invoke(app, ["export", "--parquet", str(tmp_path / "a"), "--store", str(store_file)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "runs.parquet").exists()


# -- damaged stores: named as such when opened ------------------------------------------------------

@pytest.fixture
def truncated(store_file: Path, tmp_path: Path) -> Path:
    data = store_file.read_bytes()
    path = tmp_path / "truncated.duckdb"
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("command", [
    ["export", "--parquet", "{tmp}/pq"],
    ["ensemble", "sir", "--runs", "2", "--engine", "ode", "--days", "5"],
    ["sweep", "sir", "--param", "pathogen.beta=0.2,0.3", "--engine", "ode", "--days", "5"],
    ["query", "SELECT count(*) FROM series"],
    ["rerun"],
    ["report"],
])
def test_a_truncated_store_is_named_damaged(command: list[str], truncated: Path, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    if args[0] in ("rerun", "report"):
        args = [args[0], str(truncated)] + (["-o", str(tmp_path / "r.html")] if args[0] == "report" else [])
    else:
        args += ["--store", str(truncated)]
    size = truncated.stat().st_size
    line = refused(runner.invoke(app, args))
    assert "damaged" in line and str(truncated.name) in line, line
    assert truncated.stat().st_size == size  # left as it was found
    assert not (tmp_path / "pq").exists()


def test_free_blocks_trimmed_from_the_end_are_not_damage() -> None:
    """A healthy store (a user's, after an ensemble, a calibration, an export and a comparison):
    76,034,048 bytes, 294 blocks of 262,144 by DuckDB's count, 27 of them free and the last 4
    trimmed from the file. It was refused as damaged; only a file short of its blocks in use is."""
    from aftermath.store.store import short_of

    assert short_of(76_034_048, 262_144, 294 - 27) == 0
    assert short_of(76_034_048 // 2, 262_144, 294 - 27) == 3 * 4096 + 262_144 * 267
    assert short_of(3 * 4096 + 262_144 * 10, 262_144, 10) == 0


@pytest.mark.parametrize("command", [["query", "SELECT * FROM series"], ["export", "--parquet", "{tmp}/pq"],
                                     ["rerun"], ["report"]])
def test_a_store_with_corrupt_blocks_is_refused_in_one_line(command: list[str], store_file: Path,
                                                             tmp_path: Path) -> None:
    """Bytes flipped in the data blocks: DuckDB finds the checksum wrong only when it reads the block,
    in the middle of a command; that is still one line naming the store, never an internal error."""
    data = bytearray(store_file.read_bytes())
    for at in range(3 * 4096 + 100, len(data), 4096 * 7):
        data[at] ^= 0xFF
    bad = tmp_path / "flipped.duckdb"
    bad.write_bytes(bytes(data))
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    if args[0] in ("rerun", "report"):
        args = [args[0], str(bad)] + (["-o", str(tmp_path / "r.html")] if args[0] == "report" else [])
    else:
        args += ["--store", str(bad)]
    line = refused(runner.invoke(app, args))
    assert "damaged" in line or "Corrupt" in line, line


@pytest.mark.parametrize("head", [b"", b"x" * 100, b"\0" * 8 + b"DUCK", b"\0" * 8 + b"DUCK" + b"\0" * 20_000])
def test_a_file_that_is_no_store_is_refused(head: bytes, tmp_path: Path) -> None:
    path = tmp_path / "junk.duckdb"
    path.write_bytes(head)
    for read_only in (True, False):
        with pytest.raises(StoreError, match=r"junk\.duckdb.*(damaged|empty|not a DuckDB)"):
            Store(path, read_only=read_only)
    assert path.read_bytes() == head
    line = refused(runner.invoke(app, ["query", "SELECT 1", "--store", str(path)]))
    assert "junk.duckdb" in line


def test_a_whole_store_still_opens(store_file: Path) -> None:
    with Store(store_file, read_only=True) as st:
        st._check_intact()
        assert st.schema_version() == 3


@pytest.fixture
def viewed(store_file: Path, tmp_path: Path) -> Path:
    """A hand-made store whose ``runs`` is a view that reads a local file (found in review: every
    command but ``query`` ran it with full file access)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    path = tmp_path / "viewed.duckdb"
    shutil.copy(store_file, path)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA hidden")
    con.execute("CREATE TABLE hidden.runs AS SELECT * FROM main.runs")
    con.execute("DROP TABLE main.runs CASCADE")
    con.execute(f"CREATE VIEW main.runs AS SELECT * REPLACE ((SELECT content FROM read_text('{secret}')) AS host) "
                "FROM hidden.runs")
    con.close()
    return path


@pytest.mark.parametrize("command", [["export", "--parquet", "{tmp}/out", "--store", "{store}"],
                                     ["report", "{store}", "-o", "{tmp}/r.html"],
                                     ["rerun", "{store}"], ["query", "select * from runs", "--store", "{store}"]])
def test_a_store_with_a_view_is_refused_by_every_command(command: list[str], viewed: Path, tmp_path: Path) -> None:
    argv = [a.format(tmp=tmp_path, store=viewed) for a in command]
    res = runner.invoke(app, argv)
    assert res.exit_code == 2, res.output
    assert "view main.runs" in res.output and "the secret" not in res.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("argv", [["report", "{store}", "-o", "{store}"],
                                  ["run", "sir", "--engine", "ode", "--days", "2", "--report", "{store}"]])
def test_a_report_never_overwrites_a_store(argv: list[str], store_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    shutil.copy(store_file, store)
    before = store.read_bytes()
    res = runner.invoke(app, [a.format(store=store) for a in argv])
    assert res.exit_code == 2 and ".html" in res.output
    assert store.read_bytes() == before


def test_query_shows_text_as_it_is_and_json_keeps_every_digit(store_file: Path) -> None:
    res = runner.invoke(app, ["query", "SELECT '[/x]' AS a, '[red]b[/red]' AS b", "--store", str(store_file)])
    assert res.exit_code == 0 and "[/x]" in res.output and "[red]b[/red]" in res.output
    res = runner.invoke(app, ["query", "--json", "SELECT 1e-12::DOUBLE AS y, 0.1234567890123456::DOUBLE AS x, "
                              "attack_rate FROM summaries LIMIT 1", "--store", str(store_file)])
    assert res.exit_code == 0, res.output
    row = json.loads(res.output)[0]
    exact = duckdb.connect(str(store_file), read_only=True).execute("SELECT attack_rate FROM summaries LIMIT 1")
    assert row["y"] == 1e-12 and row["x"] == 0.1234567890123456 and row["attack_rate"] == exact.fetchone()[0]


@pytest.mark.parametrize(("argv", "named", "hint"), [
    (["rerun", "{p}"], "store", "name another store"),
    (["report", "{p}", "-o", "{o}"], "results", "name another store"),
    (["query", "select 1", "--store", "{p}"], "--store", "pass --store PATH"),
    (["export", "--parquet", "{o}", "--store", "{p}"], "--store", "pass --store PATH"),
])
def test_a_missing_store_is_named_as_the_command_takes_it(argv: list[str], named: str, hint: str,
                                                          tmp_path: Path) -> None:
    """A store that is not there is named as the command takes it: the flag where there is one,
    the argument's name where the store is an argument (``rerun e1.out`` used to say ``--store``,
    a flag rerun does not have)."""
    missing = tmp_path / "e1.duckdb"
    args = [a.format(p=missing, o=tmp_path / "out.html") for a in argv]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    line = res.output.strip()
    assert line.startswith(f"error: {named} '{missing}': no store there"), line
    assert hint in line and len(line.splitlines()) == 1


def test_rerun_into_a_missing_folder_is_refused_under_its_own_flag_first(store_file: Path, tmp_path: Path) -> None:
    """`rerun --into` names --into (it said --store, a flag rerun lacks), before any progress bar
    (no blank line first), and creates nothing."""
    into = tmp_path / "nodir" / "y.duckdb"
    res = runner.invoke(app, ["rerun", str(store_file), "--runs", "1", "--into", str(into)])
    assert res.exit_code == 2
    assert res.output.startswith(f"error: --into '{into}': no folder"), repr(res.output)
    assert res.output.count("\n") == 1 and not into.parent.exists()
