"""Daily / weekly reports from a hand-built journal, the chart, and `traider report`."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from traider.cli_report import end_of_day_ns, report_app
from traider.engine.analytics.performance import HOURS_PER_YEAR, NS_PER_HOUR
from traider.engine.analytics.reports import NO_ACTIVITY, build_report
from traider.engine.core.events import EquityRecorded, OrderFilled, SubmitOrder
from traider.engine.core.types import Liquidity, OrderType, Side
from traider.engine.state.sqlite_store import SQLiteStore

DAY = datetime(2024, 5, 1, tzinfo=UTC)
START = int(DAY.timestamp()) * 1_000_000_000
END = START + 24 * NS_PER_HOUR
MIN = 60 * 1_000_000_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _matplotlib_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))


def _at(hours: float) -> int:
    return START + int(hours * NS_PER_HOUR)


def _eq(ts: int, equity: str, cash: str, realized: str, fees: str) -> EquityRecorded:
    return EquityRecorded(ts, ts, Decimal(equity), Decimal(cash), Decimal(realized), Decimal(fees))


def _fill(
    ts: int, coid: str, symbol: str, side: Side, qty: str, price: str, fee: str
) -> OrderFilled:
    return OrderFilled(
        ts, ts, coid, f"v-{coid}", f"t-{coid}", symbol, side,
        Decimal(qty), Decimal(price), Decimal(fee), Liquidity.TAKER,
    )  # fmt: skip


def _events() -> list[object]:
    """One day: `mm` buys 0.1 BTC at 60 000 and sells half at 62 000 (+100); `trend` (no
    SubmitOrder journaled: strategy from its id) buys and sells 1 ETH for −100."""
    submit = SubmitOrder(
        _at(1), _at(1), "1-mm-1", "mm", "BTC-USD", Side.BUY, OrderType.MARKET, Decimal("0.1"), None
    )  # fmt: skip
    return [
        _eq(START - MIN, "10000", "10000", "0", "0"),  # the day opens at 10 000
        submit,
        _fill(_at(1), "1-mm-1", "BTC-USD", Side.BUY, "0.1", "60000", "6"),
        _eq(_at(1), "9994", "3994", "0", "6"),
        _eq(_at(2), "10094", "3994", "0", "6"),  # BTC marked at 61 000
        _fill(_at(3.5), "1-mm-2", "BTC-USD", Side.SELL, "0.05", "62000", "3.1"),
        _eq(_at(4), "10040.9", "7090.9", "100", "9.1"),  # BTC at 59 000
        _fill(_at(5), "1-trend-1", "ETH-USD", Side.BUY, "1", "3000", "3"),
        _fill(_at(6), "1-trend-2", "ETH-USD", Side.SELL, "1", "2900", "2.9"),
        _eq(_at(6.5), "9935", "6985", "0", "15"),
        _eq(_at(23), "10035", "6985", "0", "15"),  # BTC at 61 000
        _eq(END, "99999", "0", "0", "15"),  # the next day: outside the window
    ]


def _store(path: Path) -> Path:
    store = SQLiteStore(path)
    try:
        for event in _events():
            store.append(event)  # type: ignore[arg-type]
    finally:
        store.close()
    return path


def test_daily_report_numbers_by_hand(tmp_path: Path) -> None:
    report = build_report(_store(tmp_path / "t.db"), "daily", END, tmp_path / "reports")
    assert report.activity
    assert report.equity_start == Decimal(10000)
    assert report.equity_end == Decimal(10035)
    assert report.pnl == Decimal(35)
    assert report.realized == Decimal(0)  # +100 (mm) − 100 (trend)
    assert report.fees == Decimal(15)
    assert report.unrealized_change == Decimal(50)  # 0.05 BTC × (61 000 − 60 000)
    assert report.fills == 4
    assert report.round_trips == 1
    assert report.win_rate == 0.0
    assert report.profit_factor == 0.0  # no winning trip, one loser
    assert report.notional == Decimal(15000)
    curve = [10000, 9994, 10094, 10040.9, 9935, 10035]
    assert report.turnover == pytest.approx(15000 / statistics.mean(curve))
    assert report.total_return == pytest.approx(0.0035)
    # hourly, last value per hour, empty hours carried: 24 returns, 5 of them non-zero
    hourly = [10000.0] * 25
    for hour, value in ((1, 9994), (2, 10094), (4, 10040.9), (6, 9935), (23, 10035)):
        for h in range(hour + 1, 25):
            hourly[h] = value
    rets = [b / a - 1 for a, b in itertools.pairwise(hourly)]
    assert report.returns_frequency == "hourly"
    assert report.returns_count == 24
    sharpe = statistics.mean(rets) / statistics.stdev(rets) * math.sqrt(HOURS_PER_YEAR)
    assert report.sharpe == pytest.approx(sharpe)
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in rets) / 24)
    assert report.sortino == pytest.approx(statistics.mean(rets) / downside * math.sqrt(8760))
    assert report.volatility == pytest.approx(statistics.stdev(rets) * math.sqrt(8760))
    ann = 1.0035 ** (8760 / 24) - 1
    assert report.annualised_return == pytest.approx(ann)
    dd = report.drawdown
    assert dd.depth == pytest.approx(1 - 9935 / 10094)
    assert (dd.peak_ns, dd.trough_ns, dd.recovery_ns) == (_at(2), _at(6.5), None)
    assert dd.duration_ns == 21 * NS_PER_HOUR  # 02:00 → last sample at 23:00
    assert report.calmar == pytest.approx(ann / dd.depth)
    rows = {s.strategy_id: s for s in report.strategies}
    assert rows["mm"].realized == Decimal(100)
    assert rows["mm"].fees == Decimal("9.1")
    assert rows["mm"].unrealized_change == Decimal(100)  # marked at its last fill, 62 000
    assert rows["trend"].pnl == Decimal("-105.9")
    # 35 − (190.9 − 105.9): mm's 0.05 BTC marked at 62 000 (its fill) vs 61 000 (engine)
    assert report.unattributed == Decimal(-50)
    assert report.benchmark is not None
    assert report.benchmark.symbols == ("BTC-USD", "ETH-USD")
    # 5 000 each at the first fill prices; at 23:00 BTC 62 000, ETH 2 900
    assert report.benchmark.pnl == pytest.approx(5000 * 62 / 60 + 5000 * 29 / 30 - 10000)


def test_daily_report_chart_and_json(tmp_path: Path) -> None:
    report = build_report(_store(tmp_path / "t.db"), "daily", END, tmp_path / "reports")
    assert report.chart_path == tmp_path / "reports" / "daily-2024-05-01.png"
    data = report.chart_path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000
    doc = report.to_json()
    assert list(doc) == [
        "period", "label", "start", "end", "activity", "message", "equity_start",
        "equity_end", "pnl", "total_return", "realized", "unrealized_change", "fees", "fills",
        "round_trips", "win_rate", "profit_factor", "notional", "turnover",
        "returns_frequency", "returns_count", "risk_free", "volatility", "annualised_return",
        "sharpe", "sortino", "calmar", "max_drawdown", "drawdown_peak", "drawdown_trough",
        "drawdown_recovery", "drawdown_duration_s", "longest_underwater_s", "strategies",
        "unattributed_pnl", "benchmark", "chart_path",
    ]  # fmt: skip
    assert doc["start"] == "2024-05-01T00:00:00Z"
    assert doc["end"] == "2024-05-02T00:00:00Z"
    assert (doc["pnl"], doc["realized"], doc["fees"]) == ("35.00", "0.00", "15.00")
    assert doc["unrealized_change"] == "50.00"
    assert doc["drawdown_peak"] == "2024-05-01T02:00:00Z"
    assert doc["drawdown_duration_s"] == 21 * 3600
    assert [s["strategy_id"] for s in doc["strategies"]] == ["mm", "trend"]
    assert set(doc["strategies"][0]) == {
        "strategy_id", "symbols", "realized", "fees", "unrealized_change", "pnl", "fills",
        "round_trips", "notional",
    }  # fmt: skip
    assert doc["benchmark"]["symbols"] == ["BTC-USD", "ETH-USD"]
    json.dumps(doc, allow_nan=False)  # strict JSON
    text = report.to_text()
    assert "traider daily report 2024-05-01 (UTC)" in text
    assert "P&L +35.00 (+0.35%)" in text
    assert "mm" in text
    assert "trend" in text
    assert "chart:" in text
    assert doc["unattributed_pnl"] == "-50.00"
    assert "unattributed" in text


def test_weekly_report_uses_daily_returns(tmp_path: Path) -> None:
    report = build_report(_store(tmp_path / "t.db"), "weekly", END, tmp_path / "reports")
    assert report.label == "2024-04-25..2024-05-01"
    assert report.returns_frequency == "daily"
    # no sample before the window: it opens at the first (04-30 23:59, 10 000); daily
    # closes 04-30 10 000 and 05-01 10 035 give returns 0 and +0.35 %
    assert report.returns_count == 2
    rets = [0.0, 0.0035]
    assert report.sharpe == pytest.approx(0.00175 / statistics.stdev(rets) * math.sqrt(365))
    assert report.sortino is None  # no losing day
    assert report.pnl == Decimal(35)
    assert report.equity_start == Decimal(10000)
    assert report.chart_path is not None
    assert report.chart_path.name == "weekly-2024-04-25..2024-05-01.png"


def test_empty_window_says_no_trading_activity(tmp_path: Path) -> None:
    store = _store(tmp_path / "t.db")
    report = build_report(store, "daily", END + 10 * 24 * NS_PER_HOUR, tmp_path / "r")
    assert not report.activity
    assert report.chart_path is None
    assert report.to_text() == f"traider daily report 2024-05-11 (UTC): {NO_ACTIVITY}"
    doc = report.to_json()
    assert doc["message"] == NO_ACTIVITY
    assert doc["fills"] == 0
    assert doc["sharpe"] is None
    assert not (tmp_path / "r").exists()
    missing = build_report(tmp_path / "none.db", "weekly", END, tmp_path / "r")
    assert not missing.activity


def test_fills_without_equity_samples(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = SQLiteStore(path)
    try:
        for event in _events():
            if not isinstance(event, EquityRecorded):
                store.append(event)  # type: ignore[arg-type]
    finally:
        store.close()
    report = build_report(path, "daily", END, tmp_path / "r")
    assert report.activity
    assert report.pnl is None
    assert report.realized == Decimal(0)  # from the fills: +100 − 100
    assert report.fees == Decimal(15)
    assert report.chart_path is None
    assert "realized +0.00" in report.to_text()


def test_single_sample_window_has_no_ratios(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = SQLiteStore(path)
    try:
        store.append(_eq(_at(5), "1000", "1000", "0", "0"))
    finally:
        store.close()
    report = build_report(path, "daily", END, tmp_path / "r")
    assert report.activity
    assert report.pnl == 0
    assert report.returns_count == 1  # opening value → last value of its hour
    assert (report.sharpe, report.sortino, report.calmar) == (None, None, None)
    assert report.drawdown.depth == 0.0
    assert report.chart_path is not None
    assert report.chart_path.read_bytes().startswith(PNG_MAGIC)
    assert "max drawdown 0.00%" in report.to_text()


def test_end_of_day() -> None:
    assert end_of_day_ns("2024-04-30") == START
    assert end_of_day_ns(None, today=DAY.date()) == END


def test_cli_daily_json_and_text(traider_home: Path) -> None:
    _store(traider_home / "traider.db")
    result = runner.invoke(report_app, ["daily", "--end", "2024-05-01", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["pnl"] == "35.00"
    chart = Path(doc["chart_path"])
    assert chart == traider_home / "reports" / "daily-2024-05-01.png"
    assert chart.read_bytes().startswith(PNG_MAGIC)
    result = runner.invoke(report_app, ["weekly", "--end", "2024-05-01"])
    assert result.exit_code == 0, result.output
    assert "traider weekly report 2024-04-25..2024-05-01 (UTC)" in result.stdout


def test_cli_no_store_and_bad_end(traider_home: Path) -> None:
    result = runner.invoke(report_app, ["daily", "--end", "2024-05-01"])
    assert result.exit_code == 0, result.output
    assert NO_ACTIVITY in result.stdout
    result = runner.invoke(report_app, ["daily", "--end", "May 1"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "YYYY-MM-DD" in result.stderr
    result = runner.invoke(report_app, ["daily", "--set", "nonsense"])
    assert result.exit_code == 2


def test_cli_unreadable_store_exits_3(traider_home: Path) -> None:
    traider_home.mkdir(parents=True)
    (traider_home / "traider.db").write_bytes(b"not a database at all" * 100)
    result = runner.invoke(report_app, ["daily", "--end", "2024-05-01"])
    assert result.exit_code == 3
    assert result.stderr.startswith("traider: store unavailable:")
