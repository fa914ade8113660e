"""One self-contained HTML report: figures embedded as base64 PNG, styles inline, no URL at all.

A report can be projected in a classroom with no network, mailed as one file, or mined for story.
Renderers take what is in memory and return the page as a string:

- :func:`render_run`: one :class:`~aftermath.result.Result`;
- :func:`render_ensemble`: several runs of one scenario, or their quantile frame;
- :func:`render_comparison`: a comparison frame ``variant, metric, mean, lo, hi``;
- :func:`render_sweep`: a frame with one row per sweep point (parameter and metric columns);
- :func:`aftermath.report.from_store.render_store`: a batch of a results store (any of the above).

:func:`write_report` picks the renderer from what it is given and writes the file.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from aftermath.record.vocabulary import ENGINE_WORDS as ENGINE_WORDS
from aftermath.record.vocabulary import KEY_NUMBERS as KEY_NUMBERS
from aftermath.record.vocabulary import WORDS as WORDS
from aftermath.record.vocabulary import (
    Vocabulary,
    costs_in_words,
    count,
    engine_words,
    faction_names,
    joined,
    key_numbers,
    key_order,
    meaning_words,
    scenario_vocabulary,
    summary_lines,
    words,
    zone_fear,
    zone_names,
)
from aftermath.record.vocabulary import word as word
from aftermath.report import ensemble as ens
from aftermath.report import plots, plots_map, plots_story, plots_virus

if TYPE_CHECKING:
    from aftermath.people.story import Sentence
    from aftermath.result import Result
    from aftermath.scenario.schema import Scenario

#: Resolution of embedded figures: sharp on a projector, small in a mail.
DPI = 90
#: Rows of the chronicle shown in full (the rest are counted by kind).
CHRONICLE_ROWS = 400

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f6fa}
td.text{text-align:left}
.keys{display:flex;flex-wrap:wrap;gap:.8em}.key{background:#f3f6fa;border-radius:6px;padding:.5em .9em}
.key b{display:block;font-size:1.4em}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.8em;max-height:30em}
details{margin:.6em 0}nav a{margin-right:1em}
"""


# -- building blocks --------------------------------------------------------------------------

def figure_html(fig: Figure, caption: str = "", alt: str = "") -> str:
    """``<figure>`` with ``fig`` as a base64 PNG data URI; closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{html.escape(alt or caption)}" src="data:image/png;base64,{data}">{cap}</figure>'


def table_html(df: pd.DataFrame, digits: int = 0, text_cols: Iterable[str] = (), as_is: Iterable[str] = (),
               vocab: Vocabulary | None = None) -> str:
    """A plain table; numbers with thousands separators and ``digits`` decimals. A column named by
    a key of :data:`WORDS` is headed by its words; any other name (a parameter's path), and the
    columns ``as_is`` (labels a user chose: variants, factions, which may happen to spell a key
    such as ``fear``), are shown as they are. ``vocab``: the words of a scenario's vocabulary."""
    texts, kept, said = set(text_cols), {str(c) for c in as_is}, words(vocab)
    head = "".join(f"<th>{html.escape(str(c) if str(c) in kept else said.get(str(c), str(c)))}</th>"
                   for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, row, strict=True):
            cls = ' class="text"' if col in texts else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(v, digits))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def keys_html(items: Sequence[tuple[str, Any]]) -> str:
    cells = "".join(f'<div class="key"><b>{html.escape(_fmt(v, 0))}</b>{html.escape(k)}</div>' for k, v in items)
    return f'<div class="keys">{cells}</div>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str]]) -> str:
    """The whole document: a title, a table of contents and the sections (heading, body html)."""
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    nav = "".join(f'<a href="#s{i}">{html.escape(h)}</a>' for i, (h, _) in enumerate(sections))
    body = "".join(f'<section id="s{i}"><h2>{html.escape(h)}</h2>{b}</section>' for i, (h, b) in enumerate(sections))
    from aftermath import __version__

    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class=\"sub\">{html.escape(subtitle)} · made {made} with aftermath {__version__}</p>"
        f"<nav>{nav}</nav>{body}</body></html>\n"
    )


def _fmt(v: Any, digits: int) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return "—"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        x = float(v)
        if abs(x) < 1 and x != 0:
            return f"{x:.3g}"
        return f"{x:,.{digits}f}"
    return str(v)


def _safe(make: Callable[[], Figure], caption: str) -> str:
    """A figure, or a note saying why it could not be drawn: one bad panel must not sink a report."""
    try:
        return figure_html(make(), caption)
    except Exception as exc:  # the report says what failed and carries on
        plt.close("all")
        return f"<p><em>{html.escape(caption)}: not drawn ({html.escape(type(exc).__name__)}: " \
               f"{html.escape(str(exc))})</em></p>"


def parameters_html(scenario: Scenario | dict[str, Any] | None, run: Mapping[str, Any] | None = None) -> str:
    """The scenario as used (validated, with every default filled in) as JSON.

    ``run`` holds what the run itself used where it differs from the file (``engine``, ``seed``,
    ``days``, ``variant``): shown first, and written into the scenario's ``[run]`` table, so the
    parameters never say ``engine = "ode", seed = 0`` of a run made with the ABM and seed 7.
    """
    if scenario is None:
        return "<p>not recorded</p>"
    if isinstance(scenario, dict):
        data = json.loads(json.dumps(scenario, default=str))
    else:
        from aftermath.scenario.load import to_dict

        data = to_dict(scenario)
    head = ""
    if run:  # a store's values are numpy scalars: JSON would write them as strings ("days": "365")
        shown = {k: v.item() if isinstance(v, np.generic) else v for k, v in run.items() if v not in (None, "")}
        section = data.setdefault("run", {})
        if isinstance(section, dict):
            section.update({k: v for k, v in shown.items() if k in ("engine", "seed", "days")})
        head = table_html(pd.DataFrame([{k: str(v) for k, v in shown.items()}]), 0, list(shown))
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    return f"{head}<details open><summary>scenario (JSON)</summary><pre>{html.escape(text)}</pre></details>"


# -- one run ----------------------------------------------------------------------------------

#: The key numbers of a run report (Aftermath's words; :func:`key_numbers` gives a vocabulary's),
#: how a key of the record or a column is named where a reader sees it (:data:`WORDS`, and the
#: words of a vocabulary, :func:`word`), and the engines in words: defined in
#: :mod:`aftermath.record.vocabulary`, where the terminal's comparison reads them too. The keys stay
#: as they are in the JSON, the store and scripts. A report speaks its scenario's vocabulary
#: (``run.vocabulary``): the SIR limit's S, I and R, Munz's humans and zombies, or Aftermath's own.

#: ``n`` and the noun that goes with it: "1 point", "2 points", "1,000 runs".
plural = count


def engines_phrase(engines: Iterable[str]) -> str:
    """Where every figure of a report comes from: "every figure from the ODE engine"."""
    names = [engine_words(e) for e in engines]
    if not names:
        return ""
    return f"every figure from the {joined(names)} engine" + ("s" if len(names) > 1 else "")


def render_run(result: Result, title: str | None = None) -> str:
    """The report of one run: summary, key numbers, figures, chronicle, ledger and parameters."""
    s = result.summary()
    sc = result.scenario
    vocab = scenario_vocabulary(sc)
    desc = f"<p>{html.escape(' '.join((sc.description or '').split()))}</p>" if sc.description else ""
    told = ""
    if vocab.name != "aftermath":  # the limit being taught, in its own words, as the terminal tells it
        from rich.text import Text

        told = "".join(f"<p>{html.escape(Text.from_markup(line).plain)}</p>"
                       for line in summary_lines(s, vocab, result.counts))
    overview = desc + f"<p>{html.escape(_run_line(s))}</p>" + told + keys_html(
        [(label, s.get(k)) for k, label in key_numbers(vocab)])
    if s.get("ledger"):
        overview += "<h3>the agent-based ledger (people, each counted once per flag)</h3>" + keys_html(
            [(word(k, vocab), v) for k, v in s["ledger"].items()])
    zones = pd.DataFrame.from_dict(s["zones"], orient="index").rename_axis("id").reset_index()
    zones["fear"] = [zone_fear(z) for z in s["zones"].values()]  # none where no one is left, as the terminal says
    names = zone_names(sc)
    zones.insert(0, "zone", [names.get(str(z), str(z)) for z in zones["id"]])  # the id is what a user types
    overview += "<h3>zones at the end</h3>" + table_html(zones, 0, ["zone", "id"], vocab=vocab)
    figs = [
        _safe(lambda: plots.plot_run(result), "The spectrum over time (world) and each zone's epidemic curves."),
        _safe(lambda: plots_map.plot_map_days(result),
              "The world at five moments: node area = people (humans: S + E + H), colour = fear, rim = wall; "
              "dashed routes are closed (sealed zone or no truce)."
              + (" Zones are placed by their latitude and longitude (north up)."
                 if plots_map.zone_coordinates(sc) is not None else "")),
        _safe(lambda: plots_story.plot_chronicle(result),
              "The chronicle as a timeline, and the days each policy acted."),
        _safe(lambda: plots_story.plot_official_record(result),
              "Official vs true record per faction: who each faction's books leave out."),
    ]
    virus = [
        _safe(lambda: plots_virus.plot_phylogeny(result), "Strain phylogeny (x: birth day; colour: β)."),
        _safe(lambda: plots_virus.plot_trait_drift(result),
              "Trait drift: transmissibility and hybrid share over time, weighted by infected per strain."),
    ] if len(result.strains_frame()) > 1 else [
        "<p>One strain throughout: this run did not evolve (only the agent-based engine mutates the virus; "
        "fixed strains can be declared under <code>[[pathogen.strains]]</code>).</p>"]
    sections = [
        ("Summary", overview),
        ("Figures", "".join(figs)),
        ("The virus", "".join(virus)),
        ("Chronicle", _chronicle_html(result.chronicle_frame(), names, vocab)),
        ("Ledger and the official record", _ledger_html(result, vocab)),
        ("Policies", _policies_html(s, faction_names(sc), names)),
        ("Parameters", parameters_html(sc, _as_run(s))),
    ]
    people = people_html(result)
    if people:  # the cast a run followed (agent-based engine): after the chronicle
        sections.insert(4, ("People", people))
    return page(title or f"{sc.name}: a run", _run_line(s), sections)


# -- people (issue 13): the cast's lives, a timeline each ---------------------------------------
#: Colours of a life's states on its timeline (Okabe-Ito, as the figures).
LIFE_COLOURS = {"healthy": "#009E73", "latent": "#F0E442", "hybrid": "#CC79A7", "feral": "#D55E00",
                "dead": "#999999", "gone": "#999999"}
#: The state an event leaves a person in.
LIFE_STATE = {"became_hybrid": "hybrid", "turned": "feral", "relapsed": "feral", "killed_by_bite": "dead",
              "died": "dead", "starved": "dead", "culled": "dead", "swept": "dead", "destroyed": "dead",
              "decayed": "gone", "rose": "feral", "burned": "gone", "cured": "healthy"}


def _life_bar(events: Sequence[Mapping[str, Any]], state0: str, days: int) -> str:
    """An inline SVG strip: the person's state over the run's days."""
    width, height = 600.0, 14.0
    spans: list[tuple[int, str]] = [(0, state0)]
    for ev in events:
        new = str(ev.get("state")) if ev["kind"] == "infected" else LIFE_STATE.get(str(ev["kind"]))
        if new and new != spans[-1][1]:
            spans.append((int(ev["day"]), new))
    rects = []
    for k, (day, st) in enumerate(spans):
        end = spans[k + 1][0] if k + 1 < len(spans) else days
        x, w = width * day / max(days, 1), max(width * (end - day) / max(days, 1), 1.0)
        rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{LIFE_COLOURS.get(st, "#999")}">'
                     f"<title>day {day}: {html.escape(st)}</title></rect>")
    ticks = [f'<line x1="{width * int(ev["day"]) / max(days, 1):.1f}" x2="{width * int(ev["day"]) / max(days, 1):.1f}" '
             f'y1="0" y2="{height}" stroke="#222" stroke-width="1"><title>day {int(ev["day"])}: '
             f'{html.escape(str(ev["kind"]).replace("_", " "))}</title></line>'
             for ev in events if ev["kind"] not in ("start", "memory_rose", "memory_faded")]
    return (f'<svg class="life" width="{width:.0f}" height="{height:.0f}" role="img" '
            f'aria-label="timeline of states and events">{"".join(rects)}{"".join(ticks)}</svg>')


def people_html(result: Result) -> str:
    """The People section: each followed life as prose with a timeline, and who the official
    record leaves out; "" when the run followed no one (only the agent-based engine can)."""
    cast = result.extras.get("cast")
    if not isinstance(cast, dict):
        return ""
    from aftermath.people.story import left_out, tell

    lives = tell(result)
    by_who: dict[str, list[dict[str, Any]]] = {}
    for ev in cast["events"]:
        by_who.setdefault(ev["who"], []).append(ev)
    people = {p["name"]: p for p in cast["people"]}
    key = " ".join(f'<span style="color:{c}">&#9632;</span> {w}' for w, c in LIFE_COLOURS.items() if w != "gone")
    parts = [f"<p>The people this run followed (observation only: following them changed nothing). Each "
             f"timeline bar runs from day 0 to day {result.days}: {key}.</p>"]
    for life in lives:
        role = f" ({html.escape(life.role)})" if life.role else ""
        rows = "".join(f'<tr><td>{_when(sen, result.days)}</td><td class="text">{html.escape(sen.text)}</td></tr>'
                       for sen in life.sentences)
        bar = _life_bar(by_who.get(life.name, []), people[life.name]["state0"], result.days)
        parts.append(f"<h3>{html.escape(life.name)}{role}</h3>{bar}<p>{html.escape(life.text())}</p>"
                     f"<details><summary>timeline</summary><table><tbody>{rows}</tbody></table></details>")
    gone = left_out(lives)
    parts.append("<h3>Who the official record leaves out</h3>" + (
        "<ul>" + "".join(f"<li>{html.escape(g)}</li>" for g in gone) + "</ul>" if gone
        else "<p>The official record counts every one of them.</p>"))
    return "".join(parts)


def _when(sentence: Sentence, days: int) -> str:
    """A timeline row's day: none for the start, "End (day N)" for the fate at the run's end (not a
    day anything happened: someone dead by day 311 did not die on day 365), else the day of its
    first event."""
    if sentence.kind == "start":
        return ""
    if sentence.kind == "fate":
        return f"End (day {days})"
    return f"Day {sentence.events[0].get('day', days)}" if sentence.events else ""


def _as_run(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {"engine": summary["engine"], "seed": summary["seed"], "days": summary["days"],
            "variant": summary.get("variant") or "the scenario as it is"}


def _run_line(summary: Mapping[str, Any]) -> str:
    """Engine (in words: "agent-based engine"), seed, days and variant of a run: the figures of a
    run report all come from it."""
    variant = summary.get("variant")
    return (f"{engine_words(summary['engine'])} engine, seed {summary['seed']}, {plural(summary['days'], 'day')}"
            + (f", variant: {variant}" if variant else ""))


def _chronicle_html(events: pd.DataFrame, zone_names: Mapping[str, str] | None = None,
                    vocab: Vocabulary | None = None) -> str:
    """The chronicle: how often each kind of event happened, then every event with its zone's name
    ("—" for the world or between factions)."""
    if events.empty:
        return "<p>Nothing was chronicled.</p>"
    counts = events.groupby("kind").agg(times=("day", "size"), first_day=("day", "min")).reset_index()
    shown = events.head(CHRONICLE_ROWS)
    names = zone_names or {}
    lines = "".join(
        f"<tr><td>Day {int(d)}</td><td class=\"text\">{html.escape(names.get(str(z), str(z)) or '—')}</td>"
        f"<td class=\"text\">{html.escape(str(t))}</td></tr>"
        for d, z, t in zip(shown["day"], shown["zone"], shown["text"], strict=True))
    more = f"<p>… and {len(events) - len(shown):,} more.</p>" if len(events) > len(shown) else ""
    return (table_html(_kinds_in_words(counts, vocab), 0, ["what happened"])
            + f"<details><summary>all {plural(len(events), 'event')}</summary>"
            f"<table><thead><tr><th>day</th><th>zone</th><th>what happened</th></tr></thead>"
            f"<tbody>{lines}</tbody></table>{more}</details>")


def _kinds_in_words(counts: pd.DataFrame, vocab: Vocabulary | None = None) -> pd.DataFrame:
    """A chronicle's counts per ``kind`` with each kind said in words, ``vocab``'s where given
    (first column "what happened")."""
    said = [plots_story.kind_words(str(k), vocab) for k in counts["kind"]]
    return counts.drop(columns="kind").assign(**{"what happened": said})[
        ["what happened", *(c for c in counts.columns if c != "kind")]]


#: The costs of :func:`aftermath.record.official.ledger_by_faction` counted where the act was done: a
#: crossing refused at the gate that refused it, a cull or a sweep in its zone (the flows), the
#: sealed in (and the sacrificed among them) in the zone sealed around them (the ledger).
DONE_WHERE = ("turned_away_attempts", "turned_away_attempts_healthy", "culled", "hybrids_swept", "sealed_in",
              "sacrificed")
#: The other costs are the agent-based ledger's people (people turned away, concealed,
#: misclassified), each under the faction where policy first acted on them
#: (:func:`aftermath.engines.abm.ledger.ledger_frame`): not where that flag's own act was done.
FIRST_ACT_HEADING = "people the agent-based ledger flagged, per faction where policy first acted on them"
FIRST_ACT_NOTE = (
    "<p>Each person is counted once per flag, under the faction governing the zone of the first policy act "
    "on them (a seal, a gate, a cull or a sweep, a household hiding them), whichever flag that act set. "
    "These are not counts at each faction's gates: someone sealed in one faction's zone and later refused "
    "at another's gates is counted under the first faction here, and the crossings refused at the second's "
    "gates in the table above. The totals over every faction are the ledger totals below.</p>")


def _ledger_html(result: Result, vocab: Vocabulary | None = None) -> str:
    from aftermath.compare import METRIC_NAMES
    from aftermath.record.official import ledger_by_faction, official_record

    parts = []
    factions = faction_names(result.scenario)
    try:
        led = ledger_by_faction(result)
        wide = led.pivot_table(index="cost", columns="faction", values="count", aggfunc="sum").fillna(0.0)
        order = {m: i for i, m in enumerate(METRIC_NAMES)}
        costs = sorted(map(str, wide.index), key=lambda c: (order.get(c, len(order)), c))
        # two attributions, two tables: a faction's row in one table must not be read against the other's
        where = [c for c in costs if c in DONE_WHERE]
        first = [c for c in costs if c not in DONE_WHERE]
        for heading, rows, note in (("what policy did, per faction: at its gates and in its zones", where, ""),
                                    (FIRST_ACT_HEADING, first, FIRST_ACT_NOTE)):
            if not rows:
                continue
            part = wide.reindex(rows).rename(columns=factions)
            part.index = pd.Index(costs_in_words(rows, vocab), name="cost")
            parts.append(f"<h3>{heading}</h3>{note}"
                         + table_html(part.rename_axis(columns=None).reset_index(), 0, ["cost"], as_is=part.columns))
        rec = official_record(result)
        rec = rec.assign(faction=[factions.get(str(f), str(f)) for f in rec["faction"]],
                         who=[w if left >= 0.5 else "-" for w, left in zip(rec["who"], rec["left_out"], strict=True)])
        # (who would be left out is named only where someone is: a row of 0 left out names no one)
        parts.append("<h3>official vs true record</h3>" + (
            table_html(rec, 0, ["faction", "measure", "who"]) if len(rec)
            else "<p>No factions: no official record to compare.</p>"))
    except Exception as exc:  # shown, not fatal
        parts.append(f"<p><em>ledger not available: {html.escape(str(exc))}</em></p>")
    from aftermath.result import ledger_people

    totals = ledger_people(result.extras.get("ledger_totals"))
    if totals:
        frame = pd.DataFrame({"people": list(totals.values())},
                             index=pd.Index([word(k, vocab) for k in totals], name="flag"))
        parts.append(f"<h3>ledger totals (people, each counted once per flag; {word('culled', vocab)} and "
                     f"{word('hybrids_swept', vocab)} are in the flows above)</h3>"
                     + table_html(frame.reset_index(), 0, ["flag"]))
    return "".join(parts)


def _policies_html(summary: dict[str, Any], faction_names: Mapping[str, str] | None = None,
                   zone_names: Mapping[str, str] | None = None) -> str:
    """Each policy: its faction and the zones it acted in by their names, its type, when it acted."""
    rows = []
    names, zones = faction_names or {}, zone_names or {}
    for faction, items in summary.get("factions", {}).items():
        for p in items:
            rows.append({"faction": names.get(faction, faction) or "—", "policy": p["policy"], "type": p["type"],
                         "days acted": p["days_acted"], "first day acted": p["first_day_acted"],
                         "zones": ", ".join(zones.get(z, z) for z in p["zones"])})
    if not rows:
        return "<p>No policies.</p>"
    return (POLICY_NOTE + table_html(pd.DataFrame(rows), 0, ["faction", "policy", "type", "zones"]))


#: What "days acted" means, said where it is shown.
POLICY_NOTE = ("<p>A policy acted on a day when its lever was the one in force (a seal, the winning "
               "admission or hybrid policy, a cure, disposal or rotation switched on) or when it changed "
               "something (a sweep carried out, a seal lifted by reopening, a truce decided). Switched on "
               "and waiting is not acting.</p>")


# -- many runs --------------------------------------------------------------------------------

def render_ensemble(data: Sequence[Result] | pd.DataFrame, title: str | None = None,
                    summaries: pd.DataFrame | None = None, scenario: Scenario | dict[str, Any] | None = None,
                    chronicle: pd.DataFrame | None = None, subtitle: str = "",
                    extra: Sequence[tuple[str, str]] = ()) -> str:
    """The report of an ensemble: bands of every zone's curves, the median spectrum, the spread
    of key numbers and how often each chronicle event happened.

    ``data`` is the runs themselves or their quantile frame (``day, zone, state, q05..q95``, with
    ``zone == "all"`` for the world); ``summaries`` has one row per run (as
    :func:`aftermath.report.ensemble.summary_frame`); ``chronicle`` is a frame with ``kind, runs,
    first_day`` (how many runs had it, the median first day).
    """
    if isinstance(data, pd.DataFrame):
        q, runs = data, None
    else:
        runs = list(data)
        q = ens.quantile_frame(runs)
        summaries = ens.summary_frame(runs) if summaries is None else summaries
        scenario = scenario if scenario is not None else runs[0].scenario
        chronicle = chronicle if chronicle is not None else _chronicle_counts(runs)
    name = (scenario.name if scenario is not None and not isinstance(scenario, dict)
            else (scenario or {}).get("name", "ensemble"))
    vocab = scenario_vocabulary(scenario)
    n = len(runs) if runs is not None else (len(summaries) if summaries is not None else None)
    overview = keys_html([("run" if n == 1 else "runs", n)]) if n else ""
    if summaries is not None and len(summaries):
        described = _in_key_order(ens.describe(summaries), vocab)
        described["metric"] = [word(m, vocab) for m in described["metric"]]
        overview += "<h3>key numbers across runs (median and 90% interval)</h3>" + table_html(
            described, 0, ["metric"])
    figs = [
        _safe(lambda: plots.plot_spectrum(q, vocab=vocab), "Median spectrum of the world over time."),
        _safe(lambda: plots.plot_zone_curves(q, vocab=vocab, names=_zone_names_of(scenario)),
              "Epidemic curves per zone: median line, 50% band (dark) and 90% band (light) across runs."),
    ]
    if runs is not None:
        figs.append(_safe(lambda: plots_story.plot_official_record(runs[0]),
                          f"Official vs true record in the first run (seed {runs[0].seed})."))
    sections = [("Summary", overview), ("Figures", "".join(figs))]
    if chronicle is not None and len(chronicle):
        said = _kinds_in_words(chronicle, vocab).rename(
            columns={"runs": "runs with it", "first_day": "first day (median)"})
        sections.append(("Chronicle across runs", table_html(said, 0, ["what happened"])))
    sections.extend(extra or [("Parameters", parameters_html(scenario))])
    if not subtitle and n:
        engines = sorted({r.engine for r in runs}) if runs is not None else []
        subtitle = plural(n, "run") + (f" · {engines_phrase(engines)}" if engines else "")
    return page(title or f"{name}: an ensemble", subtitle, sections)


def _in_key_order(described: pd.DataFrame, vocab: Vocabulary | None = None) -> pd.DataFrame:
    """Rows of ``metric, ...`` (:func:`aftermath.report.ensemble.describe`) in the order a reader
    reads them (:func:`aftermath.record.vocabulary.key_order`), not as a store's columns come."""
    order = key_order([str(m) for m in described["metric"]], vocab)
    return described.set_index("metric").loc[order].reset_index()


def _chronicle_counts(runs: Sequence[Result]) -> pd.DataFrame:
    frames = [r.chronicle_frame().assign(run=i) for i, r in enumerate(runs)]
    ev = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run", "kind", "day"])
    if ev.empty:
        return pd.DataFrame(columns=["kind", "runs", "first_day"])
    first = ev.groupby(["kind", "run"])["day"].min().reset_index()
    return (first.groupby("kind").agg(runs=("run", "nunique"), first_day=("day", "median"))
            .reset_index().sort_values("runs", ascending=False))


def render_comparison(df: pd.DataFrame, title: str = "Policy comparison", subtitle: str = "",
                      extra: Sequence[tuple[str, str]] = (), vocab: Vocabulary | None = None) -> str:
    """The report of a policy comparison from the frame of :func:`aftermath.compare.comparison`
    (``variant, metric, mean, lo, hi``, and ``engine``, ``source`` when known): the weighing figure
    and one row per metric, with what it counts and where it comes from, in ``vocab``'s words (the
    scenario's ``run.vocabulary``; Aftermath's own without one)."""
    from aftermath.compare import METRIC, metric_label
    if "engine" not in df.columns:
        df = df.assign(engine="")
    cells = {(r.variant, r.metric): f"{r.mean:,.0f} [{r.lo:,.0f}, {r.hi:,.0f}]" for r in df.itertuples()}
    variants = list(dict.fromkeys(df["variant"]))
    metrics = [m for m in METRIC if (df["metric"] == m).any()] + [
        m for m in dict.fromkeys(df["metric"]) if m not in METRIC]
    # the engines in words ("agent-based"); a frame may hold "abm, ode" in one cell
    ids = sorted({e.strip() for cell in df["engine"] for e in str(cell).split(",") if e.strip()})
    engines = engines_phrase(ids).removeprefix("every figure from ")  # "the agent-based engine"
    flags = ", ".join(f"<code>--engine {html.escape(e)}</code>" for e in ids)  # what reproduces them
    from_engines = (f"Every figure comes from runs of {html.escape(engines)} ({flags})." if ids
                    else "The engine that made these runs was not recorded.")
    rows = []
    for m in metrics:
        meta = METRIC.get(m)
        src = "" if meta is None else ("the ABM's ledger" if meta.source == "ledger" else "every engine's record")
        said = metric_label(m, vocab)  # its nesting ("of which"), in the words of WORDS, as the terminal says it
        rows.append({"metric": said, **{v: cells.get((v, m), "—") for v in variants},
                     "counts": meaning_words(m, meta.meaning, vocab) if meta is not None else "", "from": src})
    table = pd.DataFrame(rows, columns=["metric", *variants, "counts", "from"])
    intro = (f"<p>{from_engines} Lives saved are "
             "survivors in a variant minus survivors in the baseline, replicate by replicate (common random "
             "numbers). Costs are people; a metric that is part of another (\"of which\") is never added to it, "
             "and the figure's cost is <i>killed by policy</i>. Each cell: mean [5th, 95th percentile] over "
             "replicates. Definitions: docs/report.md.</p>")
    caption = "Lives saved against people killed by policy, per variant" + (f" (runs of {engines})." if ids else ".")
    sections = [
        ("Lives saved and what they cost", intro + _safe(lambda: plots_story.plot_comparison(df, vocab=vocab),
                                                         caption)),
        ("Table", table_html(table, 0, list(table.columns), as_is=variants)),
        *extra,
    ]
    return page(title, subtitle or (engines_phrase(ids) if ids else "engine not recorded"), sections)


def _zone_names_of(scenario: Any) -> dict[str, str]:
    """Zone id -> name, from a scenario or its stored form (a dict); none for no scenario."""
    if scenario is None:
        return {}
    if isinstance(scenario, dict):
        return {str(z["id"]): str(z.get("name") or z["id"]) for z in scenario.get("zones", []) if "id" in z}
    return zone_names(scenario)


def render_sweep(points: pd.DataFrame, params: Sequence[str], metrics: Sequence[str] = ("survivors", "deaths"),
                 title: str = "Parameter sweep", subtitle: str = "",
                 extra: Sequence[tuple[str, str]] = (), vocab: Vocabulary | None = None) -> str:
    """The report of a sweep: ``points`` has one row per (point, replicate) or per point, with the
    swept ``params`` and summary ``metrics`` as columns; each metric is drawn against each parameter
    (median over replicates, 90% band), in ``vocab``'s words."""
    said = ", ".join(word(m, vocab) for m in metrics)
    figs = [_safe(partial(_sweep_figure, points, p, metrics, vocab), f"{said} against {p}.") for p in params]
    agg = points.groupby(list(params))[list(metrics)].median().reset_index()
    sections = [("Figures", "".join(figs)), ("Medians per point", table_html(agg, 2, vocab=vocab)), *extra]
    return page(title, subtitle, sections)


def _sweep_figure(points: pd.DataFrame, param: str, metrics: Sequence[str], vocab: Vocabulary | None = None) -> Figure:
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4), squeeze=False)
    for k, (ax, m) in enumerate(zip(axes[0], metrics, strict=True)):
        g = points.groupby(param)[m]
        x = np.asarray(g.median().index, dtype=float)
        c = plots.OKABE_ITO[k % len(plots.OKABE_ITO)]
        ax.fill_between(x, g.quantile(0.05).to_numpy(), g.quantile(0.95).to_numpy(), color=c, alpha=0.25, lw=0)
        ax.plot(x, g.median().to_numpy(), "o-", color=c)
        ax.set_xlabel(param)
        ax.set_ylabel(word(m, vocab))
    fig.tight_layout()
    return fig


# -- dispatch ---------------------------------------------------------------------------------

def render(obj: Any) -> str:
    """The report of whatever ``obj`` is: a Result, a list of Results, a quantile frame, a
    comparison frame or a :class:`~aftermath.store.store.Store`."""
    from aftermath.result import Result

    if isinstance(obj, Result):
        return render_run(obj)
    if isinstance(obj, pd.DataFrame):
        if {"variant", "metric", "mean", "lo", "hi"} <= set(obj.columns):
            return render_comparison(obj)
        return render_ensemble(obj)
    if isinstance(obj, Sequence) and obj and all(isinstance(r, Result) for r in obj):
        return render_run(obj[0]) if len(obj) == 1 else render_ensemble(obj)
    if hasattr(obj, "summaries") and hasattr(obj, "query"):
        from aftermath.report.from_store import render_store

        return render_store(obj)
    raise TypeError(f"cannot make a report of {type(obj).__name__}")


def write_report(obj: Any, path: str | Path) -> Path:
    """Write the report of ``obj`` (see :func:`render`) to ``path`` as UTF-8 HTML; returns the path.

    The folder must exist (nothing creates folders unasked): see :func:`check_output`.
    """
    out = check_output(path, "report")
    out.write_text(render(obj), encoding="utf-8")
    return out


class OutputPathError(ValueError):
    """An output path a command cannot write: says which flag, the path and what was expected."""


def check_output(path: str | Path, flag: str, suffixes: Iterable[str] | None = None) -> Path:
    """``path`` if a file can be written there, checked before any work: not a folder, in a folder
    that exists and can be written (no folder is created), ending in one of ``suffixes`` (lower
    case, with the dot) when given. Raises :class:`OutputPathError` naming ``flag``."""
    out = Path(path)
    shown = str(out)
    if out.is_dir():
        raise OutputPathError(f"{flag}: got {shown!r}, a folder; expected a file name "
                              f"(e.g. {shown.rstrip('/')}/out.html)")
    allowed = [s.lower() for s in suffixes] if suffixes is not None else None
    if allowed is not None and out.suffix.lower() not in allowed:
        raise OutputPathError(f"{flag}: got {shown!r}, expected a file name ending in {', '.join(allowed)}")
    parent = out.parent
    if not parent.is_dir():
        raise OutputPathError(f"{flag}: got {shown!r}, but the folder {str(parent)!r} does not exist; expected a "
                              "file in an existing folder (aftermath creates no folders)")
    try:  # the one sure test: open it for writing now (a new file is removed again), before any work
        if out.exists():
            with out.open("ab"):
                pass
        else:
            with out.open("xb"):
                pass
            out.unlink()
    except OSError as exc:
        raise OutputPathError(f"{flag}: got {shown!r}, expected a file that can be written "
                              f"({exc.strerror or exc})") from None
    return out
