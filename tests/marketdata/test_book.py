from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traider.engine.core.events import BookDelta, BookSnapshot
from traider.engine.core.types import BookSide
from traider.engine.marketdata.book import L2Book

SYM = "BTC-USD"
BID = BookSide.BID
ASK = BookSide.ASK


def snap(
    seq: int,
    bids: list[tuple[float, float]],
    asks: list[tuple[float, float]],
    symbol: str = SYM,
) -> BookSnapshot:
    return BookSnapshot(0, 0, symbol, seq, tuple(bids), tuple(asks))


def delta(seq: int, side: BookSide, price: float, size: float, symbol: str = SYM) -> BookDelta:
    return BookDelta(0, 0, symbol, seq, side, price, size)


def make_book() -> L2Book:
    book = L2Book(SYM)
    book.apply_snapshot(
        snap(100, [(99.0, 1.0), (98.0, 2.0), (97.0, 3.0)], [(101.0, 1.5), (102.0, 2.5)])
    )
    return book


# --- basics ------------------------------------------------------------------------------


def test_new_book_is_stale_until_snapshot() -> None:
    book = L2Book(SYM)
    assert book.stale
    assert book.stale_reason == "no snapshot"
    assert not book.has_snapshot
    assert book.best_bid() is None
    assert book.mid() is None
    assert not book.apply_delta(delta(1, BID, 99.0, 1.0))
    assert book.level_count(BID) == 0


def test_snapshot_sorts_levels_and_reads() -> None:
    book = L2Book(SYM)
    # deliberately unsorted input, plus a zero-size level that must be dropped
    book.apply_snapshot(
        snap(7, [(97.0, 3.0), (99.0, 1.0), (98.0, 2.0), (96.0, 0.0)], [(102.0, 2.5), (101.0, 1.5)])
    )
    assert not book.stale
    assert book.stale_reason == ""
    assert book.has_snapshot
    assert book.seq == 7
    assert book.best_bid() == (99.0, 1.0)
    assert book.best_ask() == (101.0, 1.5)
    assert book.mid() == 100.0
    assert book.spread() == 2.0
    assert book.top(2) == ([(99.0, 1.0), (98.0, 2.0)], [(101.0, 1.5), (102.0, 2.5)])
    assert book.top(10) == (
        [(99.0, 1.0), (98.0, 2.0), (97.0, 3.0)],
        [(101.0, 1.5), (102.0, 2.5)],
    )
    assert book.top(0) == ([], [])
    assert book.depth(BID, 2) == 3.0
    assert book.depth(ASK, 5) == 4.0
    assert book.level_count(BID) == 3
    assert book.level_count(ASK) == 2
    assert book.size_at(BID, 98.0) == 2.0
    assert book.size_at(BID, 96.0) == 0.0
    assert book.size_at(ASK, 99.0) == 0.0
    # bids 1+2+3 = 6, asks 1.5+2.5 = 4 -> (6-4)/10
    assert book.imbalance(10) == pytest.approx(0.2)
    # top 1: (1 - 1.5) / 2.5
    assert book.imbalance(1) == pytest.approx(-0.2)


def test_apply_updates_inserts_and_version() -> None:
    book = make_book()
    v0 = book.version
    assert book.apply_delta(delta(101, BID, 99.5, 4.0))  # new best bid
    assert book.apply_delta(delta(102, ASK, 101.0, 0.5))  # size change at best ask
    assert book.apply_delta(delta(103, ASK, 103.0, 1.0))  # new deep ask
    assert book.seq == 103
    assert book.version == v0 + 3
    assert book.best_bid() == (99.5, 4.0)
    assert book.best_ask() == (101.0, 0.5)
    assert book.top(5)[1] == [(101.0, 0.5), (102.0, 2.5), (103.0, 1.0)]
    assert book.level_count(BID) == 4


def test_zero_size_deletes_level() -> None:
    book = make_book()
    assert book.apply_delta(delta(101, BID, 99.0, 0.0))
    assert book.best_bid() == (98.0, 2.0)
    assert book.level_count(BID) == 2
    assert book.size_at(BID, 99.0) == 0.0
    assert book.apply_delta(delta(102, ASK, 101.0, 0.0))
    assert book.best_ask() == (102.0, 2.5)
    # deleting a level that does not exist is a harmless no-op but advances seq
    assert book.apply_delta(delta(103, ASK, 150.0, 0.0))
    assert book.seq == 103
    assert book.level_count(ASK) == 1
    assert not book.stale
    # empty a side entirely
    assert book.apply_delta(delta(104, ASK, 102.0, 0.0))
    assert book.best_ask() is None
    assert book.mid() is None
    assert book.spread() is None
    assert book.imbalance(10) == 1.0


def test_duplicate_and_old_deltas_are_ignored_without_staleness() -> None:
    book = make_book()
    assert book.apply_delta(delta(101, BID, 99.0, 5.0))
    before = (book.top(10), book.version)
    assert not book.apply_delta(delta(101, BID, 99.0, 7.0))  # duplicate
    assert not book.apply_delta(delta(50, BID, 98.0, 0.0))  # old
    assert not book.apply_delta(delta(100, ASK, 101.0, 9.0))  # included in the snapshot
    assert not book.stale
    assert book.seq == 101
    assert (book.top(10), book.version) == before
    assert book.apply_delta(delta(102, BID, 99.0, 6.0))
    assert book.best_bid() == (99.0, 6.0)


def test_gap_marks_stale_and_stale_book_ignores_deltas_until_snapshot() -> None:
    book = make_book()
    assert book.apply_delta(delta(101, BID, 99.0, 5.0))
    before = book.top(10)
    assert not book.apply_delta(delta(107, BID, 98.0, 9.0))
    assert book.stale
    assert book.stale_reason == "gap: expected seq 102, got 107"
    assert book.seq == 101
    # everything after is ignored, even the "right" next seq, until a snapshot
    assert not book.apply_delta(delta(102, BID, 98.0, 9.0))
    assert not book.apply_delta(delta(108, BID, 98.0, 9.0))
    assert book.top(10) == before
    assert book.stale_reason == "gap: expected seq 102, got 107"  # first reason is kept
    book.apply_snapshot(snap(110, [(95.0, 1.0)], [(96.0, 1.0)]))
    assert not book.stale
    assert book.seq == 110
    assert book.top(10) == ([(95.0, 1.0)], [(96.0, 1.0)])
    assert book.apply_delta(delta(111, ASK, 96.0, 2.0))
    assert book.best_ask() == (96.0, 2.0)


@pytest.mark.parametrize(
    ("side", "price"),
    [(BID, 101.0), (BID, 105.0), (ASK, 99.0), (ASK, 90.0)],
)
def test_crossed_update_is_refused(side: BookSide, price: float) -> None:
    book = make_book()
    before = (book.top(10), book.seq, book.version)
    assert not book.apply_delta(delta(101, side, price, 1.0))
    assert book.stale
    assert book.stale_reason.startswith("crossed: ")
    assert (book.top(10), book.seq, book.version) == before
    assert book.size_at(side, price) == 0.0


def test_deleting_at_a_crossing_price_is_not_a_cross() -> None:
    book = make_book()
    # size 0 on the bid side at the ask price deletes nothing; it cannot cross
    assert book.apply_delta(delta(101, BID, 101.0, 0.0))
    assert not book.stale
    assert book.best_ask() == (101.0, 1.5)


@pytest.mark.parametrize(
    ("price", "size"),
    [
        (99.0, -1.0),
        (0.0, 1.0),
        (-5.0, 1.0),
        (math.nan, 1.0),
        (math.inf, 1.0),
        (99.0, math.nan),
        (99.0, math.inf),
    ],
)
def test_invalid_delta_marks_stale(price: float, size: float) -> None:
    book = make_book()
    before = book.top(10)
    assert not book.apply_delta(delta(101, BID, price, size))
    assert book.stale
    assert book.stale_reason.startswith("invalid delta seq 101")
    assert book.top(10) == before


def test_crossed_or_invalid_snapshot_leaves_book_stale_and_empty() -> None:
    book = make_book()
    book.apply_snapshot(snap(200, [(101.0, 1.0)], [(100.0, 1.0)]))
    assert book.stale
    assert book.stale_reason.startswith("crossed snapshot")
    assert book.level_count(BID) == 0
    assert book.level_count(ASK) == 0
    assert not book.has_snapshot
    book.apply_snapshot(snap(201, [(99.0, -1.0)], [(100.0, 1.0)]))
    assert book.stale
    assert book.stale_reason.startswith("invalid snapshot")
    book.apply_snapshot(snap(202, [(99.0, 1.0)], [(100.0, 1.0)]))
    assert not book.stale
    assert book.mid() == 99.5


def test_mark_stale_keeps_first_reason() -> None:
    book = make_book()
    book.mark_stale("disconnected")
    book.mark_stale("other")
    assert book.stale_reason == "disconnected"
    assert not book.apply_delta(delta(101, BID, 99.0, 1.0))


def test_wrong_symbol_is_a_programming_error() -> None:
    book = make_book()
    with pytest.raises(ValueError, match="ETH-USD"):
        book.apply_delta(delta(101, BID, 99.0, 1.0, symbol="ETH-USD"))
    with pytest.raises(ValueError, match="ETH-USD"):
        book.apply_snapshot(snap(1, [], [], symbol="ETH-USD"))


# --- property tests against a naive reference -----------------------------------------------

PIVOT = 1000  # in ticks; bids strictly below, asks strictly above -> never crossed
SPAN = 400  # ticks either side: prices 300..700, well inside the default 10x price band
TICK = 0.5


class RefBook:
    """Plain dicts, sorted at compare time."""

    def __init__(self, bids: dict[float, float], asks: dict[float, float]) -> None:
        self.bids = dict(bids)
        self.asks = dict(asks)

    def apply(self, side: BookSide, price: float, size: float) -> None:
        levels = self.bids if side is BID else self.asks
        if size == 0.0:
            levels.pop(price, None)
        else:
            levels[price] = size

    def crosses(self, side: BookSide, price: float, size: float) -> bool:
        if size == 0.0:
            return False
        if side is BID:
            return bool(self.asks) and price >= min(self.asks)
        return bool(self.bids) and price <= max(self.bids)

    def top(self, n: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        bids = sorted(self.bids.items(), reverse=True)[:n]
        asks = sorted(self.asks.items())[:n]
        return bids, asks

    def imbalance(self, n: int) -> float:
        bids, asks = self.top(n)
        b = sum(s for _, s in bids)
        a = sum(s for _, s in asks)
        return 0.0 if b + a == 0 else (b - a) / (b + a)


sizes = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False),
)
bid_prices = st.integers(min_value=PIVOT - SPAN, max_value=PIVOT - 1).map(lambda t: t * TICK)
ask_prices = st.integers(min_value=PIVOT + 1, max_value=PIVOT + SPAN).map(lambda t: t * TICK)
pos_sizes = st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False)
valid_deltas = st.one_of(
    st.tuples(st.just(BID), bid_prices, sizes),
    st.tuples(st.just(ASK), ask_prices, sizes),
)


def assert_matches(book: L2Book, ref: RefBook) -> None:
    for n in (1, 3, 10, 10_000):
        assert book.top(n) == ref.top(n)
        rb, ra = ref.top(n)
        assert book.depth(BID, n) == pytest.approx(sum(s for _, s in rb))
        assert book.depth(ASK, n) == pytest.approx(sum(s for _, s in ra))
        assert book.imbalance(n) == pytest.approx(ref.imbalance(n), abs=1e-12)
        assert -1.0 <= book.imbalance(n) <= 1.0
    assert book.level_count(BID) == len(ref.bids)
    assert book.level_count(ASK) == len(ref.asks)
    bb, ba = book.best_bid(), book.best_ask()
    assert bb == (max(ref.bids.items()) if ref.bids else None)
    assert ba == (min(ref.asks.items()) if ref.asks else None)
    if bb is not None and ba is not None:
        assert bb[0] < ba[0]
        assert book.mid() == pytest.approx((bb[0] + ba[0]) / 2)
        assert book.spread() == pytest.approx(ba[0] - bb[0])


@settings(max_examples=200, deadline=None)
@given(
    bids=st.dictionaries(bid_prices, pos_sizes, max_size=30),
    asks=st.dictionaries(ask_prices, pos_sizes, max_size=30),
    deltas=st.lists(valid_deltas, max_size=200),
    start_seq=st.integers(min_value=0, max_value=10**12),
)
def test_valid_deltas_match_reference(
    bids: dict[float, float],
    asks: dict[float, float],
    deltas: list[tuple[BookSide, float, float]],
    start_seq: int,
) -> None:
    book = L2Book(SYM)
    book.apply_snapshot(snap(start_seq, list(bids.items()), list(asks.items())))
    ref = RefBook(bids, asks)
    assert_matches(book, ref)
    seq = start_seq
    for side, price, size in deltas:
        seq += 1
        assert book.apply_delta(delta(seq, side, price, size))
        ref.apply(side, price, size)
        assert book.seq == seq
        assert not book.stale
        assert_matches(book, ref)
    assert book.version == 1 + len(deltas)


any_prices = st.integers(min_value=PIVOT - SPAN, max_value=PIVOT + SPAN).map(lambda t: t * TICK)


@settings(max_examples=200, deadline=None)
@given(
    bids=st.dictionaries(bid_prices, pos_sizes, max_size=20),
    asks=st.dictionaries(ask_prices, pos_sizes, max_size=20),
    deltas=st.lists(st.tuples(st.sampled_from([BID, ASK]), any_prices, sizes), max_size=200),
)
def test_crossing_deltas_refused_and_resync_recovers(
    bids: dict[float, float],
    asks: dict[float, float],
    deltas: list[tuple[BookSide, float, float]],
) -> None:
    """Deltas at any price: crossing ones are refused, then a snapshot of the reference heals."""
    book = L2Book(SYM)
    book.apply_snapshot(snap(0, list(bids.items()), list(asks.items())))
    ref = RefBook(bids, asks)
    for seq, (side, price, size) in enumerate(deltas, start=1):
        crosses = ref.crosses(side, price, size)
        applied = book.apply_delta(delta(seq, side, price, size))
        assert applied is not crosses
        if crosses:
            assert book.stale
            assert book.stale_reason.startswith("crossed")
            assert_matches(book, ref)  # nothing changed
            assert book.seq == seq - 1
            # resync from the reference (the venue's view, which never crosses)
            book.apply_snapshot(snap(seq, list(ref.bids.items()), list(ref.asks.items())))
            assert not book.stale
        else:
            ref.apply(side, price, size)
        assert_matches(book, ref)


# --- locked books and absurd prices (price band) -------------------------------------------


@pytest.mark.parametrize(("side", "price"), [(BID, 101.0), (ASK, 99.0)])
def test_locked_update_is_refused_like_crossed(side: BookSide, price: float) -> None:
    book = make_book()  # best bid 99, best ask 101
    assert not book.apply_delta(delta(101, side, price, 1.0))
    assert book.stale
    assert book.stale_reason.startswith("crossed: ")
    assert book.stale_reason.endswith("(locked)")


def test_locked_snapshot_is_refused() -> None:
    book = L2Book(SYM)
    book.apply_snapshot(snap(1, [(100.0, 1.0)], [(100.0, 2.0)]))
    assert book.stale
    assert not book.has_snapshot
    assert book.stale_reason.startswith("crossed snapshot seq 1")
    assert book.stale_reason.endswith("(locked)")


@pytest.mark.parametrize(
    ("side", "price"),
    [
        (ASK, 999999999.0),  # the Bitstamp placeholder
        (ASK, 1000.01),  # just above 10x mid (mid = 100)
        (BID, 9.99),  # just below mid / 10
        (BID, 0.01),
    ],
)
def test_absurd_new_level_marks_stale(side: BookSide, price: float) -> None:
    book = L2Book(SYM)
    book.apply_snapshot(snap(100, [(99.0, 1.0)], [(101.0, 1.0)]))
    before = (book.top(10), book.seq, book.version)
    assert not book.apply_delta(delta(101, side, price, 1.0))
    assert book.stale
    assert book.stale_reason.startswith("absurd price: ")
    assert "at seq 101" in book.stale_reason
    assert (book.top(10), book.seq, book.version) == before


@pytest.mark.parametrize(("side", "price"), [(ASK, 1000.0), (BID, 10.0), (ASK, 500.0)])
def test_price_band_edges_are_accepted(side: BookSide, price: float) -> None:
    book = L2Book(SYM)
    book.apply_snapshot(snap(100, [(99.0, 1.0)], [(101.0, 1.0)]))  # mid 100
    assert book.apply_delta(delta(101, side, price, 1.0))
    assert not book.stale


def test_absurd_check_only_for_new_levels() -> None:
    book = L2Book(SYM)
    book.apply_snapshot(snap(100, [(99.0, 1.0), (20.0, 1.0)], [(101.0, 1.0)]))
    # the mid moves up to ~300: the old 20.0 bid is now below mid / 10, but changing or
    # deleting an existing level is not checked, nor is deleting an absent absurd level
    assert book.apply_delta(delta(101, ASK, 101.0, 0.0))
    assert book.apply_delta(delta(102, ASK, 499.0, 1.0))  # ref: best bid 99 (no asks)
    assert book.apply_delta(delta(103, BID, 20.0, 5.0))
    assert book.apply_delta(delta(104, ASK, 999999999.0, 0.0))
    assert book.apply_delta(delta(105, BID, 20.0, 0.0))
    assert not book.stale
    assert book.top(10) == ([(99.0, 1.0)], [(499.0, 1.0)])


def test_one_sided_and_empty_books_reference() -> None:
    # bids only: the reference is the best bid, both ways
    book = L2Book(SYM)
    book.apply_snapshot(snap(1, [(100.0, 1.0)], []))
    assert book.apply_delta(delta(2, ASK, 1000.0, 1.0))
    assert book.apply_delta(delta(3, ASK, 1000.0, 0.0))
    assert book.apply_delta(delta(4, BID, 10.0, 1.0))
    assert not book.apply_delta(delta(5, BID, 1000.5, 1.0))  # a bid 10x above the best bid
    assert book.stale_reason.startswith("absurd price: bid 1000.5")
    # asks only: the reference is the best ask
    book = L2Book(SYM)
    book.apply_snapshot(snap(1, [], [(100.0, 1.0)]))
    assert not book.apply_delta(delta(2, BID, 9.0, 1.0))
    assert book.stale_reason.startswith("absurd price: bid 9.0")
    # an empty book takes any positive finite price, then judges the next against it
    book = L2Book(SYM)
    book.apply_snapshot(snap(1, [], []))
    assert book.apply_delta(delta(2, ASK, 999999999.0, 1.0))
    assert book.apply_delta(delta(3, ASK, 999999999.0, 0.0))
    assert book.apply_delta(delta(4, BID, 78000.0, 1.0))
    assert not book.apply_delta(delta(5, ASK, 999999999.0, 1.0))
    assert book.stale


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ([(99.0, 1.0)], [(101.0, 1.0), (999999999.0, 1.0)]),
        ([(99.0, 1.0), (5.0, 1.0)], [(101.0, 1.0)]),
        ([(99.0, 1.0), (5.0, 1.0)], []),
        ([], [(101.0, 1.0), (2000.0, 1.0)]),
        ([(1e9, 1.0)], [(1e9 + 1, 1.0), (1.0, 1.0)]),  # absurd best bid drags the mid
    ],
)
def test_absurd_snapshot_leaves_book_stale_and_empty(
    bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> None:
    book = make_book()
    book.apply_snapshot(snap(200, bids, asks))
    assert book.stale
    assert not book.has_snapshot
    assert book.stale_reason.startswith(("absurd snapshot seq 200", "crossed snapshot seq 200"))
    assert book.level_count(BID) == book.level_count(ASK) == 0


def test_snapshot_band_edges_and_zero_size_absurd_level() -> None:
    book = L2Book(SYM)
    book.apply_snapshot(snap(1, [(99.0, 1.0), (10.0, 1.0)], [(101.0, 1.0), (1000.0, 1.0)]))
    assert not book.stale
    # a zero-size level is dropped before the checks, whatever its price
    book.apply_snapshot(snap(2, [(99.0, 1.0)], [(101.0, 1.0), (999999999.0, 0.0)]))
    assert not book.stale
    assert book.level_count(ASK) == 1


def test_price_band_is_configurable() -> None:
    wide = L2Book(SYM, price_band=math.inf)
    wide.apply_snapshot(snap(1, [(1.0, 1.0)], [(999999999.0, 1.0)]))
    assert not wide.stale
    assert wide.apply_delta(delta(2, BID, 1e-9, 1.0))
    assert wide.price_band == math.inf
    tight = L2Book(SYM, price_band=2.0)
    tight.apply_snapshot(snap(1, [(99.0, 1.0)], [(101.0, 1.0)]))
    assert tight.apply_delta(delta(2, ASK, 200.0, 1.0))
    assert not tight.apply_delta(delta(3, ASK, 200.5, 1.0))
    for bad in (1.0, 1.5, 0.0, -3.0, math.nan):
        with pytest.raises(ValueError, match="price_band"):
            L2Book(SYM, price_band=bad)
