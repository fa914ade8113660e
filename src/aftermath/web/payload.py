"""What the dashboard's page draws, from a run: plain JSON, display names rather than ids.

Every figure here is read from the run's own record (:class:`~aftermath.result.Result`, its
summary, the official record, the ledger and the chronicle): the page draws and formats, it never
computes a result of its own. The map's layout is the report's (:func:`aftermath.report.plots_map.layout`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from aftermath.model.flows import RouteFlow
from aftermath.model.world import STATE_NAMES, build_world
from aftermath.record.measures import humans
from aftermath.result import Result
from aftermath.scenario.schema import Scenario

#: What each state is called on the page.
STATE_LABELS = {"S": "susceptible (S)", "E": "latent (E)", "H": "hybrids (H)", "Z": "ferals (Z)",
                "D": "corpses (D)", "R": "removed (R)"}
#: The quantiles of an ensemble's bands (the report's 90% and the median).
BAND_QUANTILES = (0.05, 0.5, 0.95)


def display_names(sc: Scenario) -> dict[str, dict[str, str]]:
    """Zones, factions and policies by id (policies by index) with the names shown to people."""
    return {
        "zones": {z.id: z.name or z.id for z in sc.zones},
        "factions": {f.id: f.name or f.id for f in sc.factions},
        "policies": {str(i): p.name or f"{p.type} policy {i}" for i, p in enumerate(sc.policies)},
    }


def _r(a: Any, digits: int = 2) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def _bits(a: Any) -> str:
    """A boolean array as a string of 0 and 1."""
    return (np.asarray(a, dtype=bool).reshape(-1).view(np.uint8) + ord("0")).tobytes().decode("ascii")


def result_payload(res: Result, rid: str, light: bool = False) -> dict[str, Any]:
    """One run for the page. ``light`` (the slider's re-runs) leaves out the chronicle and map."""
    sc = res.scenario
    names = display_names(sc)
    zones = [{"id": zid, "name": names["zones"].get(zid, zid)} for zid in res.zone_ids]
    counts = res.counts  # [time, zone, state]
    out: dict[str, Any] = {
        "id": rid,
        "scenario": sc.name,
        "engine": res.engine,
        "seed": res.seed,
        "days": res.days,
        "zones": zones,
        "states": list(STATE_NAMES),
        "state_labels": [STATE_LABELS.get(s, s) for s in STATE_NAMES],
        "counts": _r(counts.transpose(1, 2, 0)),  # [zone][state][time], rounded in one pass
        "totals": [_r(counts[:, :, s].sum(axis=1)) for s in range(counts.shape[2])],
        "timings": {k: round(float(v), 4) for k, v in res.timings.items()},
    }
    summary = res.summary()
    out["summary"] = {k: summary.get(k) for k in (
        "initial_humans", "survivors", "deaths", "turned", "infections", "attack_rate", "peak_ferals",
        "peak_ferals_day", "elimination_day", "extinction_day", "breaches", "killed_by_policy", "culled",
        "hybrids_swept", "starved", "turned_away_attempts", "turned_away_attempts_healthy", "ferals_swept")}
    if light:
        return out
    out["ledger"] = summary.get("ledger", {})
    out["official_record"] = [
        {**r, "faction_name": names["factions"].get(str(r.get("faction")), str(r.get("faction")))}
        for r in summary.get("official_record", [])]
    out["policies"] = [
        {"faction": names["factions"].get(fid, fid) if fid else "", **item}
        for fid, items in summary.get("factions", {}).items() for item in items]
    out["chronicle"] = [
        {"day": int(e.day), "zone": names["zones"].get(e.zone, e.zone), "kind": e.kind, "text": e.text}
        for e in res.chronicle]
    out["map"] = map_payload(res)
    return out


#: The keys of :func:`result_payload` that a ``light`` payload leaves out: the views besides the curves.
VIEW_KEYS = ("ledger", "official_record", "policies", "chronicle", "map")


def views_payload(res: Result) -> dict[str, Any]:
    """The views of a run that a ``light`` payload leaves out (:data:`VIEW_KEYS`), as in the full one."""
    full = result_payload(res, "")
    return {k: full[k] for k in VIEW_KEYS}


@functools.lru_cache(maxsize=64)
def _layout(n: int, edges: tuple[tuple[int, int], ...]) -> Any:
    """The report's map layout (deterministic), kept: a slider's re-runs share one world."""
    from aftermath.report.plots_map import layout

    return layout(n, list(edges))


def map_payload(res: Result) -> dict[str, Any]:
    """The zone map through time: layout, people, fear, walls, seals, routes open and traffic, truces."""
    sc = res.scenario
    world = build_world(sc)
    names = display_names(sc)
    edges = list(zip(world.route_from.tolist(), world.route_to.tolist(), strict=True))
    pos = _layout(world.n_zones, tuple(edges))
    days = res.days
    # a route is open on day d while the truce it needs holds after day d (as the run's last row when
    # the run is shorter) and its origin is not sealed: world.route_open_by_truce for all days at once
    truce = res.truce[np.minimum(np.arange(1, days + 1), len(res.truce) - 1)]  # [day, faction, faction]
    fa, fb = world.zone_faction[world.route_from], world.zone_faction[world.route_to]
    cross = np.flatnonzero((fa >= 0) & (fb >= 0) & (fa != fb))
    open_ = np.ones((days, world.n_routes), dtype=bool)
    open_[:, cross] = truce[:, fa[cross], fb[cross]]
    open_ &= ~res.sealed[:days][:, world.route_from]
    traffic = res.route_flows[:, RouteFlow.HUMANS] + res.route_flows[:, RouteFlow.FERALS] if days else \
        np.zeros((0, world.n_routes))
    factions = list(world.faction_ids)
    ever = np.asarray(res.truce.any(axis=0), dtype=bool)
    fname = names["factions"]
    pairs = [{"a": fname.get(factions[a], factions[a]), "b": fname.get(factions[b], factions[b]),
              "on": _bits(res.truce[:, a, b])}
             for a in range(len(factions)) for b in range(a + 1, len(factions)) if ever[a, b]]
    return {
        "pos": _r(pos, 4),
        "zone_faction": [names["factions"].get(factions[f], factions[f]) if f >= 0 else ""
                         for f in world.zone_faction.tolist()],
        "wall": _r(world.wall, 3),
        "people": [_r(humans(res.counts[:, z]), 0) for z in range(world.n_zones)],
        "ferals": [_r(res.counts[:, z, STATE_NAMES.index("Z")], 0) for z in range(world.n_zones)],
        "fear": [_r(res.fear[:, z], 3) for z in range(world.n_zones)],
        "sealed": [_bits(res.sealed[:, z]) for z in range(world.n_zones)],
        "routes": [{"from": a, "to": b, "open": _bits(open_[:, r]),
                    "traffic": _r(traffic[:, r], 1)} for r, (a, b) in enumerate(edges)],
        "truces": pairs,
    }


def bands_payload(results: Sequence[Result]) -> dict[str, Any]:
    """Quantile bands (5%, 50%, 95%) over runs of one scenario: world totals and zones, per state."""
    counts = np.stack([r.counts for r in results])  # [run, time, zone, state]
    q = np.quantile(counts, BAND_QUANTILES, axis=0)  # [q, time, zone, state]
    qt = np.quantile(counts.sum(axis=2), BAND_QUANTILES, axis=0)  # [q, time, state]
    return {
        "runs": len(results),
        "quantiles": list(BAND_QUANTILES),
        "totals": [[_r(qt[i, :, s]) for i in range(len(BAND_QUANTILES))] for s in range(counts.shape[3])],
        "zones": [[[_r(q[i, :, z, s]) for i in range(len(BAND_QUANTILES))] for s in range(counts.shape[3])]
                  for z in range(counts.shape[2])],
    }
