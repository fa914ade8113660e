"""The story of a run and the weighing of choices: chronicle timeline, official vs true record,
and the policy comparison (lives saved against what the ledger says they cost)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from aftermath.record.vocabulary import Vocabulary, costs_in_words, faction_names, vocabulary, word
from aftermath.report.plots import OKABE_ITO, _zone_names
from aftermath.report.plots_map import _wrap

if TYPE_CHECKING:
    from aftermath.result import Result

#: Marker, colour and whether to label, per chronicle kind; unknown kinds get a grey dot.
KIND_STYLE: dict[str, tuple[str, str, bool]] = {
    "first_infection": ("o", "#E69F00", False),
    "breach": ("|", "#D55E00", False),
    "enclave_fallen": ("X", "#000000", True),
    "starvation": ("v", "#CC79A7", True),
    "truce_made": ("P", "#009E73", True),
    "truce_broken": ("X", "#CC79A7", True),
    "new_lineage": ("*", "#56B4E9", False),
    "elimination": ("*", "#009E73", True),
    "humans_extinct": ("X", "#D55E00", True),
    "policy_sweep": ("d", "#0072B2", False),
    "policy_reopen": ("^", "#009E73", True),
    "cull": ("x", "#D55E00", False),
    "seal": ("s", "#CC79A7", False),
    "unseal": ("s", "#009E73", False),
}
#: Each chronicle kind as a reader reads it (the legend, the reports' tables); the kinds themselves
#: stay in the JSON and the store.
KIND_WORDS: dict[str, str] = {
    "first_infection": "the infection reached a zone",
    "breach": "ferals broke through a wall",
    "enclave_fallen": "an enclave fell",
    "starvation": "a zone ran out of food",
    "truce_made": "a truce was made",
    "truce_broken": "a truce broke",
    "new_lineage": "a new lineage of the virus",
    "elimination": "the infection was gone",
    "humans_extinct": "no human was left",
    "strain_table_full": "the strain table filled: mutation stopped",
    "policy_on": "a policy began",
    "policy_off": "a policy stopped",
    "policy_sweep": "a sweep",
    "policy_reopen": "a sealed zone reopened",
    "cull": "a cull",
    "seal": "a zone was sealed",
    "unseal": "a seal was lifted",
}
#: The kinds whose words differ in the SIR limit's and Munz's vocabularies (the rest are as
#: :data:`KIND_WORDS`).
VOCABULARY_KIND_WORDS: dict[str, dict[str, str]] = {
    "sir": {"breach": "the infectious broke through a wall"},
    "szr": {"breach": "zombies broke through a wall"},
}


def kind_words(kind: str, vocab: Vocabulary | None = None) -> str:
    """A chronicle kind in words (:data:`KIND_WORDS`), in ``vocab``'s where they differ; an
    unknown kind as :func:`aftermath.record.vocabulary.word` says it."""
    said = VOCABULARY_KIND_WORDS.get(vocab.name if vocab is not None else "aftermath", {})
    return said.get(kind, KIND_WORDS.get(kind, word(kind, vocab)))


#: Policy on/off events are drawn as the bars of the lower panel instead.
SPAN_KINDS = ("policy_on", "policy_off")
MAX_LABELS = 12
#: Costs that are a subset of another cost: shown, but not added to the total.
PART_OF = {"excluded_healthy": "excluded", "sacrificed_healthy": "sacrificed"}
WORLD_ROW = "(world)"


def plot_chronicle(result: Result, fig: Figure | None = None) -> Figure:
    """The chronicle as a timeline: events per zone on top, the days each policy acted below.

    Upper panel: one row per zone (and one for events of the whole world or between factions), a
    marker per event, styled by kind; the most telling events (falls, truces, starvation,
    extinction) are labelled. Lower panel: one bar per policy over the days it acted anywhere.
    """
    events = result.chronicle_frame()
    labels = list(result.policy_labels)
    vocab = vocabulary(result.scenario)
    if fig is None:
        nrows = len(result.zone_ids) + 1
        fig = plt.figure(figsize=(10, 1.2 + 0.32 * nrows + 0.28 * max(len(labels), 1) + 1.2))
    heights = [len(result.zone_ids) + 1.5, 0.7 * max(len(labels), 1)]
    ax, axp = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": heights})
    rows = [WORLD_ROW, *result.zone_ids]
    ev = events[~events["kind"].isin(SPAN_KINDS)].copy()
    ev["row"] = ev["zone"].map(lambda z: rows.index(z) if z in rows else 0)
    for kind, part in ev.groupby("kind", sort=True):
        marker, colour, _ = KIND_STYLE.get(str(kind), ("o", "0.5", False))
        ax.scatter(part["day"], part["row"], marker=marker, color=colour, s=36 if marker != "|" else 60,
                   label=kind_words(str(kind), vocab), zorder=3, linewidths=1.2)
    labelled = ev[ev["kind"].map(lambda k: KIND_STYLE.get(k, ("", "", False))[2])].head(MAX_LABELS)
    names = _zone_names(result)  # zones by their names (the ids stay in the JSON and the store)
    span = max(result.days, 1)
    # a label's width in days: ~5 points a character at 7 points (DejaVu Sans averages 4.4), over the
    # axes' width once the legend has taken its room (tight_layout narrows them by about a fifth)
    per_char = 5.0 * span / max(0.8 * ax.get_window_extent().width * 72 / fig.dpi, 1.0)
    taken: dict[tuple[int, bool], list[tuple[float, float]]] = {}
    for _, e in labelled.iterrows():
        text = str(e["text"])
        zone_name = names.get(str(e["zone"]), "")
        if zone_name and text.startswith(zone_name + " "):  # the row says where: "fell: 354 of its ..."
            text = text[len(zone_name) + 1:]
        text = _short(text, 40)
        x, width = float(e["day"]), per_char * (len(text) + 2)
        left = x + width > span  # labelled to the left when it would leave the axes
        x0, x1 = (x - width, x) if left else (x, x + width)
        row = int(e["row"])
        # below the marker, else above it, else not labelled (the marker and the legend still say it)
        side = next((up for up in (False, True) if not any(a < x1 and x0 < b for a, b in taken.get((row, up), []))),
                    None)
        if side is None:
            continue
        taken.setdefault((row, side), []).append((x0, x1))
        ax.annotate(text, (x, row), xytext=(-6 if left else 6, 6 if side else -7), textcoords="offset points",
                    fontsize=7, ha="right" if left else "left", va="bottom" if side else "top",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}, zorder=4)
    ax.set_yticks(range(len(rows)), [_wrap(names.get(z, z), 26) for z in rows])
    ax.set_ylim(len(rows) - 0.2, -0.6)
    ax.grid(axis="y", color="0.9")
    ax.set_title(f"chronicle: {len(events)} events")
    if len(ev):
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    active = np.asarray(result.policy_acted.any(axis=2), dtype=bool)
    for i, _name in enumerate(labels):
        spans = _runs(active[:, i])
        axp.broken_barh([(a, b - a) for a, b in spans], (i - 0.35, 0.7), color=OKABE_ITO[i % 7])
    axp.set_yticks(range(len(labels)), [_short(s, 34) for s in labels], fontsize=8)
    axp.set_ylim(max(len(labels), 1) - 0.5, -0.5)
    axp.set_xlabel("day")
    axp.set_title("days each policy acted (anywhere)", fontsize="medium")
    axp.set_xlim(0, max(result.days, 1))
    fig.tight_layout()
    return fig


def plot_official_record(result: Result, axes: Sequence[Axes] | None = None) -> Figure:
    """What each faction reports beside what happened, one panel per faction.

    For each measure of :func:`aftermath.record.official.official_record` (deaths, infections,
    arrivals) a bar of the official count, with the people it left out (culled, hidden by their
    households, turned away at the gates) stacked on it up to the true count.
    """
    from aftermath.record.official import official_record

    rec = official_record(result)
    names = faction_names(result.scenario)
    factions = list(pd.unique(rec["faction"])) or ["(no faction)"]
    if axes is None:
        fig, grid = plt.subplots(1, len(factions), figsize=(4.8 * len(factions) + 1.6, 3.0), squeeze=False)
        axes = list(grid.ravel())
    else:
        fig = axes[0].get_figure()  # type: ignore[assignment]
    for ax, fid in zip(axes, factions, strict=True):
        r = rec[rec["faction"] == fid]
        if r.empty:
            ax.text(0.5, 0.5, "no faction keeps a record", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        y = np.arange(len(r))
        official = r["official"].to_numpy(dtype=float)
        left = r["left_out"].to_numpy(dtype=float)
        ax.barh(y, official, color="#0072B2", label="official record")
        ax.barh(y, left, left=official, color="#E69F00", hatch="//", edgecolor="white", label="left out")
        top = float(np.max(official + left, initial=1.0)) or 1.0
        for i, (o, lo) in enumerate(zip(official, left, strict=True)):
            note = f"{o + lo:,.0f} true" + (f"\n{lo:,.0f} left out" if lo >= 0.5 else "")
            ax.annotate(note, (o + lo, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7.5)
        ax.set_xlim(0, top * 1.3)
        ax.set_yticks(y, list(r["measure"]))
        ax.invert_yaxis()
        ax.set_title(names.get(str(fid), str(fid)))
        ax.set_xlabel("people")
    if axes[-1].get_legend_handles_labels()[0]:
        axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    fig.suptitle("official vs true record", fontsize="medium")
    fig.tight_layout()
    return fig


def plot_comparison(df: pd.DataFrame, axes: Sequence[Axes] | None = None, benefit: str = "lives_saved",
                    cost: str = "killed_by_policy", vocab: Vocabulary | None = None) -> Figure:
    """Policy comparison from a frame ``variant, metric, mean, lo, hi``.

    Left: lives saved (y) against ``cost`` (x), by default ``killed_by_policy`` (people a policy
    killed, each once: :data:`aftermath.compare.METRICS`), a point per variant with its interval on
    both axes. Costs are never added up here: people turned away may later starve, the sealed in
    may be culled, so a sum would count them twice. A frame without ``cost`` (an older one) falls
    back to ``cost_total``, else to the sum of the costs that are not part of another.
    Right: each cost per variant, as horizontal bars with their intervals. Costs are named in
    ``vocab``'s words (a scenario's ``run.vocabulary``; Aftermath's own without one).
    """
    missing = {"variant", "metric", "mean", "lo", "hi"} - set(df.columns)
    if missing:
        raise ValueError(f"a comparison frame needs variant, metric, mean, lo, hi; missing {sorted(missing)}")
    if axes is None:
        fig, grid = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1, 1.2]})
        axes = list(grid)
    else:
        fig = axes[0].get_figure()  # type: ignore[assignment]
    ax, axc = axes[0], axes[1]
    from aftermath.compare import METRIC

    variants = list(pd.unique(df["variant"]))
    costs = [m for m in pd.unique(df["metric"]) if m not in (benefit, "cost_total")
             and (m not in METRIC or METRIC[m].cost)]
    summed = [m for m in costs if m not in PART_OF and (m not in METRIC or METRIC[m].part_of is None)]
    has_cost = bool((df["metric"] == cost).any())
    for i, v in enumerate(variants):
        d = df[df["variant"] == v].set_index("metric")
        c = OKABE_ITO[i % len(OKABE_ITO)]
        y = d.loc[benefit] if benefit in d.index else None
        if has_cost:
            x = d.loc[cost][["mean", "lo", "hi"]].astype(float) if cost in d.index else \
                pd.Series({"mean": np.nan, "lo": np.nan, "hi": np.nan})
        elif "cost_total" in d.index:
            x = d.loc["cost_total"][["mean", "lo", "hi"]].astype(float)
        else:
            x = d.loc[d.index.isin(summed), ["mean", "lo", "hi"]].astype(float).sum()
        if y is not None:
            ax.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - x["lo"]], [x["hi"] - x["mean"]]],
                        yerr=[[y["mean"] - y["lo"]], [y["hi"] - y["mean"]]], fmt="o", color=c, capsize=3,
                        ms=7, label=v)
            ax.annotate(v, (x["mean"], y["mean"]), xytext=(6, 6), textcoords="offset points", fontsize=8)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel(word(cost, vocab) if has_cost else "sum of the costs (none part of another)")
    ax.set_ylabel("lives saved vs baseline")
    ax.set_title("what each choice saved, and what it cost")
    n, width = len(variants), 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        d = df[df["variant"] == v].set_index("metric").reindex(costs)
        pos = np.arange(len(costs)) + (i - (n - 1) / 2) * width
        mean = d["mean"].to_numpy(dtype=float)
        err = np.vstack([mean - d["lo"].to_numpy(dtype=float), d["hi"].to_numpy(dtype=float) - mean])
        axc.barh(pos, mean, height=width, xerr=np.clip(np.nan_to_num(err), 0, None),
                 color=OKABE_ITO[i % len(OKABE_ITO)], label=v, capsize=2)
    # the costs as the report's tables say them ("of which ..." under the cost they are part of)
    axc.set_yticks(range(len(costs)), [_wrap(c, 32) for c in costs_in_words([str(c) for c in costs], vocab)],
                   fontsize=8)
    axc.invert_yaxis()
    axc.set_xlabel("people (mean, 90% interval)")
    axc.set_title("costs of policy in people, per variant")
    axc.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``mask``; end is exclusive."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
