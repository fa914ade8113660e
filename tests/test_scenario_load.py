"""Loading scenarios: the built-ins, variants, and error messages a person can act on.

Every bad input raises :class:`ScenarioError` whose message names the source file, the key path,
the offending value and what was expected (docs/scenario.md, "Error messages").
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aftermath.scenario.load import (
    ScenarioError,
    builtin_names,
    from_dict,
    load,
    parse_toml,
    parse_value,
    to_dict,
    with_overrides,
)
from aftermath.scenario.schema import HybridPolicy, Scenario, SealPolicy, SweepPolicy

BUILTINS = ("hyosan", "sir", "munz-basic", "alemi-mixed")

SMALL = """
name = "small"

[run]
days = 30

[pathogen]
beta = 0.3

[[zones]]
id = "a"
population = { S = 100, Z = 1 }

[[zones]]
id = "b"
faction = "gov"
wall = 0.5
population = { S = 50 }

[[routes]]
from = "a"
to = "b"
rate = 0.01

[[factions]]
id = "gov"

[[policies]]
type = "sweep"
zones = ["a"]
kill = 0.5
"""


# -- built-ins ----------------------------------------------------------------------------------


def test_builtin_names() -> None:
    names = builtin_names()
    assert set(BUILTINS) <= set(names)
    assert names[0] == "hyosan"  # the default comes first


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_loads(name: str) -> None:
    sc = load(name)
    assert isinstance(sc, Scenario)
    assert sc.description, "built-ins explain themselves"
    assert from_dict(to_dict(sc)) == sc  # round trip through plain data


def test_default_is_hyosan() -> None:
    assert load() == load("hyosan")


def test_sir_is_the_sir_limit() -> None:
    sc = load("sir")
    p, d = sc.pathogen, sc.defence
    assert sc.run.mixing == "frequency"
    assert math.isclose(p.beta / d.decay, 2.5)
    assert p.latency == 0 and p.p_hybrid == 0 and p.kappa == 0
    assert d.alpha == 0 and d.reanimation == 0
    assert sc.demography.death == 0 and sc.demography.births == 0
    assert len(sc.zones) == 1 and not sc.routes and not sc.policies
    pop = sc.zones[0].population
    assert pop.S + pop.Z == 100_000 and pop.Z / (pop.S + pop.Z) == 1e-4
    assert sc.run.days == 300 and sc.run.engine == "ode"


def test_munz_values() -> None:
    sc = load("munz-basic")
    assert sc.run.mixing == "mass_action"
    assert (sc.defence.alpha, sc.pathogen.beta) == (0.005, 0.0095)
    assert (sc.defence.reanimation, sc.demography.death, sc.demography.births) == (0.0001, 0.0001, 0.0)
    assert sc.defence.q == 1 and sc.pathogen.latency == 0 and sc.pathogen.p_hybrid == 0
    assert sc.society.vigilance.exhaustion == 0  # alpha is exactly Munz's
    pop = sc.zones[0].population
    assert (pop.S, pop.Z) == (499, 1)
    assert sc.run.days == 10 and round(1 / sc.run.dt) == 1 / sc.run.dt


def test_alemi_humans_survive() -> None:
    sc = load("alemi-mixed")
    assert sc.run.mixing == "mass_action"
    assert sc.defence.q == 0 and sc.defence.reanimation == 0
    ratio = sc.defence.alpha / sc.pathogen.beta
    pop = sc.zones[0].population
    assert ratio > 1 and (ratio - 1) * pop.S > pop.Z


def test_hyosan_is_coherent() -> None:
    sc = load("hyosan")
    ids = {z.id for z in sc.zones}
    assert {"city", "quarantine", "garrison", "hidden", "school", "wild"} <= ids
    assert {f.id for f in sc.factions} == {"government", "survivors"}
    living = sum(z.population.S + z.population.E + z.population.H + z.population.Z for z in sc.zones)
    assert 40_000 <= living <= 60_000
    assert sc.run.days == 365
    seal = [p for p in sc.policies if isinstance(p, SealPolicy)]
    assert seal and "quarantine" in seal[0].zones and seal[0].when == "true"
    protect = [p for p in sc.policies if isinstance(p, HybridPolicy) and p.action == "protect"]
    assert protect and protect[0].sanctuary == "hidden" and protect[0].faction == "survivors"
    cull = [p for p in sc.policies if isinstance(p, HybridPolicy) and p.action == "cull"]
    assert cull and "fear > 0.6" in cull[0].when
    sweep = [p for p in sc.policies if isinstance(p, SweepPolicy)]
    assert sweep and sweep[0].every == 14 and "city" in sweep[0].zones
    gov = sc.factions[sc.faction_index("government")]
    assert "survivors" in gov.truces
    # every zone is reachable by some route
    touched = {r.from_ for r in sc.routes} | {r.to for r in sc.routes}
    assert touched == ids


def test_load_by_path(tmp_path: Path) -> None:
    f = tmp_path / "small.toml"
    f.write_text(SMALL, encoding="utf-8")
    sc = load(f)
    assert sc.name == "small" and [z.id for z in sc.zones] == ["a", "b"]
    assert load(str(f)) == sc


# -- variants -----------------------------------------------------------------------------------


def test_with_overrides() -> None:
    base = parse_toml(SMALL, source="small.toml")
    v = with_overrides(base, {"pathogen.beta": 0.7, "zones.b.wall": 0.9, "policies.0.kill": 0.25})
    assert v.pathogen.beta == 0.7
    assert v.zones[base.zone_index("b")].wall == 0.9
    assert isinstance(v.policies[0], SweepPolicy) and v.policies[0].kill == 0.25
    # the base is untouched, and everything else carries over
    assert base.pathogen.beta == 0.3 and base.zones[1].wall == 0.5
    assert v.routes == base.routes and v.zones[0] == base.zones[0]


def test_with_overrides_on_a_builtin() -> None:
    base = load("hyosan")
    v = with_overrides(base, {"zones.school.wall": 0.95, "zones.city.population.Z": 5000, "run.days": 30})
    assert v.zones[v.zone_index("school")].wall == 0.95
    assert v.zones[v.zone_index("city")].population.Z == 5000
    assert v.run.days == 30
    assert with_overrides(base, {}) == base


def test_with_overrides_by_index_and_negative_index() -> None:
    base = parse_toml(SMALL, source="small.toml")
    v = with_overrides(base, {"routes.0.rate": 0.05, "policies.-1.every": 7})
    assert v.routes[0].rate == 0.05
    assert v.policies[-1].every == 7  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "value", "path", "shown", "expected"),
    [
        ("zones.nowhere.wall", 0.5, "zones.nowhere", "'nowhere'", "one of the ids ['a', 'b']"),
        ("policies.3.kill", 0.5, "policies.3", "'3'", "an index"),
        ("pathogen.beta.x", 1, "pathogen.beta.x", "0.3", "a table or a list"),
        ("pathogen.betta", 0.5, "pathogen.betta", "'betta'", "did you mean 'beta'"),
        ("pathogen.beta", -1, "pathogen.beta", "-1", "a number >= 0"),
        ("zones.b.wall", 2, "zones.1.wall", "2", "a number <= 1"),
    ],
)
def test_bad_override(key: str, value: object, path: str, shown: str, expected: str) -> None:
    base = parse_toml(SMALL, source="small.toml")
    with pytest.raises(ScenarioError) as info:
        with_overrides(base, {key: value})
    msg = str(info.value)
    assert msg.startswith(f"<variant>: {path}: "), msg
    assert shown in msg and expected in msg, msg
    assert info.value.source == "<variant>" and info.value.path == path


def test_parse_value() -> None:
    assert parse_value("0.3") == 0.3
    assert parse_value("7") == 7
    assert parse_value("true") is True
    assert parse_value('"text"') == "text"
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("bare words") == "bare words"


# -- bad input: one test per kind ---------------------------------------------------------------

BASE = """
[[zones]]
id = "a"
population = { S = 10, Z = 1 }

[[zones]]
id = "b"
"""


def _error(tmp_path: Path, text: str, name: str = "bad.toml") -> tuple[str, ScenarioError]:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(f)
    return str(f), info.value


def _assert_names(msg: str, source: str, path: str, value: str, expected: str) -> None:
    assert msg.startswith(f"{source}: {path}: "), msg
    assert f"got {value}" in msg, msg
    assert f"expected {expected}" in msg, msg
    for jargon in ("Input should", "Value error", "pydantic", "Traceback", "type=", "For further"):
        assert jargon not in msg, msg


def test_typo_key(tmp_path: Path) -> None:
    src, err = _error(tmp_path, BASE + "\n[pathogen]\nbetta = 0.3\n")
    _assert_names(str(err), src, "pathogen.betta", "unknown key 'betta' (set to 0.3)", "one of the known keys [")
    assert "'beta'" in str(err) and "did you mean 'beta'?" in str(err)
    assert err.path == "pathogen.betta"


def test_typo_key_in_a_policy(tmp_path: Path) -> None:
    text = BASE + '\n[[policies]]\ntype = "sweep"\nzones = ["a"]\nkil = 0.3\n'
    src, err = _error(tmp_path, text)
    _assert_names(str(err), src, "policies.0.kil", "unknown key 'kil' (set to 0.3)", "one of the known keys [")
    assert "did you mean 'kill'?" in str(err)


def test_wrong_type(tmp_path: Path) -> None:
    src, err = _error(tmp_path, '[run]\ndays = "many"\n' + BASE)
    _assert_names(str(err), src, "run.days", "'many'", "an integer")
    assert err.value == "many"


def test_negative_rate(tmp_path: Path) -> None:
    src, err = _error(tmp_path, BASE + "\n[pathogen]\nbeta = -1\n")
    _assert_names(str(err), src, "pathogen.beta", "-1", "a number >= 0")


def test_route_to_unknown_zone(tmp_path: Path) -> None:
    src, err = _error(tmp_path, BASE + '\n[[routes]]\nfrom = "a"\nto = "nowhere"\n')
    assert str(err) == f"{src}: routes.0.to: got 'nowhere', expected one of the zones ['a', 'b']"


def test_route_from_unknown_zone(tmp_path: Path) -> None:
    src, err = _error(tmp_path, BASE + '\n[[routes]]\nfrom = "x"\nto = "a"\n')
    _assert_names(str(err), src, "routes.0.from", "'x'", "one of the zones ['a', 'b']")


def test_policy_on_missing_faction(tmp_path: Path) -> None:
    text = BASE + '\n[[factions]]\nid = "government"\n\n[[policies]]\ntype = "seal"\nfaction = "gov"\n'
    src, err = _error(tmp_path, text)
    _assert_names(str(err), src, "policies.0.faction", "'gov'", "one of the factions ['government']")


def test_unparseable_condition(tmp_path: Path) -> None:
    text = BASE + '\n[[policies]]\ntype = "seal"\nzones = ["a"]\nwhen = "fear >"\n'
    src, err = _error(tmp_path, text)
    _assert_names(str(err), src, "policies.0.when", "'fear >'", "a valid condition (cannot parse")


def test_condition_with_unknown_variable(tmp_path: Path) -> None:
    text = BASE + '\n[[policies]]\ntype = "seal"\nzones = ["a"]\nuntil = "panic > 0.5"\n'
    src, err = _error(tmp_path, text)
    _assert_names(str(err), src, "policies.0.until", "'panic > 0.5'", "a valid condition (unknown variable 'panic'")
    assert "fear" in str(err)  # the known variables are listed


def test_invalid_toml(tmp_path: Path) -> None:
    text = BASE + "\n[pathogen\nbeta = 0.3\n"
    src, err = _error(tmp_path, text)
    line = text.splitlines().index("[pathogen") + 1
    _assert_names(str(err), src, f"line {line}, column 10", "'[pathogen'", "valid TOML (")
    assert "Expected ']'" in str(err)  # the parser's reason


def test_invalid_toml_value(tmp_path: Path) -> None:
    src, err = _error(tmp_path, "[run]\ndays = many\n" + BASE)
    _assert_names(str(err), src, "line 2, column 8", "'days = many'", "valid TOML (Invalid value)")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load(missing)
    msg = str(info.value)
    assert msg.startswith(f"{missing}: expected "), msg
    assert "no such file" in msg
    for name in BUILTINS:
        assert repr(name) in msg, msg  # says what would have worked


def test_misspelt_builtin(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^hyosann: expected .*'hyosan'"):
        load("hyosann")


# -- more kinds, checked the same way -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "value", "expected"),
    [
        ('[run]\nengine = "gpu"\n' + BASE, "run.engine", "'gpu'", "one of 'ode', 'ssa' or 'abm'"),
        ("[run]\ndt = 0.3\n" + BASE, "run.dt", "0.3", "a valid value (1/dt must be a whole number"),
        ("[run]\ndays = 1.5\n" + BASE, "run.days", "1.5", "an integer"),
        ("[pathogen]\nkappa = 1.5\n" + BASE, "pathogen.kappa", "1.5", "a number <= 1"),
        ("[pathogen]\nbeta = inf\n" + BASE, "pathogen.beta", "inf", "a finite number"),
        ("[pathogen]\nbeta = nan\n" + BASE, "pathogen.beta", "nan", "a finite number"),
        ("[defence]\ndisposal = -2\n" + BASE, "defence.disposal", "-2", "a number >= 0"),
        (BASE + "disposal = -2\n", "zones.1.disposal", "-2", "a number >= 0"),
        (BASE + "population = { S = -3 }\n", "zones.1.population.S", "-3", "a number >= 0"),
        (BASE + 'wall = "high"\n', "zones.1.wall", "'high'", "a number"),
        (BASE + "population = 3\n", "zones.1.population", "3", "a table"),
        (BASE + '[[zones]]\nid = "a"\n', "zones.2.id", "'a'", "an id not used before"),
        (BASE + '[[zones]]\nid = "1st"\n', "zones.2.id", "'1st'", "an id: a letter"),
        (BASE + 'faction = "nobody"\n', "zones.1.faction", "'nobody'", "one of the factions []"),
        (BASE + '[[routes]]\nfrom = "a"\nto = "a"\n', "routes.0.to", "'a'", "a zone other than"),
        (
            BASE + '[[policies]]\ntype = "nuke"\nzones = ["a"]\n',
            "policies.0.type",
            "'nuke'",
            "one of the policy types ['seal', 'admission'",
        ),
        (
            BASE + '[[policies]]\ntype = "sweep"\nzones = ["a"]\nhybrids = 3\n',
            "policies.0.hybrids",
            "3",
            "true or false",
        ),
        (
            BASE + '[[policies]]\ntype = "sweep"\nzones = ["nowhere"]\n',
            "policies.0.zones.0",
            "'nowhere'",
            "one of the zones ['a', 'b']",
        ),
        (
            BASE + '[[policies]]\ntype = "hybrids"\naction = "protect"\nzones = ["a"]\nsanctuary = "x"\n',
            "policies.0.sanctuary",
            "'x'",
            "one of the zones ['a', 'b']",
        ),
        (
            BASE + '[[policies]]\ntype = "hybrids"\naction = "eat"\nzones = ["a"]\n',
            "policies.0.action",
            "'eat'",
            "one of 'protect', 'isolate', 'cull' or 'ignore'",
        ),
        (BASE + '[[policies]]\ntype = "seal"\n', "policies.0.zones", "[]", "a faction or at least one zone"),
        (
            BASE + '[[factions]]\nid = "f"\ntruces = ["g"]\n',
            "factions.0.truces.0",
            "'g'",
            "another faction of ['f']",
        ),
    ],
)
def test_other_bad_values(tmp_path: Path, text: str, path: str, value: str, expected: str) -> None:
    src, err = _error(tmp_path, text)
    _assert_names(str(err), src, path, value, expected)


def test_missing_required_key(tmp_path: Path) -> None:
    src, err = _error(tmp_path, "[run]\ndays = 3\n")
    assert str(err) == f"{src}: zones: expected this key to be set (it is required)"
    src, err = _error(tmp_path, BASE + '[[routes]]\nfrom = "a"\n')
    assert str(err) == f"{src}: routes.0.to: expected this key to be set (it is required)"


def test_policy_without_type(tmp_path: Path) -> None:
    src, err = _error(tmp_path, BASE + '[[policies]]\nzones = ["a"]\n')
    msg = str(err)
    assert msg.startswith(f"{src}: policies.0.type: expected this key to be set to one of the policy types"), msg


def test_builtin_source_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"^<builtin hyosan>: "):
        from_dict({**to_dict(load("hyosan")), "extra": 1}, source="<builtin hyosan>")


def test_scenario_error_fields(tmp_path: Path) -> None:
    src, err = _error(tmp_path, BASE + "\n[pathogen]\nbeta = -1\n")
    assert (err.source, err.path, err.value) == (src, "pathogen.beta", -1)
    assert "0" in err.expected
    assert isinstance(err, ValueError)


def test_non_utf8_file(tmp_path: Path) -> None:
    f = tmp_path / "latin1.toml"
    f.write_bytes(b'name = "caf\xe9"\n' + BASE.encode())
    with pytest.raises(ScenarioError, match=r"readable UTF-8 TOML"):
        load(f)
