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
from aftermath.record.vocabulary import VOCABULARIES, vocabulary
from aftermath.report import plots
from aftermath.report.ensemble import quantile_frame
from aftermath.report.html import _run_line, render_comparison, render_ensemble, render_run
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
    want = ["lives saved", "survivors (humans at the end)", "deaths", "of which killed by policy",
            "of which hybrids culled", "of which hybrids killed in sweeps", "of which starved",
            "crossings refused at gates (attempts)", "of which crossings by healthy people refused (attempts)",
            "people turned away (ledger)", "of which healthy people turned away (ledger)", "sealed in (ledger)",
            "of which sacrificed (ledger)", "concealed (ledger)", "misclassified (ledger)"]
    assert [row[0].strip() for row in table_rows(frame)[1:]] == want
    page = render_comparison(frame)
    table = page[page.index(">Table</h2>"):]
    assert [html.unescape(c).strip() for c in re.findall(r"<tr><td[^>]*>([^<]*)</td>", table)] == want


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


@pytest.fixture(scope="module")
def szr_hyosan() -> Any:
    """Hyosan told in Munz's words (``run.vocabulary = "szr"``): its walls are breached early."""
    sc = load("hyosan")
    sc = sc.model_copy(update={"description": "", "run": sc.run.model_copy(update={"vocabulary": "szr"})})
    res = am.simulate(sc, engine="ode", seed=1, days=60)
    assert "breach" in set(res.chronicle_frame()["kind"])
    return res


def test_szr_chronicle_says_zombies_broke_through(szr_hyosan: Any) -> None:
    """Was: "ferals broke through a wall" in an SZR run's chronicle legend, its run report and its
    ensemble report."""
    from aftermath.report import plots_story

    fig = plots_story.plot_chronicle(szr_hyosan)
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    assert "zombies broke through a wall" in legend and not any("feral" in t for t in legend), legend
    for page in (render_run(szr_hyosan), render_ensemble([szr_hyosan])):
        text = _visible(page)
        # (the chronicle's own sentences are the record's, record/chronicle.py: not the kinds' words)
        assert "zombies broke through a wall" in text and "ferals broke through a wall" not in text


def test_szr_comparison_figure_says_the_vocabularys_words(monkeypatch: Any) -> None:
    """Was: the comparison figure said "of which hybrids culled" (render_comparison did not pass
    the vocabulary) while its table said "of which bitten humans culled (H)"."""
    from aftermath.report import plots_story

    metrics = ["lives_saved", "killed_by_policy", "culled", "hybrids_swept"]
    frame = pd.DataFrame([{"variant": v, "metric": m, "mean": 1.0, "lo": 0.0, "hi": 2.0, "engine": "abm"}
                          for v in ("baseline", "cull") for m in metrics])
    drawn: list[Any] = []
    real = plots_story.plot_comparison

    def keep(*args: Any, **kw: Any) -> Any:
        drawn.append(real(*args, **kw))
        return drawn[-1]

    monkeypatch.setattr(plots_story, "plot_comparison", keep)
    render_comparison(frame, vocab=VOCABULARIES["szr"])
    ticks = [t.get_text().replace("\n", " ") for t in drawn[0].axes[1].get_yticklabels()]
    assert ticks == ["killed by policy", "of which bitten humans culled (H)",
                     "of which bitten humans killed in sweeps (H)"]


@pytest.mark.parametrize(("engine", "said"), [("abm", "agent-based engine"), ("", "engine not recorded")])
def test_comparison_report_names_its_engine_in_words(engine: str, said: str) -> None:
    """Was: "runs of the abm engine", a caption "(abm engine)" and a subtitle "abm engine" (or
    "not recorded engine" for a frame without its engine)."""
    frame = pd.DataFrame([{"variant": v, "metric": m, "mean": 1.0, "lo": 0.0, "hi": 2.0}
                          for v in ("baseline", "cull") for m in ("lives_saved", "killed_by_policy")])
    page = render_comparison(frame.assign(engine=engine) if engine else frame)
    text = _visible(page)
    assert said in text
    assert "abm engine" not in text and "not recorded engine" not in text
    if engine:
        assert "Every figure comes from runs of the agent-based engine ( --engine abm )." in text
        assert "(runs of the agent-based engine)" in text
        assert 'class="sub">every figure from the agent-based engine · made' in page
    else:
        assert "The engine that made these runs was not recorded." in text


def test_dashboard_comparison_labels_speak_the_scenarios_words() -> None:
    """Was: the dashboard's comparison labelled an SZR scenario's metrics in Aftermath's words
    ("of which hybrids culled"): the server called metric_label without the vocabulary."""
    import time

    from fastapi.testclient import TestClient

    from aftermath.scenario.load import to_dict
    from aftermath.web.server import create_app

    data = to_dict(load("sir"))
    data["run"].update(days=5, engine="ode", vocabulary="szr")
    variant = to_dict(load("sir"))
    variant["run"].update(days=5, engine="ode", vocabulary="szr")
    variant["pathogen"]["beta"] = 0.15
    app = create_app(warm=False)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        job = client.post("/api/compare", json={"scenario": data, "runs": 1, "engine": "ode",
                                                "variants": [{"label": "slower", "scenario": variant}]}).json()
        deadline = time.monotonic() + 30
        while (v := client.get(f"/api/jobs/{job['id']}").json())["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert v["status"] == "done", v
    labels = {r["metric"]: r["label"].strip() for r in v["result"]["rows"]}
    assert labels["culled"] == "of which bitten humans culled (H)"
    assert labels["survivors"] == "humans at the end (S)"
