#!/usr/bin/env python
"""The long fuzz run: the generators of tests/fuzz at 10,000+ cases, with counts by outcome.

    .venv/bin/python scripts/fuzz.py --scenarios 10000 --cli 1000 --seed 1

Draws scenario files, command lines, damaged stores and conditions from the same Hypothesis
strategies the CI tests use (tests/fuzz/strategies.py, tests/fuzz/stores.py), with the expensive
values switched on (huge populations, many zones, --runs 1000000000...), runs each case in a worker
process with a per-case timeout (``--isolate``: each as its own ``aftermath`` subprocess), and prints
the counts by outcome (clean rejection, accepted, nonsense accepted, messy rejection, internal error,
other exit, traceback, hang, crash) and a reproducer for each distinct failure. Every case runs in
a temporary folder; nothing is written elsewhere (``--out`` names a JSON file for the failures).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hseed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tests.fuzz.harness import BAD, DEFAULT_MEMORY, OUTCOMES, WORK_SCALE, Runner, classify, show  # noqa: E402
from tests.fuzz.stores import store_cases  # noqa: E402
from tests.fuzz.strategies import cli_cases, conditions, scenario_cases  # noqa: E402


def draw(strategy: st.SearchStrategy[Any], n: int, seed: int) -> list[Any]:
    """``n`` distinct values of ``strategy``, drawn by Hypothesis from ``seed`` (deterministic)."""
    found: dict[str, Any] = {}
    attempt = 0
    batch: list[Any] = []
    while len(found) < n and attempt < 50:
        batch.clear()

        @settings(
            max_examples=n - len(found) + 10,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hseed(seed * 1000 + attempt)
        @given(strategy)
        def collect(value: Any) -> None:
            batch.append(value)

        collect()
        for v in batch:
            found.setdefault(hashlib.sha1(json.dumps(v, sort_keys=True, default=str).encode()).hexdigest(), v)
        attempt += 1
    return list(found.values())[:n]


def fuzz_conditions(n: int, seed: int) -> tuple[collections.Counter[str], list[str]]:
    """Conditions parsed and evaluated in this process (cheap): outcomes and reproducers."""
    from tests.fuzz.test_fuzz_conditions import grammar_problems

    from aftermath.scenario.conditions import Condition, ConditionError

    counts: collections.Counter[str] = collections.Counter()
    bad: dict[str, str] = {}
    for text in draw(conditions(), n, seed):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cond = Condition.parse(text)
        except ConditionError:
            if caught:  # the user sees Python's warning before the error
                counts["messy rejection"] += 1
                bad.setdefault("warning", f"{text!r}: prints {caught[0].category.__name__}: {caught[0].message}")
            else:
                counts["clean rejection"] += 1
            continue
        except BaseException as exc:
            counts["traceback"] += 1
            bad.setdefault(f"traceback {type(exc).__name__}", f"{text!r}: {type(exc).__name__}: {exc}"[:400])
            continue
        problems = grammar_problems(text)
        try:
            value = cond({name: 1.0 for name in cond.names})
            value0 = cond({name: 0.0 for name in cond.names})
            if value not in (True, False) or value0 not in (True, False):
                problems.append("evaluates to something other than a truth value")
        except BaseException as exc:
            counts["traceback"] += 1
            bad.setdefault(f"eval {type(exc).__name__}", f"{text!r}: evaluating: {type(exc).__name__}: {exc}"[:400])
            continue
        if problems:
            counts["nonsense accepted"] += 1
            bad.setdefault(problems[0].split("'")[0], f"{text!r} accepted: {problems}"[:400])
        else:
            counts["accepted"] += 1
    return counts, list(bad.values())


def run_cases(
    cases: list[dict[str, Any]], jobs: int, timeout: float, memory: int | None, isolate: bool, progress_every: int = 250
) -> list[tuple[dict[str, Any], Any, tuple[str, str]]]:
    """Run every case on ``jobs`` workers; (case, result, outcome) in the order given."""
    todo: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
    for item in enumerate(cases):
        todo.put(item)
    out: list[Any] = [None] * len(cases)
    done = [0]
    lock = threading.Lock()
    t0 = time.time()

    def work() -> None:
        with Runner(timeout=timeout, memory=memory, isolate=isolate) as runner:
            for scenario in ("sir", "hyosan"):  # compile the stochastic engines outside any timeout
                for engine in ("ssa", "abm"):
                    runner.call(
                        ["run", scenario, "--days", "1", "--engine", engine, "--json"], str(runner.base), timeout=600
                    )
            while True:
                try:
                    i, case = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    res = runner.run(case)
                    outcome = classify(case, res)
                except Exception as exc:
                    res, outcome = None, ("harness error", f"{type(exc).__name__}: {exc}"[:300])
                runner.cache.clear()
                out[i] = (case, res, outcome)
                with lock:
                    done[0] += 1
                    if done[0] % progress_every == 0 or done[0] == len(cases):
                        rate = done[0] / max(time.time() - t0, 1e-9)
                        print(f"  {done[0]}/{len(cases)} cases, {rate:.1f}/s", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def confirm(failures: list[dict[str, Any]], limit: int, timeout: float, memory: int | None) -> None:
    """Run up to ``limit`` distinct failures again, each as its own ``aftermath`` process."""
    seen: set[str] = set()
    with Runner(timeout=timeout, memory=memory, isolate=True) as runner:
        for f in failures:
            key = f"{f['outcome']}|{f['detail'][:70]}"
            if key in seen or len(seen) >= limit:
                continue
            seen.add(key)
            res = runner.run(f["case"])
            again = classify(f["case"], res)
            f["fresh_process"] = f"{again[0]}: {again[1]}"
            f["reproducer"] += f"\n(again as its own process: {again[0]}: {again[1][:200]})"


def table(counts: dict[str, collections.Counter[str]]) -> str:
    kinds = list(counts)
    names = [o for o in (*OUTCOMES, "harness error") if any(counts[k][o] for k in kinds)]
    head = "| outcome | " + " | ".join(kinds) + " | total |"
    lines = [head, "| --- |" + " ---: |" * (len(kinds) + 1)]
    for o in names:
        row = [counts[k][o] for k in kinds]
        lines.append(f"| {o} | " + " | ".join(f"{x:,}" for x in row) + f" | {sum(row):,} |")
    totals = [sum(counts[k].values()) for k in kinds]
    lines.append("| **all** | " + " | ".join(f"{x:,}" for x in totals) + f" | {sum(totals):,} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, default=10_000, help="scenario files (checked or run 1-3 days)")
    ap.add_argument("--cli", type=int, default=1_000, help="command lines")
    ap.add_argument("--stores", type=int, default=500, help="commands on damaged or hostile stores")
    ap.add_argument("--conditions", type=int, default=10_000, help="conditions, parsed in this process")
    ap.add_argument("--seed", type=int, default=1, help="the generators' seed (the same seed draws the same cases)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (one worker process each)")
    ap.add_argument(
        "--memory",
        type=float,
        default=DEFAULT_MEMORY / 2**30,
        help="GiB of address space per worker (RLIMIT_AS); 0 for no limit",
    )
    ap.add_argument(
        "--work-scale",
        default=None,
        help=f"AFTERMATH_WORK_SCALE for the cases (default: the environment's, else {WORK_SCALE})",
    )
    ap.add_argument("--cheap", action="store_true", help="leave out the expensive values (as CI does)")
    ap.add_argument("--isolate", action="store_true", help="each case in its own aftermath process (slower)")
    ap.add_argument(
        "--confirm", type=int, default=60, help="distinct failures run again as their own aftermath process (0: none)"
    )
    ap.add_argument("--examples", type=int, default=40, help="distinct failures shown in full")
    ap.add_argument("--out", type=Path, help="write every failing case and its outcome here (JSON)")
    args = ap.parse_args()

    if args.work_scale is not None:
        os.environ["AFTERMATH_WORK_SCALE"] = str(args.work_scale)
    scale = os.environ.get("AFTERMATH_WORK_SCALE", WORK_SCALE)
    started = dt.datetime.now(dt.UTC)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    big = not args.cheap
    print(
        f"aftermath fuzz: seed {args.seed}, commit {commit}, {started:%Y-%m-%d %H:%M} UTC, timeout "
        f"{args.timeout:g} s, {args.jobs} jobs, AFTERMATH_WORK_SCALE={scale}, "
        f"{'expensive values on' if big else 'cheap values only'}",
        flush=True,
    )

    t0 = time.time()
    counts: dict[str, collections.Counter[str]] = {}
    failures: list[dict[str, Any]] = []
    if args.conditions:
        c, bad = fuzz_conditions(args.conditions, args.seed)
        counts["conditions"] = c
        failures += [{"kind": "conditions", "reproducer": b} for b in bad]
        print(f"conditions: {sum(c.values()):,} in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    plan = [
        ("scenario files", scenario_cases(big=big), args.scenarios),
        ("command lines", cli_cases(big=big), args.cli),
        ("stores", store_cases(), args.stores),
    ]
    for label, strategy, n in plan:
        if not n:
            continue
        t1 = time.time()
        cases = draw(strategy, n, args.seed)
        print(f"{label}: {len(cases):,} cases drawn in {time.time() - t1:.0f} s", file=sys.stderr, flush=True)
        results = run_cases(cases, args.jobs, args.timeout, int(args.memory * 2**30) or None, args.isolate)
        counts[label] = collections.Counter(o[0] for _, _, o in results)
        new = []
        for case, res, outcome in results:
            if outcome[0] in BAD or outcome[0] == "harness error":
                new.append(
                    {
                        "kind": label,
                        "outcome": outcome[0],
                        "detail": outcome[1],
                        "case": case,
                        "reproducer": show(case, res, outcome) if res is not None else str(case),
                    }
                )
        if args.confirm and new:
            confirm(new, args.confirm, args.timeout, int(args.memory * 2**30) or None)
        failures += new
        print(f"{label}: done in {time.time() - t1:.0f} s", file=sys.stderr, flush=True)

    print()
    print(table(counts))
    print(f"\n{sum(sum(c.values()) for c in counts.values()):,} cases in {time.time() - t0:.0f} s")
    seen: set[str] = set()
    shown = 0
    for f in failures:
        key = f"{f['kind']}|{f.get('outcome')}|{f.get('detail', f['reproducer'])[:70]}"
        if key in seen or shown >= args.examples:
            continue
        seen.add(key)
        shown += 1
        print(f"\n### {f['kind']}: {f.get('outcome', '')}\n{f['reproducer'][:3000]}")
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "seed": args.seed,
                    "commit": commit,
                    "started": started.isoformat(),
                    "counts": {k: dict(v) for k, v in counts.items()},
                    "failures": failures,
                },
                indent=1,
                default=str,
            )
        )
    bad_total = sum(v for c in counts.values() for k, v in c.items() if k in BAD)
    return 1 if bad_total else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
