"""Return histories for risk: where the numbers behind VaR and correlation come from.

Paper mode trades a simulated market that has no past, so its history is simulated too:
daily returns drawn from the same calibrated process the market uses (volatility
clustering, the correlation measured on the real BTC/ETH/LTC daily data). Every output
that uses it says so (`source`). Real histories (CSV files, venue candles) load through
`load_daily_closes`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from traider.engine.core.clock import NANOS_PER_SECOND

DAY_NS = 86_400 * NANOS_PER_SECOND


@dataclass(frozen=True)
class ReturnHistory:
    symbols: tuple[str, ...]
    returns: np.ndarray  # (T, N) simple daily returns, oldest first
    source: str  # "simulated (seed 7)", "file bitstamp_....csv"


def simulated_daily_returns(
    symbols: tuple[str, ...], days: int = 730, seed: int = 7
) -> ReturnHistory:
    """`days` daily returns from the simulated market's fair-price process."""
    from traider.sim.orderflow import FairPriceProcess, RandomStream

    rnd = RandomStream(np.random.default_rng(seed))
    process = FairPriceProcess(symbols, rnd, start_ns=0, step_ns=DAY_NS)
    closes = np.empty((days + 1, len(symbols)))
    closes[0] = process.prices
    for t in range(1, days + 1):
        process.step()
        closes[t] = process.prices
    returns = closes[1:] / closes[:-1] - 1.0
    return ReturnHistory(tuple(symbols), returns, f"simulated (seed {seed}, {days} days)")


def load_daily_closes(path: Path, symbols: tuple[str, ...] | None = None) -> ReturnHistory:
    """Daily closes from a CSV with `date, symbol, close` (long format, like the Bitstamp
    and Bitfinex files) or `ts, close` (one series). Returns over dates every symbol has."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no rows")
    if "symbol" in rows[0]:
        by_symbol: dict[str, dict[str, float]] = {}
        for row in rows:
            by_symbol.setdefault(row["symbol"], {})[row["date"][:10]] = float(row["close"])
        wanted = symbols or tuple(sorted(by_symbol))
        missing = [s for s in wanted if s not in by_symbol]
        if missing:
            raise ValueError(
                f"{path}: no data for {', '.join(missing)}; has {', '.join(by_symbol)}"
            )
        dates = sorted(set.intersection(*(set(by_symbol[s]) for s in wanted)))
        closes = np.array([[by_symbol[s][d] for s in wanted] for d in dates])
    else:
        key = "date" if "date" in rows[0] else "ts"
        wanted = symbols or (path.stem,)
        ordered = sorted(rows, key=lambda r: r[key])
        dates = [r[key][:10] for r in ordered]
        closes = np.array([[float(r["close"])] for r in ordered])
    if len(closes) < 3:
        raise ValueError(f"{path}: fewer than 3 common dates")
    # a gap in the data is a gap: a 13-day hole must not count as one day's return
    days = np.array([date.fromisoformat(d).toordinal() for d in dates])
    one_day = np.diff(days) == 1
    returns = (closes[1:] / closes[:-1] - 1.0)[one_day]
    skipped = int((~one_day).sum())
    note = f", {skipped} gaps skipped" if skipped else ""
    return ReturnHistory(tuple(wanted), returns, f"file {path.name}{note}")
