"""ABM kernels: the compiled code equals the same code run as Python, and properties that must hold."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aftermath.engines.abm.hazards import denominators, out_route_table, strain_rows, zone_rows
from aftermath.engines.abm.rng import keys, stream_key, uniform
from aftermath.engines.abm.step import admission, hybrid_probability, latency_steps
from aftermath.engines.driver import simulate
from aftermath.model import world as world_mod
from aftermath.model.flows import Flow
from aftermath.scenario.load import from_dict, load
from aftermath.scenario.scale import scale_population

PY_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_abm_reproducibility import digest, small_hyosan
from aftermath.engines.driver import simulate
print("DIGEST", digest(simulate(small_hyosan(people=600, days=6, dt=0.5), engine="abm", seed=5)))
"""


def _digest_with(env: dict[str, str]) -> str:
    code = PY_SCRIPT.format(tests=os.path.dirname(__file__))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=600, check=True).stdout
    return next(line.split()[1] for line in out.splitlines() if line.startswith("DIGEST"))


def test_compiled_equals_python() -> None:
    """Every kernel of a small full run (mutation, sweeps, culls, screening) gives the same bits
    compiled and interpreted (NUMBA_DISABLE_JIT=1): no miscompile, no numba-only semantics."""
    assert _digest_with({"NUMBA_DISABLE_JIT": "1"}) == _digest_with({})


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


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 1000), min_size=12, max_size=12), mass=st.booleans(),
       rate=st.floats(0.0, 50.0), dt=st.sampled_from([0.01, 0.25, 1.0]))
def test_hazard_tables_are_probabilities(counts: list[int], mass: bool, rate: float, dt: float) -> None:
    nz, ns = 2, 2
    cs = np.zeros((nz, 7), dtype=np.int64)
    cs[:, :6] = np.array(counts).reshape(nz, 6)
    czs = np.zeros((nz, ns, 3), dtype=np.int64)
    czs[:, 0, :] = cs[:, 1:4]
    den = denominators(cs, mass, True)
    routes = out_route_table(np.array([0, 1]), nz)
    maxe = 6 + routes.shape[1]
    zr, zt, zp = np.zeros((nz, 6, maxe)), np.zeros((nz, 6)), np.zeros((nz, 6))
    v = np.full(nz, rate)
    bite = np.full(nz, rate)
    zone_rows(cs, den, bite, 0.3, rate, v, v, rate, v, np.full(2, rate), routes, dt, zr, zt, zp)
    sr, stt, sp = np.zeros((nz, ns, 2, maxe)), np.zeros((nz, ns, 2)), np.zeros((nz, ns, 2))
    strain_rows(cs, czs, ns, den, v, 0.5, 0.4, rate, np.full((nz, ns), rate), v, v, np.array([1, 0]), rate, v, v,
                np.full(2, rate), np.full((2, ns), rate), routes, dt, sr, stt, sp)
    for p in (zp, sp):
        assert np.all((p >= 0.0) & (p <= 1.0))
    for r in (zr, sr):
        assert np.all(r >= 0.0) and np.all(np.isfinite(r))


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
