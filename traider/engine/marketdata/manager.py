"""Keeps one `L2Book` per symbol in step with the bus and recovers books that go stale.

* `BookSnapshot` / `BookDelta` events for the configured symbols are applied to the books
  (others are counted and ignored).
* A delta that makes a book stale (sequence gap, invalid, absurd, crossed or locked
  update) publishes `BookInvalid(symbol, reason, seq)` (the offending message's seq) and
  `BookStale(symbol, reason)`, once per incident, and calls `request_snapshot(symbol)`.
  While the snapshot is awaited, further deltas are ignored; if it has not arrived after
  `resnapshot_after_ns` (measured on the clock when later deltas arrive) it is requested
  again.
* A snapshot for a book that was reported stale publishes `BookResynced(symbol, seq)` and
  counts a resync. A book's very first snapshot is not a resync: before it the book was
  never fresh, so no `BookStale` is published for it; a delta arriving before it only
  triggers a snapshot request.
* A snapshot older than a fresh book (lower `seq`) is a late reply and is ignored.
* A snapshot that is itself invalid, absurd or crossed leaves the book stale:
  `BookInvalid` and `BookStale` are published (once per incident) and a new snapshot
  requested.
* `invalidate(symbol, reason)` (feed disconnect, ...) publishes `BookStale` only: no
  message failed validation.
* Resync metrics per symbol (`resync_stats`): how many resyncs, and how long each incident
  lasted, from the first `BookStale` to the `BookResynced`, on the manager's clock.

`is_tradeable(symbol)` is False from the moment a book fails validation until a valid
snapshot has been applied.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import NANOS_PER_SECOND, Clock
from traider.engine.core.events import (
    BookDelta,
    BookInvalid,
    BookResynced,
    BookSnapshot,
    BookStale,
)
from traider.engine.marketdata.book import L2Book

__all__ = ["BookManager", "ResyncStats"]

RECENT_RESYNCS = 256  # durations kept per symbol for `ResyncStats.recent_ns`


@dataclass(frozen=True, slots=True)
class ResyncStats:
    """Resync metrics of one symbol; durations in ns from going stale to resynced."""

    resync_count: int
    last_resync_ns: int | None  # duration of the latest resync; None before any
    max_resync_ns: int | None
    total_resync_ns: int
    recent_ns: tuple[int, ...]  # the latest durations, oldest first (at most RECENT_RESYNCS)
    invalid_count: int  # incidents caused by a message failing validation (BookInvalid)
    stale_since_ns: int | None  # clock time the current incident began; None while fresh

    @property
    def mean_resync_ns(self) -> float | None:
        return self.total_resync_ns / self.resync_count if self.resync_count else None


class _Metrics:
    __slots__ = ("durations", "invalid_count", "max_ns", "stale_since", "total_ns")

    def __init__(self) -> None:
        self.durations: deque[int] = deque(maxlen=RECENT_RESYNCS)
        self.invalid_count = 0
        self.max_ns: int | None = None
        self.stale_since: int | None = None
        self.total_ns = 0


class BookManager:
    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        symbols: Sequence[str],
        request_snapshot: Callable[[str], None],
        *,
        resnapshot_after_ns: int = 5 * NANOS_PER_SECOND,
        price_band: float = 10.0,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._request_snapshot = request_snapshot
        self._resnapshot_after_ns = resnapshot_after_ns
        self._books: dict[str, L2Book] = {s: L2Book(s, price_band=price_band) for s in symbols}
        self._last_update_ns: dict[str, int | None] = dict.fromkeys(self._books)
        self._resync_count: dict[str, int] = dict.fromkeys(self._books, 0)
        self._metrics: dict[str, _Metrics] = {s: _Metrics() for s in self._books}
        self._reported_stale: set[str] = set()  # BookStale published, no resync yet
        self._requested_at: dict[str, int] = {}  # symbol -> clock time of pending request
        self.ignored_events = 0  # events for symbols this manager does not track
        self.ignored_snapshots = 0  # late snapshots older than a fresh book
        bus.subscribe(BookSnapshot, self._on_snapshot)
        bus.subscribe(BookDelta, self._on_delta)

    # --- queries --------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        return list(self._books)

    def book(self, symbol: str) -> L2Book:
        return self._books[symbol]

    def resync_count(self, symbol: str) -> int:
        """How many times the book was recovered by a snapshot after going stale."""
        return self._resync_count[symbol]

    def resync_stats(self, symbol: str) -> ResyncStats:
        """Resync count and durations (stale -> resynced, ns) for `symbol`."""
        m = self._metrics[symbol]
        durations = tuple(m.durations)
        return ResyncStats(
            resync_count=self._resync_count[symbol],
            last_resync_ns=durations[-1] if durations else None,
            max_resync_ns=m.max_ns,
            total_resync_ns=m.total_ns,
            recent_ns=durations,
            invalid_count=m.invalid_count,
            stale_since_ns=m.stale_since,
        )

    def last_resync_ns(self, symbol: str) -> int | None:
        """How long the latest resync took, from going stale to resynced; None before any."""
        durations = self._metrics[symbol].durations
        return durations[-1] if durations else None

    def last_update_ns(self, symbol: str) -> int | None:
        """Clock time of the last applied snapshot or delta; None before any."""
        return self._last_update_ns[symbol]

    def is_tradeable(self, symbol: str) -> bool:
        book = self._books.get(symbol)
        return book is not None and book.has_snapshot and not book.stale

    def snapshot_pending(self, symbol: str) -> bool:
        return symbol in self._requested_at

    # --- control --------------------------------------------------------------------------

    def invalidate(self, symbol: str, reason: str) -> None:
        """Mark a book stale from outside (feed disconnect, ...) and ask for a snapshot."""
        book = self._books[symbol]
        book.mark_stale(reason)
        self._report_stale(symbol, book.stale_reason or reason)

    # --- handlers -------------------------------------------------------------------------

    def _on_delta(self, d: BookDelta) -> None:
        symbol = d.symbol
        book = self._books.get(symbol)
        if book is None:
            self.ignored_events += 1
            return
        if book.apply_delta(d):
            self._last_update_ns[symbol] = self._clock.timestamp_ns()
            return
        if not book.stale:
            return  # duplicate or old delta
        if symbol in self._requested_at:
            now = self._clock.timestamp_ns()
            if now - self._requested_at[symbol] >= self._resnapshot_after_ns:
                self._request(symbol, now)
        elif not book.has_snapshot and symbol not in self._reported_stale:
            self._request(symbol, self._clock.timestamp_ns())  # never had one: just ask
        else:
            self._report_stale(symbol, book.stale_reason, d.seq)

    def _on_snapshot(self, snap: BookSnapshot) -> None:
        symbol = snap.symbol
        book = self._books.get(symbol)
        if book is None:
            self.ignored_events += 1
            return
        if book.has_snapshot and not book.stale and snap.seq < book.seq:
            self.ignored_snapshots += 1
            return
        book.apply_snapshot(snap)
        now = self._clock.timestamp_ns()
        if book.stale:  # the snapshot itself was unusable
            self._requested_at.pop(symbol, None)
            self._report_stale(symbol, book.stale_reason, snap.seq)
            return
        self._last_update_ns[symbol] = now
        self._requested_at.pop(symbol, None)
        if symbol in self._reported_stale:
            self._reported_stale.discard(symbol)
            self._resync_count[symbol] += 1
            m = self._metrics[symbol]
            if m.stale_since is not None:
                took = now - m.stale_since
                m.stale_since = None
                m.durations.append(took)
                m.total_ns += took
                if m.max_ns is None or took > m.max_ns:
                    m.max_ns = took
            self._bus.publish(BookResynced(now, now, symbol, snap.seq))

    # --- internals ------------------------------------------------------------------------

    def _report_stale(self, symbol: str, reason: str, seq: int | None = None) -> None:
        """Start an incident (once): `BookInvalid` when message `seq` failed validation,
        then `BookStale`; and make sure a snapshot is on its way."""
        now = self._clock.timestamp_ns()
        if symbol not in self._reported_stale:
            self._reported_stale.add(symbol)
            m = self._metrics[symbol]
            m.stale_since = now
            if seq is not None:
                m.invalid_count += 1
                self._bus.publish(BookInvalid(now, now, symbol, reason, seq))
            self._bus.publish(BookStale(now, now, symbol, reason))
        if symbol not in self._requested_at:
            self._request(symbol, now)

    def _request(self, symbol: str, now: int) -> None:
        self._requested_at[symbol] = now
        self._request_snapshot(symbol)
