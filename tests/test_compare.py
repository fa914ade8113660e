"""compare: policy variants under common random numbers, lives saved against costs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftermath.cli import app
from aftermath.compare import BASELINE, compare, parse_variant, variant_file
from aftermath.scenario.load import ScenarioError
from tests.test_policies import two_zones

runner = CliRunner()


@pytest.mark.parametrize("engine", ["ssa", "abm"])
def test_a_policy_that_never_triggers_saves_exactly_no_lives(engine: str) -> None:
    """Common random numbers: a dormant policy changes nothing, so the paired difference is 0
    in every replicate, while replicates differ among themselves."""
    sc = two_zones([], days=20)
    dormant = {"dormant": {"policies": [{"type": "hybrids", "zones": ["city"], "action": "cull",
                                         "when": "day > 100000"}]}}
    frame, res = compare(sc, dormant, runs=4, engine=engine)
    saved = frame[(frame.variant == "dormant") & (frame.metric == "lives_saved")].iloc[0]
    assert saved["mean"] == 0.0 and saved["lo"] == 0.0 and saved["hi"] == 0.0
    survivors = res.summaries().query("variant == @BASELINE")["survivors"]
    assert survivors.nunique() > 1  # the replicates are not all the same run


def test_closing_the_gate_costs_exclusions_and_is_measured() -> None:
    sc = two_zones([], days=20)
    frame, res = compare(sc, {"closed": {"policies": [{"type": "admission", "zones": ["refuge"], "mode": "closed"}]}},
                         runs=3, engine="ssa")
    by = frame.set_index(["variant", "metric"])["mean"]
    assert by[(BASELINE, "turned_away_attempts")] == 0 and by[("closed", "turned_away_attempts")] > 0
    assert set(res.summaries()["variant"]) == {BASELINE, "closed"}


def test_variant_files_and_specs(tmp_path: Path) -> None:
    base = two_zones([{"type": "seal", "zones": ["city"]}])
    f = tmp_path / "harsh.toml"
    f.write_text('[set]\n"zones.refuge.wall" = 0.9\n[[add_policies]]\ntype = "hybrids"\nzones = ["city"]\n'
                 'action = "cull"\n')
    label, overrides = variant_file(f, base)
    assert label == "harsh" and overrides["zones.refuge.wall"] == 0.9
    assert [p["type"] for p in overrides["policies"]] == ["seal", "hybrids"]
    variants: dict = {}
    parse_variant("walls:zones.refuge.wall=0.8", base, variants)
    parse_variant("walls:pathogen.beta=0.3", base, variants)
    assert variants == {"walls": {"zones.refuge.wall": 0.8, "pathogen.beta": 0.3}}
    with pytest.raises(ScenarioError, match="LABEL:PATH=VALUE"):
        parse_variant("nonsense", base, variants)
    bad = tmp_path / "bad.toml"
    bad.write_text("[sett]\nx = 1\n")
    with pytest.raises(ScenarioError, match="one of the keys"):
        variant_file(bad, base)


def test_compare_command(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["compare", "sir", "--policy", "slower:pathogen.beta=0.2", "--runs", "2",
                              "--days", "30", "--store", str(store), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    metrics = {(r["variant"], r["metric"]) for r in data["comparison"]}
    assert ("slower", "lives_saved") in metrics and (BASELINE, "deaths") in metrics
    bad = runner.invoke(app, ["compare", "sir", "--policy", "x:pathogen.betta=1", "--store", str(store)])
    assert bad.exit_code == 2 and "betta" in bad.output and "Traceback" not in bad.output
    none = runner.invoke(app, ["compare", "sir", "--store", str(store)])
    assert none.exit_code == 2 and "at least one variant" in none.output


def test_a_comparison_against_a_baseline_that_is_not_there_is_refused() -> None:
    """Lives saved are paired against the baseline: one that names no variant is an error, not a
    table without lives saved (found by the calibration/comparison fault audit)."""
    import pandas as pd

    from aftermath.compare import comparison

    runs = pd.DataFrame([{"variant": v, "replicate": r, "survivors": 10.0 + r, "engine": "ode"}
                         for v in ("baseline", "closed") for r in range(2)])
    assert "lives_saved" in set(comparison(runs)["metric"])
    with pytest.raises(ValueError, match="baseline 'base' is not one of the variants"):
        comparison(runs, baseline="base")
