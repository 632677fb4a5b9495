"""Numbers the simulated market is calibrated to, computed offline from real data.

Nothing here reads files at run time: the figures were measured once from the data set in
`shared/data` (see its README) and are hard-coded below.
"""

from __future__ import annotations

import math

# Correlation of daily close-to-close log returns, Bitstamp BTC/ETH/LTC-USD, from
# `shared/data/ohlcv/bitstamp_btc_eth_ltc_usd_1d.csv` over the dates all three symbols
# share: 2017-11-09 → 2020-01-17, 786 daily returns (the one return spanning the data gap
# 2019-03-19 → 2019-04-01 is dropped; keeping it changes nothing at this precision).
# The same data gave daily log-return standard deviations of 4.32% (BTC), 5.26% (ETH)
# and 5.87% (LTC); the volatilities below are set lower, closer to recent years.
CORRELATION_SYMBOLS: tuple[str, ...] = ("BTC-USD", "ETH-USD", "LTC-USD")
DAILY_RETURN_CORRELATION: tuple[tuple[float, ...], ...] = (
    (1.0000, 0.7450, 0.7181),
    (0.7450, 1.0000, 0.8140),
    (0.7181, 0.8140, 1.0000),
)

# No SOL data in the set: SOL-USD uses LTC-USD's row as its proxy (a liquid large-cap alt
# that trades with BTC and ETH); any other unknown symbol does the same.
PROXY_SYMBOL: dict[str, str] = {"SOL-USD": "LTC-USD"}
DEFAULT_PROXY = "LTC-USD"
# Correlation between two symbols that both stand in via the same proxy row.
PROXY_PAIR_CORRELATION = 0.80

START_PRICES: dict[str, float] = {
    "BTC-USD": 90_000.0,
    "ETH-USD": 3_000.0,
    "SOL-USD": 150.0,
    "LTC-USD": 90.0,
}
DEFAULT_START_PRICE = 100.0

# Daily log-return volatility.
DAILY_VOLS: dict[str, float] = {
    "BTC-USD": 0.030,
    "ETH-USD": 0.040,
    "SOL-USD": 0.050,
    "LTC-USD": 0.045,
}
DEFAULT_DAILY_VOL = 0.050

SECONDS_PER_DAY = 86_400.0

# Volatility clustering: GARCH(1,1) whose persistence decays with this time constant and
# whose variance has this relative variance (std of the variance / its mean, squared).
GARCH_TAU_S = 1_800.0
GARCH_VAR_OF_VAR = 0.6

# Bursts: market-wide, on average every BURST_EVERY_S seconds, lasting BURST_MEAN_S
# seconds (exponential), with volatility × BURST_VOL_MULT and event rate × BURST_RATE_MULT.
BURST_EVERY_S = 300.0
BURST_MEAN_S = 4.0
BURST_VOL_MULT = 3.0
BURST_RATE_MULT = 4.0

# Level events of the real Bitstamp BTC/USD L2 capture (shared/data/book): ~39% insert,
# ~21% update, ~39% delete; ~167 events/s on average.
TARGET_INSERT_SHARE = 0.39
TARGET_UPDATE_SHARE = 0.21
TARGET_DELETE_SHARE = 0.39

# Book shape: levels sit from HALF_SPREAD_FRAC to about DEPTH_FRAC away from fair price
# (denser near the top), never more sparsely than one per MIN_TICKS_PER_LEVEL ticks.
HALF_SPREAD_FRAC = 0.00002
DEPTH_FRAC = 0.02
MIN_TICKS_PER_LEVEL = 1.5
# Crowd order sizes: lognormal notional (quote currency) with this median and log-sd.
LEVEL_NOTIONAL_MEDIAN = 3_000.0
LEVEL_NOTIONAL_LOG_SD = 1.2
MARKET_NOTIONAL_MEDIAN = 1_500.0
MARKET_NOTIONAL_LOG_SD = 1.0


def start_price(symbol: str) -> float:
    return START_PRICES.get(symbol, DEFAULT_START_PRICE)


def daily_vol(symbol: str) -> float:
    return DAILY_VOLS.get(symbol, DEFAULT_DAILY_VOL)


def _row_symbol(symbol: str) -> tuple[str, bool]:
    """The symbol whose correlation row is used, and whether it is a proxy."""
    if symbol in CORRELATION_SYMBOLS:
        return symbol, False
    return PROXY_SYMBOL.get(symbol, DEFAULT_PROXY), True


def correlation_matrix(symbols: list[str] | tuple[str, ...]) -> list[list[float]]:
    """The daily-return correlation matrix for `symbols`, in their order."""
    rows = [_row_symbol(s) for s in symbols]
    n = len(symbols)
    out = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            (ri, pi), (rj, pj) = rows[i], rows[j]
            if ri == rj:
                out[i][j] = PROXY_PAIR_CORRELATION if (pi or pj) else 1.0
            else:
                a = CORRELATION_SYMBOLS.index(ri)
                b = CORRELATION_SYMBOLS.index(rj)
                out[i][j] = DAILY_RETURN_CORRELATION[a][b]
    return out


def cholesky(matrix: list[list[float]]) -> list[list[float]]:
    """Lower-triangular L with L·Lᵀ = matrix, shrinking toward identity if not PD."""
    n = len(matrix)
    shrink = 1.0
    while True:
        m = [[matrix[i][j] * (shrink if i != j else 1.0) for j in range(n)] for i in range(n)]
        low = [[0.0] * n for _ in range(n)]
        ok = True
        for i in range(n):
            for j in range(i + 1):
                s = m[i][j] - sum(low[i][k] * low[j][k] for k in range(j))
                if i == j:
                    if s <= 1e-12:
                        ok = False
                        break
                    low[i][j] = math.sqrt(s)
                else:
                    low[i][j] = s / low[j][j]
            if not ok:
                break
        if ok:
            return low
        shrink *= 0.95
