"""Benchmark: ensembles in-process vs local worker processes vs a Dask LocalCluster, the store's
overhead, and a quantile query on a 10,000-run store.

    .venv/bin/python benchmarks/ensembles.py                        # ODE 1,000 runs, ABM, 10k store
    .venv/bin/python benchmarks/ensembles.py --ode-runs 100 --abm-runs 0 --store-runs 2000   # quick

Prints a Markdown section; ``--write`` replaces the "Ensembles and the results store" section of
benchmarks/RESULTS.md with it (other sections are left as they are). Not a test: run it on an idle
machine, one benchmark at a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

HEADING = "## Ensembles and the results store"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


class TimedStore:
    """Wraps Store.write to measure the writer's time (inserts and commits)."""

    def __init__(self, path: Path) -> None:
        from aftermath.store import Store

        self.store = Store(path)
        self.write_s = 0.0
        original = self.store.write

        def write(records: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(records)
            finally:
                self.write_s += time.perf_counter() - t0

        self.store.write = write  # type: ignore[method-assign]


def run_one(label: str, scenario: Any, runs: int, engine: str, days: int | None, executor: Any,
            tmp: Path) -> dict[str, Any]:
    from aftermath.run import ensemble

    ts = TimedStore(tmp / f"{label}.duckdb")
    t0 = time.perf_counter()
    res = ensemble(scenario, runs=runs, master_seed=1, engine=engine, days=days, executor=executor, store=ts.store)
    wall = time.perf_counter() - t0
    runs_df = res.run_table()
    assert res.stored == runs and res.failed == 0, (res.stored, res.failed)
    compute = float((runs_df["wall_s"]).sum())
    ts.store.close()
    return {"label": label, "runs": runs, "wall_s": wall, "runs_per_s": runs / wall, "compute_s": compute,
            "write_s": ts.write_s, "overhead_pct": 100.0 * ts.write_s / compute}


def executors(workers: int) -> list[tuple[str, Any]]:
    from aftermath.run import DaskExecutor, InProcess, Processes

    return [("in-process", lambda: InProcess()),
            (f"{workers} processes (forkserver)", lambda: Processes(workers, "forkserver")),
            (f"{workers} processes (spawn)", lambda: Processes(workers, "spawn")),
            (f"Dask LocalCluster, {workers} workers", lambda: DaskExecutor(None, workers))]


def bench_engine(name: str, scenario: Any, runs: int, engine: str, days: int | None, workers: int, tmp: Path,
                 skip_spawn: bool = True) -> list[dict[str, Any]]:
    rows = []
    for label, make in executors(workers):
        if skip_spawn and "spawn" in label:
            continue
        t0 = time.perf_counter()
        ex = make()
        start = time.perf_counter() - t0
        try:
            row = run_one(f"{name}-{len(rows)}", scenario, runs, engine, days, ex, tmp)
        finally:
            ex.close()
        row["label"], row["startup_s"] = label, start
        rows.append(row)
        print(f"  {name} {label}: {row['wall_s']:.1f} s, {row['runs_per_s']:.2f} runs/s, "
              f"store {row['overhead_pct']:.2f}% of run time", file=sys.stderr, flush=True)
    base = rows[0]["wall_s"]
    for r in rows:
        r["speedup"] = base / r["wall_s"]
    return rows


def bench_store(runs: int, tmp: Path) -> dict[str, Any]:
    """A store of ``runs`` runs (1 zone x 6 states x 366 days each), written through Store.write in
    groups of 32 like an ensemble, then timed quantile queries."""
    import aftermath as am
    from aftermath.store import Store, record_from_result

    res = am.simulate(am.load("sir"), engine="ode", days=365)
    template = record_from_result(res, {"batch_id": "bench", "point": 0, "variant": "base", "overrides": "{}",
                                        "replicate": 0, "seed": 0, "scenario": "sir", "scenario_hash": "x",
                                        "engine": "ode"})
    template.tables = {k: template.tables[k] for k in ("series", "summaries")}
    rng = np.random.default_rng(0)
    counts = template.tables["series"].column("count").to_numpy()
    path = tmp / "big.duckdb"
    st = Store(path)
    st.add_batch({"batch_id": "bench", "kind": "ensemble", "scenario": "sir", "scenario_hash": "x", "engine": "ode",
                  "master_seed": 0, "runs": runs, "days": 365, "points": 1, "spec": "{}"})
    t0 = time.perf_counter()
    group = []
    for r in range(runs):
        rec = type(template)(dict(template.meta, replicate=r, seed=r), dict(template.tables), template.summary)
        noisy = counts * rng.lognormal(0.0, 0.1, counts.size)
        rec.tables["series"] = template.tables["series"].set_column(3, "count", pa.array(noisy))
        group.append(rec)
        if len(group) == 32:
            st.write(group)
            group = []
    st.write(group)
    fill = time.perf_counter() - t0
    rows = int(st.query("SELECT count(*) AS n FROM series")["n"][0])
    st.close()
    size_mb = path.stat().st_size / 2**20
    with Store(path, read_only=True) as ro:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            q = ro.quantiles("bench", state="Z")
            times.append(time.perf_counter() - t0)
        assert len(q) == 366 and (q["n"] == runs).all()
        t0 = time.perf_counter()
        ro.summary_quantiles("bench", ["survivors", "peak_ferals"])
        sq = time.perf_counter() - t0
    return {"runs": runs, "rows": rows, "fill_s": fill, "size_mb": size_mb, "query_first_s": times[0],
            "query_best_s": min(times), "summary_query_s": sq}


def machine() -> str:
    import dask
    import duckdb
    import numba

    import aftermath

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; Python {platform.python_version()}, "
            f"aftermath {aftermath.__version__}, numpy {np.__version__}, numba {numba.__version__}, "
            f"duckdb {duckdb.__version__}, dask {dask.__version__}, pyarrow {pa.__version__}")


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| executor | runs | wall (s) | runs/s | speed-up | worker start (s) | store writes (s) | store overhead |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['label']} | {r['runs']} | {r['wall_s']:.1f} | {r['runs_per_s']:.2f} | "
                   f"{r['speedup']:.2f}x | {r['startup_s']:.1f} | {r['write_s']:.1f} | {r['overhead_pct']:.2f}% |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ode-runs", type=int, default=1000)
    ap.add_argument("--abm-runs", type=int, default=200)
    ap.add_argument("--abm-days", type=int, default=None)
    ap.add_argument("--abm-people", type=int, default=100_000)
    ap.add_argument("--store-runs", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--spawn", action="store_true", help="also time spawn-started worker processes")
    ap.add_argument("--write", action="store_true", help="write the section into benchmarks/RESULTS.md")
    args = ap.parse_args()

    import aftermath as am

    load = os.getloadavg()
    lines = [HEADING, "", f"Machine: {machine()}.", "",
             f"Load average at the start (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.", "",
             f"Command: `.venv/bin/python benchmarks/ensembles.py {' '.join(sys.argv[1:])}`".rstrip() + "", ""]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.ode_runs:
            print("ODE ensemble", file=sys.stderr)
            rows = bench_engine("ode", am.load("hyosan"), args.ode_runs, "ode", None, args.workers, tmp,
                                skip_spawn=not args.spawn)
            lines += [f"### {args.ode_runs} ODE runs of `hyosan` (365 days)", "", *table(rows), ""]
        if args.abm_runs:
            lines += abm_section(args, tmp)
        if args.store_runs:
            print("store", file=sys.stderr)
            s = bench_store(args.store_runs, tmp)
            lines += [f"### A {s['runs']:,}-run store", "",
                      f"{s['runs']:,} runs of 366 days x 1 zone x 6 states ({s['rows']:,} `series` rows, "
                      f"{s['size_mb']:.0f} MiB), written through `Store.write` in groups of 32 in "
                      f"{s['fill_s']:.1f} s. `Store.quantiles(batch, state='Z')` (5 quantiles and the mean per "
                      f"day across all runs, in SQL): **{s['query_first_s']:.2f} s** on a freshly opened store, "
                      f"{s['query_best_s']:.2f} s warm; `summary_quantiles` of two metrics: "
                      f"{s['summary_query_s']:.3f} s.", ""]
    load = os.getloadavg()
    lines += [f"Load average at the end (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              "(other work on the machine shares its cores; runs/s is only as clean as this).", ""]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(text)


def abm_section(args: argparse.Namespace, tmp: Path) -> list[str]:
    import aftermath as am

    try:
        from aftermath.scenario.scale import scale_population  # type: ignore[import-not-found]
    except ImportError:
        scale_population = None
    from aftermath.run.ensemble import check_engine

    try:
        check_engine("abm")
    except ValueError as exc:
        return ["### ABM ensemble", "", f"Pending: {exc}.", ""]
    if scale_population is not None:
        sc = scale_population(am.load("hyosan"), args.abm_people)
        what = f"`hyosan` scaled to {args.abm_people:,} people"
    else:  # the SIR town has 100,000 people as it is
        sc = am.load("sir")
        what = "`sir` (100,000 people; `aftermath.scenario.scale` not available yet)"
    days = args.abm_days
    print("ABM ensemble", file=sys.stderr)
    rows = bench_engine("abm", sc, args.abm_runs, "abm", days, args.workers, tmp)
    horizon = f"{days} days" if days else f"{sc.run.days} days"
    return [f"### {args.abm_runs} ABM runs of {what}, {horizon}", "", *table(rows), ""]


def write_section(text: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = old.find(HEADING)
    if start < 0:
        new = old.rstrip() + "\n\n" + text.rstrip() + "\n"
    else:
        nxt = old.find("\n## ", start + len(HEADING))
        new = old[:start] + text.rstrip() + "\n" + (old[nxt:] if nxt >= 0 else "")
    RESULTS.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
