from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from traider.config import RiskConfig
from traider.engine.risk.history import ReturnHistory, load_daily_closes
from traider.engine.risk.stress import (
    DailyPanel,
    StressLimits,
    historical_scenarios,
    liquidation_cost,
    load_daily_panel,
    run_stress,
    worst_drawdown_window,
    worst_windows,
)

DATA = (
    Path(__file__).resolve().parents[2].parent / "shared/data/ohlcv/bitstamp_btc_eth_ltc_usd_1d.csv"
)
needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not present")


def _direct_scan_worst_btc_day() -> tuple[str, float]:
    """Independent of the module: consecutive calendar days only."""
    with open(DATA, newline="") as fh:
        btc = sorted(
            (r["date"][:10], float(r["close"]))
            for r in csv.DictReader(fh)
            if r["symbol"] == "BTC-USD"
        )
    worst = ("", math.inf)
    for (d0, c0), (d1, c1) in itertools.pairwise(btc):
        if (dt.date.fromisoformat(d1) - dt.date.fromisoformat(d0)).days == 1:
            r = c1 / c0 - 1.0
            if r < worst[1]:
                worst = (d1, r)
    return worst


def _direct_beta(symbol: str, to: str) -> float:
    """Beta of daily returns over consecutive days both have, straight from the file."""
    closes: dict[str, dict[dt.date, float]] = {symbol: {}, to: {}}
    with open(DATA, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["symbol"] in closes:
                closes[r["symbol"]][dt.date.fromisoformat(r["date"][:10])] = float(r["close"])
    one = dt.timedelta(days=1)
    pairs = [
        (closes[symbol][d] / closes[symbol][d - one] - 1, closes[to][d] / closes[to][d - one] - 1)
        for d in closes[symbol]
        if d in closes[to] and d - one in closes[symbol] and d - one in closes[to]
    ]
    a, b = np.array(pairs).T
    return float(np.cov(a, b)[0, 1] / np.var(b, ddof=1))


@pytest.fixture(scope="module")
def panel() -> DailyPanel:
    if not DATA.exists():
        pytest.skip(f"{DATA} not present")
    return load_daily_panel(DATA)


@needs_data
def test_scenarios_include_the_largest_btc_daily_fall(panel: DailyPanel) -> None:
    day, value = _direct_scan_worst_btc_day()
    assert day.startswith("20")
    scenarios = historical_scenarios(panel)
    first = scenarios[0]
    assert first.window.kind == "1-day"
    assert first.window.end == day
    assert first.window.anchor_return == pytest.approx(value, abs=1e-12)
    assert first.total_return("BTC-USD") == pytest.approx(value, abs=1e-12)
    ones = [s.window.anchor_return for s in scenarios if s.window.kind == "1-day"]
    assert ones == sorted(ones)
    assert min(ones) == pytest.approx(value)


@needs_data
def test_a_scenario_window_lies_inside_2018_and_the_drawdown_is_the_2018_bear(
    panel: DailyPanel,
) -> None:
    scenarios = historical_scenarios(panel)
    inside = [s for s in scenarios if s.window.start >= "2018" and s.window.end < "2019"]
    assert inside, [s.window for s in scenarios]
    dd = worst_drawdown_window(panel)
    assert dd is not None
    assert dd.start >= "2017-12"
    assert dd.end.startswith("2018")
    assert dd.anchor_return < -0.75
    # the window's per-asset returns come from the data: ETH and LTC traded then
    sc = next(s for s in scenarios if s.window.kind == "drawdown")
    eth, ltc = sc.total_return("ETH-USD"), sc.total_return("LTC-USD")
    assert eth is not None
    assert ltc is not None
    assert eth < -0.75
    assert ltc < -0.75


@needs_data
def test_windows_never_span_a_hole_and_never_overlap(panel: DailyPanel) -> None:
    for h in (1, 5):
        windows = worst_windows(panel, "BTC-USD", h, 10)
        assert len(windows) == 10
        for w in windows:
            days = (dt.date.fromisoformat(w.end) - dt.date.fromisoformat(w.start)).days
            assert days == h
        ends = sorted(dt.date.fromisoformat(w.end) for w in windows)
        assert all((b - a).days >= h for a, b in itertools.pairwise(ends))


def test_worst_window_skips_a_gap_in_the_data() -> None:
    closes = {
        "2020-01-01": 100.0,
        "2020-01-02": 95.0,  # -5%
        "2020-01-05": 50.0,  # a -47% jump across missing days: not a 1-day return
        "2020-01-06": 45.0,  # -10%
    }
    panel = DailyPanel.from_series({"BTC-USD": closes})
    windows = worst_windows(panel, "BTC-USD", 1, 5)
    assert [(w.end, round(w.anchor_return, 6)) for w in windows] == [
        ("2020-01-06", -0.1),
        ("2020-01-02", -0.05),
    ]
    dd = worst_drawdown_window(panel)
    assert dd is not None
    assert (dd.start, dd.end, dd.anchor_return) == ("2020-01-01", "2020-01-06", -0.55)


def _two_asset_history() -> ReturnHistory:
    # BTC sample σ = 0.04·√(4/3), XYZ σ = 0.06·√(4/3): XYZ has 1.5 times BTC's σ
    btc = [0.04, -0.04, 0.04, -0.04]
    xyz = [0.06, 0.06, -0.06, -0.06]  # uncorrelated with BTC: ρ=1 ignores that
    return ReturnHistory(("BTC-USD", "XYZ-USD"), np.array([btc, xyz]).T, "hand")


def test_rho_one_shock_by_hand() -> None:
    # BTC -20% is z = -0.2/σ_BTC; XYZ moves z·σ_XYZ = -0.2·1.5 = -30%
    # P&L = 10,000·(-20%) + 5,000·(-30%) = -2,000 - 1,500 = -3,500
    limits = StressLimits(capital_usd=100_000.0)
    (rho1,) = [
        r
        for r in run_stress(
            {"BTC-USD": 10_000.0, "XYZ-USD": 5_000.0}, _two_asset_history(), None, limits
        )
        if r.name.startswith("BTC")
    ]
    assert rho1.kind == "hypothetical"
    assert rho1.returns["BTC-USD"] == pytest.approx(-0.20)
    assert rho1.returns["XYZ-USD"] == pytest.approx(-0.30)
    assert rho1.per_asset == pytest.approx({"BTC-USD": -2000.0, "XYZ-USD": -1500.0})
    assert rho1.pnl_usd == pytest.approx(-3500.0)
    # 3,500 is beyond 2% (2,000) and the 1% VaR budget; 3.5% reaches no drawdown tier
    assert [b.split(":")[0] for b in rho1.breaks] == ["daily loss limit", "VaR limit"]
    # a short XYZ gains: -2,000 + 1,500
    (hedged,) = [
        r
        for r in run_stress(
            {"BTC-USD": 10_000.0, "XYZ-USD": -5_000.0}, _two_asset_history(), None, limits
        )
        if r.name.startswith("BTC")
    ]
    assert hedged.pnl_usd == pytest.approx(-500.0)
    assert hedged.breaks == []


def test_eth_shock_moves_others_by_their_beta_and_checks_positions() -> None:
    eth = np.array([0.1, -0.1, 0.1, -0.1])
    btc = -0.5 * eth + np.array([0.02, 0.02, -0.02, -0.02])  # β to ETH exactly -0.5
    history = ReturnHistory(("BTC-USD", "ETH-USD"), np.column_stack([btc, eth]), "hand")
    limits = StressLimits(capital_usd=10_000.0)
    (res,) = [
        r
        for r in run_stress({"ETH-USD": 1_000.0, "BTC-USD": -1_700.0}, history, None, limits)
        if r.name.startswith("ETH")
    ]
    assert res.returns == pytest.approx({"ETH-USD": -0.30, "BTC-USD": 0.15})
    # ETH long loses 300, BTC short loses 1,700·15% = 255
    assert res.pnl_usd == pytest.approx(-555.0)
    # 555 > 2% and 1% of capital; the BTC short grows to 1,955 > 20% of the 9,445 left
    # (but not of the 10,000 before the move); a 5.55% drawdown reaches tier 1
    kinds = [b.split(":")[0] for b in res.breaks]
    assert kinds == ["daily loss limit", "VaR limit", "position limit", "drawdown tier 1"]
    assert "BTC-USD 1,955.00" in res.breaks[2]


def test_liquidation_cost_on_a_tiny_book() -> None:
    bids = [(99.0, 1.0), (98.0, 2.0)]
    asks = [(101.0, 1.0), (103.0, 3.0)]
    # ×5 spread: half-spread 1 → bids move down 4 (95, 94), asks up 4 (105, 107); sizes ÷5
    sell = liquidation_cost(0.5, bids, asks)
    assert sell.mid == 100.0
    assert sell.cost_usd == pytest.approx(0.2 * 5 + 0.3 * 6)  # 2.8
    assert sell.unfilled_qty == 0.0
    buy = liquidation_cost(-0.5, bids, asks)
    assert buy.cost_usd == pytest.approx(0.2 * 5 + 0.3 * 7)  # 3.1
    # beyond the levels: 0.6 fills, the other 0.4 is charged at the last level (94)
    big = liquidation_cost(1.0, bids, asks)
    assert big.filled_qty == pytest.approx(0.6)
    assert big.unfilled_qty == pytest.approx(0.4)
    assert big.cost_usd == pytest.approx(0.2 * 5 + 0.4 * 6 + 0.4 * 6)
    # no stress: the plain book
    plain = liquidation_cost(0.5, bids, asks, spread_mult=1.0, depth_div=1.0)
    assert plain.cost_usd == pytest.approx(0.5 * 1.0)
    with pytest.raises(ValueError):
        liquidation_cost(1.0, [], asks)


def test_liquidity_scenario_in_run_stress() -> None:
    books = {"BTC-USD": ([(99.0, 1.0), (98.0, 2.0)], [(101.0, 1.0), (103.0, 3.0)])}
    res = run_stress(
        {"BTC-USD": 50.0, "XYZ-USD": 10.0},
        _two_asset_history(),
        books,
        StressLimits(capital_usd=1_000.0),
    )[-1]
    assert res.kind == "liquidity"
    assert res.per_asset == pytest.approx({"BTC-USD": -2.8, "XYZ-USD": 0.0})
    assert res.pnl_usd == pytest.approx(-2.8)
    assert "XYZ-USD: no two-sided book" in res.description
    assert res.breaks == []


@needs_data
def test_long_only_portfolio_loses_in_every_crash_scenario(panel: DailyPanel) -> None:
    exposures = {"BTC-USD": 8_000.0, "ETH-USD": 6_000.0, "SOL-USD": 4_000.0}
    history = load_daily_closes(DATA)
    limits = StressLimits.from_risk_config(RiskConfig(), capital_usd=50_000.0)
    books = {s: ([(99.0, 100.0)], [(101.0, 100.0)]) for s in exposures}
    results = run_stress(exposures, history, books, limits, historical=historical_scenarios(panel))
    kinds = {r.kind for r in results}
    assert kinds == {"historical", "hypothetical", "liquidity"}
    assert len(results) == 3 + 3 + 1 + 2 + 1
    for r in results:
        assert r.pnl_usd < 0.0, r.name
        assert all(v < 0.0 for v in r.per_asset.values()), r.name
        assert r.pnl_usd == pytest.approx(sum(r.per_asset.values()))
    crash = results[0]
    assert "SOL-USD as LTC-USD (proxy)" in crash.description
    # 2015: ETH and LTC did not trade yet; they move by their beta to BTC
    assert "ETH-USD no data then" in crash.description
    beta = _direct_beta("ETH-USD", "BTC-USD")
    assert abs(beta - 1.0) > 0.05
    assert crash.returns["ETH-USD"] == pytest.approx(beta * crash.returns["BTC-USD"], rel=1e-9)
    assert any(b.startswith("daily loss limit") for b in crash.breaks)


@needs_data
def test_short_only_portfolio_gains_in_historical_crashes(panel: DailyPanel) -> None:
    history = load_daily_closes(DATA)
    results = run_stress(
        {"BTC-USD": -5_000.0},
        history,
        None,
        StressLimits(capital_usd=50_000.0),
        historical=historical_scenarios(panel),
    )
    assert all(r.pnl_usd > 0.0 for r in results)
    # a short shrinks as the price falls: no position break
    assert all(not any(b.startswith("position") for b in r.breaks) for r in results)


def test_asset_without_data_at_the_window_moves_by_its_beta() -> None:
    btc = {"2020-01-01": 100.0, "2020-01-02": 80.0, "2020-01-03": 88.0}
    btc |= {"2020-01-04": 84.0, "2020-01-05": 92.4, "2020-01-06": 300.0, "2020-01-07": 290.0}
    alt = {"2020-01-02": 10.0, "2020-01-03": 12.0, "2020-01-04": 11.0, "2020-01-05": 12.5}
    panel = DailyPanel.from_series({"BTC-USD": btc, "ALT-USD": alt})
    (sc,) = historical_scenarios(panel, one_day=1, five_day=0, drawdown=False)
    assert (sc.window.start, sc.window.end) == ("2020-01-01", "2020-01-02")
    assert sc.total_return("ALT-USD") is None  # no close on 2020-01-01
    b = np.array([88 / 80, 84 / 88, 92.4 / 84]) - 1
    a = np.array([12 / 10, 11 / 12, 12.5 / 11]) - 1
    beta = float(np.cov(a, b)[0, 1] / np.var(b, ddof=1))
    history = ReturnHistory(("BTC-USD", "ALT-USD"), np.column_stack([b, a]), "hand")
    (res, *_) = run_stress(
        {"BTC-USD": 1000.0, "ALT-USD": 500.0},
        history,
        None,
        StressLimits(capital_usd=100_000.0),
        historical=[sc],
    )
    assert res.returns == pytest.approx({"BTC-USD": -0.2, "ALT-USD": beta * -0.2})
    assert res.pnl_usd == pytest.approx(-200.0 - 100.0 * beta)
    assert f"β {beta:.2f}" in res.description
    # the drawdown is 100 -> 80 before the later, higher peak of 300
    dd = worst_drawdown_window(panel)
    assert dd is not None
    assert (dd.start, dd.end) == ("2020-01-01", "2020-01-02")
