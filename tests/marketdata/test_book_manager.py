from __future__ import annotations

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.core.events import (
    Alert,
    BookDelta,
    BookResynced,
    BookSnapshot,
    BookStale,
    Event,
)
from traider.engine.core.types import BookSide
from traider.engine.marketdata import BookManager

BTC = "BTC-USD"
ETH = "ETH-USD"
BID = BookSide.BID
ASK = BookSide.ASK


class Harness:
    def __init__(self, symbols: tuple[str, ...] = (BTC, ETH)) -> None:
        self.clock = SimClock()
        self.bus = MessageBus(self.clock)
        self.requests: list[str] = []
        self.events: list[Event] = []
        self.bus.subscribe(BookStale, self.events.append)
        self.bus.subscribe(BookResynced, self.events.append)
        self.bus.subscribe(Alert, self.events.append)
        self.mgr = BookManager(self.bus, self.clock, symbols, self.requests.append)

    def snapshot(self, seq: int, symbol: str = BTC, bid: float = 99.0, ask: float = 101.0) -> None:
        now = self.clock.timestamp_ns()
        self.bus.publish(BookSnapshot(now, now, symbol, seq, ((bid, 1.0),), ((ask, 1.0),)))

    def delta(self, seq: int, side: BookSide, price: float, size: float, symbol: str = BTC) -> None:
        now = self.clock.timestamp_ns()
        self.bus.publish(BookDelta(now, now, symbol, seq, side, price, size))

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


def test_snapshot_and_deltas_update_book_and_timestamps() -> None:
    h = Harness()
    assert not h.mgr.is_tradeable(BTC)
    assert h.mgr.last_update_ns(BTC) is None
    h.snapshot(10)
    t0 = h.clock.timestamp_ns()
    assert h.mgr.is_tradeable(BTC)
    assert not h.mgr.is_tradeable(ETH)
    assert h.mgr.last_update_ns(BTC) == t0
    h.clock.advance(1_000)
    h.delta(11, BID, 99.5, 2.0)
    assert h.mgr.book(BTC).best_bid() == (99.5, 2.0)
    assert h.mgr.last_update_ns(BTC) == t0 + 1_000
    # an ignored duplicate does not move the timestamp
    h.clock.advance(1_000)
    h.delta(11, BID, 99.5, 3.0)
    assert h.mgr.last_update_ns(BTC) == t0 + 1_000
    assert h.mgr.book(BTC).best_bid() == (99.5, 2.0)
    assert h.events == []
    assert h.requests == []
    assert h.mgr.resync_count(BTC) == 0
    assert h.mgr.book(ETH).level_count(BID) == 0


def test_gap_goes_stale_requests_snapshot_then_resyncs() -> None:
    h = Harness()
    h.snapshot(100)
    h.delta(101, BID, 99.5, 2.0)
    h.delta(105, BID, 99.7, 2.0)  # gap: 102..104 lost
    book = h.mgr.book(BTC)
    assert book.stale
    assert not h.mgr.is_tradeable(BTC)
    stale = h.of(BookStale)
    assert len(stale) == 1
    assert isinstance(stale[0], BookStale)
    assert stale[0].symbol == BTC
    assert stale[0].reason == "gap: expected seq 102, got 105"
    assert h.requests == [BTC]
    assert h.mgr.snapshot_pending(BTC)

    # more deltas while stale: ignored, no repeated BookStale nor requests
    h.delta(106, ASK, 100.5, 1.0)
    h.delta(107, ASK, 100.6, 1.0)
    assert len(h.of(BookStale)) == 1
    assert h.requests == [BTC]
    assert book.size_at(ASK, 100.5) == 0.0
    assert h.of(BookResynced) == []

    h.snapshot(107, bid=99.8, ask=100.2)
    assert not book.stale
    assert h.mgr.is_tradeable(BTC)
    assert not h.mgr.snapshot_pending(BTC)
    resynced = h.of(BookResynced)
    assert len(resynced) == 1
    assert isinstance(resynced[0], BookResynced)
    assert (resynced[0].symbol, resynced[0].seq) == (BTC, 107)
    assert h.mgr.resync_count(BTC) == 1
    assert h.mgr.resync_count(ETH) == 0
    assert book.best_bid() == (99.8, 1.0)

    # the stream continues from the snapshot
    h.delta(108, BID, 99.9, 4.0)
    assert book.best_bid() == (99.9, 4.0)
    assert book.seq == 108
    # a second gap is reported again
    h.delta(110, BID, 99.9, 5.0)
    assert len(h.of(BookStale)) == 2
    assert h.requests == [BTC, BTC]
    h.snapshot(111)
    assert h.mgr.resync_count(BTC) == 2


def test_crossed_delta_refused_publishes_stale() -> None:
    h = Harness()
    h.snapshot(1)
    book = h.mgr.book(BTC)
    before = book.top(10)
    h.delta(2, BID, 101.0, 1.0)  # would lock/cross the 101 ask
    assert book.top(10) == before
    assert book.seq == 1
    stale = h.of(BookStale)
    assert len(stale) == 1
    assert isinstance(stale[0], BookStale)
    assert stale[0].reason.startswith("crossed: bid 101.0")
    assert h.requests == [BTC]


def test_delta_before_first_snapshot_requests_one_without_stale_event() -> None:
    h = Harness()
    h.delta(5, BID, 99.0, 1.0)
    h.delta(6, BID, 99.0, 1.0)
    assert h.requests == [BTC]
    assert h.of(BookStale) == []
    h.snapshot(6)
    assert h.mgr.is_tradeable(BTC)
    assert h.of(BookResynced) == []  # first snapshot is not a resync
    assert h.mgr.resync_count(BTC) == 0


def test_snapshot_rerequested_when_it_does_not_arrive() -> None:
    h = Harness()
    h.snapshot(1)
    h.delta(3, BID, 99.0, 1.0)  # gap
    assert h.requests == [BTC]
    h.clock.advance(NANOS_PER_SECOND)
    h.delta(4, BID, 99.0, 1.0)
    assert h.requests == [BTC]  # still within the wait
    h.clock.advance(5 * NANOS_PER_SECOND)
    h.delta(5, BID, 99.0, 1.0)
    assert h.requests == [BTC, BTC]
    assert len(h.of(BookStale)) == 1


def test_late_old_snapshot_is_ignored_for_fresh_book() -> None:
    h = Harness()
    h.snapshot(50)
    h.delta(51, BID, 99.5, 1.0)
    h.snapshot(40, bid=90.0, ask=91.0)
    book = h.mgr.book(BTC)
    assert book.seq == 51
    assert book.best_bid() == (99.5, 1.0)
    assert h.mgr.ignored_snapshots == 1


def test_crossed_snapshot_keeps_book_stale_and_asks_again() -> None:
    h = Harness()
    h.snapshot(1, bid=102.0, ask=101.0)
    assert not h.mgr.is_tradeable(BTC)
    assert len(h.of(BookStale)) == 1
    assert h.requests == [BTC]
    h.snapshot(2)
    assert h.mgr.is_tradeable(BTC)
    assert len(h.of(BookResynced)) == 1


def test_invalidate_from_outside() -> None:
    h = Harness()
    h.snapshot(1)
    h.mgr.invalidate(BTC, "feed disconnected")
    assert not h.mgr.is_tradeable(BTC)
    stale = h.of(BookStale)
    assert len(stale) == 1
    assert isinstance(stale[0], BookStale)
    assert stale[0].reason == "feed disconnected"
    assert h.requests == [BTC]
    h.snapshot(9)
    assert h.mgr.is_tradeable(BTC)
    assert h.mgr.resync_count(BTC) == 1


def test_symbols_are_independent_and_unknown_ignored() -> None:
    h = Harness()
    h.snapshot(1, symbol=BTC)
    h.snapshot(1, symbol=ETH, bid=10.0, ask=11.0)
    h.delta(5, BID, 99.0, 1.0, symbol=BTC)  # gap on BTC only
    h.delta(2, BID, 10.5, 1.0, symbol=ETH)
    h.delta(2, BID, 10.5, 1.0, symbol="DOGE-USD")
    assert not h.mgr.is_tradeable(BTC)
    assert h.mgr.is_tradeable(ETH)
    assert h.mgr.book(ETH).best_bid() == (10.5, 1.0)
    assert h.requests == [BTC]
    assert h.mgr.ignored_events == 1
    assert not h.mgr.is_tradeable("DOGE-USD")
    assert h.of(Alert) == []  # no handler blew up


def test_request_callback_that_publishes_snapshot_inline() -> None:
    """A snapshot source that answers synchronously (through the bus) still resyncs."""
    clock = SimClock()
    bus = MessageBus(clock)
    events: list[Event] = []
    bus.subscribe(BookStale, events.append)
    bus.subscribe(BookResynced, events.append)

    def answer(symbol: str) -> None:
        now = clock.timestamp_ns()
        bus.publish(BookSnapshot(now, now, symbol, 20, ((50.0, 1.0),), ((51.0, 1.0),)))

    mgr = BookManager(bus, clock, [BTC], answer)
    now = clock.timestamp_ns()
    bus.publish(BookSnapshot(now, now, BTC, 1, ((50.0, 1.0),), ((51.0, 1.0),)))
    bus.publish(BookDelta(now, now, BTC, 3, BID, 50.0, 2.0))
    assert [type(e) for e in events] == [BookStale, BookResynced]
    assert mgr.is_tradeable(BTC)
    assert mgr.book(BTC).seq == 20
    assert mgr.resync_count(BTC) == 1
