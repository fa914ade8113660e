"""The ABM's event-driven step (``run.abm_mode = "events"``): the same model as the scan step, drawn in
another order, with the same guarantees. The contract suite runs every ABM world on it too
(``tests/contract``, cases ``-abm-events``) and the validation catalogue compares its means with the
ODE (``agree.abm-events.*``); here: bit for bit for a seed and for any number of threads, dormant
policies change nothing, the cast is observation only, the lists stay exact, and it agrees with the
scan step in distribution on a world where every mechanism runs."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aftermath.engines.abm.engine as abm_engine
from aftermath.engines.abm.parts import Parts
from aftermath.engines.driver import simulate
from aftermath.model.flows import Flow
from aftermath.model.world import State
from aftermath.scenario.load import from_dict, load, with_overrides
from aftermath.scenario.schema import Scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_abm_reproducibility import digest, small_hyosan
from test_abm_threads import hyosan_mutating


def events(sc: Scenario) -> Scenario:
    return with_overrides(sc, {"run.abm_mode": "events"})


@pytest.mark.parametrize(("bands_move", "latency"), [(True, None), (False, None), (False, 0.0)])
def test_a_seed_gives_one_run_whatever_the_threads(bands_move: bool, latency: float | None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation, births, memory of loss and bands moving together (or not), 14,000 people in 4
    chunks: 1, 2 and 3 parts give the same run, checked every step (the lists against the people).
    Without band walks the movers join their lists in the parts (``join_own``) with one part, or
    two (lists dealt by shard), and after the step with three (dealt by load): the same lists.
    Without latency a mutated infection joins a list once its strain is made, after the step, so
    it holds back the movers after it."""
    from aftermath.engines.abm.events import EventLists
    from aftermath.people.ties import Ties

    sc = with_overrides(events(hyosan_mutating()), {"society.memory.band_moves": bands_move})
    if latency is not None:  # (the latent at day 0 become ferals)
        data = sc.model_dump(by_alias=True)
        data["pathogen"]["latency"] = latency
        for z in data["zones"]:
            z["population"]["Z"] = z["population"].get("Z", 0.0) + z["population"].pop("E", 0.0)
        sc = from_dict(data)
    got = {}
    for n, handed in ((1, 4096), (2, 4096), (2, 0), (3, 0)):  # handed 0: every phase to the threads, however small
        monkeypatch.setattr(abm_engine, "Parts", lambda n=n: Parts(n))
        monkeypatch.setattr(EventLists, "PARALLEL_FROM", handed)
        monkeypatch.setattr(EventLists, "MOST_ON_ONE", 0.8 if handed else 1.0)
        monkeypatch.setattr(Ties, "PARALLEL_NEWS", handed)
        monkeypatch.setattr(Parts, "PARALLEL_PEOPLE", 65536 if handed else 0)
        got[n, handed] = digest(simulate(sc, engine="abm", seed=4, check=(n == 2 and handed == 0)))
    assert len(set(got.values())) == 1, got
    assert digest(simulate(sc, engine="abm", seed=5)) != got[1, 4096]


def test_the_event_step_is_another_path_of_the_same_seed() -> None:
    """The two steps draw differently (so their runs differ for a seed) but both keep the seed's
    population: the same people, households and resistances at day 0."""
    sc = small_hyosan(days=20)
    a, b = simulate(sc, engine="abm", seed=2), simulate(events(sc), engine="abm", seed=2)
    assert np.array_equal(a.counts[0], b.counts[0])
    assert digest(a) != digest(b)


@pytest.mark.parametrize("policy", [
    {"type": "hybrids", "action": "cull", "zones": ["wild", "city"], "rate": 0.5},
    {"type": "seal", "zones": ["garrison"], "inbound": True},
    {"type": "sweep", "zones": ["wild"], "kill": 0.9, "every": 1, "hybrids": True},
    {"type": "cure", "zones": ["city"], "rate": 1.0},
])
def test_a_policy_that_never_triggers_changes_nothing(policy: dict[str, Any]) -> None:
    sc = events(small_hyosan(days=30))
    data = sc.model_dump(by_alias=True)
    data["policies"] = [*data["policies"], {**policy, "name": "dormant", "when": "day > 100000"}]
    a, b = simulate(sc, engine="abm", seed=3), simulate(from_dict(data), engine="abm", seed=3)
    assert digest(a) == digest(b)


def test_sweeps_and_cures_keep_the_lists_exact() -> None:
    """Sweeps (counted as deltas over the infected, not by a recount) and cures (the cured go back
    to their zone's list), with the lists and the counts checked against everyone every step."""
    sc = events(small_hyosan(days=25))
    data = sc.model_dump(by_alias=True)
    data["policies"] = [*data["policies"],
                        {"type": "sweep", "name": "sweeps", "zones": ["wild", "city"], "kill": 0.5, "every": 2,
                         "hybrids": True, "when": "day >= 3"},
                        {"type": "cure", "name": "cure", "zones": ["city", "school"], "rate": 0.3, "when": "day >= 5"}]
    r = simulate(from_dict(data), engine="abm", seed=6, check=True)
    assert r.flows[:, Flow.SWEEP_KILL].sum() > 0 and r.flows[:, Flow.CURE].sum() > 0


def test_a_cast_is_observation_only_and_told() -> None:
    sc = events(small_hyosan(people=4000, days=40))
    with_cast = with_overrides(sc, {"cast": 6})
    a, b = simulate(sc, engine="abm", seed=9), simulate(with_cast, engine="abm", seed=9)
    assert digest(a) == digest(b)
    assert len(b.story_json()["lives"]) == 6
    kinds = set(b.people_frame()["kind"])
    # a bite of a susceptible is seen through the event step's own draw (its slot, not the scan's)
    assert "infected" in kinds, kinds


def test_the_cast_reads_the_same_slots_whatever_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The slots the cast reads (who took which: the step kernels' log of the people followed)
    are the same from lists run on one thread as from lists dealt to two and three parts, down to
    the story told."""
    from aftermath.engines.abm.events import EventLists

    sc = with_overrides(events(small_hyosan(people=4000, days=40)), {"cast": 6})
    told = []
    for n in (1, 2, 3):
        monkeypatch.setattr(abm_engine, "Parts", lambda n=n: Parts(n))
        monkeypatch.setattr(EventLists, "PARALLEL_FROM", 0 if n > 1 else 4096)
        monkeypatch.setattr(Parts, "PARALLEL_PEOPLE", 0)
        monkeypatch.setattr(EventLists, "MOST_ON_ONE", 1.0)
        r = simulate(sc, engine="abm", seed=9)
        frame = r.people_frame()
        told.append((r.story(), frame.to_json()))
    assert "infected" in set(frame["kind"])
    assert told[0] == told[1] == told[2]


def test_the_steps_agree_in_distribution() -> None:
    """Hyosan at 3,000 people for 30 days (walls, gates, factions, memory, bands, mutation): the
    mean survivors and mean ferals of 12 seeds of each step differ by less than 4.5 standard errors
    of the difference (two-sided p ~ 7e-6)."""
    sc = small_hyosan(days=30)
    ev = events(sc)
    seeds = range(12)
    out = {}
    for name, s in (("scan", sc), ("events", ev)):
        runs = [simulate(s, engine="abm", seed=k).counts[-1] for k in seeds]
        out[name] = (np.array([c[:, [State.S, State.E, State.H]].sum() for c in runs]),
                     np.array([c[:, State.Z].sum() for c in runs]))
    for j, what in enumerate(("humans", "ferals")):
        x, y = out["scan"][j], out["events"][j]
        se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        assert abs(x.mean() - y.mean()) <= 4.5 * se + 1e-9, (what, x.mean(), y.mean(), se)


def _latent_world(rate_ab: float, rate_ba: float, days: int = 20) -> Scenario:
    """Two towns of latent people only (no bites: beta 0), latency 8 days (Erlang 2), some
    becoming hybrids; walking a -> b at ``rate_ab`` and b -> a at ``rate_ba`` a day."""
    d = load("sir").model_dump(by_alias=True)
    town = d["zones"][0]
    d["zones"] = [dict(town, id="a", name="Town A", population={"S": 100.0, "E": 4000.0}),
                  dict(town, id="b", name="Town B", population={"S": 100.0, "E": 4000.0})]
    d["routes"] = [{"from": "a", "to": "b", "rate": rate_ab, "feral_rate": 0.0},
                   {"from": "b", "to": "a", "rate": rate_ba, "feral_rate": 0.0}]
    d["pathogen"].update({"beta": 0.0, "latency": 8.0, "latency_shape": 2, "p_hybrid": 0.3, "kappa": 0.0})
    d["run"].update({"days": days, "abm_mode": None})
    return from_dict(d)


def test_the_latent_end_on_their_scheduled_step() -> None:
    """Latent people who do nothing else: their ends of latency are drawn at day 0 for each person
    in either step, and each outcome by a draw of their own, so the calendar must end each one on
    the very step the scan does: the two steps' latent and hybrids are equal, every day, and so
    are the ferals and what became of them (the ferals' own decay is drawn differently)."""
    sc = _latent_world(0.0, 0.0)
    a, b = simulate(sc, engine="abm", seed=3), simulate(events(sc), engine="abm", seed=3, check=True)
    assert a.counts[-1][:, State.E].sum() < 4000  # most have ended their latency
    living = [State.S, State.E, State.H]
    assert np.array_equal(a.counts[:, :, living], b.counts[:, :, living])
    turned = [State.Z, State.D, State.R]
    assert np.array_equal(a.counts[:, :, turned].sum(axis=2), b.counts[:, :, turned].sum(axis=2))


def test_the_latent_walk_at_their_own_rates() -> None:
    """Latent people walk a -> b at 0.2 a day and b -> a at 0.01: the calendar's candidates are
    drawn at the top rate (0.2), so b's walkers must be thinned to their own. The mean walkers each
    way over 10 seeds of the two steps differ by less than 4.5 standard errors of the difference."""
    sc = _latent_world(0.2, 0.01, days=10)
    out = {}
    for name, s in (("scan", sc), ("events", events(sc))):
        flows = np.array([simulate(s, engine="abm", seed=k).route_flows.sum(axis=0) for k in range(10)])
        out[name] = flows[:, 0, :]  # walks on each route
    x, y = out["scan"], out["events"]
    assert x[:, 1].mean() > 50  # b -> a walkers to tell apart
    for r in range(x.shape[1]):
        se = math.sqrt(x[:, r].var(ddof=1) / x.shape[0] + y[:, r].var(ddof=1) / y.shape[0])
        assert abs(x[:, r].mean() - y[:, r].mean()) <= 4.5 * se + 1e-9, (r, x[:, r].mean(), y[:, r].mean(), se)


def test_bad_mode_is_refused_naming_the_key() -> None:
    data = load("sir").model_dump(by_alias=True)
    data["run"]["abm_mode"] = "fast"
    with pytest.raises(ValueError, match="abm_mode"):
        from_dict(data)


@pytest.mark.parametrize("bands_move", [True, False])
def test_a_list_with_more_candidates_than_its_room_is_drawn_again(bands_move: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each list's room for a step's candidates is set before they are drawn (its expected number
    and a margin). With the margin below the expectation, most lists have more and are drawn again
    after the others, on one part or two, with a cast reading who took which slot: the same run.
    (Without band walks, a part with a list to draw again joins none of its movers itself.)"""
    from aftermath.engines.abm.events import EventLists

    sc = with_overrides(events(hyosan_mutating()), {"cast": 6, "society.memory.band_moves": bands_move})
    roomy = simulate(sc, engine="abm", seed=7)
    again = {"lists": 0}
    real = EventLists._again

    def counted(self: EventLists, args: tuple[Any, ...]) -> None:
        again["lists"] += int((self.ks < 0).sum())
        real(self, args)

    monkeypatch.setattr(EventLists, "_again", counted)
    monkeypatch.setattr(EventLists, "SIGMAS", -1.0)  # (some lists within their room: most not)
    monkeypatch.setattr(EventLists, "LEAST", 0)
    for n in (1, 2):
        monkeypatch.setattr(abm_engine, "Parts", lambda n=n: Parts(n))
        monkeypatch.setattr(EventLists, "PARALLEL_FROM", 0)
        monkeypatch.setattr(Parts, "PARALLEL_PEOPLE", 0)
        tight = simulate(sc, engine="abm", seed=7, check=True)
        assert digest(tight) == digest(roomy)
        assert tight.story() == roomy.story()
    assert again["lists"] > 50, again


@pytest.mark.parametrize(("bands_move", "parts", "people"), [(True, 1, None), (False, 1, None), (False, 2, 20_000)])
def test_the_lists_layout_changes_nothing(bands_move: bool, parts: int, people: int | None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With almost no room to grow, lists fill up every few steps: they move to the free end, close
    up in place when it is used, and are copied afresh when that is not enough (checked against
    everyone every step). Places within a list never change, so the run is the one with room.
    (Without band walks the movers join in the parts, which leave those of a full list, in order,
    for the pass after the step: on the calling thread, and on two threads with the people in
    every shard.)"""
    from aftermath.engines.abm.events import EventLists

    if parts > 1:
        monkeypatch.setattr(abm_engine, "Parts", lambda: Parts(parts))
        monkeypatch.setattr(EventLists, "PARALLEL_FROM", 0)
        monkeypatch.setattr(EventLists, "MOST_ON_ONE", 1.0)
    kw = {} if people is None else {"people": people}
    sc = with_overrides(events(small_hyosan(days=15, **kw)), {"society.memory.band_moves": bands_move})
    roomy = digest(simulate(sc, engine="abm", seed=12))
    moves = {"relocate": 0, "compact": 0, "regrow": 0}
    import aftermath.engines.abm.events as ev

    for name in moves:
        real = getattr(ev, name if name != "compact" else "compact_lists")

        def counted(*a: Any, _real: Any = real, _name: str = name) -> Any:
            moves[_name] += 1
            return _real(*a)

        monkeypatch.setattr(ev, name if name != "compact" else "compact_lists", counted)
    monkeypatch.setattr(EventLists, "MIN_SPARE", 1)
    monkeypatch.setattr(EventLists, "SPARE", 10_000)
    monkeypatch.setattr(EventLists, "slack", staticmethod(lambda n: 40))
    assert digest(simulate(sc, engine="abm", seed=12, check=True)) == roomy
    assert min(moves.values()) > 0, moves


def test_a_zones_susceptible_are_several_lists_the_threads_share() -> None:
    """One zone's susceptible (most of an epidemic's work) are ``NSH`` lists, one per shard of the
    people's ids, each holding only its own shard's people; so two threads get about half of the
    zone's candidates each (dealt as one list, a thread got all of them: the SIR at 1e6 ran its
    lists' phase at 0.63 of its work on one thread)."""
    from aftermath.engines.abm.events import NSH, SHARD_BITS, EventLists, deal, deal_shards, list_at, shard
    from aftermath.engines.abm.tables import S

    blocks = 3
    n = (blocks * NSH) << SHARD_BITS
    state = np.full(n, S, dtype=np.uint8)
    zone = np.zeros(n, dtype=np.uint16)
    lists = EventLists(n, state, zone, np.zeros(n, dtype=np.int32), 1)
    s_lists = [int(list_at(0, 0, h << SHARD_BITS)) for h in range(NSH)]
    assert sorted(s_lists) == list(range(NSH))
    for h, li in enumerate(s_lists):
        members = lists.sl[lists.s_lo[li]: lists.s_lo[li] + lists.s_n[li]]
        assert members.size == blocks << SHARD_BITS
        assert np.all((members >> SHARD_BITS) % NSH == h)
        assert np.all(np.diff(members) > 0)  # in person order
    expect = np.zeros(lists.s_n.shape[0], dtype=np.int64)
    expect[s_lists] = lists.s_n[s_lists] // 16
    owner = np.zeros_like(expect)
    assert deal(expect, 2, owner) <= 0.51
    # by shard (the movers join in the parts): as even, and every list a person can join is the
    # part's that holds the list they leave
    assert deal_shards(expect, 2, owner) <= 0.51
    for i in (0, 1 << SHARD_BITS, 5 << SHARD_BITS, n - 1):
        assert owner[list_at(0, 0, i)] == owner[list_at(0, 2, i)] == owner[list_at(0, 3, i)] == shard(i) % 2
