"""Several scenarios, variants or engines in one figure and one table (``aftermath overlay``).

Each *curve* is one (scenario, variant, engine): the scenario as it is or with a variant's values set
by scenario path (``LABEL:PATH=VALUE``, as ``compare --policy``), run by one engine. A stochastic
engine runs ``runs`` replicates, replicate ``i`` with seed ``seed + i`` in every curve (common
random numbers), and is drawn as its median with a 90% band; the ODE runs once. Curves are drawn at
the finest resolution each run recorded (``run.record_every``).

The panels are the compartments of the scenarios' shared vocabulary (``run.vocabulary``: S, I, R
for the SIR limit), or the humans, ferals and the dead and removed when the scenarios use different
words. Every person is in exactly one panel. The table gives each curve's outcomes
(:data:`COLUMNS`), the mean over replicates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import NDArray

from aftermath.engines.driver import simulate
from aftermath.record.fine import fine_counts
from aftermath.record.vocabulary import Group, Vocabulary, vocabulary
from aftermath.report.plots import OKABE_ITO
from aftermath.result import Result
from aftermath.scenario.load import ScenarioError, apply_run_options, load, with_overrides
from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]
BASELINE = "baseline"
STOCHASTIC = ("ssa", "abm")
#: When the scenarios' vocabularies differ: three groups that every vocabulary can be read as.
COMMON = Vocabulary(
    "common",
    (
        Group("humans", "humans (S + E + H)", ("S", "E", "H"), "#0072B2"),
        Group("ferals", "ferals (Z)", ("Z",), "#D55E00"),
        Group("out", "dead and removed (D + R)", ("D", "R"), "#555555", out=True),
    ),
    humans="humans", ferals="ferals", infected="infected",
)
#: The table's columns: (key, header, meaning).
COLUMNS = (
    ("attack_rate", "attack rate", "share of the initial humans ever infected"),
    ("peak", "peak {ferals}", "the ferals' peak after their low (the I or Z of the vocabulary); none when they "
                              "never rose by half a person above an earlier low"),
    ("peak_day", "peak day", "the day of that peak"),
    ("survivors", "{humans_end}", "humans (S + E + H) alive at the end"),
    ("deaths", "deaths", "people who died (turning feral is not a death)"),
)


@dataclass
class Curve:
    """One (scenario, variant, engine) and its runs."""

    label: str
    scenario: str
    variant: str
    engine: str
    runs: list[Result] = field(default_factory=list)


@dataclass
class Overlay:
    """The curves of an overlay, with its table and figure."""

    curves: list[Curve]
    vocab: Vocabulary

    def table(self) -> pd.DataFrame:
        """One row per curve: scenario, variant, engine, runs, and the mean of each outcome."""
        rows = []
        for c in self.curves:
            sums = [r.summary() for r in c.runs]
            row: dict[str, Any] = {"curve": c.label, "scenario": c.scenario, "variant": c.variant,
                                   "engine": c.engine, "runs": len(c.runs)}
            for key, src in (("attack_rate", "attack_rate"), ("peak", "peak_ferals"),
                             ("peak_day", "peak_ferals_day"), ("survivors", "survivors"), ("deaths", "deaths")):
                vals = [s[src] for s in sums if s[src] is not None]
                row[key] = float(np.mean(vals)) if vals else None
            rows.append(row)
        return pd.DataFrame(rows)

    def headers(self) -> dict[str, str]:
        """The table's headers in the overlay's words."""
        end = "survivors" if self.vocab.humans == "survivors" else f"{self.vocab.humans} at end"
        return {k: h.format(ferals=self.vocab.ferals, humans_end=end) for k, h, _ in COLUMNS}

    def plot(self, fraction: bool = False) -> Figure:
        """One panel per compartment, a line per curve (median and 90% band for replicates)."""
        import matplotlib.pyplot as plt

        groups = [g for g in self.vocab.groups if any(self._peak(c, g) > 0 for c in self.curves)]
        groups = groups or list(self.vocab.groups)
        n = len(groups)
        cols = min(3, n)
        rows = int(np.ceil(n / cols))
        fig, grid = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows + 0.8), squeeze=False, sharex=True)
        axes = list(grid.ravel())
        for extra in axes[n:]:
            extra.set_visible(False)
        banded = any(len(c.runs) > 1 for c in self.curves)
        for ax, g in zip(axes, groups, strict=False):
            for i, c in enumerate(self.curves):
                colour = OKABE_ITO[i % len(OKABE_ITO)]
                t, ys = self._series(c, g, fraction)
                style = ["-", "--", ":", "-."][(i // len(OKABE_ITO)) % 4]
                if ys.shape[0] == 1:  # one run (the ODE): drawn over the bands, dashed where there are
                    # bands, so that a median it agrees with does not hide it
                    ax.plot(t, ys[0], color=colour, ls="--" if banded else style, lw=2.0, zorder=3, label=c.label)
                else:
                    lo, med, hi = np.quantile(ys, [0.05, 0.5, 0.95], axis=0)
                    ax.fill_between(t, lo, hi, color=colour, alpha=0.2, lw=0)
                    ax.plot(t, med, color=colour, ls=style, label=f"{c.label} (median, 90% band)")
            ax.set_title(g.label)
            ax.set_xlabel("day")
            ax.set_ylabel("share of everyone" if fraction else "people")
            ax.margins(x=0)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize="small", frameon=False)
        fig.tight_layout(rect=(0, 0.06 + 0.03 * ((len(labels) - 1) // 3), 1, 1))
        return fig

    @staticmethod
    def _series(c: Curve, g: Group, fraction: bool) -> tuple[F64, F64]:
        cols = [["S", "E", "H", "Z", "D", "R"].index(s) for s in g.states]
        t0, _ = fine_counts(c.runs[0])
        ys = []
        for r in c.runs:
            _, counts = fine_counts(r)
            world = counts.sum(axis=1)
            y = world[:, cols].sum(axis=1)
            if fraction:
                y = y / world[0].sum()
            ys.append(y)
        return t0, np.vstack(ys)

    def _peak(self, c: Curve, g: Group) -> float:
        _, ys = self._series(c, g, False)
        return float(ys.max())


def _label(scenario: str, variant: str, engine: str, n_sc: int, n_var: int, n_eng: int) -> str:
    parts = [p for p, many in ((scenario, n_sc > 1), (variant, n_var > 1), (engine, n_eng > 1)) if many]
    return " · ".join(parts) or f"{scenario} · {engine}"


def overlay(scenarios: Sequence[Scenario | str], engines: Sequence[str] = ("ode",),
            variants: Mapping[str, Mapping[str, Any]] | None = None, runs: int = 1,
            seed: int | None = None, days: int | None = None) -> Overlay:
    """Run every (scenario, variant, engine) and return the :class:`Overlay`.

    ``scenarios`` are built-in names, files or :class:`Scenario` objects; ``variants`` maps a label
    to values by scenario path (the baseline, the scenario as it is, always comes first);
    ``runs`` replicates per stochastic curve, seeds ``seed, seed + 1, ...`` (default: each
    scenario's ``run.seed``). Raises :class:`ScenarioError` for a bad scenario, variant or engine.
    """
    if not scenarios:
        raise ScenarioError("overlay", "", [], "at least one scenario")
    if runs < 1:
        raise ScenarioError("overlay", "--runs", runs, "at least 1 run per curve")
    loaded = [(s if isinstance(s, str) else s.name, load(s) if isinstance(s, str) else s) for s in scenarios]
    names = [n for n, _ in loaded]
    if len(set(names)) < len(names):
        raise ScenarioError("overlay", "", names, "each scenario once")
    variants = dict(variants or {})
    if BASELINE in variants:
        raise ScenarioError("overlay", "--variant", BASELINE,
                            f"a label other than {BASELINE!r} (the scenario as it is)")
    engines = list(dict.fromkeys(engines))
    vocab_names = {sc.run.vocabulary or "aftermath" for _, sc in loaded}
    vocab = vocabulary(loaded[0][1]) if len(vocab_names) == 1 else COMMON
    plan: list[tuple[Curve, Scenario]] = []
    labels = [BASELINE, *variants]
    for name, sc in loaded:
        for label in labels:
            varied = sc if label == BASELINE else with_overrides(sc, variants[label], source=f"variant {label}")
            for eng in engines:
                base = apply_run_options(varied, days=days, seed=seed, engine=eng, source="overlay")
                curve = Curve(_label(name, label, eng, len(loaded), len(labels), len(engines)), name, label, eng)
                plan.append((curve, base))
    for curve, sc in plan:
        n = runs if curve.engine in STOCHASTIC else 1
        curve.runs = [simulate(sc, seed=sc.run.seed + i) for i in range(n)]
    return Overlay([c for c, _ in plan], vocab)
