"""Damaged and hostile results stores, and the commands that read them.

A store case names a recipe; :func:`damage` makes the file from a valid template store (built once
per runner by ``aftermath ensemble`` itself): truncated, bytes flipped, random bytes, a folder, a
text file, junk appended, or a valid store with hostile table names and views (names that would
inject SQL into an unquoted ``COPY``, views that read files).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

TEMPLATE_ARGV = {
    "ensemble": ["ensemble", "sir", "--runs", "2", "--days", "2", "--engine", "ode"],
}

#: table names an export must quote (each would write or read a file if pasted into SQL unquoted)
HOSTILE_NAMES = [
    "x) TO '{tmp}/pwned.csv' (FORMAT CSV); SELECT * FROM (SELECT 1",
    "runs; COPY (SELECT 1) TO '{tmp}/pwned2.csv'",
    'a"b',
    "a'b",
    "select",
    "ｘ",
    "t" * 200,
    "../../escape",
    "with space",
    "new\nline",
]
#: views whose body reads files: opening them must not leak the secret
HOSTILE_VIEWS = [
    "SELECT * FROM read_text('{tmp}/secret.txt')",
    "SELECT * FROM read_csv('{tmp}/secret.txt', header=false)",
    "SELECT content FROM read_blob('{tmp}/secret.txt')",
]


def damage(recipe: dict[str, Any], templates: dict[str, Path], path: Path, folder: Path) -> None:
    """Write the store ``recipe`` describes at ``path``."""
    how = recipe["how"]
    rng = random.Random(recipe.get("seed", 0))
    if how == "folder":
        path.mkdir()
        return
    if how == "text":
        path.write_text("this is not a store\n")
        return
    if how == "random":
        path.write_bytes(rng.randbytes(recipe.get("size", 4096)))
        return
    data = templates[recipe["template"]].read_bytes()
    if how == "valid":
        path.write_bytes(data)
    elif how == "truncate":
        path.write_bytes(data[: int(len(data) * recipe["at"])])
    elif how == "flip":
        buf = bytearray(data)
        for _ in range(recipe.get("n", 10)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(buf))
    elif how == "zero":
        buf = bytearray(data)
        start = int(len(buf) * recipe["at"])
        buf[start : start + 4096] = bytes(len(buf[start : start + 4096]))
        path.write_bytes(bytes(buf))
    elif how == "append":
        path.write_bytes(data + rng.randbytes(recipe.get("size", 1000)))
    elif how in ("table", "view"):
        import duckdb

        shutil.copyfile(templates[recipe["template"]], path)
        con = duckdb.connect(str(path))
        try:
            name = recipe["name"].replace("{tmp}", str(folder))
            q = '"' + name.replace('"', '""') + '"'
            if how == "table":
                con.execute(f"CREATE TABLE {q} AS SELECT 1 AS x")
            else:
                con.execute(f"CREATE VIEW {q} AS {recipe['sql'].replace('{tmp}', str(folder))}")
        finally:
            con.close()
    else:
        raise ValueError(how)


@st.composite
def store_recipes(draw: st.DrawFn) -> dict[str, Any]:
    how = draw(
        st.sampled_from(
            [
                "valid",
                "truncate",
                "truncate",
                "flip",
                "flip",
                "zero",
                "append",
                "random",
                "folder",
                "text",
                "table",
                "table",
                "view",
            ]
        )
    )
    recipe: dict[str, Any] = {"how": how, "template": "ensemble", "seed": draw(st.integers(0, 2**32))}
    if how in ("truncate", "zero"):
        recipe["at"] = draw(st.sampled_from([0.0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.999]))
    if how == "flip":
        recipe["n"] = draw(st.sampled_from([1, 10, 1000]))
    if how == "random":
        recipe["size"] = draw(st.sampled_from([0, 12, 4096, 262144]))
    if how == "table":
        recipe["name"] = draw(st.sampled_from(HOSTILE_NAMES))
    if how == "view":
        recipe["name"] = draw(st.sampled_from(["runs_view", "summaries2", "x) TO '{tmp}/pwned3.csv' --"]))
        recipe["sql"] = draw(st.sampled_from(HOSTILE_VIEWS))
    if how in ("folder", "text", "random"):
        recipe.pop("template")
    return recipe


#: SQL that ``query`` must refuse: each reads or writes a file, loads an extension or changes a setting
FORBIDDEN_SQL = [
    "COPY (SELECT 1) TO '{tmp}/q.csv'",
    "copy (select * from runs) to '{tmp}/q.parquet' (format parquet)",
    "SELECT * FROM read_csv('{tmp}/secret.txt', header=false)",
    "SELECT * FROM read_text('{tmp}/secret.txt')",
    "SELECT content FROM read_blob('{tmp}/secret.txt')",
    "SELECT * FROM '{tmp}/secret.txt'",
    "SELECT * FROM glob('{tmp}/*')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "PRAGMA enable_profiling",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "EXPORT DATABASE '{tmp}/exported'",
    "CREATE TABLE t AS SELECT 1",
    "DROP TABLE runs",
    "DELETE FROM runs",
    "INSERT INTO meta VALUES ('x', 'y')",
    "SELECT 1; COPY (SELECT 1) TO '{tmp}/q2.csv'",
    "select 1; select * from read_text('{tmp}/secret.txt')",
    "CALL pragma_version(); SET memory_limit='1GB'",
    "SELECT getenv('HOME')",
    "CREATE MACRO m() AS 1",
]
READ_SQL = [
    "SELECT count(*) AS n FROM runs",
    "select variant, avg(survivors) from summaries join runs using (run_id) group by 1",
    "SELECT * FROM batches",
    "SELECT 1 AS one",
    "SELECT * FROM meta",
    "SELECT 1/0 AS x",
    "CHECKPOINT",  # nothing to write in a store opened read only
    "SELECT '\x00' AS nul",
    "SELECT repeat('x', 100000000) AS big",
]
BAD_SQL = [
    "",
    "SELEC 1",
    "SELECT * FROM nosuch",
    "SELECT 'x'::INTEGER",
    ";",
    "SELECT " + "(" * 2000,
]


@st.composite
def store_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A command that reads a damaged or hostile store, or a query that must stay in its sandbox."""
    recipe = draw(store_recipes())
    # only damage no reader can miss must be refused; a flipped bit in an unread block may pass unseen
    plain = (
        recipe["how"] in ("folder", "text")
        or (recipe["how"] == "random" and recipe["size"] > 0)
        or (recipe["how"] == "truncate" and recipe["at"] <= 0.001)
    )
    reasons: list[str] = [f"a damaged store ({recipe['how']}) must be named as such"] if plain else []
    allowed = [r"store\.duckdb", r"store\.duckdb\.wal", r"\.[^/]*", r"store\.duckdb\.tmp(/.*)?"]
    cmd = draw(st.sampled_from(["query", "query", "query", "export", "report", "rerun", "ensemble"]))
    check: dict[str, Any] = {"absent": []}
    if cmd == "query":
        kind = draw(st.sampled_from(["forbidden", "forbidden", "read", "bad"]))
        sql = draw(st.sampled_from({"forbidden": FORBIDDEN_SQL, "read": READ_SQL, "bad": BAD_SQL}[kind]))
        if kind == "forbidden":
            reasons.append(f"query {sql!r} reaches outside the store's tables")
        if kind == "bad":
            reasons.append(f"query {sql!r} is not valid SQL over the store")
        argv = ["query", sql, "--store", "{tmp}/store.duckdb"]
        if draw(st.booleans()):
            argv.append("--json")
            check["json"] = True
    elif cmd == "export":
        argv = ["export", "--parquet", "{tmp}/out", "--store", "{tmp}/store.duckdb"]
        allowed += [r"out", r"out/[^/]+\.parquet"]  # one file per table, in the folder asked for
    elif cmd == "report":
        argv = ["report", "{tmp}/store.duckdb", "-o", "{tmp}/r.html"]
        allowed += [r"r\.html"]
    elif cmd == "rerun":
        argv = ["rerun", "{tmp}/store.duckdb", "--runs", "1"]
    else:
        argv = ["ensemble", "sir", "--runs", "1", "--days", "1", "--engine", "ode", "--store", "{tmp}/store.duckdb"]
    check["allowed_files"] = allowed
    return {
        "kind": "store",
        "argv": argv,
        "files": {"store.duckdb": {"store": recipe}},
        "reject": sorted(set(reasons)),
        "check": check,
    }
