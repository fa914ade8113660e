"""Plots of a run's epidemic: the spectrum and each zone's curves, with ensemble bands.

Every function draws into an ``ax`` (or a list of axes) it is given, or makes its own figure, and
returns the figure; none calls ``show()``. The other pictures live beside this module:
``plots_map`` (the world as a graph), ``plots_virus`` (phylogeny and trait drift) and
``plots_story`` (chronicle, official vs true record, policy comparison).

The state palette is Okabe-Ito, which stays distinguishable under the common colour-vision
deficiencies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from aftermath.model.flows import Flow
from aftermath.model.world import STATE_NAMES
from aftermath.record.fine import fine_counts
from aftermath.record.vocabulary import Vocabulary, engine_words, state_label, vocabulary

if TYPE_CHECKING:
    from aftermath.result import Result

#: Okabe-Ito colours and labels for S, E, H, Z, D, R: Aftermath's own vocabulary's (one source).
STATE_COLOURS = {g.key: g.colour for g in vocabulary().groups}
STATE_LABELS = {g.key: g.label for g in vocabulary().groups}
#: The rest of the Okabe-Ito set, for categories that are not states (factions, variants, kinds).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: The living states (the curves of people at risk); the dead and removed are :data:`OUT_STATES`.
CURVE_STATES = ("S", "E", "H", "Z")
OUT_STATES = tuple(g.key for g in vocabulary().groups if g.out)
#: Columns of a quantile frame (see :func:`aftermath.report.ensemble.quantile_frame`).
QUANTILE_COLUMNS = ("day", "zone", "state", "q05", "q25", "q50", "q75", "q95")


def plot_spectrum(result: Result | pd.DataFrame, ax: Axes | None = None, vocab: Vocabulary | None = None) -> Figure:
    """The spectrum over time: every person, stacked, in the scenario's words (``run.vocabulary``):
    S, E, H, Z, the dead (D) and the removed (R), so the stack's height is the whole population.

    Given a quantile frame instead of a run, stacks the medians of the world totals (zone ``"all"``),
    in ``vocab``'s words (a frame has no scenario; Aftermath's own without one).
    A run that recorded within days (``run.record_every``) is drawn at that resolution.
    """
    fig, ax = _fig_ax(ax)
    if isinstance(result, pd.DataFrame):
        vocab = vocab or vocabulary(None)
        world = result[result["zone"] == "all"]
        wide = world.pivot_table(index="day", columns="state", values="q50").reindex(columns=list(STATE_NAMES))
        t = wide.index.to_numpy()
        groups = vocab.series(wide.fillna(0.0).to_numpy())
        ax.set_title("the spectrum over time (medians)")
    else:
        vocab = vocabulary(result.scenario)
        t, counts = fine_counts(result)
        groups = vocab.series(counts.sum(axis=1))
        ax.set_title("everyone, over time")
    ax.stackplot(t, [groups[g.key] for g in vocab.groups], labels=[g.label for g in vocab.groups],
                 colors=[g.colour for g in vocab.groups], alpha=0.9)
    ax.set_xlabel("day")
    ax.set_ylabel("people")
    ax.set_xlim(t[0], t[-1])
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return fig


def plot_zone_curves(data: Result | Sequence[Result] | pd.DataFrame, axes: list[Axes] | None = None,
                     states: Sequence[str] | None = None, vocab: Vocabulary | None = None,
                     names: Mapping[str, str] | None = None) -> Figure:
    """Epidemic curves per zone, one panel per zone, every compartment drawn (the dead and the
    removed dashed), in the scenario's words (``run.vocabulary``).

    ``data`` is one run (a line per compartment, at the run's finest recorded resolution), several
    runs of one scenario, or a quantile frame with columns ``day, zone, state, q05, q25, q50, q75,
    q95``: then each state is a median line with its 50% band (q25-q75, darker) and 90% band
    (q05-q95, lighter). ``states`` limits the curves to some of the model's states (S, E, H, Z, D, R).
    ``vocab`` names a frame's states (a frame has no scenario; runs speak their scenario's words):
    the SIR limit's Z is "I: infectious (Z)", and a state that never held half a person is left out.
    ``names``: zone id -> the name a panel is titled with (runs name their zones from their
    scenario; a frame has ids only).
    """
    data = _single(data)
    frame = _as_quantiles(data)
    zones = _zones(data, frame)
    titles = {**_zone_names(data), **(names or {})}
    nz = len(zones)
    shown = [True] * nz  # whether a panel's day axis is labelled (in a grid: the lowest of each column)
    own = axes is None  # a figure of its own is laid out here; given axes, by whoever made their figure
    if axes is None:
        fig, axes = _grid(nz)
        shown = [z + GRID_COLS >= nz for z in range(nz)]
    else:
        fig = axes[0].get_figure()  # type: ignore[assignment]
    for z, zid in enumerate(zones):
        ax = axes[z]
        if frame is None:
            res: Result = data  # type: ignore[assignment]
            _draw_run(ax, res, z, states)
        else:
            _draw_bands(ax, frame[frame["zone"] == zid], states or STATE_NAMES, _bands_vocab(data, vocab))
        ax.set_title(titles.get(zid, zid))
        if shown[z]:
            ax.set_xlabel("day")
        ax.set_ylabel("people")
        ax.margins(x=0)
    handles, labels = axes[0].get_legend_handles_labels()
    if frame is not None:
        from matplotlib.patches import Patch

        handles += [Patch(color="0.5", alpha=0.45), Patch(color="0.5", alpha=0.2)]
        labels += ["50% band", "90% band"]
    axes[0].legend(handles, labels, fontsize="small")
    if own:
        fig.tight_layout()
    return fig


def _draw_run(ax: Axes, res: Result, z: int, states: Sequence[str] | None) -> None:
    t, counts = fine_counts(res)
    if states is not None:  # the model's own states, by name
        for s in states:
            ax.plot(t, counts[:, z, STATE_NAMES.index(s)], color=STATE_COLOURS[s], label=STATE_LABELS[s],
                    ls="--" if s in OUT_STATES else "-")
        return
    vocab = vocabulary(res.scenario)
    series = vocab.series(counts[:, z, :])
    for g in vocab.groups:
        ax.plot(t, series[g.key], color=g.colour, label=g.label, ls="--" if g.out else "-")


#: Where people went, cumulatively: the flows out of the living (deaths by cause, and the ferals'
#: ends), with their labels; those that never happened are left out of the picture.
EXITS = (
    (Flow.BITE_DEATH, "bitten to death"),
    (Flow.NATURAL_DEATH, "natural deaths"),
    (Flow.STARVATION, "starved"),
    (Flow.CULL, "hybrids culled"),
    (Flow.SWEEP_HYBRIDS, "hybrids killed in sweeps"),
    (Flow.FERAL_DESTROYED, "ferals destroyed by defenders"),
    (Flow.SWEEP_KILL, "ferals destroyed in sweeps"),
    (Flow.DECAY, "ferals decayed"),
)
#: The same flows in the SIR and SZR vocabularies.
EXIT_WORDS = {
    "sir": {Flow.DECAY: "I recovered/removed (I -> R)", Flow.FERAL_DESTROYED: "I removed by defence",
            Flow.CULL: "infected people culled (H)", Flow.SWEEP_HYBRIDS: "infected people killed in sweeps (H)",
            Flow.SWEEP_KILL: "I destroyed in sweeps (Z)"},
    "szr": {Flow.FERAL_DESTROYED: "zombies destroyed (Z -> R)", Flow.NATURAL_DEATH: "natural deaths (S -> R)",
            Flow.DECAY: "zombies decayed", Flow.CULL: "bitten humans culled (H)",
            Flow.SWEEP_HYBRIDS: "bitten humans killed in sweeps (H)", Flow.SWEEP_KILL: "zombies destroyed in sweeps"},
}


def plot_exits(result: Result, ax: Axes | None = None) -> Figure:
    """Cumulative deaths by cause and removals of the infected, stacked (``EXITS``): where the people
    who left the living went, and why. Hybrids killed in sweeps are shown apart from the ferals."""
    fig, ax = _fig_ax(ax)
    words = EXIT_WORDS.get(vocabulary(result.scenario).name, {})
    flows = result.flows.sum(axis=2)  # [day, flow]
    cum = np.vstack([np.zeros((1, flows.shape[1])), np.cumsum(flows, axis=0)])  # at times 0 .. days
    t = np.arange(result.days + 1)
    series, labels, colours = [], [], []
    for i, (flow, label) in enumerate(EXITS):
        y = cum[:, flow] - (cum[:, Flow.SWEEP_HYBRIDS] if flow == Flow.SWEEP_KILL else 0.0)
        if y.size and y[-1] >= 0.5:
            series.append(y)
            labels.append(words.get(flow, label))
            colours.append(OKABE_ITO[i % len(OKABE_ITO)])
    if series:
        ax.stackplot(t, series, labels=labels, colors=colours, alpha=0.85)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
        ax.set_xlim(0, result.days)
    else:
        ax.text(0.5, 0.5, "no one died or was removed", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("deaths by cause and removals (cumulative)")
    ax.set_xlabel("day")
    ax.set_ylabel("people")
    return fig


def plot_run(result: Result) -> Figure:
    """Overview of a run: everyone over time and where the dead and removed went on top, each
    zone's curves below."""
    nz = len(result.zone_ids)
    cols = min(3, nz)
    rows = int(np.ceil(nz / cols))
    # constrained layout keeps the figure's title clear of the panels' titles and every legend
    # inside the figure, however many rows of zones there are (tight_layout let a tall figure's
    # title fall onto the first panel's: korea's 17 zones)
    fig = plt.figure(figsize=(max(4.2 * cols, 10.0), 3.2 * (rows + 2.4)), layout="constrained")
    gs = fig.add_gridspec(rows + 2, cols, height_ratios=[1.3, 1.1] + [1] * rows)
    plot_spectrum(result, fig.add_subplot(gs[0, :]))
    plot_exits(result, fig.add_subplot(gs[1, :]))
    axes = [fig.add_subplot(gs[2 + z // cols, z % cols]) for z in range(nz)]
    plot_zone_curves(result, axes)
    fig.suptitle(f"{result.scenario.name} ({engine_words(result.engine)} engine, seed {result.seed})",
                 fontsize="x-large")
    return fig


def _bands_vocab(data: object, vocab: Vocabulary | None) -> Vocabulary | None:
    """The words of banded curves: ``vocab`` when given, else the runs' scenario's (None: Aftermath's)."""
    if vocab is not None or isinstance(data, pd.DataFrame) or not isinstance(data, Sequence) or not data:
        return vocab
    return vocabulary(getattr(data[0], "scenario", None))


def _draw_bands(ax: Axes, q: pd.DataFrame, states: Sequence[str], vocab: Vocabulary | None = None) -> None:
    words = vocab is not None and vocab.name != "aftermath"
    for s in states:
        part = q[q["state"] == s].sort_values("day")
        if part.empty or (words and float(part["q95"].max()) < 0.5):  # a vocabulary's absent states unsaid
            continue
        day = part["day"].to_numpy()
        c = STATE_COLOURS[s]
        ax.fill_between(day, part["q05"].to_numpy(), part["q95"].to_numpy(), color=c, alpha=0.2, lw=0)
        ax.fill_between(day, part["q25"].to_numpy(), part["q75"].to_numpy(), color=c, alpha=0.45, lw=0)
        label = state_label(vocab, s) if vocab is not None else STATE_LABELS[s]
        ax.plot(day, part["q50"].to_numpy(), color=c, label=label, ls="--" if s in OUT_STATES else "-")


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


def _zone_names(data: object) -> dict[str, str]:
    """Zone id -> display name, from the run(s)' scenario (a quantile frame has ids only)."""
    run = data[0] if isinstance(data, Sequence) and not isinstance(data, pd.DataFrame) and len(data) else data
    sc = getattr(run, "scenario", None)
    from aftermath.record.vocabulary import zone_names

    return zone_names(sc) if sc is not None else {}


def _single(data: Result | Sequence[Result] | pd.DataFrame) -> Result | pd.DataFrame:
    if isinstance(data, Sequence) and not isinstance(data, pd.DataFrame) and len(data) == 1:
        return data[0]
    return data  # type: ignore[return-value]


GRID_COLS = 3  # panels per row of :func:`_grid`


def _grid(n: int, width: float = 4.2, height: float = 3.0, cols: int = GRID_COLS) -> tuple[Figure, list[Axes]]:
    """``n`` panels, ``cols`` to a row, sharing their day axis: its ticks are numbered on the lowest
    panel of each column (one above an empty place included, which ``sharex`` would leave bare)."""
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    fig, grid = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, sharex=True)
    axes = list(grid.ravel())
    for extra in axes[n:]:
        extra.set_visible(False)
    for i, ax in enumerate(axes[:n]):
        if i + cols >= n:  # nothing shown below it
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig, axes[:n]


def _fig_ax(ax: Axes | None, size: tuple[float, float] = (8, 4)) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]
