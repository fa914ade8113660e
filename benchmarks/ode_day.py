"""Time one ODE run of a scenario end to end (what the dashboard does when a slider moves), and
optionally profile it or compare it with another checkout, runs interleaved so both see the same load.

    .venv/bin/python benchmarks/ode_day.py                       # hyosan, best and median of 7
    .venv/bin/python benchmarks/ode_day.py --scenario korea --repeat 5
    .venv/bin/python benchmarks/ode_day.py --profile             # cProfile: the top 10 by own time
    git worktree add /tmp/base HEAD~3
    .venv/bin/python benchmarks/ode_day.py --against /tmp/base/src   # A/B: this tree and that one
    .venv/bin/python benchmarks/ode_day.py --identical /tmp/base/src # same results, bit for bit?

``--identical`` runs the same scenarios in this tree and under SRC and compares every array of the
two Results byte for byte, and their chronicles: the ODE on hyosan, sir, munz-basic, alemi-mixed,
korea and a policy-heavy hyosan (every kind of policy, truces made and broken, shared supplies), the
SSA and the ABM for a few weeks of it. Exit status 1 if anything differs.

The first run (Numba's compilation or cache load, imports) is not timed. The load average is
printed beside the times: on a shared machine, compare only figures taken under the same load.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _times(scenario: str, repeat: int) -> list[float]:
    """Seconds of ``repeat`` runs of ``api.simulate(api.load(scenario), engine="ode")``, after one untimed."""
    from aftermath import api

    sc = api.load(scenario)
    api.simulate(sc, engine="ode")
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        api.simulate(sc, engine="ode")
        out.append(time.perf_counter() - t0)
    return out


def _child(src: str, scenario: str, repeat: int) -> list[float]:
    """:func:`_times` in a fresh interpreter importing aftermath from ``src``."""
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import ode_day; "
            f"print(json.dumps(ode_day._times({scenario!r}, {repeat})))")
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    times: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def _heavy() -> object:
    """Hyosan with every kind of policy acting often, truces made and broken and supplies shared."""
    import aftermath as am
    from aftermath.scenario.load import from_dict, to_dict

    d = to_dict(am.load("hyosan"))
    d["society"].setdefault("trust", {}).update(share_supplies=0.2, fear_erosion=0.01)
    d["policies"] += [
        {"type": "hybrids", "faction": "survivors", "action": "cull", "when": "fear > 0.3 and day > 20",
         "until": "fear < 0.25", "repeat": True, "rate": 0.3},
        {"type": "hybrids", "zones": ["school", "wild"], "action": "isolate", "isolation": "wild",
         "when": "hybrids > 1", "rate": 0.2},
        {"type": "admission", "zones": ["hidden"], "mode": "closed", "when": "world_ferals > 1000 || breaches > 3",
         "until": "calm_days >= 5", "repeat": True},
        {"type": "admission", "zones": ["hidden", "school"], "mode": "screen", "sensitivity": 0.7,
         "when": "!(fear < 0.1)"},
        {"type": "cure", "zones": ["school"], "when": "day >= 100", "until": "day >= 200", "rate": 0.05},
        {"type": "seal", "zones": ["school"], "inbound": True, "when": "infected / population > 0.01",
         "until": "supply_days < 30", "repeat": True},
        {"type": "reopen", "zones": ["school"], "calm_days": 3},
        {"type": "sweep", "zones": ["wild", "city"], "when": "ferals > 100 and trust >= 0", "every": 5, "kill": 0.2,
         "hybrids": True},
        {"type": "rotation", "faction": "survivors", "when": "vigilance < 0.8", "until": "vigilance > 0.95",
         "repeat": True},
        {"type": "truce", "faction": "survivors", "action": "make", "other": "government",
         "when": "world_fear < 0.5 && day > 150", "repeat": True},
        {"type": "truce", "faction": "survivors", "action": "break", "other": "government",
         "when": "deaths > 2 + new_infections * 0", "repeat": True},
        {"type": "disposal", "faction": "survivors", "when": "corpses > 1 or latent > 1e9", "rate": 0.2},
    ]
    return from_dict(d)


#: (scenario, engine, days): the runs ``--identical`` compares (None: the scenario's own horizon)
IDENTICAL_RUNS = [("hyosan", "ode", None), ("sir", "ode", None), ("munz-basic", "ode", None),
                  ("alemi-mixed", "ode", None), ("korea", "ode", None), ("heavy", "ode", None),
                  ("hyosan", "ssa", 60), ("heavy", "ssa", 60), ("sir", "ssa", None), ("heavy", "abm", 20)]
_ARRAYS = ("counts", "flows", "route_flows", "fear", "vigilance", "supplies", "strain_counts", "policy_acted",
           "sealed", "screening", "truce")


def _dump(path: str) -> None:
    """Run :data:`IDENTICAL_RUNS` (seed 3) and pickle every array and the chronicle of each to ``path``."""
    import pickle

    import aftermath as am

    data = {}
    for name, engine, days in IDENTICAL_RUNS:
        sc = _heavy() if name == "heavy" else am.load(name)
        r = am.simulate(sc, engine=engine, seed=3, days=days)  # type: ignore[arg-type]
        rec: dict[str, object] = {f: getattr(r, f) for f in _ARRAYS}
        rec["chronicle"] = [(e.day, e.zone, e.kind, e.text) for e in r.chronicle]
        rec["policy_labels"] = r.policy_labels
        data[f"{name}-{engine}"] = rec
    with open(path, "wb") as fh:
        pickle.dump(data, fh)


def _identical(other: str) -> bool:
    """Whether this tree and ``other`` (a src/ folder) give the same bytes for every run."""
    import pickle
    import tempfile

    import numpy as np

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, src in (("this tree", str(SRC)), ("other", other)):
            path = f"{tmp}/{label.replace(' ', '_')}.pkl"
            code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import ode_day; "
                    f"ode_day._dump({path!r})")
            subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": src}, check=True)
            with open(path, "rb") as fh:
                out[label] = pickle.load(fh)
    same = True
    for key, mine in out["this tree"].items():
        theirs, bad = out["other"][key], []
        for field, x in mine.items():
            y = theirs[field]
            if isinstance(x, np.ndarray):
                ok = x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
            else:
                ok = x == y
            if not ok:
                bad.append(field)
        same &= not bad
        print(f"{key:18s} {'identical' if not bad else 'DIFFERS: ' + ', '.join(bad)} "
              f"({len(mine['chronicle'])} chronicle events, {int(mine['policy_acted'].sum())} policy-zone-days acted)")
    return same


def _line(label: str, times: list[float]) -> str:
    return (f"{label:>10s}: best {min(times) * 1e3:6.1f} ms, median {statistics.median(times) * 1e3:6.1f} ms "
            f"over {len(times)} runs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="hyosan", help="a built-in scenario or a file (default: hyosan)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs (default: 7)")
    ap.add_argument("--profile", action="store_true", help="print cProfile's top 10 functions by own time")
    ap.add_argument("--against", metavar="SRC", help="also time the aftermath under SRC (a src/ folder), "
                    "alternating rounds with this tree's")
    ap.add_argument("--identical", metavar="SRC", help="compare every result array of a set of runs with the "
                    "aftermath under SRC, byte for byte (exit 1 if any differs)")
    a = ap.parse_args()
    if a.identical:
        sys.exit(0 if _identical(a.identical) else 1)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"{a.scenario}, engine ode")
    if a.against:
        this: list[float] = []
        that: list[float] = []
        for _ in range(a.repeat):  # alternate one-run children so both trees share the machine's moods
            this += _child(str(SRC), a.scenario, 1)
            that += _child(a.against, a.scenario, 1)
        print(_line("this tree", this))
        print(_line("against", that))
        print(f"speed-up (best): {min(that) / min(this):.2f}x, (median): "
              f"{statistics.median(that) / statistics.median(this):.2f}x")
    else:
        sys.path.insert(0, str(SRC))
        print(_line("this tree", _times(a.scenario, a.repeat)))
    if a.profile:
        sys.path.insert(0, str(SRC))
        from aftermath import api

        sc = api.load(a.scenario)
        api.simulate(sc, engine="ode")
        prof = cProfile.Profile()
        prof.enable()
        api.simulate(sc, engine="ode")
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(10)
        print(buf.getvalue().rstrip())
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
