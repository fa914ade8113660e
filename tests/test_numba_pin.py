"""Guard for the numba pin in pyproject.toml (numba==0.65.1).

Numba 0.66.0, 0.67.0 and 0.68.1 miscompile a plain @njit loop: an if/elif chain on a uint8 state, a
uint64 hash in a nested condition and three integer counters make the compiled loop store 0 into
state[i] in branches that contain no store. 0.60.0 to 0.65.1 compile it correctly.

The kernel below is copied verbatim (modulo formatting) from the shared reproducer
/work/shared/peers/numba_miscompile_repro.py (checked 2026-11-23); it is copied rather than imported
because CI clones need not have that tree. The reference answer is computed by a plain-Python loop
over Python ints masked to 64 bits, without numba at all, so neither side of the comparison depends
on the compiler under test.
"""

from __future__ import annotations

import re
from importlib.metadata import version

import numba as nb
import numpy as np

# --- kernel, copied from /work/shared/peers/numba_miscompile_repro.py ---------------------------------
U = np.uint64
S_, I_, R_, NEW = np.uint8(0), np.uint8(1), np.uint8(2), np.uint8(3)
M1 = U(0xBF58476D1CE4E5B9)
M2 = U(0x94D049BB133111EB)


@nb.njit
def mix(z):
    z = (z ^ (z >> U(30))) * M1
    z = (z ^ (z >> U(27))) * M2
    return z ^ (z >> U(31))


@nb.njit
def key(seed, day, pas, i):
    return mix(seed ^ mix((U(day) << U(32)) ^ (U(pas) << U(60)) ^ U(i)))


@nb.njit
def f(state, n, g, seed, day):
    a = 0
    b = 0
    c = 0
    for i in range(n):
        st = state[i]
        if st == NEW:
            state[i] = I_
            b += 1
        elif st == I_:
            if (mix(key(seed, day, 2, i)) >> U(11)) < g:
                state[i] = R_
                c += 1
            else:
                b += 1
        elif st == R_:
            c += 1
        else:
            a += 1
    return a, b, c


# --- plain-Python reference (no numba, no numpy scalar arithmetic) ----------------------------------
_MASK = (1 << 64) - 1
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _mix_py(z: int) -> int:
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def _key_py(seed: int, day: int, pas: int, i: int) -> int:
    return _mix_py(seed ^ _mix_py(((day << 32) & _MASK) ^ ((pas << 60) & _MASK) ^ i))


def _f_py(state: list[int], n: int, g: int, seed: int, day: int) -> tuple[int, int, int]:
    a = b = c = 0
    for i in range(n):
        st = state[i]
        if st == 3:  # NEW
            state[i] = 1
            b += 1
        elif st == 1:  # I
            if (_mix_py(_key_py(seed, day, 2, i)) >> 11) < g:
                state[i] = 2
                c += 1
            else:
                b += 1
        elif st == 2:  # R
            c += 1
        else:
            a += 1
    return a, b, c


# Documented right answer (NUMBA_DISABLE_JIT=1 and numba <= 0.65.1 both give it).
EXPECTED_STATE = [1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0]
EXPECTED_COUNTS = (5, 7, 8)

INITIAL = [3] * 5 + [1] * 5 + [2] * 5 + [0] * 5
G = 2**52
SEED = 1
DAY = 0


def test_python_reference_matches_documented_answer() -> None:
    state = list(INITIAL)
    counts = _f_py(state, len(state), G, SEED, DAY)
    assert state == EXPECTED_STATE
    assert counts == EXPECTED_COUNTS


def test_jitted_kernel_matches_reference() -> None:
    ref_state = list(INITIAL)
    ref_counts = _f_py(ref_state, len(ref_state), G, SEED, DAY)

    x = np.array(INITIAL, dtype=np.uint8)
    # errstate only matters under NUMBA_DISABLE_JIT=1, where uint64 wrap-around warns in numpy.
    with np.errstate(over="ignore"):
        counts = f(x, x.size, U(G), U(SEED), DAY)

    np.testing.assert_array_equal(x, np.array(ref_state, dtype=np.uint8))
    np.testing.assert_array_equal(x, np.array(EXPECTED_STATE, dtype=np.uint8))
    assert tuple(int(v) for v in counts) == ref_counts == EXPECTED_COUNTS


def _release(v: str) -> tuple[int, int, int]:
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", v)
    assert m is not None, f"unparseable numba version {v!r}"
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def test_installed_numba_not_in_known_bad_range() -> None:
    installed = _release(version("numba"))
    assert _release(nb.__version__) == installed
    # Pre-releases of the bad range (e.g. 0.66.0rc1) parse into it and are rejected too.
    assert not ((0, 66, 0) <= installed <= (0, 68, 1)), (
        f"numba {nb.__version__} is in the known-miscompiling range 0.66.0-0.68.1; "
        "see tests/test_numba_pin.py and the pin in pyproject.toml"
    )
