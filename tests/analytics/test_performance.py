"""Performance metrics against hand-computed values and a direct scan of real BTC data."""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from traider.engine.analytics import performance as perf
from traider.engine.core.events import OrderFilled
from traider.engine.core.types import Liquidity, Side

D = perf.NS_PER_DAY
H = perf.NS_PER_HOUR
BTC_1H = Path(__file__).resolve().parents[2].parent / "shared/data/ohlcv/coinbase_btcusd_1h.csv"
needs_btc = pytest.mark.skipif(not BTC_1H.is_file(), reason=f"{BTC_1H} not present")


# --- resampling --------------------------------------------------------------------------


def test_resample_keeps_last_value_per_utc_day_and_carries_empty_days() -> None:
    t0 = 19_000 * D  # a UTC midnight
    ts = [t0 + 23 * H, t0 + 1 * H, t0 + 2 * D + 12 * H]  # unsorted on purpose
    vals = [101.0, 100.0, 99.0]
    periods, values = perf.resample_last(ts, vals, D)
    assert periods.tolist() == [t0, t0 + D, t0 + 2 * D]
    assert values.tolist() == [101.0, 101.0, 99.0]  # day 1 had no sample: carried


def test_resample_equal_timestamps_later_wins_and_no_periods_before_data() -> None:
    t0 = 19_000 * D
    periods, values = perf.resample_last([t0, t0], [1.0, 2.0], D, first_period_ns=t0 - 5 * D)
    assert periods.tolist() == [t0]
    assert values.tolist() == [2.0]
    empty_p, empty_v = perf.resample_last([], [], H)
    assert empty_p.size == 0
    assert empty_v.size == 0
    with pytest.raises(ValueError, match="positive"):
        perf.resample_last([1], [1.0], 0)


def test_resample_carries_a_value_from_before_the_first_period() -> None:
    t0 = 19_000 * D
    periods, values = perf.resample_last([t0 - 3 * D, t0 + H], [50.0, 60.0], D, first_period_ns=t0)
    assert periods.tolist() == [t0]
    assert values.tolist() == [60.0]
    periods, values = perf.resample_last([t0 - 3 * D, t0 + D], [50.0, 60.0], D, first_period_ns=t0)
    assert periods.tolist() == [t0, t0 + D]
    assert values.tolist() == [50.0, 60.0]


# --- ratios on a tiny series ---------------------------------------------------------------

EQ = [100.0, 110.0, 99.0, 121.0]
R = [0.1, -0.1, 121 / 99 - 1]  # 10 %, −10 %, +22.2 %


def test_returns_and_total_return() -> None:
    assert perf.simple_returns(EQ) == pytest.approx(R)
    assert perf.total_return(EQ) == pytest.approx(0.21)
    with pytest.raises(ValueError, match="positive"):
        perf.simple_returns([100.0, 0.0, 50.0])


def test_volatility_sharpe_sortino_by_hand() -> None:
    mean = 2 / 27  # (0.1 − 0.1 + 2/9) / 3
    sd = math.sqrt(((0.1 - mean) ** 2 + (-0.1 - mean) ** 2 + (2 / 9 - mean) ** 2) / 2)
    assert sd == pytest.approx(0.16266808337776115)
    assert perf.volatility(R, 365) == pytest.approx(sd * math.sqrt(365))
    assert perf.sharpe_ratio(R, 365) == pytest.approx(8.699820940459645)
    # downside deviation over ALL three periods: only −10 % counts
    downside = math.sqrt((0.0 + 0.01 + 0.0) / 3)
    assert perf.sortino_ratio(R, 365) == pytest.approx(mean / downside * math.sqrt(365))
    assert perf.sortino_ratio(R, 365) == pytest.approx(24.51169201151749)


def test_risk_free_is_an_annual_rate_compounded_per_period() -> None:
    rf_p = 1.05 ** (1 / 365) - 1
    assert perf.per_period_risk_free(0.05, 365) == pytest.approx(rf_p)
    excess = [r - rf_p for r in R]
    expected = statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(365)
    assert perf.sharpe_ratio(R, 365, risk_free=0.05) == pytest.approx(expected)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in excess) / 3)
    expected_sortino = statistics.mean(excess) / downside * math.sqrt(365)
    assert perf.sortino_ratio(R, 365, risk_free=0.05) == pytest.approx(expected_sortino)


def test_annualised_return_and_calmar() -> None:
    ann = perf.annualised_return(0.21, 3, 365)
    assert ann == pytest.approx(1.21 ** (365 / 3) - 1, rel=1e-9)
    assert perf.annualised_return(0.10, 365, 365) == pytest.approx(0.10)
    assert perf.annualised_return(-1.5, 10, 365) == -1.0
    assert perf.annualised_return(None, 3, 365) is None
    assert perf.annualised_return(0.1, 0, 365) is None
    assert perf.calmar_ratio(0.30, 0.15) == pytest.approx(2.0)
    assert perf.calmar_ratio(0.30, 0.0) is None
    assert perf.calmar_ratio(None, 0.1) is None


def test_degenerate_inputs_give_none_not_inf_or_nan() -> None:
    assert perf.volatility([0.01], 365) is None
    assert perf.sharpe_ratio([0.01], 365) is None
    assert perf.sharpe_ratio([], 365) is None
    assert perf.sharpe_ratio([0.01, 0.01, 0.01], 365) is None  # zero volatility
    assert perf.sortino_ratio([0.01, 0.02], 365) is None  # no losing period
    assert perf.sortino_ratio([0.01], 365) is None
    assert perf.total_return([100.0]) is None
    assert perf.total_return([]) is None
    flat = perf.max_drawdown([0, 1, 2], [5.0, 5.0, 6.0])
    assert flat.depth == 0.0
    assert flat.peak_ns is None
    assert perf.max_drawdown([], []).depth == 0.0
    assert perf.longest_underwater_ns([0], [1.0]) == 0


def test_max_drawdown_dates_and_duration() -> None:
    ts = [0, 10, 20, 30]
    dd = perf.max_drawdown(ts, EQ)
    assert dd.depth == pytest.approx(0.1)  # 110 → 99
    assert (dd.peak_ns, dd.trough_ns, dd.recovery_ns) == (10, 20, 30)
    assert dd.duration_ns == 20
    assert (dd.peak_value, dd.trough_value) == (110.0, 99.0)
    # double top: the drawdown dates from the second top; never recovered → to the end
    dd = perf.max_drawdown([0, 1, 2, 3, 4, 5], [100.0, 120.0, 110.0, 120.0, 90.0, 100.0])
    assert dd.depth == pytest.approx(0.25)
    assert (dd.peak_ns, dd.trough_ns, dd.recovery_ns) == (3, 4, None)
    assert dd.duration_ns == 2


def test_longest_underwater() -> None:
    ts = [0, 1, 2, 3, 4, 5, 6]
    assert perf.longest_underwater_ns(ts, [100, 90, 95, 100, 105, 104, 103]) == 3
    assert perf.longest_underwater_ns(ts, [100, 90, 100, 101, 100, 99, 98]) == 3  # open spell
    assert perf.longest_underwater_ns(ts, [1, 2, 3, 4, 5, 6, 7]) == 0


# --- fills ---------------------------------------------------------------------------------


def _fill(
    ts: int, side: Side, qty: str, price: str, fee: str, symbol: str = "BTC-USD"
) -> OrderFilled:
    return OrderFilled(
        ts, ts, f"1-s-{ts}", f"v{ts}", f"t{ts}", symbol, side,
        Decimal(qty), Decimal(price), Decimal(fee), Liquidity.TAKER,
    )  # fmt: skip


FILLS = [
    _fill(1, Side.BUY, "1", "100", "1"),  # open long
    _fill(2, Side.SELL, "0.5", "110", "0.5"),  # +5
    _fill(3, Side.SELL, "0.5", "120", "0.5"),  # +10, flat: trip 1 = 15 − 2 = +13
    _fill(4, Side.SELL, "1", "120", "1"),  # open short
    _fill(5, Side.BUY, "2", "130", "2"),  # −10 and flip: half the fee closes trip 2
]


def test_round_trips_win_rate_profit_factor() -> None:
    trips = perf.round_trips(FILLS)
    assert len(trips) == 2  # the long opened by the flip is still open
    first, second = trips
    assert (first.direction, first.open_ns, first.close_ns, first.fills) == (1, 1, 3, 3)
    assert (first.realized, first.fees, first.net) == (Decimal(15), Decimal(2), Decimal(13))
    assert (second.direction, second.open_ns, second.close_ns) == (-1, 4, 5)
    assert (second.realized, second.fees, second.net) == (Decimal(-10), Decimal(2), Decimal(-12))
    assert perf.win_rate(trips) == 0.5
    assert perf.profit_factor(trips) == pytest.approx(13 / 12)
    assert perf.win_rate([]) is None
    assert perf.profit_factor([]) is None
    assert perf.profit_factor(trips[:1]) is None  # no losing trip


def test_fees_notional_turnover() -> None:
    assert perf.fees_total(FILLS) == Decimal(5)
    assert perf.traded_notional(FILLS) == Decimal(595)  # 100 + 55 + 60 + 120 + 260
    assert perf.turnover(Decimal(595), Decimal(1000)) == pytest.approx(0.595)
    assert perf.turnover(595, 0) is None


def test_round_trips_are_per_symbol() -> None:
    fills = [
        _fill(1, Side.BUY, "1", "100", "0", "BTC-USD"),
        _fill(2, Side.BUY, "2", "10", "0", "ETH-USD"),
        _fill(3, Side.SELL, "1", "90", "0", "BTC-USD"),
        _fill(4, Side.SELL, "2", "12", "0", "ETH-USD"),
    ]
    trips = perf.round_trips(fills)
    assert [(t.symbol, t.realized) for t in trips] == [
        ("BTC-USD", Decimal(-10)),
        ("ETH-USD", Decimal(4)),
    ]


# --- real data: BTC buy-and-hold --------------------------------------------------------------


def _btc_hourly() -> tuple[list[int], list[float], list[str]]:
    ts, closes, days = [], [], []
    with BTC_1H.open(newline="") as fh:
        for row in csv.DictReader(fh):
            moment = datetime.strptime(row["ts"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            ts.append(int(moment.timestamp()) * 1_000_000_000)
            closes.append(float(row["close"]))
            days.append(row["ts"][:10])
    return ts, closes, days


@needs_btc
def test_btc_daily_resample_matches_last_close_per_day() -> None:
    ts, closes, days = _btc_hourly()
    direct: dict[str, float] = {}
    for day, close in zip(days, closes, strict=True):
        direct[day] = close  # the file is in time order: the last row of a day wins
    periods, values = perf.resample_last(ts, closes, D)
    by_day = {
        datetime.fromtimestamp(p // 1_000_000_000, UTC).date().isoformat(): v
        for p, v in zip(periods.tolist(), values.tolist(), strict=True)
    }
    assert len(by_day) >= len(direct)
    for day, close in direct.items():
        assert by_day[day] == close


@needs_btc
def test_btc_2018_drawdown_and_ratios_match_a_direct_scan() -> None:
    ts, closes, _ = _btc_hourly()
    periods, values = perf.resample_last(ts, closes, D)
    start = int(datetime(2018, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
    end = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
    mask = (periods >= start) & (periods < end)
    days, closes_2018 = periods[mask].tolist(), values[mask].tolist()
    assert len(days) == 365
    # direct scan
    peak, peak_i, worst, worst_peak_i, worst_i = -1.0, 0, 0.0, 0, 0
    for i, c in enumerate(closes_2018):
        if c >= peak:
            peak, peak_i = c, i
        if 1 - c / peak > worst:
            worst, worst_peak_i, worst_i = 1 - c / peak, peak_i, i
    dd = perf.max_drawdown(days, closes_2018)
    assert dd.depth == pytest.approx(worst, rel=1e-12)
    assert dd.peak_ns == days[worst_peak_i]
    assert dd.trough_ns == days[worst_i]
    assert dd.peak_ns is not None
    assert dd.trough_ns is not None
    peak_day = datetime.fromtimestamp(dd.peak_ns // 1_000_000_000, UTC).date()
    trough_day = datetime.fromtimestamp(dd.trough_ns // 1_000_000_000, UTC).date()
    assert date(2018, 1, 1) <= peak_day <= date(2018, 1, 31)  # the January top
    assert date(2018, 12, 1) <= trough_day <= date(2018, 12, 31)  # the December low
    assert 0.75 < dd.depth < 0.85
    assert dd.recovery_ns is None  # BTC did not regain its top within 2018
    rets = [b / a - 1 for a, b in itertools.pairwise(closes_2018)]
    assert perf.simple_returns(closes_2018) == pytest.approx(rets, rel=1e-12)
    sharpe = statistics.mean(rets) / statistics.stdev(rets) * math.sqrt(365)
    assert perf.sharpe_ratio(rets, 365) == pytest.approx(sharpe, rel=1e-9)
    assert sharpe < 0  # 2018 was a bear market
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in rets) / len(rets))
    sortino = statistics.mean(rets) / downside * math.sqrt(365)
    assert perf.sortino_ratio(rets, 365) == pytest.approx(sortino, rel=1e-9)
    total = closes_2018[-1] / closes_2018[0] - 1
    assert perf.total_return(closes_2018) == pytest.approx(total, rel=1e-12)
    ann = (1 + total) ** (365 / len(rets)) - 1
    assert perf.annualised_return(total, len(rets), 365) == pytest.approx(ann, rel=1e-9)
    calmar = perf.calmar_ratio(ann, dd.depth)
    assert calmar == pytest.approx(ann / worst, rel=1e-9)
    assert calmar is not None
    assert np.isfinite(calmar)
