"""The one loop that owns the order of phases (docs/architecture.md, habit 1).

Each day, in this order, for every engine:

1. **Decide**: society's indicators for each zone are read and every policy's conditions are
   evaluated once (docs/model.md#policies); truce decisions take effect.
2. **Sweep**: impulsive sweeps scheduled for this morning destroy their share of ferals.
3. **Rates**: the day's effective rates are computed from parameters, levers and society.
4. **Advance**: the engine simulates the day (encounters, progression, demography, movement,
   deaths), synchronously within each of its steps.
5. **Society**: fear, vigilance, supplies, trust and truces update from the day's flows.
6. **Record**: counts, flows, society and the chronicle are written for the end of the day.

The order never depends on the order of anything in a scenario file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from aftermath.engines.base import made, make_engine
from aftermath.engines.budget import check_budget
from aftermath.model.flows import N_FLOWS
from aftermath.model.policies import PolicyBook
from aftermath.model.rates import RatesOfDay
from aftermath.model.society import Society
from aftermath.model.world import build_world
from aftermath.record.fine import FineRecord
from aftermath.record.recorder import Recorder
from aftermath.result import Result
from aftermath.scenario.load import apply_run_options
from aftermath.scenario.schema import Scenario


def simulate(scenario: Scenario, engine: str | None = None, seed: int | None = None,
             days: int | None = None, check: bool = False,
             on_day: Callable[[int, int], None] | None = None,
             on_start: Callable[[Any], None] | None = None) -> Result:
    """Run ``scenario`` once and return its :class:`~aftermath.result.Result`.

    Args:
        scenario: a validated scenario.
        engine: ``"ode"``, ``"ssa"`` or ``"abm"``; defaults to the scenario's ``run.engine``.
        seed: master seed; defaults to ``run.seed``. The ODE ignores it.
        days: horizon; defaults to ``run.days``.
        check: assert conservation every day (people change only by births and deaths
            recorded as flows); it is always asserted once at the end.
        on_day: called as ``on_day(days_done, days)`` at the end of each simulated day (progress
            for the dashboard); an exception it raises stops the run (a cancel) and propagates.
        on_start: called with the engine once it is built (the population made, a cast chosen),
            before the first day: a caller's last check of what only the engine knows (the story
            command's, that the character asked for is in the cast); an exception it raises
            propagates before any day is run.

    ``engine``, ``seed`` and ``days`` obey the bounds of the file's ``run`` keys
    (:func:`~aftermath.scenario.load.apply_run_options`), and the run's memory and work are
    estimated and checked before anything is allocated (:func:`~aftermath.engines.budget.check_budget`);
    both raise :class:`~aftermath.scenario.load.ScenarioError`.
    """
    t0 = time.perf_counter()
    run = apply_run_options(scenario, days=days, seed=seed, engine=engine, source="<run options>").run
    engine_name, seed, days = run.engine, run.seed, run.days
    check_budget(scenario, engine_name, days)
    FineRecord.check(scenario, engine_name)  # run.record_every, before anything is allocated
    world = build_world(scenario)
    eng = make_engine(engine_name, world, seed, check=check)
    if on_start is not None:
        on_start(eng)
    society = Society(world)
    book = PolicyBook(world)
    rec = Recorder(world, book, days, eng.counts(), society, eng.strain_counts())
    fine = FineRecord(eng, scenario, engine_name, eng.counts()) if FineRecord.wanted(scenario) else None
    t_init = time.perf_counter()
    q = scenario.defence.q
    counts = eng.counts()  # then each day's closing counts, which are the next morning's
    rates_of_day = RatesOfDay(world)
    for day in range(days):
        env = society.indicators(day, counts) if book.policies else []  # nothing reads them without policies
        levers, policy_events = book.decide(day, env)
        society_events = society.apply_truce_changes(day, levers)
        flows = eng.sweep(day, levers, q) if levers.sweep_kill.any() else np.zeros((N_FLOWS, world.n_zones))
        rates = rates_of_day(society, levers)
        day_flows, route_flows = eng.advance_day(day, rates, levers)
        flows = flows + day_flows
        counts = eng.counts()
        if fine is not None:  # samples within the day (run.record_every)
            fine.day_done(day, counts)
        society_events += society.update(day, counts, flows, route_flows, levers)
        rec.record(day, counts, eng.strain_counts(), flows, route_flows, society, book, levers,
                   policy_events, society_events)
        if check:
            rec.check_conservation(day)
            rec.check_flows(day)
        if on_day is not None:
            on_day(day + 1, days)
    rec.check_conservation(days - 1)
    timings = {"init_s": t_init - t0, "run_s": time.perf_counter() - t_init}
    extras = eng.extras()
    if fine is not None:
        extras.update(fine.extras())
    del eng, fine  # the engine's arrays freed (unless a caller holds it) before its frames are made: pandas
    # loaded at the end of a run whose arrays were still held added its 65 MiB to korea's peak
    return rec.result(scenario, engine_name, seed, made(extras), timings)
