"""The ABM's slot table held against the reaction network, both compiled from the same declarations
(:mod:`aftermath.model.reactions`): for every reaction of the network, the ABM slot that stands for
it has the same per-capita rate (propensity / reactant count), the same product state and zone, the
same flow tags and route flow, and its step probability is ``1 - exp(-rate dt)``."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from aftermath.engines.abm.tables import Tables, compile_tables, hazard_rows, out_route_table
from aftermath.engines.kernels import propensities, zone_denominators
from aftermath.model.flows import Flow
from aftermath.model.network import Network, build_network
from aftermath.model.policies import PolicyBook
from aftermath.model.rates import DailyRates, daily_rates
from aftermath.model.reactions import TRANSITIONS, Hook, Where
from aftermath.model.society import Society
from aftermath.model.world import State, World, build_world
from aftermath.scenario.load import from_dict, load


def rich_world(mixing: str = "frequency", denominator: str = "living") -> World:
    """Hyosan with a second strain and a cure: walls, gates, factions, culls, sanctuaries."""
    data = load("hyosan").model_dump(by_alias=True)
    data["run"].update({"mixing": mixing, "denominator": denominator})
    data["pathogen"]["strains"] = [{"id": "b", "beta": 0.6, "breach": 0.4, "relapse": 0.05, "stealth": 0.3,
                                    "latency": 0.0}]
    data["policies"] = [*data["policies"], {"type": "cure", "zones": ["city"], "rate": 0.05}]
    return build_world(from_dict(data))


def day_rates(world: World) -> DailyRates:
    society = Society(world)
    society.fear[:] = 0.7  # the cull policy fires
    society.starving[2] = True
    levers, _ = PolicyBook(world).decide(0, society.indicators(0, world.counts0))
    return daily_rates(world, society, levers)


def abm_counts(net: Network, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network's species counts as the ABM keeps them: [zone, state] and [zone, strain, E..D]."""
    w = net.world
    counts = np.zeros((w.n_zones, 7), dtype=np.int64)
    czs = np.zeros((w.n_zones, w.n_strains, 4), dtype=np.int64)
    for sp in range(net.n_species):
        z, st, s = net.species_zone[sp], net.species_state[sp], net.species_strain[sp]
        counts[z, st] += int(x[sp])
        if State.E <= st <= State.D:
            czs[z, s, st - 1] += int(x[sp])
    return counts, czs


def slot_of(tab: Tables, st: int, transition: int, k: int, branch: int) -> tuple[int, int]:
    """(slot, branch within the slot) of a declared (transition, route ordinal, branch)."""
    for j in range(int(tab.n_slots[st])):
        if tab.transition[st, j] == transition and tab.route_k[st, j] in (k, -1):
            for b in range(int(tab.n_branches[st, j])):
                if tab.branch[st, j, b] == branch:
                    return j, b
    raise AssertionError(f"no slot for transition {TRANSITIONS[transition].name} branch {branch} in state {st}")


def net_tags(net: Network, r: int) -> set[int]:
    return {int(f) // net.world.n_zones for f in net.flow_index[r] if f >= 0}


@pytest.mark.parametrize(("mixing", "denominator"), [("frequency", "living"), ("frequency", "all"),
                                                     ("mass_action", "living")])
def test_slots_equal_reactions(mixing: str, denominator: str) -> None:
    world = rich_world(mixing, denominator)
    net = build_network(world)
    rates = day_rates(world)
    nz, ns, nr = world.n_zones, world.n_strains, world.n_routes
    x = np.random.default_rng(0).integers(1, 60, size=net.n_species).astype(np.float64)
    counts, czs = abm_counts(net, x)
    routes = out_route_table(world.route_from, nz)
    tab = compile_tables(routes.shape[1])
    dt = 0.25
    coef, rate, tot, prob, pcum = hazard_rows(tab, rates, routes, counts, czs, dt, denominator == "living")

    a = np.zeros(net.n_reactions)
    den = zone_denominators(x, net.species_zone, net.living, nz, rates.mass_action)
    propensities(x, net.coefficients(rates), net.reactant, net.pressure, net.zone, net.p_ptr, net.p_idx,
                 net.p_w, den, a)

    per_slot: dict[tuple[int, int, int, int], float] = defaultdict(float)  # (species, strain, slot, branch)
    per_row: dict[int, float] = defaultdict(float)  # per source species
    compared = set()
    for r in range(net.n_reactions):
        src, ti = int(net.reactant[r]), int(net.transition[r])
        if src < 0 or TRANSITIONS[ti].scheduled:
            continue  # births, and latency: scheduled at onset in the ABM (checked below)
        t = TRANSITIONS[ti]
        z, st = int(net.species_zone[src]), int(net.species_state[src])
        prod = int(net.product[r])
        s_row = 0 if st == State.S else int(net.species_strain[src])
        route = -1
        k = -1
        if t.where == Where.ROUTE:
            route = _route_of(net, r, world)
            k = int(np.flatnonzero(routes[z] == route)[0])
        j, b = slot_of(tab, st, ti, k, int(net.branch[r]))
        per_capita = a[r] / x[src]
        # the strain of a bite's product is the biter's: the ABM picks it from pcum
        s_prod = int(net.species_strain[prod]) if st == State.S else s_row
        per_slot[(src, s_prod, j, b)] += per_capita
        per_row[src] += per_capita
        compared.add((st, j))
        # product state, zone and tags
        assert tab.product[st, j, b] == net.species_state[prod], (t.name, st)
        if per_capita > 0:
            dest = (int(world.route_to[route]) if t.where == Where.ROUTE else
                    int(rates.hybrid_target[z]) if t.where == Where.TARGET else z)
            assert (dest if tab.moves[st, j, b] else z) == net.species_zone[prod], (t.name, st)
            assert dest == net.zone[r], (t.name, st)  # where the flows count
        want = {int(f) for f in tab.tags[st, j, b] if f >= 0}
        if tab.breach[st, j] and rates.breach_route[route]:
            want.add(int(Flow.BREACH))
        if tab.hook[st, j] == Hook.INFECT and src == net.n_(z):
            want.add(int(Flow.FIRST_INFECTION))  # the ABM: from the person's infection history
        assert net_tags(net, r) == want, (t.name, st)
        rt = int(net.route_index[r])
        assert (rt // nr if rt >= 0 else -1) == tab.route_tag[st, j, b], (t.name, st)

    assert compared == {(st, j) for st in range(5) for j in range(int(tab.n_slots[st]))}, "a slot stands for nothing"
    # rates: a slot's rate is the sum of its branches' reactions (over the biters' strains for S)
    for st_j in {(sp, j) for sp, _, j, _ in per_slot}:
        src, j = st_j
        z, st = int(net.species_zone[src]), int(net.species_state[src])
        s = 0 if st == State.S else int(net.species_strain[src])
        want = sum(v for (sp, _, jj, _), v in per_slot.items() if sp == src and jj == j)
        name = TRANSITIONS[tab.transition[st, j]].name
        assert rate[z, st, s, j] == pytest.approx(want, rel=1e-12, abs=1e-15), (name, st)
        # each branch's share of the slot, as the hooks read it (admission) and as the table applies it
        # (an S row's bite slots sum over the biters' strains: their split is the strain pick's, below)
        slot_coef = None if st == State.S and tab.pressure[st, j] else coef[st, j, : tab.n_branches[st, j], z, s]
        if slot_coef is not None and slot_coef.sum() > 0:
            for b in range(int(tab.n_branches[st, j])):
                got = sum(v for (sp, _, jj, bb), v in per_slot.items() if sp == src and jj == j and bb == b)
                assert got / want == pytest.approx(slot_coef[b] / slot_coef.sum(), rel=1e-9, abs=1e-12)
        # the biter's strain: proportional to each strain's pressure
        if st == State.S and tab.pressure[st, j] and want > 0:
            shares = np.diff(np.concatenate([[0.0], pcum[z, j, :ns]]))
            for s2 in range(ns):
                got = sum(v for (sp, ss, jj, _), v in per_slot.items() if sp == src and jj == j and ss == s2)
                assert got == pytest.approx(shares[s2], rel=1e-12, abs=1e-15)
    for src, total in per_row.items():  # each species' total is its ABM row's
        z, st = int(net.species_zone[src]), int(net.species_state[src])
        s = 0 if st == State.S else int(net.species_strain[src])
        assert tot[z, st, s] == pytest.approx(total, rel=1e-12, abs=1e-15)
    assert np.allclose(prob, -np.expm1(-tot * dt), rtol=1e-15)


def _route_of(net: Network, r: int, world: World) -> int:
    """The route of a route reaction: from its route-flow index, or from its species' zones."""
    rt = int(net.route_index[r])
    if rt >= 0:
        return rt % world.n_routes
    raise AssertionError("a route reaction without a route flow")


def test_scheduled_onset_equals_the_last_erlang_stage() -> None:
    """The end of latency: the ABM's onset branches have the network's last-stage products and tags."""
    world = rich_world()
    net = build_network(world)
    tab = compile_tables(1)
    k = net.shape
    seen = set()
    for r in range(net.n_reactions):
        if net.transition[r] < 0 or not TRANSITIONS[net.transition[r]].scheduled:
            continue
        src, prod = int(net.reactant[r]), int(net.product[r])
        stage = src - net.e_(int(net.species_zone[src]), int(net.species_strain[src]))
        if stage < k - 1:
            assert net.branch[r] == -1 and prod == src + 1 and not net_tags(net, r)
            continue
        b = int(net.branch[r])
        assert tab.onset_product[b] == net.species_state[prod]
        assert tab.onset_branch_of[int(net.species_state[prod])] == b
        assert {int(f) for f in tab.onset_tags[b] if f >= 0} == net_tags(net, r)
        seen.add(b)
    assert seen == {0, 1}


def test_coefficients_for_strains_born_during_a_day_equal_a_full_evaluation() -> None:
    """Strains born during a day get their columns by a call for them alone (``first > 0``), which
    skips the strain-free entries that the day's call filled for every column: the result must be
    what evaluating every strain at once gives."""
    from aftermath.engines.abm.tables import (
        MAX_BRANCHES,
        ROW_STATES,
        coefficient_plan,
        day_coefficients,
        strain_day_rates,
    )
    from aftermath.model.rates import strain_rates
    from aftermath.model.world import TRAITS

    world = rich_world()
    rates = day_rates(world)
    society = Society(world)
    society.fear[:] = 0.7
    levers, _ = PolicyBook(world).decide(0, society.indicators(0, world.counts0))
    routes = out_route_table(world.route_from, world.n_zones)
    tab = compile_tables(routes.shape[1])
    plan = coefficient_plan(tab)
    rng = np.random.default_rng(3)
    traits = np.repeat(world.traits[:1], 7, axis=0) * rng.uniform(0.5, 2.0, size=(7, len(TRAITS)))
    traits[:, TRAITS.index("p_hybrid")] = rng.uniform(0, 1, 7)

    def over(n: int, lo: int = 0) -> DailyRates:
        infect, relapse, admit_i, feral_move = strain_rates(world, levers, traits[lo:n])
        return strain_day_rates(rates, infect, relapse, admit_i, feral_move, traits[lo:n, TRAITS.index("latency")],
                                traits[lo:n, TRAITS.index("p_hybrid")])

    shape = (ROW_STATES, int(tab.n_slots.max()), MAX_BRANCHES, world.n_zones, 8)
    full = np.zeros(shape)
    day_coefficients(plan, over(7), routes, 7, full)
    grown = np.zeros(shape)
    free = day_coefficients(plan, over(1), routes, 1, grown)  # the morning: the founder only
    assert free is None
    for old, new in ((1, 3), (3, 4), (4, 7)):
        free = day_coefficients(plan, over(new), routes, new, grown, first=old, strain_free=free)
        assert free  # some entries (death, decay, ...) have no strain axis
    assert np.array_equal(grown[..., :7], full[..., :7])
    # as the engine calls it: the rates of the new strains only, and of one before them (offset)
    own = np.zeros(shape)
    free = day_coefficients(plan, over(1), routes, 1, own)
    for old, new in ((1, 3), (3, 4), (4, 7)):
        free = day_coefficients(plan, over(new, old - 1), routes, new, own, first=old, strain_free=free,
                                offset=old - 1)
    assert np.array_equal(own[..., :7], full[..., :7])


@pytest.mark.parametrize("leaves", [0, 30])
def test_memory_per_zone_and_strain_is_what_the_engine_allocates(leaves: int) -> None:
    """The budget's bytes per (zone, strain) equal the engine's arrays exactly, so a run the budget
    lets start does not run out of memory as its strain table grows (a hub with many routes makes
    every zone's rows wider)."""
    from aftermath.engines.abm import AbmEngine
    from aftermath.engines.abm.tables import bytes_per_zone_strain

    data = load("sir").model_dump(by_alias=True)
    hub = data["zones"][0]
    data["zones"] += [{**hub, "id": f"leaf{i}", "population": {"S": 10.0}} for i in range(leaves)]
    data["routes"] = [{"from": hub["id"], "to": f"leaf{i}", "rate": 0.01} for i in range(leaves)]
    data["run"]["days"] = 2
    eng = AbmEngine(build_world(from_dict(data)), seed=1)
    nz, scap = eng.world.n_zones, eng.scap
    arrays = (*eng.rows, eng.czs, eng.dzs)
    assert sum(a.nbytes for a in arrays) == nz * scap * bytes_per_zone_strain(eng.out_routes.shape[1], eng.parts)
    assert eng.out_routes.shape[1] == max(leaves, 1)


def test_a_hub_with_many_routes_and_a_large_strain_table_is_refused_before_allocating() -> None:
    """200 zones around a hub of 199 routes, 4,096 strains: ~27 GiB of tables, more than this
    machine's 24 GiB; the budget refuses it before the engine allocates anything."""
    from aftermath.engines.budget import BudgetError, check_budget, estimate

    data = load("sir").model_dump(by_alias=True)
    hub = data["zones"][0]
    data["zones"] += [{**hub, "id": f"leaf{i}", "population": {"S": 10.0}} for i in range(199)]
    data["routes"] = [{"from": hub["id"], "to": f"leaf{i}", "rate": 0.01} for i in range(199)]
    data["pathogen"]["mutation"] = {"mu": 0.01, "max_strains": 4096}
    sc = from_dict(data)
    b = estimate(sc, "abm", 10)
    assert b.memory > 25 * 2**30
    if b.memory_limit < b.memory:
        with pytest.raises(BudgetError, match=r"GiB"):
            check_budget(sc, "abm", 10)


def test_the_engines_coefficients_for_new_strains_equal_a_full_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's call for strains born during a day (their own rates and one strain's before:
    ``offset``) leaves every strain's columns as a fresh evaluation of the whole table would, in a
    run that makes new strains (hyosan, mutation 5%)."""
    import sys
    from pathlib import Path

    from aftermath.engines.abm.engine import AbmEngine
    from aftermath.engines.driver import simulate

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_abm_threads import hyosan_mutating

    orig = AbmEngine._day_coefficients
    checked = []

    def checking(self: AbmEngine, rates: DailyRates, levers: object, first: int = 0) -> object:
        out = orig(self, rates, levers, first)  # type: ignore[arg-type]
        if first > 0:
            ns, kept, free = self.table.n, self.rows.coef, self.strain_free
            self.rows = self.rows._replace(coef=np.zeros_like(kept))
            self.strain_free = None
            orig(self, rates, levers, 0)  # type: ignore[arg-type]
            assert np.array_equal(kept[..., :ns], self.rows.coef[..., :ns]), (first, ns)
            self.rows, self.strain_free = self.rows._replace(coef=kept), free
            checked.append(first)
        return out

    monkeypatch.setattr(AbmEngine, "_day_coefficients", checking)
    simulate(hyosan_mutating(), engine="abm", seed=4)
    assert len(checked) >= 5  # calls for new strains were checked


@pytest.mark.parametrize("name", ["sir", "boarding-school", "hyosan"])
def test_a_day_whose_rates_are_yesterdays_keeps_its_coefficients(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine skips the day's coefficients when the day's rates (as bytes) and strains are
    yesterday's: the run is the one that evaluates them every day (the SIR's rates never change;
    hyosan's change most days, with its policies and mutation)."""
    import sys
    from pathlib import Path

    import aftermath.engines.abm.engine as abm_engine
    from aftermath.engines.driver import simulate
    from aftermath.scenario.load import with_overrides
    from aftermath.scenario.scale import scale_population

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_abm_reproducibility import digest

    sc = load(name)
    sc = with_overrides(scale_population(sc, 6000) if name == "hyosan" else sc, {"run.days": 40})
    calls = {"day": 0}
    real = abm_engine.day_coefficients

    def counting(*a: object, **k: object) -> object:
        calls["day"] += 1
        return real(*a, **k)

    monkeypatch.setattr(abm_engine, "day_coefficients", counting)
    kept = digest(simulate(sc, engine="abm", seed=3))
    skipped = 40 - calls["day"]  # (the SIR and the school make no strains: one call a day when not kept)
    monkeypatch.setattr(abm_engine, "rates_key", lambda rates, names=(): object())  # never equal: every day afresh
    assert digest(simulate(sc, engine="abm", seed=3)) == kept
    if name != "hyosan":
        assert skipped >= 30  # their rates are the same most days: the skip was taken


def test_the_coefficients_are_keyed_by_the_rates_the_declarations_read() -> None:
    """The day's coefficients are kept when the fields of the rates that evaluating them read are
    yesterday's (:class:`~aftermath.engines.abm.tables.FieldsRead`): concealment, which only the
    households' hooks read, is not among them; a rate that is, is. Evaluating on the noting view
    gives the coefficients that evaluating on the rates gives."""
    from dataclasses import replace

    from aftermath.engines.abm.tables import MAX_BRANCHES, ROW_STATES, FieldsRead, coefficient_plan, day_coefficients

    world = rich_world()
    rates = day_rates(world)
    routes = out_route_table(world.route_from, world.n_zones)
    tab = compile_tables(routes.shape[1])
    plan = coefficient_plan(tab)
    ns = world.n_strains
    shape = (ROW_STATES, int(tab.n_slots.max()), MAX_BRANCHES, world.n_zones, ns)
    plain, noted = np.zeros(shape), np.zeros(shape)
    day_coefficients(plan, rates, routes, ns, plain)
    seen = FieldsRead(rates)
    day_coefficients(plan, seen, routes, ns, noted)  # type: ignore[arg-type]
    assert np.array_equal(plain, noted) and plain.any()
    assert {"infect", "decay", "human_pass", "admit_s"} <= set(seen.names)
    assert "conceal" not in seen.names
    # a declaration reads every field it needs: changing one it does not read changes nothing
    unread = [n for n in DailyRates.__dataclass_fields__ if n not in seen.names]
    for name in unread:
        v = getattr(rates, name)
        if isinstance(v, float) or (isinstance(v, np.ndarray) and v.dtype.kind == "f"):
            v = v + 1.0
        elif isinstance(v, np.ndarray) and v.dtype.kind in "iub":
            v = ~v if v.dtype.kind == "b" else v + 1
        bumped = replace(rates, **{name: v})
        again = np.zeros(shape)
        day_coefficients(plan, bumped, routes, ns, again)
        assert np.array_equal(again, plain), name


def test_a_run_with_the_strain_rates_kept_from_yesterday_is_the_run_without(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hyosan with mutation (new strains most days, its policies switching): the strains' rates
    kept while the levers and the strain table are yesterday's change nothing, bit for bit."""
    import sys
    from pathlib import Path

    from aftermath.engines.abm.engine import AbmEngine
    from aftermath.engines.driver import simulate
    from aftermath.model.rates import strain_rates

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_abm_reproducibility import digest
    from test_abm_threads import hyosan_mutating

    sc = hyosan_mutating()
    kept = digest(simulate(sc, engine="abm", seed=4, days=60))
    monkeypatch.setattr(AbmEngine, "_strain_rates",
                        lambda self, levers, lo, hi: strain_rates(self.world, levers, self.table.traits[lo:hi]))
    assert digest(simulate(sc, engine="abm", seed=4, days=60)) == kept
