"""What the dashboard's page draws, from a run: plain JSON, display names rather than ids.

Every figure here is read from the run's own record (:class:`~aftermath.result.Result`, its
summary, the official record, the ledger and the chronicle): the page draws and formats, it never
computes a result of its own. The map's layout is the report's (:func:`aftermath.report.plots_map.layout`,
or the zones' latitude and longitude where they have them).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from aftermath.model.flows import RouteFlow
from aftermath.model.world import STATE_NAMES, build_world
from aftermath.record.fine import fine_counts
from aftermath.record.measures import humans
from aftermath.record.vocabulary import (
    Vocabulary,
    faction_names,
    key_numbers,
    state_label,
    vocabulary,
    word,
    zone_names,
)
from aftermath.result import Result
from aftermath.scenario.schema import Scenario

#: The quantiles of an ensemble's bands (the report's 90% and the median).
BAND_QUANTILES = (0.05, 0.5, 0.95)
#: The most points of a curve: finer samples (``run.record_every``) are thinned to about this many.
MAX_CURVE_POINTS = 4000
#: The key numbers shown above the charts (as a run report names them, :func:`key_numbers`).
KEY_SHOWN = ("initial_humans", "survivors", "susceptible", "deaths", "turned", "attack_rate", "killed_by_policy")
#: The costs of policy shown in the Costs table, in this order.
COSTS = ("killed_by_policy", "culled", "hybrids_swept", "starved", "turned_away_attempts",
         "turned_away_attempts_healthy", "ferals_swept", "breaches")


def display_names(sc: Scenario) -> dict[str, dict[str, str]]:
    """Zones, factions and policies by id (policies by index) with the names shown to people."""
    return {
        "zones": zone_names(sc),
        "factions": faction_names(sc),
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
    vocab = vocabulary(sc)
    out: dict[str, Any] = {
        "id": rid,
        "scenario": sc.name,
        "engine": res.engine,
        "seed": res.seed,
        "days": res.days,
        "zones": zones,
        "states": list(STATE_NAMES),
        "state_labels": [state_label(vocab, s) for s in STATE_NAMES],
        "vocabulary": vocab.name,
        "groups": groups_payload(vocab),
        "curves": curves_payload(res, vocab),
        "key_numbers": [[k, label] for k, label in key_numbers(vocab) if k in KEY_SHOWN],
        "costs": costs_payload(vocab),
        "counts": _r(counts.transpose(1, 2, 0)),  # [zone][state][time], rounded in one pass
        "totals": [_r(counts[:, :, s].sum(axis=1)) for s in range(counts.shape[2])],
        "timings": {k: round(float(v), 4) for k, v in res.timings.items()},
    }
    summary = res.summary()
    out["summary"] = {k: summary.get(k) for k in (
        "initial_humans", "survivors", "susceptible", "deaths", "turned", "infections", "attack_rate", "peak_ferals",
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
    from aftermath.report.plots_map import geo_layout, zone_coordinates

    coords = zone_coordinates(sc)  # a world of places (regions): drawn where they are, as in the report
    pos = (geo_layout(coords[:, 0], coords[:, 1]) if coords is not None and len(coords) == world.n_zones
           else _layout(world.n_zones, tuple(edges)))
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
    """Quantile bands (5%, 50%, 95%) over runs of one scenario: world totals and zones, per state;
    and ``curves``: the same of the vocabulary's groups (each a sum of states, its quantiles taken
    over the runs' sums) at the curves' times (:func:`curves_payload`)."""
    counts = np.stack([r.counts for r in results])  # [run, time, zone, state]
    q = np.quantile(counts, BAND_QUANTILES, axis=0)  # [q, time, zone, state]
    qt = np.quantile(counts.sum(axis=2), BAND_QUANTILES, axis=0)  # [q, time, state]
    vocab = vocabulary(results[0].scenario)
    fine = [_curve_counts(r)[1] for r in results]
    nq = len(BAND_QUANTILES)
    out = {
        "runs": len(results),
        "quantiles": list(BAND_QUANTILES),
        "totals": [[_r(qt[i, :, s]) for i in range(nq)] for s in range(counts.shape[3])],
        "zones": [[[_r(q[i, :, z, s]) for i in range(nq)] for s in range(counts.shape[3])]
                  for z in range(counts.shape[2])],
    }
    if _by_state(vocab) and all(f.shape == counts.shape[1:] for f in fine):  # the curves are the states' bands
        return {**out, "curves": {"by_state": True}}
    g = np.stack([np.stack(list(vocab.series(f).values())) for f in fine])  # [run, group, time, zone]
    gq = np.quantile(g, BAND_QUANTILES, axis=0)  # [q, group, time, zone]
    gt = np.quantile(g.sum(axis=3), BAND_QUANTILES, axis=0)  # [q, group, time]
    return {
        **out,
        "curves": {
            "by_state": False,
            "totals": [[_r(gt[i, k]) for i in range(nq)] for k in range(g.shape[1])],
            "zones": [[[_r(gq[i, k, :, z]) for i in range(nq)] for k in range(g.shape[1])]
                      for z in range(g.shape[3])],
        },
    }


def groups_payload(vocab: Vocabulary) -> list[dict[str, Any]]:
    """The vocabulary's groups (``run.vocabulary``): key, label, colour, the states each sums, and
    whether it is out of the epidemic (drawn dashed), as the reports draw them."""
    return [{"key": g.key, "label": g.label if g.label.startswith(f"{g.key}:") else f"{g.label} ({g.key})",
             "colour": g.colour, "states": list(g.states), "out": g.out} for g in vocab.groups]


def _by_state(vocab: Vocabulary) -> bool:
    """Whether the vocabulary's groups are the states themselves, in their order (Aftermath's own)."""
    return [g.states for g in vocab.groups] == [(s,) for s in STATE_NAMES]


def _curve_counts(res: Result) -> tuple[np.ndarray, np.ndarray]:
    """The run's counts for its curves: the samples within days where it has them
    (:func:`~aftermath.record.fine.fine_counts`), thinned to at most about :data:`MAX_CURVE_POINTS`."""
    t, c = fine_counts(res)
    step = max(1, -(-len(t) // MAX_CURVE_POINTS))
    if step > 1:
        keep = np.unique(np.r_[np.arange(0, len(t), step), len(t) - 1])
        t, c = t[keep], c[keep]
    return t, c


def curves_payload(res: Result, vocab: Vocabulary) -> dict[str, Any]:
    """The curves as drawn: ``time`` (days, finer than daily where the run has samples within days,
    ``run.record_every``), the vocabulary's groups summed over the zones (``totals[group][time]``)
    and per zone (``zones[zone][group][time]``)."""
    t, c = _curve_counts(res)
    fine = not np.array_equal(t, np.arange(res.days + 1))
    if not fine and _by_state(vocab):  # the daily counts as they are: the page draws ``totals`` and ``counts``
        return {"time": _r(t, 4), "fine": False, "by_state": True}
    series = vocab.series(c)  # key -> [time, zone]
    return {"time": _r(t, 4), "fine": fine, "by_state": False,
            "totals": [_r(v.sum(axis=1)) for v in series.values()],
            "zones": [[_r(v[:, z]) for v in series.values()] for z in range(c.shape[1])]}


def costs_payload(vocab: Vocabulary) -> list[dict[str, Any]]:
    """The Costs table's rows: the summary key, its label in the vocabulary's words and its depth
    (a part of a cost shown above it, "of which ...", by :data:`aftermath.compare.METRIC`'s ``part_of``)."""
    from aftermath.compare import METRIC

    rows = []
    for k in COSTS:
        depth, parent = 0, METRIC[k].part_of if k in METRIC else None
        while parent is not None:
            depth += parent in COSTS
            parent = METRIC[parent].part_of if parent in METRIC else None
        label = word(k, vocab)
        rows.append({"key": k, "label": "  " * depth + f"of which {label}" if depth else label, "depth": depth})
    return rows
