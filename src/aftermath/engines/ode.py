"""Deterministic mean field of the model: the reaction network integrated day by day.

Within a day every coefficient is constant (policies and society change at day boundaries,
docs/model.md#policies), so each day is one LSODA integration over ``[0, 1]`` on a Numba
right-hand side (:func:`solve_ivp`: SciPy's ``odeint``, bit for bit what SciPy's ``solve_ivp``
gives, at a third less cost). Flow accumulators are integrated alongside the species, so a day's flows are
exact integrals of the propensities, not differences of stocks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import ODEintWarning, odeint
from scipy.integrate import solve_ivp as _scipy_solve_ivp

from aftermath.engines.base import F64
from aftermath.engines.kernels import ode_rhs
from aftermath.model.flows import N_FLOWS, N_ROUTE_FLOWS, Flow
from aftermath.model.network import Network, build_network
from aftermath.model.policies import Levers
from aftermath.model.rates import DailyRates
from aftermath.model.world import N_STATES, State, World
from aftermath.scenario.load import ScenarioError


class _Shown:
    """A value shown as is in an error message."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

#: Integration tolerances: tight enough that the SIR and Munz targets hold to 1e-4 and 1e-2.
RTOL, ATOL = 1e-8, 1e-8
#: The most right-hand-side evaluations the solver may make in one day (the built-in scenarios need
#: at most ~110). Stiffness cannot be known before a run (it depends on rates times populations, above
#: all under mass action), so this bound is checked while integrating: a run over it stops with a
#: :class:`ScenarioError` (docs/scenario.md, "Bounds and budget") instead of running for hours.
MAX_EVALS_PER_DAY = 100_000
#: ... and at most this many state-evaluations (evaluations x state variables) a day: a stiff day
#: makes LSODA build dense finite-difference Jacobians (one evaluation per state variable each) and
#: factorise them (cubic in the states), so a large stiff system must stop long before 100,000
#: evaluations (300 zones, reanimation 182/day: an hour, found by the fuzz harness; now ~10 s).
MAX_STATE_EVALS_PER_DAY = 30_000_000
_TOO_STIFF = ("the rates are too fast for the populations (under mass action a per-pair rate is multiplied by "
              "the zone's population): lower them, or use --engine ssa or abm")


class _Solution:
    """What :func:`solve_ivp` returns: ``success``, ``message`` and ``y`` (states x ``t_eval``)."""

    def __init__(self, success: bool, message: str, y: NDArray[np.float64]) -> None:
        self.success, self.message, self.y = success, message, y


def solve_ivp(fun: Callable[[float, NDArray[np.float64]], NDArray[np.float64]], t_span: tuple[float, float],
              y0: NDArray[np.float64], method: str = "LSODA", rtol: float = RTOL, atol: float = ATOL,
              t_eval: list[float] | None = None) -> Any:
    """SciPy's ``solve_ivp`` for one day, with a fast path for what :class:`OdeEngine` asks.

    For LSODA with ``t_eval`` at the end of the interval, the day is integrated by SciPy's
    ``odeint`` (the same LSODA, the same defaults: automatic first step, no step bounds) with the
    end as a critical time it never steps past. It takes the same steps and returns the same values,
    bit for bit, as ``solve_ivp(method="LSODA")`` (``tests/test_web_ode.py`` holds it), without
    ``solve_ivp``'s per-step Python overhead: a third of the hyosan run's time. Anything else goes
    to SciPy's ``solve_ivp``.
    """
    t0, t1 = float(t_span[0]), float(t_span[1])
    if method != "LSODA" or t_eval is None or list(t_eval) != [t1]:
        return _scipy_solve_ivp(fun, t_span, y0, method=method, rtol=rtol, atol=atol, t_eval=t_eval)

    # ``fun.raw``, where a right-hand side has it (OdeEngine.day_rhs), returns its own buffer instead
    # of a copy: odeint copies what the function returns before calling it again
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ys, info = odeint(getattr(fun, "raw", fun), y0, [t0, t1], rtol=rtol, atol=atol, tcrit=[t1], full_output=True,
                          mxstep=MAX_EVALS_PER_DAY, tfirst=True)
    if any(issubclass(w.category, ODEintWarning) for w in caught):  # odeint warns when LSODA fails
        return _Solution(False, str(info.get("message", "LSODA failed")), ys.T)
    return _Solution(True, "", ys.T[:, 1:])


def max_evals(n_vars: int) -> int:
    """The most right-hand-side evaluations of one day for a system of ``n_vars`` variables."""
    return int(min(MAX_EVALS_PER_DAY, max(1_000, MAX_STATE_EVALS_PER_DAY // max(n_vars, 1))))


def _compiled(dispatcher: Any, args: tuple[Any, ...]) -> Callable[..., Any]:
    """The compiled entry point of the Numba ``dispatcher`` for exactly the types of ``args``
    (compiled, or loaded from Numba's cache, on first use), or the dispatcher itself where Numba
    does not expose one. Only for arguments whose types never change between calls."""
    try:
        sig = tuple(dispatcher.typeof_pyval(a) for a in args)
        if sig not in dispatcher.overloads:
            dispatcher(*args)  # compiles (or loads) this signature; a kernel may write only to its outputs
        entry: Callable[..., Any] | None = getattr(dispatcher.overloads.get(sig), "entry_point", None)
    except AttributeError:  # not a Numba dispatcher (NUMBA_DISABLE_JIT), or another Numba's internals
        entry = None
    return entry if entry is not None else dispatcher


def _same_kind(a: Any, b: NDArray[np.float64]) -> bool:
    """Whether ``a`` is an array Numba types as it types ``b`` (a writeable, aligned, C-contiguous
    vector of float64)."""
    return (type(a) is np.ndarray and a.dtype == np.float64 and a.ndim == 1 and a.shape == b.shape
            and a.flags.c_contiguous and a.flags.aligned and a.flags.writeable)


class _TooStiff(Exception):
    """Raised from the right-hand side when a day has used up its evaluations."""


class OdeEngine:
    """Mean-field solver. No individuals: resistance enters through the mean hybrid outcome,
    no mutation (the fixed strain set), no concealment, no screening quarantine."""

    name = "ode"

    def __init__(self, world: World, method: str = "LSODA") -> None:
        self.world = world
        self.net: Network = build_network(world)
        self.x = self.net.initial_state()
        self.method = method
        #: times within a day (fractions) at which to sample the counts into ``samples``
        self.sample_times: tuple[float, ...] = ()
        self.samples: list[F64] = []
        self._kernel: Callable[..., Any] | None = None  # ode_rhs compiled for this engine's argument types
        # Network.counts and Network.strain_counts, with their index arrays computed once: the same
        # sums (bincount adds in species order, as np.add.at does), twice a simulated day
        net = self.net
        self._count_bins = net.species_zone * N_STATES + net.species_state
        infected = (net.species_state >= State.E) & (net.species_state <= State.Z)
        self._infected = np.flatnonzero(infected)
        self._infected_strain = net.species_strain[infected]

    def counts(self) -> F64:
        nz = self.world.n_zones
        out: F64 = np.bincount(self._count_bins, weights=self.x, minlength=nz * N_STATES).astype(np.float64, copy=False)
        return out.reshape(nz, N_STATES)

    def strain_counts(self) -> F64:
        out: F64 = np.bincount(self._infected_strain, weights=self.x[self._infected],
                               minlength=self.world.n_strains).astype(np.float64)
        return out

    def sweep(self, day: int, levers: Levers, q: float) -> F64:
        net, x = self.net, self.x
        flows = np.zeros((N_FLOWS, self.world.n_zones))
        for z in map(int, np.flatnonzero(levers.sweep_kill > 0)):
            k = levers.sweep_kill[z]
            for s in range(self.world.n_strains):
                victims = [(net.z_(z, s), False)]
                if levers.sweep_hybrids[z]:
                    victims.append((net.h_(z, s), True))
                for sp, hybrid in victims:
                    dead = x[sp] * k
                    x[sp] -= dead
                    x[net.d_(z, s)] += dead * q
                    x[net.r_(z)] += dead * (1.0 - q)
                    flows[Flow.SWEEP_KILL, z] += dead
                    if hybrid:
                        flows[Flow.SWEEP_HYBRIDS, z] += dead
        return flows

    def day_rhs(self, rates: DailyRates, most: int | None = None
                ) -> Callable[[float, NDArray[np.float64]], NDArray[np.float64]]:
        """The right-hand side under one day's rates, over the species then the flow and route
        accumulators (also used by :mod:`aftermath.validation` to integrate densely within a day).
        With ``most``, its evaluation after the ``most``-th raises ``_TooStiff`` (one closure: each
        layer of Python costs time on each of a year's ~15,000 evaluations)."""
        net = self.net
        coef = net.coefficients(rates)
        args = (coef, net.reactant, net.product, net.pressure, net.zone, net.p_ptr, net.p_idx, net.p_w,
                net.species_zone, net.living, self.world.n_zones, rates.mass_action, net.flow_index,
                net.route_index, net.n_species, net.n_flow_bins)
        dx = np.empty(net.n_species + net.n_flow_bins + net.n_route_bins)
        if most is None:
            def rhs(_t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
                out: NDArray[np.float64] = ode_rhs(y, *args, dx).copy()
                return out

            return rhs
        calls = 0
        # the solver's state is copied into a buffer of ours, so every argument's Numba type is known
        # here and the compiled kernel is called directly, without Numba's per-call type dispatch
        # over 18 arguments (a third of each evaluation's cost; the same machine code either way)
        ybuf = np.zeros_like(dx)
        if self._kernel is None:  # the types are the same every day: looked up on the first
            self._kernel = _compiled(ode_rhs, (ybuf, *args, dx))
        kernel = self._kernel

        direct = False

        def raw(_t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
            nonlocal calls, direct
            calls += 1
            if calls > most:
                raise _TooStiff
            if calls == 1:  # odeint hands every evaluation a fresh array made alike: checked once a day
                direct = _same_kind(y, ybuf)
            if direct:  # the solver's array has the buffer's Numba type: passed as it is
                out: NDArray[np.float64] = kernel(y, *args, dx)
                return out
            ybuf[:] = y
            out = kernel(ybuf, *args, dx)
            return out

        def bounded(t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
            return raw(t, y).copy()

        bounded.raw = raw  # type: ignore[attr-defined]  # for solve_ivp's fast path, which copies at once
        return bounded

    def advance_day(self, day: int, rates: DailyRates, levers: Levers) -> tuple[F64, F64]:
        net = self.net
        n_acc = net.n_flow_bins + net.n_route_bins
        y0 = np.concatenate([self.x, np.zeros(n_acc)])
        most = max_evals(len(y0))
        rhs = self.day_rhs(rates, most)

        try:
            with warnings.catch_warnings(record=True) as caught:  # LSODA warns before it fails: say it once
                warnings.simplefilter("always")
                sol = solve_ivp(rhs, (0.0, 1.0), y0, method=self.method, rtol=RTOL, atol=ATOL,
                                t_eval=[*self.sample_times, 1.0])
        except _TooStiff:
            raise ScenarioError("<ode run>", "run", _Shown(f"more than {most:,} evaluations on day {day}"),
                                f"an ODE integrated in at most {most:,} evaluations a day (the documented bound "
                                f"for {len(y0):,} state variables); {_TOO_STIFF}") from None
        if not sol.success:
            why = "; ".join(dict.fromkeys(str(w.message).removeprefix("lsoda: ") for w in caught)) or sol.message
            raise ScenarioError("<ode run>", "run", _Shown(f"LSODA failed on day {day} ({why})"),
                                f"an ODE the solver can integrate; {_TOO_STIFF}")
        y = sol.y[:, -1]
        xs = y[: net.n_species]
        # round-off can leave -1e-12 people; anything larger is a bug, and is reported
        if xs.min() < -1e-6 * max(1.0, xs.sum()):
            raise RuntimeError(f"ODE produced a negative count on day {day}: {xs.min():g}")
        self.x = np.maximum(xs, 0.0)  # = np.clip(xs, 0.0, None), without its wrappers
        # samples within the day (run.record_every, aftermath.record.fine): the dense output
        self.samples = [net.counts(np.clip(sol.y[: net.n_species, j], 0.0, None))
                        for j in range(len(self.sample_times))]
        flows = y[net.n_species: net.n_species + net.n_flow_bins].reshape(N_FLOWS, self.world.n_zones)
        route = y[net.n_species + net.n_flow_bins:].reshape(N_ROUTE_FLOWS, self.world.n_routes)
        return flows.copy(), route.copy()

    def extras(self) -> dict[str, Any]:
        return {}

