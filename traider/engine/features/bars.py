"""Multi-timeframe bar features (polars), strictly causal, and the labelled `Dataset`.

`bar_features(bars, timeframes)` takes OHLCV bars (`ts` = bar OPEN time, as a polars
Datetime or int64 epoch nanoseconds; open, high, low, close, volume; one row per bar, in
time order; missing bars are gaps and are not filled) and returns one row per input bar:
`ts`, `close` and, per timeframe `tf`, the columns (suffix `_{tf}`)

* `ret_1`, `ret_3`, `ret_12`: log(close / close k bars earlier);
* `vol_20`: sample standard deviation of the last 20 one-bar log returns;
* `range_bps`: (high - low) / close of the bar, in bps;
* `volume_z`: (volume - mean) / sd of the last 20 volumes (0 when the sd is 0);
* `rsi_14`: Wilder's RSI in [0, 100]: average gain and loss seeded with the simple mean of
  the first 14 changes, then a ← (13·a + x) / 14; 50 when both averages are 0;
* `dist_ma20_bps`, `dist_ma50_bps`: (close / simple moving average - 1) in bps.

"k bars earlier" counts rows, so across a gap a return spans the gap. Warm-up rows are
null (`make_dataset` drops them).

The input's own bar length (`base`, inferred as the most common spacing of `ts` unless
given) is a timeframe whose features come straight from the rows. A longer timeframe
(a whole multiple of `base`) is built by aggregating the rows into bars aligned to the
epoch (a first bar that started before the data is dropped as partial) and its features
are attached to a row only once that higher bar has CLOSED: an as-of join, backward, of
the row's close time (ts + base) on the higher bar's close time (start + timeframe). A row
therefore sees only bars, base or higher, that ended by its own close: changing any bar
after t leaves every feature at rows <= t unchanged.

Microstructure aggregates: every input column whose name starts with `ms_` (e.g. the
`MICRO_COLUMNS` of `bar_micro.py`, per-bar means of order-book features) is passed
through unchanged (as Float64, after the timeframe columns) and is a feature. Each is an
aggregate of its own bar's samples, known at that bar's close like its OHLCV, and is not
aggregated to higher timeframes, so causality holds for them too: changing `ms_` values
after t leaves every feature at rows <= t unchanged. A null or NaN one (a bar without
samples) makes `make_dataset` drop the row. Frames without `ms_` columns are unaffected.

`trades_to_bars(trades, every)` turns trades (ts, price, size) into such bars;
`make_dataset(features, horizon_bars)` labels each row y = 1 if the close `horizon_bars`
rows ahead is strictly higher, dropping rows without that close or with a null, NaN or
infinite feature; `Dataset.ts_ns` is the row's `ts` (bar open) in epoch ns: the features
are known at ts + base, the label at the close of the bar `horizon_bars` rows later.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from traider.engine.models.base import Dataset

__all__ = [
    "FEATURES",
    "MICRO_PREFIX",
    "WARMUP_BARS",
    "bar_features",
    "feature_columns",
    "make_dataset",
    "timeframe_label",
    "timeframe_ns",
    "trades_to_bars",
]

FEATURES = (
    "ret_1",
    "ret_3",
    "ret_12",
    "vol_20",
    "range_bps",
    "volume_z",
    "rsi_14",
    "dist_ma20_bps",
    "dist_ma50_bps",
)
WARMUP_BARS = 50  # bars of a timeframe before all its features exist (dist_ma50_bps)
_NON_FEATURES = ("ts", "close")
MICRO_PREFIX = "ms_"  # per-bar microstructure aggregates, passed through as features
_OHLCV = ("open", "high", "low", "close", "volume")
_TF_RE = re.compile(r"^(\d+)([smhd])$")
_UNIT_NS = {"s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_UNIT_NS["d"] = 24 * _UNIT_NS["h"]
RSI_N = 14


def timeframe_ns(tf: str) -> int:
    """'1m' / '5m' / '15m' / '1h' / '1d' (any positive count of s, m, h, d) in ns."""
    m = _TF_RE.match(tf)
    if m is None or int(m.group(1)) <= 0:
        raise ValueError(f"bad timeframe {tf!r} (expected e.g. '1m', '15m', '1h')")
    return int(m.group(1)) * _UNIT_NS[m.group(2)]


def timeframe_label(ns: int) -> str:
    """The inverse of `timeframe_ns`: 60e9 -> '1m'."""
    for unit in ("d", "h", "m", "s"):
        if ns % _UNIT_NS[unit] == 0:
            return f"{ns // _UNIT_NS[unit]}{unit}"
    raise ValueError(f"bar spacing {ns} ns is not a whole number of seconds")


def _ts_ns(df: pl.DataFrame, col: str = "ts") -> pl.Expr:
    dtype = df.schema[col]
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.epoch("ns")
    if dtype.is_integer():
        return pl.col(col).cast(pl.Int64)
    raise TypeError(f"{col!r} must be a polars Datetime or int64 epoch ns, not {dtype}")


def _wilder(x: pl.Expr, n: int) -> pl.Expr:
    """Wilder's smoothing: null until index n, the mean of x[1..n] at n, then
    a_t = a_{t-1} + (x_t - a_{t-1}) / n (x[0], the diff of the first row, is null)."""
    idx = pl.int_range(pl.len())
    seeded = pl.when(idx == n).then(x.rolling_mean(n)).when(idx > n).then(x)
    return seeded.ewm_mean(alpha=1.0 / n, adjust=False)


def _tf_features(bars: pl.DataFrame, sfx: str) -> pl.DataFrame:
    """Feature columns of `bars` (sorted, one row per bar); row i uses rows <= i only."""
    c, v = pl.col("close"), pl.col("volume")
    logc = c.log()
    lr = logc.diff()
    d = c.diff()
    gain = _wilder(d.clip(lower_bound=0.0), RSI_N)
    loss = _wilder((-d).clip(lower_bound=0.0), RSI_N)
    v_mean, v_sd = v.rolling_mean(20), v.rolling_std(20)
    exprs = [
        *((logc - logc.shift(k)).alias(f"ret_{k}_{sfx}") for k in (1, 3, 12)),
        lr.rolling_std(20).alias(f"vol_20_{sfx}"),
        ((pl.col("high") - pl.col("low")) / c * 1e4).alias(f"range_bps_{sfx}"),
        pl.when(v_sd > 0)
        .then((v - v_mean) / v_sd)
        .when(v_sd == 0)
        .then(0.0)
        .alias(f"volume_z_{sfx}"),
        pl.when(gain + loss > 0)
        .then(100.0 * gain / (gain + loss))
        .when(gain.is_not_null())
        .then(50.0)
        .alias(f"rsi_14_{sfx}"),
        *((c / c.rolling_mean(n) - 1.0) * 1e4 for n in (20, WARMUP_BARS)),
    ]
    exprs[-2] = exprs[-2].alias(f"dist_ma20_bps_{sfx}")
    exprs[-1] = exprs[-1].alias(f"dist_ma50_bps_{sfx}")
    return bars.select(pl.col("_t"), *exprs)


def _infer_base(t: np.ndarray) -> int:
    diffs = np.diff(t)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        raise ValueError("cannot infer the bar length from fewer than 2 distinct ts; pass base")
    vals, counts = np.unique(diffs, return_counts=True)
    return int(vals[np.argmax(counts)])


def bar_features(
    df: pl.DataFrame, timeframes: Sequence[str] = ("1h",), *, base: str | None = None
) -> pl.DataFrame:
    """Features per timeframe for every input bar (see the module docstring)."""
    missing = [c for c in ("ts", *_OHLCV) if c not in df.columns]
    if missing:
        raise ValueError(f"bars lack columns {missing}")
    if not timeframes:
        raise ValueError("no timeframes")
    bars = df.select(
        pl.col("ts"),
        _ts_ns(df).alias("_t"),
        *(pl.col(c).cast(pl.Float64) for c in _OHLCV),
    )
    t = bars["_t"].to_numpy()
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("ts must be strictly increasing")
    base_ns = timeframe_ns(base) if base is not None else _infer_base(t)
    out = bars.select("ts", "_t", "close")
    for tf in timeframes:
        tf_ns = timeframe_ns(tf)
        if tf_ns < base_ns or tf_ns % base_ns:
            raise ValueError(f"timeframe {tf} is not a whole multiple of the bars' {base_ns} ns")
        if tf_ns == base_ns:
            out = out.hstack(_tf_features(bars, tf).drop("_t"))
            continue
        higher = (
            bars.with_columns((pl.col("_t") - pl.col("_t") % tf_ns).alias("_hs"))
            .group_by("_hs", maintain_order=True)
            .agg(
                pl.col("open").first(),
                pl.col("high").max(),
                pl.col("low").min(),
                pl.col("close").last(),
                pl.col("volume").sum(),
            )
            .filter(pl.col("_hs") >= (int(t[0]) if t.size else 0))  # drop a partial first bar
            .with_columns((pl.col("_hs") + tf_ns).alias("_t"))  # key: the bar's close time
        )
        feats = _tf_features(higher, tf).rename({"_t": "_hclose"})
        out = (
            out.with_columns((pl.col("_t") + base_ns).alias("_avail"))
            .join_asof(feats, left_on="_avail", right_on="_hclose", strategy="backward")
            .drop("_avail", "_hclose")
        )
    micro = [c for c in df.columns if c.startswith(MICRO_PREFIX)]
    if micro:  # the bar's own aggregates: known at its close, passed through as they are
        out = out.hstack(df.select(pl.col(c).cast(pl.Float64) for c in micro))
    return out.drop("_t")


def feature_columns(features: pl.DataFrame) -> list[str]:
    return [c for c in features.columns if c not in _NON_FEATURES]


def make_dataset(features: pl.DataFrame, horizon_bars: int = 1) -> Dataset:
    """Label y = 1 if close `horizon_bars` rows ahead > close; drop unusable rows."""
    return make_labelled(features, horizon_bars)[0]


def make_labelled(
    features: pl.DataFrame, horizon_bars: int = 1
) -> tuple[Dataset, npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """`make_dataset` plus, for the same rows, the forward simple return over the label
    horizon and the label window's end (the open time of the bar whose close is the
    label), which walk-forward purging and the P&L simulation need."""
    if horizon_bars < 1:
        raise ValueError("horizon_bars must be >= 1")
    cols = feature_columns(features)
    if not cols:
        raise ValueError("no feature columns")
    c = pl.col("close")
    fut = c.shift(-horizon_bars)
    ok = pl.all_horizontal([pl.col(n).is_finite() for n in cols]) & fut.is_not_null()
    rows = features.with_columns(
        (fut > c).cast(pl.Int8).alias("_y"),
        (fut / c - 1.0).alias("_fwd"),
        _ts_ns(features).alias("_t"),
        _ts_ns(features).shift(-horizon_bars).alias("_end"),
        ok.alias("_ok"),
    ).filter(pl.col("_ok").fill_null(False))
    X = rows.select(cols).to_numpy().astype(np.float32)
    dataset = Dataset(
        X=X.reshape(rows.height, len(cols)),
        y=rows["_y"].to_numpy().astype(np.int8),
        feature_names=tuple(cols),
        ts_ns=rows["_t"].to_numpy().astype(np.int64),
    )
    fwd = rows["_fwd"].to_numpy().astype(np.float64)
    end = rows["_end"].to_numpy().astype(np.int64)
    return dataset, fwd, end


def trades_to_bars(
    trades: pl.DataFrame, every: str = "1m", *, price: str = "price", size: str = "size"
) -> pl.DataFrame:
    """OHLCV bars (ts = bar open, same dtype as the trades' ts) from trades in time order;
    intervals without trades are absent (gaps)."""
    step = timeframe_ns(every)
    dtype = trades.schema["ts"]
    bars = (
        trades.select(_ts_ns(trades).alias("_t"), pl.col(price), pl.col(size))
        .with_columns((pl.col("_t") - pl.col("_t") % step).alias("_bs"))
        .group_by("_bs", maintain_order=True)
        .agg(
            pl.col(price).first().alias("open"),
            pl.col(price).max().alias("high"),
            pl.col(price).min().alias("low"),
            pl.col(price).last().alias("close"),
            pl.col(size).sum().alias("volume"),
        )
        .sort("_bs")
    )
    if isinstance(dtype, pl.Datetime):
        ts = pl.col("_bs").cast(pl.Datetime("ns")).dt.cast_time_unit(dtype.time_unit)
        if dtype.time_zone is not None:
            ts = ts.dt.replace_time_zone(dtype.time_zone)
    else:
        ts = pl.col("_bs").cast(dtype)
    return bars.select(ts.alias("ts"), *_OHLCV)
