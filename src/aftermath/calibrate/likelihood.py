"""Observation models: how a reported count is distributed around the model's expected count.

For a measure whose model value is m on a day and a reporting fraction f, the reported mean is
mu = f m, and the observed value y is

* ``poisson``: Poisson(mu);
* ``negbin``: negative binomial with mean mu and size k (variance mu + mu^2 / k), k given
  (``--dispersion``) or fitted (``obs.dispersion``);
* ``normal``: Normal(mu, sd), sd given (``--sd``) or fitted (``obs.sd``): least squares, the
  classical fit of a curve to counts (Murray's fit of the boarding-school outbreak is this one);
* ``lognormal``: log(1 + y) ~ Normal(log(1 + mu), sigma), sigma given (``--sigma``) or fitted
  (``obs.sigma``): a normal on a log scale that accepts zeros. Its density is that of y (the Jacobian
  1 / (1 + y) is included), so likelihoods stay comparable.

Means below :data:`FLOOR` are raised to it (a model that predicts no case where one was seen is very
unlikely, not impossible, so an optimiser can find its way out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

F64 = NDArray[np.float64]

LIKELIHOODS = ("poisson", "negbin", "normal", "lognormal")
FLOOR = 1e-6


def logpdf(kind: str, y: F64, mu: F64, dispersion: float | None = None, sigma: float | None = None,
           sd: float | None = None) -> F64:
    """Log density (or mass) of each observation ``y`` given its mean ``mu``, from :mod:`scipy.stats`.

    The count likelihoods are probability masses: a ``y`` that is not a whole number has none
    (-inf); :func:`check_counts` refuses such data before a fit."""
    mu = np.maximum(np.asarray(mu, dtype=float), FLOOR)
    y = np.asarray(y, dtype=float)
    out: F64
    if kind == "normal":
        out = stats.norm.logpdf(y, loc=mu, scale=float(sd if sd is not None else 1.0))
    elif kind == "poisson":
        out = stats.poisson.logpmf(y, mu)
    elif kind == "negbin":
        # SciPy's (n, p): n = k successes, p = k / (k + mu), so the mean n (1 - p) / p is mu and the
        # variance n (1 - p) / p^2 is mu + mu^2 / k
        k = float(dispersion if dispersion is not None else 1.0)
        out = stats.nbinom.logpmf(y, k, k / (k + mu))
    elif kind == "lognormal":
        # 1 + y log-normal with median 1 + mu: log(1 + y) ~ Normal(log(1 + mu), s); the density of
        # y = (1 + y) - 1 (loc -1) carries the Jacobian 1 / (1 + y)
        s = float(sigma if sigma is not None else 0.5)
        out = stats.lognorm.logpdf(y, s, loc=-1.0, scale=1.0 + mu)
    else:
        raise ValueError(f"unknown likelihood {kind!r}: expected one of {', '.join(LIKELIHOODS)}")
    return np.asarray(out, dtype=float)


#: The likelihoods whose observations are counts (whole numbers).
COUNT_LIKELIHOODS = ("poisson", "negbin")


def check_counts(data: pd.DataFrame, kinds: dict[str, str]) -> None:
    """Refuse a value that is not a whole number in a measure scored by a count likelihood."""
    from aftermath.calibrate.priors import CalibrationError

    for measure, kind in kinds.items():
        if kind not in COUNT_LIKELIHOODS:
            continue
        rows = data[data["measure"] == measure]
        v = rows["value"].to_numpy(dtype=float)
        bad = np.flatnonzero(v != np.round(v))
        if len(bad):
            r = rows.iloc[int(bad[0])]
            raise CalibrationError(f"--likelihood {measure}={kind}: day {int(r['day'])}, zone {r['zone']!r}: value "
                                   f"{float(r['value']):g}, expected a whole number (a count; or --likelihood "
                                   f"{measure}=normal or lognormal)")


def draw(kind: str, mu: F64, rng: np.random.Generator, dispersion: float | None = None,
         sigma: float | None = None, sd: float | None = None) -> F64:
    """Observations drawn around ``mu`` (for predictive bands and synthetic likelihoods)."""
    mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
    if kind == "normal":
        normal: F64 = mu + float(sd if sd is not None else 1.0) * rng.standard_normal(mu.shape)
        return normal
    if kind == "poisson":
        return rng.poisson(mu).astype(float)
    if kind == "negbin":
        k = float(dispersion if dispersion is not None else 1.0)
        lam = rng.gamma(k, np.where(mu > 0, mu / k, 0.0))
        return rng.poisson(lam).astype(float)
    if kind == "lognormal":
        s = float(sigma if sigma is not None else 0.5)
        out: F64 = np.maximum(np.expm1(np.log1p(mu) + s * rng.standard_normal(mu.shape)), 0.0)
        return out
    raise ValueError(f"unknown likelihood {kind!r}: expected one of {', '.join(LIKELIHOODS)}")


def transform(kind: str, y: F64) -> F64:
    """The scale on which a synthetic likelihood treats observations as Gaussian: the square root
    (Anscombe's, variance-stabilising) for counts, log(1 + y) for the log-normal."""
    y = np.asarray(y, dtype=float)
    if kind == "lognormal":
        return np.log1p(y)
    if kind == "normal":
        return y
    out: F64 = np.sqrt(y + 0.375)
    return out


def log_jacobian(kind: str, y: F64) -> float:
    """log |d transform / dy| summed: turns a Gaussian density of the transformed data into one of y."""
    y = np.asarray(y, dtype=float)
    if kind == "lognormal":
        return float(-np.sum(np.log1p(y)))
    if kind == "normal":
        return 0.0
    return float(np.sum(-np.log(2.0) - 0.5 * np.log(y + 0.375)))


def parse_likelihoods(specs: list[str] | str | dict[str, str] | None, measures: list[str]) -> dict[str, str]:
    """``poisson`` for every measure, or ``MEASURE=KIND`` per measure (repeatable), or a dict."""
    from aftermath.calibrate.priors import CalibrationError

    out = {m: "poisson" for m in measures}
    if specs is None:
        return out
    items: list[tuple[str | None, str]]
    if isinstance(specs, dict):
        items = [(str(k), str(v)) for k, v in specs.items()]
    else:
        items = []
        for s in [specs] if isinstance(specs, str) else specs:
            left, sep, right = str(s).partition("=")
            items.append((left.strip(), right.strip()) if sep else (None, left.strip()))
    seen: dict[str | None, str] = {}  # each measure once, and one kind for all at most: none silently replaced
    for name, kind in items:
        if name in seen:
            said = f"{name}={kind}" if name is not None else kind
            was = f"{name}={seen[name]}" if name is not None else seen[name]
            what = f"measure {name!r}" if name is not None else "the likelihood of every measure"
            raise CalibrationError(f"--likelihood {said}: {what} is given twice (first {was}); "
                                   "expected each measure once")
        seen[name] = kind
        if kind not in LIKELIHOODS:
            raise CalibrationError(f"--likelihood {kind!r}: expected one of {', '.join(LIKELIHOODS)} "
                                   "(or MEASURE=KIND)")
        if name is None:
            out = {m: kind for m in measures}
        elif name not in measures:
            raise CalibrationError(f"--likelihood {name}={kind}: the data have no measure {name!r}; "
                                   f"expected one of {', '.join(measures)}")
        else:
            out[name] = kind
    return out
