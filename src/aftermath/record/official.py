"""The ledger summed per faction, and the official record beside the true one (docs/model.md#what-a-run-produces).

A faction's official record leaves out the people its own policies put out of sight: those it
turned away at its gates never enter its books, those it culled are not counted among its dead,
and infected members that households hid from it are not counted among its infected. The true
record counts everyone. The gap between them is who got left out of the story.

Both functions work for every engine: from the flows (exclusions, culls, sweeps), and, where the
agent-based engine kept a per-person ledger (``result.extras["ledger"]``), from it too
(concealment, sacrifice in sealed zones, misclassification).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from aftermath.model.flows import DEATH_FLOWS, Flow

if TYPE_CHECKING:
    from aftermath.result import Result

NO_FACTION = "(no faction)"


def _faction_of_zones(result: Result) -> list[str]:
    by_id = {z.id: z.faction for z in result.scenario.zones}
    return [by_id[z] or NO_FACTION for z in result.zone_ids]


def _ledger(result: Result) -> pd.DataFrame | None:
    led = result.extras.get("ledger")
    return led if isinstance(led, pd.DataFrame) and not led.empty else None


def ledger_by_faction(result: Result) -> pd.DataFrame:
    """What policy did to people, per faction: one row per (faction, cost), with a count.

    Costs from flows (every engine), named as in the summary: ``turned_away_attempts`` (crossings
    refused: a person refused twice counts twice), ``turned_away_attempts_healthy``, ``culled``,
    ``hybrids_swept``; from the ABM's ledger, people, each once per flag: ``people_turned_away``,
    ``healthy_people_turned_away``, ``sealed_in``, ``sacrificed``, ``concealed``, ``misclassified``
    (its ``culled`` and ``hybrids_swept`` equal the flows' and are not repeated).
    """
    from aftermath.result import LEDGER_FROM_FLOWS, LEDGER_NAMES

    factions = _faction_of_zones(result)
    per_flow = result.flows.sum(axis=0)  # [flow, zone]
    rows: list[dict[str, object]] = []
    for cost, flow in (("turned_away_attempts", Flow.EXCLUDED), ("turned_away_attempts_healthy", Flow.EXCLUDED_HEALTHY),
                       ("culled", Flow.CULL), ("hybrids_swept", Flow.SWEEP_HYBRIDS)):
        for z, f in enumerate(factions):
            rows.append({"faction": f, "cost": cost, "count": float(per_flow[flow, z])})
    led = _ledger(result)
    if led is not None:
        extra = led[~led["flag"].isin(LEDGER_FROM_FLOWS)]
        sums = extra.groupby(["faction", "flag"], as_index=False)["count"].sum()
        for f, flag, n in zip(sums["faction"], sums["flag"], sums["count"], strict=True):
            rows.append({"faction": f or NO_FACTION, "cost": LEDGER_NAMES.get(str(flag), str(flag)),
                         "count": float(n)})
    df = pd.DataFrame(rows, columns=["faction", "cost", "count"])
    out = pd.DataFrame(df.groupby(["faction", "cost"], as_index=False, sort=True)["count"].sum())
    return out


def official_record(result: Result) -> pd.DataFrame:
    """Per faction and measure: the true count, the official one, and how many were left out.

    Measures: ``deaths`` in the faction's zones (official leaves out the hybrids culled and those
    killed in sweeps there; ``who`` gives each count), ``infections`` (official leaves out those
    hidden by households, ABM only), ``arrivals`` (crossings into its zones, admitted or refused;
    official leaves out the refused ones, counted as attempts like ``turned_away_attempts``).
    """
    factions = _faction_of_zones(result)
    per_flow = result.flows.sum(axis=0)
    led = _ledger(result)
    concealed: dict[str, float] = {}
    if led is not None:
        sel = led[led["flag"] == "concealed"]
        concealed = {str(k or NO_FACTION): float(v) for k, v in sel.groupby("faction")["count"].sum().items()}
    rows = []
    for f in sorted(set(factions)):
        if f == NO_FACTION:
            continue
        zs = np.array([i for i, g in enumerate(factions) if g == f])
        deaths = float(per_flow[list(DEATH_FLOWS)][:, zs].sum())
        culled, swept = float(per_flow[Flow.CULL, zs].sum()), float(per_flow[Flow.SWEEP_HYBRIDS, zs].sum())
        hidden_deaths = culled + swept
        parts = [f"{n:,.0f} {what}" for n, what in ((culled, "culled hybrids"), (swept, "hybrids killed in sweeps"))
                 if n >= 0.5]
        infections = float(per_flow[Flow.INFECTION, zs].sum())
        hidden = min(concealed.get(f, 0.0), infections)
        arrivals = float(per_flow[Flow.HUMAN_ARRIVED, zs].sum() + per_flow[Flow.EXCLUDED, zs].sum())
        turned = float(per_flow[Flow.EXCLUDED, zs].sum())
        for measure, true, left, who in (
            ("deaths", deaths, hidden_deaths, " and ".join(parts) or "culled hybrids and hybrids killed in sweeps"),
            ("infections", infections, hidden, "infected hidden by their households"),
            ("arrivals", arrivals, turned, "crossings refused at its gates (attempts, not people)"),
        ):
            rows.append({"faction": f, "measure": measure, "true": true, "official": true - left,
                         "left_out": left, "who": who})
    return pd.DataFrame(rows, columns=["faction", "measure", "true", "official", "left_out", "who"])


def ungoverned_policy_deaths(result: Result) -> float:
    """Hybrids culled or killed in sweeps in zones no faction governs: in no faction's books."""
    factions = _faction_of_zones(result)
    zs = [i for i, f in enumerate(factions) if f == NO_FACTION]
    per_flow = result.flows.sum(axis=0)
    return float(per_flow[Flow.CULL, zs].sum() + per_flow[Flow.SWEEP_HYBRIDS, zs].sum()) if zs else 0.0
