"""``aftermath report RESULTS [-o report.html]``: one self-contained HTML file.

RESULTS is a results store (a ``.duckdb`` file written by ``aftermath ensemble``, ``sweep`` or
``compare``), or a scenario (a built-in name or a TOML file), which is run first.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""
    app.command("report")(report)


def report(
    results: Annotated[str, typer.Argument(help="a results store (.duckdb) or a scenario (name or TOML file)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the HTML file to write")] = Path("report.html"),
    batch: Annotated[str | None, typer.Option("--batch", "-b", help="batch id or prefix (default: latest)")] = None,
    engine: Annotated[str | None, typer.Option("--engine", "-e", help="engine, when RESULTS is a scenario")] = None,
    seed: Annotated[int | None, typer.Option("--seed", "-s", help="seed, when RESULTS is a scenario")] = None,
    days: Annotated[int | None, typer.Option("--days", "-d", help="days, when RESULTS is a scenario")] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="override a value by scenario path, when RESULTS is a scenario (repeatable)")] = None,
    cast: Annotated[int | None, typer.Option(
        "--cast", "-c", help="people to follow, 1 to 50, for the report's People section (agent-based engine; "
                             "default: the scenario's characters, else 6)")] = None,
) -> None:
    """Write a self-contained HTML report (figures embedded, no network needed to view it).

    An agent-based run follows six people (or --cast N) and tells their lives; the run is the same.
    """
    from aftermath.cli import HTML_SUFFIXES, output_path, run_options
    from aftermath.report.html import render_run

    output = output_path(output, "--output", HTML_SUFFIXES)  # before any work; no folder is created
    t0 = time.perf_counter()
    path = Path(results)
    if path.suffix in (".duckdb", ".db") or (path.is_file() and _is_duckdb(path)):
        from aftermath.cli import fail
        from aftermath.report.from_store import render_store

        for flag, value in (("--set", sets), ("--cast", cast)):
            if value is not None:
                raise fail(f"{flag}: got {value!r}, expected none with a results store (its runs are done)")
        from aftermath.store.store import Store, StoreError

        try:
            with Store(path, read_only=True, name="results") as st:  # (report's argument RESULTS)
                text = render_store(st, batch)
        except StoreError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    else:
        from aftermath.cli import load_scenario
        from aftermath.engines.driver import simulate
        from aftermath.people.commands import with_cast

        sc = run_options(load_scenario(results, sets), days=days, seed=seed, engine=engine)
        sc = with_cast(sc, cast, sc.run.engine)
        res = simulate(sc)
        if sets:
            res.variant = "; ".join(s.strip() for s in sets)
        text = render_run(res)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"report written to {output} ({len(text) / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s)")


def _is_duckdb(path: Path) -> bool:
    """DuckDB files carry the magic ``DUCK`` at byte 8."""
    with path.open("rb") as fh:
        head = fh.read(12)
    return head[8:12] == b"DUCK"
