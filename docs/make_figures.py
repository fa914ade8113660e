"""Make the figures of docs/report.md from the built-in scenarios: ``python docs/make_figures.py``.

Writes docs/img/*.png (each kept under 200 KB). The ensemble and the comparison use the SSA engine
with a few replicates so the script runs in about a minute; the virus's evolution needs the
agent-based engine (the only one that mutates) and is skipped with a message when it is unavailable.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from aftermath.api import load, simulate
from aftermath.report import ensemble as ens
from aftermath.report import plots, plots_map, plots_story, plots_virus

OUT = Path(__file__).resolve().parent / "img"
DPI = 80
LIMIT = 200_000


def save(fig: plt.Figure, name: str) -> None:
    path = OUT / f"{name}.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    size = path.stat().st_size
    print(f"{path.relative_to(OUT.parent.parent)}: {size / 1024:.0f} KB")
    if size > LIMIT:
        raise SystemExit(f"{path} is {size} bytes, over {LIMIT}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run = simulate(load("hyosan"), engine="ode", days=365)
    save(plots.plot_run(run), "run_overview")
    save(plots_map.plot_map(run, day=60), "map")
    save(plots_map.plot_map_days(run, [0, 30, 90, 180, 270, 365]), "map_days")
    save(plots_story.plot_chronicle(run), "chronicle")
    save(plots_story.plot_official_record(run), "official_record")

    days, reps = 200, 12
    runs = [simulate(load("hyosan"), engine="ssa", days=days, seed=s) for s in range(reps)]
    save(plots.plot_zone_curves(runs), "ensemble_bands")

    variants = {"baseline": {}, "no culls": {"policies.6.action": "ignore"}, "open gate": {"policies.3.mode": "open"}}
    by_variant = {
        name: [simulate(load("hyosan", **{k.replace(".", "__"): v for k, v in ov.items()}), engine="ssa",
                        days=days, seed=s) for s in range(reps)]
        for name, ov in variants.items()
    }
    by_variant["baseline"] = runs
    save(plots_story.plot_comparison(ens.comparison_frame(by_variant, "baseline")), "comparison")

    try:
        abm = simulate(load("hyosan"), engine="abm", days=200, seed=1)
    except Exception as exc:  # the ABM is optional here: the other figures stand on their own
        print(f"virus figures skipped: the ABM failed ({type(exc).__name__}: {exc})", file=sys.stderr)
    else:
        save(plots_virus.plot_phylogeny(abm), "phylogeny")
        save(plots_virus.plot_trait_drift(abm), "trait_drift")
    print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
