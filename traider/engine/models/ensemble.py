"""Combining model predictions: an online Hedge meta-learner and an optional stacker.

`HedgeEnsemble` keeps one weight per model. The combined probability is Σ wᵢ·pᵢ over the
models that answered; after each realised outcome y ∈ {0, 1} every model that answered pays
its log-loss ℓᵢ = −[y·ln pᵢ + (1−y)·ln(1−pᵢ)] and its weight is multiplied by exp(−η·ℓᵢ)
(exponentially weighted forecaster / Hedge). The result is then mixed with the uniform
distribution, w ← (1 − k·floor)·w + floor ("fixed share"), so no weight falls below
`floor` and a model that was wrong for a long stretch can win its weight back quickly once
it becomes right again; without the floor a long losing run would leave its weight at
~e^(−η·Σℓ) and recovery would take as long as the run.

A model that failed or did not answer (`None`, or a prob_up that is not a number in
[0, 1]) is skipped: `combine` renormalises the weights over the rest and `update` leaves
its weight where it was (the models that answered share the mass they had between them:
"sleeping experts").

`StackingMetaModel` is the batch alternative: an L2-regularised logistic regression on the
logits of the models' out-of-fold probabilities, fitted by Newton's method in numpy.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "HedgeEnsemble",
    "PredictionLike",
    "StackingMetaModel",
    "log_loss",
]

_EPS = 1e-6  # probabilities are clipped to [eps, 1 − eps]: one loss is at most ~13.8

FloatArray = npt.NDArray[np.float64]


class PredictionLike(Protocol):
    """What the ensemble reads from a `traider.engine.models.base.Prediction`."""

    @property
    def prob_up(self) -> float: ...


def _clip(p: float) -> float:
    return min(max(p, _EPS), 1.0 - _EPS)


def log_loss(prob_up: float, outcome: int) -> float:
    """−[y·ln p + (1−y)·ln(1−p)] with p clipped to [1e-6, 1 − 1e-6]."""
    p = _clip(prob_up)
    return -math.log(p) if outcome == 1 else -math.log(1.0 - p)


def _check_outcome(outcome: int) -> int:
    if isinstance(outcome, bool):
        outcome = int(outcome)
    if outcome not in (0, 1):
        raise ValueError(f"outcome must be 0 (down) or 1 (up), got {outcome!r}")
    return outcome


class HedgeEnsemble:
    """Online multiplicative-weights ensemble with a uniform floor (see module docstring).

    `eta` is the learning rate (higher reacts faster and forgets faster); `floor` the least
    weight any model keeps (k·floor must be < 1); `window` how many recent outcomes
    `recent_loss()` averages over (diagnostics only: weights use every outcome).
    """

    def __init__(
        self,
        model_names: Sequence[str],
        eta: float = 1.0,
        floor: float = 0.02,
        window: int = 200,
    ) -> None:
        names = list(model_names)
        if not names:
            raise ValueError("HedgeEnsemble needs at least one model name")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate model names in {names}")
        if not (math.isfinite(eta) and eta > 0):
            raise ValueError(f"eta must be > 0, got {eta}")
        if not (floor >= 0.0 and len(names) * floor < 1.0):
            raise ValueError(f"floor must be in [0, 1/k) for k={len(names)} models, got {floor}")
        if window < 1:
            raise ValueError(f"window must be ≥ 1, got {window}")
        self.model_names: tuple[str, ...] = tuple(names)
        self.eta = float(eta)
        self.floor = float(floor)
        self.window = int(window)
        self._w = {n: 1.0 / len(names) for n in names}
        self._losses: dict[str, deque[float]] = {n: deque(maxlen=window) for n in names}
        self.updates = 0

    # --- reading -------------------------------------------------------------------------

    def weights(self) -> dict[str, float]:
        """Current weights by model name; they sum to 1."""
        return dict(self._w)

    def recent_loss(self) -> dict[str, float | None]:
        """Mean log-loss over the last `window` outcomes each model answered (None: none)."""
        return {n: (sum(d) / len(d) if d else None) for n, d in self._losses.items()}

    def _answered(self, predictions: Mapping[str, PredictionLike | None]) -> dict[str, float]:
        unknown = set(predictions) - set(self._w)
        if unknown:
            raise ValueError(
                f"unknown model(s) {sorted(unknown)}; this ensemble has {list(self.model_names)}"
            )
        out: dict[str, float] = {}
        for name, pred in predictions.items():
            if pred is None:
                continue
            p = float(pred.prob_up)
            if math.isfinite(p) and 0.0 <= p <= 1.0:
                out[name] = p
        return out

    def combine(
        self, predictions: Mapping[str, PredictionLike | None]
    ) -> tuple[float, float, dict[str, float]]:
        """(prob_up, confidence = |2p − 1|, contributions).

        `contributions[name]` is that model's renormalised weight × its prob_up, so they sum
        to prob_up; skipped models are absent. With no usable prediction the answer is the
        neutral (0.5, 0.0, {}): no signal.
        """
        probs = self._answered(predictions)
        total = sum(self._w[n] for n in probs)
        if not probs or total <= 0.0:
            return 0.5, 0.0, {}
        contributions = {n: self._w[n] / total * p for n, p in probs.items()}
        prob_up = min(max(sum(contributions.values()), 0.0), 1.0)
        return prob_up, abs(2.0 * prob_up - 1.0), contributions

    # --- learning ------------------------------------------------------------------------

    def update(self, predictions: Mapping[str, PredictionLike | None], outcome: int) -> None:
        """Learn from one realised outcome (1 up, 0 down) of these predictions."""
        y = _check_outcome(outcome)
        probs = self._answered(predictions)
        if not probs:
            return
        losses = {n: log_loss(p, y) for n, p in probs.items()}
        for n, loss in losses.items():
            self._losses[n].append(loss)
        # subtract the smallest loss before exponentiating: same ratios, no underflow
        best = min(losses.values())
        mass = sum(self._w[n] for n in probs)
        scaled = {n: self._w[n] * math.exp(-self.eta * (losses[n] - best)) for n in probs}
        scaled_mass = sum(scaled.values())
        if scaled_mass > 0.0:  # all-zero weights (no floor) have nothing to move
            for n, w in scaled.items():  # the answering models keep the mass they had
                self._w[n] = w * mass / scaled_mass
        self._mix_floor()
        self.updates += 1

    def _mix_floor(self) -> None:
        total = sum(self._w.values())
        k = len(self._w)
        for n in self._w:
            self._w[n] = (1.0 - k * self.floor) * self._w[n] / total + self.floor

    def carry_over(self, previous: Mapping[str, float]) -> None:
        """Start from weights learnt before (by another ensemble) for the models in both;
        a model not in `previous` enters with an equal share 1/k. Renormalised, floored."""
        k = len(self.model_names)
        raw = {n: max(float(previous.get(n, 1.0 / k)), 0.0) for n in self.model_names}
        total = sum(raw.values()) or 1.0
        self._w = {n: raw[n] / total for n in self.model_names}
        self._mix_floor()

    # --- persistence ---------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "models": list(self.model_names),
                "eta": self.eta,
                "floor": self.floor,
                "window": self.window,
                "weights": self._w,
                "updates": self.updates,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> HedgeEnsemble:
        data = json.loads(text)
        ens = cls(data["models"], eta=data["eta"], floor=data["floor"], window=data["window"])
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        if set(weights) != set(ens.model_names):
            raise ValueError("ensemble state: weights do not match the model names")
        ens._w = {n: weights[n] for n in ens.model_names}
        ens.updates = int(data["updates"])
        return ens


class StackingMetaModel:
    """L2-regularised logistic regression on logit(pᵢ) of each base model.

    Fit it on *out-of-fold* probabilities (each row predicted by a model that did not see
    that row), otherwise it learns to trust the models that overfit most. `l2` penalises
    the coefficients, not the intercept; larger values pull the combination towards the
    base rate.
    """

    def __init__(self, l2: float = 1.0, max_iter: int = 100, tol: float = 1e-10) -> None:
        if not (math.isfinite(l2) and l2 >= 0):
            raise ValueError(f"l2 must be ≥ 0, got {l2}")
        self.l2 = float(l2)
        self.max_iter = max_iter
        self.tol = tol
        self.coef: FloatArray | None = None
        self.intercept = 0.0

    @staticmethod
    def _design(probs: npt.ArrayLike) -> FloatArray:
        p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0 - _EPS)
        if p.ndim != 2:
            raise ValueError(f"expected a 2-D array (rows × models), got shape {p.shape}")
        logits = np.log(p / (1.0 - p))
        return np.hstack([np.ones((p.shape[0], 1)), logits])

    def fit(self, oof_probs: npt.ArrayLike, outcomes: npt.ArrayLike) -> StackingMetaModel:
        x = self._design(oof_probs)
        y = np.asarray(outcomes, dtype=np.float64)
        if y.shape != (x.shape[0],) or not np.all((y == 0) | (y == 1)):
            raise ValueError("outcomes must be a 1-D array of 0/1, one per row")
        if x.shape[0] == 0:
            raise ValueError("cannot fit on zero rows")
        penalty = np.full(x.shape[1], self.l2)
        penalty[0] = 1e-8  # intercept unpenalised (a tiny ridge keeps the Hessian invertible)
        beta = np.zeros(x.shape[1])
        for _ in range(self.max_iter):
            mu = 1.0 / (1.0 + np.exp(-(x @ beta)))
            grad = x.T @ (mu - y) + penalty * beta
            hess = (x * (mu * (1.0 - mu))[:, None]).T @ x + np.diag(penalty)
            step = np.linalg.solve(hess, grad)
            beta = beta - step
            if float(np.max(np.abs(step))) < self.tol:
                break
        self.intercept = float(beta[0])
        self.coef = beta[1:].copy()
        return self

    def predict_proba(self, probs: npt.ArrayLike) -> FloatArray:
        """Combined prob_up for each row of base-model probabilities."""
        if self.coef is None:
            raise RuntimeError("StackingMetaModel.predict_proba before fit")
        x = self._design(probs)
        if x.shape[1] - 1 != self.coef.shape[0]:
            raise ValueError(f"fitted on {self.coef.shape[0]} models, got {x.shape[1] - 1}")
        z = x @ np.concatenate([[self.intercept], self.coef])
        out: FloatArray = 1.0 / (1.0 + np.exp(-z))
        return out
