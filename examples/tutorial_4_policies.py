"""Tutorial step 4 (docs/tutorial.md): weigh a policy. Close the garrison's gate, or cull hybrids at once?

Every variant runs on the same seeds as the baseline (common random numbers), so the difference in
survivors is the policy's, not chance's.

Run: .venv/bin/python examples/tutorial_4_policies.py [--out DIR] [--quick]
"""

from __future__ import annotations

from _tutorial import claim, options

from aftermath.compare import compare
from aftermath.teach.overlay import overlay

GATE = 'policies."screen at the garrison gate"'
CULL = 'policies."cull hybrids when afraid"'
VARIANTS = {
    "gate closed": {f"{GATE}.mode": "closed"},
    "cull at once": {f"{CULL}.when": "true", f"{CULL}.rate": 0.5},  # from the first morning, faster
}


def main(argv: list[str] | None = None) -> None:
    a = options(__doc__, argv)
    runs, days = (2, 150) if a.quick else (20, None)
    frame, _ = compare("hyosan", VARIANTS, runs=runs, engine="ssa", days=days)
    wanted = ["lives_saved", "survivors", "deaths", "culled", "turned_away_attempts"]
    table = frame[frame.metric.isin(wanted)].pivot(index="metric", columns="variant", values="mean").loc[wanted]
    print(f"means over {runs} replicates of the ssa engine (lives saved: against the baseline, seed by seed)")
    print(table.round(0).to_string())
    saved = table.loc["lives_saved"]
    claim(saved["gate closed"] < 0, "closing the gate costs lives: the refused die outside")

    o = overlay(["hyosan"], engines=["ssa"], variants=VARIANTS, runs=runs, days=days)
    o.plot().savefig(a.out / "tutorial_4_policies.png", dpi=80)
    print(f"figure: {a.out / 'tutorial_4_policies.png'}")


if __name__ == "__main__":
    main()
