"""The HTML reports speak to a reader: tables and headings name things in words, not in the keys of
the JSON (``peak_ferals_day``, ``sealed_in``), nor by ids where a name exists (``government``);
plurals read right ("1 point", never "1 point(s)"); and the scenario's numbers are numbers in every
report's JSON (an ensemble's showed ``"days": "365"``). Found by a new-user trial."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import html
import json
import re
from html.parser import HTMLParser

import pytest

from aftermath.api import load, simulate
from aftermath.report.html import render_ensemble, render_run

#: A key-like token: lower-case words joined by underscores.
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
#: Tokens that must stay as they are: the batch's seed scheme is a formula in code (it quotes
#: numpy's ``SeedSequence(master_seed).spawn(runs)[i].generate_state(...)``).
ALLOWED = {"master_seed", "generate_state"}
#: A dotted path a user types (``pathogen.p_hybrid``, ``zones.school.wall``) stays as typed.
DOTTED = re.compile(r"\b\w+(?:\.\w+)+\b")
#: Elements whose text is data shown as data: the scenario as JSON.
RAW = {"pre", "code", "script", "style"}
#: Elements read as tables and headings.
READ = {"th", "td", "h1", "h2", "h3", "summary", "figcaption", "nav", "p", "div", "b", "li"}


class _Text(HTMLParser):
    """The text a reader sees in tables and headings, per element (no JSON, no figures)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "img", "meta", "rect", "line"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not RAW & set(self.stack) and READ & set(self.stack):
            self.parts.append(" ".join(data.split()))


def visible(page: str) -> list[str]:
    p = _Text()
    p.feed(page)
    return p.parts


def raw_keys(page: str) -> list[str]:
    """Every key-like token a reader sees, with the text it is in."""
    found = []
    for text in visible(page):
        for tok in SNAKE.findall(DOTTED.sub("", text)):
            if tok not in ALLOWED:
                found.append(f"{tok!r} in {text[:70]!r}")
    return found


def bad_plurals(page: str) -> list[str]:
    """Each "(s)" plural, and each count with the wrong number of its noun ("1 runs", "2 point")."""
    wrong = re.compile(r"\w+\(s\)|\b1 (?:runs|points|days|events|seeds)\b|"
                       r"\b(?:[02-9]|\d\d+) (?:run|point|day|event)\b(?!\()")
    return [m.group(0) for text in visible(page) for m in wrong.finditer(text)]


@pytest.fixture(scope="module")
def abm_run():
    """Hyosan, agent-based, short: factions, policies, a ledger and a chronicle to show."""
    return simulate(load("hyosan"), engine="abm", seed=7, days=20)


@pytest.fixture(scope="module")
def run_page(abm_run) -> str:
    return render_run(abm_run)


def test_the_checks_have_teeth() -> None:
    """The scanners find what they are for (so a clean page means something)."""
    page = ("<h2>Summary</h2><table><tr><th>peak_ferals_day</th></tr><tr><td>3 point(s)</td></tr></table>"
            "<pre>{\"p_hybrid\": 0.1}</pre><p>set zones.school.wall_height</p><p>1 runs, 2 point</p>"
            "<td>3</td><td>day</td>")  # the last two: separate cells, not "3 day"
    assert [k.split()[0] for k in raw_keys(page)] == ["'peak_ferals_day'"]
    assert bad_plurals(page) == ["point(s)", "1 runs", "2 point"]


def test_run_report_tables_and_headings_are_in_words(run_page: str, abm_run) -> None:
    assert raw_keys(run_page) == []
    assert bad_plurals(run_page) == []
    text = " ".join(visible(run_page))
    # the labels a reader gets instead of the keys
    for words in ("day of the ferals' peak", "days sealed", "healthy people turned away", "sealed in", "left out"):
        assert words in text, words
    # factions by their names, never their ids, in the ledger, the official record and the policies
    cells = [t for t in visible(run_page) if t in ("government", "survivors")]
    assert cells == [], cells
    assert "The Provisional Government" in text and "The survivors' network" in text
    # the JSON keeps its keys: scripts and the reader who copies it read the scenario as it is
    # scenario keys that are also record keys with words (fear, births) stay keys in the JSON
    assert "&quot;fear&quot;:" in run_page and "&quot;births&quot;:" in run_page
    assert "&quot;fear at the end&quot;" not in run_page and "&quot;births&quot;: &quot;" not in run_page
    assert "&quot;p_hybrid&quot;: 0.15" in run_page


def test_one_of_a_thing_is_said_in_the_singular(abm_run) -> None:
    """An ensemble of one run: "1 run", never "1 runs"."""
    page = render_ensemble([abm_run])
    assert bad_plurals(page) == []
    assert raw_keys(page) == []
    assert "1 run " in " ".join(visible(page)) or "1 run" in visible(page)
    assert "1 run · every figure from the agent-based engine" in page  # was "1 runs · abm engine (every figure)"


def test_ensemble_of_a_store_reads_in_words_and_keeps_numbers_numbers(tmp_path) -> None:
    """The store's ensemble report: its tables in words, and ``"days": 40`` in its JSON as in a run
    report (the store's numpy integer was written with ``default=str``: ``"days": "40"``)."""
    from aftermath.report.from_store import render_store
    from aftermath.run import ensemble
    from aftermath.store import Store

    store = tmp_path / "e.duckdb"
    with ensemble("sir", runs=2, days=40, store=store):
        pass
    with Store(store, read_only=True) as st:
        page = render_store(st)
    params = html.unescape(page[page.index("scenario (JSON)"):])
    scenario = json.loads(params[params.index("{"):params.index("</pre>")])
    assert scenario["run"]["days"] == 40 and scenario["run"]["seed"] == 0
    assert raw_keys(page) == []
    text = " ".join(visible(page))
    assert "median" in text and "95th percentile" in text and "attack rate" in text


def test_store_report_subtitle_plurals(tmp_path) -> None:
    from aftermath.report.from_store import render_store
    from aftermath.run import ensemble
    from aftermath.store import Store

    store = tmp_path / "e.duckdb"
    with ensemble("sir", runs=2, days=10, store=store):
        pass
    with Store(store, read_only=True) as st:
        page = render_store(st)
    assert bad_plurals(page) == [] and "(every figure)" not in page
    assert "2 runs per point · 1 point · 10 days" in page  # was "2 runs per point · 1 point(s) · 10 days"
    assert "every figure from the ODE engine" in page  # was "ode engine (every figure)"


def test_comparison_and_sweep_name_their_metrics_in_words() -> None:
    """The comparison's metric column keeps its nesting ("of which") with the metric in words; a
    sweep's captions and tables name its metrics in words and its parameter by the path typed."""
    import pandas as pd

    from aftermath.report.html import render_comparison, render_sweep

    metrics = ["lives_saved", "killed_by_policy", "turned_away_attempts", "turned_away_attempts_healthy"]
    df = pd.DataFrame({"variant": ["a"] * 4, "metric": metrics, "mean": [0.0, 3, 5, 2], "lo": [0.0, 2, 4, 1],
                       "hi": [0.0, 4, 6, 3]})
    page = render_comparison(df)
    table = page.split("<h2>Table</h2>", 1)[1]
    firsts = [visible(row)[0] for row in re.findall(r"<tr><td.*?</tr>", table)]
    assert firsts == ["lives saved", "of which killed by policy", "crossings refused at gates (attempts)",
                      "of which crossings by healthy people refused (attempts)"]
    pts = pd.DataFrame({"pathogen.p_hybrid": [0.1, 0.2], "peak_ferals_day": [3.0, 4.0]})
    page = render_sweep(pts, ["pathogen.p_hybrid"], metrics=["peak_ferals_day"])
    assert raw_keys(page) == []
    assert "day of the ferals' peak against pathogen.p_hybrid." in visible(page)


def test_what_each_metric_counts_is_said_in_words() -> None:
    """The comparison table's "counts" column (and docs/report.md) say each metric in words: was
    "people killed by a policy: culled + hybrids_swept"."""
    from aftermath.compare import METRICS

    assert [(m.name, SNAKE.findall(m.meaning)) for m in METRICS if SNAKE.findall(m.meaning)] == []
    assert "hybrids culled and hybrids killed in sweeps" in {m.name: m.meaning for m in METRICS}["killed_by_policy"]


def test_labels_a_user_chose_are_shown_as_written() -> None:
    """A variant labelled ``fear`` or ``hybrids`` (which happen to spell record keys) keeps its label
    as a column heading; a record key's column is in words."""
    import pandas as pd

    from aftermath.report.html import WORDS, table_html

    assert "fear" in WORDS and "hybrids" in WORDS
    df = pd.DataFrame({"metric": ["survivors"], "fear": ["1"], "hybrids": ["2"], "days_sealed": [3]})
    out = table_html(df, 0, ["metric", "fear", "hybrids"], as_is=["fear", "hybrids"])
    assert "<th>fear</th>" in out and "<th>hybrids</th>" in out
    assert f"<th>{WORDS['days_sealed']}</th>" in out
    from aftermath.report.html import render_comparison

    comp = pd.DataFrame({"variant": ["fear", "hybrids"], "metric": ["killed_by_policy"] * 2, "mean": [1.0, 2.0],
                         "lo": [0.0, 1.0], "hi": [2.0, 3.0]})
    heads = re.findall(r"<th>(.*?)</th>", render_comparison(comp).split("<h2>Table</h2>", 1)[1])
    assert "fear" in heads and "hybrids" in heads, heads


def test_key_numbers_read_in_the_order_of_a_run_report() -> None:
    """Was: a store's key-number tables were sorted by key ("attack rate, births, ferals through a
    wall, hybrids culled, deaths..."); now the run report's key numbers come first, then a
    comparison's metrics, then the rest as they come."""
    import pandas as pd

    from aftermath.report.from_store import _describe_points

    cols = ["attack_rate", "births", "breaches", "culled", "deaths", "initial_humans", "killed_by_policy",
            "concealed", "zzz_new"]
    summaries = pd.DataFrame([{"variant": v, "point": 0, "replicate": i, **{c: float(i) for c in cols}}
                              for v in ("baseline", "cull") for i in range(3)])
    table = _describe_points(summaries)
    want = ["people at the start (humans: S + E + H)", "deaths", "attack rate", "killed by policy",
            "hybrids culled", "concealed", "births", "ferals through a wall (breaches)", "zzz new"]
    assert list(table[table["variant"] == "cull"]["metric"]) == want
    # the ensemble's table (a store's batch of one point) reads in the same order
    page = render_ensemble(pd.DataFrame(columns=["day", "zone", "state", "q05", "q25", "q50", "q75", "q95"]),
                           summaries=summaries[cols], scenario={"name": "x"})
    rows = [html.unescape(r) for r in re.findall(r'<tr><td class="text">([^<]*)</td>', page)]
    assert rows[:len(want)] == want


def test_a_scenario_without_factions_says_it_has_no_official_record() -> None:
    """Was: an empty "official vs true record" table (headers, no rows)."""
    page = render_run(simulate(load("sir"), engine="ode", days=5))
    section = page.split("<h3>official vs true record</h3>", 1)[1]
    assert section.startswith("<p>No factions: no official record to compare.</p>")


def test_the_official_record_names_who_is_left_out_only_where_someone_is() -> None:
    """A row with 0 left out named "crossings refused at its gates (attempts, not people)" all the
    same, as if someone were left out: such a row now says "-"."""
    from aftermath.record.official import official_record

    res = simulate(load("hyosan"), engine="ode", days=60)
    rec = official_record(res)
    assert (rec["left_out"] < 0.5).any() and (rec["left_out"] >= 0.5).any()  # both kinds of row, to read
    section = render_run(res).split("<h3>official vs true record</h3>", 1)[1].split("</table>", 1)[0]
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", r)]
            for r in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)]
    rows = [r for r in rows if r]
    assert len(rows) == len(rec)
    for r, (_, row) in zip(rows, rec.iterrows(), strict=True):
        assert (r[-1] == "-") == (row["left_out"] < 0.5), r


def test_zone_panels_of_a_stored_ensemble_are_named_and_their_day_axis_labelled_once() -> None:
    """A quantile frame (an ensemble read back from the store) has zone ids only: its panels are
    titled with the names of the scenario's stored form, and in a grid the day axis is labelled
    (and numbered) on the lowest panel of each column only, one above an empty place included."""
    from aftermath.report import html as H
    from aftermath.report.ensemble import quantile_frame
    from aftermath.report.plots import plot_zone_curves

    sc = load("hyosan")
    q = quantile_frame([simulate(sc, engine="ode", days=20)])
    stored = json.loads(sc.model_dump_json(by_alias=True))  # as the store keeps it
    names = H._zone_names_of(stored)
    assert names["hidden"] == "The hidden valley" and H._zone_names_of(None) == {}
    fig = plot_zone_curves(q, names=names)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [names[z] for z in q["zone"].unique() if z != "all"]
    assert [ax.get_xlabel() for ax in shown] == [""] * 3 + ["day"] * 3  # six zones: two rows of three
    five = q[q["zone"] != "wild"]
    fig = plot_zone_curves(five, names=names)
    fig.canvas.draw()
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in shown] == ["", "", "day", "day", "day"]  # the third has nothing below
    numbered = [any(t.get_visible() and t.get_text() for t in ax.get_xticklabels()) for ax in shown]
    assert numbered == [False, False, True, True, True]


def test_a_zone_with_no_one_left_shows_no_fear_in_the_report_as_in_the_terminal() -> None:
    """Fear is a people's: a zone where fewer than half a person survives shows none ("—" in the
    report, "-" in the terminal); its number stays in the summary's JSON. Busan read "-" in the
    terminal and 0.0155 in the report."""
    from aftermath.record.vocabulary import zone_fear
    from aftermath.scenario.load import from_dict

    data = load("hyosan").model_dump(by_alias=True)
    city = next(z for z in data["zones"] if z["id"] == "city")
    city["population"] = {"Z": 12000.0}  # no one human in the ruins, and no one walks in
    data["routes"] = [r for r in data["routes"] if "city" not in (r["from"], r["to"])]
    res = simulate(from_dict(data), engine="ode", days=5)
    zones = res.summary()["zones"]
    assert zones["city"]["survivors"] < 0.5 and zones["city"]["fear"] > 0  # afraid, with no one left
    assert zone_fear(zones["city"]) is None and zone_fear(zones["garrison"]) == zones["garrison"]["fear"]
    page = render_run(res)
    table = page.split("zones at the end", 1)[1].split("</table>", 1)[0]
    fear_col = [html.unescape(c) for c in re.findall(r"<th>(.*?)</th>", table)].index("fear at the end")
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
            for r in re.findall(r"<tr>(.*?)</tr>", table) if "<td" in r]
    cells = {r[0]: r for r in rows}
    assert cells["Hyosan city"][fear_col] == "—"
    assert cells["Fort Namsan garrison"][fear_col] != "—"
