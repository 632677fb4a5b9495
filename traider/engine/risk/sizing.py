"""Confidence-scaled order sizing under hard caps.

The formula::

    raw      = base_notional_usd × confidence × vol_scale × drawdown_scale
    notional = max(0, min(raw, min(caps)))

* `base_notional_usd`: the strategy's full-conviction order size at the target risk.
* `confidence` in [0, 1]: linear in conviction; 0 gives 0. Linear (not a threshold or a
  power) so the size is easy to explain and non-decreasing in confidence.
* `vol_scale`: volatility targeting, `drawdown.vol_target_scale` (≥ 0, may exceed 1 when
  the market is calmer than the target).
* `drawdown_scale`: `DrawdownController.size_scale` (0 halts new risk).
* `caps`: the remaining headroom (USD of notional) under each hard limit, by name: the
  per-asset position limit, the VaR budget converted to notional, the max order notional.
  The result never exceeds any of them; a negative headroom (already over) counts as 0.

`size_order_explained` also names the binding constraint, for the order's journal entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "SizingResult",
    "position_headroom_usd",
    "size_order",
    "size_order_explained",
    "var_headroom_notional_usd",
]


@dataclass(frozen=True, slots=True)
class SizingResult:
    notional_usd: float
    raw_usd: float  # before the caps
    binding: str  # "formula" or the name of the cap that cut it


def _finite_nonneg(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def size_order_explained(
    base_notional_usd: float,
    confidence: float,
    vol_scale: float,
    drawdown_scale: float,
    caps: Mapping[str, float],
) -> SizingResult:
    base = _finite_nonneg("base_notional_usd", base_notional_usd)
    conf = _finite_nonneg("confidence", confidence)
    if conf > 1.0:
        raise ValueError(f"confidence must be in [0, 1], got {confidence!r}")
    vol = _finite_nonneg("vol_scale", vol_scale)
    dd = _finite_nonneg("drawdown_scale", drawdown_scale)
    raw = base * conf * vol * dd
    notional, binding = raw, "formula"
    for name, headroom in caps.items():
        h = float(headroom)
        if math.isnan(h):
            raise ValueError(f"cap {name!r} is NaN")
        h = max(h, 0.0)
        if h < notional:
            notional, binding = h, name
    return SizingResult(notional, raw, binding)


def size_order(
    base_notional_usd: float,
    confidence: float,
    vol_scale: float,
    drawdown_scale: float,
    caps: Mapping[str, float],
) -> float:
    """Order notional in USD (see the module doc for the formula)."""
    return size_order_explained(
        base_notional_usd, confidence, vol_scale, drawdown_scale, caps
    ).notional_usd


def position_headroom_usd(max_position_usd: float, exposure_usd: float, side: int) -> float:
    """How much notional an order on `side` (+1 buy, -1 sell) may add before the position
    (signed `exposure_usd`) exceeds `max_position_usd` in absolute value. An order against
    the position may first close it, then open up to the limit the other way."""
    if side not in (1, -1):
        raise ValueError(f"side must be +1 or -1, got {side!r}")
    limit = _finite_nonneg("max_position_usd", max_position_usd)
    return max(0.0, limit - side * float(exposure_usd))


def var_headroom_notional_usd(
    var_limit_usd: float, current_var_usd: float, marginal_var_per_usd: float
) -> float:
    """VaR budget left, as order notional: (limit - current VaR) / marginal VaR per USD of
    the order. A marginal VaR ≤ 0 (the order hedges) leaves the notional uncapped (inf)."""
    values = (var_limit_usd, current_var_usd, marginal_var_per_usd)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"VaR inputs must be finite, got {values!r}")
    left = max(0.0, float(var_limit_usd) - float(current_var_usd))
    if marginal_var_per_usd <= 0.0:
        return math.inf
    return left / marginal_var_per_usd
