"""Statistics behind the VaR methods: the empirical quantile convention, overlapping
h-day returns, EWMA variance (RiskMetrics) and filtered scenarios, P&L moments.
Split from `var.py`, which imports everything here."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

RISKMETRICS_LAMBDA = 0.94
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _ceil_k(alpha: float, m: int) -> int:
    return max(1, math.ceil(round(alpha * m, 9)))


def _norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT_2PI


def empirical_var_es(
    pnl: np.ndarray, confidence: float, in_place: bool = False
) -> tuple[float, float, int]:
    """VaR and ES (loss positive) of P&L samples under the module's quantile convention;
    also returns k. `in_place` lets it reorder `pnl` instead of copying."""
    m = pnl.shape[0]
    alpha = 1.0 - confidence
    k = _ceil_k(alpha, m)
    if in_place:
        pnl.partition(k - 1)
        worst = pnl[:k]
    else:
        worst = np.partition(pnl, k - 1)[:k]  # k smallest P&Ls, the k-th at index k-1
    var = -float(worst[k - 1])
    losses = -worst.astype(np.float64)
    es = var + float(np.sum(losses - var)) / (alpha * m)
    return var, max(es, var), k


def _horizon_returns(r: np.ndarray, h: int) -> np.ndarray:
    """Overlapping h-day compounded simple returns, shape (T − h + 1, N)."""
    if h == 1:
        return r
    windows = sliding_window_view(1.0 + r, h, axis=0)  # (T-h+1, N, h)
    out: np.ndarray = np.prod(windows, axis=2) - 1.0
    return out


def _require_windows(m: int, alpha: float, h: int, name: str) -> None:
    need = math.ceil(round(1.0 / alpha, 9))
    if m < need:
        span = "daily" if h == 1 else f"overlapping {h}-day"
        raise ValueError(
            f"{name} VaR at {1 - alpha:.2%} needs at least {need} {span} returns; have {m} "
            "(use more history, a lower confidence or a shorter horizon)"
        )


_EWMA_BLOCK = 64


@lru_cache(maxsize=8)
def _ewma_kernel(lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Block weights P[i, j] = (1−λ)λ^(i−j) for j ≤ i, and the carry decay λ^(i+1)."""
    i = np.arange(_EWMA_BLOCK)
    lag = i[:, None] - i[None, :]
    p = np.where(lag >= 0, (1.0 - lam) * lam ** np.maximum(lag, 0), 0.0)
    return p, lam ** (i + 1.0)


def ewma_variance(r: np.ndarray, lam: float = RISKMETRICS_LAMBDA) -> tuple[np.ndarray, np.ndarray]:
    """RiskMetrics EWMA (zero mean) per column.

    Returns (forecast, today): `forecast[t]` is the variance for day t from days < t (its
    seed, for t = 0, is the window's mean squared return) and `today` the variance for the
    day after the last row. Block-recursive closed form, no Python loop over days."""
    x = r * r
    t_len = x.shape[0]
    seed = x.mean(axis=0)
    block = _EWMA_BLOCK
    p, decay = _ewma_kernel(lam)
    y = np.empty_like(x)  # y[t] = variance using days ≤ t
    carry = seed
    for start in range(0, t_len, block):
        stop = min(start + block, t_len)
        b = stop - start
        y[start:stop] = p[:b, :b] @ x[start:stop] + decay[:b, None] * carry
        carry = y[stop - 1]
    forecast = np.empty_like(x)
    forecast[0] = seed
    forecast[1:] = y[:-1]
    return forecast, y[-1].copy() if t_len else seed


# --------------------------------------------------------------------------- methods


def _cf_moments(pnl: np.ndarray) -> tuple[float, float, float, float]:
    mu = float(pnl.mean())
    d = pnl - mu
    d2 = d * d
    m2 = float(d2.mean())
    if m2 <= 0.0:
        return mu, 0.0, 0.0, 0.0
    m3 = float((d2 * d).mean())
    m4 = float((d2 * d2).mean())
    sd = math.sqrt(float(d2.sum()) / (pnl.shape[0] - 1))
    return mu, sd, m3 / m2**1.5, m4 / (m2 * m2) - 3.0
