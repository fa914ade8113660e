"""The step kernel: every person's competing transitions for one time step, resolved together.

For each person, from the state at the start of the step (synchronous update):

1. a scheduled transition due now happens first (end of latency: hybrid with the individual
   ``p_i``, else feral; MODEL.md 4);
2. otherwise one uniform ``u`` of the ``EVENT`` stream decides whether anything happens
   (``u < p`` of the person's row in :mod:`~aftermath.engines.abm.hazards`) and, reused as
   ``u / p``, which of the competing transitions it is;
3. the outcome is applied by the helper of its concern: :func:`infect` (encounters: strain of the
   biter, mutation, latency or immediate outcome), :func:`admission` (movement through gates),
   the rest inline (progression, demography, defence).

People with nothing that can happen to them (the removed, the unthreatened) cost a byte read.
Each person touches only their own slots; counts change through per-part deltas (a part is a
fixed interleaving of 4096-person chunks), summed afterwards as integers, so the result is the
same for any number of threads. Infections that mutate are left ``PENDING`` and resolved in index
order by :func:`aftermath.engines.abm.mutation.resolve_pending`.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from aftermath.engines.abm.hazards import (
    BITE_INFECT,
    BITE_KILL,
    CULL,
    CURE,
    DEATH,
    DECAY,
    DEFEND_D,
    DEFEND_R,
    DISPOSE,
    REANIMATE,
    RELAPSE,
    ROUTE0,
    STARVE,
    TRANSFER,
    D,
    E,
    H,
    R,
    S,
    Z,
)
from aftermath.engines.abm.rng import Stream, uniform
from aftermath.engines.abm.state import NO_ZONE, PENDING, Ever, Flag
from aftermath.model.flows import Flow, RouteFlow

K_EVENT, K_STRAIN, K_LAT, K_HYB, K_MUT = int(Stream.EVENT), int(Stream.STRAIN), int(Stream.LATENCY), \
    int(Stream.HYBRID), int(Stream.MUTATE)
K_ADMIT, K_HOUSE = int(Stream.ADMIT), int(Stream.HOUSEHOLD)
F_INF, F_BITE, F_DESTROY, F_DECAY = int(Flow.INFECTION), int(Flow.BITE_DEATH), int(Flow.FERAL_DESTROYED), \
    int(Flow.DECAY)
F_ONH, F_ONZ, F_RELAPSE, F_REAN, F_DISP = int(Flow.ONSET_HYBRID), int(Flow.ONSET_FERAL), int(Flow.RELAPSE), \
    int(Flow.REANIMATION), int(Flow.DISPOSAL)
F_DEATH, F_STARVE, F_CURE, F_CULL, F_MOVED = int(Flow.NATURAL_DEATH), int(Flow.STARVATION), int(Flow.CURE), \
    int(Flow.CULL), int(Flow.HYBRID_MOVED)
F_HUMAN, F_FERAL, F_BREACH, F_EXCL, F_EXCLH, F_INFARR = int(Flow.HUMAN_ARRIVED), int(Flow.FERAL_ARRIVED), \
    int(Flow.BREACH), int(Flow.EXCLUDED), int(Flow.EXCLUDED_HEALTHY), int(Flow.INFECTED_ARRIVED)
RF_HUMANS, RF_FERALS, RF_EXCL = int(RouteFlow.HUMANS), int(RouteFlow.FERALS), int(RouteFlow.EXCLUDED)
FL_SEALED, FL_SACR, FL_CULLED, FL_EXCL = int(Flag.SEALED_IN), int(Flag.SACRIFICED), int(Flag.CULLED), \
    int(Flag.EXCLUDED)
FL_EXCLH, FL_CONC, FL_MISC = int(Flag.EXCLUDED_HEALTHY), int(Flag.CONCEALED), int(Flag.MISCLASSIFIED)
FL_SWEPT = int(Flag.SWEPT)
F_SWEEP, F_SWEEPH, F_FIRST = int(Flow.SWEEP_KILL), int(Flow.SWEEP_HYBRIDS), int(Flow.FIRST_INFECTION)
EV_INFECTED = np.uint8(Ever.INFECTED)
U8_PENDING = np.uint8(PENDING)


@nb.njit(cache=True)
def hybrid_probability(p_h, k_res, r):
    """``logit(p_i) = logit(p_h) + k_res (r - 0.5)`` (as ``aftermath.model.world.hybrid_probability``)."""
    if p_h <= 0.0:
        return 0.0
    if p_h >= 1.0:
        return 1.0
    lg = np.log(p_h / (1.0 - p_h)) + k_res * (r - 0.5)
    return 1.0 / (1.0 + np.exp(-lg))


@nb.njit(cache=True)
def latency_steps(keys, i, latency, shape, dt):
    """Steps until latency ends: Erlang(shape, mean ``latency``) drawn at onset, at least one step."""
    acc = 0.0
    for j in range(shape):
        acc -= np.log(1.0 - uniform(keys[K_LAT + j], i))
    k = int(np.floor(0.5 + latency * acc / shape / dt))
    return max(1, k)


@nb.njit(cache=True)
def pick_strain(pres_cum, z, n_strains, w):
    """Smallest strain s with ``pres_cum[z, s] > w`` (binary search)."""
    lo, hi = 0, n_strains - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if pres_cum[z, mid] > w:
            hi = mid
        else:
            lo = mid + 1
    return lo


@nb.njit(cache=True)
def _pick(rates, v):
    last = 0
    for j in range(rates.shape[0]):
        rj = rates[j]
        if rj > 0.0:
            last = j
            if v < rj:
                return j
            v -= rj
    return last


@nb.njit(cache=True)
def _move(dc, dzs, p, z, st, s, z2, st2, s2):
    dc[p, z, st] -= 1
    if st >= E and st <= Z:
        dzs[p, z, s, st - 1] -= 1
    dc[p, z2, st2] += 1
    if st2 >= E and st2 <= Z:
        dzs[p, z2, s2, st2 - 1] += 1


@nb.njit(cache=True)
def onset(keys, i, p_h, k_res, r):
    """End of latency (or an immediate outcome): H with the individual probability, else Z."""
    return H if uniform(keys[K_HYB], i) < hybrid_probability(p_h, k_res, r) else Z


@nb.njit(cache=True)
def infect(keys, i, s, t, dt, latency, p_h, k_res, r, shape, next_t):
    """Outcome of an infection by strain ``s``: E with its end of latency scheduled, or H / Z at once."""
    if latency[s] > 0.0:
        next_t[i] = t + latency_steps(keys, i, latency[s], shape, dt)
        return E
    return onset(keys, i, p_h[s], k_res, r)


@nb.njit(cache=True)
def admission(st, a, screen, quarantined, hidden, u):
    """Gate decision for a walker: returns (admitted, misclassified, concealed).

    ``a`` is the chance to be let in (open 1, closed 0, screen: specificity for S, a miss for the
    infected). Under screening an infected walker is also caught in the quarantine pens when
    their latency ends within ``quarantine_days`` (``quarantined``); a household that hides its
    member gets a caught one through anyway.
    """
    if st == S:
        ok = u < a
        return ok, (not ok) and screen, False
    if not screen:
        return u < a, False, False
    caught = (u >= a) or quarantined
    if caught:
        if hidden:
            return True, False, True
        return False, False, False
    return True, True, False


@nb.njit(cache=True, nogil=True)
def step_part(p, n_parts, n, t, dt, chunk, state, zone, strain, next_t, resistance, household, flags,
              flag_zone, seal_zone, ever, keys, zrate, ztot, zp, srate, stot, sp, pres_cum, pres_tot, n_strains,
              out_routes, route_to, walled, admit_s, admit_i, screen, quarantine_steps, conceal,
              hybrid_target, latency, p_h, k_res, shape, mu, can_mutate,
              dc, dzs, fl, rf, pend_chunk):
    """Advance part ``p`` of the people by one step (see the module docstring): chunks
    ``p, p + n_parts, ...``; deltas go to row ``p`` of the part arrays.

    Each branch only decides the person's new (state, zone, strain), the flows and the ledger
    bits; they are applied once at the end of the person's turn.
    """
    n_chunks = (n + chunk - 1) // chunk
    house_key = keys[K_HOUSE]
    event_key = keys[K_EVENT]
    for c in range(p, n_chunks, n_parts):
        lo = c * chunk
        hi = min(n, lo + chunk)
        for i in range(lo, hi):
            st = np.int64(state[i])
            if st == R:
                continue
            z = np.int64(zone[i])
            if st == S:  # the common case first: one table lookup, usually one uniform, done
                pr = zp[z, S]
                if pr <= 0.0:
                    continue
                u = uniform(event_key, i)
                if u >= pr:
                    continue
                s = np.int64(0)
            else:
                s = np.int64(strain[i])
            new_st, new_z, new_s = st, z, s
            bits, bits_at = 0, z
            if st == E and next_t[i] <= t:  # scheduled: end of latency
                new_st = onset(keys, i, p_h[s], k_res, resistance[i])
                fl[p, F_ONH if new_st == H else F_ONZ, z] += 1
            else:
                if st == S:
                    j = _pick(zrate[z, S], u / pr * ztot[z, S])
                elif st == H or st == Z:  # noqa: SIM109 (plain comparisons in the hot loop)
                    row = st - H
                    pr = sp[z, s, row]
                    if pr <= 0.0:
                        continue
                    u = uniform(event_key, i)
                    if u >= pr:
                        continue
                    j = _pick(srate[z, s, row], u / pr * stot[z, s, row])
                else:
                    pr = zp[z, st]
                    if pr <= 0.0:
                        continue
                    u = uniform(event_key, i)
                    if u >= pr:
                        continue
                    j = _pick(zrate[z, st], u / pr * ztot[z, st])

                if j >= ROUTE0:  # movement along a route
                    r = out_routes[z, j - ROUTE0]
                    c2 = np.int64(route_to[r])
                    if st == Z:
                        new_z = c2
                        fl[p, F_FERAL, c2] += 1
                        if walled[r]:
                            fl[p, F_BREACH, c2] += 1
                        rf[p, RF_FERALS, r] += 1
                    else:
                        ua = uniform(keys[K_ADMIT], i)
                        if st == S:
                            a = admit_s[r]
                            quar = False
                            hidden = False
                        else:
                            a = admit_i[r, s]
                            quar = st == E and screen[r] and (next_t[i] - t) <= quarantine_steps[r]
                            hidden = conceal[c2] > 0.0 and uniform(house_key, household[i]) < conceal[c2]
                        ok, wrong, concealed = admission(st, a, screen[r], quar, hidden, ua)
                        bits_at = c2
                        if wrong:
                            bits |= FL_MISC
                        if concealed:
                            bits |= FL_CONC
                        if ok:
                            new_z = c2
                            fl[p, F_HUMAN, c2] += 1
                            if st != S:
                                fl[p, F_INFARR, c2] += 1
                            rf[p, RF_HUMANS, r] += 1
                        else:
                            fl[p, F_EXCL, c2] += 1
                            rf[p, RF_EXCL, r] += 1
                            bits |= FL_EXCL
                            if st == S:
                                fl[p, F_EXCLH, c2] += 1
                                bits |= FL_EXCLH
                elif st == S:
                    if j == BITE_INFECT or j == BITE_KILL:  # noqa: SIM109 (plain comparisons in the hot loop)
                        new_s = pick_strain(pres_cum, z, n_strains, uniform(keys[K_STRAIN], i) * pres_tot[z])
                        if (flags[i] & FL_SEALED) and seal_zone[i] == z:
                            bits |= FL_SACR
                        if j == BITE_KILL:
                            new_st = D
                            fl[p, F_BITE, z] += 1
                        else:
                            fl[p, F_INF, z] += 1
                            if ever[i] == 0:  # the initial cohort's first infection (attack rate)
                                fl[p, F_FIRST, z] += 1
                            ever[i] |= EV_INFECTED
                            if can_mutate and uniform(keys[K_MUT], i) < mu:
                                # resolved in person order after the step (mutation.resolve_pending)
                                state[i] = U8_PENDING
                                strain[i] = new_s
                                flags[i] |= bits
                                dc[p, z, S] -= 1
                                pend_chunk[c] += 1
                                continue
                            new_st = infect(keys, i, new_s, t, dt, latency, p_h, k_res, resistance[i], shape,
                                            next_t)
                            if new_st != E:
                                fl[p, F_ONH if new_st == H else F_ONZ, z] += 1
                    else:  # DEATH or STARVE: a corpse of no strain (the founder's if it rises)
                        if j == STARVE and (flags[i] & FL_SEALED) and seal_zone[i] == z:
                            bits |= FL_SACR
                        new_st = D
                        new_s = 0
                        fl[p, F_DEATH if j == DEATH else F_STARVE, z] += 1
                elif st == E or st == H:  # noqa: SIM109 (plain comparisons in the hot loop)
                    if st == H and j == RELAPSE:
                        new_st = Z
                        fl[p, F_RELAPSE, z] += 1
                    elif st == H and (j == CULL or j == TRANSFER):  # noqa: SIM109 (plain comparisons in the hot loop)
                        if conceal[z] > 0.0 and uniform(house_key, household[i]) < conceal[z]:
                            bits |= FL_CONC
                        elif j == CULL:
                            new_st = R
                            fl[p, F_CULL, z] += 1
                            bits |= FL_CULLED
                        else:
                            new_z = np.int64(hybrid_target[z])
                            fl[p, F_MOVED, new_z] += 1
                    elif j == DEATH or j == STARVE:  # noqa: SIM109 (plain comparisons in the hot loop)
                        new_st = D
                        fl[p, F_DEATH if j == DEATH else F_STARVE, z] += 1
                    elif j == CURE:
                        new_st = S
                        new_s = 0
                        fl[p, F_CURE, z] += 1
                elif st == Z:
                    if j == DEFEND_D or j == DEFEND_R:  # noqa: SIM109 (plain comparisons in the hot loop)
                        new_st = D if j == DEFEND_D else R
                        fl[p, F_DESTROY, z] += 1
                    elif j == DECAY:
                        new_st = R
                        fl[p, F_DECAY, z] += 1
                    elif j == CURE:
                        new_st = S
                        new_s = 0
                        fl[p, F_CURE, z] += 1
                else:  # D
                    if j == REANIMATE:
                        new_st = Z
                        fl[p, F_REAN, z] += 1
                    elif j == DISPOSE:
                        new_st = R
                        fl[p, F_DISP, z] += 1
            if bits:
                if flag_zone[i] == NO_ZONE:
                    flag_zone[i] = bits_at
                flags[i] |= bits
            if new_st != st or new_z != z:
                state[i] = new_st
                zone[i] = new_z
                strain[i] = new_s
                _move(dc, dzs, p, z, st, s, new_z, new_st, new_s)


@nb.njit(cache=True, nogil=True)
def count_part(p, n_parts, n, chunk, state, zone, strain, cs, czs):
    """Recount part ``p``: [zone, state] into ``cs[p]``, [zone, strain, (E, H, Z)] into ``czs[p]``."""
    n_chunks = (n + chunk - 1) // chunk
    for c in range(p, n_chunks, n_parts):
        for i in range(c * chunk, min(n, c * chunk + chunk)):
            st = state[i]
            z = zone[i]
            cs[p, z, st] += 1
            if st >= E and st <= Z:
                czs[p, z, strain[i], st - 1] += 1


@nb.njit(cache=True, nogil=True)
def sweep_part(p, n_parts, n, chunk, state, zone, strain, flags, flag_zone, kill, hybrids, q, key_kill,
                 key_q, fl):
    """A morning sweep: each feral (and hybrid where ``hybrids[z]``) in zone z is destroyed with
    probability ``kill[z]``; a destroyed one leaves a corpse (D) with ``q``, else is removed."""
    n_chunks = (n + chunk - 1) // chunk
    for c in range(p, n_chunks, n_parts):
        for i in range(c * chunk, min(n, c * chunk + chunk)):
            st = state[i]
            if st != Z and st != H:
                continue
            z = zone[i]
            k = kill[z]
            if k <= 0.0 or (st == H and not hybrids[z]):
                continue
            if uniform(key_kill, i) < k:
                state[i] = D if uniform(key_q, i) < q else R
                fl[p, F_SWEEP, z] += 1
                if st == H:
                    fl[p, F_SWEEPH, z] += 1
                    if flag_zone[i] == NO_ZONE:
                        flag_zone[i] = z
                    flags[i] |= FL_SWEPT


@nb.njit(cache=True, nogil=True)
def mark_sealed(n, state, zone, flags, flag_zone, seal_zone, newly_sealed):
    """The uninfected inside a zone at the moment it is sealed: they may become its sacrifice.

    ``seal_zone`` is set to the zone (the latest seal wins); ``flag_zone`` only when no policy
    had acted on the person before (it stays the zone of the first act).
    """
    for i in range(n):
        if state[i] == S and newly_sealed[zone[i]]:
            flags[i] |= FL_SEALED
            seal_zone[i] = zone[i]
            if flag_zone[i] == NO_ZONE:
                flag_zone[i] = zone[i]


@nb.njit(cache=True)
def schedule_latency(idx, t, dt, keys, strain, latency, shape, next_t):
    """Draw the end of latency for the people ``idx`` who are latent at step ``t`` (set-up)."""
    for i in idx:
        next_t[i] = t + latency_steps(keys, i, latency[strain[i]], shape, dt)
