"""The validation catalogue: its closed forms, its checks passing, each check failing when the model
is deliberately broken, and the ``aftermath validate`` command."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from aftermath.cli import app
from aftermath.validation import closed_forms as cf
from aftermath.validation import commands, runner
from aftermath.validation.catalogue import CATALOGUE, by_id
from aftermath.validation.check import Check, Scale, perturbed
from aftermath.validation.measure import Runs
from aftermath.validation.runner import ERROR, FAIL, PASS, UNAVAILABLE, Outcome, run_check

FAST = [c for c in CATALOGUE if c.fast]
SLOW = [c for c in CATALOGUE if not c.fast]


# -- closed forms --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("r0", "z", "peak"), [(1.5, 0.5828, 0.0630), (2.0, 0.7968, 0.1534),
                                               (2.5, 0.8926, 0.2335), (3.0, 0.9405, 0.3005)])
def test_sir_closed_forms_give_the_textbook_figures(r0: float, z: float, peak: float) -> None:
    assert cf.sir_final_size(r0) == pytest.approx(z, abs=1e-4)
    assert cf.sir_peak_prevalence(r0) == pytest.approx(peak, abs=1e-4)
    # the finite-seed forms reduce to them as the seed vanishes
    assert cf.sir_final_size(r0, 1 - 1e-12) == pytest.approx(cf.sir_final_size(r0), abs=1e-9)
    assert cf.sir_peak_prevalence(r0, 1 - 1e-12, 1e-12) == pytest.approx(cf.sir_peak_prevalence(r0), abs=1e-9)


def test_munz_reference_reproduces_the_paper() -> None:
    sol, t = cf.munz_reference(alpha=0.005, beta=0.0095, zeta=0.0001, delta=0.0001, pi=0.0, s0=499, z0=1,
                               r0=0, t_end=10)
    assert t == pytest.approx(2.755, abs=1e-2)
    assert sol(5.0)[0] == pytest.approx(1.498, abs=1e-2)
    assert sol(7.0).sum() == pytest.approx(500, rel=1e-9)


def test_alemi_and_eradication_closed_forms() -> None:
    assert cf.alemi_end_state(0.0003, 0.0002, 1000, 20) == pytest.approx((960.0, 0.0))
    assert cf.alemi_end_state(0.0003, 0.0002, 1000, 600) == pytest.approx((0.0, 100.0))
    k = cf.critical_kill(0.1, 7)
    assert cf.eradication_multiplier(0.1, 7, k) == pytest.approx(1.0)
    assert cf.eradication_multiplier(0.1, 7, k + 0.01) < 1.0 < cf.eradication_multiplier(0.1, 7, k - 0.01)


# -- the catalogue as data --------------------------------------------------------------------------------


def test_catalogue_is_well_formed() -> None:
    ids = [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids))
    for c in CATALOGUE:
        assert c.source and c.closed_form and c.breaks, c.id
        assert c.engine in ("ode", "ssa", "abm")
        c.clean(), c.broken()  # the scenarios validate
    assert {c.engine for c in CATALOGUE} == {"ode", "ssa", "abm"}
    assert by_id("munz.crossing").id == "munz.crossing"


def test_perturbed_scales_and_sets() -> None:
    c = by_id("sis.endemic")
    sc = perturbed(c.clean(), {"pathogen.beta": Scale(1.2), "zones.town.population.Z": 3})
    assert sc.pathogen.beta == pytest.approx(0.3)
    assert sc.zones[0].population.Z == 3


# -- the checks: pass as built, fail when broken ---------------------------------------------------------


@pytest.fixture(scope="module")
def cache() -> Runs:
    return Runs()


def _run(check: Check, cache: Runs, perturb: bool) -> Outcome:
    if not runner.engine_available(check.engine):
        pytest.skip(f"engine {check.engine} not installed yet")
    return run_check(check, cache, perturb=perturb)


@pytest.mark.parametrize("check", FAST, ids=lambda c: c.id)
def test_fast_check_passes(check: Check, cache: Runs) -> None:
    o = _run(check, cache, perturb=False)
    assert o.status == PASS, (o.expected, o.measured, o.tolerance, o.measured_note)


@pytest.mark.parametrize("check", FAST, ids=lambda c: c.id)
def test_fast_check_catches_its_deliberate_error(check: Check, cache: Runs) -> None:
    o = _run(check, cache, perturb=True)
    assert o.status == FAIL, (check.breaks, o.expected, o.measured, o.tolerance, o.measured_note)


@pytest.mark.slow
@pytest.mark.parametrize("check", SLOW, ids=lambda c: c.id)
def test_slow_check_passes(check: Check, cache: Runs) -> None:
    o = _run(check, cache, perturb=False)
    assert o.status == PASS, (o.expected, o.measured, o.tolerance, o.measured_note)


@pytest.mark.slow
@pytest.mark.parametrize("check", SLOW, ids=lambda c: c.id)
def test_slow_check_catches_its_deliberate_error(check: Check, cache: Runs) -> None:
    o = _run(check, cache, perturb=True)
    assert o.status == FAIL, (check.breaks, o.expected, o.measured, o.tolerance, o.measured_note)


def test_dense_helper_refuses_changing_rates() -> None:
    """The dense integration must not silently be used where policies act at day boundaries."""
    o = run_check(Check(**{**by_id("sir.peak.R0=2.5").__dict__, "id": "x", "overrides": {
        "policies": [{"type": "cure", "zones": ["town"], "rate": 0.5, "when": "day >= 20"}]}}))
    assert o.status == ERROR and "rates change" in o.measured_note


# -- the command ----------------------------------------------------------------------------------------------

cli = CliRunner()


def test_command_json_and_exit_code_zero() -> None:
    res = cli.invoke(app, ["validate", "--check", "munz.crossing", "--check", "alemi.humans_survive", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["id"] for r in rows] == ["munz.crossing", "alemi.humans_survive"]
    assert all(r["status"] == PASS for r in rows)
    assert {"expected", "measured", "tolerance", "engine", "source"} <= set(rows[0])


def test_command_table() -> None:
    res = cli.invoke(app, ["validate", "--check", "munz.S5"], terminal_width=200)
    assert res.exit_code == 0, res.output
    for col in ("check", "engine", "expected", "measured", "tolerance", "result", "munz.S5", "pass"):
        assert col in res.output


def test_command_tables_say_what_each_check_is_at_80_columns() -> None:
    """At 80 columns each check is named in words under its id, and the result stays in the first
    table (not split off into a continuation); ``--list`` gives the title and the source."""
    res = cli.invoke(app, ["validate", "--check", "munz.S5", "--check", "munz.conservation.ssa"], terminal_width=80)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "continued" not in res.output and max(len(line) for line in lines) <= 80
    at = next(i for i, line in enumerate(lines) if "munz.S5" in line)
    assert "pass" in lines[at] and "Munz: humans left" in lines[at + 1]
    listed = cli.invoke(app, ["validate", "--list", "--check", "munz.S5"], terminal_width=80)
    words = " ".join(w for w in re.split(r"[\s│┃]+", listed.output) if w)  # the cells' words, wrapping undone
    assert listed.exit_code == 0 and "munz.S5 ode fast Munz: humans left at" in words and "attack!" in words


def test_command_unknown_check() -> None:
    assert cli.invoke(app, ["validate", "--check", "no.such.check"]).exit_code == 2


def _fake(status: str) -> Outcome:
    return Outcome(id="fake", title="", engine="abm", status=status, expected=1.0, measured=2.0, tolerance=0.1,
                   tolerance_rule="0.1", se=0.0, runs=1, source="", expected_note="", measured_note="", seconds=0.0)


def test_command_exits_one_on_failure_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "run_catalogue", lambda checks: [_fake(PASS), _fake(FAIL)])
    assert cli.invoke(app, ["validate", "--check", "munz.S5"]).exit_code == 1
    monkeypatch.setattr(commands, "run_catalogue", lambda checks: [_fake(ERROR)])
    assert cli.invoke(app, ["validate", "--check", "munz.S5"]).exit_code == 1


def test_unavailable_engine_is_reported_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "engine_problem", lambda engine: "gone" if engine == "abm" else None)
    res = cli.invoke(app, ["validate", "--check", "agree.abm.final_size"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "not run" in res.output and "NOT RUN" in res.output
    o = run_check(by_id("agree.abm.peak_time"))
    assert o.status == UNAVAILABLE and not o.failed


def test_a_long_check_id_breaks_after_a_dot_and_the_table_keeps_its_result_at_80_columns() -> None:
    """The longest ids (agree.abm-events.final_size) are broken after a dot, not split off with the
    result column into a second table."""
    from rich.console import Console

    long = Outcome(id="agree.abm-events.final_size", title="ABM-EVENTS mean final size vs ODE", engine="abm",
                   status=PASS, expected=0.893377, measured=0.893917, tolerance=0.00236, tolerance_rule="4 s.e.",
                   se=0.0, runs=1, source="", expected_note="", measured_note="", seconds=0.0)
    console = Console(width=80, record=True)
    console.print(commands.outcome_table([long, _fake(PASS)]))
    text = console.export_text()
    assert "continued" not in text and "agree.abm-events." in text and "final_size" in text
    assert commands._broken_id("agree.abm-events.final_size") == "agree.abm-events.\nfinal_size"
    assert commands._broken_id("munz.S5") == "munz.S5"


def test_the_fast_catalogues_widest_cells_fit_80_columns_in_one_table() -> None:
    """``validate --fast`` at 80 columns split its table, the results into a "(continued)" one: its
    widest cells (an id of 21 characters, "eradicated", 5.68434e-13, a tolerance of "±0.00108") fit
    one table now, the result beside the check, and an id is never broken inside a number."""
    import dataclasses

    from rich.console import Console

    base = _fake(PASS)
    cells = [dataclasses.replace(base, id="sir.final_size.R0=2.5", title="SIR final size, R0 = 2.5", engine="ode",
                                 expected=0.892659, measured=0.892659, tolerance=1e-4, tolerance_rule="0.0001"),
             dataclasses.replace(base, id="munz.conservation", engine="ode", expected=0.0, measured=5.68434e-13,
                                 tolerance=1e-6, tolerance_rule="1e-06"),
             dataclasses.replace(base, id="eradication.succeeds", engine="ode", expected="eradicated",
                                 measured="eradicated", tolerance=None, tolerance_rule="same outcome"),
             dataclasses.replace(base, id="agree.ssa.final_size", engine="ssa", expected=0.892791, measured=0.892739,
                                 tolerance=0.00108, tolerance_rule="4 s.e.")]
    console = Console(width=80, record=True)
    console.print(commands.outcome_table(cells))
    text = console.export_text()
    assert "continued" not in text and max(len(line) for line in text.splitlines()) <= 80
    head = next(line for line in text.splitlines() if "check" in line)
    assert head.index("result") < head.index("engine")
    assert "sir.final_size.R0=2.5 " in text
    # at 20 the last dot within reach is the number's ("sir.final_size.R0=2." / "5"): the break goes
    # to the dot before it; with no other dot the id stays whole
    assert commands._broken_id("sir.final_size.R0=2.5", 20) == "sir.final_size.\nR0=2.5"
    assert commands._broken_id("R0=12.5", 6) == "R0=12.5"
