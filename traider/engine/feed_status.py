"""Feed health per symbol, as the status bar and the health checks show it."""

from __future__ import annotations

from traider.engine.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND
from traider.engine.marketdata.manager import BookManager
from traider.engine.view import FeedHealth


def feed_health(
    books: BookManager, symbols: tuple[str, ...], now_ns: int, stale_after_ms: int
) -> tuple[FeedHealth, ...]:
    stale_after = stale_after_ms * NANOS_PER_MILLI
    feeds = []
    for symbol in symbols:
        book = books.book(symbol)
        last = books.last_update_ns(symbol)
        if book.stale:
            feeds.append(FeedHealth(symbol, False, last, f"stale: {book.stale_reason}"))
        elif last is None:
            feeds.append(FeedHealth(symbol, False, None, "no data yet"))
        elif now_ns - last > stale_after:
            age = (now_ns - last) / NANOS_PER_SECOND
            feeds.append(FeedHealth(symbol, False, last, f"no data for {age:.1f} s"))
        else:
            feeds.append(FeedHealth(symbol, True, last, "ok"))
    return tuple(feeds)
