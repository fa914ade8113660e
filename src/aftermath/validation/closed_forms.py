"""Known results, computed from their closed forms (never pasted): the expected values of the catalogue.

Each function names its source. Where a published result assumes an infinitesimal initial seed,
the function takes the seed and gives the exact finite-seed form, which reduces to the textbook
one as the seed goes to zero (the catalogue reports both).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

F64 = NDArray[np.float64]


def sir_final_size(r0: float, s0: float = 1.0) -> float:
    """Final removed fraction ``x`` of the Kermack-McKendrick SIR epidemic: ``x = 1 - s0 exp(-R0 x)``.

    Along a trajectory ``dS/dR = -R0 S / N``, so ``S_inf = S0 exp(-R0 R_inf / N)`` and, with no one
    infected at the end, ``S_inf = N - R_inf``. ``s0 = S0 / N = 1`` (an infinitesimal seed) gives the
    textbook ``z = 1 - exp(-R0 z)`` (Kermack and McKendrick 1927; e.g. Keeling and Rohani 2008,
    section 2.1.2), whose root in ``(0, 1]`` is taken (the other root is ``z = 0``).
    """
    if r0 * s0 <= 1.0 and s0 >= 1.0:
        return 0.0
    return float(brentq(lambda x: x - (1.0 - s0 * math.exp(-r0 * x)), 1e-12, 1.0, xtol=1e-15))


def sir_peak_prevalence(r0: float, s0: float = 1.0, i0: float = 0.0) -> float:
    """Largest infected fraction of the SIR epidemic: ``i0 + s0 - (1 + ln(R0 s0)) / R0``.

    ``I + S - (N / R0) ln S`` is conserved, and the peak is where ``S / N = 1 / R0``. With
    ``s0 = 1, i0 = 0`` this is the textbook ``1 - (1 + ln R0) / R0`` (Keeling and Rohani 2008, 2.1.2).
    """
    if r0 * s0 <= 1.0:
        return i0
    return i0 + s0 - (1.0 + math.log(r0 * s0)) / r0


def sis_endemic(r0: float) -> float:
    """Endemic infected fraction of the SIS model, ``1 - 1/R0`` (0 when ``R0 <= 1``)."""
    return max(0.0, 1.0 - 1.0 / r0)


def munz_reference(alpha: float, beta: float, zeta: float, delta: float, pi: float, s0: float, z0: float,
                   r0: float, t_end: float) -> tuple[Callable[[float], F64], float]:
    """Munz et al. (2009), section 2 (basic model), integrated as written in the paper:

    ``S' = Pi - beta S Z - delta S``, ``Z' = beta S Z + zeta R - alpha S Z``,
    ``R' = delta S + alpha S Z - zeta R``.

    An independent reference for the reaction network (it shares no code with it). Returns the
    dense solution (a callable ``t -> [S, Z, R]``) and the first time ferals outnumber humans.
    """

    def rhs(_t: float, y: F64) -> list[float]:
        s, z, r = y
        bite, kill = beta * s * z, alpha * s * z
        return [pi - bite - delta * s, bite + zeta * r - kill, delta * s + kill - zeta * r]

    sol = solve_ivp(rhs, (0.0, t_end), [s0, z0, r0], method="LSODA", rtol=1e-11, atol=1e-11, dense_output=True)
    dense: Callable[[float], F64] = sol.sol
    return dense, first_crossing(lambda t: float(dense(t)[1] - dense(t)[0]), t_end)


def first_crossing(fn: Callable[[float], float], t_end: float, n_grid: int = 4000) -> float:
    """First ``t`` in ``[0, t_end]`` where ``fn`` turns from negative to non-negative (NaN if never)."""
    ts = np.linspace(0.0, t_end, n_grid + 1)
    vals = np.array([float(fn(t)) for t in ts])
    up = np.flatnonzero((vals[:-1] < 0.0) & (vals[1:] >= 0.0))
    if up.size == 0:
        return float("nan")
    i = int(up[0])
    return float(brentq(lambda t: float(fn(t)), ts[i], ts[i + 1], xtol=1e-12))


def alemi_end_state(alpha: float, beta: float, s0: float, z0: float) -> tuple[float, float]:
    """End state ``(S_inf, Z_inf)`` of Alemi et al. (2015)'s fully mixed SZR model (section 2).

    ``S' = -beta S Z``, ``Z' = (beta - alpha) S Z``: along a trajectory ``dZ/dS = alpha/beta - 1``, so
    ``Z + (1 - alpha/beta) S`` is conserved. One side runs out first: humans survive iff
    ``(alpha/beta - 1) S0 > Z0``, ending at ``S_inf = S0 - Z0 / (alpha/beta - 1)``; otherwise the
    ferals are left at ``Z_inf = Z0 - (alpha/beta - 1) S0``.
    """
    c = z0 + (1.0 - alpha / beta) * s0
    if c < 0.0:
        return s0 - z0 / (alpha / beta - 1.0), 0.0
    return 0.0, c


def eradication_multiplier(growth_rate: float, every: float, kill: float) -> float:
    """Per-cycle feral multiplier under impulsive sweeps: ``exp(r T) (1 - k)``.

    Munz et al. (2009), section 6: between sweeps ferals grow at the rate ``r``; a sweep every ``T``
    days destroys the share ``k``. Ferals are eradicated iff the multiplier is below 1, i.e. the kill
    ratio exceeds the critical ``k* = 1 - exp(-r T)`` (:func:`critical_kill`).
    """
    return math.exp(growth_rate * every) * (1.0 - kill)


def critical_kill(growth_rate: float, every: float) -> float:
    """The kill ratio ``k* = 1 - exp(-r T)`` at which sweeps just hold the ferals level."""
    return 1.0 - math.exp(-growth_rate * every)
