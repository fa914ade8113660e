"""The agent-based engine: the full model, individual by individual (docs/model.md#engines, ``abm``).

Layout:

* :mod:`.state`: the population as struct-of-arrays (24 bytes per person, table in its docstring),
  set-up, and the memory check that refuses a scenario too large before allocating;
* :mod:`.rng`: counter-based random numbers, one stream per decision;
* :mod:`.tables`: the slot table compiled from the model's declarations
  (:mod:`aftermath.model.reactions`, the same that the ODE and SSA network is expanded from), the
  day's coefficients and the per-step hazard rows per (zone, state, strain);
* :mod:`.step`: the kernels: every person's competing transitions per step (applying the table),
  sweeps, counts;
* :mod:`.mutation`: the strain table, mutation at infection, the fitness proxy;
* :mod:`.ledger`: per-person policy flags summed into the ledger;
* :mod:`.engine`: :class:`AbmEngine`, the thin class the driver calls.

Differences from the compartmental engines, by design (docs/model.md#engines): individual resistance,
mutation, concealment by households, screening quarantine (an arrival whose latency ends within
``quarantine_days`` is caught in the pens) and the per-person ledger. Time is stepped at
``run.dt``; a fixed-step chain converges to the reaction network as ``dt -> 0``.
"""

from aftermath.engines.abm.engine import AbmEngine

__all__ = ["AbmEngine"]
