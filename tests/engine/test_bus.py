from __future__ import annotations

import asyncio
import time

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import SimClock
from traider.engine.core.events import Alert, BookStale, Event, TradeTick
from traider.engine.core.types import Severity, Side


def trade(n: int) -> TradeTick:
    return TradeTick(n, n, "BTC-USD", n, 100.0, 1.0, Side.BUY)


def test_typed_subscribers_get_their_events_in_publish_order() -> None:
    bus = MessageBus(SimClock())
    seen: list[object] = []
    bus.subscribe(TradeTick, lambda e: seen.append(("t", e.trade_id)))
    bus.subscribe(BookStale, lambda e: seen.append(("s", e.symbol)))
    bus.subscribe_all(lambda e: seen.append(("all", type(e).__name__)))
    bus.publish(trade(1))
    bus.publish(BookStale(2, 2, "ETH-USD", "gap"))
    assert seen == [("t", 1), ("all", "TradeTick"), ("s", "ETH-USD"), ("all", "BookStale")]


def test_event_published_inside_a_handler_is_delivered_after_the_current_one() -> None:
    bus = MessageBus(SimClock())
    order: list[str] = []

    def first(e: TradeTick) -> None:
        order.append(f"first-{e.trade_id}")
        if e.trade_id == 1:
            bus.publish(trade(2))

    bus.subscribe(TradeTick, first)
    bus.subscribe(TradeTick, lambda e: order.append(f"second-{e.trade_id}"))
    bus.publish(trade(1))
    # every subscriber sees event 1 before anyone sees event 2
    assert order == ["first-1", "second-1", "first-2", "second-2"]


def test_a_failing_handler_becomes_an_alert_and_the_bus_carries_on() -> None:
    bus = MessageBus(SimClock())
    alerts: list[Alert] = []
    after: list[int] = []

    def broken(e: TradeTick) -> None:
        raise ValueError("boom")

    bus.subscribe(Alert, alerts.append)
    bus.subscribe(TradeTick, broken)
    bus.subscribe(TradeTick, lambda e: after.append(e.trade_id))
    bus.publish(trade(1))
    bus.publish(trade(2))
    assert after == [1, 2]
    assert len(alerts) == 2
    assert alerts[0].severity is Severity.WARNING
    assert "broken" in alerts[0].message
    assert "boom" in alerts[0].message
    assert bus.handler_errors == 2


def test_a_failing_alert_handler_does_not_loop_forever() -> None:
    bus = MessageBus(SimClock())

    def broken(e: Alert) -> None:
        raise RuntimeError("alert sink down")

    bus.subscribe(Alert, broken)
    bus.publish(Alert(1, 1, Severity.INFO, "x", "hello"))
    assert bus.handler_errors == 2  # the original alert, then the bus's own alert: stop


def test_a_slow_handler_is_named_in_an_alert() -> None:
    bus = MessageBus(SimClock(), slow_handler_ms=1.0)
    alerts: list[Alert] = []
    bus.subscribe(Alert, alerts.append)

    def slow(e: TradeTick) -> None:
        time.sleep(0.005)  # allowed: the test needs a handler that really is slow

    bus.subscribe(TradeTick, slow)
    bus.publish(trade(1))
    bus.publish(trade(2))
    assert bus.slow_handler_calls == 2
    assert len(alerts) == 1  # reported once, not on every call
    assert "slow handler" in alerts[0].message
    assert "slow" in alerts[0].message


async def test_a_slow_async_subscriber_never_holds_up_the_publisher() -> None:
    bus = MessageBus(SimClock(), async_queue_size=5)
    got: list[int] = []
    release = asyncio.Event()
    alerts: list[Alert] = []
    bus.subscribe(Alert, alerts.append)

    async def sluggish(e: TradeTick) -> None:
        await release.wait()
        got.append(e.trade_id)

    bus.subscribe_async(TradeTick, sluggish)
    sync_seen: list[int] = []
    bus.subscribe(TradeTick, lambda e: sync_seen.append(e.trade_id))
    for n in range(20):
        bus.publish(trade(n))  # returns at once although the subscriber is stuck
    assert sync_seen == list(range(20))
    release.set()
    await asyncio.sleep(0.05)
    assert got == list(range(5))  # a full queue of five; the other fifteen were dropped
    assert any("dropped" in a.message for a in alerts)
    await bus.close()


def test_subclass_subscription_receives_subclass_events() -> None:
    bus = MessageBus(SimClock())
    seen: list[Event] = []
    bus.subscribe(Event, seen.append)
    bus.publish(trade(1))
    assert len(seen) == 1
