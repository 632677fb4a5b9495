"""A model that raises is contained: SignalFailed + an alert, the ensemble goes on."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from traider.engine.core.clock import SimClock
from traider.engine.core.events import Alert, EnsembleUpdated, Event, SignalFailed
from traider.engine.models.runner import ModelRunner


@dataclass(frozen=True)
class P:
    prob_up: float


class Fixed:
    def __init__(self, name: str, p: float) -> None:
        self.name = name
        self.p = p

    def predict(self, features: np.ndarray) -> P:
        return P(self.p)


class Broken:
    name = "broken"

    def predict(self, features: np.ndarray) -> P:
        raise RuntimeError("xgboost exploded")


class EqualWeights:
    def combine(self, predictions: Mapping[str, P | None]) -> tuple[float, float, dict[str, float]]:
        live = [p.prob_up for p in predictions.values() if p is not None]
        prob = sum(live) / len(live)
        return prob, abs(2 * prob - 1), {}

    def weights(self) -> dict[str, float]:
        return {"a": 0.5, "b": 0.5, "broken": 0.0}


def test_failing_model_becomes_signal_failed_and_the_rest_trade_on() -> None:
    published: list[Event] = []
    runner = ModelRunner([Fixed("a", 0.7), Broken(), Fixed("b", 0.5)],  # type: ignore[list-item]
                         EqualWeights(), SimClock(), published.append)
    update = runner.run("BTC-USD", np.zeros(4, dtype=np.float32))
    assert math.isclose(update.prob_up, 0.6)
    assert update.models == ("a", "broken", "b")
    assert math.isnan(update.predictions[1])
    failed = [e for e in published if isinstance(e, SignalFailed)]
    assert [(f.model, f.symbol) for f in failed] == [("broken", "BTC-USD")]
    assert "xgboost exploded" in failed[0].error
    alerts = [e for e in published if isinstance(e, Alert)]
    assert alerts[0].dedup_key == "model-failed:broken"
    assert isinstance(published[-1], EnsembleUpdated)
    runner.run("BTC-USD", np.zeros(4, dtype=np.float32))
    assert runner.failures == {"broken": 2}
