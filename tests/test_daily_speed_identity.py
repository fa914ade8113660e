"""Society.update and daily_rates, rewritten for speed (the clip ufunc without np.clip's wrappers,
np.add.reduce for ndarray.sum, per-world constants, shared lever lookups, then most of both in one
compiled kernel each: aftermath.model.day_kernels), compute bit for bit what the plain code
computes: held here against that plain code, kept below as the reference, on random states and
levers that include -0.0, 0, 1, inf and NaN (NaN as NaN: which NaN a NaN operand gives is left
open by IEEE 754, see _same)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import sys
from typing import Any

import numpy as np
import pytest

import aftermath as am
from aftermath.model.flows import Flow, RouteFlow
from aftermath.model.policies import ADMIT_CLOSED, ADMIT_SCREEN, HYB_CULL, Levers
from aftermath.model.rates import _constants, daily_rates, strain_rates
from aftermath.model.society import Society, SocietyEvent
from aftermath.model.world import TRAITS, State, World, build_world
from aftermath.record.chronicle import faction_name, place

SPECIAL = np.array([-0.0, 0.0, 1.0, 0.5, 2.0, np.inf, np.nan, 1e-300, 0.25, 3.0])


# --- the reference: the code before the rewrite, operation for operation ---------------------------

def ref_update(self: Society, day: int, counts: Any, flows: Any, route_flows: Any, levers: Levers) -> list[Any]:
    p = self.params
    w = self.world
    events: list[SocietyEvent] = []
    living = counts[:, : State.D].sum(axis=1)
    safe_n = np.maximum(living, 1.0)
    deaths = flows[self._death_rows].sum(axis=0)
    f = self.fear * (1.0 - p.fear.decay)
    f += p.fear.per_infection * flows[Flow.INFECTION] / safe_n
    f += p.fear.per_death * deaths / safe_n
    f += p.fear.per_breach * flows[Flow.BREACH]
    f += p.supplies.starvation_fear * self.starving
    gap = np.maximum(self.fear[self.edge_other] - self.fear[self.edge_zone], 0.0)
    excess = np.bincount(self.edge_zone, weights=gap, minlength=self.world.n_zones)
    f += p.fear.neighbour_share * excess / self.n_neighbours
    self.fear = np.clip(f, 0.0, 1.0)
    threat = counts[:, State.Z] >= 0.5
    v = np.where(threat, self.vigilance * (1.0 - p.vigilance.exhaustion),
                 self.vigilance + p.vigilance.recovery * (1.0 - self.vigilance))
    v += levers.rotation_restore * (1.0 - v)
    self.vigilance = np.clip(v, p.vigilance.floor, 1.0)
    workers = counts[:, State.S] + counts[:, State.E]
    eaters = workers + counts[:, State.H]
    made = w.production * workers * (1.0 - p.fear.production_loss * self.fear) * (1.0 - levers.rotation_cost)
    finite = np.isfinite(self.supplies)
    new_sup = np.where(finite, np.maximum(self.supplies + made - eaters, 0.0), np.inf)
    if p.trust.share_supplies > 0:
        new_sup = self._share_supplies(new_sup, eaters, p.trust.share_supplies)
    starving = finite & (new_sup <= 0.0) & (eaters > 0)
    for z in np.flatnonzero(starving & ~self.starving):
        events.append(SocietyEvent(day, int(z), "starvation", f"{place(w, int(z), start=True)} ran out of food"))
    self.supplies, self.starving = new_sup, starving
    calm = (flows[Flow.INFECTION] < 0.5) & ~threat
    self.calm_days = np.where(calm, self.calm_days + 1, 0)
    mem = p.memory
    if mem.distrust > 0:
        lost = flows[Flow.CULL] + flows[Flow.SWEEP_HYBRIDS]
        self.kin_new = np.where(w.zone_faction >= 0, np.clip(lost * self.kin_share / safe_n, 0.0, 1.0), 0.0)
        self.kin_culled = np.clip(self.kin_culled * (1.0 - mem.fade) + self.kin_new, 0.0, 1.0)
        self._living = living
    events += ref_update_trust(self, day, route_flows)
    self.last_flows = flows.copy()
    return events


def ref_update_trust(self: Society, day: int, route_flows: Any) -> list[Any]:
    w, p = self.world, self.params.trust
    nf = w.n_factions
    if nf < 2:
        return []
    breaches = np.zeros((nf, nf))
    if self._breach_routes:
        ferals = route_flows[RouteFlow.FERALS].tolist()
        for r, victim, origin in self._breach_routes:
            breaches[victim, origin] += ferals[r]
    fear = self.fear
    fear_f = np.array([fear[zs].sum() / zs.size if zs.size else 0.0 for zs in self._faction_zones])
    t = self.trust - p.per_breach * breaches - p.fear_erosion * fear_f[:, None]
    distrust = self.params.memory.distrust
    if distrust > 0:
        living = self._living
        lost = self.kin_new * living
        bereaved = np.array([lost[zs].sum() / max(living[zs].sum(), 1.0) for zs in self._faction_zones])
        t = t - distrust * bereaved[None, :]
    calm_f = fear_f < 0.1
    t += p.recovery * calm_f[:, None]
    np.fill_diagonal(t, 1.0)
    self.trust = np.clip(t, 0.0, 1.0)
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


def ref_faction_trust(self: Society) -> Any:
    if self.world.n_factions == 0:
        zt = np.ones(self.world.n_zones)
    else:
        truce = self.truce
        lowest = np.min(self.trust, axis=1, where=truce, initial=np.inf)
        per_faction = np.where(truce.any(axis=1), lowest, 1.0)
        zf = self.world.zone_faction
        zt = np.where(zf >= 0, per_faction[np.where(zf >= 0, zf, 0)], 1.0)
    out = np.where(self.world.zone_faction >= 0, zt * (1.0 - 0.5 * self.fear), 1.0)
    distrust = self.params.memory.distrust
    if distrust > 0:
        out = out * (1.0 - np.clip(distrust * self.kin_culled, 0.0, 1.0))
    return out


def ref_strain_rates(world: World, levers: Levers, traits: Any) -> tuple[Any, Any, Any, Any]:
    nz = world.n_zones
    fr, to = world.route_from, world.route_to
    beta, relapse, breach, stealth = (traits[:, TRAITS.index(t)] for t in ("beta", "relapse", "breach", "stealth"))
    through = 1.0 - world.wall[world.route_to][:, None] * (1.0 - breach[None, :])
    infect = np.broadcast_to(beta[None, :], (nz, len(beta))).copy()
    mode = levers.admit_mode[to]
    screen = mode == ADMIT_SCREEN
    detect = levers.sensitivity[to][:, None] * (1.0 - stealth[None, :])
    admit_i = np.where((mode == ADMIT_CLOSED)[:, None], 0.0, np.where(screen[:, None], 1.0 - detect, 1.0))
    sealed_out = np.where(levers.seal_out[fr][:, None], breach[None, :], 1.0)
    feral_move = world.route_feral_rate[:, None] * through * sealed_out
    return infect, relapse[None, :] * levers.relapse_mult[:, None], admit_i, feral_move


def ref_daily_rates(world: World, society: Society, levers: Levers) -> dict[str, Any]:
    sc = world.scenario
    con = sc.society.concealment
    k = _constants(world)
    fr, to = world.route_from, world.route_to
    flight = 1.0 + sc.society.fear.flight * np.maximum(society.fear[fr] - society.fear[to], 0.0)
    by_truce = np.ones(world.n_routes, dtype=bool)
    by_truce[k.cross] = society.truce[k.cross_a, k.cross_b]
    gates = by_truce & ~levers.seal_out[fr] & ~levers.seal_in[to]
    mode = levers.admit_mode[to]
    screen = mode == ADMIT_SCREEN
    infect, relapse, admit_i, feral_move = ref_strain_rates(world, levers, world.traits)
    return dict(
        infect=infect, relapse=relapse, admit_i=admit_i, feral_move=feral_move,
        human_pass=world.route_rate * flight * k.open_wall * gates,
        admit_s=np.where(mode == ADMIT_CLOSED, 0.0, np.where(screen, levers.specificity[to], 1.0)),
        defend=sc.defence.alpha * society.vigilance,
        disposal=world.disposal + levers.disposal_extra,
        starvation=society.starving.astype(np.float64) * sc.society.supplies.starvation,
        cull=np.where(levers.hybrid_action == HYB_CULL, levers.hybrid_rate, 0.0),
        hybrid_move=np.where((levers.hybrid_action != HYB_CULL) & (levers.hybrid_target >= 0),
                             levers.hybrid_rate, 0.0),
        conceal=np.clip(con.base + con.harshness * levers.harshness - con.trust_weight * ref_faction_trust(society),
                        0.0, 1.0),
    )


# --- random inputs ---------------------------------------------------------------------------------

def _pick(rng: np.random.Generator, shape: Any, special: float = 0.5, scale: float = 1.0) -> Any:
    values = rng.random(shape) * scale
    mask = rng.random(shape) < special
    values[mask] = rng.choice(SPECIAL, size=int(mask.sum()))
    return values


def _random_state(rng: np.random.Generator, society: Society) -> None:
    nz, nf = society.world.n_zones, society.world.n_factions
    society.fear = _pick(rng, nz)
    society.vigilance = _pick(rng, nz)
    society.supplies = _pick(rng, nz, scale=100.0)
    society.starving = rng.random(nz) < 0.5
    society.calm_days = rng.integers(0, 5, nz)
    society.trust = _pick(rng, (nf, nf))
    truce = rng.random((nf, nf)) < 0.6
    society.truce = truce | truce.T
    society.kin_culled = _pick(rng, nz)
    society.kin_new = _pick(rng, nz)
    society._living = _pick(rng, nz, scale=50.0)


def _random_levers(rng: np.random.Generator, nz: int) -> Levers:
    lv = Levers.none(nz)
    lv.seal_out[:] = rng.random(nz) < 0.3
    lv.seal_in[:] = rng.random(nz) < 0.3
    lv.admit_mode[:] = rng.integers(0, 3, nz)
    lv.sensitivity[:] = _pick(rng, nz)
    lv.specificity[:] = _pick(rng, nz)
    lv.hybrid_action[:] = rng.integers(0, 4, nz)
    lv.hybrid_rate[:] = _pick(rng, nz)
    lv.hybrid_target[:] = rng.integers(-1, nz, nz)
    lv.relapse_mult[:] = _pick(rng, nz)
    lv.disposal_extra[:] = _pick(rng, nz)
    lv.rotation_restore[:] = _pick(rng, nz)
    lv.rotation_cost[:] = _pick(rng, nz)
    return lv


def _same(a: Any, b: Any, what: str) -> None:
    """Bit for bit, but for which NaN: a NaN made from NaNs keeps one operand's sign and payload,
    and which one is the compiler's (an addition's operands may be swapped): IEEE 754 leaves it
    open, and no value that is not NaN depends on it. -0.0 is still not 0.0."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, what
    if a.dtype.kind == "f":
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{what}: {a!r} != {b!r}"
        a, b = np.where(np.isnan(a), np.nan, a), np.where(np.isnan(b), np.nan, b)
    assert a.tobytes() == b.tobytes(), f"{what}: {a!r} != {b!r}"


SCENARIOS = {
    "hyosan": {},  # two factions, memory of culls
    "shared-food": {"society.trust.share_supplies": 0.5, "society.memory.distrust": 0.0},
    # gains whose products round (hyosan's 10.0 and 0.5 often do not): an order of operations shows
    "odd-gains": {"society.fear.per_infection": 7.3, "society.fear.per_death": 13.7, "society.fear.per_breach": 0.037,
                  "society.fear.decay": 0.071, "society.fear.neighbour_share": 0.173,
                  "society.fear.production_loss": 0.31, "society.vigilance.exhaustion": 0.033,
                  "society.vigilance.recovery": 0.077, "society.supplies.starvation_fear": 0.13,
                  "society.fear.flight": 1.7},
}


#: values where NumPy's rules at signed zeros decide (ties of -0.0 and 0.0, sums of -0.0s)
ZEROS = np.array([-0.0, 0.0, -0.0, 1.0])


@pytest.mark.parametrize("specials", ["mixed", "zeros"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "interpreted"])
@pytest.mark.parametrize("variant", sorted(SCENARIOS))
def test_update_and_rates_are_the_plain_code(variant: str, compiled: bool, specials: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The day's kernels (aftermath.model.day_kernels) compiled, and with their top level as Python
    (``py_func``), against the plain NumPy code, on values that are special half the time: from
    SPECIAL, or from ZEROS (most of them signed zeros). (A whole run compiled and under
    NUMBA_DISABLE_JIT=1 gives the same bits: tests/test_abm_kernels.py.)"""
    if specials == "zeros":
        monkeypatch.setattr(sys.modules[__name__], "SPECIAL", ZEROS)
    if not compiled:
        from aftermath.model import rates, society
        monkeypatch.setattr(society, "society_day", society.society_day.py_func)
        monkeypatch.setattr(rates, "rates_day", rates.rates_day.py_func)
    world = build_world(am.load("hyosan", **{k.replace(".", "__"): v for k, v in SCENARIOS[variant].items()}))
    nz, nr = world.n_zones, world.n_routes
    rng = np.random.default_rng(7)
    with np.errstate(all="ignore"):
        for day in range(150):
            new = Society(world)
            _random_state(rng, new)
            old = copy.deepcopy(new)
            levers = _random_levers(rng, nz)
            counts = _pick(rng, (nz, len(State)), scale=200.0)
            flows = _pick(rng, (len(Flow), nz), scale=20.0)
            route_flows = _pick(rng, (len(RouteFlow), nr), scale=20.0)

            got = daily_rates(world, new, levers)
            for name, want in ref_daily_rates(world, old, levers).items():
                _same(getattr(got, name), want, f"{variant} day {day} rates.{name}")
            traits = _pick(rng, world.traits.shape)  # a phylogeny's strain table, not the world's
            for i, (g, w) in enumerate(zip(strain_rates(world, levers, traits), ref_strain_rates(world, levers, traits),
                                           strict=True)):
                _same(g, w, f"{variant} day {day} strain_rates[{i}]")

            ev_new = new.update(day, counts, flows, route_flows, levers)
            ev_old = ref_update(old, day, counts, flows, route_flows, levers)
            assert [dataclasses.astuple(e) for e in ev_new] == [dataclasses.astuple(e) for e in ev_old]
            for name in ("fear", "vigilance", "supplies", "starving", "calm_days", "trust", "truce", "kin_culled",
                         "kin_new", "_living", "last_flows"):
                _same(getattr(new, name), getattr(old, name), f"{variant} day {day} society.{name}")
            _same(new.faction_trust(), ref_faction_trust(old), f"{variant} day {day} faction_trust")


def test_clip_ufunc_is_np_clip_on_signed_zeros_and_nan() -> None:
    from aftermath.model.society import CLIP
    x = np.array([-0.0, 0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan, 0.5, -1e-300])
    for lo, hi in ((0.0, 1.0), (0.2, 1.0), (-0.0, 0.0)):
        _same(CLIP(x, lo, hi), np.clip(x, lo, hi), f"clip {lo} {hi}")


def test_the_kernels_comparisons_are_numpys() -> None:
    """The day kernels' np_maximum, np_minimum and np_clip against NumPy's on every pair and triple
    of signed zeros, ones, infinities and NaN (NumPy's rules at ties and NaN, bit for bit)."""
    from aftermath.model.day_kernels import np_clip, np_maximum, np_minimum
    grid = [-0.0, 0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, np.nan]
    for a, b in itertools.product(grid, repeat=2):
        _same(np.float64(np_maximum(a, b)), np.maximum(np.float64(a), b), f"maximum({a}, {b})")
        _same(np.float64(np_minimum(a, b)), np.minimum(np.float64(a), b), f"minimum({a}, {b})")
    for x, lo, hi in itertools.product(grid, repeat=3):
        _same(np.float64(np_clip(x, lo, hi)), np.clip(np.array([x]), lo, hi)[0], f"clip({x}, {lo}, {hi})")
