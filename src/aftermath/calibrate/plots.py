"""The fit against the data: one panel per observed series, in the style of ``report/plots.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import numpy as np

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from aftermath.calibrate.data import MEASURES
from aftermath.report.plots import OKABE_ITO

if TYPE_CHECKING:
    from aftermath.calibrate.fit import CalibrationResult


def plot_fit(res: CalibrationResult, draws: int = 60, title: str | None = None) -> Figure:
    """Data (black points), best fit (line), the posterior's 50% and 90% bands of the expected
    reported value, and the 90% predictive interval of an observation (dotted)."""
    bands = res.fit_bands(draws)
    series = list(bands[["measure", "zone"]].drop_duplicates().itertuples(index=False))
    n = len(series)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    axes = list(grid.ravel())
    for extra in axes[n:]:
        extra.set_visible(False)
    data = res.data
    for k, (measure, zone) in enumerate(series):
        ax = axes[k]
        c = OKABE_ITO[k % len(OKABE_ITO)] if k else "#D55E00"
        b = bands[(bands["measure"] == measure) & (bands["zone"] == zone)].sort_values("day")
        day = b["day"].to_numpy()
        # counts are never negative: a band of the normal likelihood (mu + sd z) is drawn as that of
        # max(y, 0), whose quantiles are the same ones clipped at 0
        v = {col: np.clip(b[col].to_numpy(dtype=float), 0.0, None) for col in b.columns if col not in
             ("day", "measure", "zone")}
        if "q05" in b:
            ax.fill_between(day, v["pred05"], v["pred95"], color=c, alpha=0.10, lw=0)
            ax.plot(day, v["pred05"], color=c, lw=0.8, ls=":")
            ax.plot(day, v["pred95"], color=c, lw=0.8, ls=":")
            ax.fill_between(day, v["q05"], v["q95"], color=c, alpha=0.25, lw=0)
            ax.fill_between(day, v["q25"], v["q75"], color=c, alpha=0.45, lw=0)
        ax.plot(day, v["best"], color=c, lw=1.8, label="best fit")
        obs = data[(data["measure"] == measure) & (data["zone"] == zone)]
        ax.plot(obs["day"], obs["value"], "o", color="black", ms=4, label="data", zorder=5)
        where = "" if zone == "all" else f" in {zone}"
        ax.set_title(f"{measure}{where}: {MEASURES[str(measure)].short}", fontsize="small")
        ax.set_xlabel("day")
        ax.set_ylabel("people")
        ax.margins(x=0)
        if k == 0:
            handles, labels = ax.get_legend_handles_labels()
            handles += [Patch(color=c, alpha=0.45), Patch(color=c, alpha=0.25), Patch(color=c, alpha=0.10)]
            labels += ["50% credible band", "90% credible band", "90% predictive"]
            ax.legend(handles, labels, fontsize="small", frameon=False)
    fig.suptitle(title or f"{res.problem.base.name}: fit to data ({res.engine}, {len(res.posterior)} posterior draws)")
    fig.tight_layout()
    return fig
