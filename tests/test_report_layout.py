"""The report's figures are laid out to be read: titles clear of each other, a country's map drawn
by its coordinates with its labels clear of each other, the People section's timelines labelled
truthfully."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.transforms import Bbox

from aftermath.api import load, simulate
from aftermath.model.world import build_world
from aftermath.report import plots, plots_map
from aftermath.scenario.regions import distances_km
from aftermath.scenario.scale import scale_population


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def korea():
    """South Korea's 17 regions (a world built from a table with coordinates), a few people."""
    return simulate(scale_population(load("korea"), 20_000), engine="ode", days=20)


@pytest.fixture(scope="module")
def hyosan():
    return simulate(load("hyosan"), engine="ode", days=10)


def _meet(a: Bbox, b: Bbox, tol: float = 0.5) -> bool:
    """Whether two boxes share more than a sliver (``tol`` pixels)."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def _titles_clear(fig) -> None:
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    sup = fig._suptitle
    assert sup is not None and sup.get_text()
    top = sup.get_window_extent(renderer)
    titles = [(ax.get_title(), ax.title.get_window_extent(renderer)) for ax in fig.axes if ax.get_title()]
    assert titles
    for text, box in titles:
        assert not _meet(top, box), f"the figure's title {sup.get_text()!r} is drawn on {text!r}"
    for (ta, a), (tb, b) in itertools.combinations(titles, 2):
        assert not _meet(a, b), f"{ta!r} is drawn on {tb!r}"
    for ax in fig.axes:  # nor on a panel, its ticks or its legend
        assert not _meet(top, ax.get_tightbbox(renderer)), f"the figure's title is drawn on {ax.get_title()!r}"


@pytest.mark.parametrize("world", ["korea", "hyosan"])
def test_the_run_overview_titles_never_overlap(world, request):
    """Was: korea's overview (17 zones, a tall figure) drew "Korea (agent-based engine, seed 0)" on
    "everyone, over time": tight_layout left the figure's title no room."""
    fig = plots.plot_run(request.getfixturevalue(world))
    _titles_clear(fig)


def test_a_world_of_regions_is_mapped_by_its_coordinates(korea):
    pos, geo = plots_map.positions(korea)
    assert geo
    at = {z: pos[i] for i, z in enumerate(korea.zone_ids)}
    # Jeju is the island far south of the capital, Busan the south-east port, Gangwon the north-east
    assert at["jeju"][1] < at["gwangju"][1] < at["daejeon"][1] < at["seoul"][1]
    assert at["jeju"][1] == pos[:, 1].min()
    assert at["busan"][0] > at["gwangju"][0] and at["incheon"][0] < at["seoul"][0]
    assert at["gangwon"][0] > at["seoul"][0] and at["gangwon"][1] > at["daejeon"][1]
    # one scale for both axes: distances on the map follow distances on the ground
    coords = plots_map.zone_coordinates(korea.scenario)
    assert coords is not None
    km = distances_km(coords[:, 0], coords[:, 1])
    drawn = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    far = km > 50
    ratio = drawn[far] / km[far]
    assert ratio.max() / ratio.min() < 1.05
    assert (pos >= 0).all() and (pos <= 1).all()
    # and the maps draw the zones there
    for fig in (plots_map.plot_map(korea, 5), plots_map.plot_map_days(korea)):
        drawn_at = np.asarray(fig.axes[0].collections[0].get_offsets())
        np.testing.assert_allclose(np.sort(drawn_at, axis=0), np.sort(pos, axis=0))


def test_a_world_without_coordinates_keeps_its_spring_layout(hyosan):
    assert plots_map.zone_coordinates(hyosan.scenario) is None
    pos, geo = plots_map.positions(hyosan)
    world = build_world(hyosan.scenario)
    edges = list(zip(world.route_from.tolist(), world.route_to.tolist(), strict=True))
    assert not geo
    np.testing.assert_array_equal(pos, plots_map.layout(world.n_zones, edges))


def test_zones_that_carry_coordinates_are_placed_by_them():
    north = SimpleNamespace(id="north", lat=60.0, lon=10.0)
    south = SimpleNamespace(id="south", lat=50.0, lon=10.0)
    east = SimpleNamespace(id="east", lat=55.0, lon=20.0)
    coords = plots_map.zone_coordinates(SimpleNamespace(zones=[north, south, east]))
    np.testing.assert_array_equal(coords, [[60, 10], [50, 10], [55, 20]])
    pos = plots_map.geo_layout(coords[:, 0], coords[:, 1])
    assert pos[0, 1] > pos[2, 1] > pos[1, 1] and pos[2, 0] > pos[0, 0] == pos[1, 0]
    # 10 degrees of longitude at 55 N are about 5.7 degrees of latitude on the ground
    width, height = pos[2, 0] - pos[0, 0], pos[0, 1] - pos[1, 1]
    assert width / height == pytest.approx(np.cos(np.radians(55.0)), rel=1e-9)
    assert plots_map.zone_coordinates(SimpleNamespace(zones=[SimpleNamespace(id="nowhere")])) is None


def _labels(ax) -> list:
    return [t for t in ax.texts if hasattr(t, "zone")]


@pytest.mark.parametrize("small", [True, False])
def test_a_maps_labels_do_not_pile_up(korea, small):
    """Was: the spring layout put Jeju beside Seoul and the 17 names and counts on top of each other.
    Each zone is named once per map; no label covers another, nor another zone's node."""
    fig = plots_map.plot_map_days(korea) if small else plots_map.plot_map(korea, 10)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    maps = [ax for ax in fig.axes if ax.get_visible() and ax.get_title().startswith("day")]
    assert len(maps) == (5 if small else 1)
    names = {z.id: z.name for z in korea.scenario.zones}
    for ax in maps:
        labels = _labels(ax)
        assert sorted(t.zone for t in labels) == list(range(len(korea.zone_ids)))
        for t in labels:
            assert t.get_text().split("\n")[0] in names[korea.zone_ids[t.zone]]
        boxes = [plots_map.text_box(t, renderer) for t in labels]  # the text (its line to its node may cross)
        for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
            assert not _meet(a, b, tol=1.0), f"{labels[i].get_text()!r} covers {labels[j].get_text()!r}"
        # drawn largest first: each zone's node found by where it is
        nodes, pos = ax.collections[0], plots_map.positions(korea)[0]
        node = [int(np.argmin(np.linalg.norm(nodes.get_offsets() - p, axis=1))) for p in pos]
        radii = np.sqrt(nodes.get_sizes()[node]) / 2 * fig.dpi / 72  # a marker's size: its diameter squared
        centres = ax.transData.transform(pos)
        for t, box in zip(labels, boxes, strict=True):
            for k, (c, r) in enumerate(zip(centres, radii, strict=True)):
                if k != t.zone:  # (its own node: the label sits beside it)
                    gap = np.hypot(max(box.x0 - c[0], c[0] - box.x1, 0.0), max(box.y0 - c[1], c[1] - box.y1, 0.0))
                    assert gap >= r, f"{t.get_text()!r} covers {korea.zone_ids[k]}'s node"


def test_a_people_section_labels_the_fate_with_the_runs_end_and_capitalises_its_heading():
    from aftermath.report.html import people_html

    res = simulate(load("hyosan", cast=4), engine="abm", days=60)
    section = people_html(res)
    assert "<h3>Who the official record leaves out</h3>" in section
    assert "who the official record leaves out" not in section
    fates = section.count("<td>End (day 60)</td>")
    assert fates == 4  # one per life, whatever befell them: the run's end, not a day of death
    assert "<td>Day 60</td>" not in section or "On day 60" in section
