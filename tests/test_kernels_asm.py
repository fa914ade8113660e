"""The per-step reducers compile without masked stores.

A store under a test in a simple loop (``if v != 0: total += v; v = 0``) is vectorised into masked
stores (AVX2 ``vpmaskmov``, AVX-512 ``{%k}`` stores). On the development machine (AMD Zen 4 under
a hypervisor) each masked store into a page never written (``np.zeros`` leaves the zero page
mapped until the first write) costs about a microsecond, even when nothing is stored: merging a
step's per-strain deltas took 1.6 ms instead of 45 us, and made two threads slower than one on
hyosan at 1e6. The reducers that run every step write their sums unconditionally instead
(:mod:`aftermath.engines.abm.merge`). This checks their machine code, compiled afresh for this
host; a host whose compiler makes no masked stores (the control below finds none) skips.
"""

from __future__ import annotations

import re

import numba as nb
import numpy as np
import pytest

from aftermath.engines.abm.events import fold
from aftermath.engines.abm.merge import merge_part
from aftermath.engines.abm.parts import part_array

#: a store from a vector register to memory under a mask: AVX-512 ``{%kN}``, AVX/AVX2 ``maskmov``
MASKED_STORE = re.compile(r"^\s*v\w+\s+%[xyz]mm\d+,\s*[^%\s]*\([^)]*\)\s*\{%k\d\}"
                          r"|^\s*v(p)?maskmov\w*\s+%[xy]mm\d+,\s*%[xy]mm\d+,\s*[^%\s]*\(", re.M)


def masked_stores(py_func, *args):
    """Masked stores in the machine code of ``py_func`` compiled afresh (not from the cache) for ``args``."""
    f = nb.njit(nogil=True)(py_func)
    f(*args)
    return [m.group(0).strip() for asm in f.inspect_asm().values() for m in MASKED_STORE.finditer(asm)]


def _conditional_store(a, b):  # the pattern the reducers avoid: the control
    for i in range(a.shape[0]):
        v = a[i]
        if v != 0:
            b[i] += v
            a[i] = 0


def test_the_reducers_have_no_masked_stores():
    control = masked_stores(_conditional_store, np.zeros(64, dtype=np.int64), np.zeros(64, dtype=np.int64))
    if not control:
        pytest.skip("this host's compiler makes no masked stores of the control loop: nothing to check")
    nz, ns, parts = 3, 16, 2
    assert masked_stores(merge_part.py_func, 0, 1, ns, part_array(parts, (nz, 7)),  # as the engine's (padded)
                         np.zeros((parts, nz, ns, 4), dtype=np.int64), np.zeros((nz, 7), dtype=np.int64),
                         np.zeros((nz, ns, 4), dtype=np.int64)) == []
    assert masked_stores(fold.py_func, np.zeros((parts, 40), dtype=np.int64), np.zeros((parts, 40), dtype=np.int64),
                         np.zeros(40, dtype=np.int64), np.zeros(40, dtype=np.int64)) == []


def test_merge_and_fold_sum_and_zero():
    rng = np.random.default_rng(1)
    nz, ns, parts = 3, 5, 2
    dc = rng.integers(-3, 4, (parts, nz, 7))
    dzs = rng.integers(-3, 4, (parts, nz, ns + 2, 4))
    counts, czs = rng.integers(0, 9, (nz, 7)), rng.integers(0, 9, (nz, ns + 2, 4))
    want_c, want_z = counts + dc.sum(axis=0), czs.copy()
    want_z[:, :ns] += dzs[:, :, :ns].sum(axis=0)
    left = dzs.copy()
    left[:, :, :ns] = 0
    for p in range(parts):
        merge_part(p, parts, ns, dc, dzs, counts, czs)
    assert (counts == want_c).all() and (czs == want_z).all()
    assert not dc.any() and (dzs == left).all()  # strains beyond the table's are not touched
    pend, news = rng.integers(0, 4, (parts, 6)), rng.integers(0, 4, (parts, 6))
    pc, nc = np.ones(6, dtype=np.int64), np.zeros(6, dtype=np.int64)
    wp, wn = pc + pend.sum(axis=0), nc + news.sum(axis=0)
    fold(pend, news, pc, nc)
    assert (pc == wp).all() and (nc == wn).all() and not pend.any() and not news.any()

