"""Sweep parameters: ``--param PATH=SPEC`` on the command line and the sweep file (TOML).

A parameter is addressed by its scenario path (``pathogen.beta``, ``zones.school.wall``) and given
either a list of values (a grid axis) or bounds (for Latin hypercube and Sobol sampling):

* ``PATH=START:STOP:N``: N evenly spaced values from START to STOP, both included; bounds START, STOP.
* ``PATH=START:STOP``: bounds only (for ``--lhs``).
* ``PATH=A,B,C``: these values (any TOML scalars: numbers, true/false, "strings").
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aftermath.scenario.load import parse_value

#: The most values one parameter's axis (``START:STOP:N``), and the most points one sweep, may have:
#: checked before any value is made (docs/ensembles.md).
MAX_POINTS = 100_000


class ParamError(ValueError):
    """A parameter spec or sweep file that cannot be read; the message says what was expected."""


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter: grid ``values`` and/or sampling ``bounds``."""

    path: str
    values: tuple[Any, ...] = ()
    bounds: tuple[float, float] | None = None
    integer: bool = False

    def grid(self) -> list[Any]:
        if not self.values:
            raise ParamError(f"{self.path}: a grid needs values (START:STOP:N or A,B,C), got only bounds")
        return list(self.values)

    def span(self) -> tuple[float, float]:
        if self.bounds is not None:
            return self.bounds
        nums = [v for v in self.values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(nums) != len(self.values) or not nums:
            raise ParamError(f"{self.path}: sampling needs numeric bounds, got {list(self.values)}")
        return (float(min(nums)), float(max(nums)))


def _number(text: str, spec: str) -> float | int:
    value = parse_value(text.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParamError(f"--param {spec!r}: {text.strip()!r} is not a number")
    return value


def parse_param(spec: str) -> ParamSpec:
    """Read ``PATH=START:STOP:N``, ``PATH=START:STOP`` or ``PATH=A,B,C``."""
    path, sep, rhs = spec.partition("=")
    path, rhs = path.strip(), rhs.strip()
    if not sep or not path or not rhs:
        raise ParamError(f"--param {spec!r}: expected PATH=START:STOP:N, PATH=START:STOP or PATH=A,B,C")
    if any(not part for part in path.split(".")):
        raise ParamError(f"--param {spec!r}: {path!r} is not a scenario path like pathogen.beta")
    if ":" in rhs:
        parts = rhs.split(":")
        if len(parts) not in (2, 3):
            raise ParamError(f"--param {spec!r}: expected START:STOP:N or START:STOP")
        lo, hi = _number(parts[0], spec), _number(parts[1], spec)
        integer = isinstance(lo, int) and isinstance(hi, int)
        if len(parts) == 2:
            return ParamSpec(path, (), (float(lo), float(hi)), integer)
        n = parse_value(parts[2].strip())
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_POINTS:
            raise ParamError(f"--param {spec!r}: N: got {parts[2].strip()!r}, expected a whole number from 1 to "
                             f"{MAX_POINTS:,}")
        return ParamSpec(path, linspace(lo, hi, n, integer), (float(lo), float(hi)), integer)
    values = tuple(parse_value(v.strip()) for v in rhs.split(",") if v.strip())
    if not values:
        raise ParamError(f"--param {spec!r}: no values")
    return ParamSpec(path, values)


def linspace(lo: float, hi: float, n: int, integer: bool = False) -> tuple[Any, ...]:
    """N values from lo to hi; whole numbers when both ends are and every value is whole."""
    vals = np.linspace(float(lo), float(hi), n) if n > 1 else np.array([float(lo)])
    if integer and np.all(vals == np.round(vals)):
        return tuple(int(v) for v in vals)
    return tuple(float(round(v, 12)) for v in vals)


def spec_from_value(path: str, value: Any) -> ParamSpec:
    """A parameter from the API or a sweep file: a list of values, ``{min, max[, n]}`` or a spec string."""
    if isinstance(value, ParamSpec):
        return value
    if isinstance(value, str):
        return parse_param(f"{path}={value}")
    if isinstance(value, Mapping):
        unknown = set(value) - {"min", "max", "n", "values"}
        if unknown:
            raise ParamError(f"{path}: unknown key(s) {sorted(unknown)}; expected min, max, n or values")
        if "values" in value:
            return spec_from_value(path, value["values"])
        if "min" not in value or "max" not in value:
            raise ParamError(f"{path}: a range needs min and max")
        lo, hi = value["min"], value["max"]
        for v in (lo, hi):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ParamError(f"{path}: min and max must be finite numbers, got {v!r}")
        integer = isinstance(lo, int) and isinstance(hi, int)
        n = value.get("n")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_POINTS):
            raise ParamError(f"{path}: n: got {n!r}, expected a whole number from 1 to {MAX_POINTS:,}")
        values = linspace(lo, hi, int(n), integer) if n else ()
        return ParamSpec(path, values, (float(lo), float(hi)), integer)
    if isinstance(value, Sequence):
        if not value:
            raise ParamError(f"{path}: an empty list of values")
        if len(value) > MAX_POINTS:
            raise ParamError(f"{path}: got {len(value):,} values, expected at most {MAX_POINTS:,}")
        return ParamSpec(path, tuple(value))
    return ParamSpec(path, (value,))


@dataclass
class SweepFile:
    """A sweep file: what ``aftermath sweep --file F`` runs. Command-line options override it.

    ```toml
    scenario = "hyosan"        # built-in name or a scenario file (relative to this file)
    method = "grid"            # grid | lhs | sobol
    samples = 16               # lhs/sobol: points (sobol: base samples N)
    runs = 1                   # replicates per point
    seed = 0
    engine = "ode"
    days = 120

    [params]
    "pathogen.beta" = { min = 0.2, max = 0.6, n = 5 }
    "zones.school.wall" = [0.5, 0.7, 0.9]
    ```
    """

    scenario: str | None = None
    method: str | None = None
    samples: int | None = None
    runs: int | None = None
    seed: int | None = None
    engine: str | None = None
    days: int | None = None
    params: dict[str, ParamSpec] = field(default_factory=dict)


_FILE_KEYS = {"scenario", "method", "samples", "runs", "seed", "engine", "days", "params"}


def load_sweep_file(path: str | Path) -> SweepFile:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamError(f"{p}: no such sweep file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ParamError(f"{p}: not a readable TOML sweep file ({exc})") from None
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise ParamError(f"{p}: unknown key(s) {sorted(unknown)}; expected {sorted(_FILE_KEYS)}")
    raw = data.get("params", {})
    if not isinstance(raw, dict) or not raw:
        raise ParamError(f"{p}: a [params] table with at least one scenario path is required")
    out = SweepFile(params={k: spec_from_value(k, v) for k, v in raw.items()})
    for key in ("method", "engine"):
        if key in data:
            setattr(out, key, str(data[key]))
    for key in ("samples", "runs", "seed", "days"):
        if key in data:
            if isinstance(data[key], bool) or not isinstance(data[key], int):
                raise ParamError(f"{p}: {key} must be a whole number, got {data[key]!r}")
            setattr(out, key, data[key])
    if "scenario" in data:
        sc = str(data["scenario"])
        rel = p.parent / sc
        out.scenario = str(rel) if sc.endswith(".toml") and rel.exists() else sc
    return out
