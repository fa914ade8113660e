"""Before and after: the same ABM workloads on two source trees, alternating, in one run.

For a change to the engines (issue 10 compiled the ABM from the reaction declarations), the
question is the ratio, not the absolute time: both trees run the same workloads in fresh child
processes, alternately, ``--rounds`` times, and the best of each is kept (the machine is shared and
noisy; the load average is recorded). Workloads: the matched SIR of ``sir_vs_peers.py`` (dt = 1
day, 100 days) and hyosan scaled (dt = 0.25, mutation on, 365 days), at ``--n`` people each.
Time: the day loop only (``Result.timings["run_s"]``) after a warm-up run, so no JIT.

Usage: ``python benchmarks/ab_src.py --before /path/to/old/src --after src [--n 1000000]``
(make the old tree with ``git worktree add /tmp/old COMMIT``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from _common import ROOT, command, machine, run_child, stamp, write_section


def worker(which: str, n: int) -> None:
    """In a child: one workload, warm-up first; prints one JSON line."""
    from aftermath.engines.driver import simulate
    from aftermath.scenario.load import from_dict, load
    from aftermath.scenario.scale import scale_population

    if which == "sir":
        data = load("sir").model_dump(by_alias=True)
        z0 = n // 1000
        data["zones"][0]["population"] = {"S": float(n - z0), "Z": float(z0)}
        data["run"].update({"dt": 1.0, "days": 100, "denominator": "all", "mixing": "frequency", "seed": 1})
        sc = from_dict(data)
    else:
        sc = scale_population(load("hyosan"), n)
    simulate(sc, engine="abm", seed=1, days=2)
    cpu = time.process_time()
    res = simulate(sc, engine="abm", seed=1)
    print(json.dumps({"run_s": res.timings["run_s"], "cpu_s": time.process_time() - cpu,
                      "survivors": res.summary()["survivors"]}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="src folder of the tree before the change (required)")
    ap.add_argument("--after", default=str(ROOT / "src"), help="src folder of the tree after (default: this one)")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return
    if not args.before:
        ap.error("--before is required")
    m = machine()
    best: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], float] = {}
    survivors: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for which in ("sir", "hyosan"):
            for label, src in (("before", args.before), ("after", args.after)):
                env = {"PYTHONPATH": os.path.abspath(src), "NUMBA_NUM_THREADS": "1"}
                out = run_child([sys.executable, __file__, "--worker", which, str(args.n)], env=env)
                key = (which, label)
                best[key] = min(best.get(key, float("inf")), out["run_s"])
                cpu[key] = min(cpu.get(key, float("inf")), out["cpu_s"])
                survivors[key] = out["survivors"]
    rows = ["| workload | before s | after s | after / before | CPU s before | CPU s after | CPU after / before "
            "| survivors (before / after) |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for which in ("sir", "hyosan"):
        b, a = best[(which, "before")], best[(which, "after")]
        cb, ca = cpu[(which, "before")], cpu[(which, "after")]
        rows.append(f"| {which} at {args.n:,} | {b:.2f} | {a:.2f} | {a / b:.2f} | {cb:.2f} | {ca:.2f} | "
                    f"**{ca / cb:.2f}** | "
                    f"{survivors[(which, 'before')]:,.0f} / {survivors[(which, 'after')]:,.0f} |")
    body = ("## The ABM before and after a change (same workloads, alternating)\n\n" + stamp(m, command())
            + f"\nBefore: `{args.before}`; after: `{args.after}`. One thread, best of {args.rounds} rounds, "
            "day loop only (wall and the process's CPU time: on a busy machine, read the CPU ratio).\n\n"
            + "\n".join(rows) + "\n")
    print(body)
    write_section("ab_src", body)


if __name__ == "__main__":
    main()
