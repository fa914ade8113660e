"""Many runs: ensembles, sweeps, seeds and common random numbers, and where runs execute.

>>> from aftermath.run import ensemble, sweep
>>> res = ensemble("sir", runs=4, engine="ode", days=30, store="runs.duckdb")  # doctest: +SKIP
>>> res.bands("Z")  # doctest: +SKIP
"""

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
