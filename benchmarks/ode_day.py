"""Time one ODE run of a scenario end to end (what the dashboard does when a slider moves), and
optionally profile it or compare it with another checkout, runs interleaved so both see the same load.

    .venv/bin/python benchmarks/ode_day.py                       # hyosan, best and median of 7
    .venv/bin/python benchmarks/ode_day.py --scenario korea --repeat 5
    .venv/bin/python benchmarks/ode_day.py --profile             # cProfile: the top 10 by own time
    git worktree add /tmp/base HEAD~3
    .venv/bin/python benchmarks/ode_day.py --against /tmp/base/src   # A/B: this tree and that one

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
    a = ap.parse_args()
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
