"""A scenario's words (``run.vocabulary``) in every command that tells its numbers, not only ``run``.

Found by a new-user trial: ``sweep sir`` showed ``peak_ferals`` and a ``deaths`` column of zeros
(its sensitivity row all "-") in three tables titled alike; ``check`` said "1 zones" and "10 ferals"
for the SIR limit; ``overlay munz-basic`` gave one strong defence no peak and a stronger one "peak
Z 0 on day 9" (the ODE's zombies climbing back by thousandths of one as corpses rise). ``--json``
keeps the summary's own keys throughout.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from aftermath.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), env={"COLUMNS": "80"})
    return res.exit_code, res.output


def _widest(out: str) -> int:
    return max((len(line) for line in out.splitlines()), default=0)


def _header(out: str, title: str) -> str:
    """The header rows of the table titled ``title`` (the lines between its title and its rule)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    end = next(i for i in range(start, len(lines)) if "━" in lines[i] and "┡" in lines[i])
    return "\n".join(lines[start + 1:end])


def test_check_counts_in_the_scenarios_words(tmp_path: Path) -> None:
    toml = tmp_path / "my-sir.toml"
    code, text = _run("show", "sir")
    assert code == 0
    toml.write_text(text, encoding="utf-8")
    code, out = _run("check", str(toml))
    out = " ".join(out.split())  # the line wraps at 80 columns
    assert code == 0, out
    assert "(1 zone, 99,990 susceptible (S) and 10 infectious (I) at the start, 0 policies)" in out
    assert "zones" not in out and "feral" not in out
    code, out = _run("check", "munz-basic")
    assert code == 0 and "(1 zone, 499 humans (S) and 1 zombie (Z) at the start, 0 policies)" in " ".join(out.split())
    code, out = _run("check", "hyosan")  # Aftermath's own words, in the plural where there are several
    assert code == 0 and "(6 zones, 35,260 people (humans: S + E + H) and 12,630 ferals at the start, 9 policies)" \
        in " ".join(out.split())


def test_sweep_tells_the_sir_limit_in_s_and_i_without_a_column_of_zeros(tmp_path: Path) -> None:
    args = ("sweep", "sir", "--param", "pathogen.beta=0.2,0.3", "--runs", "2", "--engine", "ode", "--days", "60",
            "--store", str(tmp_path / "s.duckdb"))
    code, out = _run(*args)
    assert code == 0, out
    assert _widest(out) <= 80 and "(continued)" not in out
    assert "feral" not in out and "deaths" not in out and "survivors" not in out
    means = _header(out, "mean per point")
    assert re.search(r"S at", means) and re.search(r"peak .*peak", means) and re.search(r"\bI\b", means)
    assert "standard deviation over the 2 replicates of each point" in out
    metrics = re.findall(r"│ pathogen\.beta │ ([^│]+?)\s+│", out)
    assert metrics == ["S at end", "peak I", "peak day", "attack rate"]  # the sensitivity's rows
    # the numbers are the summary's: S at the end is the susceptible (JSON keeps every key)
    code, js = _run(*args, "--json")
    report = json.loads(js)
    row = report["points_table"][0]
    assert {"survivors", "deaths", "peak_ferals", "peak_day", "attack_rate", "deaths_sd"} <= set(row)
    assert [r["metric"] for r in report["spearman"]] == ["survivors", "deaths", "peak_ferals", "peak_day",
                                                        "attack_rate"]
    first = next(line for line in out.splitlines() if line.startswith("│     0 │"))
    assert f"{row['peak_ferals']:,.0f}" in first


def test_sweep_keeps_deaths_where_the_sir_limit_has_some(tmp_path: Path) -> None:
    code, out = _run("sweep", "sir", "--param", "pathogen.kappa=0.1,0.2", "--engine", "ode", "--days", "40",
                     "--store", str(tmp_path / "s.duckdb"))
    assert code == 0, out
    assert "deaths" in _header(out, "mean per point") and "│ deaths " in out


def test_sweep_in_aftermaths_words_fits_one_table(tmp_path: Path) -> None:
    code, out = _run("sweep", "hyosan", "--param", "pathogen.beta=0.2,0.3", "--runs", "2", "--engine", "ode",
                     "--days", "5", "--store", str(tmp_path / "s.duckdb"))
    assert code == 0, out
    assert _widest(out) <= 80 and "(continued)" not in out and "<NA>" not in out
    means = _header(out, "mean per point")
    assert "survivors" in means and "deaths" in means and "ferals" in means


def _rows(out: str) -> dict[str, list[str]]:
    return {cells[0]: cells[1:] for line in out.splitlines() if "│" in line
            for cells in [[c.strip() for c in line.split("│")]]}


def test_overlay_gives_no_peak_to_ferals_that_never_rose() -> None:
    args = ("overlay", "munz-basic", "-V", "defence x2:defence.alpha=0.01", "-V", "defence x4:defence.alpha=0.02")
    code, out = _run(*args)
    assert code == 0, out
    rows = _rows(out)  # curve: runs, attack rate, peak Z, peak day, S at end, deaths
    assert rows["defence x2"][2:4] == ["-", "-"] and rows["defence x4"][2:4] == ["-", "-"]
    assert float(rows["baseline"][2].replace(",", "")) > 100
    assert "peak Z -: the zombies (Z) never rose" in " ".join(out.split())
    code, js = _run(*args, "--json")
    table = {r["curve"]: r for r in json.loads(js)}
    assert table["defence x4"]["peak"] is None and table["defence x4"]["peak_day"] is None
    assert set(table["baseline"]) == {"curve", "scenario", "variant", "engine", "runs", "attack_rate", "peak",
                                      "peak_day", "survivors", "deaths"}


def test_overlay_of_the_sir_limit_leaves_out_deaths_and_aftermaths_fits_80_columns() -> None:
    code, out = _run("overlay", "sir", "--days", "30")
    assert code == 0 and "deaths" not in out and "feral" not in out
    code, out = _run("overlay", "hyosan", "--days", "5")
    assert code == 0 and _widest(out) <= 80 and "(continued)" not in out and "deaths" in out


def test_the_sir_limits_peak_is_the_peak_of_i() -> None:
    """In the SIR words, I is E + H + Z: its peak is theirs together, not the ferals' alone (with
    half the infections kept mild as H, the ferals' peak is a fraction of I's)."""
    import re

    import aftermath as am
    from aftermath.model.world import State
    from aftermath.record.measures import peak_after_low
    from aftermath.record.vocabulary import summary_lines, vocabulary
    from aftermath.scenario.load import with_overrides

    res = am.simulate(with_overrides(am.load("sir"), {"pathogen.p_hybrid": 0.5}), days=40)
    s = res.summary()
    i_peak, i_day = peak_after_low(res.counts[:, :, [State.E, State.H, State.Z]].sum(axis=(1, 2)))
    assert i_peak is not None and s["peak_ferals"] is not None and s["peak_ferals"] < 0.5 * i_peak
    said = next(line for line in summary_lines(s, vocabulary(res.scenario), res.counts) if "peaked" in line)
    m = re.search(r"peaked at \[bold\]([\d,]+)\[/\] on day (\d+)", said)
    assert m and int(m.group(1).replace(",", "")) == round(i_peak) and int(m.group(2)) == i_day, said


def test_the_chronicle_speaks_the_scenarios_words() -> None:
    """A walled world told in Munz's words: its breaches are the zombies'; in Aftermath's, the ferals'."""
    import aftermath as am
    from aftermath.scenario.load import with_overrides

    szr = am.simulate(with_overrides(am.load("hyosan"), {"run.vocabulary": "szr"}), days=5)
    own = am.simulate(am.load("hyosan"), days=5)
    said = [e.text for e in szr.chronicle if e.kind == "breach"]
    assert said and all(t.startswith("zombies broke through the wall of ") for t in said), said
    assert all(t.startswith("ferals broke through") for t in (e.text for e in own.chronicle if e.kind == "breach"))
