"""The agent-based engine: :class:`AbmEngine`, a thin class around the kernels.

One day is ``1 / dt`` steps. Each step, in this order:

1. births (new people appended; room for them was set aside at the start);
2. hazard rows from the day's coefficients and the counts at the start of the step
   (:mod:`.tables`, compiled from the model's declarations);
3. every person's transitions (:func:`.step.step_part`), then the mutated infections in person
   order (:func:`.mutation.resolve_pending`) and the chronicle's new lineages, then, with bands
   moving together, the bands' walks in person order (:func:`.step.follow_bands`);
4. in debug mode (``check=True`` or ``AFTERMATH_ABM_CHECK=1``) a full recount must equal the
   counts kept from the transitions, and the people must add up.

Sweeps happen in the morning, before the first step (the driver's order). Sealing a zone marks
its uninfected people for the ledger the morning it begins.
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aftermath.engines.abm.events import EventLists
from aftermath.engines.abm.ledger import ledger_rows, ledger_table
from aftermath.engines.abm.memory_rows import fill_s_memory
from aftermath.engines.abm.merge import merge_part
from aftermath.engines.abm.mutation import T_LAT, T_PH, StrainTable, resolve_pending
from aftermath.engines.abm.parts import Parts, part_array, part_rows
from aftermath.engines.abm.rng import Stream, generator, keys, stream_key
from aftermath.engines.abm.state import (
    Ever,
    Population,
    birth_capacity,
    initial_people,
    populate,
)
from aftermath.engines.abm.step import (
    CHUNK,
    MEM_MAX,
    Day,
    Mem,
    Out,
    People,
    Rows,
    count_part,
    gather_and_follow,
    mark_sealed,
    schedule_latency,
    step_part,
    sweep_part,
)
from aftermath.engines.abm.tables import (
    MAX_BRANCHES,
    ROW_STATES,
    E,
    FieldsRead,
    H,
    coefficient_plan,
    compile_tables,
    day_coefficients,
    denominators,
    fill_rows_part,
    infection_outcome_tags,
    out_route_table,
    rates_key,
    strain_day_rates,
)
from aftermath.engines.base import Later
from aftermath.engines.budget import check_budget
from aftermath.model.flows import N_FLOWS, N_ROUTE_FLOWS, Flow
from aftermath.model.policies import ADMIT_SCREEN, Levers
from aftermath.model.rates import DailyRates, field_key, strain_rates
from aftermath.model.world import World
from aftermath.record.chronicle import Event, place

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: the levers' arrays (the key of the day's strain rates: :meth:`AbmEngine._strain_rates`)
_LEVER_ARRAYS = tuple(f.name for f in fields(Levers) if f.name != "truce_changes")


class AbmCheckError(AssertionError):
    """The counts kept from transitions disagree with a recount (debug mode)."""


class AbmEngine:
    """Stochastic, individual-based solver of the full model (MODEL.md 10, ``abm``)."""

    name = "abm"

    def __init__(self, world: World, seed: int, days: int | None = None, check: bool = False) -> None:
        """``check``: recount after every step (debug mode); ``AFTERMATH_ABM_CHECK=1`` turns it on too."""
        sc = world.scenario
        self.world, self.seed = world, int(seed)
        self.dt = float(sc.run.dt)
        self.steps = round(1.0 / self.dt)
        self.check = bool(check) or os.environ.get("AFTERMATH_ABM_CHECK", "") not in ("", "0")
        horizon = sc.run.days if days is None else days
        check_budget(sc, "abm", horizon)  # memory and work, before allocating anything
        capacity = int(initial_people(world).sum()) + birth_capacity(world, horizon)

        self.pop: Population = populate(world, self.seed, capacity)
        self.table = StrainTable(world)
        self.workers = Parts()
        self.parts = self.workers.n
        nz = world.n_zones
        self.out_routes = out_route_table(world.route_from, nz)
        if self.out_routes.shape[1] * CHUNK >= 1 << 31:  # (a band walk is noted in four bytes: step._note_walk)
            raise ValueError(f"a zone has {self.out_routes.shape[1]} routes out; the ABM takes at most "
                             f"{((1 << 31) - 1) // CHUNK} from one zone")
        self.tables = compile_tables(self.out_routes.shape[1])
        self.plan = coefficient_plan(self.tables)
        self.outcome_tags = infection_outcome_tags(self.tables)  # what a mutated infection counts late
        self.strain_free: frozenset[tuple[int, int]] | None = None  # learnt by day_coefficients
        self._day_blocks: tuple[I64, I64, I64] | None = None  # the day's flows, route flows, count deltas
        self._sprob: tuple[F64, F64] | None = None  # memory's table of S's step probability (advance_day)
        #: (strains, the rates' fields read, their values) of the day's coefficients
        self._coef_of: tuple[int, tuple[str, ...], tuple[object, ...]] | None = None
        self._coef_rates: object = None  # ... and the rates object they were last found to hold for
        #: what the day's gates and memory take from the levers, and the levers object they were taken from
        self._levers_of: tuple[object, Any] | None = None
        #: the strains' rates of the day (strain_rates over the whole table) and what they were computed from
        self._strain_rates_of: tuple[tuple[object, ...], tuple[F64, F64, F64, F64]] | None = None
        self.n_slots = int(self.tables.n_slots.max())
        self._alloc_strain_arrays(self.table.traits.shape[0])
        self.pend_chunk = np.zeros(self._n_chunks(), dtype=np.int64)
        self.house_key = np.uint64(stream_key(self.seed, int(Stream.HOUSEHOLD), 0))
        self.prev_sealed = np.zeros(nz, dtype=bool)
        self.events: list[Event] = []
        self.full_noted = False
        from aftermath.people.cast import CastWatch  # lazily: aftermath.people imports this package
        from aftermath.people.ties import Ties

        self.ties = Ties(world, self.pop, CHUNK)  # memory of loss and bands (off: nothing runs)
        #: the event-driven step's lists (run.abm_mode = "events", :mod:`.events`); None: the scan step
        self.ev: EventLists | None = None
        #: Out's walk notes for follow_bands, which notes none (its day has the bands' noting off)
        self._no_walks = (np.zeros(1, dtype=np.int32), np.zeros(2, dtype=np.int64), np.zeros((1, 1), dtype=np.int64))
        self._follow_log = np.empty((0, 5), dtype=np.int64)  # follow_bands' log, kept from step to step
        self._swept = False  # a sweep this morning (before advance_day)
        self.cast = CastWatch.build(self)  # the people followed, observation only (None: no cast)
        #: steps of a day after which to sample the counts into ``samples`` (run.record_every)
        self.sample_steps: frozenset[int] = frozenset()
        self.samples: list[F64] = []
        pop = self.pop
        latent = np.flatnonzero(pop.state[: pop.n] == E)
        schedule_latency(latent, 0, self.dt, self._keys(0), pop.strain, self._trait(T_LAT), self._shape, pop.next_t)
        self.counts_i, self.czs = self._recount()
        if sc.run.abm_mode == "events":
            self.ev = EventLists(pop.n, pop.state, pop.zone, pop.next_t, nz)

    # -- arrays --------------------------------------------------------------------------------
    @property
    def _shape(self) -> int:
        return int(self.world.scenario.pathogen.latency_shape)

    def _n_chunks(self) -> int:
        return (self.pop.capacity + CHUNK - 1) // CHUNK

    def _alloc_strain_arrays(self, scap: int) -> None:
        nz, P, old = self.world.n_zones, self.parts, getattr(self, "czs", None)
        self._coef_of = self._coef_rates = None
        self.scap = scap
        self.czs = np.zeros((nz, scap, 4), dtype=np.int64)  # E, H, Z, D per strain
        if old is not None:
            self.czs[:, : old.shape[1]] = old
        self.dzs = np.zeros((P, nz, scap, 4), dtype=np.int64)
        nj = self.n_slots
        coef = np.zeros((ROW_STATES, nj, MAX_BRANCHES, nz, scap))
        if old is not None:  # the day's coefficients of the strains there were
            prev: Rows = self.rows
            coef[..., : old.shape[1]] = prev.coef
        self.rows: Rows = Rows(coef=coef,
                         rate=np.zeros((nz, ROW_STATES, scap, nj)), tot=np.zeros((nz, ROW_STATES, scap)),
                         prob=np.zeros((nz, ROW_STATES, scap)), pcum=np.zeros((nz, nj, scap)))

    def _small(self, ns: int) -> bool:
        """Whether the zone kernels over ``ns`` strains (rows, merges) run on this thread: too little
        work to hand out (:attr:`.parts.Parts.PARALLEL_ROWS`)."""
        return self.world.n_zones * ns < self.workers.PARALLEL_ROWS

    def _trait(self, j: int) -> F64:
        return np.ascontiguousarray(self.table.traits[:, j])

    def _keys(self, t: int) -> NDArray[np.uint64]:
        k = keys(self.seed, t)
        k[int(Stream.HOUSEHOLD)] = self.house_key
        return k

    def _recount(self) -> tuple[I64, I64]:
        pop = self.pop
        nz = self.world.n_zones
        cs = np.zeros((self.parts, nz, 7), dtype=np.int64)
        czs = np.zeros((self.parts, nz, self.scap, 4), dtype=np.int64)
        self.workers.run(count_part, pop.n, CHUNK, pop.state, pop.zone, pop.strain, cs, czs,
                         here=self.workers.few(pop.n))
        return cs.sum(axis=0), czs.sum(axis=0)

    # -- the engine protocol -------------------------------------------------------------------
    def counts(self) -> F64:
        out: F64 = self.counts_i[:, :6].astype(np.float64)
        return out

    def strain_counts(self) -> F64:
        out: F64 = self.czs[:, : self.table.n, :3].sum(axis=(0, 2)).astype(np.float64)
        return out

    def sweep(self, day: int, levers: Levers, q: float) -> F64:
        pop = self.pop
        self._swept = True  # (the cast looks at the morning: advance_day)
        fl = np.zeros((self.parts, N_FLOWS, self.world.n_zones), dtype=np.int64)
        t = day * self.steps
        remember = self.ties.on and bool(levers.sweep_hybrids.any())  # swept hybrids are news for their kin
        key_kill = np.uint64(stream_key(self.seed, int(Stream.SWEEP), t))
        key_q = np.uint64(stream_key(self.seed, int(Stream.SWEEP_Q), t))
        kill, hyb = levers.sweep_kill.astype(np.float64), levers.sweep_hybrids.astype(np.bool_)
        swept: I64 | None
        if self.ev is not None:  # the same draws over the ferals' and hybrids' lists, counted as deltas
            dc = part_array(self.parts, (self.world.n_zones, 7))
            swept = self.ev.sweep(pop, kill, hyb, float(q), key_kill, key_q, fl, dc, self.dzs)
            self.workers.run(merge_part, self.table.n, dc, self.dzs, self.counts_i, self.czs,
                             here=self._small(self.table.n))
        else:
            hybrids = np.flatnonzero(pop.state[: pop.n] == H) if remember else None
            self.workers.run(sweep_part, pop.n, CHUNK, pop.state, pop.zone, pop.strain, pop.flags, pop.flag_zone,
                             kill, hyb, float(q), key_kill, key_q, fl, here=self.workers.few(pop.n))
            self.counts_i, self.czs = self._recount()
            swept = hybrids[pop.state[hybrids] != H] if hybrids is not None else None
        if remember and swept is not None:
            self.ties.swept(pop, swept)
        out: F64 = fl.sum(axis=0).astype(np.float64)
        return out

    def advance_day(self, day: int, rates: DailyRates, levers: Levers) -> tuple[F64, F64]:
        w, pop = self.world, self.pop
        nz, nr = w.n_zones, w.n_routes
        self.samples = []
        newly = levers.seal_out & ~self.prev_sealed
        if newly.any():
            mark_sealed(pop.n, pop.state, pop.zone, pop.flags, pop.flag_zone, pop.seal_zone, newly)
            self.ties.sealed(pop, newly)
        if self.cast is not None and (self._swept or newly.any()):  # the morning's seals and sweeps, as the
            self.cast.morning(day)  # people followed saw them
        self._swept = False
        self.prev_sealed = levers.seal_out.copy()
        latency, p_h = self._day_coefficients(rates, levers)
        if self._day_blocks is None:  # per-part blocks on their own cache lines, kept from day to day
            self._day_blocks = (part_array(self.parts, (N_FLOWS, nz)), part_array(self.parts, (N_ROUTE_FLOWS, nr)),
                                part_array(self.parts, (nz, 7)))
        fl, rf, dc = self._day_blocks
        fl[:] = 0
        rf[:] = 0  # (dc: zero after every step's merge)
        serial = np.zeros((N_FLOWS, nz), dtype=np.int64)
        screen, quarantine, mem = self._of_levers(levers)
        mem = mem._replace(bands=self.ties.in_band)  # (the bits as they are now: grown with the people)
        conceal = rates.conceal if rates.conceal.size == nz else np.zeros(nz)
        births = self._births_of_day(day)
        pth = w.scenario.pathogen
        mass_action = bool(rates.mass_action)
        living_only = w.scenario.run.denominator == "living"
        people = People(pop.state, pop.zone, pop.strain, pop.next_t, pop.res_table, pop.household, pop.flags,
                        pop.flag_zone, pop.seal_zone, pop.ever, pop.memory, pop.res_key)
        shape = (nz, MEM_MAX + 1) if mem.on else (1, 1)  # S's probability by memory level, and the rows each
        if self._sprob is None or self._sprob[0].shape != shape:  # zone's was made from (the run's flight and dt)
            self._sprob = (np.zeros(shape), np.full((nz, 2), np.nan))
        sprob, sprob_of = self._sprob
        band = bool(mem.band)  # bands move together: the step notes their walks, follow_bands the rest
        gate = mem._replace(band=False)  # follow_bands: the walks themselves
        if band:  # (the event step's parts may visit the same chunk: a row of room for each)
            moves, move_lo, move_n = self.ties.walk_layout(self.parts if self.ev is not None else 1)
        else:
            moves, move_lo, move_n = self._no_walks
        self.ties.followed = self.ties.followed[:0]
        marks, mark_n, watch_log = self.ties.mark_layout(self.parts)
        for k in range(self.steps):
            t = day * self.steps + k
            if births is not None and births[k].any():
                self._add_births(day, k, births[k], serial)
                people = People(pop.state, pop.zone, pop.strain, pop.next_t, pop.res_table, pop.household,
                                pop.flags, pop.flag_zone, pop.seal_zone, pop.ever, pop.memory, pop.res_key)
                self.ties.ensure(pop)
                mem = mem._replace(bands=self.ties.in_band)  # (grown with the people)
                gate = mem._replace(band=False)
            ns = self.table.n
            den = denominators(self.counts_i, mass_action, living_only)
            rows = self.rows
            small = self._small(ns)
            self.workers.run(fill_rows_part, self.tables, rows.coef, self.counts_i, self.czs, ns, den, rates.eta,
                             rates.hybrid_weight, self.dt, rows.rate, rows.tot, rows.prob, rows.pcum, here=small)
            if mem.on and mem.flight != 0.0:
                fill_s_memory(0, 1, rows.tot, rows.rate, self.tables.where, float(mem.flight), self.dt,
                              sprob, sprob_of)  # small: no parts
            kk = self._keys(t)
            today = Day(kk, np.int64(t), self.dt, np.int64(ns), self.out_routes, w.route_to, rates.breach_route,
                        screen, quarantine, conceal, rates.hybrid_target, latency, p_h, float(pth.k_res),
                        np.int64(self._shape), float(pth.mutation.mu), pth.mutation.mu > 0 and not self.table.full,
                        mem, sprob, self.ties.watch_table)
            out = Out(dc, self.dzs, fl, rf, self.pend_chunk, self.ties.news_chunk, moves, move_lo, move_n, marks,
                      mark_n, watch_log)
            if self.ev is not None:
                self.ev.step(self.workers, people, self.tables, rows, today, out, CHUNK,
                             np.uint64(stream_key(self.seed, int(Stream.COUNT), t)), self.czs)
            else:
                self.workers.run(step_part, pop.n, CHUNK, people, self.tables, rows, today, out,
                                 here=self.workers.few(pop.n))
            self.workers.run(merge_part, ns, dc, self.dzs, self.counts_i, self.czs, here=small)  # and zeroes the deltas
            pending = int(self.pend_chunk.sum())
            if pending:
                old, scap = self.table.n, self.scap
                if self._resolve(day, t, kk, pending, serial):  # the new strains' columns (all, if reallocated)
                    latency, p_h = self._day_coefficients(rates, levers, old if self.scap == scap else 0)
            if band and move_n.any():
                self._follow(today._replace(mem=gate), people, rows, fl, rf, moves, move_lo, move_n)
            elif band:
                self.ties.followed = self.ties.followed[:0]
            if self.ev is not None:
                if band and self.ties.followed.shape[0]:
                    self.ev.band_moved(self.ties.followed, self.world.route_from, pop.state, pop.zone, pop.next_t)
                self.ev.settle(pop.state, pop.zone, pop.next_t)
            if self.check:
                self._verify(day, k)
            if k + 1 in self.sample_steps:  # run.record_every (aftermath.record.fine): the state after this step
                self.samples.append(self.counts())
        flows: F64 = (part_rows(fl, N_FLOWS).sum(axis=0) + serial).astype(np.float64)
        route: F64 = part_rows(rf, N_ROUTE_FLOWS).sum(axis=0).astype(np.float64)
        self.ties.end_day(pop, flows[Flow.BREACH], day, self.counts_i, self.workers,
                          turned_away=float(flows[Flow.EXCLUDED].sum()))
        if self.cast is not None:
            self.cast.end_day(day)
        return flows, route

    def _of_levers(self, levers: Levers) -> tuple[NDArray[np.bool_], I64, Mem]:
        """What the day's steps take from the levers: the routes whose gates screen, their
        quarantine in steps, and memory's bundle (the same for every step of the day); kept while
        the levers are the same object (the policy book's idle levers, day after day)."""
        if self._levers_of is None or self._levers_of[0] is not levers:
            to = self.world.route_to
            screen = levers.admit_mode[to] == ADMIT_SCREEN
            quarantine = np.where(screen, np.floor(levers.quarantine_days[to] / self.dt), -1).astype(np.int64)
            self._levers_of = (levers, (screen, quarantine, self.ties.mem(levers.harshness)))
        out: tuple[NDArray[np.bool_], I64, Mem] = self._levers_of[1]
        return out

    def extras(self) -> dict[str, Any]:
        """The strain table and the ledger (frames the driver makes once the engine is let go:
        :class:`~aftermath.engines.base.Later`), the lineage events, the ledger's totals and the
        cast's record."""
        rows, totals = ledger_rows(self.world, self.pop)
        out = {"strains": Later(self.table.frame), "events": list(self.events),
               "ledger": Later(lambda: ledger_table(rows)), "ledger_totals": totals}
        if self.cast is not None:
            out["cast"] = self.cast.record()
        return out

    # -- pieces of a day -----------------------------------------------------------------------
    def _day_coefficients(self, rates: DailyRates, levers: Levers, first: int = 0) -> tuple[F64, F64]:
        """Fill the day's slot coefficients over every strain of the table (the day's own arrays
        while it holds only the fixed strains, else :func:`~aftermath.model.rates.strain_rates`
        over it, so mutants get their rates from the same formulas), from strain ``first`` on;
        returns the table's latency and hybrid traits, which the hooks read."""
        ns = self.table.n
        latency, p_h = self._trait(T_LAT)[:ns], self._trait(T_PH)[:ns]
        offset = 0
        if ns != self.world.n_strains:
            # for strains born in the day (first > 0), their rates only (each strain's column is
            # its own), and one before them, so that a per-strain rate keeps two columns
            offset = max(first - 1, 0)
            infect, relapse, admit_i, feral_move = self._strain_rates(levers, offset, ns)
            rates = strain_day_rates(rates, infect, relapse, admit_i, feral_move, latency[offset:], p_h[offset:])
        if first > 0:  # the new strains' columns
            self.strain_free = day_coefficients(self.plan, rates, self.out_routes, ns, self.rows.coef, first,
                                                self.strain_free, offset)
            return self._trait(T_LAT), self._trait(T_PH)
        # the day's: as yesterday's when the strains are, and the rates that yesterday's evaluation
        # read (as bytes; :class:`.tables.FieldsRead`)
        # (the same rates object as then: the driver's RatesOfDay gives yesterday's again while its
        # inputs are yesterday's, and nothing writes into rates)
        if self._coef_of is not None:
            if rates is self._coef_rates and self._coef_of[0] == ns:
                return self._trait(T_LAT), self._trait(T_PH)
            read = self._coef_of[1]
            if self._coef_of == (ns, read, rates_key(rates, read)):
                self._coef_rates = rates
                return self._trait(T_LAT), self._trait(T_PH)
        seen = FieldsRead(rates)
        self.strain_free = day_coefficients(self.plan, seen, self.out_routes, ns,  # type: ignore[arg-type]
                                            self.rows.coef, 0, self.strain_free, offset)
        self._coef_of = (ns, seen.names, rates_key(rates, seen.names))
        self._coef_rates = rates
        return self._trait(T_LAT), self._trait(T_PH)

    def _strain_rates(self, levers: Levers, lo: int, hi: int) -> tuple[F64, F64, F64, F64]:
        """:func:`~aftermath.model.rates.strain_rates` over strains ``lo`` to ``hi - 1`` of the table;
        the whole table's (``lo == 0``) kept from the last call while the levers and the traits are
        the same, bit for bit (they are all it reads, with the world: most days' levers are
        yesterday's)."""
        traits = self.table.traits[lo:hi]
        if lo > 0:
            return strain_rates(self.world, levers, traits)
        key = (traits.shape, traits.tobytes(), *(field_key(getattr(levers, f)) for f in _LEVER_ARRAYS))
        if self._strain_rates_of is None or self._strain_rates_of[0] != key:
            self._strain_rates_of = (key, strain_rates(self.world, levers, traits))
        return self._strain_rates_of[1]

    def _follow(self, gate: Day, people: People, rows: Rows, fl: I64, rf: I64, moves: NDArray[np.int32], move_lo: I64,
                move_n: I64) -> None:
        """Bands move together (:func:`.step.follow_bands`, on ``gate``: the step's day with the
        bands' noting off, so that their walks are walked): the followers' moves go straight into
        the counts (one part of deltas that are the counts themselves: a serial pass, and integer
        sums in any order are the same)."""
        ties = self.ties
        serial = Out(self.counts_i[None], self.czs[None], fl, rf, self.pend_chunk, ties.news_chunk, *self._no_walks,
                     ties.marks, ties.mark_n, ties.watch_log)  # (marks and the cast's log: as part 0, after the parts)
        seed = np.uint64(self.seed)  # (the bands' stream keyed in the call: a call of its own cost 5 us a step)
        while True:
            n_log = gather_and_follow(moves, move_lo, move_n, seed, people, self.tables, rows, gate, serial, CHUNK,
                                      ties.band_count, ties.band_slots, self.world.route_from, self._follow_log)
            if n_log >= -1:
                break
            rows_needed = (-2 - n_log) * ties.band_slots.shape[1]  # (written before read: empty will do)
            self._follow_log = np.empty((rows_needed + rows_needed // 2, 5), dtype=np.int64)
        if n_log < 0:
            raise AbmCheckError("more band walks noted in a step than a chunk has band members")
        ties.followed = self._follow_log[:n_log]  # (read before the next step writes the log again)

    def _resolve(self, day: int, t: int, kk: NDArray[np.uint64], pending: int, serial: I64) -> bool:
        """Finish this step's mutated infections; chronicle new lineages. True if strains were added:
        their columns of the day's coefficients must then be filled."""
        tab, pop = self.table, self.pop
        tab.reserve(pending)
        if tab.traits.shape[0] > self.scap:
            self._alloc_strain_arrays(tab.traits.shape[0])
        old = tab.n
        mut = self.world.scenario.pathogen.mutation
        tab.n = int(resolve_pending(pop.n, CHUNK, self.pend_chunk, pop.state, pop.zone, pop.strain, pop.next_t,
                                    pop.res_table, pop.res_key, t, day, self.dt, kk, tab.traits, tab.parent,
                                    tab.day, tab.zone, old, tab.capacity, float(mut.sd), tab.lo, tab.hi,
                                    float(self.world.scenario.pathogen.k_res), self._shape, self.counts_i,
                                    self.czs, serial, self.outcome_tags))
        if tab.n > old:
            new = np.arange(old, tab.n)
            fit = tab.fitness(new)
            par = tab.parent[new]
            pfit = tab.fitness(par)
            for s, f, p, pf in zip(new, fit, par, pfit, strict=True):
                if f > mut.lineage_ratio * pf:
                    zid = self.world.zone_ids[int(tab.zone[s])]
                    where = place(self.world, int(tab.zone[s]))
                    if int(p) >= self.world.n_strains:
                        parent = f"the strain it came from ({tab.name(int(p))})"
                    else:  # a founder: named when the scenario declares several
                        parent = "the founding strain" + (f" {tab.name(int(p))}" if self.world.n_strains > 1 else "")
                    self.events.append(Event(day, zid, "new_lineage",
                                             f"a fitter strain appeared in {where}, {f / pf:.2f} times as fit as "
                                             f"{parent} (strain {tab.name(int(s))})", float(f / pf)))
        if tab.full and not self.full_noted:
            self.full_noted = True
            self.events.append(Event(day, "", "strain_table_full",
                                     f"the strain table is full ({tab.capacity} strains): mutation stops"))
        return tab.n > old

    def _births_of_day(self, day: int) -> I64 | None:
        births = self.world.births
        if not births.any():
            return None
        rng = generator(self.seed, Stream.BIRTH, day)
        out: I64 = rng.poisson(births * self.dt, size=(self.steps, self.world.n_zones)).astype(np.int64)
        return out

    def _add_births(self, day: int, k: int, born: I64, serial: I64) -> None:
        pop = self.pop
        total = int(born.sum())
        pop.grow(total)
        if self._n_chunks() != self.pend_chunk.shape[0]:
            self.pend_chunk = np.zeros(self._n_chunks(), dtype=np.int64)
        sl = slice(pop.n, pop.n + total)
        pop.state[sl] = 0
        pop.zone[sl] = np.repeat(np.arange(self.world.n_zones, dtype=np.uint16), born)
        pop.strain[sl] = 0
        pop.household[sl] = pop.next_household + np.arange(total, dtype=np.int32)
        pop.ever[sl] = int(Ever.BORN)
        pop.next_household += total
        pop.n += total
        self.counts_i[:, 0] += born
        serial[Flow.BIRTH] += born
        if self.ev is not None:
            self.ev.add(np.arange(sl.start, sl.stop, dtype=np.int32), pop.state, pop.zone, pop.next_t)

    def _verify(self, day: int, k: int) -> None:
        cs, czs = self._recount()
        if not np.array_equal(cs, self.counts_i) or not np.array_equal(czs[:, : self.table.n],
                                                                         self.czs[:, : self.table.n]):
            raise AbmCheckError(f"day {day} step {k}: kept counts differ from a recount")
        if int(cs.sum()) != self.pop.n:
            raise AbmCheckError(f"day {day} step {k}: {int(cs.sum())} people counted, {self.pop.n} exist")
        if self.ties.on and not np.array_equal(self.ties.band_bits(self.pop), self.ties.in_band):
            raise AbmCheckError(f"day {day} step {k}: the band bits differ from the household ids")
        if self.ev is not None:
            pop = self.pop
            code = self.ev.check(pop.n, pop.state, pop.zone, pop.next_t)
            if code:
                raise AbmCheckError(f"day {day} step {k}: the event-driven lists disagree with the people ({code})")
