"""Parameters to fit: a scenario path with bounds and a prior (uniform or log-uniform).

``--param PATH=LO:HI`` is uniform on [LO, HI]; ``--param PATH=LO:HI:log`` is log-uniform (uniform in
log x; LO > 0). Paths are those of ``--set`` and ``sweep --param`` (``pathogen.beta``,
``zones.school.wall``), plus the observation model's own parameters, which no scenario has:

* ``obs.report_fraction``: the share of the model's counts that is reported (0 < f <= 1);
* ``obs.dispersion``: the negative binomial's size k (variance mu + mu^2 / k);
* ``obs.sigma``: the standard deviation of the log-normal likelihood (on the log(1 + y) scale);
* ``obs.sd``: the standard deviation of the normal likelihood (in the data's units).

Every prior is uniform in a scaled coordinate z in (0, 1) (z = (x - lo) / (hi - lo), or the same on
log x); the samplers work on u = logit(z), unbounded, where the prior's density is z (1 - z).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit

F64 = NDArray[np.float64]

#: Prior kinds and the words accepted for them after ``LO:HI:``.
KINDS = {"uniform": "uniform", "log": "log-uniform", "log-uniform": "log-uniform", "loguniform": "log-uniform"}
#: Parameters of the observation model (not scenario paths), with the bounds they must lie in.
OBS_PARAMS: dict[str, tuple[float, float]] = {
    "obs.report_fraction": (0.0, 1.0),
    "obs.dispersion": (0.0, 1e9),
    "obs.sigma": (0.0, 100.0),
    "obs.sd": (0.0, 1e12),
}


class CalibrationError(ValueError):
    """Input a calibration cannot use: the message names the flag or column, the value and what was expected."""


@dataclass(frozen=True)
class Prior:
    """One fitted parameter: its scenario path, bounds and prior kind (``uniform``, ``log-uniform``)."""

    path: str
    lo: float
    hi: float
    kind: str = "uniform"

    def __post_init__(self) -> None:
        flag = f"--param {self.path}"
        if self.kind not in ("uniform", "log-uniform"):
            raise CalibrationError(f"{flag}: prior {self.kind!r}, expected uniform or log-uniform")
        for v in (self.lo, self.hi):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise CalibrationError(f"{flag}: bound {v!r}, expected a finite number")
        if not self.lo < self.hi:
            raise CalibrationError(f"{flag}={self.lo:g}:{self.hi:g}: lower bound >= upper bound, expected LO < HI")
        if self.kind == "log-uniform" and self.lo <= 0:
            raise CalibrationError(f"{flag}={self.lo:g}:{self.hi:g}:log: lower bound {self.lo:g}, expected LO > 0 "
                                   "for a log-uniform prior")
        if self.path in OBS_PARAMS:
            a, b = OBS_PARAMS[self.path]
            if self.lo <= a or self.hi > b:
                raise CalibrationError(f"{flag}={self.lo:g}:{self.hi:g}: expected bounds within ({a:g}, {b:g}]")

    @property
    def is_obs(self) -> bool:
        return self.path in OBS_PARAMS

    @property
    def log(self) -> bool:
        return self.kind == "log-uniform"

    def _ends(self) -> tuple[float, float]:
        return (math.log(self.lo), math.log(self.hi)) if self.log else (self.lo, self.hi)

    def to_z(self, x: float) -> float:
        a, b = self._ends()
        return ((math.log(x) if self.log else x) - a) / (b - a)

    def from_z(self, z: float) -> float:
        a, b = self._ends()
        v = a + z * (b - a)
        x = math.exp(v) if self.log else v
        return min(max(x, self.lo), self.hi)

    def log_density(self, x: float) -> float:
        """The prior's log density at ``x`` in the parameter's own units (-inf outside the bounds)."""
        if not self.lo <= x <= self.hi:
            return -math.inf
        if self.log:
            return -math.log(x) - math.log(math.log(self.hi) - math.log(self.lo))
        return -math.log(self.hi - self.lo)

    def describe(self) -> str:
        return f"{self.kind} on [{self.lo:g}, {self.hi:g}]"


def parse_prior(spec: str) -> Prior:
    """``PATH=LO:HI`` (uniform) or ``PATH=LO:HI:log`` (log-uniform)."""
    path, sep, rhs = spec.rpartition("=")  # the bounds have no "=", a quoted policy name may
    path, rhs = path.strip(), rhs.strip()
    if not sep or not path or not rhs or not _path_ok(path):
        raise CalibrationError(f"--param {spec!r}: expected PATH=LO:HI or PATH=LO:HI:log, e.g. pathogen.beta=0.1:3 "
                               'or policies."a name".rate=0:1')
    parts = [p.strip() for p in rhs.split(":")]
    if len(parts) not in (2, 3):
        raise CalibrationError(f"--param {spec!r}: expected PATH=LO:HI or PATH=LO:HI:log (bounds, then a prior)")
    kind = "uniform"
    if len(parts) == 3:
        if parts[2].lower() not in KINDS:
            raise CalibrationError(f"--param {spec!r}: prior {parts[2]!r}, expected one of uniform, log")
        kind = KINDS[parts[2].lower()]
    bounds = []
    for p in parts[:2]:
        try:
            v = float(p)
        except ValueError:
            raise CalibrationError(f"--param {spec!r}: bound {p!r}, expected a number") from None
        bounds.append(v)
    return Prior(path, bounds[0], bounds[1], kind)


def _path_ok(path: str) -> bool:
    """Parts that are not empty, split as scenario overrides split them (dots inside double quotes
    belong to a name: ``policies."seal v1.2".when``)."""
    from aftermath.scenario.load import ScenarioError, split_path

    try:
        return all(part for part, _ in split_path(path, source="--param"))
    except ScenarioError:
        return False


def as_priors(params: Mapping[str, Any] | Sequence[Prior | str]) -> list[Prior]:
    """Priors from the API: ``{path: (lo, hi)}``, ``{path: (lo, hi, "log")}``, ``{path: "lo:hi"}``, a
    list of :class:`Prior` or of ``PATH=LO:HI`` strings."""
    out: list[Prior] = []
    if isinstance(params, Mapping):
        for path, v in params.items():
            if isinstance(v, Prior):
                out.append(v)
            elif isinstance(v, str):
                out.append(parse_prior(f"{path}={v}"))
            elif isinstance(v, Sequence) and len(v) in (2, 3):
                kind = KINDS.get(str(v[2]).lower(), str(v[2])) if len(v) == 3 else "uniform"
                out.append(Prior(str(path), float(v[0]), float(v[1]), kind))
            else:
                raise CalibrationError(f"--param {path}: got {v!r}, expected (lo, hi) or (lo, hi, 'log')")
    else:
        for v in params:
            out.append(v if isinstance(v, Prior) else parse_prior(str(v)))
    if not out:
        raise CalibrationError("--param: none given, expected at least one PATH=LO:HI to fit")
    paths = [p.path for p in out]
    dup = sorted({p for p in paths if paths.count(p) > 1})
    if dup:
        raise CalibrationError(f"--param {dup[0]}: given twice, expected each path once")
    return out


class Space:
    """The fitted parameters as one vector: natural units ``x``, unit cube ``z`` and unbounded ``u``."""

    def __init__(self, priors: Sequence[Prior]) -> None:
        self.priors = list(priors)
        self.paths = [p.path for p in self.priors]

    @property
    def dim(self) -> int:
        return len(self.priors)

    def x_from_u(self, u: F64) -> F64:
        z = expit(np.asarray(u, dtype=float))  # no overflow for any u
        return np.array([p.from_z(float(zi)) for p, zi in zip(self.priors, z, strict=True)])

    def u_from_x(self, x: F64, margin: float = 1e-12) -> F64:
        """u of ``x``, with z clipped to [margin, 1 - margin] (a bound itself has no finite u)."""
        z = np.array([p.to_z(float(xi)) for p, xi in zip(self.priors, x, strict=True)])
        out: F64 = logit(np.clip(z, margin, 1 - margin))
        return out

    def log_prior_u(self, u: F64) -> float:
        """The prior's log density in u (the logistic density of each coordinate)."""
        u = np.asarray(u, dtype=float)
        return float(-np.sum(np.logaddexp(0.0, u) + np.logaddexp(0.0, -u)))

    def log_prior_x(self, x: F64) -> float:
        return float(sum(p.log_density(float(v)) for p, v in zip(self.priors, x, strict=True)))

    def as_dict(self, x: F64) -> dict[str, float]:
        return {p: float(v) for p, v in zip(self.paths, x, strict=True)}
