"""Matched SIR: aftermath's ABM against Starsim and LASER, side by side in one run, at 1 and 2 threads.

* Starsim (``benchmarks/peers/starsim_sir.py`` in ``benchmarks/.venv-peers``, made by
  ``peers/setup.sh``): SIR on a RandomNet of 10 contacts, 0.025 per contact per day, exponential
  10-day infectious period, 0.1% initial prevalence, 100 daily steps; R0 about 2.5.
* LASER (``benchmarks/peers/laser_sir.py`` in ``benchmarks/.venv-laser``, made by
  ``peers/laser_setup.sh``): laser-generic's ready SIR in one well-mixed node (its own single-node
  example), beta 0.25/day, infectious max(round(Exp(10)), 1) days, daily ticks.
* aftermath: one zone, frequency mixing over all bodies (``denominator = "all"``), beta = 0.25/day,
  feral decay 0.1/day, no latency, no hybrids, 0.1% initial prevalence, **dt = 1 day**.

Each model runs in its own process with ``NUMBA_NUM_THREADS`` (and the BLAS/OpenMP variables) set
to the thread count; times are the simulation only, after a warm-up run in the same process
(Starsim's ``sim.run()``, LASER's ``model.run()``, aftermath's ``Result.timings["run_s"]``).
Each peer runs ``--repeats`` times (default 3), each run in a fresh process, the peers taking turns;
the table reads each peer's median run, and lists every run. A process runs its model again (a
fresh one, set up untimed) until its runs add up to ``--min-time`` seconds (default 2) and reports
their mean: timed once, aftermath's 0.1 s run moved by 2x within a row on this shared machine (one
moment of the machine), where Starsim's 13 s run averages over many. ``others`` is how many cores other
processes kept busy during the median runs (from /proc/stat): on a shared machine, read the ratios
of a row, not its absolute times.

Usage: ``python benchmarks/sir_vs_peers.py [--n 100000 1000000] [--threads 1 2] [--repeats 3] [--min-time 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from _common import HERE, ROOT, command, machine, run_child, stamp, write_section

STARSIM_PY = HERE / ".venv-peers" / "bin" / "python"
LASER_PY = HERE / ".venv-laser" / "bin" / "python"
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def aftermath_worker(n: int, days: int, seed: int, mode: str = "events", min_time: float = 0.0) -> None:
    """In a child process: the matched SIR in aftermath's ABM; prints one JSON line."""
    from aftermath.engines.abm.parts import default_parts
    from aftermath.engines.driver import simulate
    from aftermath.model.world import State
    from aftermath.scenario.load import from_dict, load

    data = load("sir").model_dump(by_alias=True)
    z0 = n // 1000
    data["zones"][0]["population"] = {"S": float(n - z0), "Z": float(z0)}
    data["run"].update({"dt": 1.0, "days": days, "denominator": "all", "mixing": "frequency", "seed": seed,
                        "abm_mode": mode})
    # the SIR has no households' grief (and the peers none): memory of loss off, the model without it
    data["society"]["memory"].update({"per_loss": 0.0, "per_turned_away": 0.0, "per_sealed": 0.0,
                                      "per_breach": 0.0, "distrust": 0.0, "band_size": 0})
    sc = from_dict(data)
    t0 = time.perf_counter()
    simulate(sc, engine="abm", days=2)  # warm-up: loads the compiled kernels (cache)
    warm = time.perf_counter() - t0
    r = simulate(sc, engine="abm")
    runs = [r.timings["run_s"]]
    while sum(runs) < min_time:  # more runs, each timed alone (their set-up is not)
        runs.append(simulate(sc, engine="abm").timings["run_s"])
    run_s = sum(runs) / len(runs)
    infected = r.counts[:, 0, State.Z]
    print(json.dumps({
        "peer": "aftermath", "mode": mode, "n": n, "days": days, "dt": 1.0, "threads": default_parts(),
        "warmup_s": warm,
        "init_s": r.timings["init_s"], "run_s": run_s, "runs": runs, "agent_days_per_s": n * days / run_s,
        "peak_inf_frac": float(infected.max() / n), "final_attack": float(1.0 - r.counts[-1, 0, State.S] / n),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def ensure_peers() -> None:
    if not STARSIM_PY.exists():
        subprocess.run(["bash", str(HERE / "peers" / "setup.sh")], check=True)
    if not LASER_PY.exists():
        subprocess.run(["bash", str(HERE / "peers" / "laser_setup.sh"), str(HERE / ".venv-laser")], check=True)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of one peer's runs, the one with the median simulation time (the lower middle of an even
    number), with every run's time beside it (``all_run_s``)."""
    ordered = sorted(runs, key=lambda r: r["run_s"])
    return {**ordered[(len(ordered) - 1) // 2], "all_run_s": [r["run_s"] for r in runs],
            "all_k": [len(r.get("runs", [r["run_s"]])) for r in runs]}


def run_repeated(n: int, days: int, seed: int, threads: int, repeats: int,
                 min_time: float = 0.0) -> dict[str, dict[str, Any]]:
    """Each peer ``repeats`` times, each run in a fresh process, the peers taking turns (so that a
    slow minute of a shared machine falls on all of them); per peer, the median run."""
    rounds = [run_all(n, days, seed, threads, min_time) for _ in range(repeats)]
    return {peer: median_run([r[peer] for r in rounds]) for peer in rounds[0]}


def run_all(n: int, days: int, seed: int, threads: int, min_time: float = 0.0) -> dict[str, dict[str, Any]]:
    env = {v: str(threads) for v in THREAD_VARS}
    args = ["--n", str(n), "--days", str(days), "--seed", str(seed), "--min-time", str(min_time)]
    return {
        "starsim": run_child([str(STARSIM_PY), str(HERE / "peers" / "starsim_sir.py"), *args], env=env),
        "laser": run_child([str(LASER_PY), str(HERE / "peers" / "laser_sir.py"), *args], env=env),
        "aftermath": run_child([sys.executable, str(HERE / "sir_vs_peers.py"), "--worker", *args],
                               env={**env, "PYTHONPATH": str(ROOT / "src")}),
        "scan": run_child([sys.executable, str(HERE / "sir_vs_peers.py"), "--worker", "--mode", "scan", *args],
                          env={**env, "PYTHONPATH": str(ROOT / "src")}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each peer (fresh processes, taking turns); "
                    "the table reads each peer's median run (default 3)")
    ap.add_argument("--min-time", type=float, default=2.0,
                    help="each process runs its model again (a fresh one, set up untimed) until its runs add up "
                    "to this many seconds, and reports their mean (default 2: a 0.1 s run timed once moved by "
                    "2x within a row on this shared machine; Starsim's one run is longer than that)")
    ap.add_argument("--mode", default="events", choices=["scan", "events"], help=argparse.SUPPRESS)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        aftermath_worker(a.n[0], a.days, a.seed, a.mode, a.min_time)
        return
    ensure_peers()
    m = machine()
    cmd = command()
    rows = []
    for n in a.n:
        for t in a.threads:
            res = run_repeated(n, a.days, a.seed, t, a.repeats, a.min_time)
            rows.append((n, t, res))
            s, la, af = res["starsim"], res["laser"], res["aftermath"]
            print(f"N={n:>9,} threads={t}  starsim {s['run_s']:7.2f} s | laser {la['run_s']:6.3f} s | aftermath "
                  f"{af['run_s']:6.3f} s | vs laser {la['run_s'] / af['run_s']:5.1f}x, vs starsim "
                  f"{s['run_s'] / af['run_s']:6.1f}x | others {max(r['others_cores'] for r in res.values()):.2f} "
                  f"cores (medians of {a.repeats}: aftermath {' '.join(f'{x:.3f}' for x in af['all_run_s'])})",
                  flush=True)
    first = rows[0][2] if rows else {}
    ss_v = first.get("starsim", {}).get("version", "?")
    la_v = first.get("laser", {}).get("version", "?")
    la_nb = first.get("laser", {}).get("numba", "?")
    lines = [
        "## Matched SIR: aftermath ABM vs Starsim and LASER, 1 and 2 threads",
        "",
        stamp(m, cmd),
        f"Starsim {ss_v}: SIR on RandomNet(10 contacts), beta 0.025/contact/day, 10-day infectious period. "
        f"LASER (laser-generic {la_v}, Numba {la_nb}, its own venv): the ready SIR in one well-mixed node, "
        "beta 0.25/day, infectious max(round(Exp(10)), 1) days. Aftermath: one zone, frequency mixing (N = all "
        "bodies), beta 0.25/day, decay 0.1/day, no latency or hybrids, memory of loss off, **dt = 1 day**; its "
        "event-driven step (`run.abm_mode = \"events\"`, the ratios) and its scan step (*scan s*). All: 0.1% initial "
        "prevalence, 100 daily steps, each in its own process with `NUMBA_NUM_THREADS` (and the BLAS/OpenMP "
        "variables) set to the thread count. Time: simulation only (no set-up, no JIT); each peer run "
        f"{a.repeats} times, each in a fresh process, the peers taking turns: the median run (its RSS and attack). "
        f"Each process runs its model as many times as fill {a.min_time:g} s of simulation (at least once; a fresh "
        "model each time, set up untimed) and reports the mean of its runs: a short run timed once samples one "
        "moment of a shared machine, a long one averages over many (how many runs each took: below). "
        "Peak RSS: the whole "
        "child process. *others*: cores kept busy by other processes during the row's runs (from /proc/stat); "
        "on a shared machine compare within a row.",
        "",
        "| N | threads | Starsim s | LASER s | aftermath s | scan s | aftermath M agent-days/s | vs LASER | vs Starsim "
        "| peak RSS MiB (Starsim / LASER / aftermath) | final attack (Starsim / LASER / aftermath) | others |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for n, t, res in rows:
        s, la, af = res["starsim"], res["laser"], res["aftermath"]
        lines.append(
            f"| {n:,} | {t} | {s['run_s']:.2f} | {la['run_s']:.3f} | {af['run_s']:.3f} | {res['scan']['run_s']:.3f} | "
            f"{af['agent_days_per_s'] / 1e6:.0f} | **{la['run_s'] / af['run_s']:.1f}x** | "
            f"**{s['run_s'] / af['run_s']:.0f}x** | {s['child_maxrss_mib']:.0f} / {la['child_maxrss_mib']:.0f} / "
            f"{af['child_maxrss_mib']:.0f} | {s['final_attack']:.3f} / {la['final_attack']:.3f} / "
            f"{af['final_attack']:.3f} | {max(r['others_cores'] for r in res.values()):.2f} |")
    lines.append("")
    lines.append("Every run (s, in the order run):")
    lines.append("")
    for n, t, res in rows:
        runs = "; ".join(f"{peer} {' '.join(f'{x:.3f}' for x in res[peer]['all_run_s'])} "
                         f"(runs per process: {' '.join(str(k) for k in res[peer]['all_k'])})"
                         for peer in ("starsim", "laser", "aftermath", "scan"))
        lines.append(f"- N = {n:,}, {t} thread{'s' if t > 1 else ''}: {runs}")
    by = {(n, t): res["aftermath"]["run_s"] for n, t, res in rows}
    for n in a.n:
        if (n, 1) in by and (n, 2) in by:
            lines.append("")
            lines.append(f"Aftermath at N = {n:,}: 2 threads {by[(n, 1)] / by[(n, 2)]:.2f}x one thread.")
    write_section("sir_vs_peers", "\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(HERE / 'RESULTS.md', ROOT)}")


if __name__ == "__main__":
    main()
