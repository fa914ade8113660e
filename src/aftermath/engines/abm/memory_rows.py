"""The susceptible's step probability at every level of memory, once a step instead of per person.

With memory of loss on (:mod:`aftermath.people.ties`), a person's walking slots are multiplied by
``1 + flight * m`` for their memory ``m`` (0 to ``MEM_MAX``), so their step probability is not the
row's: :func:`aftermath.engines.abm.step._walk_prob` computes ``1 - exp(-(tot + (mult - 1) *
walks) dt)`` per person and step, an ``expm1`` and a pass over the slots each time; with memory
spread through a population that was most of the step's cost (measured: hyosan at 1e6 people, the
step kernel's CPU time 2.6 times that of the run without memory).

A susceptible's row is the same for everyone in their zone, so :func:`fill_s_memory` tabulates
``sprob[z, m]`` for the zones of part ``p`` with exactly the expression of ``_walk_prob`` (same
operands, same order: the same doubles; the row's total and walks read once per zone), and the
step reads one number. The latent and hybrids
(rows per strain) still compute theirs.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from aftermath.engines.abm.step import _walks
from aftermath.engines.abm.tables import S


@nb.njit(cache=True, nogil=True)
def fill_s_memory(p, n_parts, tot_all, rate_all, where, flight, dt, sprob, last):
    """``sprob[z, m]``: S's step probability in zone z at memory m (zones ``p, p + n_parts, ...``),
    from the step's rows (``Rows.tot``, ``Rows.rate``) and the slots' places (``Tables.where``).
    The arrays, not their bundles: a bundle's dispatch reads every array's header, tens of
    microseconds a step in the run, where the caches are cold after the step kernel. ``last[z]``:
    the row's total and walks the zone's levels were made from (NaN: none yet); a zone whose row
    is the same (no infection there, the same gates) keeps them (the same doubles, ``flight`` and
    ``dt`` being the run's)."""
    nz, levels = sprob.shape
    for z in range(p, nz, n_parts):
        tot, walks = tot_all[z, S, 0], _walks(rate_all[z, S, 0], where[S])  # the zone's row: once, not per level
        if tot == last[z, 0] and walks == last[z, 1]:
            continue
        last[z, 0], last[z, 1] = tot, walks
        if walks == 0.0:  # no walking out (a sealed zone, a gate closed both ways): every level is the row's
            pr = -math.expm1(-(tot + 0.0 * walks) * dt)  # (the expression below at any m: the same double)
            for m in range(levels):
                sprob[z, m] = pr
            continue
        for m in range(levels):
            mult = 1.0 + flight * np.int64(m)
            sprob[z, m] = -math.expm1(-(tot + (mult - 1.0) * walks) * dt)  # _walk_prob's expression
