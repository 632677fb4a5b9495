"""VaR backtesting: does the forecast VaR get exceeded as often as it should, and
independently of yesterday?

* An exception on day t is a loss strictly greater than that day's VaR forecast,
  −r_t > VaR_t, with VaR_t forecast from days t−window … t−1 only (strictly causal).
* Kupiec proportion of failures: LR_pof = −2 ln[(1−p)^(n−x) p^x] + 2 ln[(1−x/n)^(n−x)
  (x/n)^x], p = 1 − confidence, x exceptions in n days; χ²(1).
* Christoffersen independence: with n_ij the count of day pairs going from state i to j
  (1 = exception), π0 = n01/(n00+n01), π1 = n11/(n10+n11), π = (n01+n11)/(n−1):
  LR_ind = −2 ln[(1−π)^(n00+n10) π^(n01+n11)] + 2 ln[(1−π0)^n00 π0^n01 (1−π1)^n10 π1^n11];
  χ²(1). 0·ln 0 = 0.
* Conditional coverage: LR_cc = LR_pof + LR_ind, χ²(2) (the usual sum; LR_pof uses all n
  days, LR_ind the n − 1 transitions).
* Basel traffic light: zone from the binomial cumulative probability of seeing at most x
  exceptions if the model were right: green below 95%, red at 99.99% or above, yellow
  between. At 250 days and 99% this is the Basel table (green 0–4, yellow 5–9, red 10+);
  at other settings it is the same rule, not a regulatory table.

scipy.special is imported at module import (not on the TUI's startup path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.special as sc

from traider.engine.risk.var import METHODS, VarEngine, default_engine

BASEL_DAYS = 250
BASEL_CONFIDENCE = 0.99
GREEN_BELOW = 0.95
RED_FROM = 0.9999


@dataclass(frozen=True)
class LikelihoodRatio:
    statistic: float
    p_value: float
    dof: int

    def to_json(self) -> dict[str, float | int]:
        return {"lr": self.statistic, "p_value": self.p_value, "dof": self.dof}


@dataclass(frozen=True)
class BacktestReport:
    method: str
    confidence: float
    window: int
    days: int  # forecasts tested
    exceptions: int
    expected_exceptions: float
    kupiec: LikelihoodRatio
    christoffersen: LikelihoodRatio
    conditional_coverage: LikelihoodRatio
    basel_zone: str  # "green" | "yellow" | "red"
    basel_exceptions: int
    basel_days: int  # last min(250, days) forecasts
    forecasts: np.ndarray  # VaR per tested day, return units (unit exposure)
    hits: np.ndarray  # bool, exception per tested day

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "confidence": self.confidence,
            "window": self.window,
            "days": self.days,
            "exceptions": self.exceptions,
            "expected_exceptions": self.expected_exceptions,
            "exception_rate": self.exceptions / self.days if self.days else 0.0,
            "kupiec": self.kupiec.to_json(),
            "christoffersen": self.christoffersen.to_json(),
            "conditional_coverage": self.conditional_coverage.to_json(),
            "basel": {
                "zone": self.basel_zone,
                "exceptions": self.basel_exceptions,
                "days": self.basel_days,
            },
        }


def _chi2_sf(stat: float, dof: int) -> float:
    return float(sc.chdtrc(dof, stat))


def _xlogy(x: float, y: float) -> float:
    return float(sc.xlogy(x, y))


def kupiec(exceptions: int, days: int, confidence: float) -> LikelihoodRatio:
    """Kupiec's proportion-of-failures test."""
    if days <= 0 or not (0 <= exceptions <= days):
        raise ValueError(f"need 0 ≤ exceptions ≤ days and days > 0; got {exceptions}/{days}")
    p = 1.0 - confidence
    x, n = float(exceptions), float(days)
    phat = x / n
    ll_null = _xlogy(n - x, 1.0 - p) + _xlogy(x, p)
    ll_alt = _xlogy(n - x, 1.0 - phat) + _xlogy(x, phat)
    stat = max(0.0, -2.0 * (ll_null - ll_alt))
    return LikelihoodRatio(stat, _chi2_sf(stat, 1), 1)


def transition_counts(hits: np.ndarray) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11): day pairs (t−1, t) by exception state."""
    h = np.asarray(hits, dtype=bool)
    prev, cur = h[:-1], h[1:]
    n11 = int(np.count_nonzero(prev & cur))
    n10 = int(np.count_nonzero(prev & ~cur))
    n01 = int(np.count_nonzero(~prev & cur))
    n00 = int(prev.shape[0]) - n11 - n10 - n01
    return n00, n01, n10, n11


def christoffersen(hits: np.ndarray) -> LikelihoodRatio:
    """Christoffersen's independence test on the exception indicator series."""
    n00, n01, n10, n11 = transition_counts(hits)
    total = n00 + n01 + n10 + n11
    if total == 0:
        return LikelihoodRatio(0.0, 1.0, 1)
    pi = (n01 + n11) / total
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    ll_null = _xlogy(n00 + n10, 1.0 - pi) + _xlogy(n01 + n11, pi)
    ll_alt = _xlogy(n00, 1.0 - pi0) + _xlogy(n01, pi0) + _xlogy(n10, 1.0 - pi1) + _xlogy(n11, pi1)
    stat = max(0.0, -2.0 * (ll_null - ll_alt))
    return LikelihoodRatio(stat, _chi2_sf(stat, 1), 1)


def conditional_coverage(hits: np.ndarray, confidence: float) -> LikelihoodRatio:
    """LR_pof + LR_ind, χ²(2)."""
    h = np.asarray(hits, dtype=bool)
    pof = kupiec(int(np.count_nonzero(h)), int(h.shape[0]), confidence)
    ind = christoffersen(h)
    stat = pof.statistic + ind.statistic
    return LikelihoodRatio(stat, _chi2_sf(stat, 2), 2)


def basel_zone(
    exceptions: int, days: int = BASEL_DAYS, confidence: float = BASEL_CONFIDENCE
) -> str:
    """Traffic-light zone for `exceptions` in `days` (module docstring)."""
    if days <= 0 or exceptions < 0:
        raise ValueError(f"need days > 0 and exceptions ≥ 0; got {exceptions}/{days}")
    cumulative = float(sc.bdtr(min(exceptions, days), days, 1.0 - confidence))
    if cumulative < GREEN_BELOW:
        return "green"
    return "red" if cumulative >= RED_FROM else "yellow"


def _check_series(
    returns_1d: np.ndarray, method: str, window: int, confidence: float
) -> np.ndarray:
    r = np.asarray(returns_1d, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"backtest takes one return series (1-D); got shape {r.shape}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of: {', '.join(METHODS)}")
    if not (0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.99); got {confidence}")
    if window < 3:
        raise ValueError(f"window must be at least 3 days; got {window}")
    if r.shape[0] <= window:
        raise ValueError(
            f"a {window}-day window needs more than {window} returns; have {r.shape[0]} "
            "(use a shorter --window or more history)"
        )
    if not np.all(np.isfinite(r)):
        raise ValueError("returns contain NaN or infinite values")
    return r


def rolling_var(
    returns_1d: np.ndarray,
    method: str,
    window: int = BASEL_DAYS,
    confidence: float = BASEL_CONFIDENCE,
    engine: VarEngine | None = None,
) -> np.ndarray:
    """One-day VaR (return units, unit long exposure) for each day t = window … T−1,
    forecast from returns[t−window:t] only."""
    r = _check_series(returns_1d, method, window, confidence)
    eng = engine or default_engine()
    unit = np.ones(1)
    windows = np.lib.stride_tricks.sliding_window_view(r, window)[:-1]  # ends at t−1
    out = np.empty(windows.shape[0])
    for i, past in enumerate(windows):
        out[i] = eng.method(method, unit, past[:, None], confidence, 1).var
    return out


def backtest(
    returns_1d: np.ndarray,
    method: str,
    window: int = BASEL_DAYS,
    confidence: float = BASEL_CONFIDENCE,
    engine: VarEngine | None = None,
) -> BacktestReport:
    """Rolling one-day VaR backtest of a long position in the series: exceptions, Kupiec,
    Christoffersen, conditional coverage, and the Basel zone of the last 250 days (or of
    all days when fewer were tested)."""
    r = _check_series(returns_1d, method, window, confidence)
    forecasts = rolling_var(r, method, window, confidence, engine)
    realized = r[window:]
    hits = -realized > forecasts
    days = int(hits.shape[0])
    exceptions = int(np.count_nonzero(hits))
    last = hits[-BASEL_DAYS:]
    basel_days = int(last.shape[0])
    basel_exceptions = int(np.count_nonzero(last))
    return BacktestReport(
        method=method,
        confidence=confidence,
        window=window,
        days=days,
        exceptions=exceptions,
        expected_exceptions=days * (1.0 - confidence),
        kupiec=kupiec(exceptions, days, confidence),
        christoffersen=christoffersen(hits),
        conditional_coverage=conditional_coverage(hits, confidence),
        basel_zone=basel_zone(basel_exceptions, basel_days, confidence),
        basel_exceptions=basel_exceptions,
        basel_days=basel_days,
        forecasts=forecasts,
        hits=hits,
    )
