"""The per-person ledger summed into a tidy frame: what policy did to whom, and their fate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aftermath.engines.abm.state import FLAG_NAMES, NO_ZONE, Population
from aftermath.model.world import State, World

#: Fate at the end of the run, by final state.
FATES = {State.S: "alive", State.E: "infected", State.H: "hybrid", State.Z: "feral", State.D: "dead",
         State.R: "dead"}


def ledger_frame(world: World, pop: Population) -> tuple[pd.DataFrame, dict[str, int]]:
    """(frame with columns flag, zone, faction, fate, count; totals per flag).

    ``fate`` is the final state: alive (S), infected (E), hybrid (H), feral (Z) or dead (D, R).

    ``zone`` is where policy first acted on the person (sealing claims everyone inside), and
    ``faction`` the faction governing it ("" for none). A person counts once per flag however many
    times it happened (people turned away twice are one excluded person; the flows count attempts).
    """
    used = pop.used()
    flags = pop.flags[used]
    touched = np.flatnonzero(flags)
    f = flags[touched]
    fz = pop.flag_zone[used][touched].astype(np.int64)
    st = pop.state[used][touched].astype(np.int64)
    fate_names = sorted(set(FATES.values()))
    fate_code = np.array([fate_names.index(FATES[State(s)]) for s in range(6)])[st] if st.size else st
    nz = world.n_zones + 1  # the last bin: no zone
    zbin = np.where(fz == NO_ZONE, world.n_zones, fz)
    rows = []
    totals: dict[str, int] = {}
    for bit, name in FLAG_NAMES.items():
        has = (f & int(bit)) != 0
        totals[name] = int(has.sum())
        if not has.any():
            continue
        grid = np.bincount(zbin[has] * len(fate_names) + fate_code[has], minlength=nz * len(fate_names))
        for k in np.flatnonzero(grid):
            z, fate = divmod(int(k), len(fate_names))
            zid = world.zone_ids[z] if z < world.n_zones else ""
            fac = world.zone_faction[z] if z < world.n_zones else -1
            rows.append({"flag": name, "zone": zid, "faction": world.faction_ids[fac] if fac >= 0 else "",
                         "fate": fate_names[fate], "count": int(grid[k])})
    frame = pd.DataFrame(rows, columns=["flag", "zone", "faction", "fate", "count"])
    return frame, totals
