"""Every script under examples/ runs to the end (the tutorial's in their --quick sizes), in CI.

The tutorial scripts check the claims of their lesson as they go and exit 1 when one fails, so
this test fails when a lesson stops being true, not only when a script crashes. They run in this
process (``runpy``), sharing its imports and compiled kernels, to keep CI short.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
#: Arguments per script (the tutorial's small sizes; figures into a temporary folder).
QUICK = {"tutorial": ["--quick", "--out", "{out}"], "hyosan": ["--days", "120"]}


def test_the_tutorial_has_its_steps() -> None:
    names = [p.name for p in SCRIPTS]
    for step in ("tutorial_1_sir.py", "tutorial_2_munz.py", "tutorial_3_hyosan.py", "tutorial_4_policies.py",
                 "tutorial_5_calibration.py"):
        assert step in names, step


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(out=tmp_path) for a in QUICK.get(script.name.split("_")[0], [])]
    monkeypatch.setattr(sys, "argv", [str(script), *args])
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)  # anything a script writes lands here
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:  # a failed claim, or argparse
        assert exc.code in (0, None), capsys.readouterr().out[-2000:]
    out = capsys.readouterr().out
    assert "FAILS" not in out
    if script.name.startswith("tutorial"):
        assert "holds:" in out  # the lesson was checked, not only printed
        assert list(tmp_path.glob("*.png")), "the step's figure was written"
