"""Issue 11, parts 1 and 2, for the scenario loader, schema, condition language and engines: each
reproducer of the issue gives a clean :class:`ScenarioError` (exit 2 on the command line, one line
naming key, value and expectation) or a correct result.

A budget before work (:mod:`aftermath.engines.budget`): memory and work are estimated from the
scenario before anything is allocated. Strict types: a number is a number, people are whole in
the stochastic engines, names are printable, rates are bounded, conditions follow their grammar.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aftermath.engines.budget as budget
from aftermath.engines.budget import MAX_RUNS, BudgetError, check_budget, estimate
from aftermath.engines.driver import simulate
from aftermath.model.society import Society
from aftermath.model.world import build_world
from aftermath.scenario.load import (
    MAX_FILE_BYTES,
    ScenarioError,
    apply_run_options,
    builtin_names,
    from_dict,
    load,
    parse_toml,
)
from aftermath.scenario.schema import MAX_PEOPLE, MAX_RATE

HUGE = "9223372036854774784.0"  # the largest double below 2^63: two of them wrapped int64


def toml(body: str, zones: str = '[[zones]]\nid = "a"\npopulation = { S = 100, Z = 1 }\n') -> str:
    return body + "\n" + zones


def refused(text: str, path: str, *expected: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_toml(text, source="t.toml")
    err = info.value
    assert err.path == path, str(err)
    for e in expected:
        assert e in err.expected, str(err)
    assert "\n" not in str(err)
    return err


def small(**run: Any) -> dict[str, Any]:
    return {"run": run, "zones": [{"id": "a", "population": {"S": 100, "Z": 1}}]}


# -- counts: whole numbers below a documented maximum ---------------------------------------------


def test_counts_that_wrapped_int64_and_segfaulted_the_abm_are_refused_where_read() -> None:
    zones = (f'[[zones]]\nid = "a"\npopulation = {{ S = {HUGE} }}\n[[zones]]\nid = "b"\n'
             f'population = {{ S = {HUGE} }}\n[[zones]]\nid = "c"\npopulation = {{ S = 10, Z = 1 }}\n')
    refused(zones, "zones.0.population.S", "<= 1e+12")


@pytest.mark.parametrize("count", ["9223372036854775808", "1e19", "1e400", "inf", "nan"])
def test_one_count_too_large_or_not_finite_is_refused(count: str) -> None:
    refused(f'[[zones]]\nid = "a"\npopulation = {{ S = {count}, Z = 10 }}\n', "zones.0.population.S")


def test_the_total_is_bounded_too() -> None:
    zones = "".join(f'[[zones]]\nid = "z{i}"\npopulation = {{ S = 6e11 }}\n' for i in range(2))
    err = refused(zones, "zones", "at most 1,000,000,000,000 people")
    assert "1,200,000,000,000 people" in str(err)


def test_ssa_with_1e19_people_no_longer_reports_negative_humans() -> None:
    refused('[[zones]]\nid = "a"\npopulation = { S = 1e19, Z = 10 }\n', "zones.0.population.S")
    # the largest allowed count runs and keeps its people (int64 holds 1e12 with room to spare);
    # with ferals in it the epidemic's events are over the SSA's budget, and refused before work
    sc = from_dict({"zones": [{"id": "a", "population": {"S": MAX_PEOPLE - 10, "R": 10}}]})
    res = simulate(sc, engine="ssa", days=1)
    assert res.counts[-1].sum() == MAX_PEOPLE and (res.counts >= 0).all()
    with pytest.raises(BudgetError, match="events"):
        simulate(from_dict({"zones": [{"id": "a", "population": {"S": MAX_PEOPLE - 10, "Z": 10}}]}), engine="ssa")


@pytest.mark.parametrize("pop", ["{ }", "{ S = 0, Z = 0 }"])
def test_a_scenario_with_nobody_in_it_is_refused(pop: str) -> None:
    refused(f'[[zones]]\nid = "a"\npopulation = {pop}\n', "zones", "someone")


@pytest.mark.parametrize("engine", ["ssa", "abm"])
def test_fractional_people_are_refused_by_the_stochastic_engines_cleanly(engine: str) -> None:
    sc = parse_toml(toml("", '[[zones]]\nid = "a"\npopulation = { S = 999.5, Z = 10 }\n'))
    with pytest.raises(ScenarioError) as info:
        simulate(sc, engine=engine, days=1)
    assert info.value.path == "zones.0.population.S" and info.value.value == 999.5
    assert f"a whole number of people for the {engine} engine" in info.value.expected
    assert simulate(sc, engine="ode", days=1).counts[0].sum() == pytest.approx(1009.5)  # the ODE takes fractions


# -- strict types ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        ("[run]\ndays = true", "run.days", "an integer"),
        ("[run]\ndays = 30.0", "run.days", "an integer"),
        ('[run]\nseed = "7"', "run.seed", "an integer"),
        ('[pathogen]\nbeta = "0.25"', "pathogen.beta", "a number"),
        ("[pathogen]\nbeta = true", "pathogen.beta", "a number"),
        ('[[routes]]\nfrom = "a"\nto = "b"\nboth_ways = "yes"', "routes.0.both_ways", "true or false"),
    ],
)
def test_a_number_is_a_number(body: str, path: str, expected: str) -> None:
    zones = '[[zones]]\nid = "a"\npopulation = { S = 100, Z = 1 }\n[[zones]]\nid = "b"\n'
    refused(body + "\n" + zones, path, expected)


def test_a_boolean_is_not_a_person() -> None:
    refused('[[zones]]\nid = "a"\npopulation = { S = 100, Z = true }\n', "zones.0.population.Z", "a number")


def test_integers_are_numbers_where_floats_are_expected_and_numpy_numbers_are_numbers() -> None:
    sc = parse_toml(toml("[pathogen]\nbeta = 1\n[run]\ndt = 1"))
    assert sc.pathogen.beta == 1.0 and sc.run.dt == 1.0
    sc = from_dict({"run": {"days": np.int64(30)}, "pathogen": {"beta": np.float64(0.3)},
                    "zones": [{"id": "a", "population": {"S": np.int64(100), "Z": 1}}]})
    assert sc.run.days == 30 and type(sc.run.days) is int


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ("[pathogen]\nbeta = 1e308", "pathogen.beta"),
        ("[pathogen]\nbeta = 1e100", "pathogen.beta"),
        ("[pathogen]\nrelapse = 1001", "pathogen.relapse"),
        ("[defence]\nreanimation = 1e308", "defence.reanimation"),
        ("[defence]\nalpha = 1e100", "defence.alpha"),
        ("[demography]\ndeath = 1e100", "demography.death"),
        ("[demography]\nbirths = 1e100", "demography.births"),
        ("[pathogen]\nlatency = 1e100", "pathogen.latency"),
        ("[pathogen]\neta = 1e100", "pathogen.eta"),
        ("[society.fear]\nflight = 1e100", "society.fear.flight"),
        ("[pathogen.mutation]\nlineage_ratio = inf", "pathogen.mutation.lineage_ratio"),
        ("[pathogen.mutation]\nlineage_ratio = nan", "pathogen.mutation.lineage_ratio"),
        ("[pathogen.mutation]\nsd = 1e100", "pathogen.mutation.sd"),
        ("[run]\ndt = 1e-6", "run.dt"),
    ],
)
def test_rates_and_other_magnitudes_have_finite_documented_bounds(body: str, path: str) -> None:
    refused(toml(body), path, "number")


def test_the_largest_rates_run_in_the_ode() -> None:
    """``beta = 1e308`` hung the ODE and ``reanimation = 1e308`` failed LSODA; at the bound they run."""
    sc = parse_toml(toml(f"[pathogen]\nbeta = {MAX_RATE}\n[defence]\nreanimation = {MAX_RATE}\nq = 1\n"
                         f"alpha = {MAX_RATE}", '[[zones]]\nid = "a"\npopulation = { S = 1e6, Z = 1, D = 5 }\n'))
    res = simulate(sc, engine="ode", days=5)
    assert np.isfinite(res.counts).all()


@pytest.mark.parametrize(
    ("key", "text"),
    [("name", "a\x00b"), ("name", "bell\x07"), ("name", "two\nlines"), ("name", "rtl\u202eoverride"),
     ("description", "nul\x00"), ("description", "esc\x1b[31m")],
)
def test_names_and_labels_are_printable_text(key: str, text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        from_dict({key: text, "zones": [{"id": "a", "population": {"S": 1}}]})
    assert info.value.path == key and "printable text" in info.value.expected


@pytest.mark.parametrize("where", ["zone", "faction", "policy"])
def test_a_nul_in_any_name_is_refused(where: str) -> None:
    data: dict[str, Any] = {"zones": [{"id": "a", "faction": "f", "population": {"S": 1}}],
                            "factions": [{"id": "f"}],
                            "policies": [{"type": "seal", "faction": "f"}]}
    target = {"zone": data["zones"][0], "faction": data["factions"][0], "policy": data["policies"][0]}[where]
    target["name"] = "x\x00y"
    with pytest.raises(ScenarioError, match="printable text"):
        from_dict(data)


def test_printable_text_may_be_any_language_and_a_description_may_have_lines() -> None:
    sc = from_dict({"name": "효산 — Hyosan 🧟", "description": "line one\n\tline two",
                    "zones": [{"id": "a", "population": {"S": 1}}]})
    assert sc.name.startswith("효산")


# -- the file itself ---------------------------------------------------------------------------------


def test_deeply_nested_toml_is_a_clean_error() -> None:
    with pytest.raises(ScenarioError, match="nested"):
        parse_toml("x = " + "[" * 1000 + "]" * 1000 + "\n", source="deep.toml")
    with pytest.raises(ScenarioError, match="nested at most 32 deep"):  # tomllib reads this one
        parse_toml("x = " + "[" * 60 + "]" * 60 + "\n" + toml(""), source="deep.toml")


def test_device_files_folders_and_huge_files_are_refused_before_reading(tmp_path: Path) -> None:
    if os.path.exists("/dev/zero"):
        with pytest.raises(ScenarioError, match="a regular file"):
            load("/dev/zero")
    with pytest.raises(ScenarioError, match="a regular file"):
        load(str(tmp_path))
    big = tmp_path / "big.toml"
    big.write_text(toml("") + "#" * MAX_FILE_BYTES)
    with pytest.raises(ScenarioError, match="at most 1,048,576 bytes"):
        load(str(big))


# -- conditions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("fear > 0.5 # and day > 100", "comments are not part of the language"),
        ("ｄａｙ > 3", "unexpected character"),
        ("(0 - 1) / 0 < 0", "division by zero"),
        ("day > " + "9" * 310, "too large"),
        ("day > 1e400", "too large"),
        ("day > 1_000", "malformed number"),
        ("day > 0x10", "malformed number"),
    ],
)
def test_conditions_accept_only_the_documented_grammar(when: str, reason: str) -> None:
    data = {"zones": [{"id": "a", "population": {"S": 1}}],
            "policies": [{"type": "seal", "zones": ["a"], "when": when}]}
    with pytest.raises(ScenarioError) as info:
        from_dict(data)
    assert info.value.path == "policies.0.when" and reason in info.value.expected


# -- the budget: work -------------------------------------------------------------------------------


def test_ssa_with_1e10_people_over_300_days_is_refused_before_work() -> None:
    sc = parse_toml(toml('[run]\ndays = 300\nengine = "ssa"',
                         '[[zones]]\nid = "a"\npopulation = { S = 1e10, Z = 10 }\n'))
    with pytest.raises(BudgetError) as info:
        simulate(sc)
    msg = str(info.value)
    assert "events" in msg and "at most 1e+10 events" in msg and "--days" in msg


def test_a_quiet_ssa_of_many_people_is_not_refused() -> None:
    sc = from_dict({"zones": [{"id": "a", "population": {"S": 1e10}}]})  # nothing can happen
    assert check_budget(sc, "ssa", 300).work < 1e6
    assert simulate(sc, engine="ssa", days=3).counts[-1, 0, 0] == 1e10


def test_abm_with_a_tiny_step_is_refused_by_its_work() -> None:
    sc = from_dict(small(dt=0.001, days=100_000, engine="abm"))  # 1e8 steps
    with pytest.raises(BudgetError) as info:
        simulate(sc)
    assert "person-steps" in str(info.value) and "run.dt" in str(info.value)


def test_ode_work_counts_its_dense_jacobian() -> None:
    b = estimate(load("hyosan"), "ode", 365)
    assert b.work == b.states**2 * 365 and b.work_unit == "state^2-days"


# -- the budget: memory -----------------------------------------------------------------------------


def _limit(monkeypatch: pytest.MonkeyPatch, gib: float, source: str = "MemAvailable") -> None:
    monkeypatch.setattr(budget, "memory_limits", lambda: {source: int(gib * 2**30)})


def test_a_long_ode_run_is_estimated_per_day_and_refused_by_run_days(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--days 200000`` grew ~150 KB a day (SciPy's LSODA keeps its work arrays) until killed."""
    b = estimate(load("hyosan"), "ode", 100_000)
    assert b.memory > 100_000 * 100_000  # over 100 KB a day
    _limit(monkeypatch, 4.0)
    with pytest.raises(BudgetError) as info:
        simulate(load("hyosan"), engine="ode", days=100_000)
    assert info.value.path == "run.days" and "GiB" in info.value.expected and "MemAvailable" in info.value.expected


def test_run_days_from_the_api_obey_the_file_bound() -> None:
    with pytest.raises(ScenarioError) as info:
        simulate(load("sir"), days=200_000)
    assert "--days (run.days)" in str(info.value) or "run.days" in str(info.value)


def test_abm_memory_is_checked_against_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    _limit(monkeypatch, 0.4, "cgroup memory.max")
    sc = from_dict({"zones": [{"id": "a", "population": {"S": 5e7}}]})
    with pytest.raises(BudgetError) as info:
        check_budget(sc, "abm", 10)
    assert "cgroup memory.max" in str(info.value) and "0.40 GiB" in str(info.value)
    assert info.value.path == "zones" and "people on this machine" in info.value.expected


def test_ssa_memory_is_checked_against_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    _limit(monkeypatch, 0.3, "ulimit -v")
    sc = from_dict({"zones": [{"id": f"z{i}", "population": {"S": 1}} for i in range(5000)]})
    with pytest.raises(BudgetError) as info:
        check_budget(sc, "ssa", 10)
    assert "ulimit -v" in str(info.value) and "0.30 GiB" in str(info.value)


def test_ensembles_multiply_memory_by_workers_and_bound_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    one = estimate(load("sir"), "ssa", 100)
    _limit(monkeypatch, one.memory * 3.5 / 2**30)
    check_budget(load("sir"), "ssa", 100, runs=100, workers=3)
    with pytest.raises(BudgetError, match="4 workers at once"):
        check_budget(load("sir"), "ssa", 100, runs=100, workers=4)
    with pytest.raises(BudgetError, match="runs"):
        check_budget(load("sir"), "ssa", 100, runs=MAX_RUNS + 1)


def test_the_memory_limit_is_the_smallest_of_available_ulimit_and_cgroup(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"/sys/fs/cgroup/memory.max": 3 * 2**30, "/sys/fs/cgroup/memory.current": 2**30,
             "/sys/fs/cgroup/memory/memory.limit_in_bytes": 2**62}
    monkeypatch.setattr(budget, "_read_int", lambda path: files.get(path))
    monkeypatch.setattr(budget, "_meminfo", lambda key: 8 * 2**30)
    monkeypatch.setattr(budget.resource, "getrlimit", lambda _r: (budget.resource.RLIM_INFINITY,) * 2)
    assert budget.memory_limit() == (2 * 2**30, "cgroup memory.max")
    monkeypatch.setattr(budget.resource, "getrlimit", lambda _r: (budget._vm_size() + 2**29, 2**40))
    assert budget.memory_limit() == (2**29, "ulimit -v")
    files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = 2**28  # cgroup v1
    assert budget.memory_limit()[1] == "cgroup memory.limit_in_bytes"


def test_many_zones_no_zones_squared_matrix() -> None:
    """100,000 zones allocated a 100,000 x 100,000 matrix (Society's neighbours): now at most
    10,000 zones, and no array of any engine's society is zones x zones."""
    with pytest.raises(ScenarioError, match="at most 10000 item"):
        from_dict({"zones": [{"id": f"z{i}", "population": {"S": 1}} for i in range(10_001)]})
    nz = 10_000
    sc = from_dict({"zones": [{"id": f"z{i}", "population": {"S": 10, "Z": 1}} for i in range(nz)],
                    "routes": [{"from": f"z{i}", "to": f"z{i + 1}", "both_ways": True} for i in range(nz - 1)]})
    soc = Society(build_world(sc))
    assert all(np.asarray(v).size < nz * 100 for v in vars(soc).values() if isinstance(v, np.ndarray))
    with pytest.raises(BudgetError) as info:  # the ODE's dense Jacobian would be ~1 TiB
        check_budget(sc, "ode", 30)
    assert info.value.path == "zones" and "GiB" in info.value.expected


# -- run options and the command line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "flag"),
    [({"days": 200_000}, "--days"), ({"days": 0}, "--days"), ({"days": -5}, "--days"), ({"days": True}, "--days"),
     ({"seed": -1}, "--seed"), ({"seed": 2**64}, "--seed"), ({"engine": "gpu"}, "--engine")],
)
def test_run_options_obey_the_same_bounds_as_the_file(kw: dict[str, Any], flag: str) -> None:
    with pytest.raises(ScenarioError) as info:
        apply_run_options(load("sir"), **kw)
    assert info.value.path.startswith(flag) and "run." in info.value.path


def test_run_options_set_the_run_table() -> None:
    sc = apply_run_options(load("sir"), days=12, seed=3, engine="ssa")
    assert (sc.run.days, sc.run.seed, sc.run.engine) == (12, 3, "ssa")
    assert apply_run_options(load("sir")) == load("sir")


def test_run_options_the_scenario_has_are_not_validated_again() -> None:
    """A calibration's or an ensemble's runs pass the scenario's own horizon, engine and seed: the
    scenario itself comes back (it is frozen), without a second validation; a value of another type
    that compares equal (``days=True`` for 1 day, a float) is still validated, and refused."""
    sc = apply_run_options(load("sir"), days=1, seed=3, engine="ssa")
    assert apply_run_options(sc, days=1, seed=3, engine="ssa") is sc
    assert apply_run_options(sc, days=2) is not sc and apply_run_options(sc, days=2).run.days == 2
    for kw in ({"days": True}, {"days": 1.0}, {"seed": 3.0}):
        with pytest.raises(ScenarioError):
            apply_run_options(sc, **kw)


@pytest.mark.parametrize("name", builtin_names())
def test_the_builtins_fit_their_budget(name: str) -> None:
    sc = load(name)
    for engine in ("ode", "ssa", "abm"):
        assert check_budget(sc, engine).fits


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["check", "seg.toml"], "zones.0.population.S"),
        (["run", "seg.toml", "--engine", "abm", "--days", "1"], "zones.0.population.S"),
        (["run", "frac.toml", "--engine", "ssa", "--days", "1"], "a whole number of people"),
        (["check", "/dev/zero"], "a regular file"),
    ],
)
def test_command_line_refuses_in_one_line(args: list[str], text: str, tmp_path: Path) -> None:
    (tmp_path / "seg.toml").write_text(
        f'[[zones]]\nid = "a"\npopulation = {{ S = {HUGE} }}\n[[zones]]\nid = "b"\npopulation = {{ S = {HUGE} }}\n'
        '[[zones]]\nid = "c"\npopulation = { S = 10, Z = 1 }\n')
    (tmp_path / "frac.toml").write_text('[[zones]]\nid = "a"\npopulation = { S = 999.5, Z = 1 }\n')
    exe = Path(sys.executable).with_name("aftermath")
    if not exe.exists():
        pytest.skip("no aftermath console script beside this Python")
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and text in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


# -- found beside the list --------------------------------------------------------------------


def test_an_integer_too_long_for_python_is_a_clean_error() -> None:
    with pytest.raises(ScenarioError, match="at most 4300 digits"):
        parse_toml("[pathogen]\nbeta = " + "1" * 5000 + "\n" + toml(""))


def test_odd_override_paths_and_values_are_clean_errors() -> None:
    from aftermath.scenario.load import parse_value, with_overrides

    for key in ("policies.²", "zones." + "1" * 5000):  # int('²') and int of 5000 digits raised ValueError
        with pytest.raises(ScenarioError):
            with_overrides(load("hyosan"), {key: 1})
    assert parse_value("[" * 2000) == "[" * 2000  # RecursionError before: now the text, refused as a number
    with pytest.raises(ScenarioError, match="a number"):
        with_overrides(load("sir"), {"pathogen.beta": parse_value("[" * 2000)})


def test_a_condition_python_warns_about_is_an_error_without_the_warning() -> None:
    import warnings

    from aftermath.scenario.conditions import Condition, ConditionError

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConditionError, match="malformed number"):
            Condition.parse("day > 1or fear > 0")


def test_a_too_stiff_ode_stops_with_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import aftermath.engines.ode as ode

    monkeypatch.setattr(ode, "MAX_EVALS_PER_DAY", 10)
    with pytest.raises(ScenarioError) as info:
        simulate(load("sir"), engine="ode", days=3)
    assert "more than 10 evaluations on day 0" in str(info.value) and "--engine ssa" in str(info.value)


def test_an_abm_of_more_than_2_31_people_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _limit(monkeypatch, 1024.0)  # a machine with the memory for them
    sc = from_dict({"zones": [{"id": "a", "population": {"S": 3e9}}]})
    with pytest.raises(BudgetError, match="32-bit"):
        check_budget(sc, "abm", 10)


def test_an_ssa_run_stops_at_its_event_bound_whatever_the_estimate() -> None:
    from aftermath.engines.ssa import SsaEngine

    world = build_world(load("sir"))
    eng = SsaEngine(world, 0)
    eng.max_events = 1000
    with pytest.raises(ScenarioError, match="more than 1e\\+03 events by day"):
        simulate_days(eng, world, 30)


def simulate_days(eng: Any, world: Any, days: int) -> None:
    from aftermath.model.policies import Levers
    from aftermath.model.rates import daily_rates

    society = Society(world)
    levers = Levers.none(world.n_zones)
    for day in range(days):
        eng.advance_day(day, daily_rates(world, society, levers), levers)


def test_keys_are_read_by_their_toml_names_only() -> None:
    """``from_`` (the Python name of a route's ``from``) was accepted (found by the long fuzz run)."""
    data = {"zones": [{"id": "a", "population": {"S": 1}}, {"id": "b"}], "routes": [{"from_": "a", "to": "b"}]}
    with pytest.raises(ScenarioError) as info:
        from_dict(data)
    assert info.value.path == "routes.0.from_" and "did you mean 'from'" in info.value.expected


def test_the_work_bounds_scale_with_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load("hyosan")
    assert check_budget(sc, "ssa").fits
    monkeypatch.setenv(budget.SCALE_ENV, "1e-6")
    with pytest.raises(BudgetError, match="AFTERMATH_WORK_SCALE = 1e-06"):
        check_budget(sc, "ssa")
    monkeypatch.setenv(budget.SCALE_ENV, "-1")
    with pytest.raises(ScenarioError, match="a positive number"):
        check_budget(sc, "ssa")


@pytest.mark.parametrize("latency", [2.75e-82, 1e-4])
def test_a_vanishing_latency_is_refused_as_its_rate_is_unbounded(latency: float) -> None:
    """Found by the long fuzz run: latency = 2.75e-82 made the ODE's LSODA fail (sigma = 3.6e81)."""
    err = refused(toml(f"[pathogen]\nlatency = {latency}"), "pathogen.latency", "at least 0.001 days")
    assert "0 (an immediate outcome)" in err.expected
    assert parse_toml(toml("[pathogen]\nlatency = 0.001")).pathogen.latency == 0.001


def test_an_lsoda_failure_is_one_clean_error_without_its_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    import aftermath.engines.ode as ode

    class Failed:
        success, message = False, "Unexpected istate in LSODA."

    def failing(*_a: Any, **_k: Any) -> Failed:
        warnings.warn("lsoda: Repeated convergence failures", UserWarning, stacklevel=1)
        return Failed()

    monkeypatch.setattr(ode, "solve_ivp", failing)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ScenarioError, match="LSODA failed on day 0 \\(Repeated convergence failures\\)"):
            simulate(load("sir"), engine="ode", days=2)
