"""Show that the contract suite has teeth: each fault below, applied to a copy of ``src/``, must make
the ABM part of the suite fail.

Run ``python -m tests.contract.faults`` (or ``python tests/contract/faults.py``) from the repository
root; ``tests/contract/test_faults.py`` runs it. For each fault: copy ``src/`` (without ``__pycache__``)
to a temporary directory, replace the fault's ``old`` text (it must occur exactly once in ``file``) by
``new``, and run ``pytest tests/contract/test_contract.py tests/contract/test_abm_strains.py -k K -x -q
-p no:cacheprovider`` (``K``: the fault's cases, the scan step's unless it is a fault of the event-driven
step; the control runs both) with the
copy's ``src`` first on ``PYTHONPATH``. The fault is *caught* when pytest exits with 1 (tests failed);
exit 0 means it *survived*; anything else (a patch that does not apply, a crash at import, pytest
unable to run) is an *error*. A control run of the unpatched copy must pass first, or a "caught" fault
would mean nothing. ``tests/conftest.py`` refuses to run when ``aftermath`` is imported from
anywhere but the copy.

Numba: every run has its own ``NUMBA_CACHE_DIR``. Numba's cache checks only a kernel's own file (its
size and time), not the constants and functions it took from other modules, so a copy may load only
kernels that the patch cannot have changed. Compiling everything afresh costs ~30 s of CPU per run,
most of a run (``NUMBA_DISABLE_JIT=1`` instead was measured at 2.5 s for one 5-day, 10,000-person ABM
run against 0.07 s compiled, so the suite's ~250 ABM runs would take minutes per fault). So
:func:`stale_files` compares the patched module's top-level statements with the original's (as
syntax trees) and follows the names that mention a changed one, within the module and through the
imports of every other, to a fixed point: the files it returns are every module whose kernels could
differ. Every run starts from the kernels this checkout's own runs compiled (the test suite's, in
``__pycache__`` or ``NUMBA_CACHE_DIR``) except those of its stale files (:func:`seed_cache`; Numba
ignores any compiled from another version of a file). A fault whose stale files hold at most half of
the compiled definitions (a patch in the tables' Python, say) also waits for the control and starts
from a copy of its cache without those files' kernels; the others (a patch in the step kernel) start
at once. Runs go two at a time (``--jobs``), each with ``NUMBA_NUM_THREADS=1``; ``--cold`` compiles
every run afresh.

The table is plain data, to be retargeted when the code it patches changes: ``file`` is relative to
``src/``; ``kind`` is the class of fault that issue 10 lists (product, q, tag, rate, target) or another.
It was written against the ABM compiled from the declarations (commits 45971c4, b847726: ``engines/abm/tables.py``
builds the slot table, ``engines/abm/step.py`` applies it) and ``model/reactions.py``;
``python -m tests.contract.faults --list`` says whether every patch still applies, without running.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


class Fault(NamedTuple):
    name: str
    kind: str
    file: str  # relative to src/
    old: str  # must occur exactly once
    new: str
    why: str
    #: the cases that must catch it (``-k``): the scan step's, or the event-driven step's
    k: str = "abm and not abm-events"
    #: the tests to run (empty: the contract suite); a fault of the calendar's order is a matter of
    #: steps, which the contract suite's means cannot see, and ``tests/test_abm_events.py`` can
    suite: tuple[str, ...] = ()


ABM = "aftermath/engines/abm/"
STEP, TABLES, ENGINE, EVENTS = ABM + "step.py", ABM + "tables.py", ABM + "engine.py", ABM + "events.py"
REACTIONS = "aftermath/model/reactions.py"

FAULTS: tuple[Fault, ...] = (
    # -- the classes issue 10 names, in the agent-based engine's own code ------------------------
    Fault("abm_cull_to_corpse", "product", TABLES,
          "product[st, j, b] = int(product_state(t, br, State(st)))",
          'product[st, j, b] = int(State.D if t.name == "cull" else product_state(t, br, State(st)))',
          "the ABM's slot table sends culled hybrids to D instead of R"),
    Fault("abm_q_inverted", "q", TABLES,
          "v = v * np.asarray(br.share(rates), dtype=np.float64)",
          "v = v * (lambda s: 1.0 - s if [f.name for f in br.tags] == ['FERAL_DESTROYED'] else s)("
          "np.asarray(br.share(rates), dtype=np.float64))",
          "the ABM's defence outcome uses 1 - q for q"),
    Fault("abm_breach_tag_dropped", "tag", STEP,
          "out.fl[p, F_BREACH, dest] += 1",
          "pass  # fault: BREACH not counted",
          "the ABM stops counting ferals that cross a wall as BREACH"),
    Fault("abm_relapse_doubled", "rate", TABLES,
          "v = np.asarray(t.rate(rates), dtype=np.float64)",
          'v = np.asarray(t.rate(rates), dtype=np.float64) * (2.0 if t.name == "relapse" else 1.0)',
          "the ABM relapses hybrids at twice the rate"),
    Fault("abm_transfer_target_shifted", "target", STEP,
          "dest = np.int64(dy.hybrid_target[z])",
          "dest = np.int64((dy.hybrid_target[z] + 1) % out.dc.shape[1])",
          "the ABM moves protected/isolated hybrids to the zone after the sanctuary"),
    # -- more of the ABM ---------------------------------------------------------------------
    Fault("abm_bites_take_founder_strain", "product", STEP,
          "new_s = pick_strain(",
          "new_s = 0 * pick_strain(",
          "every bite infects (or kills) with strain 0, whoever bit (found in review)"),
    Fault("abm_corpses_lose_strain", "product", STEP,
          "if new_st == S or new_st == R or (st == S and T.pressure[st, j] != P_BITE):",
          "if new_st == S or new_st == R or new_st == D or (st == S and T.pressure[st, j] != P_BITE):",
          "the bitten dead lose the biter's strain and rise as the founder's (found in review)"),
    Fault("abm_founder_traits_at_infection", "rate", STEP,
          "b = T.branch_of[st, j, infect(dy.keys, i, new_s,",
          "b = T.branch_of[st, j, infect(dy.keys, i, 0,",
          "an infection takes the founder's latency and hybrid chance, not its strain's (found in review)"),
    Fault("abm_defence_doubled", "rate", TABLES,
          "r *= fight",
          "r *= 2.0 * fight",
          "the ABM destroys ferals at twice the defence rate"),
    Fault("abm_onset_swapped", "product", STEP,
          "new_st = T.onset_product[b]",
          "new_st = T.onset_product[1 - b]",
          "the end of latency makes a feral where it drew a hybrid, and the reverse"),
    Fault("abm_secondary_tags_dropped", "tag", TABLES,
          "tags[st, j, b, : len(br.tags)] = [int(f) for f in br.tags]",
          "tags[st, j, b, :1] = [int(f) for f in br.tags[:1]]",
          "the ABM counts only a transition's first flow tag (no EXCLUDED_HEALTHY, INFECTED_ARRIVED, ...)"),
    Fault("abm_first_infection_dropped", "tag", STEP,
          "out.fl[p, F_FIRST, z] += 1",
          "pass  # fault: FIRST_INFECTION not counted",
          "the ABM stops counting first infections (the attack rate)"),
    Fault("abm_sweep_q_inverted", "q", STEP,
          "state[i] = D if uniform(key_q, i) < q else R",
          "state[i] = R if uniform(key_q, i) < q else D",
          "the ABM's sweeps leave corpses with 1 - q"),
    Fault("abm_gate_inverted", "product", STEP,
          "b = arrive if ok else refuse",
          "b = refuse if ok else arrive",
          "the ABM's gate turns away whom it admits, and admits whom it turns away"),
    Fault("abm_latency_halved", "rate", STEP,
          "latency * acc / shape / dt",
          "latency * acc / shape / dt / 2",
          "the ABM's latency lasts half as long"),
    Fault("abm_births_uncounted", "tag", ENGINE,
          "serial[Flow.BIRTH] += born",
          "pass  # fault: BIRTH not counted",
          "the ABM's births are not counted in BIRTH"),
    Fault("abm_ledger_marks_dropped", "ledger", STEP,
          "bits |= T.ledger[st, j, b]",
          "bits |= 0  # fault: no ledger marks from the table",
          "the ABM's ledger no longer marks the culled and the excluded"),
    Fault("abm_swept_unmarked", "ledger", STEP,
          "flags[i] |= FL_SWEPT",
          "pass  # fault: swept hybrids not in the ledger",
          "hybrids killed in sweeps are missing from the ABM's ledger"),
    Fault("abm_sealed_unmarked", "ledger", STEP,
          "flags[i] |= FL_SEALED",
          "pass  # fault: the sealed-in not in the ledger",
          "people sealed in are missing from the ABM's ledger"),
    # -- the declarations every engine is compiled from: all engines agree, the closed forms do not
    Fault("decl_cull_to_corpse", "product", REACTIONS,
          "Branch(R, (F.CULL,), ledger=Flag.CULLED)",
          "Branch(D, (F.CULL,), ledger=Flag.CULLED)",
          "the declaration sends culled hybrids to D"),
    Fault("decl_q_inverted", "q", REACTIONS,
          "Branch(D, (F.FERAL_DESTROYED,), share=lambda r: r.q),\n"
          "        Branch(R, (F.FERAL_DESTROYED,), share=lambda r: 1.0 - r.q),",
          "Branch(D, (F.FERAL_DESTROYED,), share=lambda r: 1.0 - r.q),\n"
          "        Branch(R, (F.FERAL_DESTROYED,), share=lambda r: r.q),",
          "the declared defence outcome swaps q and 1 - q"),
    Fault("decl_decay_tag_dropped", "tag", REACTIONS,
          "(Branch(R, (F.DECAY,)),)",
          "(Branch(R, ()),)",
          "the declared decay counts in no flow"),
    Fault("decl_relapse_doubled", "rate", REACTIONS,
          'Transition("relapse", (H,), lambda r: r.relapse,',
          'Transition("relapse", (H,), lambda r: 2.0 * r.relapse,',
          "the declared relapse rate is doubled"),
    # -- the event-driven step (run.abm_mode = "events"): caught by its own cases ---------------
    Fault("events_count_doubled", "rate", EVENTS,
          "    lg = math.log1p(-p)",
          "    lg = math.log1p(-min(0.999, 2.0 * p))",
          "twice as many candidates as the lists' (and the calendar's) top probability says", k="abm-events"),
    Fault("events_thinning_ignored", "rate", EVENTS,
          "if pi <= 0.0 or (pi < top and uniform(thin_key, i) * top >= pi):\n                continue  # a candidate",
          "if pi <= 0.0:\n                continue  # a candidate",
          "every candidate drawn at the list's top rate has an event (no thinning)", k="abm-events"),
    Fault("events_latent_thinning_ignored", "rate", EVENTS,
          "if pi <= 0.0 or (pi < top and uniform(thin_key, i) * top >= pi):\n            continue",
          "if pi <= 0.0:\n            continue",
          "every latent candidate drawn at the calendar's top rate walks (no thinning)", k="latent",
          suite=("tests/test_abm_events.py",)),
    Fault("events_latent_never_walk", "rate", EVENTS,
          "top = float(self.tops[-1])",
          "top = 0.0",
          "the latent never walk (no candidates are drawn from the calendar)", k="abm-events"),
    Fault("events_latency_one_step_late", "rate", EVENTS,
          'int(dy.t), side="right"',
          'int(dy.t) - 1, side="right"',
          "latency ends a step after its scheduled step", k="latent", suite=("tests/test_abm_events.py",)),
    Fault("events_walkers_stay_listed", "other", EVENTS,
          "if st2 == st and np.int64(P.zone[i]) == z:",
          "if st2 == st:",
          "someone who walked away stays in the list of the zone they left", k="abm-events"),
    Fault("events_corpses_skipped", "other", EVENTS,
          "        for k in range(1, NK):",
          "        for k in range(1, NK - 1):",
          "the corpses' lists are never visited: corpses never rise, decay or are disposed of", k="abm-events"),
)

#: One fault per class that issue 10 names: what CI runs (``test_faults.py``; the whole table is
#: ``-m slow``, ~3 min on 2 idle cores, ~6 min on a busy machine).
REQUIRED = ("abm_cull_to_corpse", "abm_q_inverted", "abm_breach_tag_dropped", "abm_relapse_doubled",
            "abm_transfer_target_shifted")

ROOT = Path(__file__).resolve().parents[2]
#: The ABM's part of these is what each fault must break: the contract worlds, and the two-strain
#: checks of which strain a product carries (the one-strain worlds cannot see that).
SUITE = ("tests/contract/test_contract.py", "tests/contract/test_abm_strains.py")
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


class PatchError(ValueError):
    """A fault's ``old`` text does not occur exactly once: the table needs retargeting."""


@dataclass
class Outcome:
    name: str
    status: str  # "passed" (control), "caught", "survived", "error"
    seconds: float
    caught_by: list[str]
    detail: str = ""
    reused: int = 0  # cache files of kernels compiled before that it started from (seed_cache)


def copy_src(dest: Path, root: Path = ROOT) -> Path:
    """Copy ``root/src`` to ``dest/src`` without compiled files; returns the copy's ``src``."""
    out = dest / "src"
    shutil.copytree(root / "src", out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    return out


def apply(fault: Fault, src: Path) -> None:
    path = src / fault.file
    if not path.exists():
        raise PatchError(f"{fault.name}: {fault.file} does not exist")
    text = path.read_text(encoding="utf-8")
    n = text.count(fault.old)
    if n != 1:
        raise PatchError(f"{fault.name}: the old text occurs {n} times in {fault.file}, not once: {fault.old!r}")
    path.write_text(text.replace(fault.old, fault.new), encoding="utf-8")


def check_patches(faults: tuple[Fault, ...] = FAULTS, root: Path = ROOT) -> list[str]:
    """Problems with the table against the current sources (no runs): patterns that do not apply."""
    problems = []
    for f in faults:
        path = root / "src" / f.file
        n = path.read_text(encoding="utf-8").count(f.old) if path.exists() else -1
        if n != 1:
            problems.append(f"{f.name}: old text found {max(n, 0)} times in {f.file}")
    return problems

# ---------------------------------------------------------------------------------------------
# Which compiled kernels a fault leaves valid: a copy's Numba cache from the control, minus the
# modules that depend (by name, transitively) on a definition the patch changed.


@dataclass
class _Module:
    """A module's top-level definitions: what each refers to by name, and what it imports."""
    nodes: dict[str, str]  # name -> ast.dump of the statement that defines it (an import: what it binds)
    refs: dict[str, set[str]]  # name -> the names its statement mentions
    imports: dict[str, tuple[str, str]]  # local name -> (module, name) of ``from aftermath... import``
    modules: dict[str, str]  # local name -> module of ``import aftermath...`` (or a module imported from a package)
    stars: list[str]  # modules of ``from aftermath... import *``
    types: set[str]  # names of namedtuples (NamedTuple classes too): kernels see them as argument types
    jitted: int  # how many definitions are compiled (a decorator mentioning ``jit``)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    return sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})


def _parse_module(text: str, modname: str, is_package: bool, known: set[str]) -> _Module:
    mod = _Module({}, {}, {}, {}, [], set(), 0)
    package = modname if is_package else modname.rpartition(".")[0]
    for k, stmt in enumerate(ast.parse(text).body):
        if isinstance(stmt, ast.ImportFrom):
            base = stmt.module or ""
            if stmt.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - stmt.level + 1] + ([base] if base else []))
            for a in stmt.names:
                local = a.asname or a.name
                mod.nodes[local] = f"from {base} import {a.name}"  # a changed binding changes the name
                mod.refs.setdefault(local, set())
                if base.split(".")[0] != "aftermath":
                    continue
                if a.name == "*":
                    mod.stars.append(base)
                elif f"{base}.{a.name}" in known:
                    mod.modules[local] = f"{base}.{a.name}"
                else:
                    mod.imports[local] = (base, a.name)
            continue
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                # ``import a.b`` binds ``a``: the whole package behind it, whatever attribute is read
                local, target = (a.asname, a.name) if a.asname else (a.name.split(".")[0], a.name.split(".")[0])
                mod.nodes[local] = mod.nodes.get(local, "") + f"import {a.name} as {local}"
                mod.refs.setdefault(local, set())
                if target.split(".")[0] == "aftermath":
                    mod.modules[local] = target
            continue
        if "namedtuple" in ast.unparse(stmt).lower():  # (a NamedTuple class too)
            mod.types.update(_targets(stmt))
        dump = ast.dump(stmt)
        decorators = getattr(stmt, "decorator_list", [])
        mod.jitted += any("jit" in ast.unparse(d) for d in decorators)
        for name in _targets(stmt) or [f"<statement {k}>"]:
            mod.nodes[name] = mod.nodes.get(name, "") + dump
            mod.refs[name] = mod.refs.get(name, set()) | _names(stmt)
    return mod


def _modules(src: Path) -> dict[str, tuple[str, _Module]]:
    """Every module of ``src/aftermath``: name -> (file relative to src, its parse). A new dict each
    call; the parses are kept while no file changes (a parse of the tree takes over a second)."""
    files = sorted((src / "aftermath").rglob("*.py"))
    stamp = tuple((f, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return dict(_parsed(src, stamp))


@functools.lru_cache(maxsize=4)
def _parsed(src: Path, stamp: tuple[tuple[Path, int, int], ...]) -> tuple[tuple[str, tuple[str, _Module]], ...]:
    names = {".".join(f.relative_to(src).with_suffix("").parts).removesuffix(".__init__"): f for f, _, _ in stamp}
    known = set(names)
    return tuple((m, (f.relative_to(src).as_posix(), _parse_module(f.read_text(encoding="utf-8"), m,
                                                                   f.name == "__init__.py", known)))
                 for m, f in names.items())


def stale_files(fault: Fault, root: Path = ROOT) -> tuple[set[str], float]:
    """The files (relative to ``src/``) whose compiled kernels ``fault`` may change: its own, and
    every module with a definition that mentions, directly or through others, a definition the
    patch changed (top-level statements compared as syntax trees; a module imported whole counts
    whole). Also the share of all compiled definitions in them (what a run would compile again)."""
    src = root / "src"
    mods = _modules(src)
    modname = next(m for m, (f, _) in mods.items() if f == fault.file)
    before = mods[modname][1]
    text = (src / fault.file).read_text(encoding="utf-8")
    after = _parse_module(text.replace(fault.old, fault.new), modname, fault.file.endswith("__init__.py"),
                          set(mods))
    dirty = {(modname, n) for n in set(before.nodes) | set(after.nodes) if before.nodes.get(n) != after.nodes.get(n)}
    if any(n.startswith("<statement") for _, n in dirty):  # module-level code changed: all of it
        dirty |= {(modname, n) for n in set(before.nodes) | set(after.nodes)}
    mods[modname] = (fault.file, after)

    def under(m: str, package: str) -> bool:
        return m == package or m.startswith(package + ".")

    def is_dirty(m: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()) -> bool:
        if (m, name) in dirty:
            return True
        mod = mods[m][1] if m in mods else None
        if mod is None or (m, name) in seen:
            return False
        if name in mod.imports:  # a re-export
            return is_dirty(*mod.imports[name], seen | {(m, name)})
        if name in mod.modules:  # a module or package: anything changed in it
            return any(under(d[0], mod.modules[name]) for d in dirty)
        return False

    changed = True
    while changed:
        changed = False
        for m, (_, mod) in mods.items():
            starred = any(under(d[0], s) for s in mod.stars for d in dirty)  # a star import: all of it
            for name, refs in mod.refs.items():
                if (m, name) not in dirty and (starred or any(
                        (m, r) in dirty or ((r in mod.imports or r in mod.modules) and is_dirty(m, r)) for r in refs)):
                    dirty.add((m, name))
                    changed = True
    stale = {mods[m][0] for m, _ in dirty} | {fault.file}
    total = sum(mod.jitted for _, mod in mods.values())
    if any(n in mods[m][1].types for m, n in dirty):
        # a namedtuple changed: kernels take it as an argument whose type Numba keys by the class
        # and its fields' types, not their names or order (a cached kernel would read the wrong
        # field), and no name analysis sees who takes it: every compiled module is stale
        stale |= {f for _, (f, mod) in mods.items() if mod.jitted}
        return stale, 1.0
    return stale, sum(mods[m][1].jitted for m in {m for m, (f, _) in mods.items() if f in stale}) / max(1, total)


#: A fault whose stale files hold at most this share of the compiled definitions starts from the
#: control's kernels (after waiting for it); above it, compiling afresh at once is sooner.
REUSE_UP_TO = 0.5


def _cache_dir_name(directory: Path) -> str:
    """Where Numba keeps a source directory's kernels under ``NUMBA_CACHE_DIR`` (numba.core.caching:
    ``_CacheLocator.get_suitable_cache_subpath``)."""
    path = os.path.abspath(directory)
    return f"{os.path.basename(path)}_{hashlib.sha1(path.encode()).hexdigest()}"


def _checkout_cache(d: Path) -> Path:
    """Where this checkout's own runs (the test suite's) keep the kernels of source directory ``d``:
    under ``NUMBA_CACHE_DIR`` when it is set, else in ``d/__pycache__`` (Numba's in-tree locator)."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    return Path(user) / _cache_dir_name(d) if user else d / "__pycache__"


def seed_cache(from_src: Path, from_cache: Path | None, to_src: Path, to_cache: Path, stale: set[str]) -> int:
    """Copy the kernels that a run on ``from_src`` compiled into ``from_cache`` (None: where this
    checkout's own runs keep them, :func:`_checkout_cache`) to ``to_cache``, for a copy at ``to_src``,
    except those of the ``stale`` files (relative to ``src``). The copies keep the files' times
    (:func:`copy_src`), so Numba loads the kernel of an unchanged file as it is, and ignores one
    compiled from another version of its file. Returns how many cache files were copied."""
    n = 0
    sources = sorted(from_src.rglob("*.py"))
    # The checkout's cache may hold kernels compiled before an edit of another file that they
    # inline (Numba checks only a kernel's own file): take only kernels whose files are all newer
    # than every source file (a fresh clone's are; after an edit, those compiled since).
    newest = max(f.stat().st_mtime for f in sources) if from_cache is None else float("-inf")
    for d in sorted({f.parent for f in sources}):
        cached = _checkout_cache(d) if from_cache is None else from_cache / _cache_dir_name(d)
        if not cached.is_dir():
            continue
        rel = d.relative_to(from_src)
        skip = {Path(f).stem for f in stale if Path(f).parent == rel}
        dest = to_cache / _cache_dir_name(to_src / rel)
        kernels: dict[str, list[Path]] = {}  # an index ("mod.fn-line.py311.nbi") and its data files
        for f in cached.iterdir():
            if f.suffix in (".nbi", ".nbc") and f.name.split(".")[0] not in skip:
                kernels.setdefault(f.name.split(".py")[0], []).append(f)
        for files in kernels.values():
            if all(f.stat().st_mtime > newest for f in files):
                dest.mkdir(parents=True, exist_ok=True)
                for f in files:
                    shutil.copy2(f, dest / f.name)
                n += len(files)
    return n


def run_one(fault: Fault | None, timeout: float = 300.0, root: Path = ROOT, control_k: str = "abm",
            keep: Path | None = None, seed: tuple[Path, set[str]] | None = None,
            checkout: set[str] | None = None) -> Outcome:
    """Run the ABM part of the contract suite on a copy of ``src`` with ``fault`` applied (None: the
    control, which must pass, on the cases ``control_k``). ``keep``: a directory for the copy and its
    kernels that outlives the run (the control's); ``seed``: such a directory and the fault's stale
    files (:func:`stale_files`): the directory's kernels of the other files are loaded instead of
    compiled (:func:`seed_cache`). ``checkout``, without ``seed``: the stale files (empty for the
    control) when the kernels this checkout's own runs compiled are to be loaded for the others
    (None: not)."""
    name = fault.name if fault else "control"
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        tmp = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"aftermath-fault-{name}-")))
        src = copy_src(tmp, root)
        cache = tmp / "numba-cache"
        reused = 0
        if fault is not None:
            try:
                apply(fault, src)
            except PatchError as exc:
                return Outcome(name, "error", time.perf_counter() - t0, [], str(exc))
        if fault is not None and seed is not None:  # (the control's cache: the checkout's kernels and more)
            reused = seed_cache(seed[0] / "src", seed[0] / "numba-cache", src, cache, seed[1])
        elif checkout is not None:
            reused = seed_cache(root / "src", None, src, cache, checkout)
        env = dict(os.environ)
        env.update(PYTHONPATH=os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
                   NUMBA_CACHE_DIR=str(cache), NUMBA_NUM_THREADS="1",
                   AFTERMATH_CONTRACT_SRC=str(src), PYTHONDONTWRITEBYTECODE="1",
                   AFTERMATH_FAULT_LOG=str(tmp / "failures.tsv"))  # what each failed case raised (conftest)
        env.pop("NUMBA_DISABLE_JIT", None)
        suite = (fault.suite if fault is not None else ()) or SUITE
        cmd = [sys.executable, "-m", "pytest", *suite, "-k", fault.k if fault else control_k, "-x", "-q",
               "-p", "no:cacheprovider", "--color=no"]  # (FAILED reads pytest's summary lines)
        try:
            proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Outcome(name, "error", time.perf_counter() - t0, [], f"timed out after {timeout:.0f} s")
        log = tmp / "failures.tsv"
        failures = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    out = proc.stdout + proc.stderr
    seconds = time.perf_counter() - t0
    caught_by = FAILED.findall(out)
    tail = "\n".join(out.strip().splitlines()[-15:])
    if fault is None:
        return Outcome(name, "passed" if proc.returncode == 0 else "error", seconds, caught_by,
                       "" if proc.returncode == 0 else f"exit {proc.returncode}\n{tail}", reused)
    if proc.returncode == 1:
        # caught only by a failed check: a patch whose code raises (a TypeError, an IndexError...) no
        # longer fits the code, and would be "caught" by any suite
        crashes = [line.split("\t")[1] for line in failures if line.endswith("\tcrash")]
        if crashes or not failures:
            what = f"raised {crashes[0]}, not a failed check" if crashes else "failed, but no case did"
            return Outcome(name, "error", seconds, caught_by, f"the patched code {what}: retarget the fault\n{tail}",
                           reused)
        return Outcome(name, "caught", seconds, caught_by, _first_error(out), reused)
    if proc.returncode == 0:
        return Outcome(name, "survived", seconds, [], tail, reused)
    return Outcome(name, "error", seconds, caught_by, f"exit {proc.returncode}\n{tail}", reused)


def _first_error(out: str) -> str:
    for line in out.splitlines():
        if line.startswith("E ") and ("Error" in line or "expected" in line or "off by" in line):
            return line[1:].strip()[:200]
    return ""


def run_faults(faults: tuple[Fault, ...] = FAULTS, jobs: int = 2, control: bool = True,
               root: Path = ROOT, reuse: bool = True) -> list[Outcome]:
    """The control (first) and every fault, ``jobs`` at a time; outcomes in the table's order. With
    the control and ``reuse``, a fault whose stale files hold at most ``REUSE_UP_TO`` of the compiled
    definitions runs after the control, from its kernels (:func:`seed_cache`); the others start at
    once and compile afresh."""
    ks = sorted({f.k for f in faults})
    control_k = ks[0] if len(ks) == 1 else "abm"  # the control runs the cases the faults do
    with contextlib.ExitStack() as stack:  # (the pool, entered last, ends before the control's directory)
        keep = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aftermath-fault-control-")))
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=max(1, jobs)))
        stale = {f.name: _stale(f, root) for f in faults} if reuse else {}
        checkout = {f.name: s[0] for f in faults if (s := stale.get(f.name)) is not None}
        if not control:
            return list(pool.map(lambda f: run_one(f, root=root, checkout=checkout.get(f.name)), faults))
        ctl = pool.submit(run_one, None, root=root, control_k=control_k, keep=keep,
                          checkout=set() if reuse else None)
        cheap = {name: s[0] for name, s in stale.items() if s is not None and s[1] <= REUSE_UP_TO}

        def after_control(f: Fault) -> Outcome:
            passed = ctl.result().status == "passed"
            return run_one(f, root=root, seed=(keep, cheap[f.name]) if passed else None,
                           checkout=checkout.get(f.name))

        runs = {f.name: pool.submit(run_one, f, root=root, checkout=checkout.get(f.name))
                for f in faults if f.name not in cheap}
        runs |= {f.name: pool.submit(after_control, f) for f in faults if f.name in cheap}
        return [ctl.result()] + [runs[f.name].result() for f in faults]


def _stale(fault: Fault, root: Path) -> tuple[set[str], float] | None:
    """:func:`stale_files`, or None when it cannot tell (a patch that does not apply or does not
    parse: the run, compiling afresh, says why)."""
    try:
        return stale_files(fault, root)
    except (SyntaxError, StopIteration, OSError):
        return None


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'fault':32s} {'status':9s} {'s':>5s}  caught by / detail"]
    for o in outcomes:
        by = ", ".join(t.split("::")[-1] for t in o.caught_by) or (o.detail.splitlines() or [""])[0]
        from_control = f" (from {o.reused} kernel cache files compiled before)" if o.reused else ""
        lines.append(f"{o.name:32s} {o.status:9s} {o.seconds:5.1f}  {by}{from_control}")
        if o.detail and (o.status == "caught" or o.caught_by):  # (else its first line is shown above)
            lines.append(f"{'':49s}{o.detail.splitlines()[0]}")
    return "\n".join(lines)


def ok(outcomes: list[Outcome]) -> bool:
    return all(o.status == ("passed" if o.name == "control" else "caught") for o in outcomes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--jobs", type=int, default=2, help="faults run at a time (default 2)")
    ap.add_argument("--only", action="append", default=[], help="run only this fault (repeatable)")
    ap.add_argument("--required", action="store_true", help="run only the faults CI runs (REQUIRED)")
    ap.add_argument("--no-control", action="store_true", help="skip the unpatched control run")
    ap.add_argument("--list", action="store_true", help="list the faults and check that every patch applies")
    ap.add_argument("--cold", action="store_true", help="compile every run afresh (no kernels from the control)")
    args = ap.parse_args(argv)
    only = set(args.only) | (set(REQUIRED) if args.required else set())
    faults = tuple(f for f in FAULTS if not only or f.name in only)
    if args.list:
        for f in faults:
            stale, share = stale_files(f)
            print(f"{f.name:32s} {f.kind:8s} {f.file}: {f.why}\n{'':41s}stale: {', '.join(sorted(stale))} "
                  f"({share:.0%} of the compiled definitions)")
        problems = check_patches(faults)
        print("\n".join(problems) if problems else "every patch applies")
        return 1 if problems else 0
    t0 = time.perf_counter()
    outcomes = run_faults(faults, jobs=args.jobs, control=not args.no_control, reuse=not args.cold)
    print(report(outcomes))
    print(f"{sum(o.status == 'caught' for o in outcomes)} of {len(faults)} faults caught; "
          f"{time.perf_counter() - t0:.0f} s")
    return 0 if ok(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
