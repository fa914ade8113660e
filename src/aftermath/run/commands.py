"""Command-line commands for many runs: ``ensemble``, ``sweep``, ``rerun``, ``query`` and ``export``.

:func:`register` adds them to the application in :mod:`aftermath.cli`. They parse, call
:mod:`aftermath.run` and :class:`aftermath.store.Store`, and print; an error a user can fix (a bad
``--param``, an unknown scenario path, a missing store) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from aftermath import _lazy
from aftermath.defaults import DEFAULT_PATH
from aftermath.report.columns import fitted, print_wide
from aftermath.terminal import LiveConsole

if TYPE_CHECKING:
    import pandas as pd

    from aftermath.record.vocabulary import Vocabulary
    from aftermath.run.ensemble import BatchResult
    from aftermath.run.params import ParamSpec
    from aftermath.run.rerun import RerunResult
    from aftermath.run.sweep import SweepResult
    from aftermath.scenario.schema import Scenario
    from aftermath.store.records import RunRecord

# The commands import the engines, pandas, DuckDB and the store when they run, not when the command
# line starts (``aftermath --version`` would pay for them): hence the imports inside functions.

out = LiveConsole()  # (no emoji: a user's ':x:' is shown as written)
err = LiveConsole(stderr=True)


def _user_error_types() -> tuple[type[BaseException], ...]:
    from aftermath.run.params import ParamError
    from aftermath.scenario.load import ScenarioError
    from aftermath.store.store import StoreError

    return (ScenarioError, ParamError, StoreError, ValueError, OSError, TimeoutError)


#: ``ensemble``, imported when a command first looks it up in this module (a test may put another there)
__getattr__, __dir__ = _lazy.attach(__name__, globals(), {"ensemble": "aftermath.run.ensemble"})

STORE_OPT = typer.Option(Path(DEFAULT_PATH), "--store", help="DuckDB results file.")
JSON_OPT = typer.Option(False, "--json", help="Print JSON instead of tables.")
WIDE_OPT = typer.Option(False, "--wide", help="Print each table whole, however wide (default: split to fit).")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Errors a user can fix: one line, exit code 2, no traceback."""
    import duckdb

    from aftermath.store.store import damaged_error

    try:
        yield
    except Exception as exc:
        if not isinstance(exc, typer.Exit) and after_ctrl_c(exc):
            raise KeyboardInterrupt from None
        if isinstance(exc, _user_error_types()):
            raise _fail(_one_line(str(exc))) from None
        if isinstance(exc, ImportError):
            raise _fail(str(exc)) from None
        if isinstance(exc, duckdb.Error):  # read from a store: a block found corrupt only when read, ...
            what = "a store is damaged" if damaged_error(exc) else "the store cannot be read"
            raise _fail(f"{what}: {_one_line(str(exc))}") from None
        if isinstance(exc, MemoryError):
            raise _fail("out of memory: the batch is too large for this machine; use fewer --runs or points") from None
        raise


def after_ctrl_c(exc: BaseException) -> bool:
    """Whether ``exc`` is a Ctrl-C as a library reported it, or came while one was being handled:
    the user stopping the command, not a bug nor a damaged store.

    * DuckDB turns a Ctrl-C during a query into its own error ("Query interrupted": opening the
      store, say), with no KeyboardInterrupt attached;
    * a second Ctrl-C interrupts DuckDB's write of the runs in hand ("Current transaction is
      aborted"; the write is rolled back, the rerun runs those again);
    * a Ctrl-C during a compiled module's first import leaves an ImportError ("initialization
      failed") whose cause is the KeyboardInterrupt."""
    if type(exc).__name__ == "InterruptException" or (isinstance(exc, RuntimeError)
                                                      and str(exc).startswith("Query interrupted")):
        return True
    todo, ids = [exc.__cause__, exc.__context__], {id(exc)}
    while todo:
        seen = todo.pop()
        if seen is None or id(seen) in ids:
            continue
        if isinstance(seen, KeyboardInterrupt):
            return True
        ids.add(id(seen))
        todo += [seen.__cause__, seen.__context__]
    return False


def _one_line(text: str) -> str:
    """The first line of an error message (DuckDB adds lines pointing into the SQL)."""
    lines = text.strip().splitlines()
    return lines[0] if lines else text


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Any]:
    """A Rich progress bar with ETA on stderr; yields the callback for :mod:`aftermath.run`."""
    if not enabled:
        yield None
        return
    cols = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    # drawn on a terminal only (as calibrate's): elsewhere a bar shows nothing but a blank line when it stops
    with Progress(*cols, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None, failed="")
        failed = 0

        def update(done: int, total: int, rec: RunRecord | None) -> None:
            nonlocal failed
            if rec is None:  # the start: runs already stored count as done (resume)
                bar.reset(task, total=total, completed=done)
                return
            failed += 0 if rec.ok else 1
            bar.update(task, completed=done, failed=f"[red]{failed} failed" if failed else "")

        yield update


def _precheck(scenario: str, days: int | None, seed: int | None, engine: str | None, runs: int,
              points: int, overrides: dict[str, dict[str, Any]] | None = None) -> None:
    """What a batch can be refused for, checked before the store is opened, a worker started or a
    progress bar drawn (which leaves a blank line before an error): the scenario,
    ``--days``/``--seed``/``--engine`` against the schema's bounds, the batch's size, and
    ``overrides`` (what each names, its paths and values: a ``--variant``, the swept parameters)."""
    from aftermath.run.ensemble import as_scenario, check_batch_size, check_engine
    from aftermath.scenario.load import apply_run_options, with_overrides

    check_batch_size(runs, points)
    base = as_scenario(scenario)
    apply_run_options(base, days=days, seed=seed, engine=engine, source="command line")
    for source, paths in (overrides or {}).items():
        with_overrides(base, paths, source=source)
    if engine is not None:
        check_engine(engine)


def _executor_from(workers: int | None, dask: bool, scheduler: str | None) -> Any:
    from aftermath.run.executors import make_executor

    try:
        return make_executor(workers=workers, dask=dask, scheduler=scheduler)
    except (OSError, TimeoutError, ValueError) as exc:
        raise _fail(f"--scheduler: cannot reach the Dask scheduler at {scheduler!r} ({_one_line(str(exc))}); "
                    "expected the address of a running scheduler, e.g. tcp://10.0.0.5:8786") from None
    except RuntimeError as exc:
        raise _fail(str(exc)) from None


def _variants(specs: Sequence[str]) -> dict[str, dict[str, Any]] | None:
    """``NAME:PATH=VALUE`` (repeat a name to set several paths); the scenario as is is "base"."""
    if not specs:
        return None
    from aftermath.run.params import ParamError
    from aftermath.scenario.load import parse_value

    out: dict[str, dict[str, Any]] = {"base": {}}
    for spec in specs:
        name, sep, rest = spec.partition(":")
        path, eq, value = rest.partition("=")
        if not sep or not eq or not name.strip() or not path.strip():
            raise ParamError(f"--variant {spec!r}: expected NAME:PATH=VALUE, e.g. walls:zones.school.wall=0.9")
        out.setdefault(name.strip(), {})[path.strip()] = parse_value(value.strip())
    return out


def _fmt(x: Any) -> str:
    import pandas as pd

    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


#: points of a sweep checked before it starts: all of them up to this many, else this many spread over it
CHECKED_POINTS = 200


def _sweep_points(scenario: str, specs: list[ParamSpec], method: str, samples: int | None,
                  seed: int | None) -> dict[str, dict[str, Any]]:
    """The sweep's points as it will make them (values rounded as it rounds them, each point whole:
    a value may be valid only with another swept one), to be checked before anything starts; a
    large sweep's spread of :data:`CHECKED_POINTS` (its first and last included)."""
    import numpy as np

    from aftermath.run.ensemble import as_scenario
    from aftermath.run.sweep import point_label, sample_points

    seed0 = as_scenario(scenario).run.seed if seed is None else int(seed)
    if not 0 <= seed0 < 2**63:
        return {}  # (the seed's own error comes from _precheck's run options)
    points = sample_points(specs, method, samples, seed0)
    if len(points) > CHECKED_POINTS:
        points = [points[int(k)] for k in np.unique(np.linspace(0, len(points) - 1, CHECKED_POINTS).round())]
    return {f"the swept point {point_label(v)}": dict(v) for v in points}


def _bands_table(res: BatchResult, metrics: Sequence[str], vocab: Vocabulary | None = None) -> Table:
    """The batch's bands of ``metrics``, each named in ``vocab``'s words, as the reports name them
    (``--json`` keeps the summary's keys)."""
    from aftermath.record.vocabulary import shows_deaths, word

    b = res.summary_bands(metrics)
    if vocab is not None and not shows_deaths(vocab, res.summaries()["deaths"]):  # any run's, not a quantile
        b = b[b["metric"] != "deaths"]  # none died in any run: the SIR limit's R holds everyone removed
    said = {m: word(m, vocab) for m in metrics}
    t = Table(title=f"{res.kind} {res.batch_id}: summary across replicates (median, 50% and 90% bands)")
    for col in ("variant", "metric", "runs", "median", "50% band", "90% band"):
        t.add_column(col, justify="left" if col in ("variant", "metric") else "right")
    for d in b.to_dict(orient="records"):
        m = str(d["metric"])
        t.add_row(escape(str(d["variant"])), escape(said.get(m, m)), str(d["n"]), _fmt(d["median"]),
                  f"{_fmt(d['lo50'])} – {_fmt(d['hi50'])}", f"{_fmt(d['lo90'])} – {_fmt(d['hi90'])}")
    return t


def _plain(text: str) -> Text:
    """Text shown as it is: never read as markup, control characters written as escapes."""
    return Text("".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text))


def _frame_table(df: pd.DataFrame, title: str | None = None, limit: int = 50, keys: int = 1,
                 wide: bool = False, headers: dict[str, str] | None = None) -> RenderableType:
    """The frame as a table that fits the terminal: wider ones are split into several tables, each
    repeating the first ``keys`` columns (``--wide``: one table; aftermath.report.columns).
    ``headers`` names columns in words of our own, on two lines where they have two words or more
    ("peak day" is "peak" over "day"), so that a table of short numbers is as narrow as they are."""
    import pandas as pd

    from aftermath.record.vocabulary import header_lines

    words = headers or {}
    headers_ = [Text(header_lines(words[c])) if c in words else _plain(str(c)) for c in df.columns]
    justify = ["right" if pd.api.types.is_numeric_dtype(df[c]) else "left" for c in df.columns]
    rows = [[_plain(_fmt(v)) for v in row] for row in df.head(limit).itertuples(index=False)]
    caption = f"{limit} of {len(df)} rows shown (use --json for all)" if len(df) > limit else None
    return fitted(headers_, rows, title=title, justify=justify, keys=keys, wide=wide, caption=caption)


def _json_value(v: Any) -> Any:
    """A cell as JSON keeps it exactly: numbers as they are (NaN and infinities as null), times in
    ISO form, bytes as hex, anything else as its text."""
    import pandas as pd

    if v is None or v is pd.NaT or (not isinstance(v, str | bytes) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return str(v)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _json_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _report_head(res: BatchResult, store: Path) -> dict[str, Any]:
    return {"batch_id": res.batch_id, "kind": res.kind, "store": str(store), "executor": res.executor,
            "points": len(res.points), "runs": res.runs, "stored": res.stored, "skipped": res.skipped,
            "failed": res.failed, "wall_s": round(res.wall_s, 3)}


#: where a batch ran, in words (the executor's name is what the store records)
_RAN = {"in-process": "in this process", "processes": "on worker processes", "dask": "on Dask"}


def _done_line(res: BatchResult | SweepResult, store: Path) -> str:
    """A batch's last line: what was stored, how long it took and where it ran, and where it is."""
    return (f"{res.stored} runs stored, {res.skipped} already there, {res.failed} failed; {res.wall_s:.1f} s "
            f"{_RAN.get(res.executor, 'on ' + res.executor)}; store {escape(str(store))}, batch {res.batch_id}")


def _same_runs_note(engine: str, runs: int, as_json: bool) -> None:
    """Replicates of the deterministic ODE are one run repeated: said once, on stderr (a sweep's
    rank correlations over them read as if there were more data than there is)."""
    if engine == "ode" and runs > 1 and not as_json:
        err.print(f"note: the ode engine is deterministic: --runs {runs} repeats one run; --engine ssa or abm gives "
                  "stochastic replicates", highlight=False)  # (a note, not an error: wrapped to the terminal)


def interrupted(store: Path) -> typer.Exit:
    """What a batch command says on Ctrl-C (the runs that came back are stored), and its exit."""
    err.print(f"[yellow]interrupted:[/] the runs that finished are in {escape(str(store))}; "
              "rerun the same command to finish the rest", highlight=False, soft_wrap=True)  # one line, as errors
    return typer.Exit(130)


def ensemble_cmd(
    scenario: str = typer.Argument(..., help="Built-in scenario name or TOML file."),
    runs: int = typer.Option(100, "--runs", "-n", min=1, help="Replicates (per variant)."),
    engine: str | None = typer.Option(None, "--engine", "-e", help="ode, ssa or abm (default: the scenario's)."),
    seed: int | None = typer.Option(None, "--seed", help="Master seed (default: the scenario's run.seed)."),
    days: int | None = typer.Option(None, "--days", help="Horizon (default: the scenario's run.days)."),
    variant: list[str] = typer.Option([], "--variant", help="NAME:PATH=VALUE; adds a variant run on the same seeds."),
    store: Path = STORE_OPT,
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Local worker processes."),
    dask: bool = typer.Option(False, "--dask", help="Run on Dask (a LocalCluster unless --scheduler)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, tcp://host:8786."),
    as_json: bool = JSON_OPT,
) -> None:
    """Run an ensemble into the store; print median and 50%/90% bands of the key outcomes."""
    from aftermath.record.vocabulary import sweep_metrics, vocabulary
    from aftermath.run.ensemble import DEFAULT_METRICS, as_scenario

    ensemble = globals().get("ensemble") or __getattr__("ensemble")  # (this module's: a test may replace it)
    with _user_errors():
        variants = _variants(variant)
        _precheck(scenario, days, seed, engine, runs, len(variants) if variants else 1,
                  {f"variant {label}": ov for label, ov in (variants or {}).items()})
    ex = None
    res: BatchResult | None = None
    try:
        ex = _executor_from(workers, dask, scheduler)  # a Dask cluster starts here: Ctrl-C is caught below
        with _user_errors(), _progress(not as_json, "ensemble") as cb:
            res = ensemble(scenario, runs=runs, master_seed=seed, engine=engine, days=days, variants=variants,
                           executor=ex, store=store, progress=cb, baseline="base" if variants else None)
        if as_json:
            report = {**_report_head(res, store), "bands": _records(res.summary_bands(DEFAULT_METRICS))}
            out.print_json(json.dumps(report))
        else:
            sc = as_scenario(scenario)
            vocab = vocabulary(sc)  # the outcomes sweep's table shows (the SIR limit's S)
            out.print(_bands_table(res, [m for m, _ in sweep_metrics(vocab)], vocab))
            out.print(_done_line(res, store))
            _same_runs_note(engine or sc.run.engine, runs, as_json)
    except KeyboardInterrupt:
        raise interrupted(store) from None
    finally:
        if ex is not None:
            ex.close()
        if res is not None:  # the store is opened by the batch once everything is validated
            res.store.close()


def sweep_cmd(
    scenario: str | None = typer.Argument(None, help="Built-in scenario name or TOML file (or from --file)."),
    param: list[str] = typer.Option([], "--param", "-p", help="PATH=START:STOP:N, PATH=START:STOP or PATH=A,B,C."),
    file: Path | None = typer.Option(None, "--file", "-f", help="A sweep file (TOML); options override it."),
    lhs: int | None = typer.Option(None, "--lhs", min=1, help="Latin hypercube of N points instead of a grid."),
    sobol: int | None = typer.Option(None, "--sobol", min=1, help="Saltelli sample with base size N (needs SALib)."),
    runs: int | None = typer.Option(None, "--runs", "-n", min=1, help="Replicates per point (default 1)."),
    engine: str | None = typer.Option(None, "--engine", "-e", help="ode, ssa or abm (default: the scenario's)."),
    seed: int | None = typer.Option(None, "--seed", help="Master seed."),
    days: int | None = typer.Option(None, "--days", help="Horizon."),
    store: Path = STORE_OPT,
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Local worker processes."),
    dask: bool = typer.Option(False, "--dask", help="Run on Dask (a LocalCluster unless --scheduler)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    as_json: bool = JSON_OPT,
    wide: bool = WIDE_OPT,
) -> None:
    """Sweep parameters by scenario path over a grid or a sample; print results per point and their sensitivity."""
    from aftermath.run.ensemble import as_scenario
    from aftermath.run.params import ParamError, SweepFile, load_sweep_file, parse_param
    from aftermath.run.sweep import count_points, sweep

    with _user_errors():
        spec = load_sweep_file(file) if file is not None else SweepFile()
        params: dict[str, ParamSpec] = dict(spec.params)
        for p in param:
            ps = parse_param(p)
            params[ps.path] = ps
        if not params:
            raise ParamError("give at least one --param PATH=START:STOP:N (or a --file with [params])")
        if lhs and sobol:
            raise ParamError("--lhs and --sobol exclude each other")
        method = "lhs" if lhs else "sobol" if sobol else (spec.method or "grid")
        samples = lhs or sobol or spec.samples
        name = scenario or spec.scenario
        if name is None:
            raise ParamError("no scenario: give SCENARIO or scenario = ... in the sweep file")
        npoints = count_points(list(params.values()), method, samples)
        engine = engine if engine is not None else spec.engine  # --engine '' is refused, not the default
        seed_ = seed if seed is not None else spec.seed
        days_ = days if days is not None else spec.days
        n_runs = runs or spec.runs or 1
        _precheck(name, days_, seed_, engine, n_runs, npoints,
                  _sweep_points(name, list(params.values()), method, samples, seed_))
    ex = None
    res: SweepResult | None = None
    try:
        ex = _executor_from(workers, dask, scheduler)  # a Dask cluster starts here: Ctrl-C is caught below
        with _user_errors(), _progress(not as_json, "sweep") as cb:
            res = sweep(name, params, method=method, samples=samples, runs=n_runs,
                        master_seed=seed_, engine=engine, days=days_, executor=ex, store=store, progress=cb)
        sc = as_scenario(name)
        _print_sweep(res, store, as_json, wide, sc)
        _same_runs_note(engine or sc.run.engine, n_runs, as_json)
    except KeyboardInterrupt:
        raise interrupted(store) from None
    finally:
        if ex is not None:
            ex.close()
        if res is not None:  # the store is opened by the batch once everything is validated
            res.store.close()


def _print_sweep(res: SweepResult, store: Path, as_json: bool, wide: bool = False,
                 scenario: Scenario | None = None) -> None:
    """The sweep's tables; in the terminal, in the words of ``scenario`` (its ``run.vocabulary``:
    the SIR limit's S and I, Munz's S and Z). ``--json`` keeps the summary's own names."""
    from aftermath.record.vocabulary import shows_deaths, sweep_metrics, vocabulary
    from aftermath.run.ensemble import DEFAULT_METRICS

    if as_json:
        report = {**_report_head(res, store), "method": res.method,
                  "points_table": _records(res.table(DEFAULT_METRICS)),
                  "spearman": _records(res.sensitivity(DEFAULT_METRICS))}
        sob = _sobol(res, DEFAULT_METRICS)
        if sob is not None:
            report["sobol"] = _records(sob)
        out.print_json(json.dumps(report))
        return
    vocab = vocabulary(scenario)
    words = dict(sweep_metrics(vocab))
    table = res.table(list(words))
    if not shows_deaths(vocab, table["deaths"]):
        del words["deaths"]  # none died in any run: the SIR limit's R holds everyone removed
    metrics = list(words)
    params = [c for c in res.points_frame().columns if c != "variant"]  # the point and its values
    keys = len(params)
    print_wide(out, _frame_table(table[[*params, "runs", *metrics]], f"sweep {res.batch_id}: mean per point",
                                 keys=keys, wide=wide, headers=words), wide)
    if res.runs > 1:  # the spread is a table of its own, not a continuation of the means
        print_wide(out, _frame_table(table[[*params, *(f"{m}_sd" for m in metrics)]],
                                     f"standard deviation over the {res.runs} replicates of each point", keys=keys,
                                     wide=wide, headers={f"{m}_sd": w for m, w in words.items()}), wide)
    sens = res.sensitivity(metrics)
    sens["metric"] = sens["metric"].map(words)
    print_wide(out, _frame_table(sens, "sensitivity: Spearman rank correlation over all runs", wide=wide), wide)
    sob = _sobol(res, metrics)
    if sob is not None:
        sob["metric"] = sob["metric"].map(words)
        print_wide(out, _frame_table(sob, "sensitivity: Sobol indices (S1 first order, ST total)", wide=wide), wide)
    out.print(_done_line(res, store))


def _sobol(res: SweepResult, metrics: Sequence[str]) -> pd.DataFrame | None:
    """The Sobol indices of a ``--sobol`` sweep; ``None`` for another method, or with a note on
    stderr when some point is missing (failed runs)."""
    if res.method != "sobol":
        return None
    try:
        return res.sobol(metrics)
    except ValueError as exc:  # not every point stored (some failed)
        err.print(f"[yellow]no Sobol indices:[/] {escape(str(exc))}")
        return None


def rerun_cmd(
    store: Path = typer.Argument(Path(DEFAULT_PATH), help="The store holding the batch (read only)."),
    batch: str | None = typer.Option(None, "--batch", "-b", help="Batch id or unique prefix (default: the latest)."),
    runs: int | None = typer.Option(None, "--runs", "-n", min=1, help="Replicates per point to re-run (default all)."),
    into: Path | None = typer.Option(None, "--into", help="Store the new runs in this file (default: in memory)."),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Local worker processes."),
    dask: bool = typer.Option(False, "--dask", help="Run on Dask (a LocalCluster unless --scheduler)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    as_json: bool = JSON_OPT,
) -> None:
    """Re-run a stored batch from the store alone and check every run against the stored one.

    The batch's recorded scenario, seeds and engine are used; each run must match row for row (exit 1 if not)."""
    from aftermath.run.rerun import rerun
    from aftermath.store.store import check_path

    ex = None
    if into is not None:  # before the progress bar, under its own name (not --store); nothing created
        with _user_errors():
            check_path(into, name="--into")
    try:
        ex = _executor_from(workers, dask, scheduler)
        with _user_errors(), _progress(not as_json, "rerun") as cb:
            rr = rerun(store, batch=batch, runs=runs, into=into, executor=ex, progress=cb)
        with rr:
            _print_rerun(rr, as_json)
    except KeyboardInterrupt:
        if into is not None:
            raise interrupted(into) from None
        err.print("[yellow]interrupted:[/] nothing was stored (without --into the new runs live in memory)",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    finally:
        if ex is not None:
            ex.close()
    if not rr.identical:
        raise typer.Exit(1)


def _print_rerun(rr: RerunResult, as_json: bool) -> None:
    prov = rr.provenance
    if as_json:
        report = {"store": rr.store, "batch_id": rr.batch_id, "rerun_batch_id": rr.result.batch_id,
                  "kind": prov["kind"], "scenario": prov["scenario_name"], "source": prov["source"],
                  "engine": prov["engine"], "runs": rr.result.runs, "points": len(rr.result.points),
                  "compared": rr.compared, "differing": rr.differing, "unmatched": rr.unmatched,
                  "failed": rr.result.failed, "identical": rr.identical, "notes": rr.notes,
                  "tables": _records(rr.check)}
        out.print_json(json.dumps(report))
        return
    for note in rr.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    out.print(f"batch {rr.batch_id} ({escape(str(prov['scenario_name']))}, {prov['engine']} engine, "
              f"{rr.result.runs} runs per point) re-run from the store alone", highlight=False)
    out.print(_frame_table(rr.check, "runs that differ from the stored ones, per table"))
    if rr.identical:
        out.print(f"reproduced: all {rr.compared} runs are identical to the stored ones, row for row")
    else:
        out.print(f"[bold red]not reproduced:[/] {rr.differing} of {rr.compared} runs differ; "
                  f"{rr.unmatched} without a stored run to compare; {rr.result.failed} failed")


def query_cmd(
    sql: str = typer.Argument(..., help='SQL over the store, e.g. "SELECT * FROM runs LIMIT 5".'),
    store: Path = STORE_OPT,
    as_json: bool = JSON_OPT,
    limit: int = typer.Option(50, "--limit", min=1, help="Rows shown in the table (JSON has all)."),
    wide: bool = WIDE_OPT,
) -> None:
    """Run SQL over the results store and print the answer (read-only, in DuckDB's sandbox).

    The query reads the store's tables and nothing else: no files, extensions or settings (docs/store.md)."""
    from aftermath.store.store import Store

    with _user_errors(), Store(store, read_only=True, sandbox=True) as st:
        df = st.query(sql)
    if as_json:
        out.print_json(json.dumps(_records(df)))
    else:
        print_wide(out, _frame_table(df, limit=limit, wide=wide), wide)


def export_cmd(
    parquet: Path = typer.Option(..., "--parquet", help="Directory for one Parquet file per table."),
    store: Path = STORE_OPT,
) -> None:
    """Export every table of the store to Parquet."""
    from aftermath.store.store import Store

    with _user_errors(), Store(store, read_only=True) as st:
        files = st.export_parquet(parquet)
    for f in files:
        out.print(str(f), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``ensemble``, ``sweep``, ``rerun``, ``query`` and ``export`` to ``app``."""
    app.command("ensemble")(ensemble_cmd)
    app.command("sweep")(sweep_cmd)
    app.command("rerun")(rerun_cmd)
    app.command("query")(query_cmd)
    app.command("export")(export_cmd)
