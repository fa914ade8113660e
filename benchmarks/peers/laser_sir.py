# ruff: noqa  (kept verbatim from ../shared/peers/laser_sir.py but for this line)
"""LASER benchmark: laser-generic's ready-made SIR in one well-mixed node, daily ticks.

The matched SIR of benchmarks/peers/starsim_sir.py, built the way laser-generic's own single-node
SIR example does it (``create_single_node_model`` in
docs/tutorials/notebooks/04_SIR_nobirths_outbreak_size.ipynb, github.com/laser-base/laser-generic,
formerly InstituteforDiseaseModeling/laser-generic), with the imports of the 1.1 release
(``laser.generic.Model``, ``laser.generic.SIR``, ``laser.core.utils.grid``; the notebook's
``laser.generic.models.*`` and ``laser.generic.newutils.grid`` are the pre-1.1 paths):

* scenario: ``grid(M=1, N=1)``, one node of N agents, S = N - N//1000, I = N//1000, R = 0;
* ``SIR.Transmission`` (components.TransmissionSI): frequency dependent, well mixed in the node,
  each susceptible infected with p = 1 - exp(-beta * I[t] / N[t]) per tick, beta = 0.25/day;
* ``SIR.Infectious`` (components.InfectiousIR): per-agent countdown ``itimer`` drawn from
  ``laser.core.distributions.exponential(scale=10)`` (the notebook's choice "for comparability with
  analytic results"), rounded to whole days, at least 1 (``infdurmin=1``): an agent counts in I for
  max(round(Exp(mean 10)), 1) ticks, mean 10.045, so R0 = 0.25 x 10.045 = 2.51;
* components in the notebook's order [Susceptible, Recovered, Infectious, Transmission];
* no births, deaths, importation or spatial coupling (one node: the gravity network is 0).

Expected: final size (t -> inf) 0.894 for R0 = 2.51 with 0.1% seeded; after 100 days the
mean-field of these discrete dynamics gives attack 0.887 (1.8% still infectious), peak I 0.226.

Time: ``model.run()`` only (the 100 ticks), after a warm-up run (same N, 2 ticks) in the same
process so that the Numba kernels are compiled; model construction is ``init_s``.
Prints one JSON line. Threads: Numba's default (NUMBA_NUM_THREADS, all cores unless set). LASER's
kernels are ``parallel=True`` (prange; two parallel regions a tick), so on a busy machine a tick
can wait for a worker thread to be scheduled: ``tick_ms_min/median/max`` (from a no-op probe
component appended after the model's own) show that spread next to ``run_s``.
"""
import argparse, gc, json, os, resource, time

os.environ.setdefault("TQDM_DISABLE", "1")  # Model.run() draws a tqdm bar on stderr; hide it
t_start = time.perf_counter()
import numba as nb
import numpy as np
import laser.core
import laser.core.distributions as dists
import laser.generic
from laser.core import PropertySet
from laser.core.utils import grid
from laser.generic import SIR, Model
t_import = time.perf_counter()

ap = argparse.ArgumentParser()
ap.add_argument('--n', type=int, default=100_000)
ap.add_argument('--days', type=int, default=100)
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--beta', type=float, default=0.25, help='per day (frequency dependent)')
ap.add_argument('--inf-mean', type=float, default=10.0, help='mean infectious period, days')
ap.add_argument('--min-time', type=float, default=0.0,
                help='run again (a fresh model, built untimed) until the runs add up to this many seconds; '
                'run_s is then their mean')
a = ap.parse_args()


def build(n: int, nticks: int, seed: int) -> Model:
    """One node, N agents, 0.1% infectious at t=0, laser-generic SIR components."""
    i0 = n // 1000
    scenario = grid(M=1, N=1, population_fn=lambda row, col: n)
    scenario["S"] = n - i0
    scenario["I"] = i0
    scenario["R"] = 0
    params = PropertySet({"nticks": nticks, "beta": a.beta, "inf_mean": a.inf_mean, "seed": seed})
    model = Model(scenario, params)
    infdurdist = dists.exponential(scale=params.inf_mean)
    model.components = [
        SIR.Susceptible(model),
        SIR.Recovered(model),
        SIR.Infectious(model, infdurdist),
        SIR.Transmission(model, infdurdist),
    ]
    return model


t0 = time.perf_counter()
warm = build(a.n, 2, a.seed)
warm.run()  # compiles the Numba kernels (transmission, timers, distribution)
warmup_s = time.perf_counter() - t0
assert float(np.abs(warm.network).sum()) == 0.0  # one node: no spatial coupling
del warm
gc.collect()

class TickClock:
    """Measurement probe only (not part of the model): a no-op last component that records the
    wall clock at the end of each tick, to show how the time is spread over the ticks."""

    def __init__(self):
        self.ends = []

    def step(self, tick: int) -> None:
        self.ends.append(time.perf_counter())


t0 = time.perf_counter()
model = build(a.n, a.days, a.seed)
clock = TickClock()
model.components = [*model.components, clock]
t_init = time.perf_counter()
model.run()
t_run = time.perf_counter()
tick_ms = np.diff([t_init, *clock.ends]) * 1e3

S = model.nodes.S[:, 0].astype(np.int64)
I = model.nodes.I[:, 0].astype(np.int64)
R = model.nodes.R[:, 0].astype(np.int64)
assert np.all(S + I + R == a.n)
runs = [t_run - t_init]
while sum(runs) < a.min_time:  # more runs of fresh models, each timed alone (their set-up is not)
    again = build(a.n, a.days, a.seed)
    t1 = time.perf_counter()
    again.run()
    runs.append(time.perf_counter() - t1)
    del again
run_s = sum(runs) / len(runs)
out = dict(peer='laser', version=laser.generic.__version__, laser_core=laser.core.__version__,
           numba=nb.__version__, threads=nb.get_num_threads(), n=a.n, days=a.days, steps=a.days,
           seed=a.seed, beta=a.beta, infdur=f'max(round(Exp(mean {a.inf_mean:g})), 1) days',
           import_s=t_import - t_start, warmup_s=warmup_s, init_s=t_init - t0, run_s=run_s, runs=runs,
           agent_days_per_s=a.n * a.days / run_s,
           peak_inf_frac=float(I.max() / a.n),
           final_attack=float((I[-1] + R[-1]) / a.n),
           tick_ms_min=float(tick_ms.min()), tick_ms_median=float(np.median(tick_ms)),
           tick_ms_max=float(tick_ms.max()), threading_layer=nb.threading_layer(),
           maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
