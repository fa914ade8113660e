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

The CPU seconds spent at the day's end (news to households, bands, the weekly fading) are
reported per variant.

Also: the bytes per person that memory and ties keep at the end of the ``on`` run (the memory
byte plus the band table, over the people), and the seconds ``story`` takes to tell the 50
lives after the run. Targets: at most 2 bytes per person, at most 10% run time, a cast of 50
costs nothing measurable, the story under a second.

Usage: ``python benchmarks/people.py [--people 1000000] [--days 365] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

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
    args = ap.parse_args()

    from aftermath.engines import driver
    from aftermath.people.story import story_text
    from aftermath.scenario.load import load, with_overrides
    from aftermath.scenario.scale import scale_population

    base = scale_population(load("hyosan"), args.people)
    variants = {"off": with_overrides(base, OFF), "on": base, "on + cast 50": with_overrides(base, {"cast": 50}),
                "on, no effect": with_overrides(base, NO_EFFECT)}
    from aftermath.people import ties

    day_end = ties.Ties.end_day
    in_end_day = {"s": 0.0}

    def timed_end_day(self: Any, *a: Any, **k: Any) -> None:  # the day's news, bands and weekly fading
        c = time.process_time()
        day_end(self, *a, **k)
        in_end_day["s"] += time.process_time() - c

    ties.Ties.end_day = timed_end_day  # type: ignore[method-assign]
    end_day_s: dict[str, float] = {}
    engines: list[Any] = []
    make = driver.make_engine

    def keep(*a: Any, **k: Any) -> Any:  # the engine of the last run, to read its arrays
        eng = make(*a, **k)
        engines[:] = [eng]
        return eng

    driver.make_engine = keep  # type: ignore[assignment]
    driver.simulate(base, engine="abm", days=2, seed=args.seed)  # warm-up: load the compiled kernels
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    survivors: dict[str, float] = {}
    story_s = float("nan")
    per_person = float("nan")
    bands: dict[str, int] = {}
    for _ in range(args.rounds):
        for label, sc in variants.items():
            in_end_day["s"] = 0.0
            c0 = time.process_time()
            res = driver.simulate(sc, engine="abm", days=args.days, seed=args.seed)
            c1 = time.process_time()
            end_day_s[label] = in_end_day["s"]
            run_s = res.timings["run_s"]
            best[label] = min(best.get(label, float("inf")), run_s)
            cpu[label] = min(cpu.get(label, float("inf")), c1 - c0)
            survivors[label] = res.summary()["survivors"]
            if label == "on":
                eng = engines[0]
                per_person = (eng.pop.memory.nbytes + eng.ties.nbytes_ties()) / eng.pop.n
                bands = {"bands": eng.ties.n_bands, "band_table_capacity": int(eng.ties.band_count.shape[0]),
                         "people_in_bands": int((eng.pop.household[: eng.pop.n] >= (1 << 30)).sum())}
            if label == "on + cast 50":
                t0 = time.perf_counter()
                text = story_text(res)
                story_s = time.perf_counter() - t0
                assert text
    off, on, cast = best["off"], best["on"], best["on + cast 50"]
    out = {"people": args.people, "days": args.days, "rounds": args.rounds, "run_s": best, "cpu_s": cpu,
           "on_over_off": on / off, "cpu_on_over_off": cpu["on"] / cpu["off"], "cast_over_on": cast / on,
           "memory_and_ties_bytes_per_person": per_person, **bands, "end_day_cpu_s": end_day_s,
           "no_effect_over_off": best["on, no effect"] / off,
           "cpu_no_effect_over_off": cpu["on, no effect"] / cpu["off"],
           "story_s": story_s, "survivors": survivors}
    print(json.dumps(out, indent=2))
    print()
    print("| variant | day loop s (best) | CPU s (best) | survivors |")
    print("|---|---:|---:|---:|")
    for label in variants:
        print(f"| {label} | {best[label]:.2f} | {cpu[label]:.2f} | {survivors[label]:,.0f} |")
    print(f"\non / off: {on / off:.3f} (CPU {cpu['on'] / cpu['off']:.3f}); cast 50 / on: {cast / on:.3f}; "
          f"memory and ties: {per_person:.3f} bytes per person; story of 50 lives: {story_s:.3f} s")


if __name__ == "__main__":
    main()
