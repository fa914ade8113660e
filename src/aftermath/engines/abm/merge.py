"""Folding the parts' per-step deltas into the engine's counts, in parallel over zones.

After a step each part holds its deltas ``dc[p, zone, state]`` and ``dzs[p, zone, strain, k]``;
:func:`merge_part` adds them into ``counts[zone, state]`` and ``czs[zone, strain, k]`` and zeroes
them for the next step. Part ``p`` of ``n_parts`` takes the zones ``p, p + n_parts, ...``, so no
two parts write the same row; integer sums make the result independent of the part count. With
thousands of strains the per-strain deltas are megabytes a step: summing and zeroing them on one
thread, between the parallel steps, was serial work that grew with the strain table.

The sums are written whatever the delta, not only where it is non-zero: a store under a test in
such a loop is vectorised into *masked* stores, and on some machines (AMD Zen 4 under a
hypervisor, the development machine) a masked store into a page never written (the zero page
that ``np.zeros`` leaves until the first write) costs about a microsecond every time, even with
nothing to store. The strain arrays are mostly such pages; the step's merge took 1.6 ms instead
of 45 us on hyosan's 3,600 strains (one-off cProfile runs; ``tests/test_kernels_asm.py`` checks
the code for them).
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, nogil=True)
def merge_part(p, n_parts, n_strains, dc, dzs, counts, czs):
    """Add the deltas of every part into the zones ``p, p + n_parts, ...``; zero those deltas."""
    n_src, nz = dc.shape[0], counts.shape[0]
    for z in range(p, nz, n_parts):
        for q in range(n_src):
            for st in range(counts.shape[1]):
                counts[z, st] += dc[q, z, st]
                dc[q, z, st] = 0
            for s in range(n_strains):
                for k in range(czs.shape[2]):  # (no test: see the module's docstring)
                    czs[z, s, k] += dzs[q, z, s, k]
                    dzs[q, z, s, k] = 0
