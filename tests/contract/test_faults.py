"""The contract suite has teeth: every fault of ``tests/contract/faults.py`` makes its ABM part fail.

Each fault is a small textual patch on a copy of ``src/`` (see that module). When the code a fault
patches changes, ``test_every_fault_patch_applies`` says which entries of the table to retarget.
"""

from __future__ import annotations

import pytest

from tests.contract.faults import (
    FAULTS,
    REQUIRED,
    STEP,
    TABLES,
    Fault,
    check_patches,
    ok,
    report,
    run_faults,
    stale_files,
)

MEMORY_ROWS = "aftermath/engines/abm/memory_rows.py"
TIES = "aftermath/people/ties.py"


def test_every_fault_patch_applies() -> None:
    """Each fault's old text occurs exactly once in today's sources (no runs: fast)."""
    problems = check_patches()
    assert not problems, "retarget tests/contract/faults.py:\n" + "\n".join(problems)


def test_the_faults_cover_the_classes_issue_10_names() -> None:
    by_name = {f.name: f for f in FAULTS}
    assert len(by_name) == len(FAULTS)
    assert {by_name[n].kind for n in REQUIRED} == {"product", "q", "tag", "rate", "target"}


def _stale(file: str, old: str, new: str) -> set[str]:
    return stale_files(Fault("probe", "other", file, old, new, "a probe of the dependency analysis"))[0]


def test_a_copy_reuses_no_kernel_that_a_patch_may_change() -> None:
    """The kernels a fault's copy loads from the control's cache (``seed_cache``) are those of files
    ``stale_files`` leaves out: never a module that mentions, itself or through others, a definition
    the patch changed (Numba's cache would not see the change)."""
    # a constant of the tables that the step's kernels take: the step, and the modules that take
    # the step's kernels that mention it (the lists' act, memory's table of _walks does not)
    s = _stale(TABLES, "P_BITE, P_DEFENCE = int(Pressure.BITE), int(Pressure.DEFENCE)",
               "P_BITE, P_DEFENCE = int(Pressure.DEFENCE), int(Pressure.BITE)")
    assert {TABLES, STEP, "aftermath/engines/abm/events.py"} <= s
    # a helper of the step that memory's table compiles in: memory_rows too, through the import
    s = _stale(STEP, "            acc += rates[j]\n", "            acc += 2.0 * rates[j]\n")
    assert {STEP, MEMORY_ROWS} <= s
    # the tables' Python (no kernel mentions it): the step's kernels stay, only the callers' files go
    s = _stale(TABLES, "product[st, j, b] = int(product_state(t, br, State(st)))",
               "product[st, j, b] = int(State.D)")
    assert TABLES in s and STEP not in s and MEMORY_ROWS not in s
    # an import that binds another value to a name the kernels read: as a changed definition
    s = _stale(STEP, "from aftermath.engines.abm.tables import P_BITE, D,",
               "from aftermath.engines.abm.tables import P_DEFENCE as P_BITE, D,")
    assert {STEP, "aftermath/engines/abm/events.py"} <= s
    # a namedtuple's fields reordered: kernels take it as an argument type (by fields' types, not
    # names), so no name says who reads it: every compiled module compiles afresh
    s, share = stale_files(Fault("probe", "other", TABLES, '"hook", "where", "route_k",', '"hook", "route_k", "where",',
                                 "a probe of the dependency analysis"))
    assert share == 1.0 and {STEP, MEMORY_ROWS, TIES, "aftermath/engines/abm/events.py"} <= s
    # a module-level statement that is no definition changes everything in the module
    s = _stale(TIES, "from aftermath.record.chronicle import BREACH_NEWS",
               "from aftermath.record.chronicle import BREACH_NEWS\nprint('side effect')")
    assert TIES in s


@pytest.mark.timeout(600)
def test_the_required_faults_are_caught() -> None:
    """An unpatched copy passes the ABM contract; a product state swapped, q inverted, a flow tag
    dropped, a rate doubled and a policy's target zone shifted each make it fail (~1.2 min: the three
    in the tables' Python start from the control's kernels)."""
    outcomes = run_faults(tuple(f for f in FAULTS if f.name in REQUIRED), jobs=2, control=True)
    assert ok(outcomes), "\n" + report(outcomes)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_fault_is_caught() -> None:
    """The whole table (5 to 7 minutes on 2 cores)."""
    outcomes = run_faults(FAULTS, jobs=2, control=True)
    assert ok(outcomes), "\n" + report(outcomes)
