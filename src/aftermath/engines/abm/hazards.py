"""Per-step hazard tables: the day's rates (:class:`~aftermath.model.rates.DailyRates`) and the
step's counts turned into each person's competing transitions, one row per (zone, state[, strain]).

A row lists the per-capita rate of every transition open to a person in that state and place, in
fixed *slots* (below). The step kernel resolves them together: with total rate ``L`` the person
moves with probability ``p = 1 - exp(-L dt)``, and then to slot ``j`` with probability
``rate_j / L`` (MODEL.md 3). Rows depend only on the counts at the start of the step, so the update
is synchronous. ``tests/test_abm_hazards.py`` holds these rates against the reaction network's
propensities divided by the reactant's count, reaction family by reaction family.

Slots (``ROUTE0 + k`` is the k-th route out of the zone, see ``out_routes``):

====== =============== =========== ============ =============== ==========
slot   S               E           H            Z               D
====== =============== =========== ============ =============== ==========
0      bite, infected  .           relapse      destroyed -> D  reanimate
1      bite, killed    .           cull         destroyed -> R  disposal
2      natural death   death       death        decay           .
3      starvation      starvation  starvation   .               .
4      .               cure        cure         cure            .
5      .               .           transfer     .               .
6+k    walk route k    walk        walk         wander          .
====== =============== =========== ============ =============== ==========
"""

from __future__ import annotations

import numba as nb
import numpy as np

S, E, H, Z, D, R = 0, 1, 2, 3, 4, 5
ROUTE0 = 6
# slot names, per state
BITE_INFECT, BITE_KILL, DEATH, STARVE, CURE, TRANSFER = 0, 1, 2, 3, 4, 5
RELAPSE, CULL = 0, 1
DEFEND_D, DEFEND_R, DECAY = 0, 1, 2
REANIMATE, DISPOSE = 0, 1


def out_route_table(route_from: np.ndarray, n_zones: int) -> np.ndarray:
    """[zone, k] index of the k-th route leaving the zone, -1 padded."""
    per = np.bincount(route_from, minlength=n_zones) if route_from.size else np.zeros(n_zones, np.int64)
    width = int(per.max()) if per.size and per.max() > 0 else 0
    out = np.full((n_zones, max(width, 1)), -1, dtype=np.int64)
    fill = np.zeros(n_zones, dtype=np.int64)
    for r, z in enumerate(route_from):
        out[z, fill[z]] = r
        fill[z] += 1
    return out


@nb.njit(cache=True)
def denominators(counts, mass_action, living_only):
    """N per zone: 1 (mass action), living bodies S+E+H+Z, or all bodies (``run.denominator``)."""
    nz = counts.shape[0]
    den = np.ones(nz)
    if mass_action:
        return den
    for z in range(nz):
        tot = 0
        last = Z if living_only else R
        for st in range(last + 1):
            tot += counts[z, st]
        den[z] = float(tot)
    return den


@nb.njit(cache=True)
def bite_pressure(czs, n_strains, infect, eta, den, pres_cum):
    """Encounters, part 1: ``pres_cum[z, s]``, the running sum over strains of
    ``infect[z, s] * (Z_s + eta H_s) / N_z``; its last entry is the bite hazard on each S."""
    nz = czs.shape[0]
    tot = np.zeros(nz)
    for z in range(nz):
        acc = 0.0
        if den[z] > 0.0:
            for s in range(n_strains):
                zs = czs[z, s, 2]
                hs = czs[z, s, 1]
                if zs > 0 or hs > 0:
                    acc += infect[z, s] * (zs + eta * hs) / den[z]
                pres_cum[z, s] = acc
        else:
            for s in range(n_strains):
                pres_cum[z, s] = 0.0
        tot[z] = acc
    return tot


@nb.njit(cache=True)
def zone_rows(counts, den, bite, kappa, death, starvation, cure, reanimation, disposal,
              human_pass, out_routes, dt, zrate, ztot, zp):
    """Encounters (bites) and progression for the strain-blind states S, E and D, per zone."""
    nz = counts.shape[0]
    zrate[:] = 0.0
    for z in range(nz):
        zrate[z, S, BITE_INFECT] = bite[z] * (1.0 - kappa)
        zrate[z, S, BITE_KILL] = bite[z] * kappa
        for st in (S, E):
            zrate[z, st, DEATH] = death
            zrate[z, st, STARVE] = starvation[z]
            for k in range(out_routes.shape[1]):
                r = out_routes[z, k]
                if r >= 0:
                    zrate[z, st, ROUTE0 + k] = human_pass[r]
        zrate[z, E, CURE] = cure[z]
        zrate[z, D, REANIMATE] = reanimation
        zrate[z, D, DISPOSE] = disposal[z]
        for st in (S, E, D):
            tot = 0.0
            for j in range(zrate.shape[2]):
                tot += zrate[z, st, j]
            ztot[z, st] = tot
            zp[z, st] = -np.expm1(-tot * dt)


@nb.njit(cache=True)
def strain_rows(counts, czs, n_strains, den, defend, hybrid_weight, q, decay, relapse, cull,
                hybrid_move, hybrid_target, death, starvation, cure, human_pass, feral_move, out_routes,
                dt, srate, stot, sp):
    """Defence, decay, relapse, culls, transfers and movement of H and Z, per (zone, strain).

    Only rows of (zone, strain) pairs with a hybrid or a feral at the start of the step are filled:
    no one else reads them this step.
    """
    nz = counts.shape[0]
    nk = out_routes.shape[1]
    for z in range(nz):
        fight = 0.0
        if den[z] > 0.0:
            fight = defend[z] * (counts[z, S] + hybrid_weight * counts[z, H]) / den[z]
        move = hybrid_move[z] if (hybrid_target[z] >= 0 and hybrid_target[z] != z) else 0.0
        for s in range(n_strains):
            if czs[z, s, 1] == 0 and czs[z, s, 2] == 0:
                continue
            srate[z, s, :, :] = 0.0
            srate[z, s, 0, RELAPSE] = relapse[z, s]
            srate[z, s, 0, CULL] = cull[z]
            srate[z, s, 0, DEATH] = death
            srate[z, s, 0, STARVE] = starvation[z]
            srate[z, s, 0, CURE] = cure[z]
            srate[z, s, 0, TRANSFER] = move
            srate[z, s, 1, DEFEND_D] = fight * q
            srate[z, s, 1, DEFEND_R] = fight * (1.0 - q)
            srate[z, s, 1, DECAY] = decay
            srate[z, s, 1, CURE] = cure[z]
            for k in range(nk):
                r = out_routes[z, k]
                if r >= 0:
                    srate[z, s, 0, ROUTE0 + k] = human_pass[r]
                    srate[z, s, 1, ROUTE0 + k] = feral_move[r, s]
            for row in range(2):
                tot = 0.0
                for j in range(srate.shape[3]):
                    tot += srate[z, s, row, j]
                stot[z, s, row] = tot
                sp[z, s, row] = -np.expm1(-tot * dt)
