"""Shared pieces of the fuzz tests: one worker for the session, and the settings every test uses.

The tests are seeded (``@seed``) and read no example database, so CI draws the same cases every
time; three tests of one area draw the same cases and share their results through the runner's
cache, so a case runs once however many properties look at it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.fuzz.harness import Runner

#: per-case timeout in CI: a case that takes longer is a hang (the project's budget should refuse it)
CI_TIMEOUT = float(os.environ.get("AFTERMATH_FUZZ_TIMEOUT", "30"))
#: how many cases each test draws: AFTERMATH_FUZZ_SCALE=10 draws ten times as many
SCALE = float(os.environ.get("AFTERMATH_FUZZ_SCALE", "1"))
SEED = 20261130


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),  # no shrinking: each step would run a command again
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


@pytest.fixture(scope="session")
def runner() -> Iterator[Runner]:
    with Runner(timeout=CI_TIMEOUT) as r:
        # compile the stochastic engines once, outside any case's timeout
        for scenario in ("sir", "hyosan"):  # hyosan reaches the kernels of policies, strains and mutation
            for engine in ("ssa", "abm"):
                r.call(["run", scenario, "--days", "1", "--engine", engine, "--json"], str(r.base), timeout=300)
        yield r
