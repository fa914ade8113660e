"""The virus's evolution: the strain phylogeny and the drift of its traits.

The strain table (:meth:`Result.strains_frame`) has one row per strain, in the order of the
columns of ``Result.strain_counts``, with ``strain, parent, day`` (birth day) and one column per
trait. The ODE and SSA have a fixed strain set (born on day 0 of a notional founder); the ABM grows
a tree by mutation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from numpy.typing import NDArray

from aftermath.report.plots import OKABE_ITO, _fig_ax

if TYPE_CHECKING:
    from aftermath.result import Result

F64 = NDArray[np.float64]
#: Traits whose drift is drawn by default: transmissibility and the share of bites that leave a hybrid.
DRIFT_TRAITS = ("beta", "p_hybrid")
TRAIT_LABELS = {"beta": "transmissibility β", "p_hybrid": "hybrid share", "relapse": "relapse rate",
                "latency": "latency (days)", "breach": "breach", "stealth": "stealth"}
#: Strains with fewer infected than this at their peak are drawn faint (most mutants die out at once).
FAINT_BELOW = 1.0


def tree_positions(strains: pd.DataFrame) -> NDArray[np.float64]:
    """A y position per strain: leaves in depth-first order, parents at their children's mean.

    Children are visited by birth day, so the picture reads left to right, top to bottom.
    """
    ids = [str(s) for s in strains["strain"]]
    index = {s: i for i, s in enumerate(ids)}
    children: dict[int, list[int]] = {i: [] for i in range(len(ids))}
    roots = []
    days = strains["day"].to_numpy(dtype=float)
    for i, p in enumerate(strains["parent"].astype(str)):
        j = index.get(p)
        if j is None or j == i:
            roots.append(i)
        else:
            children[j].append(i)
    y = np.zeros(len(ids))
    leaf = 0.0
    for root in sorted(roots, key=lambda i: days[i]):
        # iterative post-order traversal: trees of thousands of strains exceed the recursion limit
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            kids = sorted(children[node], key=lambda i: days[i])
            if done or not kids:
                if kids:
                    y[node] = float(np.mean(y[kids]))
                else:
                    y[node] = leaf
                    leaf += 1.0
                continue
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
    return y


def plot_phylogeny(result: Result, ax: Axes | None = None, colour_by: str = "beta") -> Figure:
    """The strain tree: x is the day a strain was born, y orders the leaves.

    Each strain is a horizontal line from its birth to the last day it had an infected person,
    joined to its parent by a vertical line at its birth; colour is one trait (``beta`` by
    default), width grows with the strain's peak count. Strains that never reached one infected
    person are drawn faint.
    """
    fig, ax = _fig_ax(ax, (8, 5))
    strains = result.strains_frame().reset_index(drop=True)
    n = len(strains)
    y = tree_positions(strains)
    born = strains["day"].to_numpy(dtype=float)
    counts = _strain_counts(result, n)
    alive = counts >= FAINT_BELOW
    last = np.array([np.flatnonzero(alive[:, i]).max() if alive[:, i].any() else born[i] for i in range(n)],
                    dtype=float)
    last = np.maximum(last, born + 0.5)
    peak = counts.max(axis=0) if counts.size else np.zeros(n)
    trait = strains[colour_by].to_numpy(dtype=float) if colour_by in strains else np.zeros(n)
    lo, hi = (float(np.nanmin(trait)), float(np.nanmax(trait))) if n else (0.0, 1.0)
    if hi - lo <= 1e-9 * max(abs(hi), 1.0):  # one value: a readable scale around it
        lo, hi = lo - 0.1 * abs(lo) - 1e-3, hi + 0.1 * abs(hi) + 1e-3
    norm = mcolors.Normalize(lo, hi)
    cmap = plt.get_cmap("viridis")
    index = {str(s): i for i, s in enumerate(strains["strain"])}
    parent = np.array([index.get(str(p), -1) for p in strains["parent"]])
    width = 0.6 + 2.4 * np.sqrt(peak / max(float(peak.max(initial=0.0)), 1.0))
    colours = cmap(norm(trait))
    colours[:, 3] = np.where(peak >= FAINT_BELOW, 1.0, 0.25)
    horiz = [[(born[i], y[i]), (last[i], y[i])] for i in range(n)]
    ax.add_collection(LineCollection(horiz, colors=colours, linewidths=width, capstyle="butt"))
    links = [[(born[i], y[parent[i]]), (born[i], y[i])] for i in range(n) if parent[i] >= 0 and parent[i] != i]
    if links:
        ax.add_collection(LineCollection(links, colors="0.6", linewidths=0.5))
    ax.set_xlim(0, max(result.days, float(last.max(initial=1.0))))
    ax.set_ylim(-1, max(float(y.max(initial=0.0)) + 1, 1))
    ax.set_yticks([])
    ax.set_xlabel("day of birth (line runs while the strain has infected people)")
    ax.set_title(f"strain phylogeny ({n} strain{'s' if n != 1 else ''})")
    sm = plt.cm.ScalarMappable(norm, cmap)
    fig.colorbar(sm, ax=ax, label=TRAIT_LABELS.get(colour_by, colour_by), shrink=0.8)
    return fig


def trait_drift(result: Result, traits: Sequence[str] = DRIFT_TRAITS) -> pd.DataFrame:
    """Per day, the infection-weighted mean, 10th and 90th percentile of each trait.

    Columns ``day, trait, mean, p10, p90, infected``; days without infected people are NaN.
    """
    strains = result.strains_frame().reset_index(drop=True)
    counts = _strain_counts(result, len(strains))
    total = counts.sum(axis=1)
    rows = []
    days = np.arange(counts.shape[0])
    for tr in traits:
        v = strains[tr].to_numpy(dtype=float)
        order = np.argsort(v)
        cum = np.cumsum(counts[:, order], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (counts * v).sum(axis=1) / total
            share = cum / total[:, None]
        p10 = v[order][np.minimum((share < 0.1).sum(axis=1), len(v) - 1)]
        p90 = v[order][np.minimum((share < 0.9).sum(axis=1), len(v) - 1)]
        none = total <= 0
        rows.append(pd.DataFrame({
            "day": days, "trait": tr, "mean": np.where(none, np.nan, mean),
            "p10": np.where(none, np.nan, p10), "p90": np.where(none, np.nan, p90), "infected": total,
        }))
    return pd.concat(rows, ignore_index=True)


def plot_trait_drift(result: Result, axes: Sequence[Axes] | None = None,
                     traits: Sequence[str] = DRIFT_TRAITS) -> Figure:
    """Trait drift over time: each trait's mean over infected people (weighted by strain counts),
    with the band between the 10th and 90th percentiles, one panel per trait."""
    if axes is None:
        fig, grid = plt.subplots(len(traits), 1, figsize=(8, 2.4 * len(traits)), sharex=True, squeeze=False)
        axes = list(grid.ravel())
    else:
        fig = axes[0].get_figure()  # type: ignore[assignment]
    drift = trait_drift(result, traits)
    for k, (ax, tr) in enumerate(zip(axes, traits, strict=True)):
        d = drift[drift["trait"] == tr]
        c = OKABE_ITO[k % len(OKABE_ITO)]
        ax.fill_between(d["day"], d["p10"], d["p90"], color=c, alpha=0.25, lw=0, label="10-90% of infected")
        ax.plot(d["day"], d["mean"], color=c, label="mean over infected")
        ax.set_ylabel(TRAIT_LABELS.get(tr, tr))
        ax.margins(x=0)
    axes[0].set_title("trait drift, weighted by infected per strain")
    axes[0].legend(fontsize="small", loc="best")
    axes[-1].set_xlabel("day")
    fig.tight_layout()
    return fig


def _strain_counts(result: Result, n: int) -> F64:
    c = np.asarray(result.strain_counts, dtype=float)
    if c.shape[1] < n:
        c = np.pad(c, ((0, 0), (0, n - c.shape[1])))
    out: F64 = c[:, :n]
    return out
