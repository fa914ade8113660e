"""Expected values and measurements for each family of checks in the catalogue.

``expected_*`` functions read the model's parameters from the clean scenario and evaluate a closed
form (:mod:`aftermath.validation.closed_forms`); ``measure_*`` functions run the (possibly
perturbed) scenario with the check's engine and read the result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from aftermath.model.world import State, build_world
from aftermath.result import PRESENCE, Result
from aftermath.scenario.schema import CurePolicy, Scenario, SweepPolicy
from aftermath.validation import closed_forms as cf
from aftermath.validation.check import Expected, Measured, Trial
from aftermath.validation.measure import dense_ode, dense_peak, final_share, peak_time

# -- parameters read from a scenario ----------------------------------------------------------


def _initial(sc: Scenario) -> tuple[float, float, float]:
    """(N, S0, Z0) over the whole world at day 0."""
    c = build_world(sc).counts0.sum(axis=0)
    return float(c.sum()), float(c[State.S]), float(c[State.Z])


def sir_r0(sc: Scenario) -> float:
    """``R0 = beta / gamma`` of the SIR limit (gamma: feral decay)."""
    return sc.pathogen.beta / sc.defence.decay


def _cure_rate(sc: Scenario) -> float:
    return sum(p.rate for p in sc.policies if isinstance(p, CurePolicy))


def _sweep(sc: Scenario) -> SweepPolicy:
    sweeps = [p for p in sc.policies if isinstance(p, SweepPolicy)]
    if len(sweeps) != 1:
        raise ValueError("the eradication checks need exactly one sweep policy")
    return sweeps[0]


# -- SIR and SIS limits ---------------------------------------------------------------------------


def expected_sir_final(sc: Scenario) -> Expected:
    n, s0, _ = _initial(sc)
    r0 = sir_r0(sc)
    x = cf.sir_final_size(r0, s0 / n)
    return Expected(x, f"x = 1 - s0 exp(-R0 x), R0 = {r0:g}, s0 = {s0 / n:.6g} (textbook s0 = 1: "
                       f"{cf.sir_final_size(r0):.4f})")


def measure_final_removed(sc: Scenario, trial: Trial) -> Measured:
    res = trial.cache.run(sc, trial.engine)
    return Measured(final_share(res, State.R), note=f"R(day {res.days}) / N")


def expected_sir_peak(sc: Scenario) -> Expected:
    n, s0, z0 = _initial(sc)
    r0 = sir_r0(sc)
    v = cf.sir_peak_prevalence(r0, s0 / n, z0 / n)
    return Expected(v, f"i0 + s0 - (1 + ln(R0 s0)) / R0, R0 = {r0:g} (textbook: {cf.sir_peak_prevalence(r0):.4f})")


def measure_dense_peak(sc: Scenario, trial: Trial) -> Measured:
    d = dense_ode(sc, float(sc.run.days))
    t, z = dense_peak(d, State.Z)
    return Measured(z / d.population, note=f"max Z(t) / N at t = {t:.3f} (dense)")


def expected_sis(sc: Scenario) -> Expected:
    c = _cure_rate(sc)
    r0 = sc.pathogen.beta / c
    return Expected(cf.sis_endemic(r0), f"1 - 1/R0, R0 = beta / c = {sc.pathogen.beta:g} / {c:g}")


def measure_final_feral_share(sc: Scenario, trial: Trial) -> Measured:
    res = trial.cache.run(sc, trial.engine)
    return Measured(final_share(res, State.Z), note=f"Z(day {res.days}) / N")


# -- Munz et al. (2009) ---------------------------------------------------------------------------


def _munz(sc: Scenario, t_end: float) -> tuple[Callable[[float], np.ndarray], float]:
    c = build_world(sc).counts0.sum(axis=0)
    return cf.munz_reference(alpha=sc.defence.alpha, beta=sc.pathogen.beta, zeta=sc.defence.reanimation,
                             delta=sc.demography.death, pi=sc.demography.births, s0=float(c[State.S]),
                             z0=float(c[State.Z]), r0=float(c[State.D] + c[State.R]), t_end=t_end)


def expected_munz_crossing(sc: Scenario) -> Expected:
    _, t = _munz(sc, float(sc.run.days))
    return Expected(t, "first t with Z = S, Munz's equations integrated directly (published: 2.755)")


def measure_munz_crossing(sc: Scenario, trial: Trial) -> Measured:
    d = dense_ode(sc, float(sc.run.days))
    t = cf.first_crossing(lambda u: float(d.totals(u)[State.Z] - d.totals(u)[State.S]), d.t_end)
    return Measured(t, note="first t with Z(t) = S(t) (dense)")


MUNZ_S_AT = 5.0


def expected_munz_s5(sc: Scenario) -> Expected:
    sol, _ = _munz(sc, float(sc.run.days))
    return Expected(float(sol(MUNZ_S_AT)[0]), "S(5), Munz's equations integrated directly (published: 1.498)")


def measure_munz_s5(sc: Scenario, trial: Trial) -> Measured:
    d = dense_ode(sc, float(sc.run.days))
    return Measured(float(d.totals(MUNZ_S_AT)[State.S]), note="S(5) (dense)")


def expected_conservation(sc: Scenario) -> Expected:
    n, _, _ = _initial(sc)
    pi = float(build_world(sc).births.sum())
    return Expected(0.0, f"(S + Z + R)' = Pi, so S + Z + R = N0 + Pi t: N0 = {n:g}, Pi = {pi:g}",
                    params={"n0": n, "pi": pi})


def measure_conservation(sc: Scenario, trial: Trial) -> Measured:
    """Largest departure from ``N0 + Pi t`` over the run (Munz's R is Aftermath's D + R)."""
    res = trial.cache.run(sc, trial.engine)
    total = res.counts.sum(axis=(1, 2))
    law = trial.expected.params["n0"] + trial.expected.params["pi"] * res.time
    dev = np.abs(total - law)
    return Measured(float(dev.max()), note=f"max_t |S + Z + R - N(t)| over {res.days} days")


# -- impulsive eradication (Munz et al. 2009, section 6) --------------------------------------------


def feral_growth_rate(sc: Scenario) -> float:
    """Initial per-capita feral growth rate under frequency mixing with no defence and no latency:
    ``r = beta S0 / N - decay``."""
    n, s0, _ = _initial(sc)
    return sc.pathogen.beta * s0 / n - sc.defence.decay


def expected_eradication(sc: Scenario) -> Expected:
    sw = _sweep(sc)
    r = feral_growth_rate(sc)
    m = cf.eradication_multiplier(r, sw.every, sw.kill)
    k_star = cf.critical_kill(r, sw.every)
    outcome = "eradicated" if m < 1.0 else "persists"
    return Expected(outcome, f"k = {sw.kill:g} vs k* = 1 - exp(-r T) = {k_star:.4f} (r = {r:.4g}, T = {sw.every:g}); "
                             f"exp(rT)(1 - k) = {m:.4f}")


def measure_eradication(sc: Scenario, trial: Trial) -> Measured:
    res = trial.cache.run(sc, trial.engine)
    z = float(res.total(State.Z)[-1])
    return Measured("eradicated" if z < PRESENCE else "persists", note=f"Z(day {res.days}) = {z:.3g}")


# -- Alemi et al. (2015) ------------------------------------------------------------------------------


def _alemi(sc: Scenario) -> tuple[float, float, float]:
    _, s0, z0 = _initial(sc)
    s_inf, z_inf = cf.alemi_end_state(sc.defence.alpha, sc.pathogen.beta, s0, z0)
    return s_inf, z_inf, sc.defence.alpha / sc.pathogen.beta


def expected_alemi_humans(sc: Scenario) -> Expected:
    s_inf, _, rho = _alemi(sc)
    return Expected(s_inf, f"S_inf = S0 - Z0 / (alpha/beta - 1), alpha/beta = {rho:g} (humans survive)")


def expected_alemi_ferals(sc: Scenario) -> Expected:
    _, z_inf, rho = _alemi(sc)
    return Expected(z_inf, f"Z_inf = Z0 - (alpha/beta - 1) S0, alpha/beta = {rho:g} (ferals win)")


def _measure_final(state: State) -> Callable[[Scenario, Trial], Measured]:
    def measure(sc: Scenario, trial: Trial) -> Measured:
        res = trial.cache.run(sc, trial.engine)
        return Measured(float(res.total(state)[-1]), note=f"{state.name}(day {res.days})")

    return measure


measure_final_humans = _measure_final(State.S)
measure_final_ferals = _measure_final(State.Z)


# -- engine agreement -------------------------------------------------------------------------------


def _stat_final_size(res: Result) -> float:
    return final_share(res, State.R)


def _stat_peak_time(res: Result) -> float:
    return peak_time(res.total(State.Z))


def expected_ode_final_size(sc: Scenario) -> Expected:
    from aftermath.engines.driver import simulate

    return Expected(_stat_final_size(simulate(sc, engine="ode")), "ODE: R(end) / N")


def expected_ode_peak_time(sc: Scenario) -> Expected:
    from aftermath.engines.driver import simulate

    return Expected(_stat_peak_time(simulate(sc, engine="ode")), "ODE: time of the feral peak (parabola, daily counts)")


def measure_mean_final_size(sc: Scenario, trial: Trial) -> Measured:
    est = trial.cache.ensemble(sc, trial.engine, trial.runs, _stat_final_size)
    return Measured(est.value, est.se, f"mean of {est.n} runs, s.e. {est.se:.2g}")


def measure_mean_peak_time(sc: Scenario, trial: Trial) -> Measured:
    est = trial.cache.ensemble(sc, trial.engine, trial.runs, _stat_peak_time)
    return Measured(est.value, est.se, f"mean of {est.n} runs, s.e. {est.se:.2g}")
