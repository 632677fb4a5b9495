"""Feed health per symbol, as the status bar and the health checks show it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from traider.engine.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND
from traider.engine.marketdata.manager import BookManager
from traider.engine.view import EngineStatus, FeedHealth

if TYPE_CHECKING:
    from traider.engine.engine import Engine


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


def engine_status(engine: Engine) -> EngineStatus:
    """The status bar's view of the engine."""
    feeds = feed_health(
        engine.books,
        engine.symbols,
        engine.clock.timestamp_ns(),
        engine.config.risk.stale_feed_after_ms,
    )
    store_ok = engine.orders.store_ok
    store = (
        f"{engine.store.description} ok"
        if store_ok
        else f"{engine.store.description} ERROR: {engine.store_error}"
    )
    return EngineStatus(
        mode=engine.mode,
        running=engine.running,
        feeds=feeds,
        loop_lag_p99_ms=engine.loop_lag.p99_ms(),
        store=store,
        store_ok=store_ok,
        kill_switch=engine.kill.view(),
        fills=engine.portfolio.fill_count,
    )
