"""Zones and routes from a table of regions (aftermath.scenario.regions) and the built-in korea."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aftermath.engines.driver import simulate
from aftermath.scenario.load import ScenarioError, builtin_names, builtin_text, from_dict, load, parse_toml, to_dict
from aftermath.scenario.regions import (
    BUILTIN_ONLY,
    Gravity,
    Region,
    Regions,
    distances_km,
    gravity_rates,
    radiation_rates,
    read_table,
    route_rates,
)

ROWS = [
    {"id": "a", "population": 1000.0, "lat": 0.0, "lon": 0.0},
    {"id": "b", "population": 4000.0, "lat": 0.0, "lon": 1.0},
    {"id": "c", "population": 2000.0, "lat": 0.0, "lon": 3.0},
]


def scenario(**regions: Any) -> dict[str, Any]:
    return {"name": "t", "regions": {"rows": ROWS, **regions}, "run": {"days": 5}}


def test_korea_is_built_in_with_its_census_table() -> None:
    assert "korea" in builtin_names()
    rows = read_table("korea")
    assert len(rows) == 17
    assert sum(r["population"] for r in rows) == 51_791_375  # the 2020 census, as the CSV says
    sc = load("korea")
    assert [z.id for z in sc.zones] == [r["id"] for r in rows]
    assert sc.initial_population() == 51_791_375  # the seeded outbreak is taken out of Busan's S
    busan = sc.zones[sc.zone_index("busan")]
    assert busan.population.S == 3_349_016 - 480 and busan.population.Z == 120
    assert len(sc.routes) == 72  # max_routes = 3, and the reverse routes
    pop = np.array([z.population.total() for z in sc.zones])
    net = np.zeros(17)
    for r in sc.routes:  # no division drains into another: as many move each way
        net[sc.zone_index(r.from_)] -= r.rate * pop[sc.zone_index(r.from_)]
        net[sc.zone_index(r.to)] += r.rate * pop[sc.zone_index(r.from_)]
    assert np.all(np.abs(net) < 1.0)  # people per day, of rates rounded to 6 digits
    assert {z.faction for z in sc.zones} == {"government", "south", None}


def test_haversine_distances_are_the_known_ones() -> None:
    # Seoul city hall to Busan city hall: 325 km as the crow flies; a degree of longitude at the
    # equator: 111.2 km
    d = distances_km(np.array([37.5665, 35.1796, 0.0, 0.0]), np.array([126.9780, 129.0756, 0.0, 1.0]))
    assert d[0, 1] == pytest.approx(325, abs=3)
    assert d[2, 3] == pytest.approx(111.195, rel=1e-4)
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)


def test_gravity_follows_its_formula_and_mean_rate() -> None:
    pop = np.array([1000.0, 4000.0, 2000.0])
    dist = np.array([[0, 100, 300], [100, 0, 200], [300, 200, 0]], dtype=float)
    g = Gravity(a=0.5, b=1.5, c=2.0, min_km=1.0)
    r = gravity_rates(pop, dist, 0.01, g)
    flow = r * pop[:, None]
    # flow_ij / flow_ik = (P_j / P_k)^b (d_ik / d_ij)^c, and flow_ij / flow_kj = (P_i / P_k)^a (d_kj / d_ij)^c
    assert flow[0, 1] / flow[0, 2] == pytest.approx((4000 / 2000) ** 1.5 * (300 / 100) ** 2)
    assert flow[0, 1] / flow[2, 1] == pytest.approx((1000 / 2000) ** 0.5 * (200 / 100) ** 2)
    assert flow.sum() == pytest.approx(0.01 * pop.sum())  # the mean person moves at `rate`
    assert np.all(np.diag(r) == 0)
    # the floor: closer than min_km counts as min_km
    near = gravity_rates(pop, dist * 0.001, 0.01, Gravity(min_km=50.0))
    assert near[0, 1] / near[0, 2] == pytest.approx(2.0)  # equal distances: the destinations' sizes


def test_radiation_follows_its_formula() -> None:
    pop = np.array([1000.0, 4000.0, 2000.0])
    dist = np.array([[0, 100, 300], [100, 0, 200], [300, 200, 0]], dtype=float)
    r = radiation_rates(pop, dist, 0.02)
    assert r.sum(axis=1) == pytest.approx(0.02)
    # from a: b is nearest (s = 0), c has b inside its circle (s = 4000)
    t_ab = 1000 * 4000 / ((1000 + 0) * (1000 + 4000 + 0))
    t_ac = 1000 * 2000 / ((1000 + 4000) * (1000 + 2000 + 4000))
    assert r[0, 1] / r[0, 2] == pytest.approx(t_ab / t_ac)


def test_a_scenario_of_inline_rows_is_ordinary_zones_and_routes() -> None:
    sc = from_dict(scenario(rate=0.01, feral_rate=0.002, zone={"kind": "town", "wall": 0.2},
                            zones={"b": {"population": {"Z": 10}, "faction": "f"}}) |
                   {"factions": [{"id": "f"}]})
    assert [z.id for z in sc.zones] == ["a", "b", "c"]
    b = sc.zones[1]
    assert (b.kind, b.wall, b.faction, b.population.S, b.population.Z) == ("town", 0.2, "f", 3990.0, 10.0)
    assert len(sc.routes) == 6
    rates = {(r.from_, r.to): (r.rate, r.feral_rate) for r in sc.routes}
    assert all(f == pytest.approx(h * 0.2, rel=1e-5) for h, f in rates.values())
    total = sum(rates[(r["id"], o["id"])][0] * r["population"] for r in ROWS for o in ROWS if o is not r)
    assert total == pytest.approx(0.01 * 7000, rel=1e-5)
    # a dumped scenario is plain zones and routes: it reads back as itself
    data = to_dict(sc)
    assert "regions" not in data
    assert from_dict(data) == sc


def test_max_routes_keeps_the_largest_and_their_reverse_routes() -> None:
    regions = [Region.model_validate(r) for r in ROWS]
    full = route_rates(regions, Regions(rows=regions, rate=0.01))
    one = route_rates(regions, Regions(rows=regions, rate=0.01, max_routes=1))
    pop = np.array([r["population"] for r in ROWS])
    for i in range(3):
        top = int(np.argmax(full[i]))
        assert one[i, top] == full[i, top] and one[top, i] == full[top, i]  # kept both ways, as they were
    assert set(np.flatnonzero(one).tolist()) < set(np.flatnonzero(full).tolist())  # some dropped
    flow = one * pop[:, None]
    assert np.allclose(flow, flow.T)  # gravity with a = b: balanced, and pruning keeps it so
    assert route_rates(regions, Regions(rows=regions, mobility="none")).sum() == 0


@pytest.mark.parametrize(("regions", "path", "text"), [
    ({"rows": ROWS, "mobilty": "gravity"}, "regions.mobilty", "known keys"),
    ({"rows": ROWS, "mobility": "teleport"}, "regions.mobility", "gravity"),
    ({"rows": ROWS, "rate": -1.0}, "regions.rate", ">= 0"),
    ({"rows": ROWS, "data": "korea"}, "regions", "exactly one of"),
    ({}, "regions", "exactly one of"),
    ({"data": "atlantis"}, "regions.data", "built-in region tables"),
    ({"rows": ROWS, "zones": {"x": {}}}, "regions.zones.x", "one of the regions"),
    ({"rows": ROWS, "zones": {"a": {"population": {"Z": 5000}}}}, "regions.zones.a.population", "at most"),
    ({"rows": [{**ROWS[0], "lat": 91.0}]}, "regions.rows.0.lat", "<= 90"),
    ({"rows": [ROWS[0], ROWS[0]]}, "regions (row 2).id", "not used before"),
])
def test_bad_regions_are_refused_naming_the_key(regions: dict[str, Any], path: str, text: str) -> None:
    with pytest.raises(ScenarioError) as err:
        from_dict({"name": "t", "regions": regions})
    assert err.value.path == path
    assert text in err.value.expected


def test_a_csv_file_of_regions(tmp_path: Path) -> None:
    f = tmp_path / "towns.csv"
    f.write_text("# towns, made up\nid,name,population,lat,lon\nx,Ex,100,10,10\ny,Why,300,10,10.5\n")
    sc = from_dict({"name": "t", "regions": {"data": str(f)}})
    assert [(z.id, z.name, z.population.S) for z in sc.zones] == [("x", "Ex", 100.0), ("y", "Why", 300.0)]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,population,lat,lon\nx,many,1,1\n")
    with pytest.raises(ScenarioError, match="a number"):
        from_dict({"name": "t", "regions": {"data": str(bad)}})
    with pytest.raises(ScenarioError, match="missing: lat"):
        bad.write_text("id,population,lon\nx,1,1\n")
        from_dict({"name": "t", "regions": {"data": str(bad)}})


def test_a_scenario_file_reads_its_regions_csv_from_its_own_folder(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    world = tmp_path / "world"
    world.mkdir()
    (world / "towns.csv").write_text("id,population,lat,lon\nx,100,10,10\ny,300,10,10.5\n")
    (world / "w.toml").write_text('name = "w"\n[regions]\ndata = "towns.csv"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "towns.csv").write_text("id,population,lat,lon\nwrong,1,0,0\n")
    monkeypatch.chdir(elsewhere)  # not where the scenario is
    assert [z.id for z in load(str(world / "w.toml")).zones] == ["x", "y"]
    assert [z.id for z in load(Path("..") / "world" / "w.toml").zones] == ["x", "y"]
    (world / "w.toml").write_text('name = "w"\n[regions]\ndata = "none.csv"\n')
    with pytest.raises(ScenarioError, match=r"looked for .*world/none\.csv"):
        load(str(world / "w.toml"))
    # a mapping (no file of its own) reads from the current folder, as before
    assert [z.id for z in from_dict({"name": "t", "regions": {"data": "towns.csv"}}).zones] == ["wrong"]


def test_builtin_only_names_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario from a web client (``BUILTIN_ONLY``) reads built-in tables and inline rows only:
    a path is refused by key, with the same message whether the file is there or not."""
    monkeypatch.chdir(tmp_path)  # short paths: a message shortens a long value, cutting the name off
    f = Path("towns.csv")
    f.write_text("id,population,lat,lon\nx,100,10,10\n")
    msgs = []
    for path in (f, Path("missing.csv")):
        with pytest.raises(ScenarioError) as err:
            from_dict({"name": "t", "regions": {"data": str(path)}}, files=BUILTIN_ONLY)
        assert err.value.path == "regions.data" and "reads no files" in err.value.expected
        msgs.append(str(err.value).replace(str(path), "PATH"))
    assert msgs[0] == msgs[1]
    with pytest.raises(ScenarioError, match=r"regions\.data"):
        parse_toml(f'name = "t"\n[regions]\ndata = "{f}"\n', files=BUILTIN_ONLY)
    assert len(from_dict({"name": "t", "regions": {"data": "korea"}}, files=BUILTIN_ONLY).zones) == 17
    assert len(from_dict({"name": "t", "regions": {"rows": ROWS}}, files=BUILTIN_ONLY).zones) == 3
    assert [z.id for z in from_dict({"name": "t", "regions": {"data": str(f)}}).zones] == ["x"]  # the default


def small_korea(per: int = 1000) -> dict[str, Any]:
    """The built-in korea with every division's census count divided by ``per`` (the outbreak
    seeded in Busan as it is)."""
    data = tomllib.loads(builtin_text("korea"))
    rows = read_table("korea")
    data["regions"]["rows"] = [{k: r[k] for k in ("id", "name", "lat", "lon")} | {"population": float(
        round(r["population"] / per))} for r in rows]
    del data["regions"]["data"]
    return data


def test_korea_runs_on_the_abm_at_small_scale() -> None:
    """Korea at a thousandth (51,791 people), 30 days on the ABM: everyone accounted for, and the
    outbreak travels out of Busan along the gravity routes."""
    sc = from_dict(small_korea())
    r = simulate(sc, engine="abm", days=30, seed=1)
    assert r.counts[0].sum() == pytest.approx(sc.initial_population())
    assert r.counts[-1].sum() == pytest.approx(sc.initial_population())  # no births: bodies are conserved
    busan = sc.zone_index("busan")
    infected = r.counts[:, :, 1:5].sum(axis=2)  # E, H, Z, D
    assert infected[-1, busan] > 0
    assert (np.delete(infected[-1], busan) > 0).any()  # it left Busan
    assert r.route_flows.sum() > 0


def test_a_users_regions_keep_their_places_for_the_map() -> None:
    """Zones built from a table of the user's carry the rows' latitude and longitude (dumped and read
    back), and the report's map places them there; a zone given only one of the two is refused;
    a world drawn by hand has no place on a map."""
    from aftermath.report.plots_map import zone_coordinates

    sc = from_dict(scenario(rate=0.01))
    assert [(z.lat, z.lon) for z in sc.zones] == [(r["lat"], r["lon"]) for r in ROWS]
    assert from_dict(to_dict(sc)) == sc
    coords = zone_coordinates(sc)
    assert coords is not None and coords.tolist() == [[r["lat"], r["lon"]] for r in ROWS]
    assert zone_coordinates(load("hyosan")) is None
    with pytest.raises(ScenarioError, match=r"zones\.0\.lat: got 3\.0, expected lon set too"):
        from_dict({"name": "t", "zones": [{"id": "a", "lat": 3.0, "population": {"S": 10}}]})


def test_the_dashboards_map_puts_a_world_of_regions_where_it_is() -> None:
    """The dashboard draws a world of regions by latitude and longitude, as the report does: Jeju
    south of Seoul, Gangwon east of Incheon (north up: the page flips y)."""
    from aftermath.engines.driver import simulate
    from aftermath.scenario.scale import scale_population
    from aftermath.web.payload import map_payload

    res = simulate(scale_population(load("korea"), 20_000), engine="ode", days=2)
    pos = dict(zip(res.zone_ids, map_payload(res)["pos"], strict=True))
    assert pos["jeju"][1] < pos["seoul"][1] and pos["gangwon"][0] > pos["incheon"][0]
