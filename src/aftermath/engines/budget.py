"""A budget before work: what a run will cost, estimated before anything is allocated.

Every run (``aftermath.engines.driver.simulate``, so every engine, ensemble and sweep) calls
:func:`check_budget` first. It estimates, from the scenario alone:

* **memory**: the engine's arrays (the ABM's people, the ODE's dense Jacobian, the SSA's reaction
  table), the recorded series (per simulated day), and the interpreter itself; times the workers
  that run at once in an ensemble. It is compared with the machine's real limit: the smallest of
  the memory available (``MemAvailable``), the address-space limit (``ulimit -v``, less what the
  process already maps) and the cgroup limit (``memory.max`` or ``memory.limit_in_bytes``, less
  what the group already uses);
* **work**: in the engine's own unit, compared with a documented bound per engine
  (:data:`WORK_LIMITS`): the ABM's person-steps, the SSA's expected events, the ODE's
  state-squared-days (its implicit solver works on a dense ``n x n`` Jacobian).

A run over either is refused with :class:`BudgetError` (a :class:`ScenarioError`, so the command
line prints one line and exits with code 2) naming the estimate, the limit and the keys or flags
that change it. ``docs/scenario.md`` ("Budget") documents the bounds.

The stochastic engines also need whole people: a fractional count is refused here, by key.
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass

from aftermath.model.flows import N_FLOWS, N_ROUTE_FLOWS
from aftermath.model.world import N_STATES
from aftermath.scenario.load import ScenarioError
from aftermath.scenario.schema import STATES, Scenario

GIB = 2.0**30

#: The documented work bounds, per engine, in that engine's unit (:data:`WORK_UNITS`). On the
#: reference machine (2 cores) each is a few hours of computing.
WORK_LIMITS: dict[str, float] = {"abm": 1e12, "ssa": 1e10, "ode": 1e12}
WORK_UNITS: dict[str, str] = {"abm": "person-steps", "ssa": "events", "ode": "state^2-days"}
#: An environment variable that multiplies every work bound (a positive number; default 1): lower
#: it where runs must stay short (a fuzz run, CI), raise it on a machine that may run for days.
SCALE_ENV = "AFTERMATH_WORK_SCALE"
#: What an ABM step costs beyond its people (hazard tables, the Python loop), in person-steps:
#: about 140 microseconds, at about 6e7 person-steps a second.
STEP_OVERHEAD = 10_000
#: The most people (with the births expected) in one ABM run: its person indices and household ids
#: are 32-bit.
MAX_ABM_PEOPLE = 2**31 - 1
#: The most runs of one ensemble or sweep.
MAX_RUNS = 100_000  # one batch: the same bound as aftermath.run.ensemble.MAX_BATCH_RUNS
#: The interpreter, NumPy, Numba, SciPy and compiled kernels (~250 MiB RSS measured), rounded up.
BASE_BYTES = 320 * 2**20
#: Bytes a run keeps per recorded value and per day, counting the result's copies.
RECORD_FACTOR = 2
#: Bytes of LSODA's work arrays per ODE state and per day: SciPy 1.17's LSODA does not free them
#: (about 140 KB a day for Hyosan's ~200 states), so a long ODE run grows by this much a day.
LSODA_BYTES_PER_STATE_DAY = 700
#: Bytes per reaction of the network (indices, tags, coefficient, the SSA's sum tree).
BYTES_PER_REACTION = 160

_KEYS = {
    "abm": "the zones' populations, run.days (--days), run.dt, demography.births or pathogen.mutation.max_strains",
    "ssa": "the zones' populations, run.days (--days), the rates, or the engine (--engine ode)",
    "ode": "the number of zones and routes, pathogen.strains, pathogen.latency_shape or run.days (--days)",
}


class BudgetError(ScenarioError):
    """A run refused before it starts: its estimated memory or work is over the limit."""


class _Text:
    """A value shown as is (not quoted) in an error message."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Budget:
    """What one run (or ``runs`` runs, ``workers`` at a time) of ``engine`` for ``days`` days costs."""

    engine: str
    days: int
    people: float  # at day 0, every state
    peak_people: float  # with the births expected over the horizon (the ABM's arrays)
    zones: int
    states: int  # the ODE's and SSA's state vector (species and flow accumulators)
    reactions: int  # estimated reactions of the network
    work: float  # one run's work, in work_unit
    work_unit: str
    work_limit: float
    memory: int  # peak bytes of one run
    memory_limit: int  # bytes the machine allows now
    memory_source: str  # which limit that is
    record_per_day: int  # bytes the record keeps per simulated day
    runs: int = 1
    workers: int = 1

    @property
    def total_memory(self) -> int:
        """Peak bytes with ``workers`` runs at once (each worker is its own process)."""
        return self.memory * max(1, min(self.workers, self.runs))

    @property
    def fits(self) -> bool:
        return self.work <= self.work_limit and self.total_memory <= self.memory_limit and self.runs <= MAX_RUNS


def work_scale() -> float:
    """The factor of :data:`SCALE_ENV` (1 when unset); a value that is not a positive number is refused."""
    text = os.environ.get(SCALE_ENV, "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise BudgetError(f"${SCALE_ENV}", "", text, "a positive number that multiplies the work bounds")
    return value


def work_limit(engine: str) -> float:
    """The work bound of ``engine`` (:data:`WORK_LIMITS`) times :func:`work_scale`."""
    return WORK_LIMITS.get(engine, math.inf) * work_scale()


# -- the machine's memory ---------------------------------------------------------------------------


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo(key: str) -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _vm_size() -> int:
    """Bytes of address space this process maps now (``VmSize``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_limits() -> dict[str, int]:
    """Bytes a new allocation may use, by limit: ``MemAvailable``, ``ulimit -v`` (less what is
    mapped) and the cgroup's limit (less what the group uses), where each applies."""
    out: dict[str, int] = {}
    avail = _meminfo("MemAvailable")
    if avail is None:
        try:
            avail = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            avail = None
    if avail is not None:
        out["MemAvailable"] = avail
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft > 0:
        out["ulimit -v"] = max(0, soft - _vm_size())
    v2 = _read_int("/sys/fs/cgroup/memory.max")  # "max" (no limit) reads as None
    if v2 is not None:
        out["cgroup memory.max"] = max(0, v2 - (_read_int("/sys/fs/cgroup/memory.current") or 0))
    v1 = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if v1 is not None and v1 < 2**60:  # v1 writes a huge number for "no limit"
        used = _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes") or 0
        out["cgroup memory.limit_in_bytes"] = max(0, v1 - used)
    return out


def memory_limit() -> tuple[int, str]:
    """The smallest of :func:`memory_limits`, and which it is."""
    limits = memory_limits()
    if not limits:
        return 2**63 - 1, "none known"
    source = min(limits, key=lambda k: limits[k])
    return limits[source], source


# -- estimates --------------------------------------------------------------------------------------


def _births(sc: Scenario) -> float:
    return sum(sc.demography.births if z.births is None else z.births for z in sc.zones)


def birth_capacity(births_per_day: float, days: int) -> int:
    """Room for the births of ``days`` days: mean plus ten standard deviations, plus a margin."""
    mean = births_per_day * days
    return math.ceil(mean + 10.0 * math.sqrt(mean) + 64) if mean > 0 else 0


def _strain_cap(sc: Scenario, engine: str) -> int:
    fixed = 1 + len(sc.pathogen.strains)
    return sc.pathogen.mutation.max_strains if engine == "abm" and sc.pathogen.mutation.mu > 0 else fixed


def _n_routes(sc: Scenario) -> int:
    return sum(2 if r.both_ways else 1 for r in sc.routes)


def _most_routes_out(sc: Scenario) -> int:
    """The most routes leaving one zone (a both-ways route leaves both ends)."""
    out: dict[str, int] = {}
    for r in sc.routes:
        for a in ((r.from_, r.to) if r.both_ways else (r.from_,)):
            out[a] = out.get(a, 0) + 1
    return max(out.values(), default=0)


def _record_day(sc: Scenario, engine: str) -> int:
    """Bytes the record keeps per simulated day: counts, flows, society, policies, truces, strains."""
    nz, nr, nf = len(sc.zones), _n_routes(sc), len(sc.factions)
    per_day = (8 * nz * (N_STATES + N_FLOWS + 3) + 8 * nr * N_ROUTE_FLOWS + (len(sc.policies) + 2) * nz
               + nf * nf + 8 * _strain_cap(sc, engine))
    return RECORD_FACTOR * per_day


def _record_bytes(sc: Scenario, engine: str, days: int) -> int:
    return _record_day(sc, engine) * (days + 1)


def _network_size(sc: Scenario) -> tuple[int, int]:
    """(state vector length, reactions) of the ODE's and SSA's network, without building it."""
    nz, nr, ns = len(sc.zones), _n_routes(sc), 1 + len(sc.pathogen.strains)
    k = sc.pathogen.latency_shape
    stride = 1 + ns * k + 3 * ns + 2
    states = nz * stride + N_FLOWS * nz + N_ROUTE_FLOWS * nr
    targets = sum(1 for p in sc.policies for key in ("sanctuary", "isolation") if getattr(p, key, None))
    reactions = nz * ns * (k + 40) + nr * ns * 12 + nz * targets * ns * 4 + nz
    return states, reactions


def _whole_people(sc: Scenario, engine: str, source: str) -> None:
    """The stochastic engines count whole people: refuse a fractional count, by key."""
    if engine == "ode":
        return
    for i, z in enumerate(sc.zones):
        for s in STATES:
            v = getattr(z.population, s)
            if not float(v).is_integer():
                raise ScenarioError(source, f"zones.{i}.population.{s}", v,
                                    f"a whole number of people for the {engine} engine (only the ode "
                                    "engine accepts fractions)")


def _ssa_events(sc: Scenario, days: int) -> float:
    """Expected SSA events: the day-0 propensity total times the days, plus an epidemic's passage
    through everyone it can reach (each person infected, then through latency's stages to an
    outcome and on), plus the per-day rebuild of the reaction table."""
    import numpy as np

    from aftermath.engines.kernels import propensities, zone_denominators
    from aftermath.model.network import build_network
    from aftermath.model.policies import Levers
    from aftermath.model.rates import daily_rates
    from aftermath.model.society import Society
    from aftermath.model.world import build_world

    world = build_world(sc)
    net = build_network(world)
    society = Society(world)
    rates = daily_rates(world, society, Levers.none(world.n_zones))
    coef = net.coefficients(rates)
    x = net.initial_state()
    den = zone_denominators(x, net.species_zone, net.living, world.n_zones, bool(rates.mass_action))
    a = np.empty(net.n_reactions)
    propensities(x, coef, net.reactant, net.pressure, net.zone, net.p_ptr, net.p_idx, net.p_w, den, a)
    a0 = float(a.sum()) if np.all(np.isfinite(a)) else math.inf
    p = sc.pathogen
    biting = max([p.beta] + [s.beta for s in p.strains if s.beta is not None]) > 0
    seeds = sum(z.population.E + z.population.H + z.population.Z + z.population.D for z in sc.zones)
    susceptible = sum(z.population.S for z in sc.zones) + _births(sc) * days
    epidemic = (p.latency_shape + 3) * susceptible if biting and seeds > 0 else 0.0
    return a0 * days + epidemic + net.n_reactions * days


def estimate(scenario: Scenario, engine: str | None = None, days: int | None = None, *,
             runs: int = 1, workers: int = 1) -> Budget:
    """The :class:`Budget` of running ``scenario`` on ``engine`` for ``days`` days (defaults: the
    scenario's ``run``), ``runs`` times with ``workers`` at once. Allocates nothing large: the
    SSA's estimate builds the network only once its memory is known to fit."""
    sc = scenario
    engine = engine or sc.run.engine
    days = sc.run.days if days is None else int(days)
    nz = len(sc.zones)
    people = sc.initial_population()
    limit, source = memory_limit()
    record = _record_bytes(sc, engine, days)
    states, reactions = _network_size(sc)
    peak = people
    if engine == "abm":
        from aftermath.engines.abm.parts import default_parts
        from aftermath.engines.abm.state import memory_estimate
        from aftermath.engines.abm.tables import bytes_per_zone_strain

        capacity = round(people) + birth_capacity(_births(sc), days)
        peak = float(capacity)
        steps = round(1.0 / sc.run.dt)
        work = float(steps) * days * (capacity + STEP_OVERHEAD)
        per = bytes_per_zone_strain(_most_routes_out(sc), default_parts())
        memory = memory_estimate(capacity, nz, _strain_cap(sc, engine), per) + record
    elif engine == "ode":
        work = float(states) ** 2 * days
        memory = (BASE_BYTES + 2 * 8 * states**2 + LSODA_BYTES_PER_STATE_DAY * states * days
                  + BYTES_PER_REACTION * reactions + record)
    else:
        memory = BASE_BYTES + 8 * 4 * states + BYTES_PER_REACTION * reactions + record
        work = math.inf if memory > limit else _ssa_events(sc, days)
    return Budget(engine=engine, days=days, people=people, peak_people=peak, zones=nz, states=states,
                  reactions=reactions, work=work, work_unit=WORK_UNITS.get(engine, "units"),
                  work_limit=work_limit(engine), memory=int(memory), memory_limit=int(limit),
                  memory_source=source, record_per_day=_record_day(sc, engine), runs=int(runs),
                  workers=int(workers))


def check_budget(scenario: Scenario, engine: str | None = None, days: int | None = None, *,
                 runs: int = 1, workers: int = 1, source: str | None = None) -> Budget:
    """:func:`estimate`, then refuse (:class:`BudgetError`) what is over a bound: fractional people
    in a stochastic engine, more than :data:`MAX_RUNS` runs, work over :data:`WORK_LIMITS`, memory
    over the machine's limit. Returns the budget when it fits."""
    engine = engine or scenario.run.engine
    src = source or f"<{engine} run>"
    if engine not in WORK_LIMITS:
        raise BudgetError(src, "--engine", engine, f"one of the engines {', '.join(WORK_LIMITS)}")
    _whole_people(scenario, engine, src)
    if runs > MAX_RUNS:
        raise BudgetError(src, "--runs", runs, f"at most {MAX_RUNS:,} runs in one ensemble or sweep")
    b = estimate(scenario, engine, days, runs=runs, workers=workers)
    if b.total_memory > b.memory_limit:
        _refuse_memory(b, src)
    if engine == "abm" and b.peak_people > MAX_ABM_PEOPLE:
        raise BudgetError(src, "zones", int(b.peak_people),
                          f"at most {MAX_ABM_PEOPLE:,} people in an abm run, the births expected over run.days "
                          f"included (its person and household indices are 32-bit); change {_KEYS['abm']}")
    if b.work > b.work_limit:
        raise BudgetError(
            src, "run", _Text(f"{b.work:.3g} {b.work_unit} for one {engine} run of {b.days:,} days"),
            f"at most {b.work_limit:.3g} {b.work_unit} (the documented bound for the {engine} engine{_scaled()}); "
            f"change {_KEYS[engine]}")
    return b


def _scaled() -> str:
    scale = work_scale()
    return "" if scale == 1.0 else f", times ${SCALE_ENV} = {scale:g}"


def _refuse_memory(b: Budget, src: str) -> None:
    need, limit = b.total_memory, b.memory_limit
    at_once = max(1, min(b.workers, b.runs))
    times = f" x {at_once} workers at once" if at_once > 1 else ""
    what = f"estimate {need / GIB:.2f} GiB{times} of {limit / GIB:.2f} GiB available, the limit of {b.memory_source}"
    if b.engine == "abm":
        from aftermath.engines.abm.state import BYTES_PER_AGENT, SETUP_BYTES_PER_AGENT

        per_person = BYTES_PER_AGENT + SETUP_BYTES_PER_AGENT
        room = limit // at_once - (b.memory - int(b.peak_people) * per_person)
        most = max(0, room // per_person)
        raise BudgetError(src, "zones" if b.people > most else "run", int(b.peak_people),
                          f"at most {most:,} people on this machine ({what}; {BYTES_PER_AGENT} bytes per person "
                          f"of state); change {_KEYS['abm']}")
    per_day = b.record_per_day + (LSODA_BYTES_PER_STATE_DAY * b.states if b.engine == "ode" else 0)
    key = "run.days" if per_day * b.days > b.memory / 2 else "zones"
    raise BudgetError(src, key, _Text(f"{b.zones:,} zones, {b.states:,} states, {b.days:,} days"),
                      f"a run that fits in memory ({what}); change {_KEYS[b.engine]}")
