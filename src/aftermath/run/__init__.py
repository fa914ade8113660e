"""Many runs: ensembles, sweeps, seeds and common random numbers, and where runs execute.

>>> from aftermath.run import ensemble, sweep
>>> res = ensemble("sir", runs=4, engine="ode", days=30, store="runs.duckdb")  # doctest: +SKIP
>>> res.bands("Z")  # doctest: +SKIP

The names below are imported on first use (PEP 562), so that ``import aftermath.run.commands`` (the
command line starting) does not load the engines, pandas and DuckDB.
"""

import sys as _sys
import types as _types
import typing as _typing

from aftermath import _lazy

if _typing.TYPE_CHECKING:
    from aftermath.run.ensemble import BatchResult, Point, ensemble, run_batch
    from aftermath.run.executors import DaskExecutor, Executor, InProcess, Processes, make_executor
    from aftermath.run.params import ParamError, ParamSpec, load_sweep_file, parse_param
    from aftermath.run.rerun import RerunResult, rerun
    from aftermath.run.seeds import replicate_seeds
    from aftermath.run.sweep import SweepResult, sweep

__all__ = [
    "BatchResult", "DaskExecutor", "Executor", "InProcess", "ParamError", "ParamSpec", "Point", "Processes",
    "RerunResult", "SweepResult", "ensemble", "load_sweep_file", "make_executor", "parse_param", "replicate_seeds",
    "rerun", "run_batch", "sweep",
]

#: the module each public name lives in
_HOME = {"BatchResult": ".ensemble", "Point": ".ensemble", "ensemble": ".ensemble", "run_batch": ".ensemble",
         "DaskExecutor": ".executors", "Executor": ".executors", "InProcess": ".executors", "Processes": ".executors",
         "make_executor": ".executors", "ParamError": ".params", "ParamSpec": ".params", "load_sweep_file": ".params",
         "parse_param": ".params", "RerunResult": ".rerun", "rerun": ".rerun", "replicate_seeds": ".seeds",
         "SweepResult": ".sweep", "sweep": ".sweep"}

#: the submodules ``import aftermath.run`` left as attributes when it imported its names eagerly:
#: on first use, what it imported then is imported (``aftermath.run.executors`` works as it did)
_SUBMODULES = frozenset(("executors", "params", "seeds", "tasks"))


__getattr__, __dir__ = _lazy.attach(__name__, globals(), _HOME, _SUBMODULES)


class _Package(_types.ModuleType):
    """``ensemble``, ``sweep`` and ``rerun`` are functions named as their modules: importing the
    module (``import aftermath.run.sweep``) sets the package's attribute to the module; the
    function stays, as the eager imports this package had left it."""

    def __setattr__(self, name: str, value: _typing.Any) -> None:
        if isinstance(value, _types.ModuleType) and _HOME.get(name) == f".{name}" and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
