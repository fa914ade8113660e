"""The ``aftermath`` command starts fast: importing the command line loads no engine, no numerics
and no store, so that ``--version``, ``--help``, ``scenarios``, ``show`` and ``check`` do not pay
for them; each command imports what it needs when it runs. A Ctrl-C while it starts is one line
and exit 130, as one during a command's work is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import aftermath

#: what the command line must not import before a command needs it (each costs tenths of a second)
HEAVY = ("numba", "scipy.stats", "pandas", "duckdb", "dask", "aftermath.engines", "aftermath.validation.catalogue",
         "aftermath.run.ensemble", "aftermath.store.store", "aftermath.calibrate.fit")


def _loaded_after(code: str) -> list[str]:
    """The modules of :data:`HEAVY` loaded in a fresh interpreter after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_cli_loads_nothing_heavy() -> None:
    assert _loaded_after("import aftermath.cli") == []


def test_the_app_is_complete_without_loading_anything_heavy() -> None:
    """Every command is registered (the help lists them all), still without the heavy modules."""
    code = ("from aftermath.cli import app\nimport typer\n"
            "names = sorted(typer.main.get_command(app).commands)\n"
            "assert {'run', 'ensemble', 'sweep', 'rerun', 'query', 'export', 'validate', 'report', 'serve',\n"
            "        'calibrate', 'story', 'compare', 'check', 'show', 'scenarios', 'overlay'} <= set(names), names")
    assert _loaded_after(code) == []


def test_the_public_names_still_come_from_the_package() -> None:
    """The package's names are loaded on first use, and are the same objects as where they live."""
    from aftermath import Result, Scenario, ScenarioError, Sim, load, simulate
    from aftermath.api import Sim as api_sim
    from aftermath.calibrate import calibrate
    from aftermath.run import ensemble, rerun, sweep
    from aftermath.store import DEFAULT_PATH, Store

    assert aftermath.Sim is Sim is api_sim and callable(load) and callable(simulate)
    assert {"Sim", "load", "simulate", "Result", "Scenario", "ScenarioError"} <= set(dir(aftermath))
    assert Result.__name__ == "Result" and Scenario.__name__ == "Scenario" and issubclass(ScenarioError, ValueError)
    assert callable(ensemble) and callable(sweep) and callable(rerun) and callable(calibrate)
    assert ensemble is sys.modules["aftermath.run.ensemble"].ensemble
    assert DEFAULT_PATH == "aftermath.duckdb" and Store.__name__ == "Store"
    with pytest.raises(AttributeError):
        aftermath.no_such_name  # noqa: B018


def test_a_submodule_imported_first_leaves_the_package_function() -> None:
    """``import aftermath.run.sweep`` before ``from aftermath.run import sweep``: still the function."""
    code = ("import aftermath.run.sweep, aftermath.run.rerun, aftermath.run.ensemble\n"
            "from aftermath.run import ensemble, rerun, sweep\n"
            "import types\n"
            "assert not any(isinstance(f, types.ModuleType) for f in (ensemble, rerun, sweep))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_the_installed_command_prints_its_version() -> None:
    exe = Path(sys.executable).with_name("aftermath")
    if not exe.exists():
        pytest.skip("the aftermath script is not installed beside this interpreter")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"aftermath {aftermath.__version__}"


@pytest.mark.parametrize("module", ["aftermath", "aftermath.cli"])
def test_python_dash_m_runs_the_command_line(module: str) -> None:
    """``python -m aftermath`` and ``python -m aftermath.cli`` are the installed command (the first
    had no ``__main__``; the second imported the module and exited 0 having run nothing)."""
    out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"aftermath {aftermath.__version__}"


#: a ``sitecustomize`` that sends the process a real SIGINT while it imports ``aftermath.cli`` (the
#: start of the command line), at the same point every time
_CTRL_C_WHILE_LOADING = '''
import os, signal, sys, time

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "aftermath.cli":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # Python raises KeyboardInterrupt here, inside the import
        return None

sys.meta_path.insert(0, CtrlC())
'''


def test_ctrl_c_while_the_command_line_loads_is_one_line(tmp_path: Path) -> None:
    """The installed ``aftermath`` interrupted while it imports its modules: exit 130 and the one
    line a command interrupted at its work says, no traceback."""
    exe = Path(sys.executable).with_name("aftermath")
    if not exe.exists():
        pytest.skip("the aftermath script is not installed beside this interpreter")
    (tmp_path / "sitecustomize.py").write_text(_CTRL_C_WHILE_LOADING, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([str(exe), "validate", "--list"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 130, (out.returncode, out.stderr)
    assert out.stderr == "interrupted\n" and out.stdout == "", out.stderr


def test_the_submodules_the_packages_had_are_still_attributes() -> None:
    """``import aftermath`` alone, then ``aftermath.scenario.load...``: the submodules the eager imports
    made attributes of the packages are imported on first use, and are the modules themselves."""
    code = ("import sys, aftermath, aftermath.run, aftermath.calibrate\n"
            "assert 'aftermath.scenario' not in sys.modules and 'aftermath.run.executors' not in sys.modules\n"
            "assert aftermath.scenario.load.with_overrides is sys.modules['aftermath.scenario.load'].with_overrides\n"
            "assert aftermath.engines.driver is sys.modules['aftermath.engines.driver']\n"
            "assert aftermath.run.executors is sys.modules['aftermath.run.executors']\n"
            "assert aftermath.calibrate.likelihood is sys.modules['aftermath.calibrate.likelihood']\n"
            "assert {'api', 'scenario'} <= set(dir(aftermath)) and 'tasks' in dir(aftermath.run)\n"
            "for mod, name in ((aftermath, 'web'), (aftermath.run, 'commands'), (aftermath.calibrate, 'nope')):\n"
            "    assert not hasattr(mod, name), name  # (not a submodule the package had: imported only when asked)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


#: a command interrupted at its work (``validate --list``, its selection raising as a Ctrl-C would)
_CTRL_C_AT_WORK = """
import aftermath.validation.runner as runner
from aftermath.cli import app

def select(**kwargs):
    raise KeyboardInterrupt  # as a Ctrl-C in the middle of the command's work

runner.select = select
app(["validate", "--list"])
"""


def test_ctrl_c_while_a_command_works_is_one_line() -> None:
    """Not a batch command (those say where their runs are): exit 130 and the one line
    "interrupted". Typer (0.29) turned the interrupt into a silent exit 130 before App could say it."""
    out = subprocess.run([sys.executable, "-c", _CTRL_C_AT_WORK], capture_output=True, text=True, timeout=60)
    assert out.returncode == 130, (out.returncode, out.stderr)
    assert out.stderr == "interrupted\n" and out.stdout == "", out.stderr


def test_a_ctrl_c_a_library_reports_as_its_own_error_is_an_interrupt(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    """DuckDB turns a Ctrl-C during a query (opening the store) into RuntimeError("Query
    interrupted"), and a Ctrl-C during a compiled module's first import leaves an ImportError
    caused by the KeyboardInterrupt: both were "internal error ... a bug in aftermath", exit 1.
    They are the user stopping the command: its interrupted line, exit 130."""
    from typer.testing import CliRunner

    import aftermath.run.commands as commands
    import aftermath.validation.runner as runner
    from aftermath.cli import app

    def query_interrupted(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(commands, "ensemble", query_interrupted)
    store = tmp_path / "s.duckdb"
    r = CliRunner().invoke(app, ["ensemble", "sir", "--runs", "2", "--engine", "ode", "--store", str(store)])
    assert r.exit_code == 130 and r.output.startswith("interrupted: the runs that finished are in"), r.output

    def import_broken(**kwargs: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ctrl_c:
            raise ImportError("initialization failed") from ctrl_c

    monkeypatch.setattr(runner, "select", import_broken)
    r = CliRunner().invoke(app, ["validate", "--list"])
    assert r.exit_code == 130 and r.output == "interrupted\n", r.output

    def a_real_bug(**kwargs: object) -> None:
        raise RuntimeError("something else")  # not an interrupt: still the bug it is

    monkeypatch.setattr(runner, "select", a_real_bug)
    r = CliRunner().invoke(app, ["validate", "--list"])
    assert r.exit_code != 130 and isinstance(r.exception, RuntimeError)
