"""Engines: solvers of the one model (ode, ssa, abm), driven by :func:`aftermath.engines.driver.simulate`."""
