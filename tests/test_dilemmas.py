"""Emergent costs of fear-driven decisions (issue 5): harsh culling with high concealment."""

from __future__ import annotations

import numpy as np

import aftermath as am
from aftermath.model.flows import Flow
from aftermath.scenario.load import from_dict, with_overrides


def world(action: str) -> am.Scenario:
    """A town full of hybrids. Culling them is harsh, so households hide 90% of those hunted
    (concealment base 0.1 + harshness 0.8); protection moves them to a sanctuary where care cuts
    relapse by 90%, and hides only the base 10%."""
    policy: dict[str, object] = {"type": "hybrids", "zones": ["town"], "action": action, "rate": 0.5}
    if action == "protect":
        policy.update(sanctuary="sanctuary", care=0.9)
    return from_dict({
        "name": f"hybrids: {action}",
        "run": {"days": 60, "dt": 0.25},
        "pathogen": {"beta": 0.3, "latency": 3.0, "p_hybrid": 0.5, "relapse": 0.05, "eta": 0.05},
        "defence": {"alpha": 0.05, "decay": 0.02},
        "society": {"concealment": {"base": 0.1, "harshness": 0.8, "trust_weight": 0.0},
                    "fear": {"per_infection": 0.0, "per_death": 0.0, "per_breach": 0.0}},
        "factions": [{"id": "gov"}],
        "zones": [{"id": "town", "faction": "gov", "population": {"S": 3000, "H": 600}},
                  {"id": "sanctuary", "faction": "gov", "kind": "sanctuary"}],
        "policies": [policy],
    })


def feral_onsets(res: am.Result) -> float:
    """People who became feral: relapses of hybrids and latent infections ending as ferals."""
    f = res.flows.sum(axis=(0, 2))
    return float(f[Flow.RELAPSE] + f[Flow.ONSET_FERAL])


def test_harsh_culling_with_concealment_breeds_more_ferals_than_protection() -> None:
    runs = 6
    cull = np.array([feral_onsets(am.simulate(world("cull"), engine="abm", seed=s)) for s in range(runs)])
    protect = np.array([feral_onsets(am.simulate(world("protect"), engine="abm", seed=s)) for s in range(runs)])
    diff = cull - protect  # paired by seed: common random numbers
    se = diff.std(ddof=1) / np.sqrt(runs)
    assert diff.mean() > 4.0 * se, (cull, protect)
    # and the mechanism is concealment: the culling world hid many hybrids from the hunt ...
    hidden = am.simulate(world("cull"), engine="abm", seed=0).extras["ledger_totals"].get("concealed", 0)
    assert hidden > 100
    # ... and with no household hiding anyone, culling breeds no more ferals than protection
    open_ = {"society.concealment.base": 0.0, "society.concealment.harshness": 0.0}
    cull0 = np.array([feral_onsets(am.simulate(with_overrides(world("cull"), open_), engine="abm", seed=s))
                      for s in range(runs)])
    prot0 = np.array([feral_onsets(am.simulate(with_overrides(world("protect"), open_), engine="abm", seed=s))
                      for s in range(runs)])
    assert (cull0 - prot0).mean() < 0.0
