"""Zones and routes from a table of regions: populations, coordinates and a mobility model.

A scenario's ``[regions]`` table names a table of regions (a built-in one such as ``"korea"``, a
CSV file, or inline ``rows``), each with an id, a name, a population and the latitude and
longitude of its capital or centroid. Before the scenario is validated, :func:`expand` turns it
into ordinary ``[[zones]]`` (one per region; every engine sees plain zones) and ``[[routes]]``
between them, whose rates follow a mobility model (docs/regions.md):

``gravity`` (default)
    flow_ij = K * P_i^a * P_j^b / max(d_ij, d_min)^c for i != j, with d the great-circle distance
    in km. K is set so that the whole population moves at ``rate`` per person per day on average:
    sum_ij flow_ij = rate * sum_i P_i. A route's rate is per person of its origin,
    r_ij = flow_ij / P_i.
``radiation`` (Simini et al. 2012, parameter-free)
    r_ij = rate * T_ij / sum_k T_ik with T_ij = m_i n_j / ((m_i + s_ij)(m_i + n_j + s_ij)), s_ij
    the population within d_ij of i (i and j excluded): every region sends ``rate`` per person
    per day, shared by the destinations' intervening opportunities.
``none``
    no routes are made (list them by hand).

Ferals wander along the same routes at ``feral_rate`` per feral per day, shared as the humans'.
``max_routes`` keeps the routes to each region's largest destinations and their reverse routes
(balanced flows stay balanced), so a table of many regions stays a sparse network.

Every region's zone takes the keys of ``[regions.zone]`` (kind, wall, household size, ...) and
then its own ``[regions.zones.<id>]`` keys (faction, wall, supplies, a seeded outbreak...). A
region's population counts everyone: people seeded in other states (E, H, Z, D, R) are taken
out of its S, so the zones add up to the table's populations.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aftermath.scenario.schema import MAX_ZONES, STATES, Count, Ident, Name, Rate, _RefError

BUILTIN_PACKAGE = "aftermath.scenario.builtin"
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
MAX_TABLE_BYTES = 1 << 20  # the largest region table read, as a scenario file
F64 = NDArray[np.float64]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Strict):
    """One row of a region table."""

    id: Ident
    name: Name | None = None
    population: Count = Field(description="everyone living there (people)")
    lat: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False, strict=True, description="latitude, degrees north")
    lon: float = Field(ge=-180.0, le=180.0, allow_inf_nan=False, strict=True, description="longitude, degrees east")


class Gravity(_Strict):
    """The gravity model's exponents and the distance floor."""

    a: float = Field(1.0, ge=0.0, le=5.0, allow_inf_nan=False, strict=True, description="origin population exponent")
    b: float = Field(1.0, ge=0.0, le=5.0, allow_inf_nan=False, strict=True,
                     description="destination population exponent")
    c: float = Field(2.0, ge=0.0, le=5.0, allow_inf_nan=False, strict=True, description="distance exponent")
    min_km: float = Field(10.0, gt=0.0, le=10_000.0, allow_inf_nan=False, strict=True,
                          description="distances below this count as this (neighbouring capitals)")


class Regions(_Strict):
    """The ``[regions]`` table of a scenario."""

    data: str | None = Field(None, max_length=4096, strict=True,
                             description="a built-in region table (e.g. 'korea') or a CSV file's path (relative: "
                             "to the scenario file's folder)")
    rows: list[Region] | None = Field(None, max_length=MAX_ZONES, description="the regions, inline")
    mobility: Literal["gravity", "radiation", "none"] = "gravity"
    rate: Rate = Field(0.005, description="mean moves to another region per person per day")
    feral_rate: Rate = Field(0.002, description="moves to another region per feral per day")
    gravity: Gravity = Field(default_factory=Gravity)
    max_routes: int | None = Field(None, ge=1, le=MAX_ZONES, strict=True,
                                   description="keep the routes to each region's largest destinations (and "
                                   "their reverse routes); unset = all")
    zone: dict[str, Any] = Field(default_factory=dict, description="keys every region's zone takes")
    zones: dict[str, dict[str, Any]] = Field(default_factory=dict, description="keys of one region's zone, by id")


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableFiles:
    """Where ``regions.data`` may name a CSV file: ``allowed`` (False: the built-in tables only, as
    for a scenario from the dashboard, whose client must never name a server file) and ``base``, the
    folder a relative path is read from (a scenario file's own folder; None: the current directory)."""

    allowed: bool = True
    base: Path | None = None


#: The built-in region tables only (no file is opened, nor its existence checked).
BUILTIN_ONLY = TableFiles(allowed=False)
#: Any file, a relative path from the current folder (the default, as before there was a choice).
ANY_FILE = TableFiles()
_FILES: ContextVar[TableFiles | None] = ContextVar("aftermath_region_table_files", default=None)


@contextmanager
def table_files(files: TableFiles) -> Iterator[None]:
    """Within the block, ``regions.data`` is read under ``files`` (:class:`TableFiles`); the scenario
    loader sets it (:func:`aftermath.scenario.load.from_dict`'s ``files``)."""
    token = _FILES.set(files)
    try:
        yield
    finally:
        _FILES.reset(token)


def builtin_tables() -> list[str]:
    """Names of the built-in region tables (CSV files beside the built-in scenarios)."""
    return sorted(p.name.removesuffix(".csv") for p in resources.files(BUILTIN_PACKAGE).iterdir()
                  if p.name.endswith(".csv"))


def read_table(data: str, files: TableFiles | None = None) -> list[dict[str, Any]]:
    """The rows of a built-in table or a CSV file: ``id``, ``name``, ``population``, ``lat``,
    ``lon`` columns (others are ignored); lines starting with ``#`` are comments (the source).

    ``files`` (default: as the scenario loader set it, :func:`table_files`) says whether a file may be
    read and where a relative path starts; when files are not allowed, a name other than a built-in
    table is refused before any file is looked at (the message is the same whether it exists or not).
    """
    files = (_FILES.get() or ANY_FILE) if files is None else files
    if data in builtin_tables():
        text = resources.files(BUILTIN_PACKAGE).joinpath(f"{data}.csv").read_text(encoding="utf-8")
    elif not files.allowed:
        raise _RefError("regions.data", data, f"one of the built-in region tables {builtin_tables()} (a scenario "
                        "from the dashboard reads no files on the server: give the regions inline as regions.rows)")
    else:
        path = Path(data)
        if files.base is not None and not path.is_absolute():
            path = files.base / path
        if path.suffix.lower() != ".csv" or not path.is_file():
            where = f" (looked for {path})" if files.base is not None and not Path(data).is_absolute() else ""
            raise _RefError("regions.data", data, f"one of the built-in region tables {builtin_tables()} or an "
                            f"existing .csv file{where}")
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise _RefError("regions.data", data, f"a table of at most {MAX_TABLE_BYTES:,} bytes")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _RefError("regions.data", data, f"a readable UTF-8 CSV file ({exc})") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = {"id", "population", "lat", "lon"} - set(reader.fieldnames or [])
    if missing:
        raise _RefError("regions.data", data, f"a CSV with the columns id, name, population, lat, lon (missing: "
                        f"{', '.join(sorted(missing))})")
    rows: list[dict[str, Any]] = []
    for i, rec in enumerate(reader):
        row: dict[str, Any] = {"id": (rec.get("id") or "").strip()}
        if (rec.get("name") or "").strip():
            row["name"] = rec["name"].strip()
        for key in ("population", "lat", "lon"):
            cell = (rec.get(key) or "").strip()
            try:
                row[key] = float(cell)
            except ValueError:
                raise _RefError(f"regions.data (row {i + 1}).{key}", cell, "a number") from None
        rows.append(row)
    return rows


def _spec(raw: Any) -> Regions:
    """The ``[regions]`` table, validated; an error names its key under ``regions``."""
    if not isinstance(raw, Mapping):
        raise _RefError("regions", raw, "a table: data or rows, mobility, rate, ...")
    try:
        return Regions.model_validate(dict(raw))
    except ValidationError as exc:
        from aftermath.scenario.load import _expected  # the scenario loader's wording of errors

        err = exc.errors(include_url=False)[0]
        path = ".".join(["regions", *(str(p) for p in err["loc"])])
        expected = _expected(err["type"], err.get("ctx") or {}, err["msg"])
        if err["type"] == "extra_forbidden":
            expected = f"one of the known keys {sorted(Regions.model_fields)} (or of the tables in it)"
        raise _RefError(path, err.get("input"), expected) from None


def regions_of(spec: Regions) -> list[Region]:
    """The regions of a spec: its table or its inline rows (exactly one of them)."""
    if (spec.data is None) == (spec.rows is None):
        raise _RefError("regions", "data" if spec.data else "neither", "exactly one of regions.data (a table) "
                        "and regions.rows (inline rows)")
    if spec.rows is not None:
        regions = list(spec.rows)
    else:
        assert spec.data is not None
        regions = []
        for i, row in enumerate(read_table(spec.data)):
            try:
                regions.append(Region.model_validate(row))
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                key = ".".join(str(p) for p in err["loc"])
                raise _RefError(f"regions.data (row {i + 1}, {row.get('id')!r}).{key}", err.get("input"),
                                err["msg"]) from None
    if not regions:
        raise _RefError("regions", 0, "at least one region")
    seen: set[str] = set()
    for i, r in enumerate(regions):
        if r.id in seen:
            raise _RefError(f"regions (row {i + 1}).id", r.id, "an id not used before")
        seen.add(r.id)
    return regions


# -- mobility ----------------------------------------------------------------------------------


def distances_km(lat: F64, lon: F64) -> F64:
    """Great-circle distances (haversine, km) between every pair of points."""
    phi, lam = np.radians(lat), np.radians(lon)
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    h = np.sin(dphi / 2) ** 2 + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    out: F64 = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return out


def gravity_rates(pop: F64, dist: F64, rate: float, g: Gravity) -> F64:
    """Per-person daily rates ``[i, j]`` of moving from region i to j (gravity, normalised so
    that the mean over everyone is ``rate``; see the module docstring)."""
    n = pop.size
    d = np.maximum(dist, g.min_km)
    w = (pop[:, None] ** g.a) * (pop[None, :] ** g.b) / d ** g.c
    w[np.arange(n), np.arange(n)] = 0.0
    total = w.sum()
    if total <= 0.0:
        return np.zeros((n, n))
    flow = w * (rate * pop.sum() / total)  # people per day from i to j
    with np.errstate(divide="ignore", invalid="ignore"):
        out: F64 = np.where(pop[:, None] > 0, flow / pop[:, None], 0.0)
    return out


def radiation_rates(pop: F64, dist: F64, rate: float) -> F64:
    """Per-person daily rates ``[i, j]`` (radiation model; each region sends ``rate`` per person)."""
    n = pop.size
    out = np.zeros((n, n))
    idx = np.arange(n)
    for i in range(n):
        for j in range(n):
            if j == i:
                continue
            inside = (dist[i] < dist[i, j]) & (idx != i) & (idx != j)
            s = pop[inside].sum()
            m, nj = pop[i], pop[j]
            den = (m + s) * (m + nj + s)
            out[i, j] = m * nj / den if den > 0 else 0.0
        tot = out[i].sum()
        if tot > 0:
            out[i] *= rate / tot
    return out


def keep_largest(rates: F64, k: int | None) -> F64:
    """The routes to each region's ``k`` largest destinations, and their reverse routes (``None``:
    all of them). Kept routes keep their rates and the others are dropped, so where the model's
    flows are balanced (gravity with ``a = b``: as many move from i to j as from j to i) they stay
    balanced and no region drains into another; the mean rate is then a little below ``rate``."""
    if k is None or k >= rates.shape[1] - 1:
        return rates
    keep = np.zeros(rates.shape, dtype=bool)
    for i in range(rates.shape[0]):
        top = np.argsort(-rates[i], kind="stable")[:k]
        keep[i, top] = rates[i, top] > 0
    keep |= keep.T
    out: F64 = np.where(keep, rates, 0.0)
    return out


def route_rates(regions: list[Region], spec: Regions) -> F64:
    """``[i, j]`` per-person daily rates of the spec's mobility model (zeros for ``none``)."""
    pop = np.array([r.population for r in regions], dtype=np.float64)
    n = len(regions)
    if spec.mobility == "none" or n < 2:
        return np.zeros((n, n))
    dist = distances_km(np.array([r.lat for r in regions]), np.array([r.lon for r in regions]))
    if spec.mobility == "gravity":
        rates = gravity_rates(pop, dist, spec.rate, spec.gravity)
    else:
        rates = radiation_rates(pop, dist, spec.rate)
    return keep_largest(rates, spec.max_routes)


# -- the expansion -----------------------------------------------------------------------------


def _zone(region: Region, template: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    zone: dict[str, Any] = {**template, **own, "id": region.id}
    if region.name is not None and "name" not in own:
        zone["name"] = region.name
    zone.setdefault("lat", region.lat)  # where the region is: maps draw it there
    zone.setdefault("lon", region.lon)
    seeded = dict(template.get("population", {}) or {})
    seeded.update(own.get("population", {}) or {})
    others = 0.0
    for k, v in seeded.items():
        if k != "S" and k in STATES and isinstance(v, int | float) and not isinstance(v, bool):
            others += float(v)
    if others > region.population:
        raise _RefError(f"regions.zones.{region.id}.population", seeded,
                        f"at most the region's {region.population:,.0f} people in E, H, Z, D and R together")
    zone["population"] = {**seeded, "S": float(seeded.get("S", region.population - others))}
    return zone


def expand(data: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario mapping with its ``regions`` table replaced by zones and routes (put before any
    listed by hand); returns ``data`` as it is when it has no ``regions``."""
    if "regions" not in data:
        return dict(data)
    out = dict(data)
    spec = _spec(out.pop("regions"))
    regions = regions_of(spec)
    ids = [r.id for r in regions]
    for rid in spec.zones:
        if rid not in ids:
            raise _RefError(f"regions.zones.{rid}", rid, f"one of the regions {ids}")
    zones = [_zone(r, spec.zone, spec.zones.get(r.id, {})) for r in regions]
    rates = route_rates(regions, spec)
    feral = rates * (spec.feral_rate / spec.rate) if spec.rate > 0 else np.zeros_like(rates)
    routes: list[dict[str, Any]] = []
    for i, j in zip(*np.nonzero((rates > 0) | (feral > 0)), strict=True):
        routes.append({"from": ids[i], "to": ids[j], "rate": _round(rates[i, j]), "feral_rate": _round(feral[i, j])})
    if spec.mobility != "none" and spec.rate == 0 and spec.feral_rate > 0:
        raise _RefError("regions.rate", 0.0, "a rate > 0: the ferals' routes are shared as the humans'")
    out["zones"] = zones + list(out.get("zones", []) or [])
    out["routes"] = routes + list(out.get("routes", []) or [])
    return out


def _round(x: float) -> float:
    """A rate to 6 significant digits (readable in a dumped scenario, and the same every time)."""
    return float(f"{x:.6g}") if x > 0 and math.isfinite(x) else 0.0
