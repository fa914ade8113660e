"""The result of one run: arrays as recorded, with pandas views, a summary and a plot.

Arrays are indexed ``[time, ...]`` where time 0 is the start and time ``t`` the end of day
``t - 1`` (so ``counts`` has ``days + 1`` rows and ``flows`` has ``days``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aftermath.model.flows import DEATH_FLOWS, FLOW_NAMES, Flow
from aftermath.model.world import STATE_NAMES, State
from aftermath.record.chronicle import PRESENCE  # below half a person counts as none
from aftermath.record.measures import first_day, humans, peak_after_low
from aftermath.scenario.schema import Scenario

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from aftermath.record.chronicle import Event

F64 = NDArray[np.float64]


@dataclass
class Result:
    """Everything one run produced. Build by :func:`aftermath.simulate` (or ``Sim.run``)."""

    scenario: Scenario
    engine: str
    seed: int
    zone_ids: tuple[str, ...]
    faction_ids: tuple[str, ...]
    counts: F64  # [time, zone, state]
    flows: F64  # [day, flow, zone]
    route_flows: F64  # [day, route flow, route]
    fear: F64  # [time, zone]
    vigilance: F64
    supplies: F64
    strain_counts: F64  # [time, strain] infected (E + H + Z)
    policy_acted: NDArray[np.bool_]  # [day, policy, zone]: the policy acted (docs/report.md)
    policy_labels: tuple[str, ...]
    sealed: NDArray[np.bool_]  # [day, zone]
    screening: NDArray[np.bool_]  # [day, zone]
    truce: NDArray[np.bool_]  # [time, faction, faction]
    chronicle: list[Event]
    extras: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    variant: str = ""  # what was changed from the scenario (e.g. ``--set`` overrides), if anything

    @property
    def policy_active(self) -> NDArray[np.bool_]:
        """The days each policy acted (:attr:`policy_acted`); the old name."""
        return self.policy_acted

    # -- shapes -----------------------------------------------------------------------------
    @property
    def days(self) -> int:
        return self.flows.shape[0]

    @property
    def time(self) -> NDArray[np.int64]:
        return np.arange(self.days + 1)

    def total(self, state: str | State) -> F64:
        """World total of one state over time."""
        s = State[state] if isinstance(state, str) else state
        out: F64 = self.counts[:, :, s].sum(axis=1)
        return out

    def zone(self, zone_id: str) -> pd.DataFrame:
        """One zone's counts over time, a column per state, indexed by days from the start (0: the
        start; as :meth:`to_pandas`)."""
        import pandas as pd

        z = self.zone_ids.index(zone_id)
        return pd.DataFrame(self.counts[:, z, :], columns=list(STATE_NAMES), index=pd.Index(self.time, name="day"))

    # -- frames -----------------------------------------------------------------------------
    def to_pandas(self) -> pd.DataFrame:
        """Long frame of counts: one row per (day, zone, state). ``day`` is time from the start: 0 is
        the start and ``t`` the state after ``t`` days, so a count "on day d" of the summaries and the
        chronicle (at the end of day d) is the row ``day == d + 1`` (docs/report.md, "The record")."""
        import pandas as pd

        t, z, s = self.counts.shape
        return pd.DataFrame({
            "day": np.repeat(np.arange(t), z * s),
            "zone": np.tile(np.repeat(np.array(self.zone_ids, dtype=object), s), t),
            "state": np.tile(np.array(STATE_NAMES, dtype=object), t * z),
            "count": self.counts.reshape(-1),
        })

    def flows_frame(self) -> pd.DataFrame:
        """Long frame of daily flows: one row per (day, zone, flow)."""
        import pandas as pd

        d, f, z = self.flows.shape
        arr = self.flows.transpose(0, 2, 1)
        return pd.DataFrame({
            "day": np.repeat(np.arange(d), z * f),
            "zone": np.tile(np.repeat(np.array(self.zone_ids, dtype=object), f), d),
            "flow": np.tile(np.array(FLOW_NAMES, dtype=object), d * z),
            "count": arr.reshape(-1),
        })

    def society_frame(self) -> pd.DataFrame:
        """Fear, vigilance and supplies per (day, zone)."""
        import pandas as pd

        t, z = self.fear.shape
        return pd.DataFrame({
            "day": np.repeat(np.arange(t), z),
            "zone": np.tile(np.array(self.zone_ids, dtype=object), t),
            "fear": self.fear.reshape(-1),
            "vigilance": self.vigilance.reshape(-1),
            "supplies": self.supplies.reshape(-1),
        })

    def chronicle_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([e.as_dict() for e in self.chronicle], columns=["day", "zone", "kind", "text", "value"])

    def strains_frame(self) -> pd.DataFrame:
        """The strain table (ABM: the phylogeny) or the fixed strain set."""
        import pandas as pd

        table = self.extras.get("strains")
        if isinstance(table, pd.DataFrame):
            return table
        from aftermath.model.world import TRAITS, build_world

        w = build_world(self.scenario)
        df = pd.DataFrame(w.traits, columns=list(TRAITS))
        df.insert(0, "strain", list(w.strain_ids))
        df.insert(1, "parent", [""] + ["founder"] * (len(w.strain_ids) - 1))
        df.insert(2, "day", 0)
        df.insert(3, "zone", "")
        return df

    # -- summary ----------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Key numbers of the run, as plain JSON-ready values. Every key is defined in
        ``docs/report.md`` ("The record"); the words follow :mod:`aftermath.record.measures`
        (humans are S + E + H; day ``d`` is the end of day ``d``)."""
        c0, c1 = self.counts[0], self.counts[-1]
        humans0 = float(humans(c0).sum())
        infected0 = float(c0[:, [State.E, State.H]].sum())
        first_infections = float(self.flows[:, Flow.FIRST_INFECTION].sum())
        ferals = self.total("Z")
        peak, peak_day = peak_after_low(ferals)
        daily_infections = self.flows[:, Flow.INFECTION].sum(axis=1)
        inf_day = int(np.argmax(daily_infections)) if self.days else None
        infected = self.counts[:, :, State.E : State.D].sum(axis=(1, 2))
        world_humans = humans(self.counts).sum(axis=1)
        per_flow = self.flows.sum(axis=(0, 2))
        culled = float(per_flow[Flow.CULL])
        hybrids_swept = float(per_flow[Flow.SWEEP_HYBRIDS])
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "engine": self.engine,
            "seed": self.seed,
        }
        if self.variant:
            out["variant"] = self.variant
        out.update({
            "days": self.days,
            "initial_humans": humans0,
            "survivors": float(humans(c1).sum()),
            "susceptible": float(c1[:, State.S].sum()),
            "latent": float(c1[:, State.E].sum()),
            "hybrids": float(c1[:, State.H].sum()),
            "ferals": float(c1[:, State.Z].sum()),
            "ferals_at_start": float(ferals[0]),
            "deaths": float(per_flow[list(DEATH_FLOWS)].sum()),
            "turned": float(per_flow[Flow.ONSET_FERAL] + per_flow[Flow.RELAPSE]),
            "infections": float(daily_infections.sum()),
            # the share of the initial humans ever infected: each counted once, however often infected
            "attack_rate": (first_infections + infected0) / humans0 if humans0 > 0 else 0.0,
            "peak_ferals": peak,
            "peak_ferals_day": peak_day,
            "peak_infections": float(daily_infections[inf_day]) if inf_day is not None else 0.0,
            "peak_infections_day": inf_day,
            "elimination_day": first_day(infected < PRESENCE),
            "extinction_day": first_day(world_humans < PRESENCE),
            "births": float(per_flow[Flow.BIRTH]),
            "breaches": float(per_flow[Flow.BREACH]),
            "turned_away_attempts": float(per_flow[Flow.EXCLUDED]),
            "turned_away_attempts_healthy": float(per_flow[Flow.EXCLUDED_HEALTHY]),
            "culled": culled,
            "hybrids_swept": hybrids_swept,
            "killed_by_policy": culled + hybrids_swept,
            "ferals_swept": float(per_flow[Flow.SWEEP_KILL]) - hybrids_swept,
            "starved": float(per_flow[Flow.STARVATION]),
            "zones": self._zone_summary(),
            "factions": self._faction_summary(),
        })
        ledger = ledger_people(self.extras.get("ledger_totals"))
        if ledger:
            out["ledger"] = ledger
        from aftermath.record.official import official_record

        out["official_record"] = official_record(self).to_dict(orient="records")
        for old, new in LEGACY_KEYS.items():  # kept for scripts and the store's columns
            out[old] = out[new]
        out["swept"] = out["ferals_swept"] + out["hybrids_swept"]
        return out

    def _zone_summary(self) -> dict[str, dict[str, Any]]:
        c1 = self.counts[-1]
        out: dict[str, dict[str, Any]] = {}
        for z, zid in enumerate(self.zone_ids):
            peak, day = peak_after_low(self.counts[:, z, State.Z])
            out[zid] = {
                "survivors": float(humans(c1[z])),
                "ferals": float(c1[z, State.Z]),
                "peak_ferals": peak,
                "peak_ferals_day": day,
                "fear": float(self.fear[-1, z]),
                "days_sealed": int(self.sealed[:, z].sum()),
            }
        return out

    def _faction_summary(self) -> dict[str, list[dict[str, Any]]]:
        """What each faction did: its policies, the days each acted and where (``docs/report.md``:
        a policy acts on a day when its lever is the one in force, or it changed something)."""
        out: dict[str, list[dict[str, Any]]] = {f: [] for f in self.faction_ids}
        out[""] = []
        for i, p in enumerate(self.scenario.policies):
            acted = self.policy_acted[:, i, :]
            zones = [self.zone_ids[z] for z in np.flatnonzero(acted.any(axis=0))]
            days = np.asarray(acted.any(axis=1))
            first = np.flatnonzero(days)
            out[p.faction or ""].append({
                "policy": self.policy_labels[i], "type": p.type, "days_acted": int(days.sum()),
                "first_day_acted": int(first[0]) if first.size else None, "zones": zones,
            })
        if not out[""]:
            del out[""]
        return out

    # -- people (the cast a run followed: ABM only) -------------------------------------------
    def story(self, name: str | None = None) -> str:
        """The cast's lives as prose (or the life of the one called ``name``), then who the
        official record leaves out. Needs a run of the agent-based engine with a cast
        (``cast = N`` or ``[[characters]]``); otherwise ``ValueError``."""
        from aftermath.people.story import story_text

        return story_text(self, name)

    def story_json(self, name: str | None = None) -> dict[str, Any]:
        """The lives as data: each sentence with the event records it was made from."""
        from aftermath.people.story import story_json

        return story_json(self, name)

    def people_frame(self) -> pd.DataFrame:
        """The followed people's events, one row each (empty when no one was followed). ``zone``
        and ``to`` are indices into the scenario's zones (whole numbers, missing where an event has
        none); ``zone_name`` and ``to_name`` are their display names."""
        import pandas as pd

        cast = self.extras.get("cast")
        if not isinstance(cast, dict):
            return pd.DataFrame(columns=["day", "step", "who", "kind"])
        frame = pd.DataFrame(cast["events"])
        names = [z.name or z.id for z in self.scenario.zones]
        for col in ("zone", "to"):
            if col in frame.columns:
                frame[col] = frame[col].astype("Int64")
                frame[f"{col}_name"] = frame[col].map(lambda z: names[int(z)] if pd.notna(z) else None)
        return frame

    # -- pictures ---------------------------------------------------------------------------
    def plot(self) -> Figure:
        """Epidemic curves per zone and the spectrum over time, as a matplotlib figure."""
        from aftermath.report.plots import plot_run

        return plot_run(self)


def ledger_people(totals: Any) -> dict[str, float]:
    """The agent-based ledger's totals under the summary's names: people, each counted once per
    flag (``people_turned_away``, not the gate's attempts). Flags the flows already count the same
    way (``culled``, ``hybrids_swept``: a person dies once) are left to the flows."""
    if not isinstance(totals, dict):
        return {}
    out: dict[str, float] = {}
    for k, v in totals.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and k not in LEDGER_FROM_FLOWS:
            out[LEDGER_NAMES.get(str(k), str(k))] = float(v)
    return out


#: Ledger flags renamed in the record to say that they count people (the flows count attempts).
LEDGER_NAMES = {"excluded": "people_turned_away", "excluded_healthy": "healthy_people_turned_away"}
#: Ledger flags equal to a flow (each such person dies once), reported from the flows only.
LEDGER_FROM_FLOWS = ("culled", "hybrids_swept")
#: Old summary keys kept, with their meaning unchanged, as copies of the new names.
LEGACY_KEYS = {"excluded": "turned_away_attempts", "excluded_healthy": "turned_away_attempts_healthy",
               "swept_hybrids": "hybrids_swept", "peak_day": "peak_ferals_day"}
