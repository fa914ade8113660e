"""Each figure is drawn with the elements it promises, for tiny runs (ODE engine, few days)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import FancyArrowPatch

from aftermath.api import load, simulate
from aftermath.model.world import build_world
from aftermath.report import ensemble as ens
from aftermath.report import plots, plots_map, plots_story, plots_virus

DAYS = 20


@pytest.fixture(scope="module")
def run():
    return simulate(load("hyosan"), engine="ode", days=DAYS)


@pytest.fixture(scope="module")
def runs():
    return [simulate(load("hyosan", pathogen__beta=b), engine="ode", days=DAYS) for b in (0.2, 0.3, 0.4)]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _evolved(run):
    """The run with a made-up phylogeny of 5 strains (founder -> a -> b, founder -> c, a -> d)."""
    import copy

    res = copy.copy(run)
    res.extras = dict(run.extras)
    res.extras["strains"] = pd.DataFrame({
        "strain": ["founder", "a", "b", "c", "d"], "parent": ["", "founder", "a", "founder", "a"],
        "day": [0, 3, 8, 5, 12], "zone": ["city"] * 5,
        "beta": [0.3, 0.33, 0.4, 0.28, 0.35], "p_hybrid": [0.15, 0.12, 0.1, 0.2, 0.14],
        "relapse": 0.01, "latency": 3.0, "breach": 0.05, "stealth": 0.1,
    })
    counts = np.zeros((DAYS + 1, 5))
    for i, born in enumerate([0, 3, 8, 5, 12]):
        counts[born:, i] = 10.0 * (i + 1)
    res.strain_counts = counts
    return res


def test_spectrum_stacks_every_state(run):
    fig = plots.plot_spectrum(run)
    ax = fig.axes[0]
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 6  # the removed too: everyone
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "susceptible", "latent", "hybrid", "feral", "corpse", "removed"]
    assert ax.get_xlabel() == "day"


def test_zone_curves_single_run_is_one_panel_per_zone(run):
    fig = plots.plot_zone_curves(run)
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == len(run.zone_ids)
    assert [a.get_title() for a in visible] == [z.name or z.id for z in run.scenario.zones]  # names, not ids
    assert any(z.name and z.name != z.id for z in run.scenario.zones)
    assert all(len(a.get_lines()) == 6 for a in visible)  # S, E, H, Z and the dead and removed (dashed)


def test_zone_curves_of_an_ensemble_have_bands(runs):
    fig = plots.plot_zone_curves(runs)
    ax = fig.axes[0]
    # per state (the dead and removed included): a 90% band, a 50% band and a median line
    assert len(ax.get_lines()) == 6
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 12
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "50% band" in labels and "90% band" in labels


def test_quantile_frame_is_ordered_and_has_the_world(runs):
    q = ens.quantile_frame(runs)
    assert list(q.columns) == ["day", "zone", "state", "q05", "q25", "q50", "q75", "q95"]
    assert (q["q05"] <= q["q25"]).all() and (q["q25"] <= q["q50"]).all() and (q["q75"] <= q["q95"]).all()
    world = q[(q["zone"] == "all") & (q["state"] == "S") & (q["day"] == 0)]
    assert world["q50"].iloc[0] == pytest.approx(runs[0].counts[0, :, 0].sum())
    # the same picture from the frame as from the runs
    fig = plots.plot_zone_curves(q)
    assert len([a for a in fig.axes if a.get_visible()]) == len(runs[0].zone_ids)
    fig2 = plots.plot_spectrum(q)
    assert "medians" in fig2.axes[0].get_title()


def test_quantile_frame_missing_columns_is_an_error():
    with pytest.raises(ValueError, match="q95"):
        plots.plot_zone_curves(pd.DataFrame({"day": [0], "zone": ["a"], "state": ["S"], "q50": [1.0]}))


def test_layout_is_deterministic_and_inside_the_unit_square():
    edges = [(0, 1), (1, 2), (2, 0), (2, 3)]
    a, b = plots_map.layout(4, edges), plots_map.layout(4, edges)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 2) and (a >= 0).all() and (a <= 1).all()
    assert np.min([np.linalg.norm(a[i] - a[j]) for i in range(4) for j in range(i)]) > 0.1


def test_map_has_a_node_per_zone_and_an_arrow_per_route(run):
    world = build_world(run.scenario)
    fig = plots_map.plot_map(run, day=10)
    ax = fig.axes[0]
    nodes = ax.collections[0]
    assert len(nodes.get_offsets()) == world.n_zones
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == world.n_routes
    # walls are rims: the walled garrison's rim is thicker than the open city's
    widths = nodes.get_linewidths()
    assert widths[run.zone_ids.index("garrison")] > widths[run.zone_ids.index("city")]
    # node area follows people; colour follows fear
    np.testing.assert_allclose(nodes.get_array(), run.fear[10])
    assert ax.get_title() == "day 10"
    # zones and factions by their names (wrapped), not their ids
    labels = [t.get_text().replace("\n", " ") for t in ax.texts]
    assert "Eastern quarantine district" in labels and "quarantine" not in labels
    assert all(len(line) <= plots_map.LABEL_WIDTH for z in run.scenario.zones for t in ax.texts
               if t.get_text().replace("\n", " ") == z.name for line in t.get_text().split("\n"))
    truces = [t for t in labels if "truce" in t]
    assert truces == ["The Provisional Government - The survivors' network: truce"]
    assert any("The Provisional Government" in t and "people" in t for t in labels)  # under a zone of theirs
    assert fig.axes[-1].get_ylabel() == "fear"  # the colour bar


def test_map_small_multiples(run):
    fig = plots_map.plot_map_days(run, [0, 5, 10, 20])
    maps = [a for a in fig.axes if a.get_visible() and a.get_title().startswith("day")]
    assert [a.get_title() for a in maps] == ["day 0", "day 5", "day 10", "day 20"]
    # the names fit small maps: a zone's on at most three lines (two cut "Eastern quarantine
    # district" to "Eastern quarantine …"), the truces' lines short enough for one
    for ax in maps:
        texts = [t.get_text() for t in ax.texts]
        assert "Fort Namsan\ngarrison" in texts and "Eastern\nquarantine\ndistrict" in texts
        assert max(t.count("\n") for t in texts if "truce" not in t) <= 2
        truce = next(t for t in texts if "truce" in t)
        assert "The Provisional Government" in truce.replace("\n", " ")
        assert max(len(line) for line in truce.split("\n")) <= 40


def test_phylogeny_draws_each_strain_and_its_link(run):
    res = _evolved(run)
    fig = plots_virus.plot_phylogeny(res)
    lines = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines[0].get_segments()) == 5  # one horizontal line per strain
    assert len(lines[1].get_segments()) == 4  # one link per child
    assert "5 strains" in fig.axes[0].get_title()
    y = plots_virus.tree_positions(res.strains_frame())
    # a parent sits between its children
    assert min(y[2], y[4]) <= y[1] <= max(y[2], y[4])


def test_tree_positions_survive_a_deep_tree():
    n = 5000
    df = pd.DataFrame({"strain": [f"s{i}" for i in range(n)], "parent": [""] + [f"s{i}" for i in range(n - 1)],
                       "day": np.arange(n)})
    y = plots_virus.tree_positions(df)
    assert np.all(y == 0.0)


def test_trait_drift_is_weighted_by_counts(run):
    res = _evolved(run)
    d = plots_virus.trait_drift(res)
    beta = d[d["trait"] == "beta"].set_index("day")["mean"]
    assert beta[0] == pytest.approx(0.3)
    w = np.array([10, 20, 30, 40, 50.0])
    assert beta[DAYS] == pytest.approx((w * [0.3, 0.33, 0.4, 0.28, 0.35]).sum() / w.sum())
    fig = plots_virus.plot_trait_drift(res)
    assert [a.get_ylabel() for a in fig.axes] == ["transmissibility β", "hybrid share"]  # was "... p_hybrid"
    fig = plots_virus.plot_phylogeny(res, colour_by="p_hybrid")
    assert fig.axes[-1].get_ylabel() == "hybrid share"  # the colour bar, in words


def test_chronicle_timeline_has_zone_rows_and_policy_bars(run):
    fig = plots_story.plot_chronicle(run)
    ax, axp = fig.axes[:2]
    # zones by their names (wrapped), not their ids
    rows = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert rows == ["(world)", *(z.name or z.id for z in run.scenario.zones)]
    assert "Eastern quarantine district" in rows and "quarantine" not in rows
    assert [t.get_text() for t in axp.get_yticklabels()] == [plots_story._short(s, 34) for s in run.policy_labels]
    kinds = {e.kind for e in run.chronicle} - set(plots_story.SPAN_KINDS)
    assert len(ax.get_legend().get_texts()) == len(kinds)


def test_chronicle_labels_do_not_overlap_or_repeat_their_row():
    """A row's labels ran into each other ("Eastern quarantine district ran out Eastern quarantine
    district fell: ..."; hyosan's agent-based year, seed 7): a label goes below its marker, else
    above, else none; and it leaves out the zone's name, which its row already shows."""
    run = simulate(load("hyosan"), engine="abm", seed=7)
    fig = plots_story.plot_chronicle(run)
    ax = fig.axes[0]
    fig.canvas.draw()
    boxes = [(t.get_window_extent(), t.xy[1], t.get_text()) for t in ax.texts]
    assert boxes
    names = [z.name or z.id for z in run.scenario.zones]
    for i, (a, row_a, text_a) in enumerate(boxes):
        assert not any(text_a.startswith(n + " ") for n in names), text_a
        for b, row_b, text_b in boxes[i + 1:]:
            if row_a == row_b:
                assert not a.overlaps(b), (text_a, text_b)


def test_official_record_has_a_panel_per_faction(run):
    fig = plots_story.plot_official_record(run)
    titles = [a.get_title() for a in fig.axes]
    names = {f.id: f.name or f.id for f in run.scenario.factions}
    assert titles == [names[f] for f in run.faction_ids]  # by their names, not their ids
    assert titles == ["The Provisional Government", "The survivors' network"]
    labels = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert labels == ["official record", "left out"]


def test_comparison_points_and_bars():
    df = pd.DataFrame({
        "variant": ["base"] * 5 + ["cull"] * 5,
        "metric": ["lives_saved", "killed_by_policy", "culled", "turned_away_attempts",
                   "turned_away_attempts_healthy"] * 2,
        "mean": [0.0, 10, 10, 5, 2, 40, 200, 200, 5, 2], "lo": [0.0, 8, 8, 4, 1, 20, 150, 150, 4, 1],
        "hi": [0.0, 12, 12, 6, 3, 60, 250, 250, 6, 3],
    })
    fig = plots_story.plot_comparison(df)
    ax, axc = fig.axes
    assert ax.get_ylabel() == "lives saved vs baseline"
    assert ax.get_xlabel() == "killed by policy"
    assert len(ax.containers) == 2  # one error-bar point per variant
    # the costs in the words of the report's tables, "of which" under what they are part of (was
    # "turned away attempts healthy")
    assert [t.get_text().replace("\n", " ") for t in axc.get_yticklabels()] == [
        "killed by policy", "of which hybrids culled", "crossings refused at gates (attempts)",
        "of which crossings by healthy people refused (attempts)"]
    assert [t.get_text() for t in axc.get_legend().get_texts()] == ["base", "cull"]


def test_comparison_frame_pairs_replicates(runs):
    cmp = ens.comparison_frame({"base": runs[:2], "other": runs[1:]}, baseline="base")
    assert set(cmp.columns) == {"variant", "metric", "mean", "lo", "hi", "engine", "source"}
    base_saved = cmp[(cmp["variant"] == "base") & (cmp["metric"] == "lives_saved")]
    assert base_saved["mean"].iloc[0] == 0.0


def test_run_overview_still_works(run):
    fig = run.plot()
    assert len(fig.axes) == 2 + len(run.zone_ids)  # everyone over time, deaths by cause, each zone


def test_comparison_nests_each_cost_under_the_one_it_is_part_of():
    """Was: "of which" only under the row directly above, so hybrids killed in sweeps (part of
    killed by policy, like hybrids culled) read as a cost of its own; and starved (part of deaths,
    which the figure does not show) must not read "of which"."""
    metrics = ["lives_saved", "killed_by_policy", "culled", "hybrids_swept", "starved"]
    df = pd.DataFrame([{"variant": v, "metric": m, "mean": 1.0, "lo": 0.0, "hi": 2.0}
                       for v in ("base", "cull") for m in metrics])
    _, axc = plots_story.plot_comparison(df).axes
    assert [t.get_text().replace("\n", " ") for t in axc.get_yticklabels()] == [
        "killed by policy", "of which hybrids culled", "of which hybrids killed in sweeps", "starved"]


def test_figures_do_not_import_the_report_that_imports_them():
    """Was: plots_map and plots_story imported html's private _faction_names and _costs_in_words
    (html imports them): the helpers live in record/vocabulary.py now."""
    import ast
    import inspect

    for module in (plots_map, plots_story):
        tree = ast.parse(inspect.getsource(module))
        froms = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "aftermath.report.html" not in froms, module.__name__
