"""Aftermath: simulate a society after an outbreak.

Quick start::

    import aftermath as am
    res = am.Sim("hyosan").run()
    res.summary()["survivors"]
    fig = res.plot()
"""

from aftermath.api import Sim, load, simulate
from aftermath.result import Result
from aftermath.scenario.load import ScenarioError
from aftermath.scenario.schema import Scenario

__all__ = ["Result", "Scenario", "ScenarioError", "Sim", "load", "simulate"]
__version__ = "0.1.0"
