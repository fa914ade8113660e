"""The day's society and rates in one compiled call each: :func:`society_day` for
:meth:`aftermath.model.society.Society.update`, :func:`rates_day` for
:func:`aftermath.model.rates.daily_rates`.

Each was some fifty NumPy operations on arrays of a few zones or routes, each a microsecond or so
of NumPy's own overhead: 30 us a day apiece, which in a 100-day SIR of a million agents on the
event step was 6% of the run. These kernels do the same arithmetic element by element, in the same
order of operations, with NumPy's own rules where they differ from plain comparisons
(``np.maximum``, ``np.minimum`` and ``np.clip`` at NaN and at -0.0), so that every engine's run is
the same, bit for bit: ``tests/test_daily_speed_identity.py`` holds them against the plain NumPy
code, kept there, on random states with -0.0, inf and NaN, compiled and under
``NUMBA_DISABLE_JIT=1``. Sums start from 0.0 and run left to right, as ``np.add.reduce`` sums a
row of four and a few rows (from its identity: -0.0s sum to 0.0), and as ``np.bincount`` adds its
weights. (Which NaN a NaN operand gives is the compiler's: IEEE 754 leaves it open, and no other
value depends on it.) The rules at ties of -0.0 and 0.0 are NumPy 2's, which the tests check
against the NumPy installed.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from aftermath.model.world import State

_S, _E, _H, _Z = int(State.S), int(State.E), int(State.H), int(State.Z)  # (constants where compiled)


@nb.njit(cache=True, inline="always")
def np_maximum(a, b):
    """``np.maximum(a, b)`` for floats: NaN if either is (``a``'s if both), else the larger, ``b``
    on a tie (so ``np.maximum(-0.0, 0.0)`` is 0.0 and ``np.maximum(0.0, -0.0)`` is -0.0)."""
    return a if (a > b or a != a) else b


@nb.njit(cache=True, inline="always")
def np_minimum(a, b):
    """``np.minimum(a, b)`` for floats: NaN if either is, else the smaller, ``b`` on a tie (so a
    ``np.minimum.reduce`` keeps the later of -0.0 and 0.0)."""
    return a if (a < b or a != a) else b


@nb.njit(cache=True, inline="always")
def np_clip(x, lo, hi):
    """``np.clip(x, lo, hi)`` for floats: NaN if any of them is; else ``lo`` only if above ``x`` and
    ``hi`` only if below that (so ``np.clip(-0.0, 0.0, 1.0)`` is -0.0)."""
    if x != x:
        return x
    if lo != lo:
        return lo
    if hi != hi:
        return hi
    t = lo if lo > x else x
    return hi if hi < t else t


@nb.njit(cache=True)
def society_day(counts, flows, death_rows, f_infection, f_breach, fear, vigilance, supplies, starving, calm_days,
                edge_zone, edge_other, n_neighbours, production, rotation_restore, rotation_cost,
                keep_fear, per_infection, per_death, per_breach, starvation_fear, neighbour_share,
                exhaustion, recovery, floor, production_loss,
                new_fear, new_vigilance, new_supplies, new_starving, new_calm, living, safe_n, eaters):
    """One day of fear, vigilance, supplies (before any sharing between factions) and calm, into
    the ``new_*`` arrays, with the zones' ``living``, ``safe_n`` (living, at least 1) and
    ``eaters``; returns whether any zone's supplies ran out today (began to starve). ``keep_fear``
    is ``1 - fear.decay``. Who starves is the supplies' before any sharing between factions: a
    caller that shares food works it out again from the shared supplies."""
    nz = fear.shape[0]
    excess = np.zeros(nz)
    for k in range(edge_zone.shape[0]):  # np.bincount's weights, in edge order
        excess[edge_zone[k]] += np_maximum(fear[edge_other[k]] - fear[edge_zone[k]], 0.0)
    for z in range(nz):
        lv = 0.0 + counts[z, _S]  # np.add.reduce starts from its identity: -0.0s sum to 0.0
        lv = lv + counts[z, _E]
        lv = lv + counts[z, _H]
        lv = lv + counts[z, _Z]
        living[z] = lv
        sn = np_maximum(lv, 1.0)
        safe_n[z] = sn
        deaths = 0.0
        for k in range(death_rows.shape[0]):
            deaths = deaths + flows[death_rows[k], z]
        infections = flows[f_infection, z]
        f = fear[z] * keep_fear
        f += per_infection * infections / sn
        f += per_death * deaths / sn
        f += per_breach * flows[f_breach, z]
        f += starvation_fear * (1.0 if starving[z] else 0.0)
        f += neighbour_share * excess[z] / np.float64(n_neighbours[z])
        new_fear[z] = np_clip(f, 0.0, 1.0)

        threat = counts[z, _Z] >= 0.5
        vig = vigilance[z]
        v = vig * (1.0 - exhaustion) if threat else vig + recovery * (1.0 - vig)
        v += rotation_restore[z] * (1.0 - v)
        new_vigilance[z] = np_clip(v, floor, 1.0)

        workers = counts[z, _S] + counts[z, _E]
        eat = workers + counts[z, _H]
        eaters[z] = eat
        made = production[z] * workers * (1.0 - production_loss * new_fear[z]) * (1.0 - rotation_cost[z])
        sup = supplies[z]
        if np.isfinite(sup):
            new_supplies[z] = np_maximum(sup + made - eat, 0.0)
        else:
            new_supplies[z] = np.inf

        new_calm[z] = calm_days[z] + 1 if (infections < 0.5 and not threat) else 0
    began = False
    for z in range(nz):
        began |= starving_now(z, supplies, new_supplies, eaters, new_starving) and not starving[z]
    return began


@nb.njit(cache=True)
def starving_now(z, supplies, new_supplies, eaters, new_starving):
    """Zone ``z`` starves: finite supplies (before the day), none left, and someone to eat."""
    s = np.isfinite(supplies[z]) and new_supplies[z] <= 0.0 and eaters[z] > 0
    new_starving[z] = s
    return s


@nb.njit(cache=True, inline="always")
def zone_trust_at(z, truce, trust, zone_faction):
    """The lowest trust zone ``z``'s faction has in a faction it keeps a truce with; 1 with no
    faction or no truce (``np.minimum.reduce`` over the truces, in order)."""
    f = zone_faction[z]
    if truce.shape[0] == 0 or f < 0:
        return 1.0
    zt, any_truce = np.inf, False
    for j in range(truce.shape[0]):
        if truce[f, j]:
            zt = np_minimum(zt, trust[f, j])
            any_truce = True
    return zt if any_truce else 1.0


@nb.njit(cache=True, inline="always")
def faction_trust_at(z, fear, truce, trust, kin_culled, zone_faction, distrust):
    """Zone ``z``'s people's trust in their own faction's rule
    (:meth:`aftermath.model.society.Society.faction_trust`): :func:`zone_trust_at` times
    ``1 - fear / 2``, 1 with no faction; then less by the share bereaved by its culls
    (``distrust``)."""
    ft = 1.0
    if truce.shape[0] > 0 and zone_faction[z] >= 0:
        ft = zone_trust_at(z, truce, trust, zone_faction) * (1.0 - 0.5 * fear[z])
    if distrust > 0:
        ft = ft * (1.0 - np_clip(distrust * kin_culled[z], 0.0, 1.0))
    return ft


@nb.njit(cache=True)
def zone_trust_all(truce, trust, zone_faction, out):
    """:func:`zone_trust_at` for every zone, into ``out``."""
    for z in range(out.shape[0]):
        out[z] = zone_trust_at(z, truce, trust, zone_faction)


@nb.njit(cache=True)
def faction_trust_all(fear, truce, trust, kin_culled, zone_faction, distrust, out):
    """:func:`faction_trust_at` for every zone, into ``out``."""
    for z in range(fear.shape[0]):
        out[z] = faction_trust_at(z, fear, truce, trust, kin_culled, zone_faction, distrust)


@nb.njit(cache=True)
def strain_day(route_from, route_to, admit_mode, sensitivity, seal_out, relapse_mult, relapse0, breach, unstealth,
               through, feral_rate, admit_screen, admit_closed, admit_i, feral_move, relapse):
    """The strain-dependent rates (:func:`aftermath.model.rates.strain_rates`) of the strains whose
    columns are given (``relapse0``, ``breach``, ``unstealth`` = 1 - stealth, and the walls'
    ``through`` per route and strain), into ``admit_i`` and ``feral_move`` [route, strain] and
    ``relapse`` [zone, strain]: a screened gate admits the infected it does not detect, a closed
    one none; ferals ignore gates and truces, a wall stops them unless the strain breaches it, and
    a seal keeps them in as a wall of 1 would."""
    ns = breach.shape[0]
    for r in range(route_from.shape[0]):
        a, b = route_from[r], route_to[r]
        mode = admit_mode[b]
        for s in range(ns):
            if mode == admit_closed:
                admit_i[r, s] = 0.0
            elif mode == admit_screen:
                admit_i[r, s] = 1.0 - sensitivity[b] * unstealth[s]
            else:
                admit_i[r, s] = 1.0
            feral_move[r, s] = feral_rate[r] * through[r, s] * (breach[s] if seal_out[a] else 1.0)
    for z in range(relapse_mult.shape[0]):
        for s in range(ns):
            relapse[z, s] = relapse0[s] * relapse_mult[z]


@nb.njit(cache=True)
def rates_day(fear, vigilance, starving, truce, trust, kin_culled, route_from, route_to, route_rate, open_wall,
              cross, zone_faction, disposal0, relapse0, breach, unstealth, through, feral_rate,
              seal_out, seal_in, admit_mode, specificity, sensitivity, hybrid_action, hybrid_rate, hybrid_target,
              disposal_extra, relapse_mult, fear_flight, starvation_rate, alpha, c_base, c_harsh, c_trust, distrust,
              admit_screen, admit_closed, hyb_cull, hyb_isolate,
              human_pass, admit_s, admit_i, feral_move, relapse, starve, cull, move, defend, disposal, conceal):
    """The day's rates that move with society and the levers (:func:`aftermath.model.rates.daily_rates`'s
    arrays), into the arrays after ``hyb_isolate``: per route, per (route, strain), per (zone,
    strain) and per zone."""
    nz, nr = fear.shape[0], route_from.shape[0]
    for r in range(nr):
        a, b = route_from[r], route_to[r]
        flight = 1.0 + fear_flight * np_maximum(fear[a] - fear[b], 0.0)
        open_ = truce[zone_faction[a], zone_faction[b]] if cross[r] else True
        gates = open_ and not seal_out[a] and not seal_in[b]
        human_pass[r] = route_rate[r] * flight * open_wall[r] * (1.0 if gates else 0.0)
        mode = admit_mode[b]
        admit_s[r] = 0.0 if mode == admit_closed else (specificity[b] if mode == admit_screen else 1.0)
    strain_day(route_from, route_to, admit_mode, sensitivity, seal_out, relapse_mult, relapse0, breach, unstealth,
               through, feral_rate, admit_screen, admit_closed, admit_i, feral_move, relapse)
    for z in range(nz):
        starve[z] = (1.0 if starving[z] else 0.0) * starvation_rate
        act = hybrid_action[z]
        cull[z] = hybrid_rate[z] if act == hyb_cull else 0.0
        move[z] = hybrid_rate[z] if (act != hyb_cull and hybrid_target[z] >= 0) else 0.0
        defend[z] = alpha * vigilance[z]
        disposal[z] = disposal0[z] + disposal_extra[z]
        harsh = 1.0 if act == hyb_cull else (0.5 if act == hyb_isolate else 0.0)
        ft = faction_trust_at(z, fear, truce, trust, kin_culled, zone_faction, distrust)
        conceal[z] = np_clip(c_base + c_harsh * harsh - c_trust * ft, 0.0, 1.0)
