"""The ABM's per-person hazards held against the reaction network's propensities (ARCHITECTURE.md):
for every reaction family, propensity / reactant count equals the ABM's per-capita rate, and the
step probability is ``1 - exp(-rate dt)``."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from aftermath.engines.abm.hazards import (
    BITE_INFECT,
    BITE_KILL,
    CULL,
    CURE,
    DEATH,
    DECAY,
    DEFEND_D,
    DEFEND_R,
    DISPOSE,
    REANIMATE,
    RELAPSE,
    ROUTE0,
    STARVE,
    TRANSFER,
    bite_pressure,
    denominators,
    out_route_table,
    strain_rows,
    zone_rows,
)
from aftermath.engines.kernels import propensities, zone_denominators
from aftermath.model.flows import Flow, RouteFlow
from aftermath.model.network import build_network
from aftermath.model.policies import PolicyBook
from aftermath.model.rates import daily_rates
from aftermath.model.society import Society
from aftermath.model.world import State, build_world
from aftermath.scenario.load import from_dict, load

FAMILY = {Flow.INFECTION: BITE_INFECT, Flow.BITE_DEATH: BITE_KILL, Flow.NATURAL_DEATH: DEATH,
          Flow.STARVATION: STARVE, Flow.CURE: CURE, Flow.CULL: CULL, Flow.HYBRID_MOVED: TRANSFER,
          Flow.RELAPSE: RELAPSE, Flow.DECAY: DECAY, Flow.REANIMATION: REANIMATE, Flow.DISPOSAL: DISPOSE}


@pytest.mark.parametrize(("mixing", "denominator"), [("frequency", "living"), ("frequency", "all"),
                                                     ("mass_action", "living")])
def test_per_capita_hazards_equal_propensities(mixing: str, denominator: str) -> None:
    data = load("hyosan").model_dump(by_alias=True)
    data["run"].update({"mixing": mixing, "denominator": denominator})
    data["pathogen"]["strains"] = [{"id": "b", "beta": 0.6, "breach": 0.4, "relapse": 0.05, "stealth": 0.3}]
    data["policies"] = [*data["policies"], {"type": "cure", "zones": ["city"], "rate": 0.05}]
    world = build_world(from_dict(data))
    net = build_network(world)
    nz, ns, nr = world.n_zones, world.n_strains, world.n_routes
    society = Society(world)
    society.fear[:] = 0.7  # the cull policy fires
    society.starving[2] = True
    levers, _ = PolicyBook(world).decide(0, society.indicators(0, world.counts0))
    rates = daily_rates(world, society, levers)

    rng = np.random.default_rng(0)
    x = rng.integers(1, 60, size=net.n_species).astype(np.float64)
    # the same people, as the ABM counts them
    counts = np.zeros((nz, 7), dtype=np.int64)
    czs = np.zeros((nz, ns, 3), dtype=np.int64)
    for sp in range(net.n_species):
        z, st, s = net.species_zone[sp], net.species_state[sp], net.species_strain[sp]
        counts[z, st] += int(x[sp])
        if State.E <= st <= State.Z:
            czs[z, s, st - 1] += int(x[sp])

    dt = 0.25
    den = denominators(counts, rates.mass_action, denominator == "living")
    assert np.allclose(den, zone_denominators(x, net.species_zone, net.living, nz, rates.mass_action))
    pres_cum = np.zeros((nz, ns))
    bite = bite_pressure(czs, ns, rates.infect, rates.eta, den, pres_cum)
    routes = out_route_table(world.route_from, nz)
    maxe = ROUTE0 + routes.shape[1]
    zr, zt, zp = np.zeros((nz, 6, maxe)), np.zeros((nz, 6)), np.zeros((nz, 6))
    zone_rows(counts, den, bite, rates.kappa, rates.death, rates.starvation, rates.cure, rates.reanimation,
              rates.disposal, rates.human_pass, routes, dt, zr, zt, zp)
    sr, stt, sp_ = np.zeros((nz, ns, 2, maxe)), np.zeros((nz, ns, 2)), np.zeros((nz, ns, 2))
    strain_rows(counts, czs, ns, den, rates.defend, rates.hybrid_weight, rates.q, rates.decay, rates.relapse,
                rates.cull, rates.hybrid_move, rates.hybrid_target, rates.death, rates.starvation, rates.cure,
                rates.human_pass, rates.feral_move, routes, dt, sr, stt, sp_)

    a = np.zeros(net.n_reactions)
    den_net = zone_denominators(x, net.species_zone, net.living, nz, rates.mass_action)
    propensities(x, net.coefficients(rates), net.reactant, net.pressure, net.zone, net.p_ptr, net.p_idx,
                 net.p_w, den_net, a)

    def abm_rate(species: int, slot: int) -> float:
        z, st, s = net.species_zone[species], net.species_state[species], net.species_strain[species]
        if st in (State.H, State.Z):
            return float(sr[z, s, st - State.H, slot])
        return float(zr[z, st, slot])

    per_slot: dict[tuple[int, int], float] = defaultdict(float)
    admitted: dict[tuple[int, int], float] = defaultdict(float)
    strain_share: dict[tuple[int, int], float] = defaultdict(float)  # (S species, strain) of bites
    for r in range(net.n_reactions):
        src = int(net.reactant[r])
        if src < 0:
            continue
        z, st = int(net.species_zone[src]), int(net.species_state[src])
        flows = [int(f) // nz for f in net.flow_index[r] if f >= 0]
        per_capita = a[r] / x[src]
        if net.route_index[r] >= 0:
            kind, route = divmod(int(net.route_index[r]), nr)
            k = int(np.flatnonzero(routes[z] == route)[0])
            per_slot[(src, ROUTE0 + k)] += per_capita
            if kind in (RouteFlow.HUMANS, RouteFlow.FERALS):
                admitted[(src, route)] += per_capita
            continue
        if not flows or (st == State.E and flows[0] in (Flow.ONSET_HYBRID, Flow.ONSET_FERAL)):
            continue  # the Erlang stages of latency: scheduled at onset in the ABM
        if flows[0] == Flow.FERAL_DESTROYED:
            slot = DEFEND_D if net.species_state[net.product[r]] == State.D else DEFEND_R
        else:
            slot = FAMILY[Flow(flows[0])]
        per_slot[(src, slot)] += per_capita
        if st == State.S and slot in (BITE_INFECT, BITE_KILL):
            strain_share[(src, int(net.species_strain[net.product[r]]))] += per_capita

    assert per_slot, "no reaction was compared"
    for (src, slot), value in per_slot.items():
        assert abm_rate(src, slot) == pytest.approx(value, rel=1e-12, abs=1e-15), (src, slot)
    # the total of each ABM row is the total of the network's reactions out of that species
    for src in range(net.n_species):
        st = net.species_state[src]
        if st == State.R:
            continue
        total = sum(v for (sp, _), v in per_slot.items() if sp == src)
        z, s = net.species_zone[src], net.species_strain[src]
        row_total = stt[z, s, st - State.H] if st in (State.H, State.Z) else zt[z, st]
        assert row_total == pytest.approx(total, rel=1e-12, abs=1e-15), src
    # admission: the share let through at the gate
    for (src, route), through in admitted.items():
        st, s = net.species_state[src], net.species_strain[src]
        attempts = rates.human_pass[route] if st != State.Z else rates.feral_move[route, s]
        want = 1.0 if st == State.Z else (rates.admit_s[route] if st == State.S else rates.admit_i[route, s])
        if attempts > 0:
            assert through / attempts == pytest.approx(want, rel=1e-12)
    # the biter's strain: proportional to each strain's pressure, for every S species of the zone
    # (the network holds S as more than one species: the initial cohort's never-infected and the rest)
    for src in {sp for sp, _ in strain_share}:
        shares = np.diff(np.concatenate([[0.0], pres_cum[net.species_zone[src]]]))
        for s in range(ns):
            assert strain_share[(src, s)] == pytest.approx(shares[s], rel=1e-12, abs=1e-15)
    # per-step probabilities
    assert np.allclose(zp, -np.expm1(-zt * dt), rtol=1e-15)
    filled = stt > 0
    assert np.allclose(sp_[filled], -np.expm1(-stt[filled] * dt), rtol=1e-15)
