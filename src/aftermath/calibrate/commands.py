"""``aftermath calibrate``: the command line of :func:`aftermath.calibrate.calibrate`.

Errors a user can fix (a missing column, an unknown measure or path, bounds the wrong way round)
are one line on stderr and exit code 2, before any run.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from aftermath.defaults import DEFAULT_PATH
from aftermath.terminal import LiveConsole

out = LiveConsole()  # (no emoji: a user's ':x:' is shown as written)
err = LiveConsole(stderr=True)


def _fail(message: str) -> typer.Exit:
    text = str(message).strip().splitlines()
    err.print(f"[bold red]error:[/] {escape(text[0] if text else message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def calibrate_cmd(
    scenario: str = typer.Argument(..., help="Built-in scenario name or TOML file."),
    data: str = typer.Option(..., "--data", help="CSV with columns day, zone, measure, value; or a shipped "
                              "data set: boarding-school."),
    param: list[str] = typer.Option([], "--param", "-p", help="PATH=LO:HI (uniform) or PATH=LO:HI:log "
                                    "(log-uniform); repeat for each parameter."),
    engine: str | None = typer.Option(None, "--engine", "-e", help="ode (exact likelihood), ssa or abm "
                                      "(synthetic likelihood); default: the scenario's."),
    likelihood: list[str] = typer.Option([], "--likelihood", help="poisson, negbin, normal or lognormal, "
                                         "or MEASURE=KIND (default poisson)."),
    report_fraction: float = typer.Option(1.0, "--report-fraction", help="share of the counts reported (0-1]."),
    delay: int = typer.Option(0, "--delay", help="reporting delay in days."),
    dispersion: float | None = typer.Option(None, "--dispersion", help="negbin size k (default: fitted)."),
    sigma: float | None = typer.Option(None, "--sigma", help="lognormal sd on the log scale (default: fitted)."),
    sd: float | None = typer.Option(None, "--sd", help="normal sd (default: fitted)."),
    trials: int | None = typer.Option(None, "--trials", help="optimiser trials (default 60 ode, 30 ssa/abm)."),
    samples: int | None = typer.Option(None, "--samples", help="Metropolis steps, half burn-in "
                                       "(default 4000 ode, 600 ssa/abm)."),
    replicates: int | None = typer.Option(None, "--replicates", help="runs per trial of ssa/abm (default 32)."),
    seed: int | None = typer.Option(None, "--seed", help="master seed (default: the scenario's run.seed)."),
    store: str = typer.Option(str(DEFAULT_PATH), "--store", help="DuckDB results file (trials go there)."),
    plot: Path | None = typer.Option(None, "--plot", help="save the fit against the data (PNG, SVG, PDF)."),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables."),
) -> None:
    """Fit parameters to observed counts; print the best fit and the posterior's credible intervals."""
    from aftermath.calibrate.fit import calibrate
    from aftermath.calibrate.priors import CalibrationError, parse_prior
    from aftermath.cli import figure_suffixes, output_path
    from aftermath.scenario.load import ScenarioError
    from aftermath.store.store import StoreError

    plot_path = output_path(plot, "--plot", figure_suffixes()) if plot is not None else None
    try:
        if not param:
            raise CalibrationError("--param: none given, expected at least one PATH=LO:HI, e.g. pathogen.beta=0.1:3")
        priors = [parse_prior(p) for p in param]
    except CalibrationError as exc:
        raise _fail(str(exc)) from None

    def plan(info: dict[str, Any]) -> None:
        if not as_json:
            err.print(f"calibration {info['calibration_id']}: {len(info['params'])} parameters, "
                      f"{info['observations']} observations, at most {info['trials']:,} trials "
                      f"({info['runs']:,} {info['engine']} runs of {info['days']} days); "  # (work: scenario.md)
                      f"{info['method']}",
                      highlight=False)

    cols = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn())
    try:
        # a bar only on a terminal (elsewhere its transient line leaves a blank line before an error)
        with Progress(*cols, console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
            task = bar.add_task("calibrate", total=None)

            def progress(done: int, total: int, stage: str) -> None:
                bar.update(task, completed=done, total=total, description=f"calibrate: {stage}")

            res = calibrate(scenario, data, priors, engine=engine, likelihood=likelihood or None,
                            report_fraction=report_fraction, delay=delay, dispersion=dispersion, sigma=sigma, sd=sd,
                            trials=trials, samples=samples, replicates=replicates, seed=seed, store=store,
                            progress=progress, plan=plan)
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted:[/] the trials that finished are in {escape(str(store))}; "
                  "run the same command again to go on from there", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    except (CalibrationError, ScenarioError, StoreError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    if plot_path is not None:
        res.plot(plot_path)
    if res.warnings:
        err.print(f"[yellow]warning:[/] the posterior sample is unreliable ({escape('; '.join(res.warnings))}); "
                  "more --samples, or narrower --param bounds", highlight=False, soft_wrap=True)
    if as_json:
        report = res.to_dict()
        if plot_path is not None:
            report["plot"] = str(plot_path)
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    summ = res.summary()
    t = Table(title=f"{escape(res.problem.base.name)}: best fit and 90% credible intervals ({res.engine})",
              show_edge=False, header_style="bold")
    longest = max((len(str(p)) for p in summ["param"]), default=9)
    for col in ("parameter", "prior", "best", "median", "90% interval", "ess"):
        if col == "parameter":  # a path whole (what the user typed), the prior wrapping instead
            t.add_column(col, no_wrap=True, min_width=longest)
        else:
            t.add_column(col, justify="left" if col == "prior" else "right")
    for r in summ.to_dict(orient="records"):
        t.add_row(escape(str(r["param"])), r["prior"], _fmt(r["best"]), _fmt(r["median"]),
                  f"{_fmt(r['lo90%'])} – {_fmt(r['hi90%'])}", f"{r['ess']:.0f}")
    out.print(t)
    out.print(f"{res.trials:,} trials ({res.stored:,} run now, {res.resumed:,} from the store), "
              f"{len(res.posterior):,} posterior draws, acceptance {res.acceptance:.0%}, {res.wall_s:.1f} s; "
              f"store {escape(str(store))}, calibration {res.calibration_id}", highlight=False)
    if plot_path is not None:
        out.print(f"figure written to {escape(str(plot_path))}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_cmd)
