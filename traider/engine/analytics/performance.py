"""Performance statistics of an equity curve and of a fill history (pure numpy / Decimal).

Conventions, shared by reports and any caller:

* Time is integer nanoseconds since the Unix epoch, UTC. Periods are fixed-width bins
  aligned to the epoch (`[k·P, (k+1)·P)`), so daily bins are UTC calendar days and hourly
  bins are UTC clock hours.
* Resampling (`resample_last`): the value of a period is the **last sample inside it**; a
  period without a sample carries the previous period's value forward (a flat period, a
  zero return). Periods run from the first sample's period to the last sample's, never
  past it, so idle time after the data ends does not add zero returns.
* Returns are simple returns `r_t = V_t / V_{t-1} − 1` of consecutive periods.
* Annualisation: crypto trades every day, so a year is **365 days** (8 760 hours), not 252
  trading days. `periods_per_year` is 365 for daily returns, 8 760 for hourly.
* The risk-free rate is an annual rate, 0 by default, turned into a per-period rate
  `(1 + rf)^(1/periods_per_year) − 1`.
* Degenerate inputs (fewer than two returns, zero volatility, no losing period, no
  drawdown) give `None`, never `inf` or `NaN`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from traider.engine.core.events import OrderFilled
from traider.engine.portfolio import Position

__all__ = [
    "DAYS_PER_YEAR",
    "HOURS_PER_YEAR",
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "Drawdown",
    "RoundTrip",
    "annualised_return",
    "calmar_ratio",
    "fees_total",
    "longest_underwater_ns",
    "max_drawdown",
    "per_period_risk_free",
    "profit_factor",
    "resample_last",
    "round_trips",
    "sharpe_ratio",
    "simple_returns",
    "sortino_ratio",
    "total_return",
    "traded_notional",
    "turnover",
    "volatility",
    "win_rate",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NS_PER_HOUR = 3_600 * 1_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
DAYS_PER_YEAR = 365  # crypto markets never close
HOURS_PER_YEAR = DAYS_PER_YEAR * 24
_ZERO_TOL = 1e-14  # a standard deviation below this is treated as exactly zero


def _as_float(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _as_int(values: npt.ArrayLike) -> IntArray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def resample_last(
    ts_ns: npt.ArrayLike,
    values: npt.ArrayLike,
    period_ns: int,
    *,
    first_period_ns: int | None = None,
) -> tuple[IntArray, FloatArray]:
    """Last value per fixed period, carrying the previous value over empty periods.

    Returns `(period_start_ns, value)`, one row per period from the period containing
    `first_period_ns` (default: the first sample) to the period of the last sample. Periods
    before the first sample (when `first_period_ns` is earlier) are dropped, as they have
    no value. Samples need not be sorted; equal timestamps keep their input order (the
    later one wins).
    """
    if period_ns <= 0:
        raise ValueError(f"period_ns must be positive, got {period_ns}")
    ts = _as_int(ts_ns)
    vals = _as_float(values)
    if ts.shape != vals.shape:
        raise ValueError(f"{ts.size} timestamps but {vals.size} values")
    if ts.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    bins = ts // period_ns
    first = int(bins[0]) if first_period_ns is None else int(first_period_ns // period_ns)
    first = max(first, int(bins[0]))
    wanted = np.arange(first, int(bins[-1]) + 1, dtype=np.int64)
    # index of the last sample whose period is <= each wanted period: value + carry-forward
    last = np.searchsorted(bins, wanted, side="right") - 1
    return wanted * period_ns, vals[last]


def simple_returns(values: npt.ArrayLike) -> FloatArray:
    """`r_t = V_t / V_{t−1} − 1`; `ValueError` if any divisor is not positive."""
    v = _as_float(values)
    if v.size < 2:
        return np.empty(0, dtype=np.float64)
    prev = v[:-1]
    if np.any(prev <= 0) or not np.all(np.isfinite(v)):
        raise ValueError("returns need finite, positive values (equity must stay above 0)")
    return v[1:] / prev - 1.0


def total_return(values: npt.ArrayLike) -> float | None:
    """`V_last / V_first − 1`; None with fewer than two values or `V_first ≤ 0`."""
    v = _as_float(values)
    if v.size < 2 or v[0] <= 0:
        return None
    return float(v[-1] / v[0] - 1.0)


def annualised_return(total: float | None, periods: int, periods_per_year: float) -> float | None:
    """Compound annual growth rate `(1 + R)^(periods_per_year / periods) − 1`.

    `periods` is the number of returns `R` spans. None when `R` is None or `periods < 1`;
    −1 when the account was wiped out (`1 + R ≤ 0`). Over a short window this is a wild
    extrapolation (a 1 % day is ×37 a year): read it as a rate, not a forecast.
    """
    if total is None or periods < 1:
        return None
    growth = 1.0 + total
    if growth <= 0:
        return -1.0
    try:
        out = math.exp(math.log(growth) * periods_per_year / periods) - 1.0
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def per_period_risk_free(risk_free: float, periods_per_year: float) -> float:
    """Annual rate → per-period rate with the same compounding: `(1+rf)^(1/ppy) − 1`."""
    return float((1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0)


def volatility(returns: npt.ArrayLike, periods_per_year: float) -> float | None:
    """Annualised volatility `std(r, ddof=1) · √ppy`; None with fewer than two returns."""
    r = _as_float(returns)
    if r.size < 2:
        return None
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def sharpe_ratio(
    returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> float | None:
    """`mean(r − rf_p) / std(r − rf_p, ddof=1) · √ppy` with `rf_p` the per-period rate.

    None with fewer than two returns or zero volatility.
    """
    r = _as_float(returns)
    if r.size < 2:
        return None
    excess = r - per_period_risk_free(risk_free, periods_per_year)
    sd = float(np.std(excess, ddof=1))
    if sd < _ZERO_TOL:
        return None
    return float(np.mean(excess) / sd * math.sqrt(periods_per_year))


def sortino_ratio(
    returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> float | None:
    """`mean(x) / DD · √ppy` with `x = r − rf_p` and the downside deviation (target 0)
    `DD = sqrt(mean(min(x, 0)²))` taken over **all** periods (gains count as 0), the
    standard definition (Sortino & Price 1994; as in empyrical / quantstats).

    None with fewer than two returns or no losing period (`DD = 0`).
    """
    r = _as_float(returns)
    if r.size < 2:
        return None
    excess = r - per_period_risk_free(risk_free, periods_per_year)
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside < _ZERO_TOL:
        return None
    return float(np.mean(excess) / downside * math.sqrt(periods_per_year))


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest peak-to-trough fall of a curve.

    `depth` is a positive fraction (0.25 = −25 %); 0 with no drawdown, in which case the
    dates are None. `recovery_ns` is the first time the curve is back at the peak value
    (None if it never is); `duration_ns` runs from the peak to the recovery, or to the last
    sample when not recovered.
    """

    depth: float
    peak_ns: int | None
    trough_ns: int | None
    recovery_ns: int | None
    duration_ns: int
    peak_value: float | None
    trough_value: float | None


def max_drawdown(ts_ns: npt.ArrayLike, values: npt.ArrayLike) -> Drawdown:
    """`max_t (1 − V_t / max_{s≤t} V_s)`: the running-peak scan.

    The peak is the last time the running maximum was reached before the trough (so a
    double top dates the drawdown from the second top). Values must be positive.
    """
    ts = _as_int(ts_ns)
    v = _as_float(values)
    if ts.shape != v.shape:
        raise ValueError(f"{ts.size} timestamps but {v.size} values")
    if v.size and np.any(v <= 0):
        raise ValueError("drawdown needs positive values")
    if v.size < 2:
        return Drawdown(0.0, None, None, None, 0, None, None)
    peaks = np.maximum.accumulate(v)
    dd = 1.0 - v / peaks
    trough = int(np.argmax(dd))
    depth = float(dd[trough])
    if depth <= 0.0:
        return Drawdown(0.0, None, None, None, 0, None, None)
    peak_value = float(peaks[trough])
    peak = int(np.flatnonzero(v[: trough + 1] == peak_value)[-1])
    back = np.flatnonzero(v[trough + 1 :] >= peak_value)
    recovery = trough + 1 + int(back[0]) if back.size else None
    end = int(ts[recovery]) if recovery is not None else int(ts[-1])
    return Drawdown(
        depth=depth,
        peak_ns=int(ts[peak]),
        trough_ns=int(ts[trough]),
        recovery_ns=None if recovery is None else int(ts[recovery]),
        duration_ns=end - int(ts[peak]),
        peak_value=peak_value,
        trough_value=float(v[trough]),
    )


def longest_underwater_ns(ts_ns: npt.ArrayLike, values: npt.ArrayLike) -> int:
    """Longest time spent below a previous peak: from the peak sample to the first sample
    back at (or above) it, or to the last sample if the curve is still under water."""
    ts = _as_int(ts_ns)
    v = _as_float(values)
    if v.size < 2:
        return 0
    at_peak = np.flatnonzero(v >= np.maximum.accumulate(v))  # index 0 is always a peak
    spells = [int(ts[b] - ts[a]) for a, b in itertools.pairwise(at_peak) if b - a > 1]
    if at_peak[-1] != v.size - 1:  # still under water at the end
        spells.append(int(ts[-1] - ts[at_peak[-1]]))
    return max(spells, default=0)


def calmar_ratio(annual_return: float | None, drawdown: float | None) -> float | None:
    """`annualised return / max drawdown` (drawdown as a positive fraction over the same
    window); None without a drawdown or a return."""
    if annual_return is None or drawdown is None or drawdown <= 0:
        return None
    return float(annual_return / drawdown)


# --- fills -------------------------------------------------------------------------------

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One position in one symbol from flat back to flat.

    `realized` is the average-cost P&L of the closing fills (as `Portfolio` books it,
    before fees); `fees` are the fees of every fill in the trip, a fill that flips the
    position through zero being split pro rata by quantity between the trip it closes and
    the one it opens. `net = realized − fees` decides win or loss.
    """

    symbol: str
    direction: int  # +1 long, −1 short
    open_ns: int
    close_ns: int
    fills: int
    realized: Decimal
    fees: Decimal

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees


@dataclass(slots=True)
class _OpenTrip:
    direction: int
    open_ns: int
    fills: int = 0
    realized: Decimal = _ZERO
    fees: Decimal = _ZERO


def round_trips(fills: Iterable[OrderFilled]) -> list[RoundTrip]:
    """Closed round trips of `fills` (replayed in the given order, per symbol, with the
    engine's average-cost `Position`), ordered by close time. A trip still open at the end
    is not returned."""
    positions: dict[str, Position] = {}
    open_trips: dict[str, _OpenTrip] = {}
    done: list[RoundTrip] = []
    for fill in fills:
        pos = positions.setdefault(fill.symbol, Position(fill.symbol))
        signed = fill.quantity if fill.side.sign > 0 else -fill.quantity
        before = pos.quantity
        realized = pos.apply_fill(signed, fill.price)
        after = pos.quantity
        reducing = before != 0 and (before > 0) != (signed > 0)
        closed = reducing and (after == 0 or (after > 0) != (before > 0))
        close_fee = fill.fee * min(abs(signed), abs(before)) / abs(signed) if closed else _ZERO
        trip = open_trips.get(fill.symbol)
        if trip is not None:
            trip.fills += 1
            trip.realized += realized
            trip.fees += close_fee if closed else fill.fee
            if closed:
                done.append(
                    RoundTrip(
                        fill.symbol, trip.direction, trip.open_ns, fill.ts_event,
                        trip.fills, trip.realized, trip.fees,
                    )
                )  # fmt: skip
                del open_trips[fill.symbol]
        if after != 0 and (trip is None or closed):
            direction = 1 if after > 0 else -1
            open_trips[fill.symbol] = _OpenTrip(
                direction, fill.ts_event, 1, _ZERO, fill.fee - close_fee
            )
    return done


def win_rate(trips: Iterable[RoundTrip]) -> float | None:
    """Share of round trips with `net > 0` (break-even counts as not a win); None if none."""
    nets = [t.net for t in trips]
    if not nets:
        return None
    return sum(1 for n in nets if n > 0) / len(nets)


def profit_factor(trips: Iterable[RoundTrip]) -> float | None:
    """`Σ net of winning trips / |Σ net of losing trips|`; None without a losing trip."""
    nets = [t.net for t in trips]
    losses = -sum((n for n in nets if n < 0), _ZERO)
    if losses <= 0:
        return None
    return float(sum((n for n in nets if n > 0), _ZERO) / losses)


def fees_total(fills: Iterable[OrderFilled]) -> Decimal:
    """Σ fee (quote currency, positive is a cost)."""
    return sum((f.fee for f in fills), _ZERO)


def traded_notional(fills: Iterable[OrderFilled]) -> Decimal:
    """Σ |quantity × price| over both sides."""
    return sum((abs(f.quantity * f.price) for f in fills), _ZERO)


def turnover(notional: Decimal | float, average_equity: Decimal | float) -> float | None:
    """`traded notional / average equity` over the same window (2.0 = the book traded its
    value twice, counting buys and sells); None when the average equity is not positive."""
    if float(average_equity) <= 0:
        return None
    return float(notional) / float(average_equity)
