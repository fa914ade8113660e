"""Flow categories: what every engine counts, per day and zone, and what society reacts to.

Each reaction of the network (and each individual transition of the ABM) belongs to exactly one
category; the engines add the number of events of a day to ``flows[category, zone]``. Moves are
counted at their destination. ``route_flows[kind, route]`` counts moves per route.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Flow(IntEnum):
    INFECTION = 0  # S -> E (or straight to H/Z when latency is 0)
    BITE_DEATH = 1  # S -> D, killed outright by a bite
    FERAL_DESTROYED = 2  # Z -> D or R by defence
    DECAY = 3  # Z -> R
    ONSET_HYBRID = 4  # E -> H (also counted for immediate outcomes)
    ONSET_FERAL = 5  # E -> Z (also counted for immediate outcomes)
    RELAPSE = 6  # H -> Z
    REANIMATION = 7  # D -> Z
    DISPOSAL = 8  # D -> R
    BIRTH = 9  # -> S
    NATURAL_DEATH = 10  # S, E, H -> D
    STARVATION = 11  # S, E, H -> D while supplies are empty
    CURE = 12  # E, H, Z -> S
    CULL = 13  # H -> R by policy
    HYBRID_MOVED = 14  # H moved to a sanctuary or an isolation zone (at destination)
    HUMAN_ARRIVED = 15  # S, E, H arriving along a route (at destination)
    FERAL_ARRIVED = 16  # Z arriving along a route (at destination)
    BREACH = 17  # Z arriving into a walled zone (wall > 0), at destination
    EXCLUDED = 18  # arrivals turned away by admission (at the zone that turned them away)
    EXCLUDED_HEALTHY = 19  # of those, how many were S
    SWEEP_KILL = 20  # Z (and H, if the sweep takes them) destroyed by a sweep
    SWEEP_HYBRIDS = 21  # of those, hybrids
    INFECTED_ARRIVED = 22  # E and H arriving (at destination): infected that got past the gate
    FIRST_INFECTION = 23  # an infection of someone alive at day 0 who had never been infected (attack rate)


N_FLOWS = len(Flow)
FLOW_NAMES = tuple(f.name.lower() for f in Flow)


class RouteFlow(IntEnum):
    HUMANS = 0
    FERALS = 1
    EXCLUDED = 2


N_ROUTE_FLOWS = len(RouteFlow)

#: Deaths, for fear and summaries: every way a living person becomes a corpse or is killed.
DEATH_FLOWS = (Flow.BITE_DEATH, Flow.NATURAL_DEATH, Flow.STARVATION, Flow.CULL, Flow.SWEEP_HYBRIDS)


class Flag(IntFlag):
    """What policy did to a person, the agent-based engine's per-person ledger bits (docs/model.md#policies)."""

    SEALED_IN = 1  # uninfected inside a zone at the moment it was sealed
    SACRIFICED = 2  # ... and later infected, bitten to death or starved there (natural deaths excluded)
    CULLED = 4  # killed by a cull while a hybrid
    EXCLUDED = 8  # turned away at a gate at least once
    EXCLUDED_HEALTHY = 16  # turned away while uninfected
    CONCEALED = 32  # hidden by the household from screening, a cull or a transfer
    MISCLASSIFIED = 64  # screening got them wrong (a healthy person refused, an infected one admitted)
    SWEPT = 128  # a hybrid killed in a sweep
