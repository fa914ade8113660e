"""Sorting and searching inside the compiled kernels, without Numba's own ``sort``, ``argsort`` and
``searchsorted``.

Why: Numba builds those from closures (``make_quicksort_impl.<locals>.run_quicksort``, one for
sorting and one for argsorting; ``_searchsorted.<locals>.impl``, one per ``side``), which share a
name and differ only by a counter of the process that compiled them. A cached kernel (``cache=True``)
keeps its compiled copy of them under that name. Two kernels compiled by *different processes*
(``aftermath run`` of one scenario today, another tomorrow) can thus carry different functions
under the same name; a process that loads both links every call to whichever it loaded first.
Measured here: the event step's ``compact_lists`` (an argsort) called the bands' ``gather_walks``
sort and crashed (a segmentation fault in the test suite, after the dashboard's runs had put their
kernels in the cache); between two sorts of the same type it would be silently wrong. The
functions below are plain module-level kernels: one name, one body, whichever process compiled
them. ``tests/test_sorts.py`` holds every kernel of the package to that (no call of those Numba
functions in a compiled function) and checks these against NumPy.
"""

from __future__ import annotations

import numba as nb
import numpy as np

RUN = 16  # runs sorted by insertion before the merges


@nb.njit(cache=True, nogil=True)
def _merge_sort(a, keys, by_keys):
    """``a`` ascending in place (by ``keys[a[k]]`` when ``by_keys``: then ``a`` holds indices of
    ``keys``), stable: runs of ``RUN`` by insertion, then bottom-up merges through one buffer.
    For signed integers (what the kernels sort): Numba unifies ``keys[v]`` and ``v`` in one type,
    which for uint64 keys is float64 (wrong above 2**53), and NaN has no order."""
    n = a.shape[0]
    for lo in range(0, n, RUN):
        hi = min(lo + RUN, n)
        for i in range(lo + 1, hi):
            v = a[i]
            kv = keys[v] if by_keys else v
            j = i - 1
            while j >= lo and (keys[a[j]] if by_keys else a[j]) > kv:
                a[j + 1] = a[j]
                j -= 1
            a[j + 1] = v
    if n <= RUN:
        return
    buf = np.empty_like(a)
    src, dst = a, buf
    in_buf = False
    width = RUN
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if (keys[src[j]] if by_keys else src[j]) < (keys[src[i]] if by_keys else src[i]):
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
        src, dst = dst, src
        in_buf = not in_buf
        width *= 2
    if in_buf:
        a[:] = src


@nb.njit(cache=True, nogil=True)
def sort_in_place(a):
    """Sort the 1-D signed integer array ``a`` ascending, in place (what ``a.sort()`` does)."""
    _merge_sort(a, a[:0], False)


@nb.njit(cache=True, nogil=True)
def argsort_stable(keys):
    """The indices that sort the signed integer ``keys`` ascending, ties in index order
    (``np.argsort(keys, kind="stable")``)."""
    idx = np.arange(keys.shape[0])
    _merge_sort(idx, keys, True)
    return idx


@nb.njit(cache=True, nogil=True)
def bisect_left(a, x):
    """The first place in the ascending ``a`` whose value is not below ``x`` (``np.searchsorted(a,
    x)``)."""
    lo, hi = 0, a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo
