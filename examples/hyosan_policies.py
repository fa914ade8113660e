"""Does the fate of Hyosan's enclaves depend on the policies chosen? One ODE run per variant.

Run: .venv/bin/python examples/hyosan_policies.py [--engine abm --seed 1] [--days 120]
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from typing import Any

import aftermath as am
from aftermath.scenario.load import from_dict, to_dict

Edit = Callable[[dict[str, Any]], None]


def drop(kind: str) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        d["policies"] = [p for p in d["policies"] if p["type"] != kind]
    return edit


def set_field(kind: str, key: str, old: str, new: str) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        for p in d["policies"]:
            if p["type"] == kind and p.get(key) == old:
                p[key] = new
    return edit


VARIANTS: dict[str, Edit] = {
    "baseline": lambda d: None,
    "no policies at all": lambda d: d.update(policies=[]),
    "no seal of the quarantine": drop("seal"),
    "garrison gate open": drop("admission"),
    "garrison gate closed": set_field("admission", "mode", "screen", "closed"),
    "survivors cull hybrids": set_field("hybrids", "action", "protect", "cull"),
    "no sweeps of the city": drop("sweep"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engine", default="ode")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--days", type=int, default=None, help="horizon (default: the scenario's year)")
    a = ap.parse_args()
    base = to_dict(am.load("hyosan"))
    zones = [z["id"] for z in base["zones"]]
    print(f"{'variant':28s} {'survivors':>9s} {'deaths':>7s}  " + " ".join(f"{z:>10s}" for z in zones))
    for label, edit in VARIANTS.items():
        d = copy.deepcopy(base)
        edit(d)
        s = am.simulate(from_dict(d), engine=a.engine, seed=a.seed, days=a.days).summary()
        per_zone = " ".join(f"{s['zones'][z]['survivors']:10,.0f}" for z in zones)
        print(f"{label:28s} {s['survivors']:9,.0f} {s['deaths']:7,.0f}  {per_zone}")


if __name__ == "__main__":
    main()
