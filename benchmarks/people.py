"""What people cost (issue 13): memory of loss and bands off vs on, a cast of 50, the story.

Hyosan scaled to ``--people`` (default 1,000,000), ``--days`` days, ABM, one process, warmed up
first. Rounds alternate the variants so that a busy machine hurts them alike; each variant's best
wall time and its CPU time (``time.process_time``: on a shared machine, read the CPU ratio) of
the day loop (``Result.timings["run_s"]``) are reported:

* ``off``: memory gains 0 (the model without memory, bit for bit);
* ``on``: the defaults of ``[society.memory]`` (memory and bands on);
* ``on + cast 50``: the same, following 50 people and their households;
* ``on, no effect``: memory kept but acting on nothing (``flight``, ``conceal``, ``distrust`` and
  ``band_size`` 0): the bookkeeping alone, apart from the journeys and hiding memory causes.

Memory changes the epidemic (other deaths, walks, hiding), so ``on`` does other work than
``off``, not only more bookkeeping. Beside the times, each variant's work and where its CPU went:

* work: agent-steps (a person not removed, visited by the step kernel: the susceptible, and the
  infected, latent to corpse, who cost more), from the daily counts times the steps of a day;
  events (the flows' counts) and walks (the route flows');
* CPU seconds by part of the day loop: the step kernel, the hazard rows (and memory's table of a
  susceptible's probability), the day's end (news to households, bands, the weekly fading), the
  bands' walks (:func:`aftermath.engines.abm.step.follow_bands`), and the rest (Python, merges);
* the step kernel's nanoseconds per agent-step: the work-normalised cost of a step.

The target reads the day loop's time (``on / off``): each variant's best round, and the ratio
within each round (the variants of a round run one after the other, under much the same load),
whose median is the steadier figure when the variants' best rounds fall at different times (a
variant doing more work has come out faster than another by luck). On a shared machine the other
processes slow some days of some rounds: besides each variant's best round (wall and CPU of the whole run),
the CPU of the engine's day (``advance_day``) is taken day by day at its least over the rounds and
summed (each day's work is the same in every round: same seed). That sum's ratio is the one to
read there; the per-agent-step figures say how much of the difference is work the model does
differently.

Also: the bytes per person that memory and ties keep in the ``on`` run, at its end and at their
most at any day's end (the memory byte plus the band table and the step's band-walk buffer, over
the people), and the seconds ``story`` takes to tell the 50
lives after the run. Targets: at most 2 bytes per person, at most 10% run time, a cast of 50
costs nothing measurable, the story under a second.

Usage: ``python benchmarks/people.py [--people 1000000] [--days 365] [--rounds 2]``, or
``--processes K``: off and on once in each of K fresh processes (the ratio moves more between
processes than between rounds of one), their ratios' geometric mean and its 95% interval; with
``--lockstep`` (and ``NUMBA_NUM_THREADS=1``), in each process the two take turns of ``--turn`` days
(30), each timed over its own, so that the machine's slow stretches fall on both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from typing import Any

import numpy as np

#: Memory kept (its bookkeeping runs) but acting on nothing: what the bookkeeping alone costs.
NO_EFFECT = {"society.memory.flight": 0.0, "society.memory.conceal": 0.0, "society.memory.distrust": 0.0,
             "society.memory.band_size": 0}
OFF = {"society.memory.per_loss": 0.0, "society.memory.per_turned_away": 0.0, "society.memory.per_sealed": 0.0,
       "society.memory.per_breach": 0.0, "society.memory.distrust": 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kernel-ab", type=int, metavar="DAY", help="instead: the step kernel alone on one step of "
                    "day DAY of the run with memory, with memory as it is, off, and without flight (same people, "
                    "same draws: the kernel's own overhead, whatever the epidemic)")
    ap.add_argument("--reps", type=int, default=31, help="timings of each variant with --kernel-ab")
    ap.add_argument("--flush", action="store_true", help="with --kernel-ab: the caches emptied before each "
                    "timing (a 96 MB pass), and one more variant: memory as it is, its array read just before")
    ap.add_argument("--processes", type=int, metavar="K", help="instead: K processes one after another, each "
                    "running off and on once (which goes first alternates), each with its own memory layout: the "
                    "on / off ratios over processes, their geometric mean and its 95%% interval")
    ap.add_argument("--pair", choices=("off,on", "on,cast", "off,off"), default="off,on", help="with --processes: "
                    "the two variants compared: off and on (memory's cost, the default), on and on + cast 50 (the "
                    "cast's), or off and off again (the harness's own check: the interval should hold 1)")
    ap.add_argument("--lockstep", action="store_true", help="with --processes: in each process the two variants "
                    "take turns (two threads passing a baton), each timed by its own thread's CPU clock over its own "
                    "days, so that a slow stretch of the machine falls on both")
    ap.add_argument("--turn", type=int, metavar="DAYS", help="with --lockstep: the days of a turn (default 30). "
                    "Each turn starts with the caches full of the other's arrays, a cost about the same for both "
                    "that pulls the ratio towards 1: turns of a day read memory's cost at 1.08 and 1.10 where turns "
                    "of 30 read 1.12")
    ap.add_argument("--only", help=argparse.SUPPRESS)  # (a --processes child: these variants, in this order)
    args = ap.parse_args()
    if args.turn is not None and not args.lockstep:
        ap.error(f"--turn {args.turn}: only with --lockstep")
    if args.lockstep and not (args.processes or args.only):
        ap.error("--lockstep: only with --processes K")
    args.turn = 30 if args.turn is None else args.turn
    if args.turn < 1:
        ap.error(f"--turn {args.turn}: expected a number of days, at least 1")
    if args.processes:
        across_processes(args)
        return
    if args.kernel_ab is not None:
        kernel_ab(args.people, args.kernel_ab, args.reps, args.seed, args.flush)
        return
    if args.lockstep:  # a --processes --lockstep child
        lockstep(args)
        return

    from aftermath.engines import driver
    from aftermath.people.story import story_text
    from aftermath.scenario.load import load
    from aftermath.scenario.scale import scale_population

    base = scale_population(load("hyosan"), args.people)
    variants = _variants(base)
    if args.only:
        variants = {label: variants[label] for label in args.only.split(",")}
    else:
        del variants["off again"]
    from aftermath.engines.abm import engine as abm_engine
    from aftermath.people import ties

    cpu_in: dict[str, float] = {}  # CPU seconds by part of the day loop, in the run under way
    peak = {"bytes": 0.0}

    def add(part: str, seconds: float) -> None:
        cpu_in[part] = cpu_in.get(part, 0.0) + seconds

    _time_parts(time.process_time, add)
    day_end = ties.Ties.end_day
    days_cpu: list[float] = []
    advance = abm_engine.AbmEngine.advance_day

    def advance_day(self: Any, *a: Any, **k: Any) -> Any:  # the engine's day, CPU day by day
        c = time.process_time()
        try:
            return advance(self, *a, **k)
        finally:
            days_cpu.append(time.process_time() - c)

    abm_engine.AbmEngine.advance_day = advance_day  # type: ignore[method-assign]
    day_best: dict[str, Any] = {}

    def end_day(self: Any, pop: Any, *a: Any, **k: Any) -> None:
        day_end(self, pop, *a, **k)
        if self.on:
            peak["bytes"] = max(peak["bytes"], (pop.memory.nbytes + self.nbytes_ties()) / pop.n)

    ties.Ties.end_day = end_day  # type: ignore[method-assign]
    steps_day = round(1.0 / base.run.dt)
    split: dict[str, dict[str, float]] = {}
    work: dict[str, dict[str, float]] = {}
    engines: list[Any] = []
    make = driver.make_engine

    def keep(*a: Any, **k: Any) -> Any:  # the engine of the last run, to read its arrays
        eng = make(*a, **k)
        engines[:] = [eng]
        return eng

    driver.make_engine = keep  # type: ignore[assignment]
    _warm_up(base, args.seed)
    best: dict[str, float] = {}
    rounds: dict[str, list[float]] = {}  # each round's day loop, per variant (the rounds pair them)
    cpu: dict[str, float] = {}
    survivors: dict[str, float] = {}
    story_s = float("nan")
    per_person = float("nan")
    bands: dict[str, int] = {}
    peak_bytes = float("nan")
    for _ in range(args.rounds):
        for label, sc in variants.items():
            cpu_in.clear()
            days_cpu.clear()
            peak["bytes"] = 0.0
            c0 = time.process_time()
            res = driver.simulate(sc, engine="abm", days=args.days, seed=args.seed)
            c1 = time.process_time()
            run_s = res.timings["run_s"]
            d = np.array(days_cpu)
            day_best[label] = d if label not in day_best else np.minimum(day_best[label], d)
            best[label] = min(best.get(label, float("inf")), run_s)
            rounds.setdefault(label, []).append(run_s)
            if c1 - c0 < cpu.get(label, float("inf")):
                cpu[label] = c1 - c0
                split[label] = {k: round(v, 3) for k, v in sorted(cpu_in.items())}
                split[label]["rest"] = round(c1 - c0 - sum(cpu_in.values()), 3)
            survivors[label] = res.summary()["survivors"]
            work[label] = _work(res, steps_day)
            if label == "on":
                eng = engines[0]
                peak_bytes = peak["bytes"]
                per_person = (eng.pop.memory.nbytes + eng.ties.nbytes_ties()) / eng.pop.n
                bands = {"bands": eng.ties.n_bands, "band_table_capacity": int(eng.ties.band_count.shape[0]),
                         "people_in_bands": int((eng.pop.household[: eng.pop.n] >= (1 << 30)).sum())}
            if label == "on + cast 50":
                t0 = time.perf_counter()
                text = story_text(res)
                story_s = time.perf_counter() - t0
                assert text
    if args.only:  # a --processes child: one line for the parent
        print(json.dumps({"run_s": best, "engine_day_cpu_s": {k: float(d.sum()) for k, d in day_best.items()},
                          "cpu_by_part": split}))
        return
    off, on, cast = best["off"], best["on"], best["on + cast 50"]
    # the ratio within each round (the variants of a round run minutes apart, under the same load)
    paired = sorted(a / b for a, b in zip(rounds["on"], rounds["off"], strict=True))
    engine_cpu = {label: round(float(d.sum()), 3) for label, d in day_best.items()}
    for label in variants:  # the step kernel's cost per agent-step: the work-normalised figure
        work[label]["step_ns_per_agent_step"] = round(1e9 * split[label].get("step kernel", 0.0)
                                                      / work[label]["agent_steps"], 3)
    out = {"people": args.people, "days": args.days, "rounds": args.rounds, "run_s": best, "cpu_s": cpu,
           "on_over_off": on / off, "cpu_on_over_off": cpu["on"] / cpu["off"], "cast_over_on": cast / on,
           "on_over_off_by_round": paired, "on_over_off_median_of_rounds": float(np.median(paired)),
           "engine_day_cpu_s_per_day_best": engine_cpu,
           "engine_day_cpu_on_over_off": engine_cpu["on"] / engine_cpu["off"],
           "memory_and_ties_bytes_per_person": per_person, "memory_and_ties_bytes_per_person_peak": peak_bytes,
           **bands, "cpu_split_s": split, "work": work,
           "no_effect_over_off": best["on, no effect"] / off,
           "cpu_no_effect_over_off": cpu["on, no effect"] / cpu["off"],
           "story_s": story_s, "survivors": survivors}
    print(json.dumps(out, indent=2))
    print()
    print("| variant | day loop s (best) | CPU s (best) | engine's days CPU s (per-day best) | step kernel | rows |"
          " day end | band walks | rest |"
          " agent-steps (M): S / infected | events (k) | walks (k) | step ns / agent-step | survivors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label in variants:
        sp, wk = split[label], work[label]
        print(f"| {label} | {best[label]:.2f} | {cpu[label]:.2f} | {engine_cpu[label]:.2f} | "
              f"{sp.get('step kernel', 0.0):.2f} | "
              f"{sp.get('rows', 0.0):.2f} | {sp.get('day end', 0.0):.2f} | {sp.get('band walks', 0.0):.2f} | "
              f"{sp['rest'] + sp.get('other kernels', 0.0):.2f} | {wk['agent_steps_S'] / 1e6:,.1f} / "
              f"{wk['agent_steps_infected'] / 1e6:,.2f} | {wk['events'] / 1e3:,.0f} | {wk['walks'] / 1e3:,.1f} | "
              f"{wk['step_ns_per_agent_step']:.3f} | {survivors[label]:,.0f} |")
    w_on, w_off = work["on"], work["off"]
    print(f"\non / off: {on / off:.3f} (round by round: {', '.join(f'{x:.3f}' for x in paired)}, median "
          f"{float(np.median(paired)):.3f}; CPU {cpu['on'] / cpu['off']:.3f}; the engine's days, per-day best: "
          f"{engine_cpu['on'] / engine_cpu['off']:.3f}); step kernel per agent-step: "
          f"{w_on['step_ns_per_agent_step'] / w_off['step_ns_per_agent_step']:.3f}; work on / off: infected "
          f"agent-steps {w_on['agent_steps_infected'] / w_off['agent_steps_infected']:.3f}, events "
          f"{w_on['events'] / w_off['events']:.3f}, walks {w_on['walks'] / w_off['walks']:.3f}; cast 50 / on: "
          f"{cast / on:.3f}; memory and ties: {per_person:.3f} bytes per person at the end, {peak_bytes:.3f} at "
          f"most; story of 50 lives: {story_s:.3f} s")


def across_processes(args: argparse.Namespace) -> None:
    """``--processes K``: the same seed's two variants (``--pair``: off and on, or on and on with a
    cast of 50) in K fresh processes. Within a process the two share one memory layout, and the
    ratio has moved from 1.04 to 1.17 between processes with the same code: the ratio over many
    processes is the figure to read. Memory's target (on / off) is met when the interval's upper
    end is at most 1.10, missed when its lower end is above; the cast's (no measurable time) holds
    when the interval of (on + cast 50) / on contains 1."""
    import os
    import subprocess
    import sys

    from scipy import stats

    if args.lockstep:
        _one_thread()
    a, b, ratio = {"off,on": ("off", "on", "on_over_off"), "on,cast": ("on", "on + cast 50", "cast_over_on"),
                   "off,off": ("off", "off again", "again_over_off")}[args.pair]
    # (the CPU of the engine's days at their least over a process's rounds; in lockstep, of each
    # variant's thread over its turns: the day's Python of society, policies and the record too)
    cpu_key, cpu_ratio = (("thread_cpu_s", f"thread_cpu_{ratio}") if args.lockstep else
                          ("engine_day_cpu_s", f"engine_cpu_{ratio}"))
    cpu_label = "its thread's CPU" if args.lockstep else "engine's days CPU"
    rows = []
    for k in range(args.processes):
        order = f"{a},{b}" if k % 2 == 0 else f"{b},{a}"
        cmd = [sys.executable, __file__, "--people", str(args.people), "--days", str(args.days), "--seed",
               str(args.seed), "--rounds", "1", "--only", order,
               *(["--lockstep", "--turn", str(args.turn)] if args.lockstep else [])]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode:  # (its reason, not only that it failed)
            sys.stderr.write(proc.stderr)
            raise SystemExit(proc.returncode)
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        run_s, cpu = child["run_s"], child[cpu_key]
        rows.append({"first": order.split(",")[0], f"{a}_s": run_s[a], f"{b}_s": run_s[b],
                     ratio: run_s[b] / run_s[a], cpu_ratio: cpu[b] / cpu[a], "cpu_by_part": child["cpu_by_part"]})
        init = child.get("init_s")  # (lockstep: its thread's CPU building the world and engine, before any turn)
        end = child.get("end_s")  # (lockstep: ... and after the last turn: the record, the result)
        if init and end:
            whole = {v: init[v] + cpu[v] + end[v] for v in (a, b)}  # (the whole run, by its thread's CPU)
            rows[-1].update({f"{a}_init_s": init[a], f"{b}_init_s": init[b], f"{a}_end_s": end[a],
                             f"{b}_end_s": end[b], f"whole_{ratio}": whole[b] / whole[a]})
        print(f"process {k + 1}: {order:17s} {a} {run_s[a]:.2f} s, {b} {run_s[b]:.2f} s: "
              f"{rows[-1][ratio]:.3f} ({cpu_label} {rows[-1][cpu_ratio]:.3f})"
              + (f"; set-up {init[a] * 1e3:.0f} and {init[b] * 1e3:.0f} ms, the end {end[a] * 1e3:.0f} and "
                 f"{end[b] * 1e3:.0f} ms; the whole run's CPU {rows[-1][f'whole_{ratio}']:.3f}"
                 if init and end else ""), flush=True)
    out: dict[str, Any] = {"people": args.people, "days": args.days, "processes": args.processes,
                           "pair": [a, b], "lockstep": args.lockstep, "turn_days": args.turn if args.lockstep else None,
                           "runs": rows}
    for key in (ratio, cpu_ratio, f"whole_{ratio}"):
        if key not in rows[0]:
            continue
        logs = np.log([r[key] for r in rows])
        half = stats.t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / np.sqrt(len(logs)) if len(logs) > 1 else np.inf
        out[key] = {"geometric_mean": float(np.exp(logs.mean())), "median": float(np.exp(np.median(logs))),
                    "interval_95": [float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))]}
    if args.lockstep:  # each variant's CPU by part, the median over the processes
        out["cpu_by_part_median"] = {
            v: {part: round(float(np.median([r["cpu_by_part"][v].get(part, 0.0) for r in rows])), 3)
                for part in sorted({p for r in rows for p in r["cpu_by_part"][v]})} for v in (a, b)}
    lo, hi = out[ratio]["interval_95"]
    if args.pair == "off,on":
        out["target_1.10"] = "met" if hi <= 1.10 else "not met" if lo > 1.10 else "undecided (the interval spans 1.10)"
    elif args.pair == "on,cast":
        out["cast_measurable"] = not lo <= 1.0 <= hi
        if f"whole_{ratio}" in out:  # (set-up, turns and the end: the cast's work wherever it falls)
            lo, hi = out[f"whole_{ratio}"]["interval_95"]
            out["cast_measurable_whole_run"] = not lo <= 1.0 <= hi
    else:
        out["harness_holds_1"] = lo <= 1.0 <= hi
    print(json.dumps(out, indent=2))


def _one_thread() -> None:
    """``--lockstep`` times each variant by its thread's CPU clock, which the parts' threads would escape."""
    import sys

    from aftermath.engines.abm.parts import default_parts

    if default_parts() != 1:  # (exit 2: a flag that does not fit, as the CLI's)
        print(f"people.py: --lockstep needs NUMBA_NUM_THREADS=1, not {default_parts()} threads (each variant is "
              "timed by its own thread's CPU clock)", file=sys.stderr)
        raise SystemExit(2)


def lockstep(args: argparse.Namespace) -> None:
    """A ``--processes --lockstep`` child: the variants of ``--only`` (two, the first first) run at once
    in two threads that pass a baton at the end of every ``--turn`` days (``simulate``'s ``on_day``),
    so only one runs at a time and they take turns. Each variant's time is its own turns': the CPU of
    its thread (``time.thread_time``: a thread waiting for the baton uses none) and the wall time
    while it held the baton. Whatever slows the machine for a while slows both, where one variant's
    run after the other's falls on another stretch of a shared machine (whose runs of a year have
    varied by 15% within minutes). Each turn starts with the other's arrays in the caches: a cost
    about the same for both, which pulls their ratio towards 1 the shorter the turns (a turn of a day
    added about 2 s to a year of 6 to 8 s at 10^6 people, and read memory's cost at 1.08 and 1.10
    where turns of 30 days read 1.12). Which variant goes first alternates between processes: in a
    check with both runs the same (``--pair off,off``) with turns of a day, the second of a turn's
    pair ran 1% to 3% faster; with turns of 30 days, no such lean. The set-up before the first turn
    (the world and the engine built, a cast chosen) is no turn's: its thread's CPU is reported
    beside them (``init_s``), so a cost there is seen too (casting 50 at 10^6 people once took 72
    ms there, unseen by the turns), and so is the end after the last turn (``end_s``: the record,
    where the cast tells its people's steps, and the result). One line of JSON, as the other children's."""
    import threading

    from aftermath.engines import driver
    from aftermath.scenario.load import load
    from aftermath.scenario.scale import scale_population

    _one_thread()
    base = scale_population(load("hyosan"), args.people)
    every = _variants(base)
    labels = (args.only or "off,on").split(",")
    if len(labels) != 2:
        raise SystemExit(f"people.py: --only {args.only}: --lockstep runs two variants")
    _warm_up(base, args.seed)
    by_part: dict[str, dict[str, float]] = {label: {} for label in labels}  # CPU by part, per variant
    mine = threading.local()  # .label: the variant of the calling thread's turn (None between turns)

    def add(part: str, seconds: float) -> None:
        d = by_part[mine.label]
        d[part] = d.get(part, 0.0) + seconds

    _time_parts(time.thread_time, add, lambda: getattr(mine, "label", None) is not None)
    baton = {label: threading.Semaphore(0) for label in labels}
    built = threading.Barrier(3)  # both engines built before the first turn (the rest of the set-up is in it)
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    init: dict[str, float] = {}
    end: dict[str, float] = {}
    errors: list[BaseException] = []

    def run(label: str, other: str) -> None:
        held = {"cpu": 0.0, "wall": 0.0}
        c0, t0, c_built, c_end = [0.0], [0.0], [0.0], [0.0]

        def take() -> None:
            baton[label].acquire()
            mine.label = label  # (the parts timed in turns only)
            c0[0], t0[0] = time.thread_time(), time.perf_counter()

        def give(done: int, days: int) -> None:
            if done % args.turn and done < days:  # (the turn goes on)
                return
            held["cpu"] += time.thread_time() - c0[0]
            held["wall"] += time.perf_counter() - t0[0]
            mine.label = None  # (between turns, and after the last)
            if done < days:  # (after the last day, the baton waits for the run's end: below)
                baton[other].release()
                if not errors:
                    take()
            else:
                c_end[0] = time.thread_time()

        def start(_eng: Any) -> None:
            init[label] = time.thread_time() - c_built[0]  # the world and engine built (a cast chosen): no turn's
            built.wait()
            take()

        try:  # (the result dropped at once: its arrays freed before the other's last turn)
            c_built[0] = time.thread_time()
            driver.simulate(every[label], engine="abm", days=args.days, seed=args.seed, on_start=start, on_day=give)
            end[label] = time.thread_time() - c_end[0]  # after the last turn: the record, the result (no turn's)
        except BaseException as e:  # (raised on the main thread; the other runs on without turns)
            errors.append(e)
            built.abort()
        finally:  # the other's last turn starts after this run's end (its record, its result), not during it
            baton[other].release()
        cpu[label], wall[label] = held["cpu"], held["wall"]

    threads = [threading.Thread(target=run, args=(labels[k], labels[1 - k])) for k in range(2)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        built.wait()
    baton[labels[0]].release()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    split = {label: {k: round(v, 3) for k, v in sorted(by_part[label].items())} for label in labels}
    for label in labels:  # (what the timed parts leave of the variant's turns)
        split[label]["rest"] = round(cpu[label] - sum(by_part[label].values()), 3)
    print(json.dumps({"run_s": wall, "thread_cpu_s": cpu, "cpu_by_part": split, "init_s": init, "end_s": end}))


def _variants(base: Any) -> dict[str, Any]:
    """The variants of Hyosan scaled to the run's people, by label (``off again``: ``off`` once more,
    for ``--pair off,off``)."""
    from aftermath.scenario.load import with_overrides

    off = with_overrides(base, OFF)
    return {"off": off, "on": base, "on + cast 50": with_overrides(base, {"cast": 50}),
            "on, no effect": with_overrides(base, NO_EFFECT), "off again": off}


def _warm_up(base: Any, seed: int) -> None:
    """Load the compiled kernels, or compile them (a fresh clone, or caches deleted), those of bands
    walking together included: two days of the full run have no band walk, and a process once
    compiled them inside its timed "on" run (19 s against 11)."""
    from aftermath.engines import driver
    from aftermath.scenario.load import load, with_overrides
    from aftermath.scenario.scale import scale_population

    small = with_overrides(scale_population(load("hyosan"), 20_000), {"run.days": 120, "cast": 50})
    driver.simulate(small, engine="abm", seed=seed)
    driver.simulate(base, engine="abm", days=2, seed=seed)


def _time_parts(clock: Any, add: Any, active: Any = None) -> None:
    """Time the parts of the day loop by ``clock``: each kernel handed to ``Parts.run`` (by
    :data:`KERNELS`, else "other kernels"), the day's end, the bands' walks and memory's table of
    the susceptibles (in "rows"), each call's seconds to ``add(part, seconds)``; only while
    ``active()`` holds, if given. A part inside another (the day's end hands its passes to
    ``Parts.run``) counts to the outer one only, so the parts add up."""
    import threading

    from aftermath.engines.abm import engine as abm_engine
    from aftermath.engines.abm import parts
    from aftermath.people import ties

    inside = threading.local()

    def timed(part: str, f: Any) -> Any:
        def g(*a: Any, **k: Any) -> Any:
            if getattr(inside, "part", False) or (active is not None and not active()):
                return f(*a, **k)
            inside.part, c = True, clock()
            try:
                return f(*a, **k)
            finally:
                inside.part = False
                add(part, clock() - c)
        return g

    run_parts = parts.Parts.run
    by_kernel = {part: timed(part, run_parts) for part in {*KERNELS.values(), "other kernels"}}

    def timed_run(self: Any, kernel: Any, *a: Any, **k: Any) -> None:  # each kernel under its own name
        by_kernel[KERNELS.get(getattr(kernel, "__name__", ""), "other kernels")](self, kernel, *a, **k)

    parts.Parts.run = timed_run  # type: ignore[method-assign]
    ties.Ties.end_day = timed("day end", ties.Ties.end_day)  # type: ignore[method-assign]
    abm_engine.AbmEngine._follow = timed("band walks", abm_engine.AbmEngine._follow)  # type: ignore[method-assign]
    abm_engine.fill_s_memory = timed("rows", abm_engine.fill_s_memory)  # called directly, not in parts


def kernel_ab(people: int, day: int, reps: int, seed: int, flush: bool = False) -> None:
    """The step kernel on one step (the second of ``day``) of Hyosan with memory, from copies of the
    people's arrays taken before it, with memory as it is, off (``Mem.on`` and ``band`` False: the
    kernel of a run without memory) and without flight; variants in a shuffled order each rep.
    ``flush``: a pass over 96 MB before each timing, so that each starts with cold caches as in a
    run, and the variant "memory read first" (as it is, the memory array read after the flush: what
    the memory byte's cache misses cost)."""
    from aftermath.engines import driver
    from aftermath.engines.abm import parts
    from aftermath.engines.abm.step import Out, People, step_part
    from aftermath.scenario.load import load
    from aftermath.scenario.scale import scale_population

    got: dict[str, Any] = {}
    run_parts, calls = parts.Parts.run, [0]

    def run(self: Any, kernel: Any, *a: Any, **k: Any) -> None:
        if getattr(kernel, "__name__", "") == "step_part":
            calls[0] += 1
            if calls[0] == day * 4 + 2 and not got:  # hyosan: 4 steps a day
                n, chunk, P, T, W, dy, out = a
                got.update(n=n, chunk=chunk, P=People(*[x.copy() for x in P]), T=T,  # the engine reuses its arrays
                           W=type(W)(*[x.copy() for x in W]), dy=dy._replace(sprob=dy.sprob.copy()),
                           out=Out(*[x.copy() for x in out]))
        run_parts(self, kernel, *a, **k)

    parts.Parts.run = run  # type: ignore[method-assign]
    driver.simulate(scale_population(load("hyosan"), people), engine="abm", days=day + 1, seed=seed)
    parts.Parts.run = run_parts  # type: ignore[method-assign]
    dy, P0, n = got["dy"], got["P"], got["n"]
    variants = {"memory as it is": dy, "memory off": dy._replace(mem=dy.mem._replace(on=False, band=False)),
                "memory without flight": dy._replace(mem=dy.mem._replace(flight=0.0))}
    if flush:
        variants["memory read first"] = dy
    cold = np.zeros(96 << 20 if flush else 0, dtype=np.uint8)
    times: dict[str, list[float]] = {k: [] for k in variants}
    events: dict[str, int] = {}
    rng = np.random.default_rng(0)
    for _ in range(reps):
        for label in rng.permutation(list(variants)):
            P = People(*[x.copy() for x in P0])
            o = Out(*[x.copy() for x in got["out"]])
            o.move_n[:] = 0
            o.fl[:] = 0  # the day's flows so far: only this step's events counted
            if flush:
                cold += 1
                if label == "memory read first":
                    int(P.memory.sum())
            c = time.thread_time()
            step_part(0, 1, n, got["chunk"], P, got["T"], got["W"], variants[label], o)
            times[label].append(time.thread_time() - c)
            events[label] = int(o.fl.sum()) + int(o.move_n.sum())
    off = min(times["memory off"])
    print(f"step kernel, one step of day {day}, {people:,} people ({int((P0.memory[:n] > 0).sum()):,} remember "
          f"something), best and median of {reps}:")
    for label, ts in times.items():
        print(f"  {label:22s} {min(ts) * 1e3:6.2f} ms  median {float(np.median(ts)) * 1e3:6.2f} ms  "
              f"{min(ts) / off:.3f}x  events {events[label]:,}")


#: The day loop's kernels, by the part of the loop they are reported in.
KERNELS = {"step_part": "step kernel", "fill_rows_part": "rows"}


def _work(res: Any, steps_day: int) -> dict[str, float]:
    """Agent-steps (people not removed, by the day's counts: susceptible, infected E to D),
    events (the flows' counts) and walks (route flows) of a run."""
    c = res.counts[:-1]  # the state at the start of each day
    s = float(c[:, :, 0].sum()) * steps_day
    inf = float(c[:, :, 1:5].sum()) * steps_day
    return {"agent_steps": s + inf, "agent_steps_S": s, "agent_steps_infected": inf,
            "events": float(res.flows.sum()), "walks": float(res.route_flows.sum())}


if __name__ == "__main__":
    main()
