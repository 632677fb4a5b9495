"""Per-bar microstructure aggregates: the sampler's means by hand, a hand-built recording
replayed end to end, and bars from a simulated-market recording."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from traider.cli_replay import record_simulated
from traider.engine.core.events import BookDelta, BookSnapshot, Event, TradeTick
from traider.engine.core.types import BookSide, Side
from traider.engine.features.bar_micro import (
    MICRO_COLUMNS,
    MicroBarSampler,
    micro_bars_from_recording,
)
from traider.engine.features.bars import MICRO_PREFIX
from traider.engine.features.microstructure import FeatureVector
from traider.engine.marketdata.recording import write_recording

S = 1_000_000_000
MIN = 60 * S
T0 = 1_700_000_040 * S  # a minute boundary


def vec(
    ts: int,
    ofi: float = 0.0,
    imb5: float = 0.0,
    spread: float = 1.0,
    dev: float = 0.0,
    tsi: float = 0.0,
    rv: float = 0.0,
    *,
    valid: bool = True,
    symbol: str = "BTC-USD",
) -> FeatureVector:
    return FeatureVector(
        symbol, ts, valid, 0.0, ofi, (ofi,), 0.0, imb5, 0.0, spread, 100.0, 100.0, 100.0,
        dev, False, (), 0.0, tsi, rv,
    )  # fmt: skip


def test_micro_columns_are_prefixed_for_bar_features() -> None:
    assert len(MICRO_COLUMNS) == 6
    assert all(c.startswith(MICRO_PREFIX) for c in MICRO_COLUMNS)


def test_sampler_means_by_hand_across_two_bars() -> None:
    sampler = MicroBarSampler(["BTC-USD", "ETH-USD"], MIN)
    sampler.sample("BTC-USD", vec(T0 + 1 * S, 2.0, 0.5, 1.0, -1.0, 1.0, 1e-4))
    sampler.sample("BTC-USD", vec(T0 + 30 * S, -1.0, -0.1, 3.0, 2.0, 0.0, 3e-4))
    sampler.sample("BTC-USD", vec(T0 + 45 * S, 100.0, 1.0, 99.0, valid=False))  # ignored
    sampler.sample("BTC-USD", vec(T0 + 30 * S, 100.0, 1.0, 99.0))  # a repeat: ignored
    sampler.sample("BTC-USD", vec(T0 + 59 * S, 5.0, 0.2, 2.0, 5.0, -1.0, 2e-4))
    sampler.sample("BTC-USD", vec(T0 + 60 * S, 7.0, -0.4, 4.0, 1.0, 0.5, 5e-4))  # next bar
    sampler.sample("BTC-USD", vec(T0 + 61 * S, math.nan, 0.0, 4.0))  # not finite: ignored
    sampler.sample("XRP-USD", vec(T0 + 2 * S, 1.0, symbol="XRP-USD"))  # unknown: ignored
    sampler.sample("ETH-USD", vec(T0 + 3 * S, 4.0, 0.3, 6.0, symbol="ETH-USD"))

    first = sampler.take("BTC-USD", T0)
    assert first == pytest.approx(
        {
            "ms_ofi": (2.0 - 1.0 + 5.0) / 3,
            "ms_imbalance_5": (0.5 - 0.1 + 0.2) / 3,
            "ms_spread_bps": (1.0 + 3.0 + 2.0) / 3,
            "ms_microprice_dev_bps": (-1.0 + 2.0 + 5.0) / 3,
            "ms_trade_sign_imbalance": (1.0 + 0.0 - 1.0) / 3,
            "ms_realized_vol": (1e-4 + 3e-4 + 2e-4) / 3,
        }
    )
    assert list(first) == list(MICRO_COLUMNS)
    sampler.sample("BTC-USD", vec(T0 + 65 * S, 1.0))
    assert sampler.take("BTC-USD", T0 + MIN) == pytest.approx(
        {"ms_ofi": 4.0, "ms_imbalance_5": -0.2, "ms_spread_bps": 2.5,
         "ms_microprice_dev_bps": 0.5, "ms_trade_sign_imbalance": 0.25,
         "ms_realized_vol": 2.5e-4}
    )  # fmt: skip
    assert sampler.take("ETH-USD", T0)["ms_spread_bps"] == 6.0  # symbols are separate


def test_sampler_empty_bar_is_nan_and_taken_bars_are_forgotten() -> None:
    sampler = MicroBarSampler(["BTC-USD"], MIN)
    assert all(math.isnan(v) for v in sampler.take("BTC-USD", T0).values())
    sampler.sample("BTC-USD", vec(T0 + 10 * S, 1.0))
    sampler.sample("BTC-USD", vec(T0 + 70 * S, 3.0))
    # taking bar 1 forgets bar 0 too (older than bar 1's end)
    assert sampler.take("BTC-USD", T0 + MIN)["ms_ofi"] == 3.0
    assert math.isnan(sampler.take("BTC-USD", T0)["ms_ofi"])
    # a vector stamped inside a bar already handed out is ignored
    sampler.sample("BTC-USD", vec(T0 + 100 * S, 9.0))
    sampler.sample("BTC-USD", vec(T0 + 130 * S, 2.0))
    assert sampler.take("BTC-USD", T0 + 2 * MIN)["ms_ofi"] == 2.0
    with pytest.raises(ValueError, match="multiple"):
        sampler.take("BTC-USD", T0 + 1)
    assert all(math.isnan(v) for v in sampler.take("XRP-USD", T0).values())


def test_sampler_stays_bounded_without_take() -> None:
    sampler = MicroBarSampler(["BTC-USD"], MIN)
    for k in range(1000):
        sampler.sample("BTC-USD", vec(T0 + k * MIN, float(k)))
    assert math.isnan(sampler.take("BTC-USD", T0)["ms_ofi"])  # long dropped
    assert sampler.take("BTC-USD", T0 + 999 * MIN)["ms_ofi"] == 999.0


def _hand_recording(path: Path) -> None:
    """A constant book (bid 99 x 1, 98 x 2; ask 101 x 3, 102 x 1: mid 100, spread 200
    bps), a buy at +10 s, a sell at +70 s, then nothing until a deep level changes at
    +185 s."""
    sym = "BTC-USD"
    events: list[Event] = [
        BookSnapshot(T0, T0, sym, 1, ((99.0, 1.0), (98.0, 2.0)), ((101.0, 3.0), (102.0, 1.0))),
        TradeTick(T0 + 10 * S, T0 + 10 * S, sym, 1, 101.0, 1.0, Side.BUY),
        TradeTick(T0 + 70 * S, T0 + 70 * S, sym, 2, 99.0, 2.0, Side.SELL),
        BookDelta(T0 + 185 * S, T0 + 185 * S, sym, 2, BookSide.BID, 98.0, 2.5),
    ]
    write_recording(path, events)


def test_recording_replayed_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "hand.parquet"
    _hand_recording(path)
    calls: list[tuple[float, str]] = []
    bars = micro_bars_from_recording(path, progress=lambda f, m: calls.append((f, m)))
    df = bars["BTC-USD"]
    assert df.columns == ["ts", "open", "high", "low", "close", "volume", *MICRO_COLUMNS]
    assert df.schema["ts"] == pl.Datetime("ns", "UTC")
    # the bar the recording ends inside ([180, 240) s) is not complete: left out
    assert df["ts"].dt.epoch("ns").to_list() == [T0, T0 + MIN, T0 + 2 * MIN]
    assert df.select("open", "high", "low", "close", "volume").rows() == [
        (101.0, 101.0, 101.0, 101.0, 1.0),
        (101.0, 101.0, 99.0, 99.0, 2.0),
        (99.0, 99.0, 99.0, 99.0, 0.0),  # no trades: flat at the last price, as live
    ]
    bar0, bar1, bar2 = df.select(MICRO_COLUMNS).rows(named=True)
    # bar 0 is sampled twice (at 0 s after the snapshot and at 10 s after the buy); the
    # samples between repeat the same state and are ignored
    weighted_mid = (1.0 * 101.0 + 3.0 * 99.0) / 4.0  # the microprice before any fit
    same = {"ms_ofi": 0.0, "ms_imbalance_5": (3.0 - 4.0) / 7.0, "ms_spread_bps": 200.0,
            "ms_microprice_dev_bps": (weighted_mid - 100.0) / 100.0 * 1e4,
            "ms_realized_vol": 0.0}  # fmt: skip
    assert bar0 == pytest.approx({**same, "ms_trade_sign_imbalance": (0.0 + 1.0) / 2})
    assert bar1 == pytest.approx({**same, "ms_trade_sign_imbalance": -1.0})
    assert all(math.isnan(v) for v in bar2.values())  # no event, no sample
    assert calls[-1][0] == 1.0


@pytest.fixture(scope="module")
def sim_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "sim.parquet"
    record_simulated(path, ("BTC-USD", "ETH-USD"), 200.0)  # ~1.5 s
    return path


def test_bars_from_a_simulated_recording(sim_recording: Path) -> None:
    bars = micro_bars_from_recording(sim_recording, symbols=["BTC-USD"])
    assert list(bars) == ["BTC-USD"]
    df = bars["BTC-USD"]
    start = 1_700_000_000 * S  # SimClock's default start, 20 s into a minute
    t = df["ts"].dt.epoch("ns").to_numpy()
    # complete minutes only: [start, start + 200 s) holds 2 whole ones after 22:13:20
    assert t.tolist() == [start + 40 * S, start + 100 * S]
    assert df.height == 2
    micro = df.select(MICRO_COLUMNS).to_numpy()
    assert np.isfinite(micro).all()
    assert (df["ms_spread_bps"] > 0).all()
    for col in ("ms_imbalance_5", "ms_trade_sign_imbalance"):
        assert np.abs(df[col].to_numpy()).max() <= 1.0
    o, h, lo, c, v = (df[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    assert (lo <= np.minimum(o, c)).all()
    assert (h >= np.maximum(o, c)).all()
    assert (v >= 0).all()
    assert o[1] == c[0]  # a bar opens at the previous close, as live bars do
    # the volume is every trade printed inside the bars
    trades = pl.read_parquet(sim_recording).filter(
        (pl.col("kind") == "trade") & (pl.col("symbol") == "BTC-USD")
        & (pl.col("ts_event") >= int(t[0])) & (pl.col("ts_event") < int(t[-1]) + MIN)
    )  # fmt: skip
    assert v.sum() == pytest.approx(trades["size"].sum())


def test_every_symbol_by_default_and_unknown_symbols_refused(sim_recording: Path) -> None:
    bars = micro_bars_from_recording(sim_recording, every_s=30, sample_ms=500)
    assert sorted(bars) == ["BTC-USD", "ETH-USD"]
    for df in bars.values():
        assert df.height == 6  # 30 s bars from 22:13:30 to 22:16:00
        assert np.isfinite(df.select(MICRO_COLUMNS).to_numpy()).all()
    with pytest.raises(ValueError, match="no XRP-USD"):
        micro_bars_from_recording(sim_recording, symbols=["XRP-USD"])
    with pytest.raises(ValueError, match="does not divide"):
        micro_bars_from_recording(sim_recording, sample_ms=7000)
