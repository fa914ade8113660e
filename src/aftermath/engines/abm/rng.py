"""Counter-based random numbers: one named stream per decision, keyed by (seed, stream, step, agent).

Every draw of the ABM is ``uniform(key, i)`` with ``key = stream_key(seed, stream, step)`` and
``i`` the agent (or household, or strain) index: the splitmix64 output for counter
``key + (i + 1) * GOLDEN``. Nothing is sequential, so

* results do not depend on the number of threads or on the order in which agents are visited;
* each decision has its own stream (:class:`Stream`): a policy that never triggers draws nothing
  and shifts nobody's numbers, so scenario variants run on common random numbers.

splitmix64 (Steele, Lea & Flood 2014) passes BigCrush; keys are themselves splitmix64-mixed, so
two (stream, step) pairs start at unrelated points of the 2^64 sequence.
"""

from __future__ import annotations

from enum import IntEnum

import numba as nb
import numpy as np
from numpy.typing import NDArray

U64 = np.uint64
GOLDEN = U64(0x9E3779B97F4A7C15)
M1 = U64(0xBF58476D1CE4E5B9)
M2 = U64(0x94D049BB133111EB)
INV53 = 1.0 / 9007199254740992.0  # 2**-53


class Stream(IntEnum):
    """One stream per stochastic decision (common random numbers across scenario variants)."""

    EVENT = 1  # whether and which competing transition happens in a step
    STRAIN = 2  # which strain bit (proportional to each strain's bite pressure)
    LATENCY = 3  # Erlang latency: LATENCY + j for stage j (up to 20 stages: 3..22)
    HYBRID = 30  # hybrid or feral outcome at the end of latency (individual p_i)
    MUTATE = 31  # does this infection mutate the strain
    TRAIT = 32  # mutation multipliers: TRAIT + 2 * trait (+1) for the two Box-Muller uniforms
    PICK = 45  # event-driven engine: the slot a susceptible drawn for an event takes
    THIN = 46  # event-driven engine: memory of loss, kept or thinned (a candidate at the top rate)
    COUNT = 47  # event-driven engine: how many susceptibles of a zone have an event, and who
    ADMIT = 50  # screening / admission at a gate
    SWEEP = 51  # killed in a sweep
    SWEEP_Q = 52  # a swept feral leaves a corpse (q)
    HOUSEHOLD = 60  # a household's disposition to hide its infected (fixed for the run)
    RESISTANCE = 61  # each person's resistance (a function of the person: uniform(key at step 0, i))
    BIRTH = 62  # births per step (numpy generators)


@nb.njit(cache=True)
def mix64(z):
    """splitmix64 finaliser."""
    z = (z ^ (z >> U64(30))) * M1
    z = (z ^ (z >> U64(27))) * M2
    return z ^ (z >> U64(31))


@nb.njit(cache=True)
def stream_key(seed, stream, step):
    """The key of ``stream`` at ``step`` for a run seeded with ``seed`` (all non-negative ints)."""
    k = mix64(U64(seed) + GOLDEN)
    k = mix64(k ^ (U64(stream) * M1))
    return mix64(k ^ (U64(step) * M2 + GOLDEN))


@nb.njit(cache=True)
def uniform(key, i):
    """A uniform double in [0, 1) for item ``i`` (>= 0) of the stream keyed ``key``."""
    x = mix64(key + (U64(i) + U64(1)) * GOLDEN)
    return float(x >> U64(11)) * INV53


@nb.njit(cache=True, inline="always")
def from_table(table, key, i):
    """Item ``i``'s draw from the distribution whose quantiles at ``0, 1/K, ..., 1`` are ``table``
    (``K + 1`` of them): ``uniform(key, i)`` through the quantile function, linear between the
    quantiles (each of the ``K`` pieces has exactly its probability ``1 / K``)."""
    x = uniform(key, i) * (table.shape[0] - 1)
    k = np.int64(x)
    return table[k] + (x - k) * (table[k + 1] - table[k])


@nb.njit(cache=True)
def step_keys(seed, step, n_streams):
    """Keys of streams ``0 .. n_streams - 1`` at ``step``."""
    out = np.empty(n_streams, dtype=np.uint64)
    for s in range(n_streams):
        out[s] = stream_key(seed, s, step)
    return out


N_KEYS = 64  # streams 0..63 are precomputed per step


def keys(seed: int, step: int) -> NDArray[np.uint64]:
    """All stream keys of one step."""
    out: NDArray[np.uint64] = step_keys(seed, step, N_KEYS)
    return out


def generator(seed: int, stream: Stream, step: int = 0) -> np.random.Generator:
    """A NumPy generator for vectorised set-up draws (resistance, households, births)."""
    return np.random.default_rng(np.random.SeedSequence([seed, int(stream), step]))
