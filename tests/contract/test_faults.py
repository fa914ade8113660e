"""The contract suite has teeth: every fault of ``tests/contract/faults.py`` makes its ABM part fail.

Each fault is a small textual patch on a copy of ``src/`` (see that module). When the code a fault
patches changes, ``test_every_fault_patch_applies`` says which entries of the table to retarget.
"""

from __future__ import annotations

import pytest

from tests.contract.faults import FAULTS, REQUIRED, check_patches, ok, report, run_faults


def test_every_fault_patch_applies() -> None:
    """Each fault's old text occurs exactly once in today's sources (no runs: fast)."""
    problems = check_patches()
    assert not problems, "retarget tests/contract/faults.py:\n" + "\n".join(problems)


def test_the_faults_cover_the_classes_issue_10_names() -> None:
    by_name = {f.name: f for f in FAULTS}
    assert len(by_name) == len(FAULTS)
    assert {by_name[n].kind for n in REQUIRED} == {"product", "q", "tag", "rate", "target"}


@pytest.mark.timeout(600)
def test_the_required_faults_are_caught() -> None:
    """An unpatched copy passes the ABM contract; a product state swapped, q inverted, a flow tag
    dropped, a rate doubled and a policy's target zone shifted each make it fail (~1.5 min)."""
    outcomes = run_faults(tuple(f for f in FAULTS if f.name in REQUIRED), jobs=2, control=True)
    assert ok(outcomes), "\n" + report(outcomes)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_fault_is_caught() -> None:
    """The whole table (3 to 6 minutes)."""
    outcomes = run_faults(FAULTS, jobs=2, control=True)
    assert ok(outcomes), "\n" + report(outcomes)
