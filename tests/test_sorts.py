"""Sorting inside the kernels (:mod:`aftermath.engines.abm.sorts`): right, and safe in Numba's cache.

Numba's own ``sort``, ``argsort`` and ``searchsorted`` are closures whose compiled names differ only
by a per-process counter, so two cached kernels compiled by different processes can carry different
functions under one name, and a process that loads both calls the wrong one (a segmentation fault
in the suite; see the module's docstring). No compiled function of the package may call them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from aftermath.engines.abm.sorts import _merge_sort, argsort_stable, bisect_left, sort_in_place

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
#: Numba implementations built from closures that one process may compile differently from another
#: under the same name (or that call those)
CLOSURE_BUILT = {"sort", "argsort", "searchsorted", "unique", "lexsort", "partition", "argpartition", "median",
                 "nanmedian", "percentile", "nanpercentile", "quantile", "nanquantile", "digitize", "isin", "in1d",
                 "intersect1d", "union1d", "setdiff1d", "histogram"}


def _jitted_calls(tree: ast.AST) -> list[tuple[str, int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any("jit" in ast.unparse(d) for d in node.decorator_list):
            for c in ast.walk(node):
                if not isinstance(c, ast.Call):
                    continue
                name = c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "")
                if name in CLOSURE_BUILT or name == "sorted":  # (``from numpy import sort``; a list's sort)
                    out.append((node.name, c.lineno, ast.unparse(c)))
    return out


def test_no_kernel_calls_numbas_closure_built_sorts() -> None:
    found = [f"{f.relative_to(SRC)}:{line} {name}: {call}"
             for f in sorted((SRC / "aftermath").rglob("*.py"))
             for name, line, call in _jitted_calls(ast.parse(f.read_text(encoding="utf-8")))]
    assert not found, "use aftermath.engines.abm.sorts instead:\n" + "\n".join(found)


def _nested_kernels(tree: ast.AST) -> list[str]:
    """Compiled functions defined inside another function: closures, which one process can compile
    differently from another under the same cached name (the hazard above, made in this package)."""
    out = []
    for outer in ast.walk(tree):
        if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += [f"{outer.name}.{node.name}" for node in ast.walk(outer) if node is not outer
                    and isinstance(node, ast.FunctionDef) and any("jit" in ast.unparse(d) for d in node.decorator_list)]
    return out


def test_no_kernel_is_a_closure() -> None:
    found = [f"{f.relative_to(SRC)}: {name}" for f in sorted((SRC / "aftermath").rglob("*.py"))
             for name in _nested_kernels(ast.parse(f.read_text(encoding="utf-8")))]
    assert not found, "define kernels at module level:\n" + "\n".join(found)
    src = "def make(k):\n    @nb.njit(cache=True)\n    def f(x):\n        return x + k\n    return f\n"
    assert _nested_kernels(ast.parse(src)) == ["make.f"]  # (the scan sees one)


def test_the_scan_sees_such_a_call() -> None:
    """The guard above has teeth: a kernel with ``a.sort()`` in it is found."""
    src = ("import numba as nb\n@nb.njit(cache=True)\ndef k(a):\n    a[:3].sort()\n    b = sorted(a)\n"
           "    return np.searchsorted(a, 2) + median(b)\n")
    assert [c[2] for c in _jitted_calls(ast.parse(src))] == ["a[:3].sort()", "sorted(a)", "np.searchsorted(a, 2)",
                                                             "median(b)"]


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("n", [0, 1, 2, 15, 16, 17, 31, 33, 100, 1000, 4097])
def test_the_sorts_agree_with_numpy(n: int, dtype: type) -> None:
    rng = np.random.default_rng(n)
    a = rng.integers(-(n // 3) - 1, n // 3 + 1, n).astype(dtype)  # with ties
    b = a.copy()
    sort_in_place(b)
    assert np.array_equal(b, np.sort(a))
    assert np.array_equal(argsort_stable(a), np.argsort(a, kind="stable"))  # ties in index order
    idx = np.arange(n)
    _merge_sort.py_func(idx, a, True)  # the same code interpreted
    assert np.array_equal(idx, np.argsort(a, kind="stable"))
    c = a.copy()
    _merge_sort.py_func(c, c[:0], False)
    assert np.array_equal(c, np.sort(a))
    s = np.sort(a)
    for x in (-n - 2, -1, 0, 1, n + 2, *(s[:: max(1, n // 7)])):
        assert bisect_left(s, x) == np.searchsorted(s, x) == bisect_left.py_func(s, x)


def test_kernels_cached_by_two_processes_load_together(tmp_path: Path) -> None:
    """The failure this module prevents: one process compiles the event step's ``compact_lists``
    (it argsorts), another the bands' ``gather_walks`` (it sorts), into one cache; a third loads
    both. With Numba's sorts the third crashed (the argsort called the other's sort); now each
    gives its own answer."""
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from aftermath.engines.abm.events import compact_lists
        from aftermath.engines.abm.step import CHUNK, gather_walks

        def compact():
            s_lo = np.array([70, 0, 40], dtype=np.int64)
            end = compact_lists(np.arange(100, dtype=np.int32), s_lo, np.array([30, 30, 20], dtype=np.int64),
                                np.array([20, 10, 5], dtype=np.int64), 16, 4)
            return [int(end), *s_lo.tolist()]

        def walks():
            moves = np.array([5, 3, 9, 1, 7, 2], dtype=np.int32)  # places in chunk 0, the first route out
            words = np.zeros(6, dtype=np.int64)
            n = gather_walks(moves, np.array([0, 6], dtype=np.int64), np.array([[6]], dtype=np.int64),
                             np.zeros(CHUNK, dtype=np.uint16), np.zeros((1, 1), dtype=np.int64), words)
            return (words[:n] >> 32).tolist()

        print([compact() if w == "compact" else walks() for w in sys.argv[1:]])
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(SRC))
    env.pop("NUMBA_DISABLE_JIT", None)

    def run(*what: str) -> str:
        proc = subprocess.run([sys.executable, "-c", script, *what], env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
        return proc.stdout.strip()

    compact, walks = "[47, 23, 0, 14]", "[1, 2, 3, 5, 7, 9]"
    assert run("compact") == f"[{compact}]"
    assert run("walks") == f"[{walks}]"
    assert run("walks", "compact") == f"[{walks}, {compact}]"
