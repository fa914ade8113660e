"""The command line: the main job, JSON output, and bad input (exit 2, one clear line, no traceback)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftermath.cli import app

runner = CliRunner()


def test_run_default_scenario_reads_well() -> None:
    res = runner.invoke(app, ["run", "--days", "60"])
    assert res.exit_code == 0, res.output
    assert "hyosan" in res.output.lower() or "Hyosan" in res.output
    for phrase in ("are alive", "Ferals numbered", "zones at the end", "what each faction did"):
        assert phrase in res.output


def test_run_json_has_attack_rate_and_matches_sir() -> None:
    res = runner.invoke(app, ["run", "sir", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    for key in ("survivors", "deaths", "peak_ferals", "peak_day", "attack_rate", "factions", "zones"):
        assert key in data
    # R0 = 2.5 with one feral per 10,000: the final size is close to the closed form 0.8926
    assert data["attack_rate"] == pytest.approx(0.8926, abs=2e-3)


def test_set_override_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "fig.png"
    res = runner.invoke(app, ["run", "sir", "--set", "pathogen.beta=0.15", "--json", "--plot", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["attack_rate"] == pytest.approx(0.5828, abs=5e-3)
    assert out.stat().st_size > 10_000


def test_scenarios_lists_builtins() -> None:
    res = runner.invoke(app, ["scenarios"])
    assert res.exit_code == 0
    for name in ("hyosan", "sir", "munz-basic", "alemi-mixed"):
        assert name in res.output


def test_check_accepts_a_valid_file(tmp_path: Path) -> None:
    f = tmp_path / "ok.toml"
    f.write_text('[[zones]]\nid = "a"\npopulation = { S = 10, Z = 1 }\n')
    res = runner.invoke(app, ["check", str(f)])
    assert res.exit_code == 0 and "ok" in res.output


#: a zone with someone in it (a scenario with nobody is refused before anything else is checked)
ZONE_A = '[[zones]]\nid = "a"\npopulation = { S = 10 }\n'
BAD = {
    "typo": ('[pathogen]\nbetta = 0.3\n' + ZONE_A, ["pathogen.betta", "unknown key"]),
    "wrong_type": ('[run]\ndays = "many"\n' + ZONE_A, ["run.days", "'many'", "integer"]),
    "negative_rate": ('[pathogen]\nbeta = -1.0\n' + ZONE_A, ["pathogen.beta", "-1.0", ">= 0"]),
    "unknown_zone": (ZONE_A + '[[routes]]\nfrom = "a"\nto = "nowhere"\nrate = 0.1\n',
                     ["routes.0.to", "'nowhere'", "one of the zones"]),
    "missing_faction": (ZONE_A + '[[policies]]\ntype = "seal"\nfaction = "ghosts"\n',
                        ["policies.0.faction", "'ghosts'", "one of the factions"]),
    "bad_condition": (ZONE_A + '[[policies]]\ntype = "seal"\nzones = ["a"]\nwhen = "fear >"\n',
                      ["policies.0", "when", "fear >"]),
    "invalid_toml": ('[[zones]\nid = "a"\n', ["valid TOML"]),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_input_exits_2_with_one_clear_message(kind: str, tmp_path: Path) -> None:
    text, needles = BAD[kind]
    f = tmp_path / f"{kind}.toml"
    f.write_text(text)
    for command in (["check", str(f)], ["run", str(f)]):
        res = runner.invoke(app, command)
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output
        assert str(f) in res.output
        for needle in needles:
            assert needle in res.output, (needle, res.output)


def test_missing_file_and_bad_engine(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2 and "no such file" in res.output
    res = runner.invoke(app, ["run", "sir", "--engine", "warp"])
    assert res.exit_code == 2 and "--engine" in res.output and "'warp'" in res.output
    assert "expected one of 'ode', 'ssa' or 'abm'" in res.output
    res = runner.invoke(app, ["run", "sir", "--set", "pathogen.beta"])
    assert res.exit_code == 2 and "PATH=VALUE" in res.output


def test_the_scenario_list_says_what_each_is_in_a_whole_phrase() -> None:
    """`aftermath scenarios` shows each description's first sentence, not cut at "et al." or inside
    brackets, and when too long, up to a clause break with an ellipsis."""
    from aftermath.cli import blurb
    from aftermath.scenario.load import builtin_names, load

    for name in builtin_names():
        b = blurb(load(name).description)
        assert len(b) <= 90 and not b.endswith((" al", " al.")), (name, b)
        assert b.count("(") == b.count(")") and b.count('"') % 2 == 0, (name, b)
    assert blurb("Munz et al. (2009) is the model. More.") == "Munz et al. (2009) is the model"
    assert blurb("Short. More.") == "Short"
    assert blurb("a, b (c, d, e " + "f " * 60 + ")") == "a, b…"  # no break outside the brackets late enough
    assert blurb("Step 1) do this. Then that.") == "Step 1) do this"  # a stray bracket
    assert blurb("Is it safe? Nobody knows.") == "Is it safe?"
    assert blurb("The answer is no. Then more.") == "The answer is no"
    assert blurb("Room no. 5 is sealed. More.") == "Room no. 5 is sealed"
    long = "Word " * 10 + "x, " + "y " * 40
    assert blurb(long).startswith("Word Word") and len(blurb(long)) > 45  # not at the early comma


def test_help_shows_no_value_after_a_flag() -> None:
    """A flag (``--json``) takes no value: its help line shows no type (Typer 0.29 printed ``<bool>``)."""
    from aftermath.cli import app

    res = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0 and "--json" in res.output
    assert "<bool>" not in res.output and "<int>" in res.output


def test_the_costs_of_policy_nest_their_parts() -> None:
    """The culled and the swept hybrids are the killed by policy, not three costs to add (a new
    user read "killed by policy: 528; hybrids culled: 257; hybrids killed in sweeps: 271" so)."""
    res = CliRunner().invoke(app, ["run", "hyosan"], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if x.startswith("Costs of policy"))
    m = re.search(r"killed by policy: ([\d,]+) \(of which hybrids culled ([\d,]+), hybrids killed in sweeps ([\d,]+)\)",
                  line)
    assert m, line
    killed, culled, swept = (int(g.replace(",", "")) for g in m.groups())
    assert killed == culled + swept
    assert "crossings refused at gates" in line and "(of which by healthy people" in line
    # breaches count ferals who got through, not walls falling ("broke through walls 465 times")
    assert re.search(r"^[\d,]+ ferals got through a wall\.$", res.output, re.M), res.output


def test_replicates_of_the_ode_are_said_to_be_one_run(tmp_path: Path) -> None:
    """``sweep sir --runs 2`` without ``--engine`` runs the deterministic ODE: its rank correlations
    over identical replicates read as more data than there is (p = 0 from 4 runs). Said once, on
    stderr; a stochastic engine's replicates are not."""
    args = ["sweep", "sir", "--param", "pathogen.beta=0.2:0.4:2", "--days", "20", "--store", str(tmp_path / "s.duckdb")]
    ode = CliRunner().invoke(app, [*args, "--runs", "2"])
    assert ode.exit_code == 0, ode.output
    assert "note: the ode engine is deterministic: --runs 2 repeats one run" in " ".join(ode.output.split())
    ssa = CliRunner().invoke(app, [*args, "--runs", "2", "--engine", "ssa"])
    one = CliRunner().invoke(app, [*args, "--runs", "1", "--seed", "5"])
    assert ssa.exit_code == one.exit_code == 0 and "deterministic" not in ssa.output + one.output


def test_every_commands_description_reads_as_sentences_in_help() -> None:
    """Typer keeps a docstring's line breaks: a paragraph spanning two source lines broke ``rerun``'s
    and ``query``'s descriptions mid-sentence in ``aftermath --help``. Each paragraph is one line."""
    import typer

    for name, cmd in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        for para in (cmd.help or "").strip().split("\n\n"):
            assert "\n" not in para.strip(), (name, para)


@pytest.mark.parametrize(("args", "shape"), [
    (["hyosan"], r"at the start, fell to [\d,]+, then peaked at [\d,]+ on day \d+"),
    (["korea", "--days", "60"], r"at the start and peaked at [\d,]+ on day \d+")])
def test_the_summary_tells_the_ferals_rise_as_it_was(args: list[str], shape: str) -> None:
    """A dip before the peak is told with its low; a count that only grew peaks with no 'low'."""
    res = CliRunner().invoke(app, ["run", *args], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert re.search(shape, res.output) and "after their low" not in res.output, res.output


def test_the_ledger_is_one_sentence_of_its_own() -> None:
    """The agent-based engine's ledger (people, each once) is its own sentence, not six '(ledger)' tags."""
    res = CliRunner().invoke(app, ["run", "hyosan", "--engine", "abm", "--days", "20"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "(ledger)" not in res.output
    assert re.search(r"The ledger, each person counted once: sealed in: [\d,]+;", res.output), res.output


def test_the_summary_tables_name_zones_and_factions() -> None:
    """The run summary's tables read names ("Eastern quarantine district", "The Provisional
    Government"), not the ids a scenario file uses ("quarantine", "government")."""
    res = CliRunner().invoke(app, ["run", "hyosan", "--days", "30", "--wide"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    tables = res.output.split("zones at the end", 1)[1]
    assert "Eastern quarantine district" in tables and "The Provisional Government" in tables
    ids = r"(city|quarantine|garrison|hidden|school|wild|government|survivors)"
    assert not re.search(rf"^ ?{ids} +│|│ {ids}(, {ids})* *$", tables, re.MULTILINE), tables


def test_the_cli_loads_with_a_typer_that_lacks_the_help_hook() -> None:
    """pyproject allows Typer from 0.12; the '<bool>' shim must not break a Typer without the method it wraps."""
    import subprocess
    import sys

    code = ("import typer.core as c\n"
            "for cls in c.TyperOption.__mro__:\n"
            "    if 'display_type_rich' in vars(cls): delattr(cls, 'display_type_rich')\n"
            "assert not hasattr(c.TyperOption, 'display_type_rich')\n"
            "import aftermath.cli\n"
            "print('loaded')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "loaded" in out.stdout, out.stderr


def test_a_zone_with_no_one_left_has_no_fear() -> None:
    """Korea's Busan ends with no one alive: its fear is '-', not a leftover figure; the peak's day
    has a column of its own."""
    res = CliRunner().invoke(app, ["run", "korea", "--wide"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    busan = next(line for line in res.output.splitlines() if line.strip().startswith("Busan"))
    cells = [c.strip() for c in busan.split("│")]
    assert cells[1] == "0" and cells[5] == "-", cells
    assert "on day" in res.output


def test_a_comparison_from_the_command_line_records_where_its_scenario_came_from(tmp_path: Path) -> None:
    """`aftermath compare sir` records 'builtin sir' as its source, as `aftermath ensemble sir` does
    (it recorded '<python>', the source of a Scenario object)."""
    import duckdb

    store = tmp_path / "s.duckdb"
    res = CliRunner().invoke(app, ["compare", "sir", "--engine", "ode", "--runs", "1", "--days", "5",
                                   "--policy", "fast:pathogen.beta=0.3", "--store", str(store)])
    assert res.exit_code == 0, res.output
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT DISTINCT source FROM batches").fetchall() == [("builtin sir",)]


@pytest.mark.parametrize(("engine", "ledger"), [("ssa", False), ("abm", True)])
def test_the_comparisons_footnote_explains_ledger_rows_only_where_there_are_some(engine: str, ledger: bool,
                                                                                tmp_path: Path) -> None:
    """Only the agent-based engine keeps a per-person ledger: an SSA comparison has no "(ledger)"
    row, and its footnote no longer explains one."""
    res = CliRunner().invoke(app, ["compare", "sir", "--engine", engine, "--runs", "1", "--days", "3",
                                   "--policy", "fast:pathogen.beta=0.3", "--store", str(tmp_path / "s.duckdb")],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    table, foot = res.output.rsplit("lives saved =", 1)
    assert ("(ledger)" in table) is ledger
    assert ("per-person ledger" in foot) is ledger


def test_a_variants_wrong_path_is_named_by_its_variant(tmp_path: Path) -> None:
    """`ensemble --variant 'x:zones.nowhere.wall=0.5'` says which variant is wrong, in the words
    `compare` uses ("variant x"), not an internal label ("<ensemble x>")."""
    res = CliRunner().invoke(app, ["ensemble", "hyosan", "--variant", "x:zones.nowhere.wall=0.5", "--runs", "1",
                                   "--store", str(tmp_path / "s.duckdb")])
    assert res.exit_code == 2
    assert res.output.strip().startswith("error: variant x: zones.nowhere: got 'nowhere'"), res.output
    assert "<" not in res.output and not (tmp_path / "s.duckdb").exists()


@pytest.mark.parametrize(("name", "shown", "hidden"), [
    ("sir", ["susceptible at the end (S)", "attack rate (final size)"], ["peak_ferals", "died outright"]),
    ("hyosan", ["survivors (humans at the end)", "deaths"], ["peak_ferals", "attack_rate"]),
])
def test_an_ensembles_table_names_its_outcomes_in_words(name: str, shown: list[str], hidden: list[str],
                                                        tmp_path: Path) -> None:
    """`ensemble`'s table names outcomes as the reports do, in the scenario's words, and shows
    what `sweep`'s does (the SIR limit's S; deaths only where some run had any); --json keeps the
    keys."""
    args = ["ensemble", name, "--engine", "ode", "--runs", "1", "--days", "30", "--store", str(tmp_path / "s.duckdb")]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for text in shown:
        assert text in res.output, text
    for text in hidden:
        assert text not in res.output, text
    keys = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    assert {b["metric"] for b in keys["bands"]} >= {"survivors", "deaths", "peak_ferals"}


def test_a_wrong_variant_is_refused_before_any_progress_is_drawn(tmp_path: Path) -> None:
    """The error is the first and only line (no blank line left by a progress bar)."""
    res = CliRunner().invoke(app, ["ensemble", "sir", "--variant", "x:pathogen.bta=0.3", "--runs", "1",
                                   "--store", str(tmp_path / "s.duckdb")])
    assert res.exit_code == 2 and res.output.startswith("error: variant x: pathogen.bta"), repr(res.output)
    assert res.output.count("\n") == 1


@pytest.mark.parametrize(("param", "words"), [
    ("zones.nowhere.wall=0.1:0.5:3", ["point zones.nowhere.wall=0.1", "'nowhere'", "['town']"]),
    ("zones.town.wall=0.1:1.5:3", ["point zones.town.wall=1.5", "got 1.5", "<= 1"]),  # the last point only
])
def test_a_sweeps_wrong_parameter_is_refused_before_any_run_in_one_line(param: str, words: list[str],
                                                                        tmp_path: Path) -> None:
    """Every value a swept parameter takes is checked before the store is opened or a progress bar
    drawn: the error names the --param and the value, on the only line (a wrong last point used to
    fail mid-sweep, after a blank line)."""
    store = tmp_path / "s.duckdb"
    res = CliRunner().invoke(app, ["sweep", "sir", "--param", param, "--runs", "1", "--engine", "ode",
                                   "--days", "5", "--store", str(store)])
    assert res.exit_code == 2 and res.output.startswith("error: "), repr(res.output)
    assert res.output.count("\n") == 1 and not store.exists()
    for w in words:
        assert w in res.output, w


@pytest.mark.parametrize("params", [
    ["--param", "run.days=5:60", "--lhs", "3"],  # an integer parameter sampled: rounded as the sweep rounds it
    ["--param", "pathogen.latency=2,4", "--param", "zones.0.population.E=5,10"],  # E needs a latency: valid together
])
def test_a_valid_sweep_is_not_refused_by_the_checks_before_it(params: list[str], tmp_path: Path) -> None:
    """The checks before a sweep starts check its points as it makes them, whole."""
    res = CliRunner().invoke(app, ["sweep", "sir", *params, "--runs", "1", "--engine", "ode", "--days", "5",
                                   "--store", str(tmp_path / "s.duckdb")])
    assert res.exit_code == 0, res.output
