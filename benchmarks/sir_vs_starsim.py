"""Matched SIR: aftermath's ABM against Starsim, side by side in one run (issue 3).

Starsim (``benchmarks/peers/starsim_sir.py``, run in ``benchmarks/.venv-peers``): SIR on a
RandomNet of 10 contacts, 0.025 per contact per day, exponential 10-day infectious period, 0.1%
initial prevalence, 100 daily steps; R0 about 2.5.

Aftermath's match: one zone, frequency mixing over all bodies (``denominator = "all"``: the
closed population), beta = 0.25/day, feral decay 0.1/day, no latency, no hybrids, 0.1% initial
prevalence, 100 days, **dt = 1 day** (Starsim's daily steps). Each model runs in its own process;
times are the simulation only (Starsim's ``sim.run()``; aftermath's run after a warm-up run,
``Result.timings["run_s"]``), agent-days/s = N x 100 / that time.

Usage: ``python benchmarks/sir_vs_starsim.py [--n 100000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from _common import HERE, ROOT, command, machine, run_child, stamp, write_section

PEER_PY = HERE / ".venv-peers" / "bin" / "python"


def aftermath_worker(n: int, days: int, seed: int) -> None:
    """In a child process: the matched SIR in aftermath's ABM; prints one JSON line."""
    from aftermath.engines.driver import simulate
    from aftermath.model.world import State
    from aftermath.scenario.load import from_dict, load

    data = load("sir").model_dump(by_alias=True)
    z0 = n // 1000
    data["zones"][0]["population"] = {"S": float(n - z0), "Z": float(z0)}
    data["run"].update({"dt": 1.0, "days": days, "denominator": "all", "mixing": "frequency", "seed": seed})
    sc = from_dict(data)
    t0 = time.perf_counter()
    simulate(sc, engine="abm", days=2)  # warm-up: loads the compiled kernels (cache)
    warm = time.perf_counter() - t0
    r = simulate(sc, engine="abm")
    run_s = r.timings["run_s"]
    infected = r.counts[:, 0, State.Z]
    print(json.dumps({
        "peer": "aftermath", "n": n, "days": days, "dt": 1.0, "warmup_s": warm, "init_s": r.timings["init_s"],
        "run_s": run_s, "agent_days_per_s": n * days / run_s, "peak_inf_frac": float(infected.max() / n),
        "final_attack": float(1.0 - r.counts[-1, 0, State.S] / n),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def ensure_peers() -> None:
    if not PEER_PY.exists():
        subprocess.run(["bash", str(HERE / "peers" / "setup.sh")], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        aftermath_worker(a.n[0], a.days, a.seed)
        return
    ensure_peers()
    m = machine()
    cmd = command()
    rows = []
    for n in a.n:
        peer = run_child([str(PEER_PY), str(HERE / "peers" / "starsim_sir.py"), "--n", str(n), "--days",
                          str(a.days), "--seed", str(a.seed)])
        ours = run_child([sys.executable, str(HERE / "sir_vs_starsim.py"), "--worker", "--n", str(n), "--days",
                          str(a.days), "--seed", str(a.seed)], env={"PYTHONPATH": str(ROOT / "src")})
        ratio = ours["agent_days_per_s"] / peer["agent_days_per_s"]
        rows.append((n, peer, ours, ratio))
        print(f"N={n:>9,}  starsim {peer['run_s']:7.2f} s {peer['agent_days_per_s'] / 1e6:8.1f} M agent-days/s | "
              f"aftermath {ours['run_s']:7.3f} s {ours['agent_days_per_s'] / 1e6:8.1f} M agent-days/s | "
              f"ratio {ratio:6.1f}x", flush=True)
    version = rows[0][1].get("version", "?") if rows else "?"
    lines = [
        "## Matched SIR: aftermath ABM vs Starsim",
        "",
        stamp(m, cmd),
        f"Starsim {version}: SIR on RandomNet(10 contacts), beta 0.025/contact/day, 10-day infectious period, "
        "daily steps. Aftermath: one zone, frequency mixing (N = all bodies), beta 0.25/day, decay 0.1/day, "
        "no latency or hybrids, **dt = 1 day**. 0.1% initial prevalence, 100 days, each in its own process. "
        "Time: simulation only (no set-up, no JIT). Peak RSS: the whole child process (import, set-up, run).",
        "",
        "| N | Starsim s | Starsim M agent-days/s | Starsim peak RSS MiB | aftermath s | aftermath M agent-days/s "
        "| aftermath peak RSS MiB | speed-up | final attack (Starsim / aftermath) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, peer, ours, ratio in rows:
        lines.append(
            f"| {n:,} | {peer['run_s']:.2f} | {peer['agent_days_per_s'] / 1e6:.1f} | {peer['child_maxrss_mib']:.0f} "
            f"| {ours['run_s']:.3f} | {ours['agent_days_per_s'] / 1e6:.1f} | {ours['child_maxrss_mib']:.0f} "
            f"| **{ratio:.1f}x** | {peer['final_attack']:.3f} / {ours['final_attack']:.3f} |")
    write_section("sir_vs_starsim", "\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(HERE / 'RESULTS.md', ROOT)}")


if __name__ == "__main__":
    main()
