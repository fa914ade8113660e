"""Aftermath: simulate a society after an outbreak.

Quick start::

    import aftermath as am
    res = am.Sim("hyosan").run()
    res.summary()["survivors"]
    fig = res.plot()
"""

import typing as _typing

from aftermath import _lazy

if _typing.TYPE_CHECKING:
    from aftermath.api import Sim, load, simulate
    from aftermath.result import Result
    from aftermath.scenario.load import ScenarioError
    from aftermath.scenario.schema import Scenario

__all__ = ["Result", "Scenario", "ScenarioError", "Sim", "load", "simulate"]
__version__ = "0.1.0"

#: where each public name lives: imported on first use, so that ``import aftermath.<module>`` (the
#: command line's ``--help``, a scenario check) does not load the engines, pandas and SciPy
_HOME = {"Sim": "aftermath.api", "load": "aftermath.api", "simulate": "aftermath.api", "Result": "aftermath.result",
         "ScenarioError": "aftermath.scenario.load", "Scenario": "aftermath.scenario.schema"}

#: the submodules ``import aftermath`` left as attributes when it imported its names eagerly:
#: on first use, what it imported then is imported (``aftermath.scenario.load`` works as it did)
_SUBMODULES = frozenset(("api", "engines", "model", "record", "result", "scenario"))


__getattr__, __dir__ = _lazy.attach(__name__, globals(), _HOME, _SUBMODULES)
