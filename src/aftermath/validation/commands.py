"""``aftermath validate``: run the validation catalogue and show expected vs measured.

Exit code 0 when every check that ran passed, 1 on any failure or error, 2 for an unknown check.
Checks whose engine is not installed are reported as "unavailable" (not run) and do not fail the
command: the table says so plainly.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console, RenderableType
from rich.text import Text

from aftermath import _lazy
from aftermath.report.columns import fitted, print_wide

if TYPE_CHECKING:
    from aftermath.validation.runner import Outcome

# The catalogue (and with it the engines and SciPy) is imported when ``validate`` runs, not when the
# command line starts (``aftermath --version`` would pay for it): hence the imports inside functions.


#: ``run_catalogue``, imported when ``validate`` first looks it up in this module (a test may put another there)
__getattr__, __dir__ = _lazy.attach(__name__, globals(), {"run_catalogue": "aftermath.validation.runner"})


def _style(status: str) -> str:
    from aftermath.validation.runner import ERROR, FAIL, PASS, UNAVAILABLE

    return {PASS: "green", FAIL: "bold red", ERROR: "bold red", UNAVAILABLE: "yellow"}[status]


def _num(v: float | str | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.6g}"


#: the check column's width at 80 columns: an id longer than this is broken after a dot
ID_WIDTH = 21


def _broken_id(check_id: str, width: int = ID_WIDTH) -> str:
    """``check_id`` on lines of at most ``width``, broken after a dot (``agree.abm-events.`` over
    ``final_size``), so that the table keeps its result column at 80 columns."""
    lines, rest = [], check_id
    while len(rest) > width:
        cut = rest.rfind(".", 0, width)
        while cut > 0 and rest[cut - 1].isdigit() and rest[cut + 1: cut + 2].isdigit():  # not in a number (R0=2.5)
            cut = rest.rfind(".", 0, cut)
        if cut < 0:
            break
        lines.append(rest[: cut + 1])
        rest = rest[cut + 1:]
    return "\n".join([*lines, rest])


def outcome_table(outcomes: list[Outcome], title: str = "Validation catalogue", wide: bool = False) -> RenderableType:
    """The catalogue's results as a table: check, pass/fail, engine, expected, measured, tolerance.

    It fits 80 columns (a tolerance's rule under its value; a narrower terminal splits the table,
    repeating the check); ``wide`` keeps every cell on one line."""
    from aftermath.validation.runner import ERROR, UNAVAILABLE

    rows = []
    for o in outcomes:
        if o.status == UNAVAILABLE:
            tol = "-"
        elif o.tolerance is None:
            tol = "same outcome" if wide else "same\noutcome"
        elif o.tolerance_rule == f"{o.tolerance:g}":
            tol = f"±{o.tolerance:g}"
        else:
            tol = f"±{o.tolerance:.3g}{' ' if wide else chr(10)}({o.tolerance_rule})"
        measured = _num(o.measured) if o.status != ERROR else o.measured_note
        status = "not run" if o.status == UNAVAILABLE else o.status
        result = Text.from_markup(f"[{_style(o.status)}]{status}[/]")
        if wide:  # what it checks, in words: a column of its own, or under the id
            rows.append([o.id, o.title, result, o.engine, _num(o.expected), measured, tol])
        else:
            what = Text(_broken_id(o.id))
            what.append(f"\n{o.title}", style="dim")
            rows.append([what, result, o.engine, _num(o.expected), measured, tol])
    # the result beside the check: if a narrow terminal splits the table, the verdict stays in the first
    headers = ["check", *(["what it checks"] if wide else []), "result", "engine", "expected", "measured", "tolerance"]
    justify = ["right" if c in ("expected", "measured", "tolerance") else "left" for c in headers]
    return fitted(headers, rows, title=title, justify=justify, keys=1, wide=wide, show_edge=False,
                  squeeze={0: ID_WIDTH})  # the titles wrap under their ids


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""

    @app.command("validate")
    def validate(
        as_json: bool = typer.Option(False, "--json", help="print a JSON list of outcomes (for scripts)"),
        fast: bool = typer.Option(False, "--fast", help="only the fast subset (the one CI runs)"),
        check: list[str] = typer.Option([], "--check", help="run only this check id (repeatable)"),
        list_only: bool = typer.Option(False, "--list", help="list the catalogue and exit"),
        wide: bool = typer.Option(False, "--wide", help="print the table whole, however wide"),
    ) -> None:
        """Run the validation catalogue: known results the engines must reproduce (docs/validation.md)."""
        from aftermath.terminal import LiveConsole
        from aftermath.validation.runner import select

        run_catalogue = globals().get("run_catalogue") or __getattr__("run_catalogue")  # (this module's)
        console = LiveConsole()  # titles and sources as written (no emoji)
        try:
            checks = select(fast=fast, ids=check)
        except KeyError:
            from aftermath.cli import fail
            from aftermath.validation.catalogue import CATALOGUE

            unknown = [i for i in check or () if i not in {c.id for c in CATALOGUE}]
            raise fail(f"--check: got {', '.join(map(repr, unknown))}, expected a check id "
                       "(aftermath validate --list shows them)") from None
        if list_only:
            rows = []
            for c in checks:
                what = Text(c.title)
                what.append(f"{' ' if wide else chr(10)}{c.source}", style="dim")  # where the known result is from
                rows.append([c.id, c.engine, "fast" if c.fast else "slow", what])
            print_wide(console, fitted(["check", "engine", "subset", "what it checks (source)"], rows,
                                       title="Validation catalogue", keys=1, wide=wide, show_edge=False,
                                       squeeze={3: 30}), wide)
            return
        outcomes = run_catalogue(checks)
        if as_json:
            typer.echo(json.dumps([o.as_dict() for o in outcomes], indent=2))
        else:
            print_wide(console, outcome_table(outcomes, wide=wide), wide)
            _print_footer(console, outcomes)
        if any(o.failed for o in outcomes):
            raise typer.Exit(1)


def _print_footer(console: Console, outcomes: list[Outcome]) -> None:
    from aftermath.validation.runner import ERROR, FAIL, PASS, UNAVAILABLE

    counts = {s: sum(o.status == s for o in outcomes) for s in (PASS, FAIL, ERROR, UNAVAILABLE)}
    console.print(f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[ERROR]} errors, "
                  f"{counts[UNAVAILABLE]} not run; {sum(o.seconds for o in outcomes):.1f} s")
    for o in outcomes:
        if o.status == ERROR:
            console.print(f"[red]error in {o.id}: {o.measured_note}[/]")
    for o in outcomes:
        if o.status == UNAVAILABLE:
            console.print(f"[yellow]NOT RUN: {o.id}: {o.measured_note}[/]")
