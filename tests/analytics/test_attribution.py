"""Per-strategy P&L replay and the buy-and-hold benchmark."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from traider.engine.analytics.attribution import (
    FILL_PRICE_SOURCE,
    UNKNOWN_STRATEGY,
    JournalData,
    Marks,
    attribute,
    buy_and_hold,
    read_journal,
    strategy_of,
)
from traider.engine.core.events import EquityRecorded, OrderFilled, SubmitOrder
from traider.engine.core.types import Liquidity, OrderType, Side
from traider.engine.state.sqlite_store import SQLiteStore


def _submit(ts: int, coid: str, strategy: str, symbol: str, side: Side, qty: str) -> SubmitOrder:
    return SubmitOrder(
        ts, ts, coid, strategy, symbol, side, OrderType.MARKET, Decimal(qty), None
    )  # fmt: skip


def _fill(
    ts: int, coid: str, symbol: str, side: Side, qty: str, price: str, fee: str, trade: str = ""
) -> OrderFilled:
    return OrderFilled(
        ts, ts, coid, f"v-{coid}", trade or f"t{ts}", symbol, side,
        Decimal(qty), Decimal(price), Decimal(fee), Liquidity.TAKER,
    )  # fmt: skip


def test_strategy_of_prefers_the_submit_then_the_id() -> None:
    submitted = {"7-mm-1": "market_maker"}
    assert strategy_of("7-mm-1", submitted) == "market_maker"
    assert strategy_of("7-trend_a-12", submitted) == "trend_a"
    assert strategy_of("manual-order", submitted) == UNKNOWN_STRATEGY


def _data() -> JournalData:
    fills = [
        # before the window [100, 200): mm buys 2 BTC at 100
        _fill(10, "1-mm-1", "BTC-USD", Side.BUY, "2", "100", "0.2"),
        # inside: mm sells 1 at 110 (+10), trend buys 1 BTC at 110 and sells at 105 (−5)
        _fill(120, "1-mm-2", "BTC-USD", Side.SELL, "1", "110", "0.11"),
        _fill(130, "1-trend-1", "BTC-USD", Side.BUY, "1", "110", "0.11"),
        _fill(150, "1-trend-2", "BTC-USD", Side.SELL, "1", "105", "0.105"),
        # after the window: ignored
        _fill(250, "1-mm-3", "BTC-USD", Side.SELL, "1", "200", "0.2"),
    ]
    return JournalData(fills=fills, strategy_by_order={"1-mm-1": "mm", "1-mm-2": "mm"})


def test_attribute_splits_realized_fees_and_unrealized_per_strategy() -> None:
    rows = {r.strategy_id: r for r in attribute(_data(), 100, 200)}
    assert set(rows) == {"mm", "trend"}
    mm, trend = rows["mm"], rows["trend"]
    assert mm.realized == Decimal(10)  # sold 1 bought at 100 for 110
    assert mm.fees == Decimal("0.11")  # only fees inside the window
    assert mm.fills == 1
    assert mm.round_trips == 0  # still long 1
    # unrealized: start 2 × (100 − 100) = 0 (mark = last fill before 100); end 1 × (105 − 100)
    assert mm.unrealized_change == Decimal(5)
    assert mm.pnl == Decimal(10) - Decimal("0.11") + Decimal(5)
    assert mm.notional == Decimal(110)
    assert trend.realized == Decimal(-5)
    assert trend.fees == Decimal("0.215")
    assert trend.round_trips == 1
    assert trend.trips[0].net == Decimal("-5.215")
    assert trend.unrealized_change == 0
    assert trend.symbols == ("BTC-USD",)


def test_attribute_leaves_out_idle_strategies_and_keeps_books_separate() -> None:
    data = JournalData(
        fills=[
            _fill(1, "1-a-1", "ETH-USD", Side.BUY, "1", "10", "0"),
            _fill(2, "1-a-2", "ETH-USD", Side.SELL, "1", "12", "0"),  # a: flat before window
            _fill(3, "1-long-1", "BTC-USD", Side.BUY, "1", "100", "0"),
            _fill(4, "1-short-1", "BTC-USD", Side.SELL, "1", "100", "0"),
            _fill(50, "1-long-2", "BTC-USD", Side.SELL, "1", "120", "0"),
            _fill(60, "1-short-2", "BTC-USD", Side.BUY, "1", "120", "0"),
        ]
    )
    rows = {r.strategy_id: r for r in attribute(data, 10, 100)}
    assert "a" not in rows
    # the account is flat throughout and realizes 0, but each strategy keeps its own book
    assert rows["long"].realized == Decimal(20)
    assert rows["short"].realized == Decimal(-20)


def test_attribute_uses_given_marks() -> None:
    marks = Marks({"BTC-USD": [(0, Decimal(100)), (199, Decimal(150))]}, "test prices")
    rows = {r.strategy_id: r for r in attribute(_data(), 100, 200, marks)}
    assert rows["mm"].unrealized_change == Decimal(50)  # 1 × (150 − 100) − 2 × (100 − 100)


def test_marks_lookup() -> None:
    marks = Marks.from_fills(_data().fills)
    assert marks.source == FILL_PRICE_SOURCE
    assert marks.at("BTC-USD", 9) is None
    assert marks.at("BTC-USD", 10) == Decimal(100)
    assert marks.at("BTC-USD", 199) == Decimal(105)
    assert marks.at("ETH-USD", 199) is None
    assert marks.first_after("BTC-USD", 10) == (120, Decimal(110))
    assert marks.first_after("BTC-USD", 250) is None


def test_buy_and_hold_equal_weight_with_late_entry() -> None:
    marks = Marks(
        {
            "BTC-USD": [(0, Decimal(100)), (50, Decimal(120))],
            "ETH-USD": [(30, Decimal(10)), (60, Decimal(5))],  # no price at the start
        },
        "test",
    )
    bench = buy_and_hold(marks, ["ETH-USD", "BTC-USD", "BTC-USD"], 1000.0, 10, [10, 40, 70])
    assert bench is not None
    assert bench.symbols == ("BTC-USD", "ETH-USD")
    # 500 in BTC at 100; 500 in ETH bought at its first price (10 at t=30), cash before that
    assert bench.value.tolist() == pytest.approx([1000.0, 1000.0, 600.0 + 250.0])
    assert bench.pnl == pytest.approx(-150.0)
    assert bench.total_return == pytest.approx(-0.15)
    assert bench.price_source == "test"
    assert buy_and_hold(marks, [], 1000.0, 10, [10]) is None
    assert buy_and_hold(marks, ["SOL-USD"], 1000.0, 10, [10]) is None


def test_read_journal_from_a_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    try:
        store.append(_submit(1, "1-mm-1", "mm", "BTC-USD", Side.BUY, "1"))
        fill = _fill(2, "1-mm-1", "BTC-USD", Side.BUY, "1", "100", "0.1", trade="x1")
        store.append(fill)
        store.append(fill)  # journaled twice: counted once
        store.append(EquityRecorded(3, 3, Decimal(1000), Decimal(900), Decimal(0), Decimal("0.1")))
        store.append(_fill(9, "1-mm-1", "BTC-USD", Side.SELL, "1", "100", "0.1", trade="x2"))
    finally:
        store.close()
    ro = SQLiteStore.open_readonly(tmp_path / "t.db")
    try:
        data = read_journal(ro, until_ns=5)
    finally:
        ro.close()
    assert data.fills == [fill]
    assert data.strategy_by_order == {"1-mm-1": "mm"}
    assert [e.equity for e in data.equity] == [Decimal(1000)]
    assert data.strategy(fill) == "mm"
