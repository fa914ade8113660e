"""The default scenario (hyosan) scaled to large populations: wall time, peak memory, throughput.

Each size runs in its own child process (``--worker``), which builds the scaled scenario
(:func:`aftermath.scenario.scale.scale_population`), warms the compiled kernels up on a one-day
run, then simulates the full horizon. The parent reads the child's peak RSS from its rusage
(``os.wait4``): the whole process, interpreter and set-up included. Agent-days/s = people x days /
simulation time; bytes/agent = the engine's core state arrays / people.

Usage: ``python benchmarks/scale.py [--people 1000000 10000000] [--days 365]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from _common import HERE, ROOT, command, machine, run_child, stamp, write_section


def worker(people: int, days: int, seed: int) -> None:
    from aftermath.engines.driver import simulate
    from aftermath.scenario.load import load
    from aftermath.scenario.scale import scale_population

    t0 = time.perf_counter()
    sc = scale_population(load("hyosan"), people)
    simulate(sc, engine="abm", days=1, seed=seed)  # warm-up: loads the compiled kernels
    warm = time.perf_counter() - t0
    from aftermath.engines.abm.engine import AbmEngine
    from aftermath.model.world import build_world

    eng = AbmEngine(build_world(sc), seed, days=days)
    core = eng.pop.nbytes()
    del eng
    t1 = time.perf_counter()
    r = simulate(sc, engine="abm", days=days, seed=seed)
    wall = time.perf_counter() - t1
    s = r.summary()
    print(json.dumps({
        "people": people, "days": days, "warmup_s": warm, "wall_s": wall, "init_s": r.timings["init_s"],
        "run_s": r.timings["run_s"], "agent_days_per_s": people * days / r.timings["run_s"],
        "bytes_per_agent": core / people, "survivors": s["survivors"], "strains": len(r.extras["strains"]),
    }))


def jit_worker() -> None:
    """Time a first ABM run (hyosan, one day) in this process: compilation, or loading the cache."""
    t0 = time.perf_counter()
    from aftermath.engines.driver import simulate
    from aftermath.scenario.load import load

    t1 = time.perf_counter()
    simulate(load("hyosan"), engine="abm", days=1)
    print(json.dumps({"import_s": t1 - t0, "first_run_s": time.perf_counter() - t1}))


def jit_times() -> tuple[float, float]:
    """(first run compiling into an empty cache, first run of a new process loading that cache)."""
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {"PYTHONPATH": str(ROOT / "src"), "NUMBA_CACHE_DIR": cache}
        argv = [sys.executable, str(HERE / "scale.py"), "--jit-worker"]
        fresh = run_child(argv, env=env)["first_run_s"]
        cached = run_child(argv, env=env)["first_run_s"]
    return fresh, cached


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--jit-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.people[0], a.days, a.seed)
        return
    if a.jit_worker:
        jit_worker()
        return
    m = machine()
    cmd = command()
    fresh, cached = jit_times()
    print(f"first ABM run: {fresh:.1f} s compiling into an empty cache, {cached:.1f} s from the cache", flush=True)
    rows = []
    for n in a.people:
        res = run_child([sys.executable, str(HERE / "scale.py"), "--worker", "--people", str(n), "--days",
                         str(a.days), "--seed", str(a.seed)], env={"PYTHONPATH": str(ROOT / "src")})
        rows.append(res)
        print(f"people={n:>11,}  wall {res['wall_s']:7.1f} s (run {res['run_s']:.1f} s)  "
              f"{res['agent_days_per_s'] / 1e6:7.1f} M agent-days/s  peak RSS {res['child_maxrss_mib']:.0f} MiB  "
              f"{res['bytes_per_agent']:.1f} B/agent", flush=True)
    lines = [
        "## Hyosan (the default scenario) scaled up, 365 days",
        "",
        stamp(m, cmd),
        "dt = 0.25 (4 steps a day), mutation on (max 4096 strains). Wall: the whole simulate() call after "
        "a warm-up run (set-up + days); run: the day loop only. Peak RSS: the child process (interpreter, "
        "libraries, set-up transients and the run). Targets (issue 3): 1e7 people under 120 s and 1 GB.",
        "",
        f"JIT: the first ABM run of a process (hyosan, one day) takes **{fresh:.1f} s** compiling every kernel "
        f"into an empty cache and {cached:.1f} s loading them from the cache (``cache=True``); target under 15 s.",
        "",
        "| people | days | wall s | run s | M agent-days/s | peak RSS MiB | state bytes/agent | strains | survivors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['people']:,} | {r['days']} | {r['wall_s']:.1f} | {r['run_s']:.1f} | "
            f"{r['agent_days_per_s'] / 1e6:.1f} | {r['child_maxrss_mib']:.0f} | {r['bytes_per_agent']:.1f} | "
            f"{r['strains']} | {r['survivors']:,.0f} |")
    write_section("scale", "\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(HERE / 'RESULTS.md', ROOT)}")


if __name__ == "__main__":
    main()
