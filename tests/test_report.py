"""The HTML report: self-contained (no URL of any kind), complete, and quick for a big store."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from aftermath.api import load, simulate
from aftermath.report import ensemble as ens
from aftermath.report.html import render_comparison, render_ensemble, render_sweep, write_report

DAYS = 15


def assert_self_contained(text: str) -> None:
    assert not re.search(r"https?://", text), "an absolute URL"
    assert not re.search(r"""(src|href)\s*=\s*["']//""", text), "a protocol-relative URL"
    assert not re.search(r"<(script|link)\b", text), "external-capable script or link tags"
    srcs = re.findall(r"""<img[^>]*\ssrc\s*=\s*["']([^"']*)["']""", text)
    assert srcs, "no figures"
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "not drawn" not in text, "a figure failed"


@pytest.fixture(scope="module")
def run():
    return simulate(load("hyosan"), engine="ode", days=DAYS)


def test_run_report_is_self_contained_and_complete(run, tmp_path):
    path = write_report(run, tmp_path / "run.html")
    text = path.read_text(encoding="utf-8")
    assert_self_contained(text)
    for heading in ("Summary", "Figures", "Chronicle", "Ledger and the official record", "Policies", "Parameters"):
        assert f"<h2>{heading}</h2>" in text
    assert len(re.findall(r"<img ", text)) >= 4
    assert "&quot;beta&quot;: 0.3" in text  # the parameters as used
    assert "screen at the garrison gate" in text  # policies
    assert run.chronicle[0].text.split("(")[0].strip() in text


def test_ensemble_report_from_runs_and_from_quantiles(run):
    runs = [run, simulate(load("hyosan", pathogen__beta=0.4), engine="ode", days=DAYS)]
    text = render_ensemble(runs)
    assert_self_contained(text)
    assert "key numbers across runs" in text and "Chronicle across runs" in text
    text_q = render_ensemble(ens.quantile_frame(runs), title="from quantiles")
    assert_self_contained(text_q)


def test_comparison_and_sweep_reports():
    df = pd.DataFrame({"variant": ["a", "a", "b", "b"], "metric": ["lives_saved", "culled"] * 2,
                       "mean": [0.0, 3.0, 12.0, 40.0], "lo": [0.0, 2, 5, 30], "hi": [0.0, 4, 20, 50]})
    text = render_comparison(df)
    assert_self_contained(text)
    assert "12 [5, 20]" in text
    pts = pd.DataFrame({"pathogen.beta": [0.2, 0.2, 0.4, 0.4], "survivors": [10.0, 12, 5, 6], "deaths": [1.0, 2, 3, 4]})
    text = render_sweep(pts, ["pathogen.beta"])
    assert_self_contained(text)


def test_write_report_refuses_what_it_cannot_show(tmp_path):
    with pytest.raises(TypeError, match="cannot make a report"):
        write_report(42, tmp_path / "x.html")


def _store_of(path, runs: int, days: int):
    """A store with a batch of ``runs`` runs, written straight from a few ODE results."""
    from aftermath.store.records import RunRecord, canonical_json, record_from_result, scenario_hash
    from aftermath.store.store import Store

    base = load("hyosan")
    results = [simulate(load("hyosan", pathogen__beta=0.2 + 0.04 * i), engine="ode", days=days) for i in range(4)]
    st = Store(path)
    st.add_batch({"batch_id": "b1000", "kind": "ensemble", "scenario": base.name, "scenario_hash": scenario_hash(base),
                  "engine": "ode", "master_seed": 0, "runs": runs, "days": days, "points": 1,
                  "spec": canonical_json({"points": [["base", {}]]})})
    meta = {"batch_id": "b1000", "point": 0, "variant": "base", "overrides": "{}", "scenario": base.name,
            "scenario_hash": scenario_hash(base), "engine": "ode"}
    # one record per distinct result; replicates share its (read-only) tables
    made = [record_from_result(res, {**meta, "replicate": 0, "seed": 0}) for res in results]
    records = [RunRecord({**made[r % 4].meta, "replicate": r, "seed": r}, made[r % 4].tables, made[r % 4].summary)
               for r in range(runs)]
    for i in range(0, runs, 250):
        st.write(records[i : i + 250])
    return st


def test_a_thousand_run_store_reports_in_seconds(tmp_path):
    from aftermath.report.from_store import render_store

    st = _store_of(tmp_path / "big.duckdb", runs=1000, days=DAYS)
    try:
        t0 = time.perf_counter()
        text = render_store(st)
        elapsed = time.perf_counter() - t0
    finally:
        st.close()
    assert_self_contained(text)
    assert "1,000" in text
    # about 1 s on a 2-core machine (1.8 s for 1,000 runs of 365 days); generous for slow CI
    assert elapsed < 15.0, f"{elapsed:.1f} s"


def test_cli_report_of_a_scenario_and_of_a_store(tmp_path):
    from aftermath.cli import app

    cli = CliRunner()
    out = tmp_path / "sir.html"
    res = cli.invoke(app, ["report", "sir", "--days", "10", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert_self_contained(out.read_text(encoding="utf-8"))
    _store_of(tmp_path / "s.duckdb", runs=3, days=5).close()
    out2 = tmp_path / "store.html"
    res = cli.invoke(app, ["report", str(tmp_path / "s.duckdb"), "-o", str(out2)])
    assert res.exit_code == 0, res.output
    assert_self_contained(out2.read_text(encoding="utf-8"))


def test_cli_run_report_option(tmp_path):
    from aftermath.cli import app

    out = tmp_path / "run.html"
    res = CliRunner().invoke(app, ["run", "sir", "--days", "10", "--report", str(out)])
    assert res.exit_code == 0, res.output
    assert_self_contained(out.read_text(encoding="utf-8"))


def test_store_comparison_and_sweep_batches(tmp_path):
    """A batch of several points reports as a comparison (labels) or a sweep (numeric overrides)."""
    from aftermath.report.from_store import render_store
    from aftermath.store.records import canonical_json, record_from_result, scenario_hash
    from aftermath.store.store import Store

    base = load("hyosan")
    h = scenario_hash(base)
    st = Store(tmp_path / "cmp.duckdb")
    for kind, points in (("compare", [("baseline", {}), ("open gate", {"policies.3.mode": "open"})]),
                         ("sweep", [("b0.2", {"pathogen.beta": 0.2}), ("b0.4", {"pathogen.beta": 0.4})])):
        bid = f"{kind}-batch"
        st.add_batch({"batch_id": bid, "kind": kind, "scenario": base.name, "scenario_hash": h, "engine": "ode",
                      "master_seed": 0, "runs": 2, "days": 5, "points": 2,
                      "spec": canonical_json({"points": [list(p) for p in points]})})
        recs = []
        for i, (label, ov) in enumerate(points):
            res = simulate(load("hyosan", **{k.replace(".", "__"): v for k, v in ov.items()}), engine="ode", days=5)
            for r in range(2):
                recs.append(record_from_result(res, {
                    "batch_id": bid, "point": i, "variant": label, "overrides": canonical_json(ov), "replicate": r,
                    "seed": r, "scenario": base.name, "scenario_hash": h, "engine": "ode"}))
        st.write(recs)
    try:
        cmp = render_store(st, "compare")
        sweep = render_store(st, "sweep")
    finally:
        st.close()
    assert_self_contained(cmp)
    assert "Lives saved and what they cost" in cmp and "baseline: baseline" in cmp
    assert_self_contained(sweep)
    assert "against pathogen.beta" in sweep


def test_an_sir_sweeps_report_shows_its_own_outcomes(tmp_path):
    """A sweep of the SIR limit (no deaths: R holds everyone removed) is drawn as the terminal
    shows it: S at the end and the attack rate, not survivors and a flat line of deaths; its key
    numbers leave out what the limit has no mechanism for (sweeps, culls, gates: zeros in every
    run), but keeps the epidemic's own numbers at zero (a subcritical epidemic's most infections
    come on day 0: an answer). Hyosan's sweep keeps survivors and deaths."""
    from aftermath.report.from_store import render_store
    from aftermath.run.sweep import sweep
    from aftermath.store.store import Store

    for name, betas, wanted, unwanted in (
            ("sir", [0.01, 0.05], ("susceptible at the end (S), attack rate", "day of the most infections"),
             ("killed in sweeps",)),
            ("hyosan", [0.2, 0.4], ("survivors (humans at the end), deaths against",), ())):
        db = tmp_path / f"{name}.duckdb"
        sweep(name, {"pathogen.beta": betas}, runs=1, engine="ode", days=30, store=db)
        st = Store(db)
        try:
            page = render_store(st)
        finally:
            st.close()
        assert_self_contained(page)
        for text in wanted:
            assert text in page, (name, text)
        for text in unwanted:
            assert text not in page, (name, text)
