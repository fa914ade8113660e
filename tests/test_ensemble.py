"""Ensembles and sweeps: seeds and common random numbers, resume after an interruption or a kill,
local worker processes giving the same results, parameter parsing and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from aftermath.run import Processes, ensemble, replicate_seeds, sweep
from aftermath.run.commands import register
from aftermath.run.ensemble import check_engine
from aftermath.run.params import ParamError, load_sweep_file, parse_param
from aftermath.scenario.load import ScenarioError
from aftermath.store import Store

SMALL = {"zones.town.population": {"S": 990, "Z": 10}}  # the SIR town at 1,000 people


def stochastic_engine() -> str | None:
    for name in ("ssa", "abm"):
        try:
            check_engine(name)
            return name
        except ValueError:
            continue
    return None


def test_seeds_come_from_one_master_seed() -> None:
    a = replicate_seeds(42, 50)
    assert a == replicate_seeds(42, 50)
    assert len(set(a)) == 50 and all(0 <= s < 2**63 for s in a)
    assert replicate_seeds(42, 10) == a[:10]  # more runs extend, never reshuffle
    assert replicate_seeds(43, 10) != a[:10]


def test_replicate_i_has_the_same_seed_in_every_variant() -> None:
    variants = {"base": {}, "fast": {"pathogen.beta": 0.4}, "slow": {"pathogen.beta": 0.1}}
    with ensemble("sir", runs=5, master_seed=9, engine="ode", days=10, variants=variants) as res:
        runs = res.run_table()
        assert len(runs) == 15 and (runs["status"] == "done").all()
        seeds = runs.pivot(index="replicate", columns="variant", values="seed")
        assert (seeds.nunique(axis=1) == 1).all()
        assert list(seeds["base"]) == replicate_seeds(9, 5)
        bands = res.bands("Z")
        assert len(bands) == 3 * 11 and {"median", "lo50", "hi50", "lo90", "hi90"} <= set(bands.columns)
        # the ODE ignores seeds: its replicates agree and the bands are lines
        assert np.allclose(bands["lo90"], bands["hi90"])
        fast = bands[bands.variant == "fast"]["median"].to_numpy()
        slow = bands[bands.variant == "slow"]["median"].to_numpy()
        assert fast[-1] > slow[-1]


def test_common_random_numbers_with_a_stochastic_engine() -> None:
    engine = stochastic_engine()
    if engine is None:
        pytest.skip("no stochastic engine (ssa, abm) in this installation yet")
    variants = {"base": SMALL, "same": {**SMALL, "pathogen.beta": 0.25}, "faster": {**SMALL, "pathogen.beta": 0.5}}
    with ensemble("sir", runs=8, master_seed=3, engine=engine, days=40, variants=variants) as res:
        s = res.summaries()
        wide = s.pivot(index="replicate", columns="variant", values="survivors")
        # the same scenario under another label gives the same run, replicate by replicate
        assert (wide["base"] == wide["same"]).all()
        assert wide["base"].nunique() > 1  # but replicates differ
        diff = res.paired("survivors", baseline="base")
        assert (diff[diff.variant == "same"]["survivors_diff"] == 0).all()
        q = res.quantiles("Z")
        assert (q["q0.95"] >= q["q0.05"]).all() and (q["q0.95"] > q["q0.05"]).any()


def test_an_interrupted_ensemble_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"

    def stop_after_five(done: int, total: int, rec: object) -> None:
        if rec is not None and done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensemble("sir", runs=12, engine="ode", days=10, store=path, progress=stop_after_five)
    with Store(path) as st:
        assert len(st.runs()) == 5  # what came back before Ctrl-C is kept, whole
    with ensemble("sir", runs=12, engine="ode", days=10, store=path) as res:
        assert (res.skipped, res.stored) == (5, 7)
        runs = res.run_table()
        assert sorted(runs["replicate"]) == list(range(12))
        assert res.store.query("SELECT count(*) AS n FROM series")["n"][0] == 12 * 11 * 6
    with ensemble("sir", runs=12, engine="ode", days=10, store=path) as res:
        assert (res.skipped, res.stored) == (12, 0)


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from aftermath.run import ensemble
    def progress(done, total, rec):
        if rec is not None:
            print(done, flush=True)
    ensemble("hyosan", runs=int(sys.argv[2]), master_seed=5, engine="ode", days=40, store=sys.argv[1],
             progress=progress)
""")


def test_sigkill_mid_ensemble_then_rerun_completes_it(tmp_path: Path) -> None:
    path, runs = tmp_path / "k.duckdb", 100
    cmd = [sys.executable, "-c", KILL_SCRIPT, str(path), str(runs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 70:  # at least two groups of 32 are committed by now
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with Store(path) as st:
        first = st.runs()
        assert 0 < len(first) < runs
        assert (first["status"] == "done").all()
        per_run = int(st.query("SELECT count(*) AS n FROM series")["n"][0]) // len(first)
        # every stored run is whole: its series are all there
        assert st.query("SELECT count(DISTINCT run_id) AS n FROM series")["n"][0] == len(first)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=120)
    with Store(path) as st:
        runs_df = st.runs()
        assert len(runs_df) == runs and runs_df["replicate"].is_unique
        assert set(first["run_id"]) <= set(runs_df["run_id"])  # nothing finished was run again
        assert st.query("SELECT count(*) AS n FROM series")["n"][0] == runs * per_run
        assert st.query("SELECT count(*) AS n FROM summaries")["n"][0] == runs


def frames(res: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    st: Store = res.store  # type: ignore[attr-defined]
    bid: str = res.batch_id  # type: ignore[attr-defined]
    summ = res.summaries().drop(columns=["run_id"])  # type: ignore[attr-defined]
    series = st.query(
        "SELECT r.point, r.replicate, s.day, s.zone, s.state, s.count FROM series s JOIN runs r USING (run_id) "
        "WHERE r.batch_id = ? ORDER BY ALL", [bid])
    return summ.sort_values(["point", "replicate"]).reset_index(drop=True), series


def in_process_reference(engine: str, scenario: str, days: int, variants: dict[str, dict[str, object]]) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    with ensemble(scenario, runs=4, master_seed=11, engine=engine, days=days, variants=variants) as res:
        return frames(res)


def test_two_worker_processes_give_the_in_process_results() -> None:
    engine = stochastic_engine() or "ode"
    scenario, days = ("sir", 30) if engine != "ode" else ("hyosan", 20)
    variants = {"base": SMALL, "fast": {**SMALL, "pathogen.beta": 0.4}} if scenario == "sir" else {
        "base": {}, "walls": {"zones.school.wall": 0.9}}
    ref = in_process_reference(engine, scenario, days, variants)
    ex = Processes(2)
    try:
        with ensemble(scenario, runs=4, master_seed=11, engine=engine, days=days, variants=variants,
                      executor=ex) as res:
            assert res.executor == "processes" and res.stored == 8
            got = frames(res)
    finally:
        ex.close()
    pd.testing.assert_frame_equal(got[0], ref[0])
    pd.testing.assert_frame_equal(got[1], ref[1])


def test_a_failing_run_is_stored_as_failed_and_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import aftermath.engines.driver as driver

    real = driver.simulate
    calls = {"n": 0}

    def flaky(*args: object, **kw: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise FloatingPointError("overflow in day 3")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(driver, "simulate", flaky)
    path = tmp_path / "f.duckdb"
    with ensemble("sir", runs=3, engine="ode", days=5, store=path) as res:
        assert (res.stored, res.failed) == (2, 1)
        failed = res.store.runs(status="failed")
        assert "overflow in day 3" in failed["error"][0]
    with ensemble("sir", runs=3, engine="ode", days=5, store=path) as res:
        assert (res.skipped, res.stored, res.failed) == (2, 1, 0)
        assert (res.run_table()["status"] == "done").all() and len(res.run_table()) == 3


# -- sweeps ---------------------------------------------------------------------------------


def test_grid_sweep_tabulates_points_and_ranks_sensitivity() -> None:
    with sweep("sir", {"pathogen.beta": "0.15:0.45:4", "defence.decay": [0.1, 0.2]}, engine="ode",
               days=80) as res:
        table = res.table()
        assert len(table) == 8 and list(table["runs"]) == [1] * 8
        assert sorted(set(table["pathogen.beta"])) == [0.15, 0.25, 0.35, 0.45]
        sens = res.sensitivity().set_index(["param", "metric"])
        assert sens.loc[("pathogen.beta", "attack_rate"), "rho"] > 0.5
        assert sens.loc[("defence.decay", "attack_rate"), "rho"] < 0
        assert np.isnan(sens.loc[("pathogen.beta", "deaths"), "rho"])  # SIR has no deaths: constant


def test_lhs_sweep_is_seeded_and_within_bounds() -> None:
    kw = {"method": "lhs", "samples": 6, "engine": "ode", "days": 5, "master_seed": 4}
    with sweep("sir", {"pathogen.beta": "0.2:0.6", "defence.decay": {"min": 0.05, "max": 0.2}}, **kw) as a, \
            sweep("sir", {"pathogen.beta": "0.2:0.6", "defence.decay": {"min": 0.05, "max": 0.2}}, **kw) as b:
        ta, tb = a.points_frame(), b.points_frame()
        pd.testing.assert_frame_equal(ta, tb)
        assert a.batch_id == b.batch_id
        assert ta["pathogen.beta"].between(0.2, 0.6).all() and ta["defence.decay"].between(0.05, 0.2).all()
        # a Latin hypercube: one point in each sixth of every axis
        assert sorted(((ta["pathogen.beta"] - 0.2) / 0.4 * 6).astype(int)) == list(range(6))


def test_a_wrong_path_fails_before_any_run() -> None:
    with pytest.raises(ScenarioError, match=r"pathogen\.bta.*did you mean 'beta'"):
        sweep("sir", {"pathogen.bta": [0.1, 0.2]}, engine="ode", days=5)
    with pytest.raises(ScenarioError, match=r"zones\.nowhere"):
        ensemble("sir", runs=1, engine="ode", days=5, variants={"x": {"zones.nowhere.wall": 0.5}})
    with pytest.raises(ValueError, match=r"run\.engine.*'warp'"):
        ensemble("sir", runs=1, engine="warp", days=5)


def test_sobol_indices_when_salib_is_installed() -> None:
    pytest.importorskip("SALib")
    with sweep("sir", {"pathogen.beta": "0.2:0.5", "defence.decay": "0.1:0.2"}, method="sobol", samples=8,
               engine="ode", days=60) as res:
        assert len(res.points) == 8 * (2 + 2)
        sob = res.sobol(["attack_rate"]).set_index("param")
        assert sob.loc["pathogen.beta", "ST"] > sob.loc["defence.decay", "ST"]


@pytest.mark.parametrize(("text", "values", "bounds"), [
    ("pathogen.beta=0.2:0.6:5", (0.2, 0.3, 0.4, 0.5, 0.6), (0.2, 0.6)),
    ("run.days=10:30:3", (10, 20, 30), (10.0, 30.0)),
    ("pathogen.beta=0.2:0.6", (), (0.2, 0.6)),
    ("zones.school.wall=0.5, 0.9", (0.5, 0.9), None),
    ("run.mixing=\"density\",\"frequency\"", ("density", "frequency"), None),
])
def test_param_syntax(text: str, values: tuple[object, ...], bounds: tuple[float, float] | None) -> None:
    p = parse_param(text)
    assert p.values == values and p.bounds == bounds
    assert all(type(a) is type(b) for a, b in zip(p.values, values, strict=True))


@pytest.mark.parametrize("text", ["pathogen.beta", "pathogen.beta=", "=1,2", "pathogen.beta=a:b:3",
                                  "pathogen.beta=0.1:0.2:0", "pathogen.beta=1:2:3:4", "pathogen..beta=1"])
def test_bad_param_syntax_is_named(text: str) -> None:
    with pytest.raises(ParamError, match="--param"):
        parse_param(text)


def test_sweep_file(tmp_path: Path) -> None:
    f = tmp_path / "sweep.toml"
    f.write_text('scenario = "sir"\nmethod = "lhs"\nsamples = 4\ndays = 20\n[params]\n'
                 '"pathogen.beta" = { min = 0.2, max = 0.6 }\n"defence.decay" = [0.1, 0.2]\n')
    spec = load_sweep_file(f)
    assert (spec.scenario, spec.method, spec.samples, spec.days) == ("sir", "lhs", 4, 20)
    assert spec.params["pathogen.beta"].bounds == (0.2, 0.6)
    assert spec.params["defence.decay"].span() == (0.1, 0.2)
    f.write_text('scenario = "sir"\nsamples = "x"\n[params]\n"pathogen.beta" = [0.2]\n')
    with pytest.raises(ParamError, match="samples"):
        load_sweep_file(f)


# -- command line ---------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_ensemble_json_then_resume_then_query_and_export(cli: typer.Typer, tmp_path: Path) -> None:
    store = str(tmp_path / "c.duckdb")
    runner = CliRunner()
    args = ["ensemble", "sir", "--runs", "3", "--days", "10", "--engine", "ode", "--store", store, "--json",
            "--variant", "fast:pathogen.beta=0.4"]
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert (report["stored"], report["skipped"], report["points"]) == (6, 0, 2)
    assert {b["variant"] for b in report["bands"]} == {"base", "fast"}
    r = runner.invoke(cli, args)
    assert json.loads(r.stdout)["skipped"] == 6
    r = runner.invoke(cli, ["query", "--store", store, "--json", "SELECT variant, count(*) AS n FROM runs GROUP BY 1 "
                                                                 "ORDER BY 1"])
    assert r.exit_code == 0 and json.loads(r.stdout) == [{"variant": "base", "n": 3}, {"variant": "fast", "n": 3}]
    r = runner.invoke(cli, ["query", "--store", store, "SELECT count(*) AS n FROM summaries"])
    assert r.exit_code == 0 and "6" in r.stdout
    r = runner.invoke(cli, ["export", "--parquet", str(tmp_path / "pq"), "--store", store])
    assert r.exit_code == 0 and (tmp_path / "pq" / "series.parquet").exists()


def test_cli_sweep_prints_points_and_sensitivity(cli: typer.Typer, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["sweep", "sir", "--param", "pathogen.beta=0.2:0.4:3", "--days", "30", "--engine",
                                 "ode", "--store", str(tmp_path / "s.duckdb")])
    assert r.exit_code == 0, r.output
    assert "Spearman" in r.stdout and "0.3" in r.stdout


def test_cli_sweep_records_where_its_scenario_came_from(cli: typer.Typer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep records its source as an ensemble does: ``builtin sir`` for a built-in, the file's
    absolute path for a file (named on the command line or by a sweep file); it said ``<python>``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "town.toml").write_text('name = "town"\n[[zones]]\nid = "a"\npopulation = { S = 100, Z = 1 }\n')
    (tmp_path / "sweep.toml").write_text('scenario = "town.toml"\ndays = 5\nengine = "ode"\n'
                                         '[params]\n"pathogen.beta" = [0.2, 0.3]\n')
    store = str(tmp_path / "src.duckdb")
    for args in (["sweep", "sir", "--param", "pathogen.beta=0.2,0.3"], ["sweep", "--file", "sweep.toml"],
                 ["sweep", "town.toml", "-p", "pathogen.beta=0.2,0.4"], ["ensemble", "sir", "--runs", "1"]):
        r = CliRunner().invoke(cli, [*args, "--days", "5", "--engine", "ode", "--store", store, "--json"])
        assert r.exit_code == 0, r.output
    with Store(store, read_only=True) as st:
        got = st.query("SELECT DISTINCT kind, source FROM batches")
    town = str((tmp_path / "town.toml").resolve())
    assert set(map(tuple, got.to_numpy().tolist())) == {("sweep", "builtin sir"), ("sweep", town),
                                                         ("ensemble", "builtin sir")}


@pytest.mark.parametrize(("args", "message"), [
    (["sweep", "sir", "--param", "pathogen.beta=0.2:0.6:x"], "N: got 'x', expected a whole number"),
    (["sweep", "sir", "--param", "pathogen.bta=0.2:0.6:3"], "did you mean 'beta'"),
    (["sweep", "sir"], "at least one --param"),
    (["ensemble", "nowhere.toml", "--runs", "2"], "nowhere.toml"),
    (["ensemble", "sir", "--runs", "2", "--variant", "oops"], "NAME:PATH=VALUE"),
    (["ensemble", "sir", "--runs", "2", "--engine", "warp"], "--engine (run.engine): got 'warp'"),
    (["query", "SELECT 1"], "no store"),
])
def test_cli_errors_exit_2_without_traceback(cli: typer.Typer, tmp_path: Path, args: list[str], message: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_an_error_while_ctrl_c_is_handled_is_the_ctrl_c(cli: typer.Typer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A second Ctrl-C interrupted DuckDB's write of the runs in hand: the command said "the store
    cannot be read: ... transaction is aborted" (exit 2). The user stopped it: exit 130, one line."""
    import duckdb

    import aftermath.run.commands as commands

    def interrupted(*args: object, **kwargs: object) -> None:
        try:
            raise KeyboardInterrupt
        finally:  # the write in the batch's finally, interrupted in turn
            raise duckdb.TransactionException("TransactionContext Error: Current transaction is aborted")

    monkeypatch.setattr(commands, "ensemble", interrupted)
    store = tmp_path / "t.duckdb"
    r = CliRunner().invoke(cli, ["ensemble", "sir", "--runs", "2", "--engine", "ode", "--store", str(store)])
    assert r.exit_code == 130, r.output
    assert r.output.startswith(f"interrupted: the runs that finished are in {store}"), r.output
    assert r.output.count("\n") == 1, r.output  # one line, however long (it wrapped at 80 columns)


def docs_python_example(runs: int, guarded: bool = True) -> str:
    """docs/ensembles.md's ensemble example with ``runs`` replicates; ``guarded=False``: without its
    ``if __name__ == "__main__":`` (as a user might save it)."""
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "ensembles.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", doc, flags=re.S) if "workers=" in b)
    assert 'if __name__ == "__main__":' in block  # a script with workers needs it (the docs say why)
    block = block.replace("runs=200", f"runs={runs}")
    if not guarded:
        head, _, body = block.partition('if __name__ == "__main__":')
        block = head + textwrap.dedent(body.partition("\n")[2])
    return block


def test_a_script_with_workers_but_no_main_guard_is_told_so(tmp_path: Path) -> None:
    """Saved as a script without the guard, the docs' example failed on the store's lock ("Could not
    set lock", then BrokenProcessPool): each worker re-imported the script and started the
    ensemble again. The worker now says what is wrong and how to fix it."""
    script = tmp_path / "ex.py"
    script.write_text(docs_python_example(runs=2, guarded=False))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode != 0
    assert 'under `if __name__ == "__main__":`' in r.stderr and "lock" not in r.stderr, r.stderr


@pytest.mark.slow
def test_the_python_example_in_the_docs_runs_as_a_script(tmp_path: Path) -> None:
    script = tmp_path / "ex.py"
    script.write_text(docs_python_example(runs=2) + "    print(res.stored)\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["4"] and "Traceback" not in r.stderr, (r.stdout, r.stderr)


def test_the_sweep_file_in_the_docs_is_valid(tmp_path: Path) -> None:
    import re

    from aftermath.run.sweep import sample_points
    from aftermath.scenario.load import load, with_overrides

    doc = (Path(__file__).resolve().parents[1] / "docs" / "ensembles.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(.*?)```", doc, flags=re.S)
    f = tmp_path / "sweep.toml"
    f.write_text(block)
    spec = load_sweep_file(f)
    assert spec.scenario is not None and spec.method is not None
    for point in sample_points(list(spec.params.values()), spec.method, spec.samples, spec.seed or 0)[:3]:
        with_overrides(load(spec.scenario), point)


def test_a_workers_stop_raised_where_python_cannot_raise_it_is_not_printed(capfd: pytest.CaptureFixture[str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker told to stop (SIGTERM) raises its stop from the signal handler; when that lands in a
    ``__del__`` or a weakref callback Python printed "Exception ignored in ... _Stop" with a
    traceback on the user's terminal (seen once in ten Ctrl-C's). The worker's unraisable hook
    drops that one, and reports anything else as Python would."""
    import gc
    import sys

    from aftermath.run.executors import _quiet_stop, _Stop

    class Stopped:
        def __del__(self) -> None:
            raise _Stop

    class Broken:
        def __del__(self) -> None:
            raise ValueError("shown")

    monkeypatch.setattr(sys, "unraisablehook", _quiet_stop)
    Stopped()
    gc.collect()
    assert capfd.readouterr().err == ""
    Broken()
    gc.collect()
    assert "ValueError: shown" in capfd.readouterr().err
