"""A scenario (hyosan by default, or korea) at large populations: wall time, peak memory, threads.

Each (size, thread count) runs in its own child process (``--worker``) with ``NUMBA_NUM_THREADS``
set, which builds the scaled scenario (:func:`aftermath.scenario.scale.scale_population`; people
0 = as the scenario is, e.g. korea's 51.8 million), warms the compiled kernels up on a one-day run
of a small copy, then simulates the full horizon. The parent reads the child's peak RSS from its
rusage (``os.wait4``): the whole process, interpreter and set-up included. Agent-days/s = people x
days / simulation time; bytes/agent = the engine's core state arrays / people. *parallel*: the
parts' CPU time over (threads x the time spent in the parallel kernels) (1.0: the parts truly ran
at once; 0.5 with two threads: they took turns on one core); *others*: the cores other processes
kept busy meanwhile (from /proc/stat).

Usage: ``python benchmarks/scale.py [--scenario hyosan] [--people 1000000 10000000] [--threads 1 2]
[--days 365]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from _common import HERE, ROOT, command, machine, run_child, stamp, write_section


def worker(scenario: str, people: int, days: int, seed: int, mode: str = "scan") -> None:
    import aftermath.engines.abm.parts as parts
    from aftermath.engines.abm.state import BYTES_PER_AGENT
    from aftermath.engines.driver import simulate
    from aftermath.scenario.load import load, with_overrides
    from aftermath.scenario.scale import scale_population

    made: list[parts.Parts] = []
    init = parts.Parts.__init__

    def keep(self: parts.Parts, n_parts: int | None = None) -> None:  # note the engine's Parts
        init(self, n_parts)
        made.append(self)

    parts.Parts.__init__ = keep  # type: ignore[method-assign]
    t0 = time.perf_counter()
    base = with_overrides(load(scenario), {"run.abm_mode": mode})
    sc = scale_population(base, people) if people else base
    simulate(scale_population(base, 20_000), engine="abm", days=1, seed=seed)  # warm-up: the kernels
    warm = time.perf_counter() - t0
    t1 = time.perf_counter()
    r = simulate(sc, engine="abm", days=days, seed=seed)
    wall = time.perf_counter() - t1
    eng_parts = made[-1]
    n = int(sc.initial_population())
    s = r.summary()
    print(json.dumps({
        "scenario": scenario, "mode": mode, "people": n, "days": days, "threads": eng_parts.n, "warmup_s": warm,
        "wall_s": wall,
        "init_s": r.timings["init_s"], "run_s": r.timings["run_s"], "agent_days_per_s": n * days / r.timings["run_s"],
        "parallel_s": eng_parts.span_s, "parallel_eff": eng_parts.busy_s / max(eng_parts.n * eng_parts.span_s, 1e-9),
        "bytes_per_agent": BYTES_PER_AGENT,
        "survivors": s["survivors"], "strains": len(r.extras["strains"]),
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
    ap.add_argument("--scenario", default="hyosan", help="a built-in scenario (hyosan, korea)")
    ap.add_argument("--people", type=int, nargs="+", default=[1_000_000, 10_000_000],
                    help="sizes to scale to; 0 = the scenario's own population")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", nargs="+", default=["scan", "events"], choices=["scan", "events"],
                    help="the ABM's steps to run (run.abm_mode)")
    ap.add_argument("--no-jit", action="store_true", help="skip the first-run JIT measurement")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--jit-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.scenario, a.people[0], a.days, a.seed, a.modes[0])
        return
    if a.jit_worker:
        jit_worker()
        return
    m = machine()
    cmd = command()
    jit = None
    if not a.no_jit:
        jit = jit_times()
        print(f"first ABM run: {jit[0]:.1f} s compiling into an empty cache, {jit[1]:.1f} s from the cache",
              flush=True)
    rows = []
    for n in a.people:
        for mode, t in ((mo, th) for mo in a.modes for th in a.threads):
            env = {"PYTHONPATH": str(ROOT / "src"), "NUMBA_NUM_THREADS": str(t)}
            res = run_child([sys.executable, str(HERE / "scale.py"), "--worker", "--scenario", a.scenario,
                             "--people", str(n), "--days", str(a.days), "--seed", str(a.seed), "--modes", mode],
                            env=env)
            res["rss_bytes_per_agent"] = res["child_maxrss_mib"] * 2**20 / res["people"]
            rows.append(res)
            print(f"{a.scenario} {mode:6s} people={res['people']:>11,} threads={t}  wall {res['wall_s']:7.1f} s (run "
                  f"{res['run_s']:.1f} s)  {res['agent_days_per_s'] / 1e6:7.1f} M agent-days/s  peak RSS "
                  f"{res['child_maxrss_mib']:.0f} MiB ({res['rss_bytes_per_agent']:.0f} B/person)  parallel "
                  f"{res['parallel_eff']:.2f}  others {res['others_cores']:.2f} cores", flush=True)
    lines = [
        f"## {a.scenario.capitalize()} at scale, {a.days} days, 1 and 2 threads",
        "",
        stamp(m, cmd),
        "Mutation as in the scenario. Wall: the whole simulate() call after a warm-up run (set-up + days); run: "
        "the day loop only. Peak RSS: the child process (interpreter, libraries, set-up transients and the run); "
        "B/person: peak RSS / people; state B: the engine's core arrays per person. *parallel*: the parts' CPU "
        "time / (threads x time in the parallel kernels): 1.0 = both threads ran at once, 0.5 = they took turns "
        "on one core. *others*: cores kept busy by other processes during the run (from /proc/stat).",
        "",
    ]
    if jit is not None:
        lines += [f"JIT: the first ABM run of a process (hyosan, one day) takes **{jit[0]:.1f} s** compiling every "
                  f"kernel into an empty cache and {jit[1]:.1f} s loading them from the cache (``cache=True``).", ""]
    lines += [
        "| people | step | threads | wall s | run s | M agent-days/s | peak RSS MiB | B/person | state B | parallel "
        "| others | strains | survivors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['people']:,} | {r['mode']} | {r['threads']} | {r['wall_s']:.1f} | {r['run_s']:.1f} | "
            f"{r['agent_days_per_s'] / 1e6:.1f} | {r['child_maxrss_mib']:.0f} | {r['rss_bytes_per_agent']:.0f} | "
            f"{r['bytes_per_agent']} | {r['parallel_eff']:.2f} | {r['others_cores']:.2f} | {r['strains']} | "
            f"{r['survivors']:,.0f} |")
    one = {(r["people"], r["mode"]): r["run_s"] for r in rows if r["threads"] == 1}
    for r in rows:
        if r["threads"] == 2 and (r["people"], r["mode"]) in one:
            lines += ["", f"{r['people']:,} people, {r['mode']} step: 2 threads "
                      f"**{one[(r['people'], r['mode'])] / r['run_s']:.2f}x** one thread (day loop)."]
    scan = {(r["people"], r["threads"]): r["run_s"] for r in rows if r["mode"] == "scan"}
    for r in rows:
        if r["mode"] == "events" and (r["people"], r["threads"]) in scan:
            lines += ["", f"{r['people']:,} people, {r['threads']} thread(s): the event-driven step "
                      f"**{scan[(r['people'], r['threads'])] / r['run_s']:.2f}x** faster than the scan."]
    write_section(f"scale_{a.scenario}", "\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(HERE / 'RESULTS.md', ROOT)}")


if __name__ == "__main__":
    main()
