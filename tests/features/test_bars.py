"""Bar features: hand-checked values, strict causality, completed-bar higher timeframes."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from traider.engine.features.bars import (
    FEATURES,
    bar_features,
    feature_columns,
    make_dataset,
    timeframe_ns,
    trades_to_bars,
)

MIN = 60_000_000_000
HOUR = 60 * MIN
BTC_1H = Path(__file__).resolve().parents[2].parent / "shared/data/ohlcv/coinbase_btcusd_1h.csv"


def bars_from_close(close: list[float] | np.ndarray, step: int = HOUR, t0: int = 0) -> pl.DataFrame:
    c = np.asarray(close, dtype=np.float64)
    n = c.size
    return pl.DataFrame(
        {
            "ts": t0 + np.arange(n, dtype=np.int64) * step,
            "open": c,
            "high": c * 1.01,
            "low": c * 0.99,
            "close": c,
            "volume": 1.0 + (np.arange(n) % 7).astype(np.float64),
        }
    )


def random_bars(n: int, step: int, seed: int, t0: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(0.002 * rng.standard_normal(n)))
    df = bars_from_close(close, step, t0)
    return df.with_columns(
        pl.Series("high", close * (1 + np.abs(0.001 * rng.standard_normal(n)))),
        pl.Series("low", close * (1 - np.abs(0.001 * rng.standard_normal(n)))),
        pl.Series("volume", rng.uniform(1.0, 5.0, n)),
    )


def test_timeframes() -> None:
    assert timeframe_ns("1m") == MIN
    assert timeframe_ns("15m") == 15 * MIN
    assert timeframe_ns("1h") == HOUR
    assert timeframe_ns("1d") == 24 * HOUR
    for bad in ("", "0m", "1w", "h1"):
        with pytest.raises(ValueError):
            timeframe_ns(bad)


def test_hand_checked_rsi_and_returns() -> None:
    # 7 gains of +2 and 7 losses of -1 in the first 14 changes, then +3
    changes = [2, -1] * 7 + [3]
    close = np.concatenate([[100.0], 100.0 + np.cumsum(changes)])
    f = bar_features(bars_from_close(close))
    rsi = f["rsi_14_1h"].to_list()
    assert all(v is None for v in rsi[:14])
    # seed: avg gain 14/14 = 1, avg loss 7/14 = 0.5 -> RSI 100 * 1 / 1.5
    assert rsi[14] == pytest.approx(100.0 / 1.5)
    # Wilder: gain (13 * 1 + 3) / 14, loss 13 * 0.5 / 14 -> 100 * 16 / (16 + 6.5)
    assert rsi[15] == pytest.approx(100.0 * 16.0 / 22.5)

    r1, r3, r12 = (f[f"ret_{k}_1h"].to_list() for k in (1, 3, 12))
    assert r1[0] is None
    assert r3[2] is None
    assert r12[11] is None
    assert r1[1] == pytest.approx(math.log(102 / 100))
    assert r3[3] == pytest.approx(math.log(close[3] / close[0]))  # 103 / 100
    assert r12[15] == pytest.approx(math.log(close[15] / close[3]))
    assert f["range_bps_1h"][0] == pytest.approx(0.02 * 1e4)


def test_rsi_flat_and_monotone() -> None:
    up = bar_features(bars_from_close(np.arange(100.0, 130.0)))["rsi_14_1h"]
    assert up[14] == pytest.approx(100.0)
    assert up[-1] == pytest.approx(100.0)
    flat = bar_features(bars_from_close(np.full(30, 50.0)))
    assert flat["rsi_14_1h"][20] == 50.0
    assert flat["vol_20_1h"][25] == 0.0


def test_moving_averages_and_volume_z() -> None:
    df = random_bars(120, HOUR, seed=3)
    f = bar_features(df)
    c, v = df["close"].to_numpy(), df["volume"].to_numpy()
    i = 80
    assert f["dist_ma20_bps_1h"][i] == pytest.approx((c[i] / c[i - 19 : i + 1].mean() - 1) * 1e4)
    assert f["dist_ma50_bps_1h"][i] == pytest.approx((c[i] / c[i - 49 : i + 1].mean() - 1) * 1e4)
    w = v[i - 19 : i + 1]
    assert f["volume_z_1h"][i] == pytest.approx((v[i] - w.mean()) / w.std(ddof=1))
    lr = np.diff(np.log(c))[i - 20 : i]
    assert f["vol_20_1h"][i] == pytest.approx(lr.std(ddof=1))
    assert f["dist_ma50_bps_1h"][48] is None
    assert f["dist_ma50_bps_1h"][49] is not None


@pytest.mark.parametrize("cut", [37, 300, 359, 360, 361, 599])
def test_causal_multi_timeframe(cut: int) -> None:
    """Changing every bar after `cut` leaves all features at rows <= cut unchanged."""
    tfs = ("1m", "5m", "15m", "1h")
    df = random_bars(4000, MIN, seed=4, t0=7 * MIN)  # data starts mid-bar for 15m and 1h
    base = bar_features(df, tfs)
    rng = np.random.default_rng(cut)
    n_after = df.height - cut - 1
    changed = df.with_columns(
        *(
            pl.when(pl.int_range(pl.len()) > cut)
            .then(pl.col(c) * pl.Series(rng.uniform(0.5, 2.0, df.height)))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("open", "high", "low", "close", "volume")
        )
    )
    assert n_after > 0
    other = bar_features(changed, tfs)
    assert_frame_equal(base.head(cut + 1), other.head(cut + 1))
    assert not base.tail(n_after).equals(other.tail(n_after))
    # truncating the future entirely gives the same rows too
    assert_frame_equal(base.head(cut + 1), bar_features(df.head(cut + 1), tfs, base="1m"))


def test_higher_timeframe_uses_only_completed_bars() -> None:
    df = random_bars(200, MIN, seed=5)
    f = bar_features(df, ("1m", "5m"))
    c = df["close"].to_numpy()
    r5 = f["ret_1_5m"].to_list()
    for i in range(10, 60):
        # row i (open at minute i) closes at i + 1; the last 5m bar closed by then ends at
        # minute 5 * floor((i + 1) / 5), its close is the 1m close at that minute - 1
        end = 5 * ((i + 1) // 5)
        assert r5[i] == pytest.approx(math.log(c[end - 1] / c[end - 6]))
    # at minute 9 (closes at 10) the bar [5, 10) is complete and used; at minute 8 only
    # [0, 5) is, and a 1-bar return needs two bars
    assert r5[9] == pytest.approx(math.log(c[9] / c[4]))
    assert r5[8] is None


def test_partial_first_higher_bar_dropped() -> None:
    df = random_bars(30, MIN, seed=6, t0=3 * MIN)  # first 5m bar [0, 5) only has minutes 3, 4
    f = bar_features(df, ("1m", "5m"))
    # bars [5, 10) and [10, 15) are the first two complete ones: ret_1_5m first at the row
    # closing at minute 15 (open 14, row index 11)
    first = next(i for i, v in enumerate(f["ret_1_5m"].to_list()) if v is not None)
    assert first == 11
    c = df["close"].to_numpy()
    assert f["ret_1_5m"][11] == pytest.approx(math.log(c[11] / c[6]))


def test_make_dataset_labels_and_drops() -> None:
    close = np.array([1.0, 2.0, 1.5, 1.5, 3.0, 2.0])
    feats = pl.DataFrame(
        {
            "ts": np.arange(6, dtype=np.int64) * HOUR,
            "close": close,
            "a": [None, 1.0, 2.0, 3.0, float("nan"), 5.0],
            "b": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    ds = make_dataset(feats, horizon_bars=1)
    # row 0: null feature, row 4: NaN, row 5: no future close
    assert ds.ts_ns.tolist() == [HOUR, 2 * HOUR, 3 * HOUR]
    assert ds.y.tolist() == [0, 0, 1]  # 2 -> 1.5 down, 1.5 -> 1.5 flat (not up), 1.5 -> 3 up
    assert ds.X.dtype == np.float32
    assert ds.feature_names == ("a", "b")
    ds2 = make_dataset(feats, horizon_bars=2)
    assert ds2.y.tolist() == [0, 1, 1]  # 2 -> 1.5, 1.5 -> 3.0, 1.5 -> 2.0


def test_trades_to_bars() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    trades = pl.DataFrame(
        {
            "ts": [t0.replace(second=s) for s in (1, 20, 59)] + [t0.replace(minute=2)],
            "price": [10.0, 12.0, 11.0, 9.0],
            "size": [1.0, 2.0, 3.0, 4.0],
        }
    )
    bars = trades_to_bars(trades, "1m")
    assert bars.columns == ["ts", "open", "high", "low", "close", "volume"]
    assert bars.schema["ts"] == trades.schema["ts"]
    assert bars["ts"].to_list() == [t0, t0.replace(minute=2)]  # minute 1 is a gap
    assert bars.row(0)[1:] == (10.0, 12.0, 10.0, 11.0, 6.0)


@pytest.mark.skipif(not BTC_1H.exists(), reason="shared data not present")
def test_real_hourly_btc() -> None:
    df = pl.read_csv(BTC_1H, try_parse_dates=True).rename({"volume_base": "volume"})
    f = bar_features(df, ("1h",))
    assert f.height == df.height
    assert [c for c in f.columns if c not in ("ts", "close")] == [f"{n}_1h" for n in FEATURES]
    ds = make_dataset(f)
    assert len(ds) > 19_000
    assert np.isfinite(ds.X).all()
    assert 0.45 < ds.y.mean() < 0.55
    rsi = ds.X[:, ds.feature_names.index("rsi_14_1h")]
    assert rsi.min() >= 0.0
    assert rsi.max() <= 100.0


def with_micro(df: pl.DataFrame, seed: int) -> pl.DataFrame:
    """`df` with two per-bar microstructure aggregates (some bars without samples: NaN)."""
    rng = np.random.default_rng(seed)
    ofi = rng.standard_normal(df.height)
    ofi[::17] = np.nan
    return df.with_columns(
        pl.Series("ms_ofi", ofi), pl.Series("ms_spread_bps", rng.uniform(0.5, 2.0, df.height))
    )


def test_micro_columns_pass_through_as_features() -> None:
    df = random_bars(300, MIN, seed=8)
    plain = bar_features(df, ("1m", "5m"))
    f = bar_features(with_micro(df, 8), ("1m", "5m"))
    # the ms_ columns come last, unchanged; everything else is as without them
    assert f.columns == [*plain.columns, "ms_ofi", "ms_spread_bps"]
    assert_frame_equal(f.drop("ms_ofi", "ms_spread_bps"), plain)
    assert_frame_equal(f.select("ms_ofi", "ms_spread_bps"),
                       with_micro(df, 8).select("ms_ofi", "ms_spread_bps"))  # fmt: skip
    assert feature_columns(f)[-2:] == ["ms_ofi", "ms_spread_bps"]
    ds = make_dataset(f)
    assert ds.feature_names[-2:] == ("ms_ofi", "ms_spread_bps")
    assert np.isfinite(ds.X).all()
    # a bar without samples (NaN) is dropped, not filled
    nan_ts = set(df.filter(pl.int_range(pl.len()) % 17 == 0)["ts"].to_list())
    assert not nan_ts & set(ds.ts_ns.tolist())
    assert len(ds) < len(make_dataset(plain))


@pytest.mark.parametrize("cut", [60, 149, 150, 151])
def test_micro_columns_are_causal(cut: int) -> None:
    """Changing the ms_ values (and the bars) after `cut` leaves rows <= cut unchanged."""
    tfs = ("1m", "5m")
    df = with_micro(random_bars(400, MIN, seed=9, t0=2 * MIN), 9)
    base = bar_features(df, tfs)
    later = pl.int_range(pl.len()) > cut
    changed = df.with_columns(
        pl.when(later).then(pl.col("ms_ofi") * 3.0 + 1.0).otherwise(pl.col("ms_ofi")),
        pl.when(later).then(-pl.col("ms_spread_bps")).otherwise(pl.col("ms_spread_bps")),
    )
    other = bar_features(changed, tfs)
    assert_frame_equal(base.head(cut + 1), other.head(cut + 1))
    assert not base.tail(df.height - cut - 1).equals(other.tail(df.height - cut - 1))
    assert_frame_equal(base.head(cut + 1), bar_features(df.head(cut + 1), tfs, base="1m"))
