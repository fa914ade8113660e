"""Issue 11, parts 3 and 5: every command fails cleanly, and an ensemble's processes end with it.

Each reproducer of the issue is a case here: an ordinary mistake gives exit 2 and one line naming
the flag (or key), the value and what was expected, before any work and without creating a file or
a folder; a bug gives one line naming a log file with the traceback (exit 1); ``--json`` output is
alone on stdout; and ``kill -9`` of an ensemble with worker processes leaves none of them behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import aftermath.engines.driver as driver
from aftermath.cli import app

runner = CliRunner()


def one_clean_line(res: object) -> str:
    """The single line a refused command printed on stderr (exit 2, no traceback)."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)  # type: ignore[attr-defined]
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), res.exception  # type: ignore[attr-defined]
    text = res.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in res.output  # type: ignore[attr-defined]
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any simulation fails the test: the refusal must come before the run."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command ran a simulation before refusing its input")

    monkeypatch.setattr(driver, "simulate", refuse)


# -- ordinary mistakes: exit 2, one line with the flag, the value and the expectation --------------

BAD_RUN_OPTIONS = {
    "days -5": (["run", "sir", "--days", "-5"], ["--days", "-5", ">= 1"]),
    "days -1": (["run", "sir", "--days", "-1"], ["--days", "-1", ">= 1"]),
    "days 0": (["run", "sir", "--days", "0"], ["--days", "0", ">= 1"]),
    "days over the file's bound": (["run", "sir", "--days", "200000"], ["--days", "200000", "<= 100,000"]),
    "seed -1 ssa": (["run", "sir", "--engine", "ssa", "--seed", "-1"], ["--seed", "-1", ">= 0"]),
    "seed -1 abm": (["run", "sir", "--engine", "abm", "--seed", "-1"], ["--seed", "-1", ">= 0"]),
    "seed 2^64": (["run", "sir", "--seed", str(2**64)], ["--seed", str(2**64), "<"]),
    "engine gpu": (["run", "sir", "--engine", "gpu"], ["--engine", "'gpu'", "ode"]),
    "report engine gpu": (["report", "sir", "--engine", "gpu"], ["--engine", "'gpu'", "ode"]),
    "report days 0": (["report", "sir", "--days", "0"], ["--days", "0", ">= 1"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RUN_OPTIONS))
def test_bad_run_options_are_refused_before_the_run(case: str, no_run: None, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args, needles = BAD_RUN_OPTIONS[case]
    line = one_clean_line(runner.invoke(app, args))
    for needle in needles:
        assert needle in line, (needle, line)
    assert list(tmp_path.iterdir()) == []  # no report.html, nothing


BATCH_CASES = {
    "ensemble runs 1e9": (["ensemble", "sir", "--runs", "1000000000"], ["--runs", "1,000,000,000", "100,000"]),
    "ensemble days 0": (["ensemble", "sir", "--days", "0", "--runs", "2"], ["--days", "0", ">= 1"]),
    "ensemble days 2e5": (["ensemble", "sir", "--days", "200000", "--runs", "2"], ["--days", "200000", "<= 100,000"]),
    "ensemble seed -1": (["ensemble", "sir", "--seed", "-1", "--runs", "2"], ["--seed", "-1", ">= 0"]),
    "ensemble seed 2^64": (["ensemble", "sir", "--seed", str(2**64), "--runs", "2"], ["--seed", str(2**64)]),
    "ensemble variants x runs": (["ensemble", "sir", "--runs", "60000", "--variant", "a:pathogen.beta=0.3"],
                                 ["--runs", "120,000", "100,000"]),
    "sweep lhs 1e9": (["sweep", "sir", "--lhs", "1000000000", "--param", "pathogen.beta=0.1:0.2"],
                      ["--lhs", "1,000,000,000", "100,000"]),
    "sweep axis of 1e8": (["sweep", "sir", "--param", "pathogen.beta=0:1:100000000"],
                          ["pathogen.beta=0:1:100000000", "100000000", "100,000"]),
    "sweep grid of 1e6": (["sweep", "sir", "--param", "pathogen.beta=0:1:1000", "--param", "defence.decay=0:1:1000"],
                          ["--param", "1,000 x 1,000", "100,000"]),
    "sweep points x runs": (["sweep", "sir", "--param", "pathogen.beta=0:1:1000", "--runs", "1000"],
                            ["--runs", "1,000,000", "100,000"]),
    "sweep every inf": (["sweep", "hyosan", "--param", "policies.7.every=inf,14"], ["policies.7.every", "inf"]),
    "sweep every 1e300": (["sweep", "hyosan", "--param", "policies.7.every=1e300,14"], ["policies.7.every", "1e+300"]),
    "sweep engine empty": (["sweep", "sir", "--param", "pathogen.beta=0.1,0.2", "--engine", ""], ["--engine", "''"]),
    "ensemble engine empty": (["ensemble", "sir", "--runs", "2", "--engine", ""], ["--engine", "''"]),
    "sweep days 0": (["sweep", "sir", "--param", "pathogen.beta=0.1,0.2", "--days", "0"], ["--days", "0", ">= 1"]),
    "compare days -1": (["compare", "sir", "--policy", "a:pathogen.beta=0.3", "--days", "-1"], ["--days", "-1"]),
    "scheduler without a port": (["ensemble", "sir", "--runs", "2", "--scheduler", "foo"], ["--scheduler", "'foo'"]),
    "compare runs 2e5": (["compare", "sir", "--policy", "a:pathogen.beta=0.3", "--runs", "200000"],
                         ["--runs", "400,000", "100,000"]),
}


@pytest.mark.parametrize("case", sorted(BATCH_CASES))
def test_bad_batches_are_refused_before_any_work(case: str, no_run: None, tmp_path: Path) -> None:
    """Too many runs or points, or a bad horizon, seed or value: refused in well under a second per
    case, before allocating (no MemoryError) and before the store is created."""
    args, needles = BATCH_CASES[case]
    store = tmp_path / "s.duckdb"
    t0 = time.perf_counter()
    line = one_clean_line(runner.invoke(app, [*args, "--store", str(store)]))
    assert time.perf_counter() - t0 < 20
    for needle in needles:
        assert needle in line, (needle, line)
    assert not store.exists()


def test_a_batch_over_the_memory_budget_is_refused_before_the_store(no_run: None, tmp_path: Path) -> None:
    """Each variant's budget (aftermath.engines.budget) is checked once for the batch, before the store."""
    f = tmp_path / "huge.toml"
    f.write_text('[[zones]]\nid = "a"\npopulation = { S = 1e11, Z = 10 }\n')
    store = tmp_path / "s.duckdb"
    line = one_clean_line(runner.invoke(app, ["ensemble", str(f), "--engine", "abm", "--runs", "2", "--days", "5",
                                              "--store", str(store)]))
    assert "zones" in line and "people" in line
    assert not store.exists()


def test_output_paths_are_checked_before_the_run(no_run: None, tmp_path: Path) -> None:
    line = one_clean_line(runner.invoke(app, ["run", "sir", "--plot", str(tmp_path / "x.xyz")]))
    assert "--plot" in line and "x.xyz" in line and ".png" in line
    line = one_clean_line(runner.invoke(app, ["run", "sir", "--plot", "/nonexistent/x.png"]))
    assert "--plot" in line and "/nonexistent/x.png" in line and "does not exist" in line
    line = one_clean_line(runner.invoke(app, ["run", "sir", "--plot", str(tmp_path)]))
    assert "--plot" in line and "folder" in line
    line = one_clean_line(runner.invoke(app, ["report", "sir", "-o", str(tmp_path)]))
    assert "--output" in line and str(tmp_path) in line and "a folder" in line
    line = one_clean_line(runner.invoke(app, ["report", "sir", "-o", "/nonexistent/r.html"]))
    assert "--output" in line and "/nonexistent" in line
    if Path("/proc/self").is_dir():  # a folder that exists but takes no new file, even from root
        line = one_clean_line(runner.invoke(app, ["run", "sir", "--plot", "/proc/x.png"]))
        assert "--plot" in line and "can be written" in line
    assert list(tmp_path.iterdir()) == []


def test_nothing_creates_folders_unasked(no_run: None, tmp_path: Path) -> None:
    missing = tmp_path / "nd"
    line = one_clean_line(runner.invoke(app, ["run", "sir", "--report", str(missing / "r.html")]))
    assert "--report" in line and str(missing) in line and "does not exist" in line
    line = one_clean_line(runner.invoke(app, ["ensemble", "sir", "--runs", "2", "--store", str(missing / "x.duckdb")]))
    assert "--store" in line and str(missing) in line
    line = one_clean_line(runner.invoke(app, ["sweep", "sir", "--param", "pathogen.beta=0.1,0.2",
                                              "--store", str(missing / "x.duckdb")]))
    assert "--store" in line
    line = one_clean_line(runner.invoke(app, ["compare", "sir", "--policy", "a:pathogen.beta=0.3", "--report",
                                              str(missing / "c.html"), "--store", str(tmp_path / "s.duckdb")]))
    assert "--report" in line
    line = one_clean_line(runner.invoke(app, ["compare", "sir", "--policy", "a:pathogen.beta=0.3", "--runs", "2",
                                              "--store", str(missing / "c.duckdb")]))
    assert "--store" in line and str(missing) in line
    line = one_clean_line(runner.invoke(app, ["ensemble", "sir", "--runs", "2", "--store", str(tmp_path)]))
    assert "--store" in line and "folder" in line
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_run_report_still_writes_into_an_existing_folder(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["run", "sir", "--days", "20", "--report", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 10_000


def test_json_is_alone_on_stdout_with_the_chronicle(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", "hyosan", "--days", "60", "--json", "--chronicle"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # the whole of stdout is one JSON document
    assert data["days"] == 60
    assert "day" in res.stderr.lower()  # the chronicle went to stderr


def test_a_usage_error_is_one_line_with_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    """Called as the ``aftermath`` program (App.__call__), Click's usage errors are one line too."""
    with pytest.raises(SystemExit) as exit_:
        app(args=["run", "sir", "--days", "abc"], prog_name="aftermath")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["error: --days: got 'abc', expected a whole number; see 'aftermath run --help'"], err


@pytest.mark.parametrize(("args", "said"), [
    (["ensemble", "sir", "--runs", "0"], "--runs: got 0, expected at least 1"),
    (["ensemble", "sir", "-n", "1.5"], "--runs: got 1.5, expected a whole number"),
    (["query", "--limit", "0", "select 1"], "--limit: got 0, expected at least 1"),
    (["ensemble", "sir", "-n", "5", "--runs", "0"], "--runs: got 0, expected at least 1"),  # the last one given
    (["ensemble", "sir", "-n0"], "--runs: got 0, expected at least 1")])
def test_a_flag_out_of_range_is_said_like_every_other_error(args: list[str], said: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Typer's own messages for a flag's value ("Input should be greater than or equal to 1") read
    as the project's: the flag, the value, what was expected."""
    with pytest.raises(SystemExit) as exit_:
        app(args=args, prog_name="aftermath")
    assert exit_.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {said}; see 'aftermath "), lines


def test_a_bug_gives_one_line_and_a_log_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a deliberate bug")

    monkeypatch.setattr(driver, "simulate", broken)
    monkeypatch.setenv("AFTERMATH_CRASH_DIR", str(tmp_path / "crashes"))
    with pytest.raises(SystemExit) as exit_:
        app(args=["run", "sir", "--days", "5"], prog_name="aftermath")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    logs = list((tmp_path / "crashes").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback" in text and "a deliberate bug" in text and "run sir --days 5" in text


def test_a_reader_that_stops_early_still_gets_the_files_asked_for(tmp_path: Path) -> None:
    """``aftermath run ... --plot F | head -1``: head closes stdout after a line, and the figure was
    never written (the print before it failed). The files come first now."""
    exe = Path(sys.executable).with_name("aftermath")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "aftermath"]
    fig, page = tmp_path / "f.png", tmp_path / "r.html"
    proc = subprocess.Popen([*cmd, "run", "sir", "--days", "30", "--plot", str(fig), "--report", str(page)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert fig.stat().st_size > 0 and page.stat().st_size > 0, err
    assert "Traceback" not in err


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    """The real entry point (``aftermath = aftermath._entry:main``), in a process of its own."""
    exe = Path(sys.executable).with_name("aftermath")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from aftermath.cli import app; app()"]
    r = subprocess.run([*cmd, "run", "sir", "--days", "-5"], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "--days" in r.stderr


# -- part 5: an ensemble's processes end with it, however it ends -------------------------------------

def test_kill_9_of_an_ensemble_leaves_no_process_behind(tmp_path: Path) -> None:
    """``kill -9`` of ``ensemble --workers 2``: its workers, the forkserver and the resource tracker all
    end within seconds (the workers' lifeline, aftermath.run.tasks.worker_init)."""
    psutil = pytest.importorskip("psutil")
    store = tmp_path / "k.duckdb"
    cmd = [sys.executable, "-c", "from aftermath.cli import app; app()", "ensemble", "sir", "--engine", "ssa",
           "--runs", "2000", "--days", "300", "--workers", "2", "--store", str(store), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    descendants: list[object] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # the resource tracker, the forkserver and two workers
            descendants = parent.children(recursive=True)
            if len(descendants) >= 4:
                break
            assert proc.poll() is None, "the ensemble ended before it could be killed"
            time.sleep(0.2)
        assert len(descendants) >= 4, descendants
        time.sleep(1.0)  # the workers are running tasks
        descendants = parent.children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _gone, alive = psutil.wait_procs(descendants, timeout=10)
        assert alive == [], [(p.pid, p.cmdline()) for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in descendants:  # never leave them behind, even when the test fails
            with contextlib.suppress(psutil.Error):
                p.kill()  # type: ignore[attr-defined]


CTRL_C_LINE = "interrupted: the runs that finished are in {store}; rerun the same command to finish the rest"


def ctrl_c(psutil: object, cmd: list[str], store: Path, cwd: Path, delay: float | None,
           workers_up: bool = False, processes: int = 4) -> str:
    """Run ``cmd`` in a process group of its own, as a terminal does, and press Ctrl-C (SIGINT to
    the whole group) ``delay`` s after its forkserver appears (or, ``workers_up``, after it has
    ``processes`` descendants: its workers are up). Assert what a user must see: exit 130, the one
    "interrupted" line and nothing else on stderr, and no process of it left behind. Returns its
    stdout."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            start_new_session=True)
    parent = psutil.Process(proc.pid)  # type: ignore[attr-defined]
    descendants: list[object] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            descendants = parent.children(recursive=True)
            forkserver = any("forkserver" in " ".join(p.cmdline()) for p in descendants  # type: ignore[attr-defined]
                             if p.is_running())  # type: ignore[attr-defined]
            if (len(descendants) >= processes) if workers_up else forkserver:
                break
            assert proc.poll() is None, "the command ended before Ctrl-C"
            time.sleep(0.02)
        time.sleep(delay or 0.0)
        descendants = parent.children(recursive=True)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (proc.returncode, err)
        assert "Traceback" not in err and "Error" not in err and "warn" not in err, err
        assert " ".join(err.split()) == CTRL_C_LINE.format(store=store), err
        _gone, alive = psutil.wait_procs(descendants, timeout=10)  # type: ignore[attr-defined]
        assert alive == [], [(p.pid, p.cmdline()) for p in alive]
        return out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for p in descendants:
            with contextlib.suppress(psutil.Error):  # type: ignore[attr-defined]
                p.kill()  # type: ignore[attr-defined]


def ensemble_cmd(store: Path, runs: int = 2000) -> list[str]:
    return [sys.executable, "-c", "from aftermath.cli import app; app()", "ensemble", "sir", "--engine", "ssa",
            "--runs", str(runs), "--days", "300", "--workers", "2", "--store", str(store), "--json"]


def test_ctrl_c_while_the_workers_start_is_one_line(tmp_path: Path) -> None:
    """Ctrl-C while the forkserver still imports the model printed its KeyboardInterrupt traceback
    (~45 lines) under the "interrupted" line: the forkserver and the workers are started with SIGINT
    held (aftermath.run.executors._sigint_held), and only the command handles it."""
    psutil = pytest.importorskip("psutil")
    store = tmp_path / "i.duckdb"
    ctrl_c(psutil, ensemble_cmd(store), store, tmp_path, delay=None)


@pytest.mark.slow
def test_ctrl_c_at_any_moment_is_one_line_and_the_rerun_resumes(tmp_path: Path) -> None:
    """Ctrl-C during the forkserver's imports, then with the workers running: each time exit 130,
    one line, nothing left behind (a running worker is stopped at once, not left to finish its
    run); what finished is kept, and the same command finishes the rest."""
    psutil = pytest.importorskip("psutil")
    from aftermath.store import Store

    store, runs = tmp_path / "r.duckdb", 80
    ctrl_c(psutil, ensemble_cmd(store, runs), store, tmp_path, delay=0.5)
    ctrl_c(psutil, ensemble_cmd(store, runs), store, tmp_path, delay=3.0, workers_up=True)
    with Store(store, read_only=True) as st:
        before = len(st.runs(status="done"))
    assert 0 < before < runs
    done = subprocess.run(ensemble_cmd(store, runs), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["skipped"], report["stored"], report["failed"]) == (before, runs - before, 0)


@pytest.mark.slow
def test_ctrl_c_of_a_dask_ensemble_is_one_line(tmp_path: Path) -> None:
    """``--dask``: the LocalCluster's worker processes printed pages of KeyboardInterrupt tracebacks
    on Ctrl-C; the cluster is started with Ctrl-C held too, and the command stops it."""
    pytest.importorskip("dask.distributed")
    psutil = pytest.importorskip("psutil")
    store = tmp_path / "d.duckdb"
    cmd = [*ensemble_cmd(store)[:-3], "--dask", "--store", str(store), "--json"]
    assert "--workers" in cmd
    ctrl_c(psutil, cmd, store, tmp_path, delay=2.0, workers_up=True, processes=3)  # the tracker, 2 workers


def test_names_and_labels_are_shown_as_written_never_as_markup(tmp_path: Path) -> None:
    """A scenario named ``[/x]`` or a variant labelled so crashed the printing (Rich read them as
    markup tags; found in review): they are the user's text and are shown as written."""
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "[/x]"\n[[zones]]\nid = "a"\npopulation = { S = 100, Z = 1 }\n')
    res = runner.invoke(app, ["run", str(scenario), "--days", "3"])
    assert res.exit_code == 0 and "[/x]" in res.output, res.output
    res = runner.invoke(app, ["compare", "sir", "--engine", "ode", "--days", "3", "--runs", "1",
                              "--store", str(tmp_path / "c.duckdb"), "--policy", "[/x]:pathogen.beta=0.2"])
    assert res.exit_code == 0 and "[/x]" in res.output and "[90% interval]" in res.output, res.output


@pytest.mark.parametrize(("args", "said"), [
    (["sweep", "sir", "--param", "pathogen.beta=a:b:3"], "--param 'pathogen.beta=a:b:3': 'a' is not a number"),
    (["run", ":fire:"], "error: SCENARIO: got ':fire:', expected an existing scenario file"),
    (["calibrate", "sir", "--data", ":x:.csv", "-p", "pathogen.beta=0.1:0.5"], "--data ':x:.csv': no such file"),
])
def test_errors_show_the_users_text_never_an_emoji(args: list[str], said: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich read ':b:' in 'a:b:3', ':fire:' and ':x:' as emoji codes (found by a new user's trial):
    the value in an error is the user's text, as typed."""
    monkeypatch.chdir(tmp_path)
    line = one_clean_line(runner.invoke(app, args))
    assert said in line, line


def test_a_store_path_is_shown_as_written(tmp_path: Path) -> None:
    """The store's path in a batch's last line, neither markup ('[b]') nor emoji (':x:')."""
    store = tmp_path / "x[b]:x:.duckdb"
    res = runner.invoke(app, ["ensemble", "sir", "--runs", "1", "--engine", "ode", "--days", "3", "--store", str(store),
                              "--variant", "[b]:pathogen.beta=0.3"], env={"COLUMNS": "400"})  # the path on one line
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert f"store {store}, batch" in text and "│ [b] " in res.stdout, res.stdout


def test_a_scenario_named_with_an_emoji_code_is_shown_as_written(tmp_path: Path) -> None:
    """The run's header shows the scenario's name as written: ':fire:' is no emoji (stdout too)."""
    f = tmp_path / "fire.toml"
    shown = runner.invoke(app, ["show", "sir"]).stdout
    f.write_text(shown.replace('name = "SIR limit"', 'name = "SIR :fire: limit"', 1), encoding="utf-8")
    assert "SIR :fire: limit" in f.read_text(encoding="utf-8")
    res = runner.invoke(app, ["run", str(f), "--days", "3"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "SIR :fire: limit" in res.stdout and "\U0001f525" not in res.stdout


def test_ctrl_c_of_a_comparison_says_so(tmp_path: Path) -> None:
    """`compare` exited 130 without a word on Ctrl-C (typer turns the interrupt into an exit code):
    it now says what ensemble says (the runs that finished are kept; rerun to finish)."""
    psutil = pytest.importorskip("psutil")
    store = tmp_path / "c.duckdb"
    cmd = [*ensemble_cmd(store, 400)[:3], "compare", "sir", "--engine", "ssa", "--runs", "400", "--days", "300",
           "--workers", "2", "--policy", "slow:pathogen.beta=0.3", "--store", str(store), "--json"]
    ctrl_c(psutil, cmd, store, tmp_path, delay=None)
