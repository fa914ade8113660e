"""Provenance in the store (issue 10, part 4): a batch keeps the whole scenario it ran, its engine,
seeds, versions and baseline, so it can be run again from the store alone, bit for bit; stores
written before provenance still open and read, saying what they did not record."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from aftermath.run import ensemble, replicate_seeds, rerun, sweep
from aftermath.run.commands import register
from aftermath.run.seeds import SEED_SCHEME
from aftermath.scenario.load import load
from aftermath.store import Store, StoreError
from aftermath.store.records import scenario_hash, sha256
from aftermath.store.schema import PROVENANCE_COLUMNS, SCHEMA_VERSION

#: A small scenario file with a parameter no built-in has, so its value can only come from the file.
BETA = 0.4321
TOWN = f"""
name = "Provenance town"
[run]
days = 8
seed = 5
engine = "ssa"
mixing = "frequency"
[pathogen]
beta = {BETA}
p_hybrid = 0.0
latency = 0.0
[[zones]]
id = "town"
kind = "city"
name = "A town"
population = {{ S = 495, Z = 5 }}
"""
SMALL_SIR = {"zones.town.population": {"S": 495, "Z": 5}}


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def town(tmp_path: Path) -> Path:
    f = tmp_path / "town.toml"
    f.write_text(TOWN, encoding="utf-8")
    return f


def summaries(path: Path | str, batch: str | None = None) -> list[tuple[object, ...]]:
    """(point, replicate, seed, summary JSON) of a batch, as exact Python values."""
    with Store(path, read_only=True) as st:
        bid = st.batch_id(batch)
        return st.con.execute(
            "SELECT r.point, r.replicate, r.seed, s.summary FROM summaries s JOIN runs r USING (run_id) "
            "WHERE r.batch_id = ? ORDER BY 1, 2", [bid]).fetchall()


def series(path: Path | str) -> list[tuple[object, ...]]:
    with Store(path, read_only=True) as st:
        return st.con.execute(
            "SELECT r.point, r.replicate, s.day, s.zone, s.state, s.count FROM series s JOIN runs r USING (run_id) "
            "ORDER BY 1, 2, 3, 4, 5").fetchall()


@pytest.mark.parametrize("engine", ["ssa", "abm"])
def test_a_batch_from_a_file_is_rerun_from_the_store_alone(cli: typer.Typer, tmp_path: Path, engine: str) -> None:
    """The issue's "done when": ensemble a file, delete it, rerun from the store: the same numbers."""
    scenario = town(tmp_path)
    store, again = tmp_path / "s.duckdb", tmp_path / "again.duckdb"
    runner = CliRunner()
    r = runner.invoke(cli, ["ensemble", str(scenario), "--runs", "3", "--engine", engine, "--store", str(store),
                            "--variant", "slow:pathogen.beta=0.2", "--json"])
    assert r.exit_code == 0, r.output
    bid = json.loads(r.stdout)["batch_id"]
    scenario.unlink()  # the store alone from here on

    with Store(store, read_only=True) as st:
        prov = st.provenance()
        assert prov["batch_id"] == bid and prov["missing"] == []
        assert json.loads(prov["scenario"])["pathogen"]["beta"] == BETA  # the file's parameter, recorded
        assert sha256(prov["scenario"]) == prov["scenario_hash"]
        assert prov["scenario_name"] == "Provenance town" and prov["source"] == str(scenario.resolve())
        assert prov["engine"] == engine and prov["runs"] == 3 and prov["days"] == 8 and prov["master_seed"] == 5
        assert prov["seeds"] == replicate_seeds(5, 3) and prov["seed_scheme"] == SEED_SCHEME
        assert prov["baseline"] == "base"  # ensemble --variant: "base" is the scenario as it is
        assert prov["points"] == [["base", {}], ["slow", {"pathogen.beta": 0.2}]]
        assert prov["aftermath_version"] and prov["versions"]["numpy"] and prov["created"]
        sc = st.scenario(bid)
        assert sc.pathogen.beta == BETA and sc.name == "Provenance town"
        assert scenario_hash(sc) == prov["scenario_hash"]
        assert st.scenario(bid, point="slow").pathogen.beta == 0.2 == st.scenario(bid, point=1).pathogen.beta
        with pytest.raises(StoreError, match="no point 'fast'"):
            st.scenario(bid, point="fast")

    r = runner.invoke(cli, ["rerun", str(store), "--into", str(again), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["identical"] and report["compared"] == 6 and report["differing"] == 0
    assert report["rerun_batch_id"] == bid  # the same batch, rebuilt from what the store kept
    # same numbers, checked here without the rerun's own comparison
    assert summaries(again) == summaries(store)
    assert series(again) == series(store)
    assert len({s for *_, s in summaries(store)}) > 1  # a stochastic engine: replicates differ


def test_the_report_of_a_file_batch_shows_the_files_parameters(tmp_path: Path) -> None:
    """The issue's "done when", second half: the store's report reads the recorded scenario, so it
    shows the file's parameters once the file is gone; an old store's report says "not recorded"."""
    from aftermath.report.from_store import render_store

    store = tmp_path / "s.duckdb"
    scenario = town(tmp_path)
    with ensemble(scenario, runs=2, engine="ssa", store=store) as res:
        bid = res.batch_id
    scenario.unlink()
    with Store(store, read_only=True) as st:
        assert str(BETA) in render_store(st, bid)
    _make_old(store)
    with Store(store, read_only=True) as st:
        page = render_store(st, bid)
    assert str(BETA) not in page and "not recorded" in page


def test_rerun_finds_a_run_that_differs(cli: typer.Typer, tmp_path: Path) -> None:
    """The check has teeth: one stored count changed, one run reported different, exit 1."""
    store = tmp_path / "s.duckdb"
    with ensemble(town(tmp_path), runs=2, engine="ssa", store=store) as res:
        rid = int(res.run_table()["run_id"].min())
    with duckdb.connect(str(store)) as con:
        con.execute("UPDATE series SET count = count + 1 WHERE run_id = ? AND day = 3 AND state = 'S'", [rid])
    r = CliRunner().invoke(cli, ["rerun", str(store), "--json"])
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    assert (report["compared"], report["differing"], report["identical"]) == (2, 1, False)
    assert {t["table"]: t["differing"] for t in report["tables"]}["series"] == 1
    r = CliRunner().invoke(cli, ["rerun", str(store)])
    assert r.exit_code == 1 and "not reproduced" in r.stdout


def test_rerun_the_first_runs_of_a_sweep(tmp_path: Path) -> None:
    """A sweep's points and method come back from the store; --runs N re-runs the first N replicates."""
    store = tmp_path / "s.duckdb"
    with sweep("sir", {"zones.town.population.S": [495, 300]}, runs=3, engine="ssa", days=6, store=store) as res:
        bid = res.batch_id
        assert res.summaries()["initial_humans"].max() == 495
    with rerun(store, batch=bid[:6], runs=2) as rr:  # a replicate's seed does not depend on how many runs
        assert rr.identical and rr.compared == 4
        assert rr.provenance["kind"] == "sweep" and rr.provenance["spec"]["method"] == "grid"
        assert rr.result.batch_id != bid  # 2 runs make another batch, compared replicate by replicate


def test_overrides_are_applied_in_their_recorded_order(tmp_path: Path) -> None:
    """``spec`` sorts a point's paths; a later path can overwrite an earlier one, so the store keeps
    the order they were applied in, and the rerun hashes and runs what ran."""
    store = tmp_path / "s.duckdb"
    pop = {"S": 495, "Z": 5}
    whole = {"id": "town", "kind": "city", "name": "A town", "population": {"S": 300, "Z": 5}}
    variants = {"base": SMALL_SIR, "v": {"zones.town.population": pop, "zones.town": whole}}
    with ensemble("sir", runs=1, engine="ode", days=4, variants=variants, store=store) as res:
        assert res.summaries()["initial_humans"].tolist() == [495, 300]
    with rerun(store) as rr:
        assert rr.identical and rr.provenance["points"][1][1] == variants["v"]


def test_a_baseline_is_recorded_not_guessed(tmp_path: Path) -> None:
    """The baseline is what the batch says, whatever its label; compare records its own."""
    from aftermath.compare import BASELINE, compare

    store = tmp_path / "s.duckdb"
    variants = {"walls": SMALL_SIR, "do nothing": {**SMALL_SIR, "pathogen.beta": 0.3}}
    with ensemble("sir", runs=2, engine="ssa", days=5, variants=variants, store=store, baseline="do nothing") as res:
        assert res.store.provenance(res.batch_id)["baseline"] == "do nothing"
        paired = res.paired("survivors")  # against the recorded baseline, not the first variant
        assert set(paired["variant"]) == {"walls"}
    with Store(store, read_only=True) as st:
        assert st.provenance()["baseline"] == "do nothing"
    with pytest.raises(ValueError, match="baseline 'nobody'"):
        ensemble("sir", runs=1, engine="ode", days=2, variants=variants, baseline="nobody")
    _, res = compare("sir", {"fast": {**SMALL_SIR, "pathogen.beta": 0.4}}, runs=2, engine="ssa", days=5,
                     store=tmp_path / "c.duckdb")
    with res:
        assert res.store.provenance(res.batch_id)["baseline"] == BASELINE
    with ensemble("sir", runs=1, engine="ode", days=2, store=tmp_path / "e.duckdb") as res:
        assert res.store.provenance()["baseline"] is None  # a plain ensemble weighs nothing against anything


def _make_old(path: Path) -> None:
    """Turn a store into one written by schema 1: no provenance columns, schema_version 1."""
    with duckdb.connect(str(path)) as con:
        for name, _ in PROVENANCE_COLUMNS:
            con.execute(f"ALTER TABLE batches DROP COLUMN {name}")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def test_an_old_store_opens_reads_and_says_what_it_did_not_record(cli: typer.Typer, tmp_path: Path) -> None:
    store = tmp_path / "old.duckdb"
    scenario = town(tmp_path)
    with ensemble(scenario, runs=2, engine="ssa", store=store) as res:
        file_batch = res.batch_id
    with ensemble("sir", runs=2, engine="ssa", days=5, variants={"base": SMALL_SIR}, store=store) as res:
        sir_batch = res.batch_id
    _make_old(store)

    with Store(store, read_only=True) as st:  # read only: nothing can be added, all is read
        assert st.schema_version() == 1
        prov = st.provenance(file_batch)
        assert prov["scenario"] is None and prov["scenario_origin"] is None
        assert {"scenario", "source", "baseline", "seed_scheme", "versions"} <= set(prov["missing"])
        assert prov["scenario_name"] == "Provenance town" and prov["engine"] == "ssa"
        assert prov["seeds"] == replicate_seeds(5, 2)  # from the runs rows, exact integers
        assert prov["aftermath_version"]  # from the runs rows
        assert prov["points"] == [["base", {}]]
        with pytest.raises(StoreError, match="not recorded"):
            st.scenario(file_batch)
        # a built-in's batch: the built-in with the same name and hash is what ran
        prov = st.provenance(sir_batch)
        assert prov["scenario_origin"] == "builtin sir" and prov["scenario_hash"] == scenario_hash(load("sir"))
        assert st.scenario(sir_batch) == load("sir")
        assert len(st.summaries(file_batch)) == 2 and len(st.quantiles(file_batch)) == 9

    r = CliRunner().invoke(cli, ["rerun", str(store), "--batch", file_batch])
    assert r.exit_code == 2 and "not recorded" in r.output and "Traceback" not in r.output
    with rerun(store, batch=sir_batch) as rr:  # seeds from its runs, scenario from the built-in
        assert rr.identical

    scenario.write_text(TOWN, encoding="utf-8")
    with Store(store) as st:  # opened for writing: migrated
        assert st.schema_version() == SCHEMA_VERSION
        assert st.provenance(file_batch)["missing"]
    with ensemble(scenario, runs=2, engine="ssa", store=store) as res:  # resumed: provenance filled in
        assert res.skipped == 2 and res.batch_id == file_batch
        assert res.store.provenance(file_batch)["missing"] == ["baseline"]
        assert res.store.scenario(file_batch).pathogen.beta == BETA


@pytest.mark.parametrize(("args", "message"), [
    (["rerun", "nowhere.duckdb"], "no store"),
    (["rerun", "s.duckdb", "--batch", "zzzz"], "no batch matches"),
    (["rerun", "s.duckdb", "--into", "s.duckdb"], "another store"),
])
def test_rerun_errors_exit_2_without_traceback(cli: typer.Typer, tmp_path: Path, args: list[str], message: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ensemble("sir", runs=1, engine="ode", days=2, store="s.duckdb").store.close()
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_summary_columns_follow_the_record(tmp_path: Path) -> None:
    """Every flat ``summaries`` column is a key of the summary, so none is NULL for a new run."""
    from aftermath.store.schema import SUMMARY_COLUMNS

    with Store(tmp_path / "s.duckdb") as st:
        ensemble("sir", runs=1, engine="ode", store=st, days=20)
        row = st.query("SELECT * FROM summaries").iloc[0]
    assert [name for name, _ in SUMMARY_COLUMNS if name not in row.index] == []
    nulls = [name for name, _ in SUMMARY_COLUMNS if bool(pd.isna(row[name]))]
    assert set(nulls) <= {"elimination_day", "extinction_day", "peak_ferals", "peak_ferals_day", "peak_day"}, nulls
