"""Society's slow variables: fear, vigilance, supplies, trust and truces (docs/model.md#society).

They change once a day, at the day boundary, from the day's flows, in every engine alike: within
a day the rates that depend on them are constant. That keeps the three engines on one model (the
ODE integrates day by day, as the stochastic engines step) and makes policy decisions, which read
these variables each morning, identical in kind across engines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy._core import umath as _umath  # (NumPy 2, which pyproject requires)
from numpy.typing import NDArray

from aftermath.model.day_kernels import faction_trust_all, society_day, zone_trust_all
from aftermath.model.flows import DEATH_FLOWS, Flow, RouteFlow
from aftermath.model.policies import Levers, truce_key
from aftermath.model.world import State, World
from aftermath.record.chronicle import faction_name, place

F64 = NDArray[np.float64]

#: The ufunc that ``np.clip(a, lo, hi)`` calls for a float array with both bounds (numpy's
#: ``_methods._clip``), without the Python wrappers around it: the same values, bit for bit.
CLIP: np.ufunc = _umath.clip  # type: ignore[attr-defined]  # not in numpy's stubs
_SUM = np.add.reduce


@dataclass(frozen=True)
class SocietyEvent:
    day: int
    zone: int  # -1 for events between factions
    kind: str
    text: str


#: The keys of a zone's indicators, in the order :meth:`Society.indicators` fills them.
_INDICATOR_KEYS = ("day", "fear", "vigilance", "supplies", "supply_days", "humans", "susceptible", "latent",
                   "hybrids", "ferals", "corpses", "infected", "population", "new_infections", "deaths",
                   "breaches", "calm_days", "trust", "world_ferals", "world_fear")


class Society:
    """Per-zone fear, vigilance, supplies and calm; per-faction-pair trust and truces."""

    def __init__(self, world: World) -> None:
        sc = world.scenario.society
        self.world = world
        self.params = sc
        nz = world.n_zones
        self.fear = np.full(nz, sc.fear.initial)
        self.vigilance = np.ones(nz)
        self.supplies = world.supplies0.copy()
        self.starving = np.zeros(nz, dtype=bool)
        self.calm_days = np.zeros(nz, dtype=np.int64)
        self.trust = world.trust0.copy()
        self.truce = world.truce0.copy()
        self.last_flows = np.zeros((len(Flow), nz))
        # neighbours along routes, either direction, for the spread of fear: an edge list (zone,
        # neighbour), unique and sorted, not a zones x zones matrix (100,000 zones would need 9.3 GiB)
        pairs = np.unique(np.concatenate([np.stack([world.route_from, world.route_to], axis=1),
                                          np.stack([world.route_to, world.route_from], axis=1)]), axis=0)
        pairs = pairs.reshape(-1, 2).astype(np.int64)
        self.edge_zone, self.edge_other = np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])
        self.n_neighbours = np.maximum(np.bincount(self.edge_zone, minlength=nz), 1)
        # memory of culls (docs/model.md, "People"): the share of each zone's people bereaved by its
        # faction's culls and sweeps of hybrids, a stock fading as people's memory does
        self.kin_culled = np.zeros(nz)
        self.kin_new = np.zeros(nz)
        self._living = np.ones(nz)
        self.kin_share = np.array([max(z.household_size - 1.0, 0.0) for z in world.scenario.zones])
        # per-run constants of the daily updates (the world does not change during a run)
        self._death_rows = np.array(list(DEATH_FLOWS), dtype=np.int64)
        zf = world.zone_faction
        self._faction_zones = [np.flatnonzero(zf == i) for i in range(world.n_factions)]
        self._has_faction = zf >= 0
        self._n_zones, self._n_factions = nz, world.n_factions
        pf, pv = sc.fear, sc.vigilance  # the day's parameters of society_day, as floats (one compiled signature)
        self._day_params = tuple(float(x) for x in (
            1.0 - pf.decay, pf.per_infection, pf.per_death, pf.per_breach, sc.supplies.starvation_fear,
            pf.neighbour_share, pv.exhaustion, pv.recovery, pv.floor, pf.production_loss))
        fa, fb = zf[world.route_from], zf[world.route_to]
        cross = np.flatnonzero((fa >= 0) & (fb >= 0) & (fa != fb) & (world.wall[world.route_to] > 0))
        self._breach_routes = [(int(r), int(fb[r]), int(fa[r])) for r in cross]
        # each zone's indicator keys for its faction's truces, with the faction index of each
        fids = world.faction_ids
        self._truce_keys = [[(truce_key(o), j) for j, o in enumerate(fids) if j != f] if f >= 0 else []
                            for f in map(int, zf)]

    def indicators(self, day: int, counts: F64) -> list[dict[str, float]]:
        """Each zone's values for the condition language (see ``conditions.VARIABLES``), and for
        the policy book whether the zone's faction keeps a truce with each other faction
        (:func:`~aftermath.model.policies.truce_key`)."""
        c = counts
        living = c[:, : State.D].sum(axis=1)
        eaters = c[:, State.S] + c[:, State.E] + c[:, State.H]  # humans: everyone who eats
        world_pop = float(living.sum())
        world_fear = float((self.fear * living).sum() / world_pop) if world_pop > 0 else float(self.fear.mean())
        lf = self.last_flows
        deaths = lf[self._death_rows].sum(axis=0)
        sup = self.supplies
        fed = eaters > 0
        supply_days = np.divide(sup, eaters, out=np.full(len(sup), np.inf), where=fed)  # inf where none eat
        # the columns stacked, then turned into Python floats zone by zone in one conversion
        table = np.stack((
            self.fear, self.vigilance, sup, supply_days, eaters, c[:, State.S], c[:, State.E], c[:, State.H],
            c[:, State.Z], c[:, State.D], c[:, State.E] + c[:, State.H] + c[:, State.Z], living,
            lf[Flow.INFECTION], deaths, lf[Flow.BREACH], self.calm_days, self._zone_trust(),
        ), axis=1, dtype=np.float64).tolist()
        first, last = float(day), (float(c[:, State.Z].sum()), world_fear)
        out = [dict(zip(_INDICATOR_KEYS, (first, *row, *last), strict=True)) for row in table]
        if self.world.n_factions:
            truce = self.truce
            for z, env in enumerate(out):
                f = self.world.zone_faction[z]
                for key, j in self._truce_keys[z]:
                    env[key] = float(truce[f, j])
        return out

    def _zone_trust(self) -> F64:
        """Per zone, the lowest trust its faction has in a faction it keeps a truce with; 1 with no
        faction or no truce (:func:`~aftermath.model.day_kernels.zone_trust_at`)."""
        out: F64 = np.empty(self._n_zones)
        zone_trust_all(self.truce, self.trust, self.world.zone_faction, out)
        return out

    def faction_trust(self) -> F64:
        """Per zone, the trust its people have in their own faction's rule: 1 - fear / 2, scaled by
        the faction's lowest trust in its truce partners; 1 with no faction; less by the share of
        its people its culls bereaved (``memory.distrust``). Used by concealment (in
        :func:`~aftermath.model.rates.daily_rates`, by the same compiled function)."""
        out: F64 = np.empty(self._n_zones)
        faction_trust_all(self.fear, self.truce, self.trust, self.kin_culled, self.world.zone_faction,
                          float(self.params.memory.distrust), out)
        return out

    def apply_truce_changes(self, day: int, levers: Levers) -> list[SocietyEvent]:
        """Apply the morning's truce decisions (a faction's, by a truce policy): each is one event,
        ``truce_made`` or ``truce_broken``, naming the policy that decided it."""
        events = []
        for a, b, make, policy in levers.truce_changes:
            if self.truce[a, b] != make:
                self.truce[a, b] = self.truce[b, a] = make
                if make:
                    self.trust[a, b] = max(self.trust[a, b], self.params.trust.threshold + 0.1)
                    self.trust[b, a] = max(self.trust[b, a], self.params.trust.threshold + 0.1)
                fa, fb = faction_name(self.world, a, start=True), faction_name(self.world, b)
                verb = "made a truce with" if make else "broke the truce with"
                name = self.world.scenario.policies[policy].name if policy >= 0 else None
                why = f" ({name})" if name else ""
                events.append(SocietyEvent(day, -1, "truce_made" if make else "truce_broken",
                                           f"{fa} {verb} {fb}{why}"))
        return events

    def update(
        self, day: int, counts: F64, flows: F64, route_flows: F64, levers: Levers
    ) -> list[SocietyEvent]:
        """End of ``day``: update every variable from the day's flows and the closing counts."""
        p = self.params
        w = self.world
        events: list[SocietyEvent] = []
        # fear, vigilance, supplies and calm in one compiled call (.day_kernels: NumPy's
        # arithmetic, zone by zone in the same order, bit for bit)
        nz = self._n_zones
        fear, vig, sup, living, safe_n, eaters = (np.empty(nz) for _ in range(6))
        calm_days = np.empty(nz, dtype=np.int64)
        starving = np.empty(nz, dtype=np.bool_)
        began_any = society_day(
            counts, flows, self._death_rows, int(Flow.INFECTION), int(Flow.BREACH), self.fear, self.vigilance,
            self.supplies, self.starving, self.calm_days, self.edge_zone, self.edge_other, self.n_neighbours,
            w.production, levers.rotation_restore, levers.rotation_cost, *self._day_params,
            fear, vig, sup, starving, calm_days, living, safe_n, eaters)
        if p.trust.share_supplies > 0:  # factions in a truce share food, then who starves
            finite = np.isfinite(self.supplies)
            sup = self._share_supplies(sup, eaters, p.trust.share_supplies)
            starving = finite & (sup <= 0.0) & (eaters > 0)
            began_any = bool((starving > self.starving).any())
        if began_any:
            for z in (starving > self.starving).nonzero()[0].tolist():
                events.append(SocietyEvent(day, z, "starvation", f"{place(w, z, start=True)} ran out of food"))
        self.fear, self.vigilance, self.calm_days = fear, vig, calm_days
        self.supplies, self.starving = sup, starving

        mem = p.memory
        if mem.distrust > 0:
            lost = flows[Flow.CULL] + flows[Flow.SWEEP_HYBRIDS]
            self.kin_new = np.where(self._has_faction, CLIP(lost * self.kin_share / safe_n, 0.0, 1.0), 0.0)
            self.kin_culled = CLIP(self.kin_culled * (1.0 - mem.fade) + self.kin_new, 0.0, 1.0)
            self._living = living
        if self._n_factions >= 2:
            events += self._update_trust(day, route_flows)
        self.last_flows = flows.copy()
        return events

    def _share_supplies(self, sup: F64, eaters: F64, share: float) -> F64:
        """Factions in a truce share food: within each group of factions linked by truces, every zone
        with finite supplies moves ``share`` of the way to the group's common days of food. The
        group's total is unchanged."""
        w = self.world
        nf = w.n_factions
        group = np.arange(nf)
        for _ in range(nf):  # label propagation over the truce graph: a few factions, a few passes
            for a, b in zip(*np.nonzero(self.truce), strict=True):
                group[a] = group[b] = min(group[a], group[b])
        out = sup.copy()
        zf = w.zone_faction
        for g in np.unique(group):
            members = np.flatnonzero(group == g)
            if members.size < 2:
                continue
            zs = np.flatnonzero(np.isin(zf, members) & np.isfinite(sup) & (eaters > 0))
            if zs.size < 2:
                continue
            days = sup[zs].sum() / eaters[zs].sum()
            out[zs] = sup[zs] + share * (days * eaters[zs] - sup[zs])
        return out

    def _update_trust(self, day: int, route_flows: F64) -> list[SocietyEvent]:
        w, p = self.world, self.params.trust
        nf = w.n_factions
        if nf < 2:
            return []
        breaches = np.zeros((nf, nf))  # [victim faction, origin faction]
        if self._breach_routes:  # routes between two factions' zones into a walled one
            ferals = route_flows[RouteFlow.FERALS].tolist()
            for r, victim, origin in self._breach_routes:
                breaches[victim, origin] += ferals[r]
        fear = self.fear  # each faction's mean fear (a sum over its zones divided by their number, as .mean())
        fear_f = np.array([_SUM(fear[zs]) / zs.size if zs.size else 0.0 for zs in self._faction_zones])
        t = self.trust - p.per_breach * breaches - p.fear_erosion * fear_f[:, None]
        distrust = self.params.memory.distrust
        if distrust > 0:  # the others trust a faction less by the share of its people it bereaved
            living = self._living
            lost = self.kin_new * living
            bereaved = np.array([_SUM(lost[zs]) / max(_SUM(living[zs]), 1.0) for zs in self._faction_zones])
            t = t - distrust * bereaved[None, :]
        calm_f = fear_f < 0.1
        t += p.recovery * calm_f[:, None]
        t.flat[:: nf + 1] = 1.0  # the diagonal, as np.fill_diagonal sets it
        self.trust = CLIP(t, 0.0, 1.0)
        events = []
        for a in range(nf):
            for b in range(a + 1, nf):
                if self.truce[a, b] and min(self.trust[a, b], self.trust[b, a]) < p.threshold:
                    self.truce[a, b] = self.truce[b, a] = False
                    events.append(SocietyEvent(
                        day, -1, "truce_broken",
                        f"trust failed: the truce between {faction_name(w, a)} and {faction_name(w, b)} broke",
                    ))
        return events
