"""The ODE against the closed forms of docs/validation.md (expected values computed here, not pasted)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

import aftermath as am
from aftermath.model.world import State


def final_size(r0: float) -> float:
    return float(brentq(lambda z: z - 1.0 + np.exp(-r0 * z), 1e-9, 1.0))


def sir(r0: float, days: int = 400, seed_fraction: float = 1e-7) -> am.Result:
    """The built-in SIR setting at a given R0 (beta = R0 * gamma), seeded tiny so the
    large-N closed forms (which assume a vanishing initial prevalence) apply to 1e-4."""
    n = 1e7
    z0 = n * seed_fraction
    sc = am.load("sir", pathogen__beta=r0 * 0.1, run__days=days,
                 **{"zones.town.population": {"S": n - z0, "Z": z0}})
    return am.simulate(sc, engine="ode")


@pytest.mark.parametrize("r0", [1.5, 2.0, 2.5, 3.0])
def test_sir_final_size_and_peak(r0: float) -> None:
    res = sir(r0, days=1500 if r0 < 2 else 600)
    n = res.counts[0].sum()
    s = res.total("S") / n
    attack = 1.0 - s[-1]
    assert attack == pytest.approx(final_size(r0), abs=1e-4)
    # peak prevalence 1 - (1 + ln R0) / R0; sampled daily, so allow the curvature over half a day
    z = res.total("Z") / n
    expected_peak = 1.0 - (1.0 + np.log(r0)) / r0
    curvature = 0.1 * 0.25 * expected_peak * 0.1 * (r0 - 1)  # |Z''| * dt^2 / 2 bound, generous
    assert z.max() == pytest.approx(expected_peak, abs=max(1e-4, curvature))
    # at the peak S/N = 1/R0, within one day's change of S
    k = int(np.argmax(z))
    day_change = abs(s[k + 1] - s[k - 1]) / 2
    assert abs(s[k] - 1.0 / r0) <= day_change + 1e-4


def test_sir_early_growth_rate() -> None:
    res = sir(2.5, days=40, seed_fraction=1e-9)
    z = res.total("Z")
    rate = np.log(z[30] / z[20]) / 10.0
    assert rate == pytest.approx(0.1 * (2.5 - 1.0), rel=2e-3)


def test_sis_endemic_level() -> None:
    """Cure without immunity: ferals return to S at rate c; endemic share 1 - 1/R0, R0 = beta/c."""
    beta, c = 0.3, 0.1
    sc = am.load("sir", pathogen__beta=beta, defence__decay=0.0, run__days=800,
                 policies=[{"type": "cure", "zones": ["town"], "rate": c}])
    res = am.simulate(sc, engine="ode")
    n = res.counts[0].sum()
    assert res.total("Z")[-1] / n == pytest.approx(1.0 - c / beta, abs=1e-4)
    # reinfection is endemic: many infections per person, but the attack rate is a share
    s = res.summary()
    assert s["infections"] > 5 * s["initial_humans"]
    assert 0.99 < s["attack_rate"] <= 1.0 + 1e-9


def test_munz_basic_szr() -> None:
    res = am.simulate(am.load("munz-basic"), engine="ode")
    c = res.counts[:, 0, :]
    # conservation S + Z + R = N with Pi = 0 (Munz's R are corpses that can rise: our D, plus R)
    total = c[:, State.S] + c[:, State.Z] + c[:, State.D] + c[:, State.R]
    assert np.allclose(total, 500.0, atol=1e-6)
    assert c[5, State.S] == pytest.approx(1.498, abs=1e-2)
    # ferals outnumber humans at t = 2.755: after day 2, before day 3
    assert c[2, State.Z] < c[2, State.S] and c[3, State.Z] > c[3, State.S]


def test_munz_humans_lose_whenever_beta_positive() -> None:
    """The disease-free equilibrium is unstable whenever beta > 0: even with strong defence."""
    res = am.simulate(am.load("munz-basic", defence__alpha=0.009, run__days=200), engine="ode")
    assert res.counts[-1, 0, State.S] < 1.0


def test_alemi_threshold() -> None:
    """Alemi et al. (2015): with alpha/beta > 1 humans survive iff (alpha/beta - 1) S0 > Z0."""
    sc = am.load("alemi-mixed")
    pop = sc.zones[0].population
    ratio = sc.defence.alpha / sc.pathogen.beta
    assert ratio > 1
    threshold = (ratio - 1.0) * pop.S
    survive = am.simulate(am.load("alemi-mixed", run__days=2000,
                                  **{"zones.0.population": {"S": pop.S, "Z": 0.8 * threshold}}))
    lose = am.simulate(am.load("alemi-mixed", run__days=2000,
                               **{"zones.0.population": {"S": pop.S, "Z": 1.2 * threshold}}))
    # the survivors are those the closed form predicts: S_inf = S0 - Z0 / (alpha/beta - 1)
    assert survive.counts[-1, 0, State.S] == pytest.approx(pop.S - 0.8 * threshold / (ratio - 1.0), rel=1e-3)
    assert survive.counts[-1, 0, State.Z] < 0.5
    assert lose.counts[-1, 0, State.S] < 0.5
