"""Bars from the simulated fair-price process: shape, OHLC sanity, determinism, scale."""

from __future__ import annotations

import numpy as np

from traider.sim.bars import simulated_bars


def test_bars_are_well_formed_and_deterministic() -> None:
    a = simulated_bars(["BTC-USD", "ETH-USD"], 300, seed=3)
    b = simulated_bars(["BTC-USD", "ETH-USD"], 300, seed=3)
    c = simulated_bars(["BTC-USD", "ETH-USD"], 300, seed=4)
    btc = a["BTC-USD"]
    assert btc.height == 300
    assert btc.equals(b["BTC-USD"])
    assert not btc.equals(c["BTC-USD"])
    ts = btc["ts"].dt.epoch("ns").to_numpy()
    assert (np.diff(ts) == 60 * 10**9).all()
    assert (btc["high"] >= btc[["open", "close"]].max_horizontal()).all()
    assert (btc["low"] <= btc[["open", "close"]].min_horizontal()).all()
    assert (btc["volume"] > 0).all()
    # the next bar opens where the previous closed: one continuous path
    assert np.allclose(btc["open"].to_numpy()[1:], btc["close"].to_numpy()[:-1])


def test_end_time_and_end_price_join_the_live_market() -> None:
    end_ns = 1_800_000_000 * 10**9 + 17
    bars = simulated_bars(["ETH-USD"], 50, end_ns=end_ns, end_prices={"ETH-USD": 1234.5})
    eth = bars["ETH-USD"]
    last_open = int(eth["ts"].dt.epoch("ns")[-1])
    assert last_open + 60 * 10**9 <= end_ns < last_open + 2 * 60 * 10**9
    assert abs(eth["close"][-1] - 1234.5) < 1e-9
    plain = simulated_bars(["ETH-USD"], 50, end_ns=end_ns)["ETH-USD"]
    # rescaling keeps the returns
    assert np.allclose(np.diff(np.log(eth["close"].to_numpy())),
                       np.diff(np.log(plain["close"].to_numpy())))


def test_returns_are_volatile_but_not_absurd() -> None:
    btc = simulated_bars(["BTC-USD"], 1440, seed=1)["BTC-USD"]  # one simulated day
    r = np.diff(np.log(btc["close"].to_numpy()))
    daily = float(r.std() * np.sqrt(1440))
    assert 0.005 < daily < 0.2, daily
