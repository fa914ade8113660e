"""The agent-based engine's hazard tables, compiled from the model's declarations.

:func:`compile_tables` turns :data:`aftermath.model.reactions.TRANSITIONS` into *slots*: for each
state, the list of transitions open to a person in it. A transition with no individual hook gives
one slot per branch (at ``rate * share``), one with a hook gives one slot whose branch the hook
chooses; a ``ROUTE`` transition gives one slot per route out of the zone (the k-th slot is the
zone's k-th route, see :func:`out_route_table`). Every slot carries, per branch, the product
state, whether the person moves to the slot's place, its flow tags, route-flow tag and ledger
marks: the step kernel (:mod:`.step`) applies this table and has no branch per mechanism.

Each day :func:`day_coefficients` evaluates the declarations' rate and share arrays over the
engine's strains into ``coef[state, slot, branch, zone, strain]``; each step :func:`fill_rows`
multiplies them by the contact pressure of the step's counts into the per-(zone, state, strain)
rows that the kernel reads, with ``p = 1 - exp(-L dt)`` of the row's total ``L`` (docs/model.md#encounters).
``tests/test_abm_tables.py`` holds every slot (rate, product, destination, tags) against the
reactions that :func:`aftermath.model.network.build_network` expands from the same declarations.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import fields, replace
from functools import lru_cache

import numba as nb
import numpy as np
from numpy.typing import NDArray

from aftermath.model.network import MAX_TAGS
from aftermath.model.rates import DailyRates, field_key
from aftermath.model.reactions import TRANSITIONS, Hook, Pressure, Where, product_state
from aftermath.model.world import N_STATES, State

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
S, E, H, Z, D, R = 0, 1, 2, 3, 4, 5
#: Rows are kept for S (strain 0 only) and per strain for E, H, Z and D; R has none.
ROW_STATES = 5
P_BITE, P_DEFENCE = int(Pressure.BITE), int(Pressure.DEFENCE)
MAX_BRANCHES = max(len(t.branches) for t in TRANSITIONS)

#: The static tables (see the module docstring); all arrays are indexed ``[state, slot(, branch)]``.
Tables = namedtuple("Tables", [
    "n_slots",  # [state]
    "transition",  # index into TRANSITIONS
    "hook", "where", "route_k", "pressure", "sacrifice", "breach", "n_branches",
    "branch",  # [state, slot, branch] the declared branch (index into the transition's branches)
    "product",  # [state, slot, branch] State
    "moves",  # [state, slot, branch] 1: to the slot's place; 0: stays (turned away)
    "tags",  # [state, slot, branch, MAX_TAGS] Flow, -1 none
    "route_tag",  # [state, slot, branch] RouteFlow, -1 none
    "ledger",  # [state, slot, branch] Flag bits
    "branch_of",  # [state, slot, product state] the branch that ends in that state, -1 none
    "stays",  # [state, slot] the branch that does not move (a gate's refusal), -1 none
    "onset_branch_of",  # [product state] branch of the scheduled end of latency, -1 none
    "onset_tags",  # [branch, MAX_TAGS]
    "onset_product",  # [branch]
])
"""The compiled slot table (a namedtuple of arrays, as Numba takes it)."""


def out_route_table(route_from: np.ndarray, n_zones: int) -> I64:
    """[zone, k] index of the k-th route leaving the zone, -1 padded."""
    per = np.bincount(route_from, minlength=n_zones) if route_from.size else np.zeros(n_zones, np.int64)
    width = int(per.max()) if per.size and per.max() > 0 else 0
    out = np.full((n_zones, max(width, 1)), -1, dtype=np.int64)
    fill = np.zeros(n_zones, dtype=np.int64)
    for r, z in enumerate(route_from):
        out[z, fill[z]] = r
        fill[z] += 1
    return out


def _slots(n_routes_out: int) -> list[tuple[int, int, int, int]]:
    """(state, transition, route ordinal, branch or -1 for all) of every slot, in table order."""
    out: list[tuple[int, int, int, int]] = []
    for st in range(ROW_STATES):
        for ti, t in enumerate(TRANSITIONS):
            if t.scheduled or State(st) not in t.sources:
                continue
            for k in range(n_routes_out if t.where == Where.ROUTE else 1):
                if t.hook == Hook.NONE:
                    out.extend((st, ti, k, bi) for bi in range(len(t.branches)))
                else:
                    out.append((st, ti, k, -1))
    return out


def compile_tables(n_routes_out: int) -> Tables:
    """The slot table for zones with at most ``n_routes_out`` routes out (see the module docstring)."""
    slots = _slots(n_routes_out)
    per = np.bincount([st for st, *_ in slots], minlength=ROW_STATES)
    nj, nb_ = int(per.max()), MAX_BRANCHES

    def full(shape: tuple[int, ...], fill: int = -1) -> I64:
        return np.full(shape, fill, dtype=np.int64)

    transition, hook, where, route_k = (full((ROW_STATES, nj)) for _ in range(4))
    pressure, sacrifice, breach, n_br = (full((ROW_STATES, nj), 0) for _ in range(4))
    declared, product, route_tag = (full((ROW_STATES, nj, nb_)) for _ in range(3))
    moves, ledger = full((ROW_STATES, nj, nb_), 0), full((ROW_STATES, nj, nb_), 0)
    tags = full((ROW_STATES, nj, nb_, MAX_TAGS))
    branch_of = full((ROW_STATES, nj, N_STATES))
    stays = full((ROW_STATES, nj))
    fill = np.zeros(ROW_STATES, dtype=np.int64)
    for st, ti, k, bi in slots:
        t = TRANSITIONS[ti]
        j = fill[st]
        fill[st] += 1
        branches = [bi] if bi >= 0 else list(range(len(t.branches)))
        transition[st, j], hook[st, j], where[st, j] = ti, int(t.hook), int(t.where)
        route_k[st, j] = k if t.where == Where.ROUTE else -1
        pressure[st, j], sacrifice[st, j], breach[st, j] = int(t.pressure), int(t.sacrifice), int(t.breach)
        n_br[st, j] = len(branches)
        if t.hook == Hook.ADMIT and sorted(t.branches[b].moves for b in branches) != [False, True]:
            raise ValueError(f"{t.name}: a gate (Hook.ADMIT) has two branches, one that moves and one that stays")
        for b, b_src in enumerate(branches):
            br = t.branches[b_src]
            declared[st, j, b] = b_src
            product[st, j, b] = int(product_state(t, br, State(st)))
            moves[st, j, b] = int(br.moves)
            route_tag[st, j, b] = int(br.route_tag) if br.route_tag is not None else -1
            ledger[st, j, b] = int(br.ledger)
            tags[st, j, b, : len(br.tags)] = [int(f) for f in br.tags]
            branch_of[st, j, product[st, j, b]] = b
            if not br.moves:
                stays[st, j] = b
    onset = next(t for t in TRANSITIONS if t.scheduled)
    onset_branch_of = full((N_STATES,))
    onset_tags = full((len(onset.branches), MAX_TAGS))
    onset_product = full((len(onset.branches),))
    for b, br in enumerate(onset.branches):
        onset_branch_of[int(br.product)] = b
        onset_tags[b, : len(br.tags)] = [int(f) for f in br.tags]
        onset_product[b] = int(br.product)
    return Tables(per.astype(np.int64), transition, hook, where, route_k, pressure, sacrifice, breach, n_br,
                  declared, product, moves, tags, route_tag, ledger, branch_of, stays, onset_branch_of,
                  onset_tags, onset_product)


def infection_outcome_tags(tab: Tables) -> I64:
    """``[state, k]``: the flow tags of the infection branch ending in ``state`` that not every
    branch has. A mutated infection counts the common ones in the step and these once its strain,
    and so its outcome, is known (:func:`aftermath.engines.abm.mutation.resolve_pending`)."""
    out = np.full((N_STATES, MAX_TAGS), -1, dtype=np.int64)
    for st in range(ROW_STATES):
        for j in range(int(tab.n_slots[st])):
            if tab.hook[st, j] != Hook.INFECT:
                continue
            branches = range(int(tab.n_branches[st, j]))
            common = set.intersection(*({int(f) for f in tab.tags[st, j, b] if f >= 0} for b in branches))
            for b in branches:
                extra = [int(f) for f in tab.tags[st, j, b] if f >= 0 and int(f) not in common]
                out[int(tab.product[st, j, b]), : len(extra)] = extra
    return out


def bytes_per_zone_strain(n_routes_out: int, parts: int) -> int:
    """Bytes the engine keeps per (zone, strain): the day's coefficients, the step's rows and
    pressures, the counts per strain of E, H, Z and D, and each part's deltas of them. The slot
    dimension grows with the most routes out of any one zone (a slot per route)."""
    nj = int(compile_tables(max(n_routes_out, 1)).n_slots.max())  # as out_route_table pads
    floats = ROW_STATES * nj * MAX_BRANCHES + ROW_STATES * nj + 2 * ROW_STATES + nj  # coef, rate, tot, prob, pcum
    ints = 4 * (1 + parts)  # czs and dzs
    return 8 * (floats + ints)


def strain_day_rates(rates: DailyRates, infect: F64, relapse: F64, admit_i: F64, feral_move: F64,
                     latency: F64, p_h: F64) -> DailyRates:
    """The day's rates over the engine's own strain table (mutants included), from
    :func:`aftermath.model.rates.strain_rates` and the table's latency and hybrid traits."""
    with np.errstate(divide="ignore"):
        sigma = np.where(latency > 0.0, 1.0 / latency, np.inf)
    return replace(rates, infect=infect, relapse=relapse, admit_i=admit_i, feral_move=feral_move,
                   sigma=sigma, p_hybrid=p_h)


Plan = tuple[tuple[int, int, int, int, int, int], ...]


_RATE_FIELDS = tuple(f.name for f in fields(DailyRates))


def rates_key(rates: DailyRates, names: tuple[str, ...] = _RATE_FIELDS) -> tuple[object, ...]:
    """The fields ``names`` of ``rates`` (all of them unless given) exactly, in that order
    (:func:`field_key`): equal keys, equal fields bit for bit, so a day whose rates are yesterday's
    has yesterday's coefficients. (Was the fields as one bytes string: 28 us a call for hyosan's
    rates, against 8 us; timeit in a script, not a committed benchmark.)"""
    key: list[object] = []
    for name in names:
        key += field_key(getattr(rates, name))
    return tuple(key)


class FieldsRead:
    """``rates`` (a :class:`DailyRates`) as a function of them sees it, noting which fields it
    reads: :attr:`names`, in field order. The declarations are pure functions of the rates, so if
    the fields one evaluation read are unchanged, evaluating again would read the same fields and
    give the same result: a key of those fields alone (:func:`rates_key`) is as safe as one of all
    of them, and stays the same on days when only fields no declaration reads have changed
    (concealment, which only the households' hooks read: the matched SIR's coefficients were
    evaluated again every day; its day's Python went from 17.2-17.6 to 16.5-16.9 ms a run, a
    /tmp script, best of 9 runs in each of three processes)."""

    def __init__(self, rates: DailyRates) -> None:
        self._rates = rates
        self._read: set[str] = set()

    def __getattr__(self, name: str) -> object:
        self._read.add(name)
        return getattr(self._rates, name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f for f in _RATE_FIELDS if f in self._read)


def coefficient_plan(tab: Tables) -> Plan:
    """(state, slot, branch, transition, declared branch, route ordinal or -1) of every entry of
    the coefficient array: what :func:`day_coefficients` fills, in order."""
    return tuple((st, j, b, int(tab.transition[st, j]), int(tab.branch[st, j, b]), int(tab.route_k[st, j]))
                 for st in range(ROW_STATES) for j in range(int(tab.n_slots[st]))
                 for b in range(int(tab.n_branches[st, j])))


@lru_cache(maxsize=64)
def _grouped(plan: Plan) -> tuple[tuple[int, int, int, int, int, int], ...]:
    """``plan`` with the slots of a route transition's branch taken together: (state, first slot,
    slots, branch, transition, declared branch), the slots ``first slot + k`` being the k-th
    routes out (``slots`` 0 for an entry of no route). Each group is one assignment in
    :func:`day_coefficients` instead of one per route."""
    out: list[tuple[int, int, int, int, int, int]] = []
    at: dict[tuple[int, int, int], int] = {}  # (state, branch, transition) -> its group
    for st, j, b, ti, bi, k in plan:
        if k < 0:
            out.append((st, j, 0, b, ti, bi))
            continue
        g = at.get((st, b, ti))
        if g is None:
            assert k == 0, "a route transition's slots start at its first route"
            at[st, b, ti] = len(out)
            out.append((st, j, 1, b, ti, bi))
            continue
        st0, j0, n, b0, ti0, bi0 = out[g]
        assert j == j0 + n and k == n and bi == bi0, "a route transition's slots are its routes, in order"
        out[g] = (st0, j0, n + 1, b0, ti0, bi0)
    return tuple(out)


def day_coefficients(plan: Plan, rates: DailyRates, out_routes: I64, n_strains: int, out: F64,
                     first: int = 0, strain_free: frozenset[tuple[int, int]] | None = None, offset: int = 0
                     ) -> frozenset[tuple[int, int]] | None:
    """``out[state, slot, branch, zone, strain]``: the declared ``rate * share`` of each slot's
    branch (before contact pressure) for the day, for strains ``first`` to ``n_strains - 1``
    (a day fills them all; strains born during the day add their own columns).

    An entry whose declaration has no strain axis (a scalar or ``[place, 1]`` array, by the
    declarations' convention) fills every column up to ``out``'s capacity, so that strains born
    later already have it: a call for new strains (``first > 0``) skips the entries of
    ``strain_free``. Returns the strain-free entries when this call could tell them apart (two or
    more strains), else ``strain_free`` unchanged.

    ``offset``: the per-strain arrays of ``rates`` start at that strain (a call for new strains
    passes the rates of strains ``offset`` to ``n_strains - 1`` only, at least two of them, since
    one column reads as strain-free).
    """
    nz, cap = out_routes.shape[0], out.shape[-1]
    n_routes = len(rates.human_pass)
    moving: NDArray[np.bool_] | None = None
    values: dict[tuple[int, int], tuple[F64, int]] = {}  # each (transition, branch) evaluated once
    learnt: set[tuple[int, int]] = set()
    gather: tuple[NDArray[np.bool_], I64] | None = None
    for st, j, n_r, b, ti, bi in _grouped(plan):
        if first > 0 and strain_free is not None and (ti, bi) in strain_free:
            continue  # filled for every column by the day's call
        t = TRANSITIONS[ti]
        if n_r and n_routes == 0:
            continue  # no routes: the slots stay at zero
        got = values.get((ti, bi))
        if got is None:
            br = t.branches[bi]
            v = np.asarray(t.rate(rates), dtype=np.float64)
            if br.share is not None:
                v = v * np.asarray(br.share(rates), dtype=np.float64)
            per_strain = v.ndim == 1 or (v.ndim == 2 and v.shape[1] > 1)
            if n_strains >= 2 and not per_strain:
                learnt.add((ti, bi))
            # the columns first..hi: a strain axis sliced, else (a scalar or a column) every column
            # up to the capacity; the assignments below broadcast the rest
            got = values[ti, bi] = (v[..., first - offset:], n_strains) if per_strain else (v, cap)
        v, hi = got
        if n_r:
            if gather is None:  # [route k, zone]: whether the zone has a k-th route out, and which (else 0)
                gather = ((out_routes >= 0).T[:, :, None], np.maximum(out_routes, 0).T)
            out[st, j:j + n_r, b, :, first:hi] = np.where(gather[0], v[gather[1]] if v.ndim == 2 else v, 0.0)
        elif t.where == Where.TARGET:
            if moving is None:
                moving = ((rates.hybrid_target >= 0) & (rates.hybrid_target != np.arange(nz)))[:, None]
            out[st, j, b, :, first:hi] = v * moving
        else:
            out[st, j, b, :, first:hi] = v
    if n_strains < 2:
        return strain_free
    return frozenset(learnt) | (strain_free or frozenset())  # entries skipped here were learnt before


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
def _slot_rate(coef, nb_, st, j, z, s):
    acc = 0.0
    for b in range(nb_):
        acc += coef[st, j, b, z, s]
    return acc


@nb.njit(cache=True)
def fill_rows(tab, coef, counts, czs, n_strains, den, eta, hybrid_weight, dt, rate, tot, prob, pcum):
    """The step's hazard rows from the day's coefficients and the step's counts.

    ``rate[z, st, s, slot]``, its total ``tot[z, st, s]`` and ``prob = 1 - exp(-tot dt)``; S rows
    at strain 0 sum their ``BITE`` slots over the biting strains, and ``pcum[z, slot, s]`` keeps the
    running sum for the strain pick. Rows of (zone, state, strain) with nobody in them are skipped.
    """
    one = np.int64(1)  # (int64, not a literal: the signature of the parts' calls, compiled once)
    fill_rows_part(one - 1, one, tab, coef, counts, czs, n_strains, den, eta, hybrid_weight, dt, rate, tot, prob, pcum)


@nb.njit(cache=True, nogil=True)
def fill_rows_part(p, n_parts, tab, coef, counts, czs, n_strains, den, eta, hybrid_weight, dt, rate, tot, prob,
                   pcum):
    """:func:`fill_rows` for the zones ``p, p + n_parts, ...`` (each zone's rows are its own)."""
    nz = counts.shape[0]
    for z in range(p, nz, n_parts):
        d = den[z]
        fight = 0.0
        if d > 0.0:
            fight = (counts[z, S] + hybrid_weight * counts[z, H]) / d
        for st in range(ROW_STATES):
            for s in range(n_strains if st != S else 1):
                if st != S and czs[z, s, st - 1] == 0:
                    continue
                total = 0.0
                for j in range(tab.n_slots[st]):
                    kind = tab.pressure[st, j]
                    nbr = tab.n_branches[st, j]
                    if kind == P_BITE:  # S only, summed over the biting strains
                        acc = 0.0
                        for s2 in range(n_strains):
                            zs = czs[z, s2, 2]
                            hs = czs[z, s2, 1]
                            if d > 0.0 and (zs > 0 or hs > 0):
                                acc += _slot_rate(coef, nbr, st, j, z, s2) * (zs + eta * hs) / d
                            pcum[z, j, s2] = acc
                        r = acc
                    else:
                        r = _slot_rate(coef, nbr, st, j, z, s)
                        if kind == P_DEFENCE:
                            r *= fight
                    rate[z, st, s, j] = r
                    total += r
                tot[z, st, s] = total
                prob[z, st, s] = -math.expm1(-total * dt)




def hazard_rows(tab: Tables, rates: DailyRates, out_routes: I64, counts: I64, czs: I64, dt: float,
                living_only: bool) -> tuple[F64, F64, F64, F64, F64]:
    """``(coef, rate, tot, prob, pcum)`` for one step, allocated afresh: what the engine computes in
    place each step, for tests and for anyone who wants to look at the hazards of a state."""
    nz, ns = counts.shape[0], czs.shape[1]
    nj = int(tab.n_slots.max())
    coef = np.zeros((ROW_STATES, nj, MAX_BRANCHES, nz, ns))
    day_coefficients(coefficient_plan(tab), rates, out_routes, ns, coef)
    rate, tot, prob = np.zeros((nz, ROW_STATES, ns, nj)), np.zeros((nz, ROW_STATES, ns)), np.zeros((nz, ROW_STATES, ns))
    pcum = np.zeros((nz, nj, ns))
    den = denominators(counts, rates.mass_action, living_only)
    fill_rows(tab, coef, counts, czs, ns, den, rates.eta, rates.hybrid_weight, dt, rate, tot, prob, pcum)
    return coef, rate, tot, prob, pcum
