"""Runs the live models for one symbol and contains their failures.

Models are strategy inputs, never order sources: the runner turns a feature vector into
each model's prediction, combines them through the ensemble, and publishes
`EnsembleUpdated`. A model that raises becomes a `SignalFailed` event and a warning
alert; the ensemble carries on with the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from traider.engine.core.clock import Clock
from traider.engine.core.events import Alert, EnsembleUpdated, Event, SignalFailed
from traider.engine.core.types import Severity


class _Prediction(Protocol):
    @property
    def prob_up(self) -> float: ...


class _Model(Protocol):
    @property
    def name(self) -> str: ...

    def predict(self, features: np.ndarray) -> _Prediction: ...


class _Ensemble(Protocol):
    def combine(
        self, predictions: Mapping[str, _Prediction | None]
    ) -> tuple[float, float, Mapping[str, float]]: ...

    def weights(self) -> Mapping[str, float]: ...


class ModelRunner:
    def __init__(
        self,
        models: list[_Model],
        ensemble: _Ensemble,
        clock: Clock,
        publish: Callable[[Event], None],
    ) -> None:
        self.models = models
        self.ensemble = ensemble
        self.clock = clock
        self.publish = publish
        self.failures: dict[str, int] = {}
        self.last_predictions: dict[str, _Prediction | None] = {}

    def run(
        self, symbol: str, features: np.ndarray | Mapping[str, np.ndarray | None]
    ) -> EnsembleUpdated:
        """Predict with every model; `features` is one input for all, or one per model
        name (None or absent: that model has no input yet, e.g. still warming up, and is
        left out without counting as a failure)."""
        predictions: dict[str, _Prediction | None] = {}
        for model in self.models:
            x = features.get(model.name) if isinstance(features, Mapping) else features
            if x is None:
                predictions[model.name] = None
                continue
            try:
                predictions[model.name] = model.predict(x)
            except Exception as exc:  # contained: one model must not stop the others
                predictions[model.name] = None
                self.failures[model.name] = self.failures.get(model.name, 0) + 1
                now = self.clock.timestamp_ns()
                self.publish(SignalFailed(now, now, model.name, symbol, repr(exc)[:500]))
                self.publish(
                    Alert(
                        now,
                        now,
                        Severity.WARNING,
                        "models",
                        f"model {model.name} failed on {symbol}: {exc!r}"[:500],
                        dedup_key=f"model-failed:{model.name}",
                    )
                )
        prob_up, confidence, _ = self.ensemble.combine(predictions)
        weights = self.ensemble.weights()
        names = tuple(m.name for m in self.models)
        now = self.clock.timestamp_ns()
        update = EnsembleUpdated(
            now,
            now,
            symbol,
            float(prob_up),
            float(confidence),
            names,
            tuple(float(weights.get(n, 0.0)) for n in names),
            tuple(
                float(p.prob_up) if (p := predictions[n]) is not None else math.nan for n in names
            ),
        )
        self.last_predictions = predictions
        self.publish(update)
        return update
