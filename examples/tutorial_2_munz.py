"""Tutorial step 2 (docs/tutorial.md): Munz et al. (2009), "When zombies attack!", in ten-day detail.

Run: .venv/bin/python examples/tutorial_2_munz.py [--out DIR] [--quick]
"""

from __future__ import annotations

import numpy as np
from _tutorial import claim, options

import aftermath as am
from aftermath.record.fine import fine_counts
from aftermath.teach.overlay import overlay


def crossing(t: np.ndarray, humans: np.ndarray, ferals: np.ndarray) -> float:
    """The first time ferals outnumber humans, interpolated between samples."""
    gap = ferals - humans
    i = int(np.flatnonzero(gap > 0)[0])
    return float(t[i - 1] + (t[i] - t[i - 1]) * -gap[i - 1] / (gap[i] - gap[i - 1]))


def main(argv: list[str] | None = None) -> None:
    a = options(__doc__, argv)
    sc = am.load("munz-basic")  # S, Z, R words; a sample every 0.1 day (run.record_every)
    res = am.simulate(sc)
    t, counts = fine_counts(res)  # [time, zone, state], 101 samples over 10 days
    humans = counts[:, 0, :3].sum(axis=1)  # S + E + H: Munz's S
    zombies = counts[:, 0, 3]
    when = crossing(t, humans, zombies)
    s5 = float(humans[np.searchsorted(t, 5.0)])
    print(f"zombies outnumber humans at t = {when:.3f} (Munz et al.: 2.755); S(5) = {s5:.3f} (Munz et al.: 1.498)")
    claim(abs(when - 2.755) < 1e-2, "the crossing time is Munz's to 1e-2")
    claim(abs(s5 - 1.498) < 1e-2, "the humans left at t = 5 are Munz's to 1e-2")

    # what if humans fought back twice or four times as hard? (alpha: zombies destroyed per encounter)
    o = overlay([sc], variants={"defence x2": {"defence.alpha": 0.01}, "defence x4": {"defence.alpha": 0.02}})
    table = o.table().set_index("curve")
    print(table[["survivors", "peak", "deaths"]].round(1).to_string())
    claim(table.loc["defence x4", "survivors"] > table.loc["baseline", "survivors"],
          "fighting back harder leaves more humans after ten days")
    o.plot().savefig(a.out / "tutorial_2_munz.png", dpi=100)
    print(f"figure: {a.out / 'tutorial_2_munz.png'}")


if __name__ == "__main__":
    main()
