"""Teaching tools, part two: `aftermath show`, policies by name, `--version`, tables at 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import aftermath as am
from aftermath.cli import app
from aftermath.scenario.load import ScenarioError, builtin_names, parse_toml, split_path, with_overrides

runner = CliRunner()


def _run(*args: str, columns: int = 80) -> tuple[int, str]:
    res = runner.invoke(app, list(args), env={"COLUMNS": str(columns)})
    return res.exit_code, res.output


@pytest.mark.parametrize("name", builtin_names())
def test_show_prints_toml_that_reads_back_as_the_same_scenario(name: str) -> None:
    code, out = _run("show", name)
    assert code == 0
    assert parse_toml(out, source="shown") == am.load(name)
    assert "# bite rate per feral per day" in out  # comments from the schema
    assert "[per day; 0 to 1000]" in out  # unit and bounds


def test_show_applies_sets_and_comments_every_run_key() -> None:
    code, out = _run("show", "sir", "--set", "pathogen.beta=0.3")
    assert code == 0 and parse_toml(out).pathogen.beta == 0.3
    run_block = out.split("[run]")[1].split("\n[")[0]
    assert "days = 300" in run_block and "# days simulated [days; 1 to 100_000]" in run_block


def test_policies_are_listed_with_their_paths() -> None:
    code, out = _run("show", "hyosan", "--policies", "--json")
    rows = json.loads(out)
    sc = am.load("hyosan")
    assert code == 0 and len(rows) == len(sc.policies)
    for i, r in enumerate(rows):
        assert r["path"] == f"policies.{i}" and r["name"] == sc.policies[i].name
        assert r["path_by_name"] == f'policies."{sc.policies[i].name}"'
    code, out = _run("show", "hyosan", "--policies")
    assert code == 0 and 'policies."cull hybrids when afraid"' in out
    assert max(len(line) for line in out.splitlines()[1:-1]) <= 80
    # where each applies: the names to read, the ids (what a scenario's `zones` takes) beside them
    assert "applies to Eastern quarantine district (quarantine)" in out
    assert "applies to the zones of the Provisional Government (government)" in out


def test_a_policy_is_addressed_by_name_as_by_index() -> None:
    sc = am.load("hyosan")
    i = next(k for k, p in enumerate(sc.policies) if p.name == "cull hybrids when afraid")
    by_name = with_overrides(sc, {'policies."cull hybrids when afraid".action': "cull"})
    by_index = with_overrides(sc, {f"policies.{i}.action": "cull"})
    assert by_name == by_index and by_name.policies[i].action == "cull"  # type: ignore[union-attr]
    assert with_overrides(sc, {"policies.sweep the city.kill": 0.3}).policies[7].kill == 0.3  # type: ignore[union-attr]
    assert split_path('policies."a.b".kill') == [("policies", False), ("a.b", True), ("kill", False)]


def test_an_unknown_policy_name_is_exit_2_naming_the_names() -> None:
    code, out = _run("run", "hyosan", "--set", 'policies."cull everyone".action=cull')
    assert code == 2
    assert "cull everyone" in out and "cull hybrids when afraid" in out and "Traceback" not in out
    with pytest.raises(ScenarioError, match="closing double quote"):
        with_overrides(am.load("hyosan"), {'policies."sweep.kill': 0.3})


def test_version() -> None:
    code, out = _run("--version")
    assert code == 0 and out.strip() == f"aftermath {am.__version__}"


def test_overlay_puts_engines_in_one_table_and_one_figure() -> None:
    from aftermath.teach.overlay import overlay

    o = overlay(["sir"], engines=["ode", "ssa"], runs=3, days=60)
    t = o.table()
    assert list(t["curve"]) == ["ode", "ssa"] and list(t["runs"]) == [1, 3]
    ode = am.simulate(am.load("sir"), engine="ode", days=60).summary()
    assert t.loc[0, "peak"] == ode["peak_ferals"] and t.loc[0, "attack_rate"] == ode["attack_rate"]
    ssa = [am.simulate(am.load("sir"), engine="ssa", days=60, seed=i).summary()["survivors"] for i in range(3)]
    assert t.loc[1, "survivors"] == pytest.approx(sum(ssa) / 3)  # replicate i has seed i
    fig = o.plot()
    panels = [a for a in fig.axes if a.get_visible()]
    assert [a.get_title() for a in panels] == ["S: susceptible", "I: infectious", "R: recovered/removed"]
    assert all(len(a.get_lines()) == 2 for a in panels)
    # the ODE's one line lies over the SSA's median and band, dashed, so that agreeing does not hide it
    ode_line = next(ln for ln in panels[1].get_lines() if ln.get_label() == "ode")
    assert ode_line.get_zorder() > max(c.get_zorder() for c in panels[1].collections)
    assert ode_line.get_linestyle() == "--"


def test_overlay_variants_share_seeds_and_a_dormant_one_changes_nothing() -> None:
    from aftermath.teach.overlay import overlay

    o = overlay(["sir"], engines=["ssa"], runs=2, days=40,
                variants={"dormant": {"policies": [{"type": "cure", "zones": ["town"], "when": "day > 1000"}]},
                          "faster": {"pathogen.beta": 0.4}})
    t = o.table().set_index("curve")
    assert t.loc["dormant", "survivors"] == t.loc["baseline", "survivors"]
    assert t.loc["faster", "attack_rate"] > t.loc["baseline", "attack_rate"]


def test_overlay_cli_fits_80_columns_and_refuses_bad_input(tmp_path: Path) -> None:
    code, out = _run("overlay", "sir", "munz-basic", "--days", "10", "--plot", str(tmp_path / "o.png"))
    assert code == 0 and (tmp_path / "o.png").stat().st_size > 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "humans" in out  # different vocabularies: the common words
    code, out = _run("overlay", "sir", "--engine", "ode,gillespie")
    assert code == 2 and "--engine" in out and "gillespie" in out
    code, out = _run("overlay", "hyosan", "-V", 'x:policies."nobody".action=cull')
    assert code == 2 and "cull hybrids when afraid" in out


@pytest.mark.parametrize(("args", "words"), [
    (["overlay", "sir", "--engine", ""], "--engine: got ''"),
    (["overlay", "sir", "--engine", ","], "--engine: got ','"),
    (["overlay", "sir", "--variant", "bad"], "--variant: got 'bad'"),  # the flag used, not compare's --policy
    (["overlay", "sir", "-V", "a:pathogen.beta=0.3", "-V", "a:pathogen.beta=0.4"], "--variant a:"),
    (["overlay", ""], "scenario: got ''"),
    (["show", ""], "scenario: got ''"),
    (["show", "hyosan", "--json"], "--json: given without --policies"),
])
def test_overlay_and_show_refuse_empty_and_ambiguous_input(args: list[str], words: str) -> None:
    code, out = _run(*args, columns=200)
    assert code == 2 and out.startswith("error: ") and out.count("\n") == 1, out
    assert words in out


def test_a_label_sets_several_paths_but_each_once() -> None:
    from aftermath.compare import parse_variant

    base = am.load("sir")
    variants: dict[str, dict[str, object]] = {}
    parse_variant("a:pathogen.beta=0.3", base, variants, flag="--variant")
    parse_variant("a:run.days=20", base, variants, flag="--variant")
    assert variants == {"a": {"pathogen.beta": 0.3, "run.days": 20}}
    with pytest.raises(ScenarioError, match=r"^--variant a: got 'a:pathogen.beta=0.4'.*pathogen.beta set once"):
        parse_variant("a:pathogen.beta=0.4", base, variants, flag="--variant")
    assert variants["a"]["pathogen.beta"] == 0.3


def _widest(out: str) -> int:
    return max((len(line) for line in out.splitlines()), default=0)


def test_blocks_fit_and_keep_every_column_once() -> None:
    from aftermath.report.columns import blocks

    widths = [5, 13, 4, 9, 6, 11, 11, 11, 14, 9, 12, 11, 14]
    parts = blocks(widths, keys=2, width=60)
    assert len(parts) > 1 and all(p[:2] == [0, 1] for p in parts)
    assert sorted(i for p in parts for i in p[2:]) == list(range(2, len(widths)))
    assert all(2 + sum(widths[i] + 3 for i in p) <= 60 for p in parts)
    assert blocks(widths, keys=2, width=1000) == [list(range(len(widths)))]


def test_tables_fit_80_columns_and_wide_prints_them_whole(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    code, out = _run("run", "hyosan", "--days", "30")
    assert code == 0 and _widest(out) <= 80
    code, out = _run("validate", "--check", "munz.conservation", "--check", "eradication.succeeds")
    assert code == 0 and _widest(out) <= 80 and "pass" in out
    code, out = _run("sweep", "sir", "--param", "pathogen.beta=0.2:0.3:2", "--param", "defence.decay=0.1,0.2",
                     "--days", "20", "--store", store)  # two parameters: too wide for one table
    assert code == 0 and _widest(out) <= 80 and "(continued)" in out and "attack" in out
    code, out = _run("compare", "sir", "--engine", "ssa", "--runs", "2", "--days", "20", "--store", store,
                     "--policy", "fast:pathogen.beta=0.3", "--policy", "slow:pathogen.beta=0.2",
                     "--policy", "slower:pathogen.beta=0.15")
    assert code == 0 and _widest(out) <= 80 and "slower" in out
    sql = "select * from summaries limit 3"
    code, out = _run("query", sql, "--store", store)
    assert code == 0 and _widest(out) <= 80
    code, wide = _run("query", sql, "--store", store, "--wide")
    assert code == 0 and _widest(wide) > 80 and "(continued)" not in wide
    header = next(line for line in wide.splitlines() if "run_id" in line)
    assert "attack_rate" in header  # one table: every column on the header's line
