"""Live model performance and drift: is a model still worth trusting?

* `PerformanceTracker` keeps, per model, the last `window` (prediction, outcome) pairs and
  reports hit rate, log-loss, Brier score and P&L contribution over them.
* `TrainingProfile` remembers each feature's training distribution as quantile bins;
  `psi` compares a recent window against it (population stability index,
  Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) over the bins; > 0.2 is the usual "shifted" threshold).
* `drift_report` combines feature drift and accuracy decay (rolling accuracy below the
  training accuracy by more than a threshold) into a `DriftReport` saying which and why.
* `should_retrain` adds expiry (model older than its maximum age).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DriftReport",
    "FeatureDrift",
    "ModelMetrics",
    "PerformanceTracker",
    "TrainingProfile",
    "drift_report",
    "psi",
    "should_retrain",
]

_EPS = 1e-6  # probability clip for log-loss
_PSI_EPS = 1e-4  # empty bins count as this share, so ln(a/e) stays finite
NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class _Obs:
    prob_up: float
    outcome: int
    realised_return: float
    weight: float


@dataclass(frozen=True, slots=True)
class ModelMetrics:
    """Rolling metrics of one model. `hit_rate` counts only predictions that made a call
    (prob_up ≠ 0.5) and is None when there were none; the others are None with no data."""

    model: str
    n: int
    calls: int
    hit_rate: float | None
    log_loss: float | None
    brier: float | None
    pnl_contribution: float


class PerformanceTracker:
    """Per-model rolling hit rate, log-loss, Brier score and P&L contribution."""

    def __init__(self, window: int = 500) -> None:
        if window < 1:
            raise ValueError(f"window must be ≥ 1, got {window}")
        self.window = window
        self._obs: dict[str, deque[_Obs]] = {}

    def record(
        self,
        model: str,
        prob_up: float,
        outcome: int,
        realised_return: float = 0.0,
        weight: float = 1.0,
    ) -> None:
        """One resolved prediction: outcome 1 if the price went up, 0 if down;
        `realised_return` the return over the horizon; `weight` the model's ensemble weight
        when it predicted."""
        if not (math.isfinite(prob_up) and 0.0 <= prob_up <= 1.0):
            raise ValueError(f"{model}: prob_up must be in [0, 1], got {prob_up}")
        if outcome not in (0, 1):
            raise ValueError(f"{model}: outcome must be 0 or 1, got {outcome!r}")
        if not (math.isfinite(realised_return) and math.isfinite(weight)):
            raise ValueError(f"{model}: realised_return and weight must be finite")
        obs = self._obs.setdefault(model, deque(maxlen=self.window))
        obs.append(_Obs(float(prob_up), int(outcome), float(realised_return), float(weight)))

    def models(self) -> list[str]:
        return sorted(self._obs)

    def metrics(self, model: str) -> ModelMetrics:
        obs = self._obs.get(model, ())
        n = len(obs)
        if n == 0:
            return ModelMetrics(model, 0, 0, None, None, None, 0.0)
        calls = hits = 0
        ll = brier = pnl = 0.0
        for o in obs:
            p = min(max(o.prob_up, _EPS), 1.0 - _EPS)
            ll -= math.log(p) if o.outcome == 1 else math.log(1.0 - p)
            brier += (o.prob_up - o.outcome) ** 2
            direction = (o.prob_up > 0.5) - (o.prob_up < 0.5)
            pnl += direction * o.realised_return * o.weight
            if direction:
                calls += 1
                hits += (direction > 0) == (o.outcome == 1)
        return ModelMetrics(
            model=model,
            n=n,
            calls=calls,
            hit_rate=hits / calls if calls else None,
            log_loss=ll / n,
            brier=brier / n,
            pnl_contribution=pnl,
        )

    def all_metrics(self) -> list[ModelMetrics]:
        return [self.metrics(m) for m in self.models()]


# --- drift ------------------------------------------------------------------------------


def _bin_shares(values: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]) -> list[float]:
    """Shares of `values` in the bins (−∞, e₀], (e₀, e₁], …, (e_last, ∞)."""
    idx = np.searchsorted(edges, values, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return [float(c) / len(values) for c in counts]


def _psi_from_shares(expected: Sequence[float], actual: Sequence[float]) -> float:
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, _PSI_EPS), max(a, _PSI_EPS)
        total += (a - e) * math.log(a / e)
    return total


def _column(values: npt.ArrayLike, what: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise ValueError(f"{what}: no finite values")
    return arr


def _quantile_edges(train: npt.NDArray[np.float64], bins: int) -> npt.NDArray[np.float64]:
    if bins < 2:
        raise ValueError(f"bins must be ≥ 2, got {bins}")
    qs = np.quantile(train, np.arange(1, bins) / bins)
    out: npt.NDArray[np.float64] = np.unique(qs)
    return out


def psi(expected: npt.ArrayLike, actual: npt.ArrayLike, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected`, with bins at the
    quantiles of `expected` (so each holds ~1/bins of it). Non-finite values are ignored;
    empty bins count as a 1e-4 share."""
    train = _column(expected, "psi expected")
    edges = _quantile_edges(train, bins)
    return _psi_from_shares(_bin_shares(train, edges), _bin_shares(_column(actual, "psi"), edges))


@dataclass(frozen=True, slots=True)
class TrainingProfile:
    """Per-feature bin edges and training shares (no training data kept), plus the model's
    accuracy on its validation data; `to_dict` fits in the registry's metrics JSON."""

    features: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    shares: tuple[tuple[float, ...], ...]
    training_accuracy: float | None = None

    @classmethod
    def from_matrix(
        cls,
        x: npt.ArrayLike,
        features: Sequence[str],
        training_accuracy: float | None = None,
        bins: int = 10,
    ) -> TrainingProfile:
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(features):
            raise ValueError(f"expected rows × {len(features)} features, got shape {arr.shape}")
        edges, shares = [], []
        for j, name in enumerate(features):
            col = _column(arr[:, j], f"feature {name}")
            e = _quantile_edges(col, bins)
            edges.append(tuple(float(v) for v in e))
            shares.append(tuple(_bin_shares(col, e)))
        return cls(tuple(features), tuple(edges), tuple(shares), training_accuracy)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and floats (JSON-able): stored in the registry's metrics."""
        return {
            "features": list(self.features),
            "edges": [list(e) for e in self.edges],
            "shares": [list(s) for s in self.shares],
            "training_accuracy": self.training_accuracy,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainingProfile:
        """Inverse of `to_dict`; raises ValueError on a malformed profile, since a wrong
        bin count would silently misreport drift."""
        try:
            features = tuple(str(f) for f in doc["features"])
            edges = tuple(tuple(float(v) for v in e) for e in doc["edges"])
            shares = tuple(tuple(float(v) for v in s) for s in doc["shares"])
            acc = doc.get("training_accuracy")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed training profile: {exc}") from None
        if not len(features) == len(edges) == len(shares):
            raise ValueError("training profile: features, edges and shares differ in length")
        for name, e, s in zip(features, edges, shares, strict=True):
            if len(s) != len(e) + 1:
                raise ValueError(f"training profile: feature {name} has {len(e)} edges "
                                 f"but {len(s)} shares (expected {len(e) + 1})")  # fmt: skip
        return cls(features, edges, shares, None if acc is None else float(acc))

    def psi(self, recent: npt.ArrayLike) -> dict[str, float]:
        """PSI of each feature column of `recent` (rows × features) against training."""
        arr = np.asarray(recent, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(self.features):
            raise ValueError(
                f"expected rows × {len(self.features)} features, got shape {arr.shape}"
            )
        out: dict[str, float] = {}
        for j, name in enumerate(self.features):
            actual = _bin_shares(_column(arr[:, j], f"feature {name}"), np.array(self.edges[j]))
            out[name] = _psi_from_shares(self.shares[j], actual)
        return out


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    feature: str
    psi: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class DriftReport:
    """`drifted` when any feature's PSI exceeds the threshold or accuracy decayed;
    `reasons` one line each, e.g. "feature spread: PSI 0.31 > 0.2"."""

    features: tuple[FeatureDrift, ...]
    accuracy_decay: bool
    rolling_accuracy: float | None
    training_accuracy: float | None
    reasons: tuple[str, ...]

    @property
    def drifted(self) -> bool:
        return bool(self.reasons)

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.drifted)


def drift_report(
    profile: TrainingProfile,
    recent: npt.ArrayLike | None = None,
    metrics: ModelMetrics | None = None,
    *,
    psi_threshold: float = 0.2,
    accuracy_drop: float = 0.05,
    min_calls: int = 50,
) -> DriftReport:
    """Feature drift of `recent` (rows × features; None: not checked) and accuracy decay of
    `metrics` (needs `min_calls` calls and a training accuracy; otherwise not judged)."""
    feats: list[FeatureDrift] = []
    reasons: list[str] = []
    if recent is not None:
        for name, value in profile.psi(recent).items():
            drifted = value > psi_threshold
            feats.append(FeatureDrift(name, value, drifted))
            if drifted:
                reasons.append(f"feature {name}: PSI {value:.3f} > {psi_threshold}")
    rolling = metrics.hit_rate if metrics is not None else None
    train_acc = profile.training_accuracy
    decay = False
    if (
        metrics is not None
        and rolling is not None
        and train_acc is not None
        and metrics.calls >= min_calls
        and rolling < train_acc - accuracy_drop
    ):
        decay = True
        reasons.append(
            f"accuracy {rolling:.3f} over the last {metrics.calls} calls is below training "
            f"{train_acc:.3f} − {accuracy_drop}"
        )
    return DriftReport(tuple(feats), decay, rolling, train_acc, tuple(reasons))


def should_retrain(
    now_ns: int,
    trained_at_ns: int,
    max_age_ns: int,
    drift: DriftReport | None = None,
) -> str | None:
    """Why the model should be retrained (expired, or drifted), or None."""
    age = now_ns - trained_at_ns
    if age > max_age_ns:
        return (
            f"expired: trained {age / NS_PER_DAY:.1f} days ago, max age "
            f"{max_age_ns / NS_PER_DAY:.1f} days"
        )
    if drift is not None and drift.drifted:
        return "drift: " + "; ".join(drift.reasons)
    return None
