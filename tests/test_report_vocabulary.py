"""The HTML reports speak their scenario's vocabulary (``run.vocabulary``), as the terminal does:
the SIR limit's S, I and R, Munz's humans and zombies, Aftermath's own words otherwise. A run line
names its engine in words, and the terminal's comparison names its metrics as the HTML table does."""

from __future__ import annotations

import html
import re
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import aftermath as am
from aftermath.compare import METRIC_NAMES, metric_label, table_rows
from aftermath.record.vocabulary import vocabulary
from aftermath.report import plots
from aftermath.report.ensemble import quantile_frame
from aftermath.report.html import _run_line, render_comparison, render_ensemble, render_run
from aftermath.report.html import word as html_word
from aftermath.scenario.load import load

#: The old words an SIR or SZR report must not use (the scenario's own description aside).
AFTERMATH_WORDS = re.compile(r"ferals?\b|feral'|hybrids?\b|turned feral", re.IGNORECASE)


def _visible(page: str) -> str:
    """What a reader sees: the text outside tags, without the scenario's JSON (<pre>), styles and
    the embedded figures' data."""
    page = re.sub(r"<(style|pre)\b.*?</\1>", " ", page, flags=re.DOTALL)
    page = re.sub(r'src="data:[^"]*"', "", page)
    alts = " ".join(re.findall(r'alt="([^"]*)"', page))
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + alts)


def _run(name: str, days: int, engine: str = "ode") -> Any:
    sc = load(name).model_copy(update={"description": ""})  # the author's prose is theirs, not the report's
    return am.simulate(sc, engine=engine, seed=1, days=days)


@pytest.fixture(scope="module")
def sir_runs() -> list[Any]:
    return [_run("sir", 40, "ssa"), _run("sir", 40, "ssa")]


def test_sir_run_report_says_s_i_r_not_ferals() -> None:
    """Was: an SIR run's report said "ferals at the start", "turned feral", "hybrids culled"."""
    text = _visible(render_run(_run("sir", 40)))
    assert not AFTERMATH_WORDS.search(text), AFTERMATH_WORDS.findall(text)
    for said in ("susceptible at the start (S)", "susceptible at the end (S)", "infectious at the start (Z)",
                 "infectious' peak (Z, after their low)", "infectious (I)", "recovered/removed (R)",
                 "infected people culled (H)"):
        assert said in text, said


def test_szr_run_report_says_zombies() -> None:
    """Was: a Munz SZR run's report said "ferals at the end (Z)", "turned feral"."""
    text = _visible(render_run(_run("munz-basic", 6)))
    assert not AFTERMATH_WORDS.search(text), AFTERMATH_WORDS.findall(text)
    for said in ("zombies at the start (Z)", "turned into zombies", "zombies at the end (Z)",
                 "humans at the start (S)", "Zombies (Z) peaked"):
        assert said in text, said


def test_sir_ensemble_report_and_its_figures_speak_sir(sir_runs: list[Any]) -> None:
    """Was: the ensemble's key numbers said "ferals' peak", its curves' legend "feral", "hybrid"."""
    text = _visible(render_ensemble(sir_runs))
    assert not AFTERMATH_WORDS.search(text), AFTERMATH_WORDS.findall(text)
    assert "infectious' peak (Z, after their low)" in text and "turned infectious (to Z)" in text
    q = quantile_frame(sir_runs)
    fig = plots.plot_zone_curves(q, vocab=vocabulary(sir_runs[0].scenario))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    plt.close(fig)
    assert "I: infectious (Z)" in labels and "S: susceptible" in labels
    assert not any(AFTERMATH_WORDS.search(lab) for lab in labels), labels  # E and H never held anyone here
    fig = plots.plot_spectrum(q, vocab=vocabulary(sir_runs[0].scenario))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    plt.close(fig)
    assert labels == ["S: susceptible", "I: infectious", "R: recovered/removed"]


def test_aftermath_report_keeps_its_words() -> None:
    """A scenario in Aftermath's own words reads as before (passes on the old code too: a guard)."""
    text = _visible(render_run(am.simulate(load("hyosan"), engine="ode", days=3)))
    for said in ("people at the start (humans: S + E + H)", "survivors (humans at the end)", "turned feral",
                 "ferals at the start", "ferals' peak (after their low)", "hybrids culled", "ferals at the end (Z)"):
        assert said in text, said
    assert "infectious (Z)" not in text and "zombie" not in text.lower()


@pytest.mark.parametrize(("engine", "said"), [("abm", "agent-based"), ("ode", "ODE"), ("ssa", "SSA (stochastic)")])
def test_run_line_names_the_engine_in_words(engine: str, said: str) -> None:
    """Was: "abm engine, seed 7, 3 days"."""
    line = _run_line({"engine": engine, "seed": 7, "days": 3, "variant": None})
    assert line == f"{said} engine, seed 7, 3 days"


def test_compare_terminal_labels_are_the_html_tables_words() -> None:
    """Was: the terminal's comparison said "turned away attempts healthy", "initial humans"-style keys
    with spaces; now each metric reads as in the HTML comparison table."""
    assert metric_label("turned_away_attempts_healthy").strip() == \
        "of which crossings by healthy people refused (attempts)"
    assert metric_label("culled").strip() == "of which hybrids culled"
    assert metric_label("survivors") == "survivors (humans at the end)"
    assert metric_label("people_turned_away") == "people turned away (ledger)"
    frame = pd.DataFrame([{"variant": v, "metric": m, "mean": 1.0, "lo": 0.0, "hi": 2.0}
                          for v in ("baseline", "cull") for m in METRIC_NAMES])
    terminal = [row[0].strip() for row in table_rows(frame)[1:]]
    page = render_comparison(frame)
    table = page[page.index(">Table</h2>"):]
    cells = [html.unescape(c).strip() for c in re.findall(r"<tr><td[^>]*>([^<]*)</td>", table)]
    assert terminal == cells
    for m in METRIC_NAMES:  # the words of the one source, nested and marked as the table marks them
        assert html_word(m) in metric_label(m)


def test_sir_store_comparison_report_says_infectious(tmp_path: Any) -> None:
    """Was: a store's report of an SIR comparison had "Ferals over time per point" and key numbers
    per point such as "ferals' peak (after their low)"."""
    from aftermath.report.from_store import render_store
    from aftermath.run.ensemble import ensemble
    from aftermath.store.store import Store

    path = tmp_path / "sir.duckdb"
    ensemble("sir", runs=2, engine="ode", days=20, variants={"baseline": {}, "faster": {"pathogen.beta": 0.3}},
             store=path, baseline="baseline", workers=1)
    with Store(path, read_only=True) as st:
        text = _visible(render_store(st))
    assert not AFTERMATH_WORDS.search(text), AFTERMATH_WORDS.findall(text)
    assert "I: infectious (Z) over time per point" in text and "infectious' peak (Z, after their low)" in text


def test_run_figure_title_names_the_engine_in_words() -> None:
    """Was: the run figure's title said "SIR limit (ode, seed 1)"."""
    fig = plots.plot_run(_run("sir", 5))
    title = fig.get_suptitle()
    plt.close(fig)
    assert title == "SIR limit (ODE engine, seed 1)"
