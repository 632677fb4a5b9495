"""Property tests: random valid streams with random corruptions injected.

A simulated venue keeps the true book (`Venue.ref`) and numbers its deltas; the stream it
delivers to a `BookManager` is damaged on the way (lost, repeated, reordered messages;
crossed, locked, absurd, non-finite, negative levels; bad snapshots). The manager must

* ignore a harmless repeat (old or duplicate seq, whatever its content) and stay fresh;
* on any other corruption go stale at once, publish `BookInvalid` then `BookStale` exactly
  once for the incident (with the offending seq), and request a snapshot;
* never report the book tradeable while it is invalid ("never a trade on an invalid book");
* after a valid snapshot hold exactly the venue's book, be tradeable again, and have
  counted the resync and its duration ("always ends in a resync").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hypothesis import event, given, settings
from hypothesis import strategies as st

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import SimClock
from traider.engine.core.events import (
    BookDelta,
    BookInvalid,
    BookResynced,
    BookSnapshot,
    BookStale,
    Event,
)
from traider.engine.core.types import BookSide
from traider.engine.marketdata import BookManager, L2Book

SYM = "BTC-USD"
BID = BookSide.BID
ASK = BookSide.ASK
TICK = 0.5
PIVOT = 1000  # ticks: bids below, asks above; valid prices 300..700, inside a 10x band
SPAN = 400
STEP_NS = 1_000  # the clock advances this much before every message


class RefBook:
    def __init__(self, bids: dict[float, float], asks: dict[float, float]) -> None:
        self.bids = dict(bids)
        self.asks = dict(asks)

    def apply(self, side: BookSide, price: float, size: float) -> None:
        levels = self.bids if side is BID else self.asks
        if size == 0.0:
            levels.pop(price, None)
        else:
            levels[price] = size

    def top(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())

    def mid(self) -> float | None:
        """The band's reference: mid, or the best price of the only non-empty side."""
        if self.bids and self.asks:
            return (max(self.bids) + min(self.asks)) / 2
        if self.bids:
            return max(self.bids)
        if self.asks:
            return min(self.asks)
        return None


# one abstract step; `Venue.step` turns it into concrete messages against the venue's book
KINDS_HARMLESS = ("valid", "duplicate", "old", "garbage_old", "delete_absent")
KINDS_CORRUPT = (
    "gap",
    "out_of_order",
    "crossed",
    "locked",
    "absurd_high",
    "absurd_low",
    "negative_size",
    "nan_price",
    "nan_size",
    "inf_price",
    "inf_size",
    "zero_price",
)
KINDS_CONTROL = ("answer", "bad_answer")


@dataclass
class Step:
    kind: str
    is_bid: bool
    offset: int  # ticks from the pivot, 1..SPAN
    size: float  # 0.0 deletes
    pick: int  # a free choice (which old message, which bad value, ...)


@dataclass
class Venue:
    """The exchange side of the wire plus the expectations of the test."""

    ref: RefBook
    seq: int
    clock: SimClock = field(default_factory=SimClock)
    bus: MessageBus = field(init=False)
    mgr: BookManager = field(init=False)
    requests: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    applied: list[BookDelta] = field(default_factory=list)  # deltas the manager applied
    invalid: bool = False  # the test's own view: the manager's book must be invalid now
    incidents: list[tuple[int, int]] = field(default_factory=list)  # (offending seq, t)
    answered: int = 0  # snapshot requests answered (good or bad)
    resyncs: list[int] = field(default_factory=list)  # expected durations

    def __post_init__(self) -> None:
        self.bus = MessageBus(self.clock)
        for kind in (BookInvalid, BookStale, BookResynced):
            self.bus.subscribe(kind, self.events.append)
        self.mgr = BookManager(self.bus, self.clock, [SYM], self.requests.append)

    # --- wire -----------------------------------------------------------------------------

    def send(self, seq: int, side: BookSide, price: float, size: float) -> BookDelta:
        now = self.clock.advance(STEP_NS)
        d = BookDelta(now, now, SYM, seq, side, price, size)
        self.bus.publish(d)
        return d

    def snapshot(self, corrupt: int | None = None) -> None:
        bids, asks = self.ref.top()
        if corrupt is not None:
            bids, asks = corrupt_snapshot(bids, asks, corrupt, self.ref)
        now = self.clock.advance(STEP_NS)
        self.bus.publish(BookSnapshot(now, now, SYM, self.seq, tuple(bids), tuple(asks)))

    def next_valid(self, step: Step) -> tuple[int, BookSide, float, float]:
        """The venue's next true delta: applied to its book, seq consumed."""
        side = BID if step.is_bid else ASK
        ticks = PIVOT - step.offset if step.is_bid else PIVOT + step.offset
        price = ticks * TICK
        self.seq += 1
        self.ref.apply(side, price, step.size)
        return self.seq, side, price, step.size

    # --- one step -------------------------------------------------------------------------

    def step(self, step: Step) -> None:
        kind = step.kind
        if kind in KINDS_CONTROL:
            if self.requests[self.answered :]:
                self.answer(bad=kind == "bad_answer", pick=step.pick)
            return
        if self.invalid:
            # waiting for a snapshot: whatever arrives is ignored by the manager
            seq, side, price, size = self.next_valid(step)
            self.send(seq, side, price, size)
            return
        if kind == "valid":
            seq, side, price, size = self.next_valid(step)
            self.deliver_valid(seq, side, price, size)
        elif kind in ("duplicate", "old", "garbage_old"):
            if not self.applied:
                seq, side, price, size = self.next_valid(step)
                self.deliver_valid(seq, side, price, size)
                return
            if kind == "duplicate":
                d = self.applied[-1]
            else:
                d = self.applied[step.pick % len(self.applied)]
            price, size = d.price, d.size
            if kind == "garbage_old":  # an old seq is ignored whatever it carries
                price, size = (math.nan, -1.0) if step.pick % 2 else (999999999.0, 1.0)
            self.send(d.seq, d.side, price, size)
        elif kind == "delete_absent":
            # a delete of a level that is not there, at any price: a harmless no-op
            side = BID if step.is_bid else ASK
            levels = self.ref.bids if step.is_bid else self.ref.asks
            price = (999999999.0, 0.01, (PIVOT + step.offset) * TICK)[step.pick % 3]
            if price in levels:
                price = 999999999.0
            self.seq += 1
            self.deliver_valid(self.seq, side, price, 0.0)
        elif kind == "gap":
            self.next_valid(step)  # lost on the way
            seq, side, price, size = self.next_valid(step)
            self.deliver_corrupt(seq, side, price, size)
        elif kind == "out_of_order":
            first = self.next_valid(step)
            second = self.next_valid(step)
            self.deliver_corrupt(*second)
            self.send(*first)  # old by now: ignored
        else:
            self.deliver_mangled(step)

    def deliver_valid(self, seq: int, side: BookSide, price: float, size: float) -> None:
        d = self.send(seq, side, price, size)
        self.applied.append(d)

    def deliver_corrupt(self, seq: int, side: BookSide, price: float, size: float) -> None:
        self.send(seq, side, price, size)
        self.invalid = True
        self.incidents.append((seq, self.clock.timestamp_ns()))

    def deliver_mangled(self, step: Step) -> None:
        """The venue's next delta arrives with a bad price or size."""
        kind = step.kind
        side = BID if step.is_bid else ASK
        own = self.ref.bids if step.is_bid else self.ref.asks
        other = self.ref.asks if step.is_bid else self.ref.bids
        size = step.size or 1.0
        price = (PIVOT - step.offset if step.is_bid else PIVOT + step.offset) * TICK
        mid = self.ref.mid()
        if kind in ("crossed", "locked"):
            if not other:  # nothing to cross: deliver a valid delta instead
                self.deliver_valid(*self.next_valid(step))
                return
            best = min(other) if step.is_bid else max(other)
            shift = 0 if kind == "locked" else 1 + step.pick % 5
            price = best + shift * TICK if step.is_bid else best - shift * TICK
            if price <= 0 or price in own:  # an existing level is only resized
                self.deliver_valid(*self.next_valid(step))
                return
        elif kind in ("absurd_high", "absurd_low"):
            if mid is None:  # an empty book takes any positive price
                self.deliver_valid(*self.next_valid(step))
                return
            if kind == "absurd_high":
                if step.is_bid and other:  # a high bid would cross instead
                    side = ASK
                price = (999999999.0, mid * 20, 1e7)[step.pick % 3]
            else:
                if not step.is_bid and other:  # a low ask would cross instead
                    side = BID
                price = (0.01, mid / 20, 1e-9)[step.pick % 3]
        elif kind == "negative_size":
            size = -size
        elif kind == "nan_price":
            price = math.nan
        elif kind == "nan_size":
            size = math.nan
        elif kind == "inf_price":
            price = math.inf if step.pick % 2 else -math.inf
        elif kind == "inf_size":
            size = math.inf
        elif kind == "zero_price":
            price = 0.0 if step.pick % 2 else -price
        else:  # pragma: no cover - a typo in the strategies
            raise AssertionError(kind)
        seq, _, _, _ = self.next_valid(step)  # the true delta, lost to the corruption
        self.deliver_corrupt(seq, side, price, size)

    def answer(self, *, bad: bool, pick: int) -> None:
        self.answered = len(self.requests)
        if bad:  # only ever an answer to a request: part of the current incident
            assert self.invalid
            self.snapshot(corrupt=pick)
            return
        self.snapshot()
        if self.invalid:
            self.resyncs.append(self.clock.timestamp_ns() - self.incidents[-1][1])
        self.invalid = False
        self.applied.clear()  # everything before the snapshot is old now

    # --- checks ---------------------------------------------------------------------------

    def check(self) -> None:
        book = self.mgr.book(SYM)
        tradeable = self.mgr.is_tradeable(SYM)
        # never a trade on an invalid book
        assert not (book.stale and tradeable)
        assert book.stale is self.invalid, book.stale_reason
        assert tradeable is not self.invalid
        if not self.invalid:
            assert_same(book, self.ref)
        invalid = [e for e in self.events if isinstance(e, BookInvalid)]
        stale = [e for e in self.events if isinstance(e, BookStale)]
        assert len(invalid) == len(stale) == len(self.incidents)
        assert [e.seq for e in invalid] == [seq for seq, _ in self.incidents]
        assert [e.reason for e in invalid] == [e.reason for e in stale]
        kinds = [type(e) for e in self.events if isinstance(e, BookInvalid | BookStale)]
        assert kinds == [BookInvalid, BookStale] * len(self.incidents)
        # a snapshot was requested for every incident and every bad answer
        assert len(self.requests) >= len(self.incidents)
        if self.invalid:
            assert self.mgr.snapshot_pending(SYM)
            assert len(self.requests) > self.answered
        assert self.bus.handler_errors == 0  # (slow-handler Alerts are wall-clock noise)

    def finish(self) -> None:
        """Always ends in a resync: answer what is pending with a good snapshot."""
        if self.invalid:
            self.answer(bad=False, pick=0)
        self.check()
        assert not self.mgr.snapshot_pending(SYM)
        assert self.mgr.is_tradeable(SYM)
        assert_same(self.mgr.book(SYM), self.ref)
        resynced = [e for e in self.events if isinstance(e, BookResynced)]
        assert len(resynced) == len(self.incidents) == len(self.resyncs)
        stats = self.mgr.resync_stats(SYM)
        assert stats.resync_count == len(self.incidents)
        assert stats.invalid_count == len(self.incidents)
        assert list(stats.recent_ns) == self.resyncs
        assert stats.max_resync_ns == (max(self.resyncs) if self.resyncs else None)
        assert stats.stale_since_ns is None
        # the stream goes on from the snapshot
        self.deliver_valid(*self.next_valid(Step("valid", True, 1, 2.5, 0)))
        self.check()


def corrupt_snapshot(
    bids: list[tuple[float, float]],
    asks: list[tuple[float, float]],
    pick: int,
    ref: RefBook,
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """A snapshot of the venue's book with one bad level (or a bad pair)."""
    mid = ref.mid() or PIVOT * TICK
    best_ask = min((p for p, _ in asks), default=None)
    bad = pick % 6
    if bad in (0, 1):  # crossed, locked
        if best_ask is None:
            best_ask = mid
            asks = [(mid, 1.0)]
        bids = [*bids, (best_ask + (1.0 if bad == 0 else 0.0), 1.0)]
        return bids, asks
    if not bids and not asks:  # an empty book has no reference to be absurd against
        bids = [(PIVOT * TICK - TICK, 1.0)]
    if bad == 2:
        asks = [*asks, (999999999.0, 1.0)]
    elif bad == 3:
        bids = [*bids, (mid / 20, 1.0)]
    elif bad == 4:
        bids = [*bids, (mid, math.nan)]
    else:
        asks = [*asks, (math.inf, 1.0)]
    return bids, asks


def assert_same(book: L2Book, ref: RefBook) -> None:
    n = book.level_count(BID) + book.level_count(ASK) + 1
    assert book.top(n) == ref.top()


# --- strategies -----------------------------------------------------------------------------

offsets = st.integers(min_value=1, max_value=30) | st.integers(min_value=1, max_value=SPAN)
sizes = st.just(0.0) | st.floats(
    min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False
)
levels_strategy = st.dictionaries(st.integers(min_value=1, max_value=30), sizes, max_size=20)


def step_strategy(kinds: st.SearchStrategy[str]) -> st.SearchStrategy[Step]:
    return st.builds(
        Step,
        kind=kinds,
        is_bid=st.booleans(),
        offset=offsets,
        size=sizes,
        pick=st.integers(min_value=0, max_value=1_000),
    )


# mostly valid traffic, corruptions and snapshot answers now and then
mixed_kinds = st.sampled_from(("valid",) * 8 + KINDS_HARMLESS[1:] + KINDS_CONTROL * 3) | (
    st.sampled_from(KINDS_CORRUPT)
)


def make_venue(bids: dict[int, float], asks: dict[int, float], start_seq: int) -> Venue:
    ref = RefBook(
        {(PIVOT - t) * TICK: s for t, s in bids.items() if s > 0},
        {(PIVOT + t) * TICK: s for t, s in asks.items() if s > 0},
    )
    venue = Venue(ref, start_seq)
    venue.snapshot()  # the first snapshot: not a resync, no events
    assert venue.mgr.is_tradeable(SYM)
    assert venue.events == []
    return venue


@settings(max_examples=300, deadline=None)
@given(
    bids=levels_strategy,
    asks=levels_strategy,
    start_seq=st.integers(min_value=0, max_value=10**12),
    steps=st.lists(step_strategy(mixed_kinds), max_size=120),
)
def test_corrupted_streams_never_trade_invalid_and_always_resync(
    bids: dict[int, float], asks: dict[int, float], start_seq: int, steps: list[Step]
) -> None:
    venue = make_venue(bids, asks, start_seq)
    for step in steps:
        venue.step(step)
        venue.check()
    event(f"incidents: {min(len(venue.incidents), 5)}")
    venue.finish()


@settings(max_examples=200, deadline=None)
@given(
    bids=levels_strategy,
    asks=levels_strategy,
    before=st.lists(step_strategy(st.just("valid")), max_size=40),
    corruption=step_strategy(st.sampled_from(KINDS_CORRUPT)),
    during=st.lists(step_strategy(st.sampled_from(("valid", *KINDS_CORRUPT))), max_size=10),
    bad_answers=st.lists(st.integers(min_value=0, max_value=1_000), max_size=3),
)
def test_every_corruption_kind_is_one_incident_then_resync(
    bids: dict[int, float],
    asks: dict[int, float],
    before: list[Step],
    corruption: Step,
    during: list[Step],
    bad_answers: list[int],
) -> None:
    venue = make_venue(bids, asks, 0)
    for step in before:
        venue.step(step)
    venue.check()
    incidents = len(venue.incidents)
    venue.step(corruption)
    venue.check()
    event(f"{corruption.kind}: {'incident' if len(venue.incidents) > incidents else 'no-op'}")
    if len(venue.incidents) == incidents:
        return  # the book gave the corruption nothing to work with (e.g. empty, no cross)
    assert venue.mgr.book(SYM).stale
    for step in during:  # ignored while waiting; no new incident
        venue.step(step)
        venue.check()
    for pick in bad_answers:  # bad snapshots: still stale, asked again, same incident
        requests = len(venue.requests)
        venue.step(Step("bad_answer", True, 1, 1.0, pick))
        venue.check()
        assert len(venue.requests) == requests + 1
    assert len(venue.incidents) == incidents + 1
    venue.finish()


@settings(max_examples=200, deadline=None)
@given(
    bids=levels_strategy,
    asks=levels_strategy,
    steps=st.lists(step_strategy(st.sampled_from(KINDS_HARMLESS)), max_size=80),
)
def test_harmless_repeats_never_make_the_book_stale(
    bids: dict[int, float], asks: dict[int, float], steps: list[Step]
) -> None:
    venue = make_venue(bids, asks, 5)
    for step in steps:
        venue.step(step)
        venue.check()
    assert venue.incidents == []
    assert venue.requests == []
    assert venue.events == []
    assert venue.mgr.is_tradeable(SYM)


@settings(max_examples=200, deadline=None)
@given(
    bids=levels_strategy,
    asks=levels_strategy,
    pick=st.integers(min_value=0, max_value=1_000),
)
def test_corrupt_snapshot_never_loads(
    bids: dict[int, float], asks: dict[int, float], pick: int
) -> None:
    venue = make_venue(bids, asks, 1)
    bid_levels, ask_levels = corrupt_snapshot(*venue.ref.top(), pick, venue.ref)
    book = L2Book(SYM)
    book.apply_snapshot(BookSnapshot(0, 0, SYM, 9, tuple(bid_levels), tuple(ask_levels)))
    assert book.stale
    assert not book.has_snapshot
    assert book.level_count(BID) == book.level_count(ASK) == 0
