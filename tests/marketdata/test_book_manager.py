from __future__ import annotations

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.core.events import (
    Alert,
    BookDelta,
    BookInvalid,
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
        self.bus.subscribe(BookInvalid, self.events.append)
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


# --- BookInvalid and resync metrics --------------------------------------------------------


def test_invalid_delta_publishes_book_invalid_then_stale_once() -> None:
    h = Harness()
    h.snapshot(10)
    h.delta(11, ASK, 999999999.0, 0.5)  # the Bitstamp placeholder
    assert not h.mgr.is_tradeable(BTC)
    assert [type(e) for e in h.events] == [BookInvalid, BookStale]
    inv, stale = h.events
    assert isinstance(inv, BookInvalid)
    assert isinstance(stale, BookStale)
    assert (inv.symbol, inv.seq) == (BTC, 11)
    assert inv.reason == stale.reason
    assert inv.reason.startswith("absurd price: ask 999999999.0")
    assert h.requests == [BTC]
    # the rest of the incident publishes nothing more, a bad snapshot included
    h.delta(12, BID, 99.5, 1.0)
    h.delta(20, BID, 99.5, 1.0)
    h.snapshot(21, bid=100.0, ask=100.0)  # locked
    assert not h.mgr.is_tradeable(BTC)
    assert len(h.of(BookInvalid)) == 1
    assert len(h.of(BookStale)) == 1
    assert h.requests == [BTC, BTC]
    h.snapshot(22)
    assert h.mgr.is_tradeable(BTC)
    assert [type(e) for e in h.events] == [BookInvalid, BookStale, BookResynced]


def test_gap_and_invalid_snapshot_publish_book_invalid_with_seq() -> None:
    h = Harness()
    h.snapshot(1)
    h.delta(4, BID, 99.0, 1.0)
    inv = h.of(BookInvalid)
    assert len(inv) == 1
    assert isinstance(inv[0], BookInvalid)
    assert inv[0].seq == 4
    assert inv[0].reason == "gap: expected seq 2, got 4"
    # a first snapshot that is itself invalid: an incident, with the snapshot's seq
    h2 = Harness()
    h2.snapshot(7, bid=99.0, ask=99.0)
    inv2 = h2.of(BookInvalid)
    assert len(inv2) == 1
    assert isinstance(inv2[0], BookInvalid)
    assert inv2[0].seq == 7
    assert inv2[0].reason.startswith("crossed snapshot seq 7")


def test_invalidate_from_outside_is_stale_but_not_invalid() -> None:
    h = Harness()
    h.snapshot(1)
    h.mgr.invalidate(BTC, "feed disconnected")
    assert h.of(BookInvalid) == []
    assert len(h.of(BookStale)) == 1
    assert h.mgr.resync_stats(BTC).invalid_count == 0


def test_resync_stats_measure_stale_to_resynced() -> None:
    h = Harness()
    stats = h.mgr.resync_stats(BTC)
    assert stats.resync_count == 0
    assert stats.last_resync_ns is None
    assert stats.max_resync_ns is None
    assert stats.mean_resync_ns is None
    assert stats.recent_ns == ()
    assert stats.stale_since_ns is None
    assert h.mgr.last_resync_ns(BTC) is None

    h.clock.advance(1_000)
    h.snapshot(1)  # the first snapshot is not a resync
    assert h.mgr.resync_stats(BTC).resync_count == 0

    h.delta(3, BID, 99.0, 1.0)  # gap
    t_stale = h.clock.timestamp_ns()
    assert h.mgr.resync_stats(BTC).stale_since_ns == t_stale
    h.clock.advance(250_000)
    h.delta(4, BID, 99.0, 1.0)
    h.clock.advance(750_000)
    h.snapshot(5)
    stats = h.mgr.resync_stats(BTC)
    assert stats.resync_count == 1 == h.mgr.resync_count(BTC)
    assert stats.last_resync_ns == 1_000_000 == h.mgr.last_resync_ns(BTC)
    assert stats.max_resync_ns == 1_000_000
    assert stats.recent_ns == (1_000_000,)
    assert stats.invalid_count == 1
    assert stats.stale_since_ns is None

    h.clock.advance(10)
    h.mgr.invalidate(BTC, "feed disconnected")
    h.clock.advance(300_000)
    h.snapshot(9)
    stats = h.mgr.resync_stats(BTC)
    assert stats.resync_count == 2
    assert stats.last_resync_ns == 300_000
    assert stats.max_resync_ns == 1_000_000
    assert stats.total_resync_ns == 1_300_000
    assert stats.mean_resync_ns == 650_000
    assert stats.recent_ns == (1_000_000, 300_000)
    assert stats.invalid_count == 1
    assert h.mgr.resync_stats(ETH).resync_count == 0


def test_price_band_passed_to_books() -> None:
    clock = SimClock()
    bus = MessageBus(clock)
    mgr = BookManager(bus, clock, [BTC], lambda s: None, price_band=1e12)
    assert mgr.book(BTC).price_band == 1e12
    now = clock.timestamp_ns()
    bus.publish(BookSnapshot(now, now, BTC, 1, ((1.0, 1.0),), ((999999999.0, 1.0),)))
    assert mgr.is_tradeable(BTC)
