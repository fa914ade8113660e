"""The chronicle: an append-only log of what happened, in words a newcomer can follow.

Engine-agnostic events are detected here from each day's counts and flows; policies, society and
engines (new lineages) contribute their own. Thresholds are in people: an event that concerns
"less than half a person" is a mean-field artefact, not an event.

The text reads as a story and calls places and factions by their display names
(:func:`place`, :func:`faction_name`: "ferals broke through the wall of Fort Namsan garrison");
each event keeps the zone's id (``Event.zone``), which is what a user types, and the figures
(``Event.value`` and the numbers in the text).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aftermath.model.flows import Flow
from aftermath.model.world import State, World
from aftermath.record.measures import NONE_BELOW

F64 = NDArray[np.float64]

#: Fewer than this many people is "none" (the ODE never reaches exactly zero).
PRESENCE = NONE_BELOW
#: An enclave has fallen when its living humans drop below this share of its peak.
FALLEN_SHARE = 0.05
#: Breaches of at least this many ferals in a day are chronicled (after the first, which always is).
BREACH_NEWS = 5.0


def mid_sentence(name: str) -> str:
    """A name inside a sentence: a leading article in lower case ("The hidden valley" -> "the
    hidden valley", "A well-mixed town" -> "a well-mixed town"; "An" likewise). "A" or "An"
    before a capital stays (a proper name: "A Coruña")."""
    if name.startswith("The "):
        return "the " + name[4:]
    for art in ("A ", "An "):
        if name.startswith(art) and name[len(art): len(art) + 1].islower():
            return art.lower() + name[len(art):]
    return name


def place(world: World, z: int, start: bool = False) -> str:
    """Zone ``z``'s display name (its id if it has none); "The hidden valley" reads "the hidden
    valley" inside a sentence (:func:`mid_sentence`)."""
    zone = world.scenario.zones[z]
    name = zone.name or zone.id
    return name if start else mid_sentence(name)


def faction_name(world: World, f: int, start: bool = False) -> str:
    """Faction ``f``'s display name (its id if it has none), "the ..." inside a sentence."""
    fac = world.scenario.factions[f]
    name = fac.name or fac.id
    if not start and name.startswith("The "):
        return "the " + name[4:]
    return name


#: The ferals in a sentence, in a vocabulary other than Aftermath's own.
FERALS_SAID = {"sir": "the infectious", "szr": "zombies"}


@dataclass(frozen=True)
class Event:
    day: int
    zone: str  # "" for the world or between factions
    kind: str
    text: str
    value: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChronicleWatcher:
    """Turns daily counts and flows into events (first infection, breach, fallen, extinct...)."""

    def __init__(self, world: World, counts0: F64) -> None:
        self.world = world
        nz = world.n_zones
        self.infected_seen = (counts0[:, State.E] + counts0[:, State.H] + counts0[:, State.Z]) >= PRESENCE
        self.breached = np.zeros(nz, dtype=bool)
        humans0 = counts0[:, State.S] + counts0[:, State.E] + counts0[:, State.H]
        self.peak_humans = humans0.copy()
        self.fallen = np.zeros(nz, dtype=bool)
        self.eliminated = False
        self.extinct = False
        self.walled = (world.wall > 0) | np.array([k in {"enclave", "garrison", "sanctuary"} for k in world.zone_kinds])
        from aftermath.record.vocabulary import vocabulary

        #: who breaks through walls, in the scenario's words (run.vocabulary)
        self.ferals = FERALS_SAID.get(vocabulary(world.scenario).name, "ferals")

    def observe(self, day: int, counts: F64, flows: F64, route_flows: F64 | None = None) -> list[Event]:
        w, out = self.world, []
        name = w.zone_ids
        for z in range(w.n_zones):
            if not self.infected_seen[z] and flows[Flow.INFECTION, z] + flows[Flow.FERAL_ARRIVED, z] >= PRESENCE:
                self.infected_seen[z] = True
                out.append(Event(day, name[z], "first_infection", f"the infection reached {place(w, z)}"))
            b = flows[Flow.BREACH, z]
            if b >= PRESENCE and (not self.breached[z] or b >= BREACH_NEWS):
                first = " again" if self.breached[z] else " for the first time"
                fled = self._fled(z, route_flows)
                out.append(Event(day, name[z], "breach",
                                 f"{self.ferals} broke through the wall of {place(w, z)}{first} ({b:.0f} of them)"
                                 f"{fled}",
                                 float(b)))
                self.breached[z] = True
            humans = counts[z, State.S] + counts[z, State.E] + counts[z, State.H]
            self.peak_humans[z] = max(self.peak_humans[z], humans)
            if (self.walled[z] and not self.fallen[z] and self.peak_humans[z] >= 10
                    and humans < FALLEN_SHARE * self.peak_humans[z] and counts[z, State.Z] >= PRESENCE):
                self.fallen[z] = True
                out.append(Event(day, name[z], "enclave_fallen",
                                 f"{place(w, z, start=True)} fell: {humans:,.0f} of its {self.peak_humans[z]:,.0f} "
                                 "people remain"))
        infected = counts[:, State.E:State.D].sum()
        if not self.eliminated and infected < PRESENCE:
            self.eliminated = True
            out.append(Event(day, "", "elimination", "no infected remain anywhere"))
        if not self.extinct and counts[:, [State.S, State.E, State.H]].sum() < PRESENCE:
            self.extinct = True
            out.append(Event(day, "", "humans_extinct", "no human is left alive"))
        return out

    def _fled(self, z: int, route_flows: F64 | None) -> str:
        """"; 340 fled, most to the outskirts": people who left zone ``z`` that day, and where most went."""
        if route_flows is None:
            return ""
        out = np.flatnonzero(self.world.route_from == z)
        moved = route_flows[0, out] if out.size else np.zeros(0)  # RouteFlow.HUMANS
        total = float(moved.sum())
        if total < 1.0:
            return ""
        dest = place(self.world, int(self.world.route_to[out[int(np.argmax(moved))]]))
        return f"; {total:.0f} fled, most to {dest}"
