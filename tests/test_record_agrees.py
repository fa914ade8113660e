"""A record that agrees with itself (issue 10, part 3): one test per contradiction the issue found on
Hyosan, each of which failed before the fix, and one that the terminal, ``--json``, the run report,
``compare --report`` and ``report STORE`` agree on every number they share."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import aftermath as am
from aftermath.cli import app
from aftermath.model.flows import Flow
from aftermath.model.policies import PolicyBook
from aftermath.model.society import Society
from aftermath.model.world import State, build_world
from aftermath.report import ensemble as ens
from aftermath.report.html import KEY_NUMBERS, _fmt, render_comparison, render_run, word
from aftermath.scenario.load import from_dict

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def hyosan_ode() -> am.Result:
    return am.simulate(am.load("hyosan"))


def three_zone_faction(policies: list[dict], truces: bool = False, days: int = 20) -> am.Scenario:
    """A faction of three zones beside another faction's zone; society effects off."""
    return from_dict({
        "name": "factions", "run": {"days": days},
        "society": {"fear": {"per_infection": 0.0, "per_death": 0.0, "per_breach": 0.0, "flight": 0.0}},
        "factions": [{"id": "gov", "truces": ["rebels"] if truces else []}, {"id": "rebels"}],
        "zones": [{"id": f"z{i}", "faction": "gov", "population": {"S": 1000}} for i in range(3)]
        + [{"id": "camp", "faction": "rebels", "population": {"S": 500, "Z": 5}}],
        "routes": [{"from": "z0", "to": "camp", "rate": 0.01, "both_ways": True}],
        "policies": policies,
    })


# -- truces: a faction's one-shot decision, on its day ------------------------------------------

def test_a_truce_is_one_decision_counted_on_its_day() -> None:
    """Was: one 'resolved to make the truce' event per zone (three here) and 'never, 0 days'."""
    res = am.simulate(three_zone_faction([{"type": "truce", "faction": "gov", "action": "make",
                                           "other": "rebels", "when": "day >= 5", "name": "peace"}]))
    events = [e for e in res.chronicle if "truce" in e.kind or "truce" in e.text]
    assert [(e.day, e.kind) for e in events] == [(5, "truce_made")]
    assert "peace" in events[0].text
    (policy,) = res.summary()["factions"]["gov"]
    assert (policy["days_acted"], policy["first_day_acted"]) == (1, 5)
    assert res.truce[6, 0, 1] and not res.truce[5, 0, 1]  # in force from day 5 (time 6)


def test_hyosan_truce_table_agrees_with_the_chronicle(hyosan_ode: am.Result) -> None:
    """Was: the table said 'government ends the truce: never, 0 days' beside 'Day 136: government
    broke the truce'."""
    broke = [e for e in hyosan_ode.chronicle if e.kind == "truce_broken"]
    assert len(broke) == 1 and "government ends the truce" in broke[0].text
    row = next(p for p in hyosan_ode.summary()["factions"]["government"] if p["type"] == "truce")
    assert row["first_day_acted"] == broke[0].day and row["days_acted"] == 1


def test_a_truce_decision_that_would_change_nothing_is_not_taken() -> None:
    """Breaking a truce there is none of is no decision: no event, no day acted, and the policy waits."""
    res = am.simulate(three_zone_faction([{"type": "truce", "faction": "gov", "action": "break",
                                           "other": "rebels", "when": "true"}], truces=False))
    assert not [e for e in res.chronicle if "truce" in e.kind]
    assert res.summary()["factions"]["gov"][0]["days_acted"] == 0


# -- a policy is active only on the days it acted -------------------------------------------------

def test_reopen_that_never_reopens_never_acted(hyosan_ode: am.Result) -> None:
    """Was: 'reopen the quarantine' shown active 365 days while the quarantine stayed sealed."""
    q = hyosan_ode.zone_ids.index("quarantine")
    assert hyosan_ode.sealed[:, q].all()
    rows = {p["policy"]: p for items in hyosan_ode.summary()["factions"].values() for p in items}
    assert rows["reopen the quarantine"]["days_acted"] == 0
    assert rows["reopen the quarantine"]["first_day_acted"] is None
    assert rows["seal the quarantine"]["days_acted"] == hyosan_ode.days
    sweeps = [e.day for e in hyosan_ode.chronicle if e.kind == "policy_sweep"]
    assert rows["sweep the city"]["days_acted"] == len(sweeps)  # the days it swept, not the days it waited


def test_reopen_acts_on_the_day_it_lifts_the_seal() -> None:
    sc = three_zone_faction([{"type": "seal", "zones": ["z1"]}, {"type": "reopen", "zones": ["z1"], "calm_days": 3}])
    res = am.simulate(sc)
    reopened = [e.day for e in res.chronicle if e.kind == "policy_reopen"]
    assert reopened == [3]
    assert np.flatnonzero(res.policy_acted[:, 1, 1]).tolist() == reopened
    assert res.sealed[:3, 1].all() and not res.sealed[3:, 1].any()


# -- one headcount --------------------------------------------------------------------------------

def test_one_headcount_everywhere(hyosan_ode: am.Result) -> None:
    """Was: `scenarios` and `check` said 52,240 people (every body), `run` said 35,260."""
    sc = am.load("hyosan")
    people = sc.initial_humans()
    at_start = hyosan_ode.counts[0][:, [State.S, State.E, State.H]].sum()
    assert people == hyosan_ode.summary()["initial_humans"] == at_start
    text = f"{people:,.0f}"
    for args in (["scenarios"], ["check", "hyosan"], ["run", "--days", "2"]):
        out = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert out.exit_code == 0, out.output
        assert text in out.output and f"{sc.initial_population():,.0f}" not in out.output, args


# -- peaks that say something ---------------------------------------------------------------------

def test_peak_ferals_is_not_the_day0_count(hyosan_ode: am.Result) -> None:
    """Was: peak_ferals and peak_day were the day-0 count and 0 in every run of Hyosan."""
    s = hyosan_ode.summary()
    z = hyosan_ode.total("Z")
    assert s["ferals_at_start"] == z[0]
    assert s["peak_ferals"] < z[0] and s["peak_ferals_day"] > 0
    t = s["peak_ferals_day"] + 1  # the end of that day
    assert s["peak_ferals"] == z[t] and z[t] > z[1:t].min()  # the top of a rise, after a low
    assert s["peak_day"] == s["peak_ferals_day"]  # the old key, same meaning as its new name


def test_peaks_of_an_outbreak_and_of_a_decline() -> None:
    from aftermath.record.measures import peak_after_low

    sir = am.simulate(am.load("sir"))
    z = sir.total("Z")
    assert sir.summary()["peak_ferals"] == z.max()  # an outbreak from a few cases: the ordinary maximum
    assert peak_after_low(np.array([10.0, 8.0, 5.0, 1.0])) == (None, None)  # only falling: no peak
    assert peak_after_low(np.array([10.0, 2.0, 4.0, 3.0])) == (4.0, 1)
    assert peak_after_low(np.array([10.0, 0.1, 0.3, 0.2])) == (None, None)  # a rise under half a person
    assert peak_after_low(np.array([10.0, 0.1, 0.6, 0.2])) == (0.6, 1)
    from aftermath.scenario.load import with_overrides

    # Munz's zombies destroyed fast: the ODE's count creeps back up by a millionth of one (corpses rising)
    crushed = am.simulate(with_overrides(am.load("munz-basic"), {"defence.alpha": 0.02})).summary()
    assert crushed["peak_ferals"] is None and crushed["peak_ferals_day"] is None, crushed["peak_ferals"]


# -- one comparison, no double counting -----------------------------------------------------------

@pytest.fixture(scope="module")
def abm_variants() -> dict[str, list[am.Result]]:
    base = am.load("hyosan")
    cull = am.scenario.load.with_overrides(base, {"policies.5.action": "cull"})
    return {v: [am.simulate(sc, engine="abm", seed=s, days=20) for s in (1, 2)]
            for v, sc in (("baseline", base), ("cull", cull))}


def test_one_comparison_without_double_counting(abm_variants: dict[str, list[am.Result]]) -> None:
    """Was: the report's comparison dropped sacrificed and concealed, built a duplicate 'culled' row
    from the ABM ledger (render_comparison raised), and its figure added overlapping counts."""
    from aftermath.compare import METRIC, comparison

    frame = ens.comparison_frame(abm_variants, "baseline")
    assert not frame.duplicated(["variant", "metric"]).any()
    assert {"sacrificed", "concealed", "people_turned_away", "killed_by_policy"} <= set(frame["metric"])
    assert set(frame["metric"]) <= set(METRIC)
    assert set(frame["engine"]) == {"abm"}
    page = render_comparison(frame)  # raised on the duplicate row
    assert "killed by policy" in page and "abm" in page
    by = frame.set_index(["variant", "metric"])["mean"]
    for v in abm_variants:
        assert by[(v, "killed_by_policy")] == pytest.approx(by[(v, "culled")] + by[(v, "hybrids_swept")])
        assert by[(v, "killed_by_policy")] <= by[(v, "deaths")] <= by[(v, "survivors")] + by[(v, "deaths")]
    # the same function as compare's: summaries as the store keeps them (JSON) give the same frame
    stored = pd.DataFrame([{"variant": v, "replicate": i, "summary": json.dumps(r.summary())}
                           for v, runs in abm_variants.items() for i, r in enumerate(runs)])
    pd.testing.assert_frame_equal(comparison(stored, "baseline"), frame)


def test_every_metric_is_documented_once() -> None:
    from aftermath.compare import METRIC, METRICS

    doc = (DOCS / "report.md").read_text(encoding="utf-8").split("### Comparison metrics", 1)[1]
    for m in METRICS:
        assert doc.count(f"| `{m.name}` | {m.meaning} |") == 1, m.name
        assert m.part_of is None or m.part_of in METRIC


def test_every_summary_key_is_documented(abm_variants: dict[str, list[am.Result]]) -> None:
    """Every key of an (ABM) run's summary, its zones' and its ledger's, is defined in "The record"."""
    doc = (DOCS / "report.md").read_text(encoding="utf-8").split("## The record", 1)[1]
    s = abm_variants["baseline"][0].summary()
    keys = {*s, *next(iter(s["zones"].values())), *s["ledger"], "days_acted", "first_day_acted"}
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert not missing, f"docs/report.md does not define {missing}"


# -- the run's engine, seed and variant in every report -------------------------------------------

def test_run_report_parameters_are_the_runs() -> None:
    """Was: Parameters showed engine "ode", seed 0 (the file's) for an ABM run with seed 7."""
    res = am.simulate(am.load("hyosan"), engine="abm", seed=7, days=3)
    res.variant = "zones.school.wall=0.95"
    page = html.unescape(render_run(res))
    params = page[page.index("scenario (JSON)"):]
    assert '"engine": "abm"' in params and '"seed": 7' in params and '"days": 3' in params
    assert '"engine": "ode"' not in params and '"seed": 0,' not in params
    assert "agent-based engine, seed 7, 3 days, variant: zones.school.wall=0.95" in page


# -- excluded: attempts, not people ---------------------------------------------------------------

def test_turned_away_names_say_what_they_count(abm_variants: dict[str, list[am.Result]]) -> None:
    """Was: the summary's `excluded` counted attempts at the gate, the ledger's `excluded` people."""
    r = abm_variants["baseline"][0]
    s = r.summary()
    assert s["turned_away_attempts"] == r.flows[:, Flow.EXCLUDED].sum() > 0
    assert "excluded" not in s["ledger"] and 0 < s["ledger"]["people_turned_away"] <= s["turned_away_attempts"]
    assert s["excluded"] == s["turned_away_attempts"]  # the old key: a copy, same meaning
    doc = (DOCS / "report.md").read_text(encoding="utf-8")
    assert "| `turned_away_attempts` | crossings refused at a gate: attempts, not people" in doc


# -- one meaning of "humans" ----------------------------------------------------------------------

def test_humans_means_s_e_h_everywhere(hyosan_ode: am.Result) -> None:
    """Was: S + E in conditions, S in the summary, S + E + H in survivors and the chronicle."""
    world = build_world(am.load("hyosan"))
    env = Society(world).indicators(0, world.counts0)
    c = world.counts0
    for z in range(world.n_zones):
        assert env[z]["humans"] == c[z, State.S] + c[z, State.E] + c[z, State.H]
    s = hyosan_ode.summary()
    c1 = hyosan_ode.counts[-1]
    assert "humans" not in s and s["susceptible"] == c1[:, State.S].sum()
    assert s["survivors"] == pytest.approx(s["susceptible"] + s["latent"] + s["hybrids"])
    assert s["initial_humans"] == hyosan_ode.counts[0][:, [State.S, State.E, State.H]].sum()
    PolicyBook(world).decide(0, env)  # the extra truce keys do not disturb the book


# -- part 5: say which engine a figure comes from -------------------------------------------------

def test_the_ode_is_not_called_the_reference() -> None:
    for page in ("scenario.md", "model.md", "report.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        assert not re.search(r"`ode`[^|\n]*the reference", text), page
    assert "## What the ODE is" in (DOCS / "model.md").read_text(encoding="utf-8")


# -- everything agrees ----------------------------------------------------------------------------

def _cells(page: str, heading: str) -> list[str]:
    """The text of every table cell of a report's section."""
    body = page.split(f"<h2>{heading}</h2>", 1)[1].split("</section>", 1)[0]
    return [html.unescape(re.sub("<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body)]


def test_run_run_report_compare_report_and_store_report_agree(tmp_path: Path) -> None:
    """`aftermath run --json`, `run --engine abm --report`, `compare --report` and `report STORE` on
    Hyosan: the same run (engine, seed) gives the same numbers in each."""
    store, days = tmp_path / "c.duckdb", "30"
    out = runner.invoke(app, ["compare", "hyosan", "--policy", "cull:policies.5.action=cull", "--runs", "1",
                              "--days", days, "--store", str(store), "--report", str(tmp_path / "c.html"), "--json"])
    assert out.exit_code == 0, out.output
    cmp = pd.DataFrame(json.loads(out.output)["comparison"])
    from aftermath.store.store import Store

    with Store(store, read_only=True) as st:
        summaries = st.summaries()
        base = summaries[summaries["variant"] == "baseline"].iloc[0]
        stored = json.loads(base["summary"])
        seed = int(base["seed"])
    out = runner.invoke(app, ["report", str(store), "-o", str(tmp_path / "s.html")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["run", "hyosan", "--engine", "abm", "--seed", str(seed), "--days", days, "--json",
                              "--report", str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    run = json.loads(out.output)

    # the run as `run` gave it and as the store kept it: every number the same
    assert run == stored
    # the comparison (terminal/--json of compare): the baseline's one replicate is that run
    mean = cmp[cmp["variant"] == "baseline"].set_index("metric")["mean"]
    for m, v in mean.items():
        if m == "lives_saved":
            assert v == 0.0
        else:
            assert v == pytest.approx(run.get(m, run.get("ledger", {}).get(m)), abs=1e-9), m
    # the run report shows the run's numbers
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    keys = _cells(page.replace("</b>", "</b></td>").replace('<div class="key"><b>', "<td>"), "Summary")
    for key, _label in KEY_NUMBERS:
        assert _fmt(run[key], 0) in keys, key
    # compare --report and report STORE: the same tables, cell for cell
    c_page = (tmp_path / "c.html").read_text(encoding="utf-8")
    s_page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert _cells(c_page, "Table") == _cells(s_page, "Table")
    assert _cells(c_page, "Key numbers per point") == _cells(s_page, "Key numbers per point")
    table = _cells(s_page, "Table")
    for m in ("survivors", "deaths", "killed_by_policy", "sacrificed"):
        assert f"{mean[m]:,.0f} [{mean[m]:,.0f}, {mean[m]:,.0f}]" in table, m
    # the store report's key numbers per point: the baseline's median is that run
    points = _cells(s_page, "Key numbers per point")
    rows = [points[i:i + 5] for i in range(0, len(points), 5)]
    base_rows = {r[1]: r[3] for r in rows if r[0] == "baseline"}  # the metric in words: word(key)
    for key in ("survivors", "deaths", "turned_away_attempts", "peak_ferals", "initial_humans"):
        assert base_rows[word(key)] == _fmt(float(run[key]), 0), key
    assert "turned_away_attempts" not in base_rows  # the keys stay in the store, not in the table
    assert "every figure from the agent-based engine" in s_page and "agent-based engine" in page
    assert "baseline: baseline (recorded)" in s_page  # read from the batch, not guessed from labels
