"""A small adaptive Metropolis sampler (Haario, Saksman and Tamminen 2001), and effective sample sizes.

Neither SciPy nor Optuna (the installed libraries) samples a posterior: SciPy's ``stats.sampling``
draws from univariate distributions, Optuna optimises. So the deterministic fit's posterior is
sampled here, with the plainest method whose correctness is easy to check: random-walk Metropolis
on the unbounded coordinates, whose Gaussian proposal is the chain's own covariance (times
2.38^2 / d) learnt during the burn-in and then frozen, so the kept part of the chain is an ordinary
Metropolis chain with a fixed proposal (reversible with respect to the posterior).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass
class Chain:
    samples: F64  # [kept, d]: the chain after burn-in
    logp: F64  # [kept]
    acceptance: float  # over the kept part
    burn: int


def adaptive_metropolis(logp: Callable[[F64], float], u0: F64, cov0: F64, n: int, rng: np.random.Generator,
                        burn: int | None = None,
                        on_step: Callable[[int, bool], None] | None = None) -> Chain:
    """``n`` steps of Metropolis from ``u0``; the proposal adapts during the first ``burn`` steps
    (default n / 2), which are then dropped. ``on_step(i, accepted)`` is called after every step."""
    d = len(u0)
    burn = n // 2 if burn is None else burn
    scale = 2.38**2 / d
    eps = 1e-8 * np.eye(d)
    prop = scale * (np.asarray(cov0, dtype=float) + eps)
    u = np.array(u0, dtype=float)
    lp = logp(u)
    chain = np.empty((n, d))
    lps = np.empty(n)
    acc = np.zeros(n, dtype=bool)
    mean = u.copy()
    m2 = np.zeros((d, d))
    for i in range(n):
        try:
            chol = np.linalg.cholesky(prop)
        except np.linalg.LinAlgError:
            chol = np.diag(np.sqrt(np.maximum(np.diag(prop), 1e-12)))
        cand = u + chol @ rng.standard_normal(d)
        lc = logp(cand)
        accept = bool(np.log(rng.uniform()) < lc - lp) if np.isfinite(lc) else False
        if accept:
            u, lp = cand, lc
        chain[i], lps[i], acc[i] = u, lp, accept
        if on_step is not None:
            on_step(i, accept)
        if i < burn:  # Welford's running covariance of the chain so far, then a new proposal
            k = i + 2
            delta = u - mean
            mean = mean + delta / k
            m2 = m2 + np.outer(delta, u - mean)
            if i >= min(2 * d + 10, burn // 4):
                emp = m2 / (k - 1)
                prop = scale * (emp + eps + 1e-6 * np.diag(np.diag(cov0)))
    kept = chain[burn:]
    return Chain(kept, lps[burn:], float(acc[burn:].mean()) if n > burn else 0.0, burn)


def ess(x: F64) -> float:
    """Effective sample size of one series (Geyer's initial positive sequence on the FFT autocorrelation)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 4 or np.ptp(x) == 0:
        return float(n)
    y = x - x.mean()
    f = np.fft.rfft(y, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[:n]
    ac = ac / ac[0]
    total = 0.0
    for t in range(0, n - 1, 2):
        pair = ac[t] + ac[t + 1]
        if pair <= 0:
            break
        total += pair
    tau = max(2 * total - 1.0, 1.0)
    return float(n / tau)
