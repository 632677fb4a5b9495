"""The matching engine on its own: priority, partial fills, crowd liquidity, conversions."""

from __future__ import annotations

from decimal import Decimal

from traider.engine.core.instruments import Instrument
from traider.sim.matching import OrderBook

INST = Instrument(
    "TEST-USD", "TEST", "USD", Decimal("0.01"), Decimal("0.001"), Decimal("1"),
    Decimal("0.001"), Decimal("0.002"),
)


def user(book: OrderBook, cid: str, is_buy: bool, tick: int, lots: int) -> int:
    oid = book.new_user_order_id()
    rests, remaining = book.place_user_limit(oid, cid, is_buy, tick, lots, ioc=False)
    assert rests
    assert remaining == lots
    return oid


def drained_fills(book: OrderBook) -> list[tuple[str | None, int, int]]:
    out = [(maker.owner, tick, lots) for maker, tick, lots, _ in book.fills]
    book.fills.clear()
    return out


def test_time_priority_earlier_order_fills_first() -> None:
    book = OrderBook(INST)
    user(book, "a", False, 10_000, 5)
    user(book, "b", False, 10_000, 5)
    remaining = book.place_market(True, 7)
    assert remaining == 0
    assert drained_fills(book) == [("a", 10_000, 5), ("b", 10_000, 2)]
    assert [(o.owner, o.lots) for o in book.user_orders.values()] == [("b", 3)]


def test_price_priority_better_price_first_even_if_later() -> None:
    book = OrderBook(INST)
    user(book, "worse", True, 9_990, 5)
    user(book, "better", True, 9_995, 5)
    remaining = book.place_market(False, 8)
    assert remaining == 0
    assert drained_fills(book) == [("better", 9_995, 5), ("worse", 9_990, 3)]
    assert book.best_bid() == 9_990


def test_partial_fills_and_limit_stops_at_price() -> None:
    book = OrderBook(INST)
    book.crowd_add(False, 10_001, 4)
    book.crowd_add(False, 10_002, 4)
    book.crowd_add(False, 10_005, 4)
    oid = book.new_user_order_id()
    rests, remaining = book.place_user_limit(oid, "taker", True, 10_002, 10, ioc=False)
    assert rests
    assert remaining == 2
    assert drained_fills(book) == [(None, 10_001, 4), (None, 10_002, 4)]
    assert book.best_bid() == 10_002
    assert book.best_ask() == 10_005
    assert book.user_orders[oid].lots == 2
    # level changes: two asks deleted, then the new bid level
    assert book.changes[-3:] == [(False, 10_001, 0), (False, 10_002, 0), (True, 10_002, 2)]


def test_ioc_does_not_rest() -> None:
    book = OrderBook(INST)
    book.crowd_add(False, 10_001, 4)
    book.changes.clear()
    oid = book.new_user_order_id()
    rests, remaining = book.place_user_limit(oid, "ioc", True, 10_001, 10, ioc=True)
    assert (rests, remaining) == (False, 6)
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.changes == [(False, 10_001, 0)]
    assert not book.user_orders


def test_crowd_added_later_queues_behind_user() -> None:
    book = OrderBook(INST)
    book.crowd_add(False, 10_000, 3)
    user(book, "u", False, 10_000, 2)
    book.crowd_add(False, 10_000, 3)
    assert book.asks.total(10_000) == 8
    book.place_market(True, 5)
    assert drained_fills(book) == [(None, 10_000, 3), ("u", 10_000, 2)]


def test_crowd_reduce_never_touches_user_orders() -> None:
    book = OrderBook(INST)
    user(book, "u", True, 9_000, 2)
    book.crowd_add(True, 9_000, 5)
    book.changes.clear()
    assert book.crowd_reduce(True, 9_000, None) == 5
    assert book.bids.total(9_000) == 2
    assert book.changes == [(True, 9_000, 2)]
    assert book.crowd_reduce(True, 9_000, None) == 0
    assert book.user_orders[next(iter(book.user_orders))].lots == 2


def test_cancel_removes_level_and_reports_it() -> None:
    book = OrderBook(INST)
    oid = user(book, "u", True, 9_000, 2)
    book.changes.clear()
    assert book.cancel(oid) is not None
    assert book.changes == [(True, 9_000, 0)]
    assert book.best_bid() is None
    assert book.cancel(oid) is None


def test_top_levels_best_first() -> None:
    book = OrderBook(INST)
    for t in (100, 103, 101, 102):
        book.crowd_add(True, t, t)
    for t in (110, 108, 109):
        book.crowd_add(False, t, 1)
    assert book.bids.top(2) == [(103, 103), (102, 102)]
    assert [t for t, _ in book.bids.top(None)] == [103, 102, 101, 100]
    assert [t for t, _ in book.asks.top(None)] == [108, 109, 110]
    assert book.bids.nth(0) == 103
    assert book.asks.nth(2) == 110


def test_conversions_are_exact() -> None:
    book = OrderBook(INST)
    assert book.price_to_tick(Decimal("100.03")) == 10_003
    assert book.price_to_tick(Decimal("100.035")) is None
    assert book.price_to_tick(Decimal("0")) is None
    assert book.qty_to_lots(Decimal("0.5")) == 500
    assert book.qty_to_lots(Decimal("0.0005")) is None
    assert book.tick_to_price(10_003) == Decimal("100.03")
    assert book.tick_to_float(10_003) == 100.03
    assert book.lots_to_float(123) == 0.123


def test_fee_maker_and_taker_exact() -> None:
    btc = Instrument(
        "X-USD", "X", "USD", Decimal("0.01"), Decimal("0.001"), Decimal("1"),
        Decimal("0.004"), Decimal("0.006"),
    )
    book = OrderBook(btc)
    tick, lots = 10_003, 500  # 100.03 × 0.5 = 50.015
    assert book.fee(tick, lots, maker=False) == Decimal("0.3001")  # 0.30009
    assert book.fee(tick, lots, maker=True) == Decimal("0.2001")  # 0.20006
