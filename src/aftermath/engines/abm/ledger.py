"""The per-person ledger summed into a tidy frame: what policy did to whom, and their fate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aftermath.engines.abm.state import FLAG_NAMES, NO_ZONE, Flag, Population
from aftermath.model.world import State, World

#: Fate at the end of the run, by final state.
FATES = {State.S: "alive", State.E: "infected", State.H: "hybrid", State.Z: "feral", State.D: "dead",
         State.R: "dead"}


def ledger_frame(world: World, pop: Population) -> tuple[pd.DataFrame, dict[str, int]]:
    """(frame with columns flag, zone, faction, fate, count; totals per flag).

    ``fate`` is the final state: alive (S), infected (E), hybrid (H), feral (Z) or dead (D, R).

    ``zone``: for ``sealed_in`` and ``sacrificed``, the zone sealed around the person (the latest
    seal); for every other flag, the zone of the first policy act on the person (a gate that turned
    them away, a cull, a sweep, a seal), whichever flag that act set. ``faction`` is the faction
    governing the zone ("" for none). A person counts once per flag however many
    times it happened (people turned away twice are one excluded person; the flows count attempts).
    """
    used = pop.used()
    flags = pop.flags[used]
    touched = np.flatnonzero(flags)
    f = flags[touched]
    fz = pop.flag_zone[used][touched].astype(np.int64)
    sz = pop.seal_zone[used][touched].astype(np.int64)
    st = pop.state[used][touched].astype(np.int64)
    fate_names = sorted(set(FATES.values()))
    fate_code = np.array([fate_names.index(FATES[State(s)]) for s in range(6)])[st] if st.size else st
    nz = world.n_zones + 1  # the last bin: no zone
    first_bin = np.where(fz == NO_ZONE, world.n_zones, fz)
    seal_bin = np.where(sz == NO_ZONE, world.n_zones, sz)
    rows = []
    totals: dict[str, int] = {}
    for bit, name in FLAG_NAMES.items():
        has = (f & int(bit)) != 0
        totals[name] = int(has.sum())
        if not has.any():
            continue
        zbin = seal_bin if bit in (Flag.SEALED_IN, Flag.SACRIFICED) else first_bin
        grid = np.bincount(zbin[has] * len(fate_names) + fate_code[has], minlength=nz * len(fate_names))
        for k in np.flatnonzero(grid):
            z, fate = divmod(int(k), len(fate_names))
            zid = world.zone_ids[z] if z < world.n_zones else ""
            fac = world.zone_faction[z] if z < world.n_zones else -1
            rows.append({"flag": name, "zone": zid, "faction": world.faction_ids[fac] if fac >= 0 else "",
                         "fate": fate_names[fate], "count": int(grid[k])})
    frame = pd.DataFrame(rows, columns=["flag", "zone", "faction", "fate", "count"])
    return frame, totals
