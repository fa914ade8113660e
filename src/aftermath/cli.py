"""The ``aftermath`` command line: a thin layer over the Python API.

Commands here: ``run``, ``scenarios``, ``check``. Other commands (``validate``, ``ensemble``,
``sweep``, ``query``, ``export``, ``report``, ``compare``) live beside the code they drive and are
registered from :data:`COMMAND_MODULES`, each module exposing ``register(app)``.

Any :class:`~aftermath.scenario.load.ScenarioError` is printed as one line and exits with code 2,
without a traceback; so is a usage error (a bad flag or value: the line names the flag, the value
and what was expected). Output paths (``--plot``, ``--report``) are checked before a run starts, and
no command creates a folder. Anything else that escapes a command is a bug: :class:`App` writes its
traceback to a log file (:func:`crash_log_dir`) and prints one line with the file's path, exit 1.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aftermath.report.columns import fitted, print_wide
from aftermath.terminal import LiveConsole

# Starting is cheap: the commands (here and in COMMAND_MODULES) import the scenario schema, the
# engines, pandas and the store when they run, so that ``--version`` and ``--help`` pay for none.

_flag_type = getattr(typer.core.TyperOption, "display_type_rich", None)  # (Typer 0.29 on; older ones lack it)


def _no_flag_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """Typer 0.29 shows ``<bool>`` after a flag in ``--help``, as if it took a value: a flag shows none."""
    assert _flag_type is not None
    return None if self.is_flag else _flag_type(self, ctx)


if _flag_type is not None:
    typer.core.TyperOption.display_type_rich = _no_flag_type  # type: ignore[method-assign]


def crash_log_dir() -> Path:
    """Where tracebacks of bugs go: ``$AFTERMATH_CRASH_DIR``, else ``~/.cache/aftermath/crashes``,
    else (no writable home) ``<temp dir>/aftermath-crashes``."""
    env = os.environ.get("AFTERMATH_CRASH_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "aftermath" / "crashes"


def write_crash_log(exc: BaseException, argv: Sequence[str]) -> Path:
    """Write the traceback of ``exc`` with the command line to a new log file; return its path."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = (f"aftermath {' '.join(argv)}\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for folder in (crash_log_dir(), Path(tempfile.gettempdir()) / "aftermath-crashes"):
        try:
            folder.mkdir(parents=True, exist_ok=True)  # our own cache folder, not a user's output
            fd, name = tempfile.mkstemp(prefix=f"crash-{stamp}-", suffix=".log", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return Path(name)
        except OSError:
            continue
    raise exc


def _given(param: Any, argv: Sequence[str]) -> str | None:
    """The value the command line gave ``param`` (for a one-line message), if it can be found."""
    if param is None:
        return None
    opts = list(getattr(param, "opts", [])) + list(getattr(param, "secondary_opts", []))
    for i in range(len(argv) - 1, -1, -1):  # the last one given: the one Click kept
        arg = argv[i]
        for opt in opts:
            if opt.startswith("-") and arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if opt.startswith("--") and arg.startswith(opt + "="):
                return arg.split("=", 1)[1]
            if len(opt) == 2 and not arg.startswith("--") and arg.startswith(opt) and len(arg) > 2:
                return arg[2:]  # a short flag with its value joined: -n0
    return None


class _Group(typer.core.TyperGroup):
    """Typer (0.29) turns a KeyboardInterrupt raised by a command into a silent exit 130 before
    :class:`App` can say it: say the one line here, where the command is invoked."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            err.print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except Exception as exc:
            from aftermath.run.commands import after_ctrl_c

            if isinstance(exc, typer.Exit) or not after_ctrl_c(exc):
                raise
            err.print("interrupted", highlight=False)  # a Ctrl-C a library reported as its own error
            raise typer.Exit(130) from None


class App(typer.Typer):
    """The application, run as the ``aftermath`` command: usage errors as one line (exit 2), a
    traceback from a bug into a log file with one line naming it (exit 1), never on the terminal.

    ``typer.testing.CliRunner`` calls the command directly and sees exceptions as they are.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = list(kwargs.get("args") or (args[0] if args else sys.argv[1:]))
        kwargs["standalone_mode"] = False
        try:
            code = super().__call__(*args, **kwargs)
        except SystemExit:
            raise
        except KeyboardInterrupt:
            err.print("interrupted", highlight=False)
            sys.exit(130)
        except Exception as exc:
            # Click's exceptions by name: Typer may bring its own copy of Click (typer._click)
            if _is_a(exc, "UsageError"):
                got = _given(getattr(exc, "param", None), argv)
                shown = f" (got {got!r})" if got is not None else ""
                ctx = getattr(exc, "ctx", None)
                cmd = ctx.command_path if ctx is not None else "aftermath"
                said = _plain(exc.format_message(), got) or f"{exc.format_message()}{shown}"  # type: ignore[attr-defined]
                err.print(f"[bold red]error:[/] {escape(said)}; see '{cmd} --help'", highlight=False, soft_wrap=True)
                sys.exit(2)
            if _is_a(exc, "ClickException"):
                exc.show()  # type: ignore[attr-defined]
                sys.exit(int(getattr(exc, "exit_code", 1)))
            if _is_a(exc, "Abort"):
                err.print("aborted", highlight=False)
                sys.exit(1)
            # a bug: the user gets one line, the log the whole traceback
            try:
                log = write_crash_log(exc, argv)
            except BaseException:
                raise exc from None
            err.print(f"[bold red]internal error[/] ({escape(type(exc).__name__ + ': ' + _one_line(exc))}); this is "
                      f"a bug in aftermath, not in your input. The traceback is in {escape(str(log))}",
                      highlight=False, soft_wrap=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


#: Typer's messages for a flag's value, said as the project's own errors say them ("--runs: got 0,
#: expected at least 1"): (pattern over the message's tail, what was expected)
_EXPECTED = ((r"Input should be greater than or equal to (?P<n>\S+)", "at least {n}"),
             (r"Input should be less than or equal to (?P<n>\S+)", "at most {n}"),
             (r"Input should be greater than (?P<n>\S+)", "more than {n}"),
             (r"Input should be less than (?P<n>\S+)", "less than {n}"),
             (r"Input should be a valid integer.*", "a whole number"),
             (r"Input should be a valid number.*", "a number"))


def _plain(message: str, got: object) -> str | None:
    """``Invalid value for '--runs' / '-n': Input should be greater than or equal to 1``, given
    ``"0"`` -> ``--runs: got 0, expected at least 1``; None for any other message."""
    import re

    m = re.fullmatch(r"Invalid value for '(?P<flag>[^']+)'(?: / '[^']+')?: (?P<why>.*)", message.strip())
    if not m or got is None:
        return None
    for pattern, expected in _EXPECTED:
        e = re.fullmatch(pattern, m["why"])
        if e:
            value = got if re.fullmatch(r"-?\d+(\.\d+)?", str(got)) else repr(got)  # a word in quotes
            return f"{m['flag']}: got {value}, expected {expected.format(**e.groupdict())}"
    return None


def _is_a(exc: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 160 else line[:157] + "..."


app = App(
    name="aftermath",
    help="Simulate a society after an outbreak, and keep an honest record of what each policy cost.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Group,
)
console = LiveConsole()  # the user's text as written: a scenario named ":fire:" is no emoji
err = LiveConsole(stderr=True)  # errors show the user's text as written: ':fire:' is not an emoji

#: Modules that add commands to :data:`app`; each exposes ``register(app)``.
COMMAND_MODULES: tuple[str, ...] = (
    "aftermath.validation.commands",
    "aftermath.report.commands",
    "aftermath.run.commands",
    "aftermath.web.commands",
    "aftermath.calibrate.commands",
    "aftermath.people.commands",
)

def _version(value: bool) -> None:
    if value:
        from aftermath import __version__

        console.print(f"aftermath {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """Simulate a society after an outbreak, and keep an honest record of what each policy cost."""


Engine = Annotated[str | None, typer.Option("--engine", "-e", help="ode, ssa or abm (default: the scenario's)")]
Seed = Annotated[int | None, typer.Option("--seed", "-s", help="master seed (default: the scenario's)")]
Days = Annotated[int | None, typer.Option("--days", "-d", help="days to simulate (default: the scenario's)")]
Wide = Annotated[bool, typer.Option("--wide", help="print each table whole, however wide (default: fit the terminal)")]
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a value by scenario path, e.g. --set pathogen.beta=0.3 (repeatable)"),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load_scenario(source: str, sets: list[str] | None = None) -> Any:
    """Load a built-in or file and apply ``--set`` overrides; errors exit with code 2."""
    from aftermath.scenario.load import ScenarioError, load, parse_value, with_overrides

    try:
        sc = load(source)
        if sets:
            overrides = {}
            for item in sets:
                if "=" not in item:
                    raise ScenarioError("--set", item, item, "PATH=VALUE, e.g. pathogen.beta=0.3")
                key, value = item.split("=", 1)
                overrides[key.strip()] = parse_value(value.strip())
            sc = with_overrides(sc, overrides, source=f"{source} (--set)")
    except ScenarioError as exc:
        if exc.source == source and not exc.path and exc.expected.endswith("(no such file)"):  # the argument itself
            raise fail(f"SCENARIO: got {source!r}, expected {exc.expected}") from None
        raise fail(str(exc)) from None
    return sc


@app.command()
def run(
    scenario: Annotated[
        str, typer.Argument(help="a built-in name (see `aftermath scenarios`) or a TOML file")
    ] = "hyosan",
    engine: Engine = None,
    seed: Seed = None,
    days: Days = None,
    sets: Sets = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="save an overview figure (PNG, SVG or PDF)")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write a self-contained HTML report")] = None,
    chronicle: Annotated[bool, typer.Option("--chronicle", help="print the chronicle as a timeline")] = False,
    check: Annotated[bool, typer.Option("--check", help="assert conservation every day (debug)")] = False,
    wide: Wide = False,
    cast: Annotated[int | None, typer.Option(
        "--cast", "-c", help="people to follow, 1 to 50 (agent-based engine; with --report and no cast in the "
                             "scenario, 6): the report's People section, `Result.story`")] = None,
) -> None:
    """Run a scenario once and print what happened."""
    from aftermath.engines.driver import simulate
    from aftermath.people.commands import with_cast
    from aftermath.scenario.load import ScenarioError

    sc = load_scenario(scenario, sets)
    sc = run_options(sc, days=days, seed=seed, engine=engine)
    if cast is not None or report is not None:  # a report tells the lives of a cast (observation only)
        sc = with_cast(sc, cast, sc.run.engine)
    plot_path = output_path(plot, "--plot", figure_suffixes()) if plot is not None else None
    report_path = output_path(report, "--report", HTML_SUFFIXES) if report is not None else None
    try:
        res = simulate(sc, check=check)
    except ScenarioError as exc:
        raise fail(str(exc)) from None
    if sets:
        res.variant = "; ".join(s.strip() for s in sets)
    summary = res.summary()
    # the files first: a reader that stops early (``| head``) closes stdout, and what was asked
    # for is written all the same
    if plot_path is not None:
        res.plot().savefig(plot_path, dpi=110)
    if report_path is not None:
        from aftermath.report.html import write_report

        write_report(res, report_path)
    if as_json:  # JSON alone on stdout: the chronicle, if asked for, goes to stderr
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        print_summary(summary, res, wide)
    if chronicle:
        print_chronicle(res, out=err if as_json else console)
    if not as_json:
        for what, path in (("figure", plot_path), ("report", report_path)):
            if path is not None:
                console.print(f"{what} written to {path}")


def run_options(sc: Any, days: int | None = None, seed: int | None = None, engine: str | None = None) -> Any:
    """``sc`` with ``--days``, ``--seed`` and ``--engine`` applied and validated by the scenario's own
    schema (the bounds of a file's ``run.days``, ``run.seed``, ``run.engine``); errors exit 2."""
    from aftermath.scenario.load import ScenarioError, apply_run_options

    try:
        return apply_run_options(sc, days=days, seed=seed, engine=engine, source="command line")
    except ScenarioError as exc:  # "--seed (run.seed): got -1, expected ...": the flag first, as for the others
        raise fail(str(exc).removeprefix(f"{exc.source}: ") if exc.path.startswith("--") else str(exc)) from None


#: What an HTML report may be called: never a store or a scenario file it would overwrite.
HTML_SUFFIXES = (".html", ".htm")


def figure_suffixes() -> list[str]:
    """The file suffixes ``--plot`` can write (Matplotlib's formats)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(f".{k}" for k in FigureCanvasBase.get_supported_filetypes())


def output_path(path: Path, flag: str, suffixes: Sequence[str] | None = None) -> Path:
    """``path`` checked before any work (see :func:`aftermath.report.html.check_output`); errors exit 2."""
    from aftermath.report.html import OutputPathError, check_output

    try:
        return check_output(path, flag, suffixes)
    except OutputPathError as exc:
        raise fail(str(exc)) from None


def _n(x: float) -> str:
    return f"{x:,.0f}"


def print_summary(s: dict[str, Any], res: Any, wide: bool = False) -> None:
    """A short summary a newcomer can read."""
    variant = f" · variant: {escape(str(s['variant']))}" if s.get("variant") else ""
    console.rule(f"[bold]{escape(s['scenario'])}[/] · {s['engine']} · seed {s['seed']} · {s['days']} days{variant}")
    if s["peak_ferals"] is None:
        peak = f"Ferals numbered {_n(s['ferals_at_start'])} at the start and never rose again"
    else:
        from aftermath.model.world import State as _St

        ferals = res.counts[:, :, _St.Z].sum(axis=1)
        low = float(ferals[: int(s["peak_ferals_day"]) + 2].min())  # before the peak (time t: the end of day t - 1)
        dip = f", fell to {_n(low)}, then" if low < float(ferals[0]) - 0.5 else " and"
        peak = (f"Ferals numbered {_n(s['ferals_at_start'])} at the start{dip} peaked at "
                f"[bold]{_n(s['peak_ferals'])}[/] on day {s['peak_ferals_day']}")
    from aftermath.record.vocabulary import summary_lines, vocabulary

    vocab = vocabulary(res.scenario)
    lines = [
        f"Of {_n(s['initial_humans'])} people (humans: S + E + H), [bold]{_n(s['survivors'])}[/] are alive and "
        f"themselves at the end ({_n(s['susceptible'])} susceptible, {_n(s['latent'])} latent, "
        f"{_n(s['hybrids'])} hybrids).",
        f"[bold]{_n(s['deaths'])}[/] died and {_n(s['turned'])} turned feral; "
        f"{s['attack_rate']:.1%} of the people were infected at some point.",
        f"{peak}; {_n(s['ferals'])} remain.",
    ]
    if s["elimination_day"] is not None:
        lines.append(f"The infection was eliminated on day {s['elimination_day']}.")
    if s["extinction_day"] is not None:
        lines.append(f"[bold red]Humanity was extinct by day {s['extinction_day']}.[/]")
    if s["breaches"] >= 0.5:
        # (ferals who got through, as docs/report.md defines breaches: not how many times a wall fell)
        n = _n(s["breaches"])
        lines.append(f"{n} {'feral' if n == '1' else 'ferals'} got through a wall.")
    if vocab.name != "aftermath":  # the limit being taught, in its own words (run.vocabulary)
        lines = summary_lines(s, vocab, res.counts)
    for line in lines:
        console.print(line)

    heads = ["zone", vocab.humans, vocab.ferals, f"{vocab.ferals}'s peak" if vocab.name != "aftermath"
             else "ferals' peak", "on day", "fear", "days\nsealed"]
    from aftermath.record.vocabulary import faction_names, zone_names

    zone_name, faction_name = zone_names(res.scenario), faction_names(res.scenario)  # `aftermath show` has ids
    rows = []
    for zid, z in s["zones"].items():
        peaked = z["peak_ferals"] is not None
        fear = f"{z['fear']:.2f}" if z["survivors"] >= 0.5 else "-"  # no one left to be afraid
        rows.append([escape(zone_name.get(zid, zid)), _n(z["survivors"]), _n(z["ferals"]),
                     _n(z["peak_ferals"]) if peaked else "-", str(z["peak_ferals_day"]) if peaked else "-", fear,
                     str(z["days_sealed"])])
    print_wide(console, fitted(heads, rows, title="zones at the end", justify=["left"] + ["right"] * 6, wide=wide,
                               squeeze={0: 14}, show_edge=False, header_style="bold"), wide)

    if any(s["factions"].values()):
        rows = []
        for fid, items in s["factions"].items():
            for it in items:
                first = "never" if it["first_day_acted"] is None else str(it["first_day_acted"])
                rows.append([escape(faction_name.get(fid, fid)) if fid else "-", escape(it["policy"]), first,
                             str(it["days_acted"]), escape(", ".join(zone_name.get(z, z) for z in it["zones"])) or "-"])
        print_wide(console, fitted(["faction", "policy", "first day\nacted", "days\nacted", "where"], rows, keys=2,
                                   title="what each faction did (the days each policy acted)", wide=wide,
                                   squeeze={0: 12, 1: 14, 2: 9, 3: 6, 4: 14},
                                   show_edge=False, header_style="bold"), wide)
    # a cost that is part of the one before it reads "of which", as compare's tables nest them: the
    # culled and the swept are the killed by policy, not three costs to add up
    costs = [("killed by policy", s["killed_by_policy"], ()),
             ("hybrids culled", s["culled"], ("killed by policy",)),
             ("hybrids killed in sweeps", s["hybrids_swept"], ("killed by policy",)),
             ("starved", s["starved"], ()), ("crossings refused at gates", s["turned_away_attempts"], ()),
             ("by healthy people", s["turned_away_attempts_healthy"], ("crossings refused at gates",))]
    said: dict[str, list[str]] = {}
    for label, v, parent in costs:
        if v < 0.5:
            continue
        if parent and parent[0] in said:
            said[parent[0]].append(f"{label} {_n(v)}")
        else:
            said[label] = [f"{label}: {_n(v)}"]
    if said:
        shown = [head + (f" (of which {', '.join(parts)})" if parts else "") for head, *parts in said.values()]
        console.print("Costs of policy, in people: " + "; ".join(shown) + ".")
    ledger = [f"{k.replace('_', ' ')}: {_n(v)}" for k, v in s.get("ledger", {}).items() if v >= 0.5]
    if ledger:  # the agent-based engine's ledger: people, each counted once per mark
        console.print("The ledger, each person counted once: " + "; ".join(ledger) + ".")
    if s["ferals_swept"] >= 0.5:
        console.print(f"Sweeps destroyed {_n(s['ferals_swept'])} ferals.")
    gaps = [r for r in s.get("official_record", []) if r["left_out"] >= 0.5]
    if gaps:
        heads = ["faction", "measure", "true", "official", "left out", "who"]
        rows = [[escape(faction_name.get(r["faction"], r["faction"])), r["measure"], _n(r["true"]), _n(r["official"]),
                 _n(r["left_out"]), r["who"]] for r in gaps]
        justify = ["right" if c in ("true", "official", "left out") else "left" for c in heads]
        print_wide(console, fitted(heads, rows, keys=2, title="the official record leaves out", wide=wide,
                                   justify=justify, squeeze={0: 12, 1: 9, 5: 20}, show_edge=False,
                                   header_style="bold"),
                   wide)
    if res.scenario.factions:
        from aftermath.record.official import ungoverned_policy_deaths

        nobody = ungoverned_policy_deaths(res)
        if nobody >= 0.5:
            console.print(f"{_n(nobody)} hybrids culled or killed in sweeps where no faction governs are in no "
                          "faction's books.")


def print_chronicle(res: Any, limit: int = 200, out: Console | None = None) -> None:
    """The chronicle as a readable timeline (on stdout unless ``out`` says otherwise)."""
    import textwrap

    from aftermath.record.timeline import render_timeline

    con = out or console
    for line in render_timeline(res, limit=limit):  # a wrapped line starts under the text, not the day
        con.print(textwrap.fill(line, width=max(40, con.width - 1), subsequent_indent=" " * len("Day  123 — ")),
                  highlight=False)


ABBREVIATIONS = ("al", "e.g", "i.e", "cf", "vs", "approx", "fig")


def blurb(text: str, width: int = 90) -> str:
    """A description's first sentence (ended by ".", "?" or "!" outside brackets; not by "et al.",
    "e.g." or "no." before a number), and if longer than ``width``, cut with an ellipsis at its last
    clause break outside brackets past a third of ``width`` (a colon or semicolon, else a
    comma, else a space), else at its last break outside brackets."""
    flat = " ".join(text.split())
    depth, end = 0, len(flat)
    for k, ch in enumerate(flat):
        depth = max(0, depth + (1 if ch in "([" else -1 if ch in ")]" else 0))  # a stray ")" opens nothing
        if ch in ".?!" and depth == 0 and (k + 1 == len(flat) or flat[k + 1] == " "):
            word = flat[:k].rsplit(" ", 1)[-1].lower()
            numbered = word == "no" and flat[k + 2: k + 3].isdigit()  # "no. 5"
            if ch != "." or (word not in ABBREVIATIONS and not numbered):
                end = k + (ch != ".")  # a question or exclamation keeps its mark
                break
    first = flat[:end]
    if len(first) <= width:
        return first
    depth, late, early = 0, {":": 0, ",": 0, " ": 0}, 0
    for k, ch in enumerate(first[:width]):
        depth = max(0, depth + (1 if ch in "([" else -1 if ch in ")]" else 0))
        if depth == 0 and ch in ",:; ":
            early = k
            if k >= width // 3:
                late[":" if ch in ":;" else ch] = k
    at = late[":"] or late[","] or late[" "] or early or width - 1
    return first[:at].rstrip(" ,:;") + "…"


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from aftermath.scenario.load import builtin_names, load

    table = Table(show_edge=False, header_style="bold")
    table.add_column("name")
    table.add_column("engine")
    table.add_column("people (S+E+H)", justify="right")
    table.add_column("days", justify="right")
    table.add_column("what it is")
    for name in builtin_names():
        sc = load(name)
        label = f"{name} (default)" if name == "hyosan" else name
        table.add_row(label, sc.run.engine, _n(sc.initial_humans()), str(sc.run.days), escape(blurb(sc.description)))
    console.print(table)


@app.command()
def show(
    scenario: Annotated[str, typer.Argument(help="a built-in name or a TOML file")] = "hyosan",
    sets: Sets = None,
    policies: Annotated[bool, typer.Option("--policies", help="list the policies and the paths that set them")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="with --policies: print them as JSON")] = False,
) -> None:
    """Print a scenario as commented TOML to start from (every key, its meaning and bounds), or its policies."""
    from aftermath.scenario.load import policy_paths

    if as_json and not policies:
        raise fail("--json: given without --policies, expected --policies --json (the scenario itself is TOML)")
    sc = load_scenario(scenario, sets)
    if not policies:
        from aftermath.teach.show import commented_toml

        sys.stdout.write(commented_toml(sc, title=scenario))  # plain text: '[run]' is not markup
        return
    rows = policy_paths(sc)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.print(f"{escape(scenario)} has no policies.")
        return
    console.print(f"[bold]policies of {escape(sc.name)}[/]: set a key with --set PATH.KEY=VALUE "
                  "(or compare --policy LABEL:PATH.KEY=VALUE)", highlight=False)
    import textwrap

    from aftermath.record.chronicle import mid_sentence
    from aftermath.record.vocabulary import faction_names, zone_names

    zones_named, factions_named = zone_names(sc), faction_names(sc)

    def named(names: dict[str, str], key: str) -> str:  # the name to read, the id to type
        return f"{names.get(key, key)} ({key})" if names.get(key, key) != key else key

    for r in rows:
        parts = ([f"the zones of {mid_sentence(named(factions_named, r['faction']))}"] if r["faction"] else []) + [
            named(zones_named, z) for z in r["zones"]]
        who = ", ".join(parts) or "-"
        when = r["when"] + (f"; until {r['until']}" if r["until"] else "")
        first = r["path_by_name"] or r["path"]
        also = f"also {r['path']}; " if r["path_by_name"] else ""
        console.print(f"{r['index']:>3}  {r['type']:<9}  [bold]{escape(first)}[/]", highlight=False)
        if also:
            console.print(f"{'':16}{escape(also.rstrip('; '))}", highlight=False)
        for line in textwrap.wrap(f"applies to {who}", width=80, initial_indent=" " * 16, subsequent_indent=" " * 18):
            console.print(escape(line), highlight=False)
        console.print(f"{'':16}when {escape(when)}", highlight=False)
    example = rows[-1]["path_by_name"] or rows[-1]["path"]
    console.print(f"e.g. aftermath run {escape(scenario)} --set '{escape(example)}.when=\"day >= 30\"'",
                  highlight=False, soft_wrap=True)


@app.command()
def overlay(
    scenario: Annotated[list[str] | None, typer.Argument(help="built-in names or TOML files (default: hyosan)")] = None,
    engine: Annotated[list[str] | None, typer.Option(
        "--engine", "-e", help="ode, ssa or abm; repeat, or separate by commas (default: ode)")] = None,
    variant: Annotated[list[str] | None, typer.Option(
        "--variant", "-V", help="a variant LABEL:PATH=VALUE (repeat a label to set several paths)")] = None,
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, max=1000,
                                      help="replicates per stochastic curve (median and 90% band)")] = 1,
    seed: Seed = None,
    days: Days = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="save the figure (PNG, SVG or PDF)")] = None,
    fraction: Annotated[bool, typer.Option("--fraction", help="plot shares of everyone, not people")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the table as JSON")] = False,
    wide: Wide = False,
) -> None:
    """Several scenarios, variants or engines in one figure and one table."""
    from aftermath.compare import parse_variant
    from aftermath.teach.overlay import overlay as run_overlay

    names = scenario or ["hyosan"]
    engines = [e.strip() for item in (engine or ["ode"]) for e in item.split(",") if e.strip()]
    if not engines:
        raise fail(f"--engine: got {','.join(engine or [])!r}, expected ode, ssa or abm (repeat, or separate by "
                   "commas)")
    plot_path = output_path(plot, "--plot", figure_suffixes()) if plot is not None else None
    try:
        scenarios = [load_scenario(n) for n in names]
        for sc in scenarios:  # each engine, seed and horizon checked against each scenario before any run
            for e in engines:
                run_options(sc, days=days, seed=seed, engine=e)
        variants: dict[str, dict[str, Any]] = {}
        for spec in variant or []:
            parse_variant(spec, scenarios[0], variants, flag="--variant")
        named = [sc.model_copy(update={"name": n}) for n, sc in zip(names, scenarios, strict=True)]
        result = run_overlay(named, engines=engines, variants=variants, runs=runs, seed=seed, days=days)
    except ValueError as exc:  # ScenarioError: a scenario, variant or engine that cannot be used
        raise fail(str(exc)) from None
    frame = result.table()
    if as_json:
        sys.stdout.write(frame.to_json(orient="records", indent=2) + "\n")
    else:
        from aftermath.record.vocabulary import ferals_words, header_lines, shows_deaths

        heads = result.headers()
        records = frame.to_dict(orient="records")
        rows = [[escape(r["curve"]), str(r["runs"]), f"{r['attack_rate']:.1%}", _opt(r["peak"]),
                 _opt(r["peak_day"], "{:.0f}"), _n(r["survivors"]), _n(r["deaths"])] for r in records]
        if not shows_deaths(result.vocab, (r["deaths"] for r in records)):  # the SIR limit's R holds them
            heads.pop("deaths")
            rows = [r[:-1] for r in rows]
        title = "overlay" + (f" ({runs} replicates per stochastic curve; means)" if runs > 1 else "")
        print_wide(console, fitted(["curve", "runs", *map(header_lines, heads.values())], rows, title=title, wide=wide,
                                   justify=["left"] + ["right"] * (len(heads) + 1), squeeze={0: 16}, show_edge=False,
                                   header_style="bold"), wide)
        if any(r[3] == "-" for r in rows):
            console.print(f"{escape(heads['peak'])} -: {ferals_words(result.vocab)} never rose by half a person "
                          "above an earlier low (the start is not a peak)", highlight=False)
    if plot_path is not None:
        result.plot(fraction=fraction).savefig(plot_path, dpi=110)
        if not as_json:
            console.print(f"figure written to {plot_path}")


def _opt(x: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if x is None or x != x else fmt.format(x)


@app.command()
def check(file: Annotated[str, typer.Argument(help="a scenario TOML file (or a built-in name)")]) -> None:
    """Validate a scenario file without running it."""
    from aftermath.record.vocabulary import count, start_words, vocabulary

    sc = load_scenario(file)
    console.print(f"[green]ok[/]: {escape(file)} is a valid scenario ({count(len(sc.zones), 'zone')}, "
                  f"{start_words(vocabulary(sc), sc)} at the start, {count(len(sc.policies), 'policy', 'policies')})",
                  highlight=False)


@app.command("compare")
def compare_cmd(
    scenario: Annotated[str, typer.Argument(help="a built-in name or a TOML file")] = "hyosan",
    policy: Annotated[list[str] | None, typer.Option(
        "--policy", "-p", help="a variant: LABEL:PATH=VALUE (repeat a label to set several) or a variant file")] = None,
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="replicates per variant")] = 20,
    engine: Annotated[str, typer.Option(
        "--engine", "-e", help="abm (the only engine with a per-person ledger: sacrificed, concealed) or ssa")] = "abm",
    seed: Seed = None,
    days: Days = None,
    store: Annotated[Path, typer.Option("--store", help="results store (DuckDB file)")] = Path("aftermath.duckdb"),
    workers: Annotated[int | None, typer.Option("--workers", "-w", min=1, help="local worker processes")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="write an HTML report of the comparison")] = None,
    wide: Wide = False,
) -> None:
    """Weigh a dilemma: run policy variants under common random numbers against the scenario as it is."""
    from aftermath.compare import BASELINE, compare, parse_variant, table_rows
    from aftermath.scenario.load import ScenarioError
    from aftermath.store.store import StoreError

    base = load_scenario(scenario)
    run_options(base, days=days, seed=seed, engine=engine)  # validated only: the batch records the base as is
    report_path = output_path(report, "--report", HTML_SUFFIXES) if report is not None else None
    import duckdb

    from aftermath.run.commands import after_ctrl_c, interrupted

    variants: dict[str, dict[str, Any]] = {}
    try:
        for spec in policy or []:
            parse_variant(spec, base, variants)
        if not variants:
            raise ScenarioError("--policy", "", [], "at least one variant to compare with the baseline")
        for label, overrides in variants.items():  # validate each variant before running anything
            from aftermath.scenario.load import with_overrides

            with_overrides(base, overrides, source=f"variant {label}")
        from aftermath.run.ensemble import scenario_source

        frame, res = compare(base, variants, runs=runs, engine=engine, master_seed=seed, days=days,
                             store=store, workers=workers, source=scenario_source(scenario))
    except (ValueError, StoreError) as exc:  # ScenarioError, a batch too large, a store that cannot be used
        raise fail(str(exc)) from None
    except (KeyboardInterrupt, duckdb.Error) as exc:  # as ensemble says it (typer would exit 130 without a word)
        if not isinstance(exc, KeyboardInterrupt) and not after_ctrl_c(exc):
            raise  # a store's error that is no second Ctrl-C: the crash handler's
        raise interrupted(store) from None
    if as_json:
        sys.stdout.write(json.dumps({"baseline": BASELINE, "runs": runs, "engine": engine,
                                     "batch": res.batch_id, "comparison": frame.to_dict(orient="records")},
                                    indent=2) + "\n")
    else:
        from aftermath.record.vocabulary import vocabulary

        rows = table_rows(frame, vocab=vocabulary(base))  # labels and names are the user's text, never markup
        title = (f"{escape(base.name)}: {runs} replicates per variant of the {engine} engine, common random numbers "
                 "(mean \\[90% interval])")
        print_wide(console, fitted([escape(c) for c in rows[0]], [[escape(c) for c in r] for r in rows[1:]],
                                   title=title, justify=["left"] + ["right"] * (len(rows[0]) - 1), wide=wide,
                                   squeeze={0: 22},
                                   show_edge=False, header_style="bold"), wide)
        ledger = any("(ledger)" in str(r[0]) for r in rows[1:])  # only the agent-based engine has ledger rows
        said = "; (ledger): the agent-based engine's per-person ledger" if ledger else ""
        console.print(f"lives saved = survivors minus the baseline's on the same seeds; \"of which\" rows are part "
                      f"of the row above, never added to it{said}. "
                      f"Definitions: docs/report.md. Stored in {escape(str(store))}, batch {res.batch_id}")
    if report_path is not None:
        from aftermath.report.from_store import render_store

        report_path.write_text(render_store(res.store, res.batch_id), encoding="utf-8")


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # ``python -m aftermath.cli``: as the installed script (it ran nothing before)
    from aftermath._entry import main as _entry_main

    _entry_main()
