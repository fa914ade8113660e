"""ABM reproducibility: same seed, same result, bit for bit; threads and dormant policies change nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from aftermath.engines.driver import simulate
from aftermath.result import Result
from aftermath.scenario.load import from_dict, load
from aftermath.scenario.scale import scale_population
from aftermath.scenario.schema import Scenario


def small_hyosan(people: int = 3000, days: int = 40, **run: Any) -> Scenario:
    """Hyosan with few people and a short horizon; mutation on, so every mechanism runs."""
    data = scale_population(load("hyosan"), people).model_dump(by_alias=True)
    data["run"].update({"days": days, **run})
    data["pathogen"]["mutation"]["mu"] = 0.05
    return from_dict(data)


def digest(r: Result) -> str:
    """A hash of everything a run recorded: series, flows, strains, chronicle and ledger."""
    h = hashlib.sha256()
    for a in (r.counts, r.flows, r.route_flows, r.strain_counts, r.fear, r.supplies):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(r.extras["strains"].to_csv().encode())
    h.update(r.extras["ledger"].to_csv().encode())
    h.update(json.dumps([e.as_dict() for e in r.chronicle], sort_keys=True).encode())
    return h.hexdigest()


def test_same_seed_bit_identical() -> None:
    sc = small_hyosan()
    a, b = simulate(sc, engine="abm", seed=7), simulate(sc, engine="abm", seed=7)
    assert digest(a) == digest(b)
    assert a.extras["ledger_totals"] == b.extras["ledger_totals"]
    assert digest(simulate(sc, engine="abm", seed=8)) != digest(a)


@pytest.mark.parametrize("policy", [
    {"type": "hybrids", "action": "cull", "zones": ["wild", "city"], "rate": 0.5},
    {"type": "seal", "zones": ["garrison"], "inbound": True},
    {"type": "sweep", "zones": ["wild"], "kill": 0.9, "every": 1, "hybrids": True},
    {"type": "admission", "zones": ["school"], "mode": "closed"},
    {"type": "cure", "zones": ["city"], "rate": 1.0},
])
def test_policy_that_never_triggers_changes_nothing(policy: dict[str, Any]) -> None:
    sc = small_hyosan(days=30)
    data = sc.model_dump(by_alias=True)
    data["policies"] = [*data["policies"], {**policy, "name": "dormant", "when": "day > 100000"}]
    with_dormant = from_dict(data)
    a, b = simulate(sc, engine="abm", seed=3), simulate(with_dormant, engine="abm", seed=3)
    for x, y in ((a.counts, b.counts), (a.flows, b.flows), (a.strain_counts, b.strain_counts)):
        assert np.array_equal(x, y)
    assert a.extras["ledger"].equals(b.extras["ledger"])
    assert a.extras["strains"].equals(b.extras["strains"])
    assert [e.as_dict() for e in a.chronicle] == [e.as_dict() for e in b.chronicle]


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_abm_reproducibility import digest, small_hyosan
from aftermath.engines.driver import simulate
from aftermath.engines.abm.parts import Parts
Parts.PARALLEL_PEOPLE = 0  # the people's kernels on the threads however few (as they run at scale)
print("DIGEST", digest(simulate(small_hyosan(people=5000, days=25), engine="abm", seed=11)))
"""


def run_digest(env: dict[str, str]) -> str:
    code = SCRIPT.format(tests=os.path.dirname(__file__))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=600, check=True).stdout
    return next(line.split()[1] for line in out.splitlines() if line.startswith("DIGEST"))


def test_thread_count_does_not_change_results() -> None:
    assert run_digest({"NUMBA_NUM_THREADS": "1"}) == run_digest({"NUMBA_NUM_THREADS": "2"})


PARTS_SCRIPT = """
import os, threading
import numba
from aftermath.engines.abm.parts import Parts, default_parts
before = default_parts()
from aftermath.run.tasks import single_thread_worker
single_thread_worker()
seen = []
t = threading.Thread(target=lambda: seen.append(Parts().n))
t.start(); t.join()
print("PARTS", before, default_parts(), seen[0])
"""


def test_single_thread_worker_runs_the_abm_in_one_part() -> None:
    """An ensemble worker (Numba imported first, then ``single_thread_worker``) builds its engines
    with one part, on its own thread and on any other: no oversubscription."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", PARTS_SCRIPT], env={**env, "NUMBA_NUM_THREADS": "2"},
                         capture_output=True, text=True, timeout=300, check=True).stdout
    before, main, other = (int(v) for v in next(ln for ln in out.splitlines() if ln.startswith("PARTS")).split()[1:])
    assert (before, main, other) == (2, 1, 1)
