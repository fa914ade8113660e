"""Tutorial step 3 (docs/tutorial.md): Hyosan, a city some months after the fall, and its story.

Run: .venv/bin/python examples/tutorial_3_hyosan.py [--out DIR] [--quick]
"""

from __future__ import annotations

from _tutorial import claim, options

import aftermath as am
from aftermath.record.timeline import render_timeline
from aftermath.scenario.load import policy_paths


def main(argv: list[str] | None = None) -> None:
    a = options(__doc__, argv)
    sc = am.load("hyosan")
    print(f"{sc.name}: {len(sc.zones)} zones, {sc.initial_humans():,.0f} people, {len(sc.policies)} policies")
    for p in policy_paths(sc):
        print(f"  {p['path_by_name'] or p['path']:<48} {p['type']:<9} when {p['when']}")

    res = am.simulate(sc, days=200 if a.quick else None)
    s = res.summary()
    print(f"after {s['days']} days: {s['survivors']:,.0f} survivors, {s['deaths']:,.0f} deaths "
          f"({s['starved']:,.0f} starved), {s['turned']:,.0f} turned feral")
    for line in render_timeline(res, limit=12):
        print("  " + line)
    # everyone is accounted for: the living, the ferals, the dead and the removed
    claim(abs(res.counts[-1].sum() - res.counts[0].sum() - s["births"]) < 1e-6 * res.counts[0].sum(),
          "everyone at the end is someone from the start or born since")
    per_zone = res.to_pandas().query("day == @s['days'] and state in ['S', 'E', 'H']").groupby("zone")["count"].sum()
    print(per_zone.round(0).to_string())
    res.plot().savefig(a.out / "tutorial_3_hyosan.png", dpi=80)
    print(f"figure: {a.out / 'tutorial_3_hyosan.png'}")


if __name__ == "__main__":
    main()
