"""Policies as daily decisions: conditions in, levers out (docs/model.md#policies).

Each morning :meth:`PolicyBook.decide` evaluates every policy's conditions in every zone it
applies to, switches it on or off, and returns :class:`Levers`: per-zone switches and multipliers
that the rates and the engines read. Policies never touch the scenario's parameters.

A policy applies to the zones of its ``faction`` plus its listed ``zones``. It switches on in a
zone the first morning ``when`` holds there, and off the first morning ``until`` holds; it can
switch on again only when ``repeat`` is set.

A truce policy is not switched on and off: it is a faction's one-shot decision, taken on the first
morning its condition holds in any of the faction's zones while the decision would change the truce
(a break needs a truce to break, a make needs none); with ``repeat``, it is taken again whenever
both hold again. The decision is one event (``truce_made`` or ``truce_broken``, from the society).

What a policy *did* is :attr:`PolicyBook.acted`, per day and zone, which the record reports (days
acted, first day acted): a policy acts in a zone on a day when its lever is the one in force there
(a seal, the winning admission or hybrid policy, a cure, disposal or rotation switched on), or
when it changed something (a sweep carried out, a seal lifted by reopening, a truce decided).
Being switched on is not acting: a reopen policy that never reopens anything never acted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from aftermath.model.world import World
from aftermath.record.chronicle import faction_name, place
from aftermath.scenario.conditions import Condition
from aftermath.scenario.schema import (
    AdmissionPolicy,
    CurePolicy,
    DisposalPolicy,
    HybridPolicy,
    Policy,
    ReopenPolicy,
    RotationPolicy,
    SealPolicy,
    SweepPolicy,
    TrucePolicy,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

ADMIT_OPEN, ADMIT_SCREEN, ADMIT_CLOSED = 0, 1, 2
HYB_IGNORE, HYB_PROTECT, HYB_ISOLATE, HYB_CULL = 0, 1, 2, 3
_ADMIT = {"open": ADMIT_OPEN, "screen": ADMIT_SCREEN, "closed": ADMIT_CLOSED}
_HYB = {"ignore": HYB_IGNORE, "protect": HYB_PROTECT, "isolate": HYB_ISOLATE, "cull": HYB_CULL}


@dataclass
class Levers:
    """What the day's active policies do, per zone. Defaults mean "no policy"."""

    seal_out: B
    seal_in: B
    admit_mode: I64
    sensitivity: F64
    specificity: F64
    quarantine_days: F64
    hybrid_action: I64
    hybrid_rate: F64
    hybrid_target: I64  # zone hybrids are moved to (protect with sanctuary, isolate); -1 = none
    relapse_mult: F64  # care in sanctuaries lowers relapse
    sweep_kill: F64  # share of ferals destroyed by a sweep this morning
    sweep_hybrids: B
    cure: F64
    disposal_extra: F64
    rotation_restore: F64
    rotation_cost: F64
    # truce decisions of the morning: (faction, other, make, policy index)
    truce_changes: list[tuple[int, int, bool, int]] = field(default_factory=list)

    @classmethod
    def none(cls, n_zones: int) -> Levers:
        z = n_zones
        return cls(
            seal_out=np.zeros(z, bool),
            seal_in=np.zeros(z, bool),
            admit_mode=np.zeros(z, np.int64),
            sensitivity=np.zeros(z),
            specificity=np.ones(z),
            quarantine_days=np.zeros(z),
            hybrid_action=np.zeros(z, np.int64),
            hybrid_rate=np.zeros(z),
            hybrid_target=np.full(z, -1, np.int64),
            relapse_mult=np.ones(z),
            sweep_kill=np.zeros(z),
            sweep_hybrids=np.zeros(z, bool),
            cure=np.zeros(z),
            disposal_extra=np.zeros(z),
            rotation_restore=np.zeros(z),
            rotation_cost=np.zeros(z),
        )

    def copy(self) -> Levers:
        """A copy with copies of every array (what :meth:`none` builds, from a template, is cheaper
        to copy than to allocate field by field)."""
        return Levers(
            seal_out=self.seal_out.copy(), seal_in=self.seal_in.copy(), admit_mode=self.admit_mode.copy(),
            sensitivity=self.sensitivity.copy(), specificity=self.specificity.copy(),
            quarantine_days=self.quarantine_days.copy(), hybrid_action=self.hybrid_action.copy(),
            hybrid_rate=self.hybrid_rate.copy(), hybrid_target=self.hybrid_target.copy(),
            relapse_mult=self.relapse_mult.copy(), sweep_kill=self.sweep_kill.copy(),
            sweep_hybrids=self.sweep_hybrids.copy(), cure=self.cure.copy(), disposal_extra=self.disposal_extra.copy(),
            rotation_restore=self.rotation_restore.copy(), rotation_cost=self.rotation_cost.copy(),
            truce_changes=list(self.truce_changes),
        )

    @property
    def harshness(self) -> F64:
        """How harsh hybrid policy is per zone, for concealment: cull 1, isolate 0.5, else 0."""
        out: F64 = np.where(
            self.hybrid_action == HYB_CULL, 1.0, np.where(self.hybrid_action == HYB_ISOLATE, 0.5, 0.0)
        )
        return out


def truce_key(other: str) -> str:
    """The key of a zone's indicators that says whether its faction keeps a truce with ``other``
    (1 or 0). Not a name of the condition language (it has a colon): the policy book reads it to
    take a truce decision only when it would change something."""
    return f"truce:{other}"


@dataclass(frozen=True)
class PolicyEvent:
    """A policy switching on or off in a zone, or acting (a sweep), for the chronicle."""

    day: int
    zone: int  # -1 for a faction's decision that concerns no one zone
    policy: int
    kind: str  # "on", "off", "sweep", "reopen"
    text: str


class PolicyBook:
    """The scenario's policies with their daily on/off state per zone."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.policies: list[Policy] = list(world.scenario.policies)
        self.targets: list[I64] = [self._targets(p) for p in self.policies]
        self.when = [Condition.parse(p.when) for p in self.policies]
        self.until = [Condition.parse(p.until) if p.until else None for p in self.policies]
        nz = world.n_zones
        self.active = np.zeros((len(self.policies), nz), dtype=bool)  # switched on by its conditions
        self.acted = np.zeros((len(self.policies), nz), dtype=bool)  # acted today (module docstring)
        self.spent = np.zeros((len(self.policies), nz), dtype=bool)
        self.on_day = np.zeros((len(self.policies), nz), dtype=np.int64)
        self._truce_decisions: list[tuple[int, int, bool, int]] = []
        # per-run constants of the daily decisions: each policy's kind, its zones as ints, its index
        pol = self.policies
        self._truce_i = [isinstance(p, TrucePolicy) for p in pol]
        self._quiet = [isinstance(p, ReopenPolicy) for p in pol]
        self._zones = [[int(z) for z in t] for t in self.targets]
        self._closing_j = [j for j in range(len(pol)) if self._closing(j)]
        self._faction_zones: dict[str, list[int]] = {}
        self._no_levers = Levers.none(nz)
        #: the levers of a day on which no policy acts (nor a truce is decided): the same object
        #: from day to day, so that what is computed from the levers can be kept while they are
        #: (:class:`~aftermath.model.rates.RatesOfDay`, the ABM's day); no one writes into levers
        self._idle_levers: Levers | None = None
        self._reopens = [i for i, p in enumerate(pol) if isinstance(p, ReopenPolicy)]

    def _targets(self, p: Policy) -> I64:
        zs = set(p.zones)
        if p.faction is not None:
            zs |= {z for z, f in zip(self.world.zone_ids, self.world.zone_faction, strict=True)
                   if f >= 0 and self.world.faction_ids[f] == p.faction}
        index = {zid: i for i, zid in enumerate(self.world.zone_ids)}  # not .index(): O(zones) per zone
        return np.array(sorted(index[z] for z in zs), dtype=np.int64)

    def label(self, i: int) -> str:
        p = self.policies[i]
        return p.name or f"{p.type} ({p.faction or ', '.join(p.zones)})"

    def _where(self, i: int, z: int) -> str:
        return f"{self.label(i)} (in {place(self.world, z)})"

    def _story(self, i: int, z: int, on: bool) -> str:
        """How a policy switching on or off in a zone reads in the chronicle (display names)."""
        p, zone = self.policies[i], place(self.world, z, start=True)
        who = (faction_name(self.world, self.world.faction_ids.index(p.faction), start=True) if p.faction
               else "The authorities")
        named = f" ({p.name})" if p.name else ""
        if isinstance(p, SealPolicy):
            return f"{zone} was sealed{' shut' if p.inbound else ''}{named}" if on else f"{zone} was unsealed{named}"
        if isinstance(p, AdmissionPolicy):
            what = {"open": "opened its gates", "screen": "began screening arrivals", "closed": "closed its gates"}
            return f"{zone} {what[p.mode]}{named}" if on else f"{zone} stopped its {p.mode} admission policy{named}"
        if isinstance(p, HybridPolicy):
            verb = {"protect": "began protecting", "isolate": "began isolating", "cull": "began culling",
                    "ignore": "stopped acting on"}[p.action]
            where = place(self.world, z)
            doing = {"protect": "protecting", "isolate": "isolating", "cull": "culling", "ignore": "ignoring"}[p.action]
            if on:
                return f"{who} {verb} hybrids in {where}{named}"
            return f"{who} stopped {doing} hybrids in {where}{named}"
        where = place(self.world, z)
        kinds = {SweepPolicy: ("sweeps of {w} began", "sweeps of {w} ended"),
                 DisposalPolicy: ("the dead of {w} were burned", "the burning of the dead in {w} stopped"),
                 RotationPolicy: ("the guards of {w} were rotated", "the rotation of {w}'s guards ended"),
                 CurePolicy: ("a cure reached {w}", "the cure in {w} ended")}
        for kind, (began, ended) in kinds.items():
            if isinstance(p, kind):
                return (began if on else ended).format(w=where) + f" ({self.label(i)})"
        return f"{self._where(i, z)}: {'began' if on else 'ended'}"

    def decide(self, day: int, env: Sequence[Mapping[str, float]]) -> tuple[Levers, list[PolicyEvent]]:
        """Switch policies on or off for ``day`` from each zone's indicators, and return the levers."""
        events: list[PolicyEvent] = []
        self.acted[:] = False
        self._truce_decisions = []
        for i, targets in enumerate(self._zones):
            if self._truce_i[i]:
                self._truce(i, env)
                continue
            # a reopen policy only watches; its news is the day it reopens something
            quiet = self._quiet[i]
            active, spent = self.active[i], self.spent[i]
            until, when, repeat = self.until[i], self.when[i], self.policies[i].repeat
            for z in targets:
                if active[z]:
                    if until is not None and until(env[z]):
                        active[z] = False
                        spent[z] = True
                        if not quiet:
                            events.append(PolicyEvent(day, z, i, "off", self._story(i, z, on=False)))
                elif (not spent[z] or repeat) and when(env[z]):
                    active[z] = True
                    self.on_day[i, z] = day
                    if not quiet:
                        events.append(PolicyEvent(day, z, i, "on", self._story(i, z, on=True)))
        return self._levers(day, env, events), events

    def _truce(self, i: int, env: Sequence[Mapping[str, float]]) -> None:
        """A faction's one-shot truce decision (module docstring): one decision a morning, however
        many of its zones the condition held in; the society applies it and chronicles it once."""
        p = self.policies[i]
        assert isinstance(p, TrucePolicy) and p.faction is not None
        targets = self.targets[i]
        if targets.size == 0 or (self.spent[i].any() and not p.repeat):
            return
        make = p.action == "make"
        key = truce_key(p.other)
        fids = self.world.faction_ids
        own = self._own_zones(p.faction)
        # the truce as the faction's first zone that reports it sees it
        in_truce = next((env[z][key] >= 0.5 for z in own if key in env[z]), None)
        if in_truce is not None and in_truce == make:
            return  # nothing to decide: the truce is already as this decision would leave it
        when = self.when[i]
        if not any(when(env[z]) for z in self._zones[i]):
            return
        self._truce_decisions.append((fids.index(p.faction), fids.index(p.other), make, i))
        self.spent[i, targets] = True
        self.acted[i, targets] = True

    def _own_zones(self, faction: str) -> list[int]:
        """The zones of ``faction``, in zone order (computed once per faction)."""
        own = self._faction_zones.get(faction)
        if own is None:
            fi = self.world.faction_ids.index(faction)
            own = self._faction_zones[faction] = [int(z) for z in np.flatnonzero(self.world.zone_faction == fi)]
        return own

    def _levers(self, day: int, env: Sequence[Mapping[str, float]], events: list[PolicyEvent]) -> Levers:
        """The day's levers from the active policies. Where several policies of one kind act on a
        zone, the harshest wins (cull over isolate over protect; closed over screen over open) and
        brings its own parameters; the order of policies in the file never matters."""
        self._reopen(day, env, events)
        any_active: B = np.any(self.active, axis=1)
        if not self._truce_decisions and not any_active.any():  # no policy acts: the idle levers, as yesterday
            if self._idle_levers is None or self._idle_levers.truce_changes:  # (a list: if anyone appended
                self._idle_levers = self._no_levers.copy()  # to it, tomorrow gets new levers, not that change again)
            return self._idle_levers
        lv = self._no_levers.copy()
        hybrid_winner: dict[int, tuple[tuple[int, float], HybridPolicy]] = {}
        admission_winner: dict[int, tuple[tuple[int, float, float], AdmissionPolicy]] = {}
        for i, p in enumerate(self.policies):
            if not any_active[i]:
                continue
            zones = np.flatnonzero(self.active[i])
            if isinstance(p, SealPolicy):
                lv.seal_out[zones] = True
                lv.seal_in[zones] |= p.inbound
                self.acted[i, zones] = True
            elif isinstance(p, AdmissionPolicy):
                key = (_ADMIT[p.mode], p.sensitivity, p.specificity)
                for z in map(int, zones):
                    if z not in admission_winner or key > admission_winner[z][0]:
                        admission_winner[z] = (key, p)
            elif isinstance(p, HybridPolicy):
                hkey = (_HYB[p.action], p.rate)
                for z in map(int, zones):
                    if z not in hybrid_winner or hkey > hybrid_winner[z][0]:
                        hybrid_winner[z] = (hkey, p)
            elif isinstance(p, SweepPolicy):
                due = (day - self.on_day[i, zones]) % max(1, round(p.every)) == 0
                for z in map(int, zones[due]):
                    lv.sweep_kill[z] = 1.0 - (1.0 - lv.sweep_kill[z]) * (1.0 - p.kill)
                    lv.sweep_hybrids[z] |= p.hybrids
                    self.acted[i, z] = True
                    events.append(PolicyEvent(day, int(z), i, "sweep",
                                              f"a sweep went through {place(self.world, z)} ({self.label(i)})"))
            elif isinstance(p, CurePolicy | DisposalPolicy | RotationPolicy):
                self.acted[i, zones] = True
                if isinstance(p, CurePolicy):
                    lv.cure[zones] += p.rate
                elif isinstance(p, DisposalPolicy):
                    lv.disposal_extra[zones] += p.rate
                else:
                    lv.rotation_restore[zones] = np.maximum(lv.rotation_restore[zones], p.restore)
                    lv.rotation_cost[zones] = np.maximum(lv.rotation_cost[zones], p.cost)
        lv.truce_changes.extend(self._truce_decisions)
        index = {id(p): i for i, p in enumerate(self.policies)}  # (a copied book has copied policies)
        for z, (_, ap) in admission_winner.items():
            lv.admit_mode[z] = _ADMIT[ap.mode]
            lv.sensitivity[z] = ap.sensitivity
            lv.specificity[z] = ap.specificity
            lv.quarantine_days[z] = ap.quarantine_days
            self.acted[index[id(ap)], z] = True
        for z, (_, hp) in sorted(hybrid_winner.items()):
            self._hybrids(lv, hp, np.array([z], dtype=np.int64))
            self.acted[index[id(hp)], z] = True
        return lv

    def _closing(self, j: int) -> bool:
        q = self.policies[j]
        return isinstance(q, SealPolicy) or (isinstance(q, AdmissionPolicy) and q.mode == "closed")

    def _reopen(self, day: int, env: Sequence[Mapping[str, float]], events: list[PolicyEvent]) -> None:
        """Reopening ends the seals and closures of a calm zone for good (unless they repeat),
        before the day's levers are computed, so whatever else is active there (screening) holds."""
        closing = self._closing_j
        for i in self._reopens:
            p = self.policies[i]
            assert isinstance(p, ReopenPolicy)
            if not self.active[i].any():
                continue
            for z in map(int, np.flatnonzero(self.active[i])):
                lifted = [j for j in closing if self.active[j, z]]
                if lifted and env[z]["calm_days"] >= p.calm_days:
                    self.active[lifted, z] = False
                    self.spent[lifted, z] = True
                    self.acted[i, z] = True
                    text = f"{place(self.world, z, start=True)} reopened ({self.label(i)})"
                    events.append(PolicyEvent(day, z, i, "reopen", text))

    def _hybrids(self, lv: Levers, p: HybridPolicy, zones: I64) -> None:
        act = _HYB[p.action]
        lv.hybrid_action[zones] = np.maximum(lv.hybrid_action[zones], act)
        if act == HYB_PROTECT:
            sanctuary = self.world.zone_ids.index(p.sanctuary) if p.sanctuary else -1
            if sanctuary >= 0:
                lv.relapse_mult[sanctuary] = min(lv.relapse_mult[sanctuary], 1.0 - p.care)
                others = zones[zones != sanctuary]
                lv.hybrid_target[others] = sanctuary
                lv.hybrid_rate[others] = np.maximum(lv.hybrid_rate[others], p.rate)
            else:
                lv.relapse_mult[zones] = np.minimum(lv.relapse_mult[zones], 1.0 - p.care)
        elif act == HYB_ISOLATE:
            target = self.world.zone_ids.index(p.isolation) if p.isolation else -1
            movers = zones[zones != target] if target >= 0 else zones[:0]
            lv.hybrid_target[movers] = target
            lv.hybrid_rate[movers] = np.maximum(lv.hybrid_rate[movers], p.rate)
        elif act == HYB_CULL:
            lv.hybrid_rate[zones] = np.maximum(lv.hybrid_rate[zones], p.rate)
