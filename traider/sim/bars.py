"""OHLCV bars from the simulated market's own fair-price process, fast.

The simulated book follows a latent fair price (`FairPriceProcess`: correlated shocks,
GARCH-like variance, bursts). Model training, `traider evaluate --sim` and the live
models' history backfill need many bars of *that* process, and running the whole order
book for days of simulated time would take minutes; so the process is stepped alone on a
coarser grid (`step_s`, default 5 s: its GARCH persistence and burst odds are derived
from the step, so the statistics per unit of time are the same) and each bar's open, high,
low and close are taken from the steps inside it.

Volume is a proxy (the crowd's market orders are not simulated here): per step, one
market-order notional (log-normal around the calibration's median) times four in a burst,
converted to base units at the step's price. It is labelled as such wherever it is shown.

`simulated_bars(..., end_ns=t)` ends the last bar at `t`, and `end_prices` rescales each
path so its last close equals the given price (returns are unchanged): the live engine
uses that to backfill history that joins the market it is about to run, as a live venue
adapter would fetch past candles from the exchange.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from traider.sim import calibration as cal
from traider.sim.orderflow import FairPriceProcess, RandomStream

__all__ = ["simulated_bars"]

_NS = 1_000_000_000


def simulated_bars(
    symbols: Sequence[str],
    n_bars: int,
    *,
    every_s: int = 60,
    seed: int = 7,
    end_ns: int | None = None,
    step_s: float = 5.0,
    end_prices: Mapping[str, float] | None = None,
) -> dict[str, pl.DataFrame]:
    """`n_bars` bars of `every_s` seconds per symbol: columns ts (Datetime ns, UTC, bar
    open), open, high, low, close, volume. Deterministic per `seed`."""
    if n_bars < 1:
        raise ValueError(f"n_bars must be >= 1, got {n_bars}")
    if every_s < 1:
        raise ValueError(f"every_s must be >= 1, got {every_s}")
    steps_per_bar = max(1, round(every_s / step_s))
    step_ns = every_s * _NS // steps_per_bar
    bar_ns = steps_per_bar * step_ns
    end = end_ns if end_ns is not None else 1_700_000_000 * _NS
    end -= end % bar_ns
    start = end - n_bars * bar_ns
    rng = np.random.default_rng(seed)
    process = FairPriceProcess(symbols, RandomStream(rng), start, step_ns=step_ns)
    k = len(symbols)
    o = np.empty((k, n_bars))
    h = np.empty((k, n_bars))
    lo = np.empty((k, n_bars))
    c = np.empty((k, n_bars))
    v = np.zeros((k, n_bars))
    size_noise = rng.lognormal(0.0, cal.LEVEL_NOTIONAL_LOG_SD / 2, size=(n_bars, steps_per_bar))
    for b in range(n_bars):
        first = list(process.prices)
        high = list(first)
        low = list(first)
        for s in range(steps_per_bar):
            burst = process.in_burst(process.t_ns)
            process.step()
            notional = cal.MARKET_NOTIONAL_MEDIAN * size_noise[b, s] * (4.0 if burst else 1.0)
            for i, p in enumerate(process.prices):
                high[i] = max(high[i], p)
                low[i] = min(low[i], p)
                v[i, b] += notional / p
        o[:, b] = first
        h[:, b] = high
        lo[:, b] = low
        c[:, b] = process.prices
    ts = pl.Series("ts", np.arange(n_bars, dtype=np.int64) * bar_ns + start).cast(
        pl.Datetime("ns", "UTC")
    )
    out: dict[str, pl.DataFrame] = {}
    for i, sym in enumerate(symbols):
        scale = 1.0
        if end_prices is not None and sym in end_prices:
            target = float(end_prices[sym])
            if not (math.isfinite(target) and target > 0):
                raise ValueError(f"end price of {sym} must be > 0, got {target}")
            scale = target / float(c[i, -1])
        out[sym] = pl.DataFrame(
            {
                "ts": ts,
                "open": o[i] * scale,
                "high": h[i] * scale,
                "low": lo[i] * scale,
                "close": c[i] * scale,
                "volume": v[i] / scale,
            }
        )
    return out
