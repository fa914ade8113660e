"""Plots of a run. Each function takes a result (and an ``ax`` where it draws one panel) and
returns a matplotlib figure; none calls ``show()``.

The state palette is Okabe-Ito, which stays distinguishable under the common colour-vision
deficiencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
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


def plot_spectrum(result: Result, ax: Axes | None = None) -> Figure:
    """The spectrum over time: stacked S, E, H, Z, D for the whole world."""
    fig, ax = _fig_ax(ax)
    t = result.time
    stack = [result.counts[:, :, i].sum(axis=1) for i in range(5)]
    ax.stackplot(t, stack, labels=[STATE_LABELS[s] for s in STATE_NAMES[:5]],
                 colors=[STATE_COLOURS[s] for s in STATE_NAMES[:5]], alpha=0.9)
    ax.set_xlabel("day")
    ax.set_ylabel("people")
    ax.set_title("the spectrum over time")
    ax.set_xlim(t[0], t[-1])
    ax.legend(loc="upper right", fontsize="small")
    return fig


def plot_zone_curves(result: Result, axes: list[Axes] | None = None) -> Figure:
    """Epidemic curves per zone: S, E, H and Z over time, one panel per zone."""
    nz = len(result.zone_ids)
    if axes is None:
        cols = min(3, nz)
        rows = int(np.ceil(nz / cols))
        fig, grid = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False, sharex=True)
        axes = list(grid.ravel())
        for extra in axes[nz:]:
            extra.set_visible(False)
    else:
        fig = axes[0].get_figure()  # type: ignore[assignment]
    t = result.time
    for z, zid in enumerate(result.zone_ids):
        ax = axes[z]
        for i, s in enumerate(STATE_NAMES[:4]):
            ax.plot(t, result.counts[:, z, i], color=STATE_COLOURS[s], label=STATE_LABELS[s])
        ax.set_title(zid)
        ax.set_xlabel("day")
        ax.set_ylabel("people")
    axes[0].legend(fontsize="small")
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


def _fig_ax(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]
