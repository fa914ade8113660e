"""ABM kernels: the compiled code equals the same code run as Python, and properties that must hold."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftermath.engines.abm.rng import keys, stream_key, uniform
from aftermath.engines.abm.step import admission, hybrid_probability, latency_steps
from aftermath.engines.abm.tables import compile_tables, hazard_rows, out_route_table
from aftermath.engines.driver import simulate
from aftermath.model import world as world_mod
from aftermath.model.flows import Flow
from aftermath.model.policies import Levers
from aftermath.model.rates import daily_rates
from aftermath.model.society import Society
from aftermath.scenario.load import from_dict, load
from aftermath.scenario.scale import scale_population

PY_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_abm_reproducibility import digest, small_hyosan
from aftermath.engines.abm import engine
from aftermath.engines.abm.events import EventLists
from aftermath.engines.abm.parts import Parts
from aftermath.engines.driver import simulate
Parts.PARALLEL_PEOPLE = EventLists.PARALLEL_FROM = 0  # (a small world: handed out all the same)
rows = [0]
follow = engine.gather_and_follow
def counted(*a):
    n = follow(*a)
    rows[0] += max(int(n), 0)  # (below 0: a call again with more room for the log)
    return n
engine.gather_and_follow = counted  # (the rows of bands' walks: that the run had some)
sc = small_hyosan(people={people!r}, days={days!r}, dt=0.5, **{run!r})
if not {bands!r}:  # bands do not move together: the movers join their lists in the threads
    from aftermath.scenario.load import from_dict
    data = sc.model_dump(by_alias=True)
    data["society"]["memory"]["band_moves"] = False
    sc = from_dict(data)
import hashlib, json
from aftermath.scenario.load import with_overrides
r = simulate(with_overrides(sc, {{"cast": 12}}), engine="abm", seed=5)  # (observation only: the same run)
cast = r.extras["cast"]
told = hashlib.sha256(json.dumps(cast, sort_keys=True).encode()).hexdigest()
print("DIGEST", digest(r), rows[0], told, len(cast["events"]))
"""


def _run_with(env: dict[str, str], bands: bool = True, people: int = 600, days: int = 6,
              **run: Any) -> tuple[str, int, str, int]:
    """A small hyosan run, with a cast of 12 followed, in a fresh process with ``env``: its digest,
    how many rows the bands' walks logged (:func:`~aftermath.engines.abm.step.gather_and_follow`),
    a hash of the cast's record (the step kernels log what its people did) and how many events it holds."""
    code = PY_SCRIPT.format(tests=os.path.dirname(__file__), run=run, bands=bands, people=people, days=days)
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=600, check=True).stdout
    line = next(line.split() for line in out.splitlines() if line.startswith("DIGEST"))
    return line[1], int(line[2]), line[3], int(line[4])


def _digest_with(env: dict[str, str], bands: bool = True, **run: Any) -> tuple[str, str]:
    """The run's digest and the cast's record's."""
    digest, _, told, _ = _run_with(env, bands, **run)
    return digest, told


def test_compiled_equals_python() -> None:
    """Every kernel of a small full run (mutation, sweeps, culls, screening) gives the same bits
    compiled and interpreted (NUMBA_DISABLE_JIT=1), and the same record of the cast it follows:
    no miscompile, no numba-only semantics."""
    assert _digest_with({"NUMBA_DISABLE_JIT": "1"}) == _digest_with({})


def test_band_walks_compiled_equals_python() -> None:
    """The same over a run long enough for bands to form and walk together (the bands' kernels:
    their walks and counts; the small run above has none)."""
    compiled = _run_with({}, people=5000, days=60)
    assert compiled[1] >= 50
    assert compiled[3] >= 30  # (the cast's record: more than its 12 starts)
    assert _run_with({"NUMBA_DISABLE_JIT": "1"}, people=5000, days=60) == compiled


@pytest.mark.parametrize(("threads", "bands"), [("1", True), ("2", False)])
def test_event_step_compiled_equals_python(threads: str, bands: bool) -> None:
    """The same for the event-driven step's kernels (its lists, calendar and joins; the prefetches'
    index expressions, not where they point: run as Python a prefetch does nothing):
    on one thread; and handed out to two with bands not moving together, where the movers join
    their lists in the threads."""
    env = {"NUMBA_NUM_THREADS": threads}
    compiled = _digest_with(env, bands, abm_mode="events")
    assert _digest_with({**env, "NUMBA_DISABLE_JIT": "1"}, bands, abm_mode="events") == compiled


@settings(max_examples=200, deadline=None)
@given(p=st.floats(0.0, 1.0), k=st.floats(-20.0, 20.0), r=st.floats(0.0, 1.0))
def test_hybrid_probability_matches_world(p: float, k: float, r: float) -> None:
    got = hybrid_probability(p, k, np.float32(r))
    want = float(world_mod.hybrid_probability(p, k, float(np.float32(r))))
    assert 0.0 <= got <= 1.0
    assert abs(got - want) <= 1e-12


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**62), step=st.integers(0, 10**6), i=st.integers(0, 10**9))
def test_uniforms_in_unit_interval(seed: int, step: int, i: int) -> None:
    key = np.uint64(stream_key(seed, 1, step))
    u = uniform(key, i)
    assert 0.0 <= u < 1.0


def test_uniforms_look_uniform() -> None:
    key = keys(123, 4)[1]
    u = np.array([uniform(key, i) for i in range(20000)])
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / u.size)
    hist = np.histogram(u, bins=10, range=(0, 1))[0]
    chi2 = ((hist - 2000) ** 2 / 2000).sum()
    assert chi2 < 30  # chi-square with 9 d.o.f.: p < 0.001 beyond 27.9


@settings(max_examples=100, deadline=None)
@given(lat=st.floats(0.01, 365.0), shape=st.integers(1, 20), dt=st.sampled_from([0.01, 0.1, 0.25, 1.0]),
       i=st.integers(0, 10**6))
def test_latency_at_least_one_step(lat: float, shape: int, dt: float, i: int) -> None:
    assert latency_steps(keys(1, 2), i, lat, shape, dt) >= 1


def test_latency_mean_is_the_trait() -> None:
    kk = keys(9, 0)
    steps = np.array([latency_steps(kk, i, 3.0, 2, 0.25) for i in range(20000)]) * 0.25
    sd = 3.0 / np.sqrt(2)  # Erlang(2) with mean 3
    assert abs(steps.mean() - 3.0) < 4 * sd / np.sqrt(steps.size) + 0.25 / 2


@settings(max_examples=200, deadline=None)
@given(st_=st.integers(0, 2), a=st.floats(0, 1), screen=st.booleans(), quar=st.booleans(), hidden=st.booleans(),
       u=st.floats(0, 0.999999))
def test_admission_is_consistent(st_: int, a: float, screen: bool, quar: bool, hidden: bool, u: float) -> None:
    ok, wrong, concealed = admission(st_, a, screen, quar, hidden, u)
    assert not (wrong and concealed)
    if not screen:
        assert not wrong and not concealed and ok == (u < a)
    if concealed:
        assert ok and st_ != 0
    if st_ == 0:
        assert ok == (u < a) and wrong == ((not ok) and screen)


@functools.cache
def _rich_world(mixing: str, denominator: str) -> world_mod.World:
    """Hyosan with a second strain (walls, gates, factions): the places every lever can act on."""
    data = load("hyosan").model_dump(by_alias=True)
    data["run"].update({"mixing": mixing, "denominator": denominator})
    data["pathogen"]["strains"] = [{"id": "b", "beta": 0.6, "breach": 0.4, "relapse": 0.05, "stealth": 0.3}]
    return world_mod.build_world(from_dict(data))


NZ = 6  # hyosan's zones
unit = st.floats(0.0, 1.0)
rate = st.floats(0.0, 50.0)


def per_zone(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(elements, min_size=NZ, max_size=NZ)


@settings(max_examples=150, deadline=None)
@given(mixing=st.sampled_from([("frequency", "living"), ("frequency", "all"), ("mass_action", "living")]),
       counts=st.lists(st.integers(0, 1000), min_size=NZ * 6, max_size=NZ * 6),
       strain_share=per_zone(unit), dt=st.sampled_from([0.01, 0.25, 1.0]),
       fear=per_zone(unit), vigilance=per_zone(unit), starving=per_zone(st.booleans()),
       trust=st.lists(unit, min_size=4, max_size=4), truce=st.booleans(),
       seal_out=per_zone(st.booleans()), seal_in=per_zone(st.booleans()), admit=per_zone(st.integers(0, 2)),
       sensitivity=per_zone(unit), specificity=per_zone(unit), quarantine=per_zone(st.floats(0.0, 30.0)),
       hybrid_action=per_zone(st.integers(0, 3)), hybrid_rate=per_zone(rate),
       hybrid_target=per_zone(st.integers(-1, NZ - 1)), relapse_mult=per_zone(st.floats(0.0, 5.0)),
       cure=per_zone(rate), disposal=per_zone(rate))
def test_hazard_tables_are_probabilities(mixing: tuple[str, str], counts: list[int], strain_share: list[float],
                                         dt: float, fear: list[float], vigilance: list[float],
                                         starving: list[bool], trust: list[float], truce: bool,
                                         seal_out: list[bool], seal_in: list[bool], admit: list[int],
                                         sensitivity: list[float], specificity: list[float],
                                         quarantine: list[float], hybrid_action: list[int],
                                         hybrid_rate: list[float], hybrid_target: list[int],
                                         relapse_mult: list[float], cure: list[float],
                                         disposal: list[float]) -> None:
    """The tables the step kernel draws from, built as the engine builds them from
    :func:`~aftermath.model.rates.daily_rates` over random society states and levers (fear, vigilance,
    starvation, trust and truces; seals, admission modes, screening, culls, protection, isolation,
    cures, disposal): every step probability is in [0, 1], each row's transitions sum to at most 1,
    and the gates' and households' chances are probabilities."""
    world = _rich_world(*mixing)
    nz, ns = world.n_zones, world.n_strains
    assert nz == NZ
    society = Society(world)
    society.fear[:] = fear
    society.vigilance[:] = vigilance
    society.starving[:] = starving
    society.trust[:] = np.array(trust).reshape(society.trust.shape)
    if truce:
        society.truce[:] = ~society.truce
    levers = Levers.none(nz)
    levers.seal_out[:], levers.seal_in[:], levers.admit_mode[:] = seal_out, seal_in, admit
    levers.sensitivity[:], levers.specificity[:], levers.quarantine_days[:] = sensitivity, specificity, quarantine
    levers.hybrid_action[:], levers.hybrid_rate[:] = hybrid_action, hybrid_rate
    levers.hybrid_target[:] = hybrid_target
    levers.relapse_mult[:], levers.cure[:], levers.disposal_extra[:] = relapse_mult, cure, disposal
    rates = daily_rates(world, society, levers)

    cs = np.zeros((nz, 7), dtype=np.int64)
    cs[:, :6] = np.array(counts).reshape(nz, 6)
    czs = np.zeros((nz, ns, 4), dtype=np.int64)  # E, H, Z, D split over the two strains
    first = np.floor(cs[:, 1:5] * np.array(strain_share)[:, None]).astype(np.int64)
    czs[:, 0, :], czs[:, 1, :] = first, cs[:, 1:5] - first
    routes = out_route_table(world.route_from, nz)
    tab = compile_tables(routes.shape[1])
    coef, rows, tot, p, pcum = hazard_rows(tab, rates, routes, cs, czs, dt, world.scenario.run.denominator == "living")

    assert np.all(np.isfinite(coef)) and np.all(coef >= 0.0)
    assert np.all(np.isfinite(rows)) and np.all(rows >= 0.0)
    assert np.all(np.isfinite(p)) and np.all((p >= 0.0) & (p <= 1.0))
    # the chance of each transition in a step is p * rate_j / L; a row's chances sum to p <= 1
    assert np.allclose(rows.sum(axis=-1), tot, rtol=1e-12, atol=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        chance = np.where(tot[..., None] > 0, p[..., None] * rows / tot[..., None], 0.0)
    assert np.all((chance >= 0.0) & (chance <= 1.0))
    assert np.all(chance.sum(axis=-1) <= 1.0 + 1e-12)
    assert np.all(p[tot == 0] == 0.0)
    # the biter's strain: cumulative pressure per bite slot, non-decreasing, ending at the slot's rate
    for j in np.flatnonzero(tab.pressure[0, : tab.n_slots[0]] == 1):
        assert np.all(np.diff(np.concatenate([np.zeros((nz, 1)), pcum[:, j]], axis=1), axis=1) >= 0.0)
        assert np.allclose(pcum[:, j, -1], rows[:, 0, 0, j])
    # the gates and households
    for chance in (rates.admit_s, rates.admit_i, rates.conceal):
        assert np.all((chance >= 0.0) & (chance <= 1.0))
    p_h = rates.p_hybrid
    for r_ in (0.0, 0.5, 1.0):
        for s in range(ns):
            assert 0.0 <= hybrid_probability(float(p_h[s]), float(world.scenario.pathogen.k_res), r_) <= 1.0


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 1000), beta=st.floats(0.0, 3.0), alpha=st.floats(0.0, 3.0),
       kappa=st.floats(0.0, 1.0), cure=st.floats(0.0, 1.0), mass=st.booleans())
def test_step_conserves_people_and_keeps_counts(seed: int, beta: float, alpha: float, kappa: float, cure: float,
                                                mass: bool) -> None:
    """Random parameters: each step's kept counts equal a recount (debug mode), nothing is
    negative, and the population changes only by births."""
    data = scale_population(load("hyosan"), 800).model_dump(by_alias=True)
    data["run"].update({"days": 4, "dt": 0.5, "mixing": "mass_action" if mass else "frequency"})
    data["pathogen"].update({"beta": beta / (800 if mass else 1), "kappa": kappa})
    data["pathogen"]["mutation"]["mu"] = 0.2
    data["defence"]["alpha"] = alpha / (800 if mass else 1)
    data["demography"]["births"] = 2.0
    data["policies"] = [*data["policies"], {"type": "cure", "zones": ["city", "wild"], "rate": cure}]
    sc = from_dict(data)
    os.environ["AFTERMATH_ABM_CHECK"] = "1"
    try:
        r = simulate(sc, engine="abm", seed=seed, check=True)
    finally:
        del os.environ["AFTERMATH_ABM_CHECK"]
    assert (r.counts >= 0).all()
    total = r.counts.sum(axis=(1, 2))
    births = np.concatenate([[0.0], np.cumsum(r.flows[:, Flow.BIRTH].sum(axis=1))])
    assert np.array_equal(total, total[0] + births)


def test_gather_walks_in_person_order_or_refuses_an_overflow() -> None:
    """Notes of band walks (a place in the chunk plus ``k`` chunks: the ``k``-th route out of the
    walker's zone) in two chunks' rooms of two, in two rows (the event step's parts), become words
    ``person << 32 | route`` in person order; a room noted past refuses, reading nothing."""
    from aftermath.engines.abm.step import CHUNK, gather_walks

    move_lo = np.array([0, 2, 4], dtype=np.int64)
    zone = np.zeros(2 * CHUNK, dtype=np.uint16)
    zone[CHUNK + 5] = 1
    out_routes = np.array([[10, 11], [20, 21]], dtype=np.int64)
    moves = np.zeros(8, dtype=np.int32)
    moves[0] = 9 + 1 * CHUNK  # row 0, chunk 0: person 9, their zone's second route (11)
    moves[2] = 5  # row 0, chunk 1: person CHUNK + 5, their zone's first route (20)
    moves[4] = 3  # row 1, chunk 0: person 3, the first route (10)
    words = np.zeros(4, dtype=np.int64)
    move_n = np.array([[1, 1], [1, 0]], dtype=np.int64)
    assert gather_walks(moves, move_lo, move_n, zone, out_routes, words) == 3
    assert list(words[:3]) == [3 << 32 | 10, 9 << 32 | 11, (CHUNK + 5) << 32 | 20] and not move_n.any()
    over = np.array([[1, 3], [0, 0]], dtype=np.int64)  # chunk 1 noted more than its room
    words[:] = -1
    assert gather_walks(moves, move_lo, over, zone, out_routes, words) == -1
    assert over.tolist() == [[1, 3], [0, 0]] and (words == -1).all()  # nothing read


@pytest.mark.parametrize("n, t_span, people", [(0, 5, 100), (3, 5, 100), (5000, 1, 1 << 20), (20000, 40, 51_800_000),
                                               (9000, 3000, (1 << 31) - 1), (70000, 0, 1 << 26), (6000, 63, 1 << 26),
                                               (6000, 64, 1 << 26), (50000, 200, 1 << 24)])
def test_the_calendars_radix_sort_is_a_sort(n: int, t_span: int, people: int) -> None:
    """``sort_keys`` (the newly latent's calendar keys: radix passes within the array's own bytes
    when the packed keys fit in 32 bits, 32 and 33 bits here, else a comparison sort)
    against NumPy's sort: any span of steps, people up to the int32 range, ties of step."""
    from aftermath.engines.abm.events import sort_keys

    rng = np.random.default_rng(n + t_span)
    t = 1000 + rng.integers(0, t_span + 1, n).astype(np.int64)
    who = rng.choice(people, size=n, replace=False) if n <= people else rng.integers(0, people, n)
    keys = (t << 32) | who.astype(np.int64)
    a = np.concatenate([keys, np.full(7, -5, dtype=np.int64)])  # past n: left alone
    sort_keys(a, n)
    assert np.array_equal(a[:n], np.sort(keys)) and (a[n:] == -5).all()
