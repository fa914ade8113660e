"""Preallocated records of a run: series, flows, society, policies and the chronicle."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from aftermath.model.flows import N_FLOWS, N_ROUTE_FLOWS, Flow
from aftermath.model.policies import Levers, PolicyBook, PolicyEvent
from aftermath.model.society import Society, SocietyEvent
from aftermath.model.world import N_STATES, State, World
from aftermath.record.chronicle import ChronicleWatcher, Event
from aftermath.result import Result
from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]


class ConservationError(AssertionError):
    """People were created or lost other than by births."""


class Recorder:
    """Collects the day-by-day record of one run. Arrays are sized once, at the start."""

    def __init__(self, world: World, book: PolicyBook, days: int, counts0: F64, society: Society,
                 strains0: F64 | None = None) -> None:
        nz, nr = world.n_zones, world.n_routes
        self.world, self.book, self.days = world, book, days
        self.counts = np.zeros((days + 1, nz, N_STATES))
        self.counts[0] = counts0
        self.flows = np.zeros((days, N_FLOWS, nz))
        self.route_flows = np.zeros((days, N_ROUTE_FLOWS, nr))
        self.fear = np.zeros((days + 1, nz))
        self.vigilance = np.zeros((days + 1, nz))
        self.supplies = np.zeros((days + 1, nz))
        self.fear[0], self.vigilance[0], self.supplies[0] = society.fear, society.vigilance, society.supplies
        self.policy_acted = np.zeros((days, len(book.policies), nz), dtype=bool)
        self.sealed = np.zeros((days, nz), dtype=bool)
        self.screening = np.zeros((days, nz), dtype=bool)
        self.truce = np.zeros((days + 1, world.n_factions, world.n_factions), dtype=bool)
        self.truce[0] = society.truce
        self.strains: list[F64] = [np.zeros(world.n_strains) if strains0 is None else np.array(strains0, float)]
        self.chronicle: list[Event] = []
        self.watcher = ChronicleWatcher(world, counts0)

    def record(self, day: int, counts: F64, strain_counts: F64, flows: F64, route_flows: F64,
               society: Society, book: PolicyBook, levers: Levers, policy_events: list[PolicyEvent],
               society_events: list[SocietyEvent]) -> None:
        t = day + 1
        self.counts[t] = counts
        self.flows[day] = flows
        self.route_flows[day] = route_flows
        self.fear[t], self.vigilance[t], self.supplies[t] = society.fear, society.vigilance, society.supplies
        self.truce[t] = society.truce
        self.policy_acted[day] = book.acted
        self.sealed[day] = levers.seal_out
        self.screening[day] = levers.admit_mode == 1
        self.strains.append(np.array(strain_counts, dtype=np.float64))
        names = self.world.zone_ids
        for ev in policy_events:
            self.chronicle.append(Event(ev.day, names[ev.zone] if ev.zone >= 0 else "", f"policy_{ev.kind}", ev.text))
        for sev in society_events:
            zone = names[sev.zone] if sev.zone >= 0 else ""
            self.chronicle.append(Event(sev.day, zone, sev.kind, sev.text))
        self.chronicle.extend(self.watcher.observe(day, counts, flows, route_flows))

    def check_conservation(self, day: int) -> None:
        """Total people at the end of ``day`` = at the start + births so far (all states count)."""
        total = self.counts[day + 1].sum()
        expected = self.counts[0].sum() + self.flows[: day + 1, Flow.BIRTH].sum()
        if abs(total - expected) > 1e-6 * max(1.0, expected):
            raise ConservationError(f"day {day}: {total!r} people, expected {expected!r} (start + births)")

    def check_flows(self, day: int) -> None:
        """Stocks change only by the flows recorded: the world's ferals on ``day`` changed by exactly
        the recorded flows into Z (onsets, relapses, reanimations) minus those out of it (destroyed,
        decayed, swept). Moves cancel over the world. Skipped while a cure acts, whose flow lumps
        E, H and Z together."""
        f = self.flows[day].sum(axis=1)
        if f[Flow.CURE] > 0:
            return
        into = f[Flow.ONSET_FERAL] + f[Flow.RELAPSE] + f[Flow.REANIMATION]
        out = f[Flow.FERAL_DESTROYED] + f[Flow.DECAY] + f[Flow.SWEEP_KILL] - f[Flow.SWEEP_HYBRIDS]
        change = self.counts[day + 1, :, State.Z].sum() - self.counts[day, :, State.Z].sum()
        if abs(change - (into - out)) > 1e-6 * max(1.0, self.counts[day, :, State.Z].sum()):
            raise ConservationError(f"day {day}: ferals changed by {change!r}, the flows say {into - out!r}")

    def result(self, scenario: Scenario, engine: str, seed: int, extras: dict[str, Any],
               timings: dict[str, float]) -> Result:
        width = max(len(s) for s in self.strains)
        strains = np.zeros((self.days + 1, width))
        for t, s in enumerate(self.strains):
            strains[t, : len(s)] = s
        chronicle = sorted(extras.pop("events", []) + self.chronicle, key=lambda e: e.day)
        return Result(
            scenario=scenario, engine=engine, seed=seed, zone_ids=self.world.zone_ids,
            faction_ids=self.world.faction_ids, counts=self.counts, flows=self.flows,
            route_flows=self.route_flows, fear=self.fear, vigilance=self.vigilance, supplies=self.supplies,
            strain_counts=strains, policy_acted=self.policy_acted, policy_labels=tuple(
                self.book.label(i) for i in range(len(self.book.policies))),
            sealed=self.sealed, screening=self.screening, truce=self.truce,
            chronicle=chronicle, extras=extras, timings=timings,
        )
