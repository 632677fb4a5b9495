"""Statistics for judging a direction classifier and the P&L it trades (pure numpy / scipy).

Labels are binary, ``1`` = the next bar went up, ``0`` = it did not; a model gives
``prob_up`` in [0, 1] and its hard prediction is ``prob_up > 0.5`` (a tie says "down").
Degenerate inputs (no samples, fewer than two returns, zero volatility) give ``None``,
never ``inf`` or ``NaN``.

Formulas
--------
* **Accuracy** ``k / n`` with the **Wilson score interval** (Wilson 1927), for
  ``z = Φ⁻¹(1 − α/2)``::

      centre = (p̂ + z²/2n) / (1 + z²/n)
      half   = z / (1 + z²/n) · sqrt(p̂(1 − p̂)/n + z²/4n²)

* **Balanced accuracy**: the mean over the classes present in ``y_true`` of their recall.
* **Log-loss**: ``−mean(y·ln p + (1 − y)·ln(1 − p))``, ``p`` clipped to ``[ε, 1 − ε]``.
* **Brier score**: ``mean((p − y)²)``.
* **Sharpe** (per period): ``mean(r) / std(r, ddof=1)``; annualised by ``sqrt(periods/yr)``.
* **Probabilistic Sharpe ratio** (Bailey & López de Prado 2012), with per-period ``SR``,
  ``n`` returns, skewness ``γ3`` and (non-excess, Pearson) kurtosis ``γ4`` of the returns
  (biased sample moments, ``γ4 = 3`` for a normal)::

      PSR(SR*) = Φ( (SR − SR*)·sqrt(n − 1) / sqrt(1 − γ3·SR + (γ4 − 1)/4·SR²) )

  the probability that the true Sharpe exceeds the benchmark ``SR*``.
* **Deflated Sharpe ratio** (Bailey & López de Prado 2014): the PSR against the Sharpe
  the best of ``N`` independent unskilled trials is expected to reach::

      SR* = sqrt(V[SR_trials]) · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))

  with ``γ`` the Euler-Mascheroni constant and ``V[SR_trials]`` the variance of the
  (per-period) Sharpe ratios across the trials. ``N = 1`` means no selection: ``SR* = 0``.
  When the trials' variance is unknown, :func:`null_sharpe_variance` gives the variance of
  a Sharpe estimate of ``n`` returns under the null ``SR = 0``: ``1 / (n − 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "EULER_GAMMA",
    "LN2",
    "ClassMetrics",
    "PnLPath",
    "accuracy",
    "balanced_accuracy",
    "brier_score",
    "class_metrics",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "log_loss",
    "majority_baseline",
    "null_sharpe_variance",
    "persistence_baseline",
    "probabilistic_sharpe_ratio",
    "psr_from_stats",
    "random_baseline",
    "sharpe",
    "simulate_pnl",
    "wilson_interval",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EULER_GAMMA = 0.5772156649015329
LN2 = math.log(2.0)
_EPS = 1e-15
_ZERO_TOL = 1e-14


def _labels(y: npt.ArrayLike) -> IntArray:
    arr = np.asarray(y, dtype=np.int64).ravel()
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return arr


def _probs(p: npt.ArrayLike) -> FloatArray:
    return np.asarray(p, dtype=np.float64).ravel()


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``successes / n``."""
    if n <= 0:
        raise ValueError("n must be positive")
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, confidence: float = 0.95
) -> tuple[float, float, float] | None:
    """``(accuracy, low, high)`` with the Wilson interval; ``None`` for no samples."""
    t, p = _labels(y_true), _labels(y_pred)
    if t.size == 0:
        return None
    hits = int((t == p).sum())
    low, high = wilson_interval(hits, t.size, confidence)
    return hits / t.size, low, high


def balanced_accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float | None:
    """Mean recall over the classes present in ``y_true``."""
    t, p = _labels(y_true), _labels(y_pred)
    if t.size == 0:
        return None
    recalls = [float((p[t == c] == c).mean()) for c in (0, 1) if (t == c).any()]
    return float(np.mean(recalls))


def log_loss(y_true: npt.ArrayLike, prob_up: npt.ArrayLike) -> float | None:
    t, p = _labels(y_true), np.clip(_probs(prob_up), _EPS, 1.0 - _EPS)
    if t.size == 0:
        return None
    return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1.0 - p)))


def brier_score(y_true: npt.ArrayLike, prob_up: npt.ArrayLike) -> float | None:
    t, p = _labels(y_true), _probs(prob_up)
    if t.size == 0:
        return None
    return float(np.mean((p - t) ** 2))


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    """Scores of one classifier on one set of labels."""

    n: int
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    balanced_accuracy: float
    log_loss: float
    brier: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "accuracy_low": self.accuracy_low,
            "accuracy_high": self.accuracy_high,
            "balanced_accuracy": self.balanced_accuracy,
            "log_loss": self.log_loss,
            "brier": self.brier,
        }


def class_metrics(
    y_true: npt.ArrayLike,
    prob_up: npt.ArrayLike,
    y_pred: npt.ArrayLike | None = None,
    confidence: float = 0.95,
) -> ClassMetrics | None:
    """All scores at once; hard predictions default to ``prob_up > 0.5``."""
    t, p = _labels(y_true), _probs(prob_up)
    if t.size != p.size:
        raise ValueError("y_true and prob_up differ in length")
    hard = (p > 0.5).astype(np.int64) if y_pred is None else _labels(y_pred)
    acc = accuracy(t, hard, confidence)
    bal, ll, br = balanced_accuracy(t, hard), log_loss(t, p), brier_score(t, p)
    if acc is None or bal is None or ll is None or br is None:
        return None
    return ClassMetrics(t.size, acc[0], acc[1], acc[2], bal, ll, br)


# --- naive baselines: (hard predictions, probabilities) on the test labels -------------


def majority_baseline(y_train: npt.ArrayLike, n_test: int) -> tuple[IntArray, FloatArray]:
    """Always the majority class of the TRAINING labels (a tie says up); its probability is
    the training up-rate (a calibrated constant)."""
    tr = _labels(y_train)
    rate = float(tr.mean()) if tr.size else 0.5
    hard = np.full(n_test, 1 if rate >= 0.5 else 0, dtype=np.int64)
    return hard, np.full(n_test, rate, dtype=np.float64)


def persistence_baseline(
    y_prev: npt.ArrayLike, y_train: npt.ArrayLike
) -> tuple[IntArray, FloatArray]:
    """Predict the previous label: ``y_prev[i]`` is the label before test sample ``i``. Its
    probability is calibrated on the training labels: ``q = P(y_t = y_{t−1})`` there, and
    ``prob_up = q`` after an up, ``1 − q`` after a down."""
    prev, tr = _labels(y_prev), _labels(y_train)
    q = float((tr[1:] == tr[:-1]).mean()) if tr.size > 1 else 0.5
    return prev.copy(), np.where(prev == 1, q, 1.0 - q).astype(np.float64)


def random_baseline(n_test: int, seed: int = 0) -> tuple[IntArray, FloatArray]:
    """A seeded fair coin for the hard calls; ``prob_up = 0.5`` (log-loss ln 2, Brier 1/4)."""
    coin = np.random.default_rng(seed).integers(0, 2, size=n_test, dtype=np.int64)
    return coin, np.full(n_test, 0.5, dtype=np.float64)


# --- Sharpe, PSR, DSR -----------------------------------------------------------------


def sharpe(returns: npt.ArrayLike, periods_per_year: float | None = None) -> float | None:
    """``mean / std(ddof=1)`` per period, times ``sqrt(periods_per_year)`` when given."""
    r = _probs(returns)
    if r.size < 2:
        return None
    sd = float(r.std(ddof=1))
    if sd < _ZERO_TOL:
        return None
    sr = float(r.mean()) / sd
    return sr * math.sqrt(periods_per_year) if periods_per_year else sr


def psr_from_stats(
    sr: float, n: int, skew: float, kurtosis: float, sr_benchmark: float = 0.0
) -> float | None:
    """PSR from per-period SR, ``n`` returns, skew and Pearson (non-excess) kurtosis."""
    var_term = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if n < 2 or var_term <= 0.0:
        return None
    z = (sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(var_term)
    return float(stats.norm.cdf(z))


def _moments(r: FloatArray) -> tuple[float, float]:
    skew = float(stats.skew(r, bias=True))
    kurt = float(stats.kurtosis(r, fisher=False, bias=True))
    return skew, kurt


def probabilistic_sharpe_ratio(returns: npt.ArrayLike, sr_benchmark: float = 0.0) -> float | None:
    """PSR of a return series against a per-period benchmark Sharpe ``sr_benchmark``."""
    r = _probs(returns)
    sr = sharpe(r)
    if sr is None:
        return None
    skew, kurt = _moments(r)
    return psr_from_stats(sr, r.size, skew, kurt, sr_benchmark)


def null_sharpe_variance(n: int) -> float:
    """Variance of a per-period Sharpe estimate of ``n`` returns when the true SR is 0."""
    if n < 2:
        raise ValueError("need at least two returns")
    return 1.0 / (n - 1)


def expected_max_sharpe(sr_variance: float, n_trials: int) -> float:
    """``SR*``: the expected maximum Sharpe of ``n_trials`` unskilled trials."""
    if n_trials < 1:
        raise ValueError("n_trials must be at least 1")
    if sr_variance < 0.0:
        raise ValueError("sr_variance must be non-negative")
    if n_trials == 1:
        return 0.0
    a = float(stats.norm.ppf(1.0 - 1.0 / n_trials))
    b = float(stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e)))
    return math.sqrt(sr_variance) * ((1.0 - EULER_GAMMA) * a + EULER_GAMMA * b)


def deflated_sharpe_ratio(
    returns: npt.ArrayLike, n_trials: int, sr_variance: float | None = None
) -> tuple[float | None, float]:
    """``(DSR, SR*)``: the PSR against the expected best of ``n_trials`` unskilled trials.
    ``sr_variance`` (per-period Sharpe units) defaults to :func:`null_sharpe_variance`."""
    r = _probs(returns)
    if sr_variance is None:
        sr_variance = null_sharpe_variance(r.size) if r.size >= 2 else 0.0
    sr_star = expected_max_sharpe(sr_variance, n_trials)
    return probabilistic_sharpe_ratio(r, sr_star), sr_star


# --- P&L simulation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PnLPath:
    """Per-bar positions and returns of a traded signal (fractions of a unit notional)."""

    position: FloatArray
    gross: FloatArray
    cost: FloatArray

    @property
    def net(self) -> FloatArray:
        return self.gross - self.cost

    @property
    def n_changes(self) -> int:
        return int(np.count_nonzero(np.diff(self.position, prepend=0.0)))


def simulate_pnl(
    prob_up: npt.ArrayLike,
    forward_returns: npt.ArrayLike,
    fee_bps: float,
    spread_bps: float,
    band: float = 0.0,
    allow_short: bool = False,
) -> PnLPath:
    """Trade a unit notional on the model's calls, bar by bar, starting flat.

    Position at bar ``t``: ``+1`` when ``prob_up > 0.5 + band``; otherwise ``0`` (long/flat,
    the default, spot) or, with ``allow_short``, ``−1`` when ``prob_up < 0.5 − band`` and
    ``0`` inside the band. It earns ``position · forward_returns[t]`` (the next bar's
    simple return) and pays ``|Δposition| · (fee_bps + spread_bps / 2) / 10⁴`` whenever it
    changes (a long-to-short flip trades two units). P&L is additive (no compounding); the
    final position is not closed out, so no exit cost is charged after the last bar.
    """
    p, r = _probs(prob_up), _probs(forward_returns)
    if p.size != r.size:
        raise ValueError("prob_up and forward_returns differ in length")
    pos = np.where(p > 0.5 + band, 1.0, 0.0)
    if allow_short:
        pos = np.where(p < 0.5 - band, -1.0, pos)
    unit_cost = (fee_bps + spread_bps / 2.0) / 1e4
    cost = np.abs(np.diff(pos, prepend=0.0)) * unit_cost
    return PnLPath(pos, pos * r, cost)
