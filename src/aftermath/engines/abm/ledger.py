"""The per-person ledger summed into a tidy frame: what policy did to whom, and their fate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np

from aftermath.engines.abm.state import FLAG_NAMES, NO_ZONE, Flag, Population
from aftermath.model.world import State, World

if TYPE_CHECKING:
    import pandas as pd

#: Fate at the end of the run, by final state.
FATES = {State.S: "alive", State.E: "infected", State.H: "hybrid", State.Z: "feral", State.D: "dead",
         State.R: "dead"}


@nb.njit(cache=True)
def count_flags(n, flags, flag_zone, seal_zone, state, fate_of, bits, by_seal, no_zone, grid):
    """``grid[flag, zone bin, fate]``: people with each flag by the zone of the first policy act
    (or, for the seal flags, the zone sealed around them; the last bin: none) and their fate."""
    last = grid.shape[1] - 1
    for i in range(n):
        f = flags[i]
        if f == 0:
            continue
        fate = fate_of[state[i]]
        fz = last if flag_zone[i] == no_zone else np.int64(flag_zone[i])
        sz = last if seal_zone[i] == no_zone else np.int64(seal_zone[i])
        for b in range(bits.shape[0]):
            if f & bits[b]:
                grid[b, sz if by_seal[b] else fz, fate] += 1


#: the ledger frame's columns
COLUMNS = ["flag", "zone", "faction", "fate", "count"]


def ledger_frame(world: World, pop: Population) -> tuple[pd.DataFrame, dict[str, int]]:
    """(frame of :func:`ledger_rows`, totals per flag)."""
    rows, totals = ledger_rows(world, pop)
    return ledger_table(rows), totals


def ledger_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The ledger's rows (:func:`ledger_rows`) as a frame."""
    import pandas as pd  # (here: a run's engine makes the rows, the driver the frame once the engine is gone)

    return pd.DataFrame(rows, columns=COLUMNS)


def ledger_rows(world: World, pop: Population) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """(rows with keys flag, zone, faction, fate, count; totals per flag).

    ``fate`` is the final state: alive (S), infected (E), hybrid (H), feral (Z) or dead (D, R).

    ``zone``: for ``sealed_in`` and ``sacrificed``, the zone sealed around the person (the latest
    seal); for every other flag, the zone of the first policy act on the person (a gate that turned
    them away, a cull, a sweep, a seal), whichever flag that act set. ``faction`` is the faction
    governing the zone ("" for none). A person counts once per flag however many
    times it happened (people turned away twice are one excluded person; the flows count attempts).
    """
    fate_names = sorted(set(FATES.values()))
    fate_of = np.array([fate_names.index(FATES[State(s)]) for s in range(6)] + [0], dtype=np.int64)
    bits = np.array([int(bit) for bit in FLAG_NAMES], dtype=np.int64)
    by_seal = np.array([bit in (Flag.SEALED_IN, Flag.SACRIFICED) for bit in FLAG_NAMES])
    nz = world.n_zones + 1  # the last bin: no zone
    grid = np.zeros((len(bits), nz, len(fate_names)), dtype=np.int64)
    # one pass over the people, no temporaries per flagged person (51.8 million people in korea,
    # millions of them flagged: index and code arrays of them took hundreds of MB at the end of a run)
    count_flags(pop.n, pop.flags, pop.flag_zone, pop.seal_zone, pop.state, fate_of, bits, by_seal, NO_ZONE, grid)
    rows = []
    totals: dict[str, int] = {}
    for b, name in enumerate(FLAG_NAMES.values()):
        flat = grid[b].reshape(-1)
        totals[name] = int(flat.sum())
        for k in np.flatnonzero(flat):
            z, fate = divmod(int(k), len(fate_names))
            zid = world.zone_ids[z] if z < world.n_zones else ""
            fac = world.zone_faction[z] if z < world.n_zones else -1
            rows.append({"flag": name, "zone": zid, "faction": world.faction_ids[fac] if fac >= 0 else "",
                         "fate": fate_names[fate], "count": int(flat[k])})
    return rows, totals
