"""Conservation: people are neither created nor lost but by births, and stocks move only by
the flows recorded (the debug mode asserts it every day, in every engine)."""

from __future__ import annotations

import numpy as np
import pytest

import aftermath as am
from aftermath.engines import driver
from aftermath.model.flows import Flow
from aftermath.record.recorder import ConservationError, Recorder


@pytest.mark.parametrize("engine", ["ode", "ssa", "abm"])
def test_every_day_balances_in_every_engine(engine: str) -> None:
    res = am.simulate(am.load("hyosan"), engine=engine, days=60, check=True)
    assert res.counts.shape[0] == 61


def test_a_miscounted_flow_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record one relapse too many each day: the feral balance must fail on the first day."""
    original = Recorder.record

    def tampered(self: Recorder, day: int, counts: np.ndarray, strains: np.ndarray, flows: np.ndarray,
                 *args: object) -> None:
        flows = flows.copy()
        flows[Flow.RELAPSE, 0] += 1.0
        original(self, day, counts, strains, flows, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(driver.Recorder, "record", tampered)
    with pytest.raises(ConservationError, match="ferals changed"):
        am.simulate(am.load("hyosan"), engine="ode", days=5, check=True)


def test_people_created_from_nothing_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Recorder.record

    def tampered(self: Recorder, day: int, counts: np.ndarray, *args: object) -> None:
        counts = counts.copy()
        counts[0, 0] += 3.0
        original(self, day, counts, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(driver.Recorder, "record", tampered)
    with pytest.raises(ConservationError, match="start \\+ births"):
        am.simulate(am.load("sir"), engine="ode", days=3)
