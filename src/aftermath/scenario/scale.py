"""Scaling a scenario's population: the same world, with more (or fewer) people.

:func:`scale_population` multiplies every zone's initial population by one factor so that the
total is exactly the requested number of people, and scales what is per person alongside it
(each zone's supplies, and births per day), so that per-capita quantities (days of food, birth
rate per person) are unchanged. Rates per person and per pair are left as they are: under
frequency mixing the epidemic is then the same at any size; under mass action it is not (pair
rates would need dividing by the factor), which is the user's call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aftermath.scenario.schema import MAX_PEOPLE, STATES, Scenario


def scale_population(scenario: Scenario, people: int) -> Scenario:
    """A copy of ``scenario`` with ``people`` people in all, every zone and state scaled alike.

    Counts are rounded to whole people by largest remainders, so they add up to ``people``
    exactly. Supplies and births (per zone, or the demography default) scale by the same factor.
    A zone or state that was empty stays empty.

    Raises:
        ValueError: ``people`` is below 1 (a scenario must contain someone) or above
            :data:`~aftermath.scenario.schema.MAX_PEOPLE`, or the scenario has no one to scale.
    """
    if not 1 <= people <= MAX_PEOPLE:
        raise ValueError(f"people must be from 1 to {MAX_PEOPLE:,.0f} (a scenario must contain someone), "
                         f"got {people}")
    total = scenario.initial_population()
    if total <= 0:
        raise ValueError("the scenario has no people to scale")
    factor = people / total
    cells = np.array([[getattr(z.population, s) for s in STATES] for z in scenario.zones], dtype=np.float64)
    exact = cells * factor
    whole = np.floor(exact)
    short = int(people - whole.sum())
    if short > 0:
        order = np.argsort(-(exact - whole), axis=None, kind="stable")[:short]
        whole.reshape(-1)[order] += 1
    data: dict[str, Any] = scenario.model_dump(by_alias=True, exclude_unset=False)
    for z, zone in enumerate(data["zones"]):
        zone["population"] = {s: float(whole[z, k]) for k, s in enumerate(STATES)}
        if zone.get("supplies") is not None:
            zone["supplies"] = float(math.floor(zone["supplies"] * factor + 0.5))
        if zone.get("births") is not None:
            zone["births"] = zone["births"] * factor
    data["demography"]["births"] = data["demography"]["births"] * factor
    return Scenario.model_validate(data)
