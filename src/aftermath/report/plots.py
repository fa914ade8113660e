"""Plots of a run's epidemic: the spectrum and each zone's curves, with ensemble bands.

Every function draws into an ``ax`` (or a list of axes) it is given, or makes its own figure, and
returns the figure; none calls ``show()``. The other pictures live beside this module:
``plots_map`` (the world as a graph), ``plots_virus`` (phylogeny and trait drift) and
``plots_story`` (chronicle, official vs true record, policy comparison).

The state palette is Okabe-Ito, which stays distinguishable under the common colour-vision
deficiencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from aftermath.model.world import STATE_NAMES

if TYPE_CHECKING:
    from aftermath.result import Result

#: Okabe-Ito colours for S, E, H, Z, D, R.
STATE_COLOURS = {
    "S": "#0072B2",
    "E": "#E69F00",
    "H": "#009E73",
    "Z": "#D55E00",
    "D": "#555555",
    "R": "#BBBBBB",
}
STATE_LABELS = {"S": "susceptible", "E": "latent", "H": "hybrid", "Z": "feral", "D": "corpse", "R": "removed"}
#: The rest of the Okabe-Ito set, for categories that are not states (factions, variants, kinds).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: States drawn as curves (corpses and the removed are not people at risk).
CURVE_STATES = ("S", "E", "H", "Z")
#: Columns of a quantile frame (see :func:`aftermath.report.ensemble.quantile_frame`).
QUANTILE_COLUMNS = ("day", "zone", "state", "q05", "q25", "q50", "q75", "q95")


def plot_spectrum(result: Result | pd.DataFrame, ax: Axes | None = None) -> Figure:
    """The spectrum over time: stacked S, E, H, Z, D for the whole world.

    Given a quantile frame instead of a run, stacks the medians of the world totals (zone ``"all"``).
    """
    fig, ax = _fig_ax(ax)
    states = STATE_NAMES[:5]
    if isinstance(result, pd.DataFrame):
        world = result[result["zone"] == "all"]
        wide = world.pivot_table(index="day", columns="state", values="q50").reindex(columns=list(states))
        t = wide.index.to_numpy()
        stack = [wide[s].fillna(0.0).to_numpy() for s in states]
        ax.set_title("the spectrum over time (medians)")
    else:
        t = result.time
        stack = [result.counts[:, :, i].sum(axis=1) for i in range(5)]
        ax.set_title("the spectrum over time")
    ax.stackplot(t, stack, labels=[STATE_LABELS[s] for s in states],
                 colors=[STATE_COLOURS[s] for s in states], alpha=0.9)
    ax.set_xlabel("day")
    ax.set_ylabel("people")
    ax.set_xlim(t[0], t[-1])
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return fig


def plot_zone_curves(data: Result | Sequence[Result] | pd.DataFrame, axes: list[Axes] | None = None,
                     states: Sequence[str] = CURVE_STATES) -> Figure:
    """Epidemic curves per zone, one panel per zone.

    ``data`` is one run (a line per state), several runs of one scenario, or a quantile frame with
    columns ``day, zone, state, q05, q25, q50, q75, q95``: then each state is a median line with its
    50% band (q25-q75, darker) and 90% band (q05-q95, lighter).
    """
    data = _single(data)
    frame = _as_quantiles(data)
    zones = _zones(data, frame)
    nz = len(zones)
    if axes is None:
        fig, axes = _grid(nz)
    else:
        fig = axes[0].get_figure()  # type: ignore[assignment]
    for z, zid in enumerate(zones):
        ax = axes[z]
        if frame is None:
            res: Result = data  # type: ignore[assignment]
            for s in states:
                ax.plot(res.time, res.counts[:, z, STATE_NAMES.index(s)], color=STATE_COLOURS[s],
                        label=STATE_LABELS[s])
        else:
            _draw_bands(ax, frame[frame["zone"] == zid], states)
        ax.set_title(zid)
        ax.set_xlabel("day")
        ax.set_ylabel("people")
        ax.margins(x=0)
    handles, labels = axes[0].get_legend_handles_labels()
    if frame is not None:
        from matplotlib.patches import Patch

        handles += [Patch(color="0.5", alpha=0.45), Patch(color="0.5", alpha=0.2)]
        labels += ["50% band", "90% band"]
    axes[0].legend(handles, labels, fontsize="small")
    fig.tight_layout()
    return fig


def plot_run(result: Result) -> Figure:
    """Overview of a run: the world's spectrum on top, each zone's curves below."""
    nz = len(result.zone_ids)
    cols = min(3, nz)
    rows = int(np.ceil(nz / cols))
    fig = plt.figure(figsize=(4.2 * cols, 3.2 * (rows + 1.3)))
    gs = fig.add_gridspec(rows + 1, cols, height_ratios=[1.3] + [1] * rows)
    plot_spectrum(result, fig.add_subplot(gs[0, :]))
    axes = [fig.add_subplot(gs[1 + z // cols, z % cols]) for z in range(nz)]
    plot_zone_curves(result, axes)
    fig.suptitle(f"{result.scenario.name} ({result.engine}, seed {result.seed})")
    fig.tight_layout()
    return fig


def _draw_bands(ax: Axes, q: pd.DataFrame, states: Sequence[str]) -> None:
    for s in states:
        part = q[q["state"] == s].sort_values("day")
        if part.empty:
            continue
        day = part["day"].to_numpy()
        c = STATE_COLOURS[s]
        ax.fill_between(day, part["q05"].to_numpy(), part["q95"].to_numpy(), color=c, alpha=0.2, lw=0)
        ax.fill_between(day, part["q25"].to_numpy(), part["q75"].to_numpy(), color=c, alpha=0.45, lw=0)
        ax.plot(day, part["q50"].to_numpy(), color=c, label=STATE_LABELS[s])


def _as_quantiles(data: object) -> pd.DataFrame | None:
    """None for a single run; a quantile frame for a frame or a list of runs."""
    if isinstance(data, pd.DataFrame):
        missing = set(QUANTILE_COLUMNS) - set(data.columns)
        if missing:
            raise ValueError(f"a quantile frame needs the columns {QUANTILE_COLUMNS}; missing {sorted(missing)}")
        return data
    if isinstance(data, Sequence):
        if len(data) == 1:
            return None
        from aftermath.report.ensemble import quantile_frame

        return quantile_frame(list(data))
    return None


def _zones(data: object, frame: pd.DataFrame | None) -> list[str]:
    if isinstance(data, Sequence) and not isinstance(data, pd.DataFrame):
        return list(data[0].zone_ids)
    if frame is None:
        return list(data.zone_ids)  # type: ignore[attr-defined]
    return [z for z in pd.unique(frame["zone"]) if z != "all"]


def _single(data: Result | Sequence[Result] | pd.DataFrame) -> Result | pd.DataFrame:
    if isinstance(data, Sequence) and not isinstance(data, pd.DataFrame) and len(data) == 1:
        return data[0]
    return data  # type: ignore[return-value]


def _grid(n: int, width: float = 4.2, height: float = 3.0, cols: int = 3) -> tuple[Figure, list[Axes]]:
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    fig, grid = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, sharex=True)
    axes = list(grid.ravel())
    for extra in axes[n:]:
        extra.set_visible(False)
    return fig, axes[:n]


def _fig_ax(ax: Axes | None, size: tuple[float, float] = (8, 4)) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]
