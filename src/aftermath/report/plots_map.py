"""The world as a graph: zones as nodes, routes as arrows, on a deterministic layout.

Node area is proportional to the zone's people (humans: S + E + H, ferals not counted), node
colour is its fear (``cividis``, readable under colour-vision deficiencies and in greyscale), the
thickness of a node's rim is its wall. Routes are curved arrows (both directions of a road stay
visible) whose width grows with the day's traffic; a route that is closed that day (a sealed zone,
or two factions without a truce) is drawn dashed and grey. Sealed zones get a dotted outer ring.
Truces between factions are listed under the map.

networkx is not a dependency: :func:`layout` is a small Fruchterman-Reingold spring layout started
from a circle, with no randomness, so the same world always gets the same picture.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from numpy.typing import NDArray

from aftermath.model.flows import RouteFlow
from aftermath.model.world import State, build_world
from aftermath.record.measures import humans
from aftermath.record.vocabulary import faction_names
from aftermath.report.plots import _fig_ax, _zone_names

if TYPE_CHECKING:
    from aftermath.result import Result

F64 = NDArray[np.float64]
FEAR_CMAP = "cividis"
#: Largest node, in points squared (area scales with people).
MAX_NODE = 2600.0
MIN_NODE = 60.0
#: A zone's name on the map is wrapped to lines of at most this many characters.
LABEL_WIDTH = 14


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
             scale: float = 1.0) -> Figure:
    """The world on ``day`` (default: the last): people, fear, walls, routes and truces.

    ``scale`` shrinks nodes, rims, arrows and labels together (small multiples use about 0.5);
    ``pos`` and ``max_people`` let several maps share one layout and one size scale.
    """

    fig, ax = _fig_ax(ax, (7.5, 6.5))
    world = build_world(result.scenario)
    t = result.days if day is None else int(np.clip(day, 0, result.days))
    edges = list(zip(world.route_from.tolist(), world.route_to.tolist(), strict=True))
    if pos is None:
        pos = layout(world.n_zones, edges)
    living = humans(result.counts)  # the people: S + E + H (aftermath.record.measures)
    people = living[t]
    top = float(max_people if max_people is not None else living.max()) or 1.0
    sizes = (MIN_NODE + (MAX_NODE - MIN_NODE) * people / top) * scale**2
    fday = min(t, result.days - 1)  # day-indexed arrays have one row fewer than time-indexed ones
    flows = result.route_flows[fday, RouteFlow.HUMANS] + result.route_flows[fday, RouteFlow.FERALS] \
        if result.days else np.zeros(world.n_routes)
    open_ = _routes_open(result, world, fday)
    width_ref = max(float(np.max(flows, initial=0.0)), 1.0)
    radius_pt = np.sqrt(sizes / np.pi)
    for r, (a, b) in enumerate(edges):
        w = (0.6 + 3.4 * np.sqrt(flows[r] / width_ref)) * max(scale, 0.4)
        style = {"color": "0.35", "lw": w, "ls": "-"} if open_[r] else {"color": "0.7", "lw": 0.8, "ls": "--"}
        ax.add_patch(FancyArrowPatch(
            tuple(pos[a]), tuple(pos[b]), connectionstyle="arc3,rad=0.12", arrowstyle="-|>",
            mutation_scale=8 + w * 2, shrinkA=radius_pt[a] + 2, shrinkB=radius_pt[b] + 2,
            zorder=1, **style))
    norm = mcolors.Normalize(0.0, 1.0)
    rim = (0.5 + 5.5 * world.wall) * scale
    sc = ax.scatter(pos[:, 0], pos[:, 1], s=sizes, c=result.fear[t], cmap=FEAR_CMAP, norm=norm,
                    edgecolors="black", linewidths=rim.tolist(), zorder=2)
    sealed = result.sealed[fday] if result.days else np.zeros(world.n_zones, dtype=bool)
    if sealed.any():
        ax.scatter(pos[sealed, 0], pos[sealed, 1], s=(np.sqrt(sizes[sealed]) + 14 * scale) ** 2,
                   facecolors="none", edgecolors="#CC79A7", linewidths=1.8 * scale, linestyles=":", zorder=1.5)
    zones, factions = _zone_names(result), faction_names(result.scenario)
    for z, zid in enumerate(world.zone_ids):
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
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.08, 1.08)
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
    return fig


def plot_map_days(result: Result, days: Sequence[int] | None = None, cols: int = 3) -> Figure:
    """Small multiples of the map at chosen days (default: five evenly spaced), sharing one scale."""
    if days is None:
        days = sorted({round(float(x)) for x in np.linspace(0, result.days, 5)})
    n = len(days)
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    fig, grid = plt.subplots(rows, cols, figsize=(3.4 * cols + 0.9, 3.5 * rows + 0.4), squeeze=False,
                             layout="constrained")
    axes = list(grid.ravel())
    world = build_world(result.scenario)
    edges = list(zip(world.route_from.tolist(), world.route_to.tolist(), strict=True))
    pos = layout(world.n_zones, edges)
    top = float(result.counts[:, :, : State.D].sum(axis=2).max())
    for ax, d in zip(axes, days, strict=False):
        plot_map(result, d, ax, colorbar=False, legend=False, pos=pos, max_people=top, scale=0.65)
    for extra in axes[n:]:
        extra.set_visible(False)
    sm = plt.cm.ScalarMappable(mcolors.Normalize(0, 1), FEAR_CMAP)
    fig.colorbar(sm, ax=axes[:n], shrink=0.7, label="fear")
    fig.suptitle(f"{result.scenario.name}: the world at {n} moments")
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
