"""The world as a graph: zones as nodes, routes as arrows, on a deterministic layout.

Node area is proportional to the zone's people (humans: S + E + H, ferals not counted), node
colour is its fear (``cividis``, readable under colour-vision deficiencies and in greyscale), the
thickness of a node's rim is its wall. Routes are curved arrows (both directions of a road stay
visible) whose width grows with the day's traffic; a route that is closed that day (a sealed zone,
or two factions without a truce) is drawn dashed and grey. Sealed zones get a dotted outer ring.
Truces between factions are listed under the map.

Where the zones have coordinates (a world built from a table of regions, docs/regions.md), the map
is a map: :func:`zone_coordinates` finds each zone's latitude and longitude and :func:`geo_layout`
places it there (equirectangular, longitudes scaled by the cosine of the mean latitude, north up).
The nodes of such a map are smaller and drawn largest first, and each zone's name and count is
placed where it overlaps no other label and no other node (:func:`place_labels`), joined to its
node by a thin line when it had to move away from it. Other worlds have no geography: networkx is
not a dependency, and :func:`layout` is a small Fruchterman-Reingold spring layout started from a
circle, with no randomness, so the same world always gets the same picture.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox
from numpy.typing import NDArray

from aftermath.model.flows import RouteFlow
from aftermath.model.world import State, build_world
from aftermath.record.measures import humans
from aftermath.record.vocabulary import faction_names
from aftermath.report.plots import _fig_ax, _zone_names

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase

    from aftermath.result import Result
    from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]
FEAR_CMAP = "cividis"
#: Largest node, in points squared (area scales with people).
MAX_NODE = 2600.0
MIN_NODE = 60.0
#: A zone's name on the map is wrapped to lines of at most this many characters.
LABEL_WIDTH = 14
#: On a geographic map zones sit where they are, often closer than two spring-layout nodes: their
#: nodes' areas are this share of a spring layout's.
GEO_NODE = 0.35
#: The scale of the small multiples' maps (:func:`plot_map_days`).
SMALL = 0.65
#: Room around a geographic map for the labels, in the units of its layout (the country's longer
#: side is 0.84): beside it (names are wide) and above and below.
GEO_PAD = (0.22, 0.07)


# -- where the zones are ------------------------------------------------------------------------

def zone_coordinates(scenario: Scenario) -> F64 | None:
    """``[zone, (lat, lon)]`` in degrees, in the scenario's zone order, or None for a world without
    geography.

    Every zone must carry ``lat`` and ``lon`` (a ``[regions]`` table sets them from its rows).
    """
    zones = list(scenario.zones)
    if not zones:
        return None
    own = [(getattr(z, "lat", None), getattr(z, "lon", None)) for z in zones]
    if all(isinstance(a, int | float) and isinstance(b, int | float) for a, b in own):
        return np.array(own, dtype=np.float64)
    return None


def geo_layout(lat: F64, lon: F64) -> F64:
    """Positions in [0, 1]^2 of points at ``lat``, ``lon`` (degrees): an equirectangular projection
    (x = lon * cos(mean lat), y = lat: north up, east right), scaled by one factor so that shapes
    and distances keep their proportions, fitted into [0.08, 0.92] and centred."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    n = lat.size
    if n == 0:
        return np.zeros((0, 2))
    x = lon * np.cos(np.radians(float(lat.mean())))
    pos = np.column_stack([x, lat])
    pos -= pos.min(axis=0)
    span = float(pos.max())
    out: F64 = 0.08 + 0.84 * pos / span if span > 0 else np.full((n, 2), 0.5)
    out += (1.0 - out.max(axis=0) - out.min(axis=0)) / 2  # centre
    return out


def positions(result: Result) -> tuple[F64, bool]:
    """Where a run's zones are drawn, and whether that is geography: by their coordinates where
    the world has them (:func:`zone_coordinates`), else the spring :func:`layout` of its routes."""
    coords = zone_coordinates(result.scenario)
    world = build_world(result.scenario)
    if coords is not None and len(coords) == world.n_zones:
        return geo_layout(coords[:, 0], coords[:, 1]), True
    edges = list(zip(world.route_from.tolist(), world.route_to.tolist(), strict=True))
    return layout(world.n_zones, edges), False


def layout(n: int, edges: Sequence[tuple[int, int]], iterations: int = 200) -> F64:
    """Deterministic positions in [0, 1]^2 for ``n`` nodes joined by ``edges``.

    Fruchterman-Reingold: all nodes repel, joined nodes attract; starts on a circle (node 0 at the
    top, clockwise) and cools linearly. Same input, same output.
    """
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.array([[0.5, 0.5]])
    ang = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    pos = np.column_stack([np.cos(ang), np.sin(ang)])
    adj = np.zeros((n, n))
    for a, b in edges:
        if a != b:
            adj[a, b] = adj[b, a] = 1.0
    k = 1.0 / np.sqrt(n) * 1.6
    temp = 0.2
    for it in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        force = (k * k / dist**2 - adj * dist / k)[:, :, None] * delta
        disp = force.sum(axis=1)
        length = np.maximum(np.linalg.norm(disp, axis=1, keepdims=True), 1e-9)
        pos = pos + disp / length * np.minimum(length, temp * (1 - it / iterations) + 1e-3)
    pos -= pos.min(axis=0)
    span = pos.max(axis=0)
    span[span == 0] = 1.0
    out: F64 = 0.08 + 0.84 * pos / span.max()
    out += (1.0 - out.max(axis=0) - out.min(axis=0)) / 2  # centre
    return out


def plot_map(result: Result, day: int | None = None, ax: Axes | None = None, *, colorbar: bool = True,
             legend: bool = True, pos: F64 | None = None, max_people: float | None = None,
             scale: float = 1.0, geographic: bool | None = None, labels: bool = True) -> Figure:
    """The world on ``day`` (default: the last): people, fear, walls, routes and truces.

    ``scale`` shrinks nodes, rims, arrows and labels together (small multiples use about 0.5);
    ``pos`` and ``max_people`` let several maps share one layout and one size scale. Without
    ``pos`` the zones are placed by :func:`positions` (their coordinates where they have them);
    ``geographic`` says whether a given ``pos`` is geography (default: whether the world has
    coordinates). A geographic map's labels are placed clear of each other (:func:`label_map`),
    after everything else is drawn: ``labels=False`` leaves that to the caller (a figure of several
    maps lays itself out first).
    """

    if pos is None:
        pos, geo = positions(result)
    else:
        geo = zone_coordinates(result.scenario) is not None if geographic is None else geographic
    fig, ax = _fig_ax(ax, (8.0, 8.0) if geo else (7.5, 6.5))  # a map of many close zones needs room
    world = build_world(result.scenario)
    t = result.days if day is None else int(np.clip(day, 0, result.days))
    edges = list(zip(world.route_from.tolist(), world.route_to.tolist(), strict=True))
    living = humans(result.counts)  # the people: S + E + H (aftermath.record.measures)
    people = living[t]
    top = float(max_people if max_people is not None else living.max()) or 1.0
    sizes = node_sizes(people, top, scale, geo)
    fday = min(t, result.days - 1)  # day-indexed arrays have one row fewer than time-indexed ones
    flows = result.route_flows[fday, RouteFlow.HUMANS] + result.route_flows[fday, RouteFlow.FERALS] \
        if result.days else np.zeros(world.n_routes)
    open_ = _routes_open(result, world, fday)
    width_ref = max(float(np.max(flows, initial=0.0)), 1.0)
    radius_pt = np.sqrt(sizes / np.pi)
    for r, (a, b) in enumerate(edges):
        w = (0.6 + 3.4 * np.sqrt(flows[r] / width_ref)) * max(scale, 0.4) * (0.5 if geo else 1.0)
        style = {"color": "0.35", "lw": w, "ls": "-"} if open_[r] else {"color": "0.7", "lw": 0.8, "ls": "--"}
        ax.add_patch(FancyArrowPatch(
            tuple(pos[a]), tuple(pos[b]), connectionstyle="arc3,rad=0.12", arrowstyle="-|>",
            mutation_scale=8 + w * 2, shrinkA=radius_pt[a] + 2, shrinkB=radius_pt[b] + 2,
            zorder=1, **style))
    norm = mcolors.Normalize(0.0, 1.0)
    rim = (0.5 + 5.5 * world.wall) * scale
    # a geographic map's nodes overlap where zones are close (a capital and its province): the
    # largest are drawn first, so that none hides a smaller one
    order = np.argsort(-sizes, kind="stable") if geo else np.arange(world.n_zones)
    sc = ax.scatter(pos[order, 0], pos[order, 1], s=sizes[order], c=result.fear[t][order], cmap=FEAR_CMAP,
                    norm=norm, edgecolors="black", linewidths=rim[order].tolist(), zorder=2)
    sealed = result.sealed[fday] if result.days else np.zeros(world.n_zones, dtype=bool)
    if sealed.any():
        ax.scatter(pos[sealed, 0], pos[sealed, 1], s=(np.sqrt(sizes[sealed]) + 14 * scale) ** 2,
                   facecolors="none", edgecolors="#CC79A7", linewidths=1.8 * scale, linestyles=":", zorder=1.5)
    zones, factions = _zone_names(result), faction_names(result.scenario)
    # a geographic map's labels are placed by label_map, once the figure is laid out
    for z, zid in enumerate(() if geo else world.zone_ids):
        f = world.zone_faction[z]
        sub = f"{people[z]:,.0f}" + (" people" if scale >= 0.8 else "")
        if f >= 0 and scale >= 0.8:
            sub += "\n" + _wrap(factions.get(world.faction_ids[f], world.faction_ids[f]), LABEL_WIDTH + 4)
        # nearly opaque: the routes' arrows pass under the labels and hid the counts
        box = {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.9}
        name = _wrap(zones.get(zid, zid), LABEL_WIDTH, lines=None if scale >= 0.8 else 3)
        ax.annotate(name, pos[z], xytext=(0, radius_pt[z] + 2 + 4 * scale), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9 * max(scale, 0.8), weight="bold", zorder=3, bbox=box)
        ax.annotate(sub, pos[z], xytext=(0, -radius_pt[z] - 2 - 4 * scale), textcoords="offset points",
                    ha="center", va="top", fontsize=7.5 * max(scale, 0.85), color="0.2", zorder=3, bbox=box)
    xlim, ylim = geo_limits(pos) if geo else ((-0.05, 1.05), (-0.08, 1.08))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"day {t}")
    truces = _truce_text(result, [factions.get(f, f) for f in world.faction_ids], t,
                         width=90 if scale >= 0.8 else 40)
    if truces:
        ax.text(0.5, -0.02, truces, transform=ax.transAxes, ha="center", va="top", fontsize=8 * max(scale, 0.85))
    if colorbar:
        fig.colorbar(sc, ax=ax, shrink=0.6, label="fear")
    if legend:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color="0.35", lw=2, label="route (width: traffic)"),
            Line2D([], [], color="0.7", lw=0.8, ls="--", label="route closed"),
            Line2D([], [], marker="o", ls="", mfc="white", mec="black", mew=4, ms=10, label="thick rim: wall"),
            Line2D([], [], marker="o", ls="", mfc="none", mec="#CC79A7", ms=12, mew=1.6, label="sealed"),
        ]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False,
                  borderaxespad=0.0)
    if geo and labels:
        label_map(ax, result, t, pos, sizes, scale)
    return fig


def geo_limits(pos: F64) -> tuple[tuple[float, float], tuple[float, float]]:
    """A geographic map's x and y limits: the country, with room for labels beside (:data:`GEO_PAD`)."""
    (x0, y0), (x1, y1) = pos.min(axis=0), pos.max(axis=0)
    return (float(x0) - GEO_PAD[0], float(x1) + GEO_PAD[0]), (float(y0) - GEO_PAD[1], float(y1) + GEO_PAD[1])


def node_sizes(people: F64, top: float, scale: float = 1.0, geographic: bool = False) -> F64:
    """Node areas (points squared) of zones with ``people``, the largest ``top`` people at full size."""
    out: F64 = (MIN_NODE + (MAX_NODE - MIN_NODE) * people / (top or 1.0)) * scale**2 * (GEO_NODE if geographic else 1.0)
    return out


def _root_figure(artist: Artist) -> Figure | None:
    """The figure an artist is drawn in, through any subfigures (``get_figure(root=True)`` is
    matplotlib 3.10's; the project allows 3.8)."""
    fig: Any = artist.figure
    while fig is not None and not isinstance(fig, Figure):
        fig = fig.figure  # a subfigure's parent
    return fig


def label_map(ax: Axes, result: Result, t: int, pos: F64, sizes: F64, scale: float = 1.0,
              settle: bool = True) -> list[Annotation]:
    """Each zone's name and people on a geographic map on day ``t``, placed clear of each other
    (:func:`place_labels`), once the figure is laid out (``settle``: lay it out here first), so
    that they are placed where the axes will be drawn. ``sizes``: the nodes' areas in points
    squared, in zone order. The labels take no part in the figure's layout (laying it out again
    moves nothing)."""
    fig = _root_figure(ax)
    assert isinstance(fig, Figure)
    if settle:
        fig.draw_without_rendering()  # the layout (constrained, a colour bar's) run: positions final
    world = build_world(result.scenario)
    people = humans(result.counts)[t]
    zones = _zone_names(result)
    small = scale < 0.8  # a small multiple: shorter labels
    texts = []
    for z, zid in enumerate(world.zone_ids):
        name = _wrap(zones.get(zid, zid), LABEL_WIDTH, lines=2 if small else None)
        texts.append(f"{name}\n{people[z]:,.0f}" + ("" if small else " people"))
    priority = np.argsort(-people, kind="stable")  # the largest zones are labelled first
    return place_labels(ax, pos, np.sqrt(sizes / np.pi), texts, priority, fontsize=7.5 if small else 8.0)


#: Where a label may go around its node: directions (unit vectors, x east and y north) and how far
#: beyond the node's rim (points); the farther rings are joined to the node by a line.
_DIRECTIONS = np.column_stack([np.cos(np.arange(16) * np.pi / 8), np.sin(np.arange(16) * np.pi / 8)])
_RINGS = (2.0, 10.0, 20.0, 32.0, 46.0, 62.0, 80.0)


def place_labels(ax: Axes, pos: F64, radius_pt: F64, texts: Sequence[str], priority: Sequence[int] | NDArray[Any],
                 fontsize: float = 8.0) -> list[Annotation]:
    """Labels ``texts`` of the nodes at ``pos`` (data coordinates; radii in points), placed greedily in
    ``priority`` order: each at the first place around its node (:data:`_DIRECTIONS`, nearer rings
    first, directions pointing away from the map's centre first) where it overlaps no label placed
    before, no other node and stays inside the axes; a label moved away from its node gets a thin
    line to it. A label with no free place anywhere goes where it overlaps least. Returns the labels
    (``label.zone`` is the zone's index)."""
    fig = ax.get_figure()
    assert fig is not None
    renderer: RendererBase = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    px = fig.dpi / 72.0
    centre = pos.mean(axis=0)
    xy = ax.transData.transform(pos)  # display pixels
    rad = np.asarray(radius_pt, dtype=np.float64) * px
    frame = ax.get_window_extent(renderer)
    legend = ax.get_legend()
    placed: list[Bbox] = [legend.get_window_extent(renderer)] if legend is not None else []
    out: list[Annotation] = []
    box = {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85}
    for z in (int(k) for k in priority):
        away = pos[z] - centre
        dirs = sorted(range(len(_DIRECTIONS)), key=lambda d: -float(_DIRECTIONS[d] @ away))
        best: tuple[float, Annotation, Bbox] | None = None
        for ring in _RINGS:
            for d in dirs:
                u = _DIRECTIONS[d]
                off = u * (radius_pt[z] + ring)
                ha = "left" if u[0] > 0.3 else "right" if u[0] < -0.3 else "center"
                va = "bottom" if u[1] > 0.3 else "top" if u[1] < -0.3 else "center"
                line = {"arrowstyle": "-", "lw": 0.5, "color": "0.35", "shrinkA": 0,
                        "shrinkB": radius_pt[z]} if ring > _RINGS[0] else None
                label = ax.annotate(texts[z], tuple(pos[z]), xytext=tuple(off), textcoords="offset points",
                                    ha=ha, va=va, fontsize=fontsize, color="0.1", zorder=3, bbox=box,
                                    arrowprops=line, annotation_clip=False, linespacing=1.0)
                label.set_in_layout(False)
                bb = text_box(label, renderer).padded(2.5 * px)  # some room: a figure saved at another dpi
                cost = _overlap(bb, placed, xy, rad, z, frame)
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, label, bb)
                else:
                    label.remove()
                if best[0] == 0.0:
                    break
            if best is not None and best[0] == 0.0:
                break
        assert best is not None
        best[1].zone = z  # type: ignore[attr-defined]
        placed.append(best[2])
        out.append(best[1])
    return out


def text_box(label: Annotation, renderer: RendererBase | None = None) -> Bbox:
    """The box (display pixels) of a label's text, without its line to its node (which
    :meth:`Annotation.get_window_extent` would add: a leader line may cross what it passes)."""
    fig = _root_figure(label)
    assert fig is not None
    renderer = renderer or fig.canvas.get_renderer()  # type: ignore[attr-defined]
    label.update_positions(renderer)
    return Text.get_window_extent(label, renderer)


def _overlap(bb: Bbox, placed: Sequence[Bbox], xy: F64, rad: F64, own: int, frame: Bbox) -> float:
    """How badly a label's box ``bb`` sits (0: clear): its area over other labels, over other
    nodes (circles at ``xy``, radii ``rad``) and outside ``frame``, in square pixels."""
    cost = 0.0
    for other in placed:
        w = min(bb.x1, other.x1) - max(bb.x0, other.x0)
        h = min(bb.y1, other.y1) - max(bb.y0, other.y0)
        if w > 0 and h > 0:
            cost += w * h
    # a circle meets the box where its centre is nearer the box than its radius
    dx = np.maximum(np.maximum(bb.x0 - xy[:, 0], xy[:, 0] - bb.x1), 0.0)
    dy = np.maximum(np.maximum(bb.y0 - xy[:, 1], xy[:, 1] - bb.y1), 0.0)
    depth = rad - np.hypot(dx, dy)
    depth[own] = 0.0
    cost += float(np.sum(np.where(depth > 0, 4.0 * depth * rad, 0.0)))  # a node hidden is as bad as a label
    outside = (max(frame.x0 - bb.x0, 0.0) + max(bb.x1 - frame.x1, 0.0)) * bb.height \
        + (max(frame.y0 - bb.y0, 0.0) + max(bb.y1 - frame.y1, 0.0)) * bb.width
    return cost + float(outside)


def plot_map_days(result: Result, days: Sequence[int] | None = None, cols: int = 3) -> Figure:
    """Small multiples of the map at chosen days (default: five evenly spaced), sharing one scale."""
    if days is None:
        days = sorted({round(float(x)) for x in np.linspace(0, result.days, 5)})
    n = len(days)
    pos, geo = positions(result)
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    w, h = 3.4, 3.5
    if geo:  # each map as wide as a column and as tall as the country's shape asks (and its title, truces)
        w = 3.8
        (x0, x1), (y0, y1) = geo_limits(pos)
        h = float(np.clip((w - 0.2) * (y1 - y0) / (x1 - x0) + 1.1, 2.5, 7.0))
    fig, grid = plt.subplots(rows, cols, figsize=(w * cols + 0.9, h * rows + 0.4), squeeze=False,
                             layout="constrained")
    axes = list(grid.ravel())
    top = float(result.counts[:, :, : State.D].sum(axis=2).max())
    for ax, d in zip(axes, days, strict=False):
        plot_map(result, d, ax, colorbar=False, legend=False, pos=pos, max_people=top, scale=SMALL,
                 geographic=geo, labels=False)
    for extra in axes[n:]:
        extra.set_visible(False)
    sm = plt.cm.ScalarMappable(mcolors.Normalize(0, 1), FEAR_CMAP)
    fig.colorbar(sm, ax=axes[:n], shrink=0.7, label="fear")
    fig.suptitle(f"{result.scenario.name}: the world at {n} moments")
    if geo:  # the figure laid out first, then each map's labels placed where they will be drawn
        fig.draw_without_rendering()
        living = humans(result.counts)
        for ax, d in zip(axes, days, strict=False):
            t = int(np.clip(d, 0, result.days))
            label_map(ax, result, t, pos, node_sizes(living[t], top, SMALL, True), SMALL, settle=False)
    return fig


def _routes_open(result: Result, world: object, day: int) -> NDArray[np.bool_]:
    w = world  # World
    n = w.n_routes  # type: ignore[attr-defined]
    if result.days == 0:
        return np.ones(n, dtype=bool)
    truce = result.truce[day + 1] if day + 1 < len(result.truce) else result.truce[-1]
    ok: NDArray[np.bool_] = w.route_open_by_truce(truce)  # type: ignore[attr-defined]
    sealed = result.sealed[day]
    ok = ok & ~sealed[w.route_from]  # type: ignore[attr-defined]
    return ok


def _wrap(text: str, width: int, lines: int | None = None) -> str:
    """A name on lines of at most ``width`` characters (a word longer than that keeps its line),
    at most ``lines`` of them (the last cut short with "…")."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, max_lines=lines, placeholder=" …")) or text


def _truce_text(result: Result, factions: Sequence[str], t: int, width: int = 90) -> str:
    """Each pair of factions that ever had a truce, by their names (``factions``, in the world's
    order), and whether they have one on day ``t``; on lines of at most ``width`` characters."""
    parts = []
    truce = result.truce[min(t, len(result.truce) - 1)]
    ever = np.asarray(result.truce.any(axis=0), dtype=bool)
    for a in range(len(factions)):
        for b in range(a + 1, len(factions)):
            if ever[a, b]:
                parts.append(f"{factions[a]} - {factions[b]}: {'truce' if truce[a, b] else 'no truce'}")
    return "\n".join(textwrap.wrap("; ".join(parts), width))
