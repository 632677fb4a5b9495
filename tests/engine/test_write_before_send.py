"""Crash between journaling an intent and the venue's acknowledgement: on restart the
order is found by its client id and never sent twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from traider.engine.core.clock import NANOS_PER_MILLI, SimClock
from traider.engine.core.events import Event, OrderAccepted, OrderSubmitted, SubmitOrder
from traider.engine.core.types import OrderStatus, Side
from traider.engine.engine import Engine
from traider.engine.execution.paper import PaperVenue
from traider.engine.execution.reconcile import NEVER_SENT
from traider.engine.state.sqlite_store import SQLiteStore
from traider.testing.engine import make_config


class ProcessKilled(BaseException):
    """Stands in for SIGKILL: nothing in the engine catches it, nothing after it runs."""


def boot(clock: SimClock, venue: PaperVenue | None = None) -> Engine:
    cfg = make_config(**{"strategy.enabled": "false"})
    engine = Engine(cfg, clock=clock, control_socket=False, venue=venue)
    engine.boot()
    for _ in range(4):
        clock.advance(50 * NANOS_PER_MILLI)
        engine.step()
    return engine


def resting_bid_price(engine: Engine) -> Decimal:
    best_bid = engine.books.book("BTC-USD").best_bid()
    assert best_bid is not None
    # well below the touch so it rests and cannot be filled by the crowd quickly
    return engine.instruments["BTC-USD"].price_from_float(best_bid[0] * 0.995)


def journal_types(engine: Engine) -> list[str]:
    return [type(e).__name__ for _, e in SQLiteStore(engine.config.sqlite_path).journal()]


def test_crash_after_send_before_ack_adopts_the_order_on_restart() -> None:
    clock = SimClock()
    first = boot(clock)
    venue = first.venue
    price = resting_bid_price(first)

    def die_on_ack(event: Event) -> None:
        if isinstance(event, OrderAccepted):
            raise ProcessKilled
        first._route_venue_event(event)

    venue.bind(die_on_ack)
    with pytest.raises(ProcessKilled):
        first.orders.submit("t", "BTC-USD", Side.BUY, Decimal("0.001"), price)
    cid = "1-t-1"
    assert [c for c, _, _ in venue.market.open_orders()] == [cid]  # the venue has it
    journaled = [e for _, e in SQLiteStore(first.config.sqlite_path).journal()]
    assert any(isinstance(e, SubmitOrder) and e.client_order_id == cid for e in journaled)
    assert any(isinstance(e, OrderSubmitted) for e in journaled)
    assert not any(isinstance(e, OrderAccepted) for e in journaled)

    second = boot(clock, venue)  # same venue, fresh engine and store connection
    order = second.orders.orders[cid]
    assert order.status is OrderStatus.ACCEPTED
    assert order.venue_order_id
    assert [c for c, _, _ in venue.market.open_orders()] == [cid]  # not resent
    # the id sequence continues after the crashed order: no id reuse
    next_id = second.orders.submit("t", "BTC-USD", Side.BUY, Decimal("0.001"), price)
    assert next_id == "1-t-2"
    assert sorted(c for c, _, _ in venue.market.open_orders()) == [cid, "1-t-2"]
    second.shutdown()


def test_crash_after_journal_before_send_is_closed_not_resent() -> None:
    clock = SimClock()
    first = boot(clock)
    venue = first.venue
    price = resting_bid_price(first)

    class DiesBeforeSending(PaperVenue):
        def submit(self, order: SubmitOrder) -> None:
            raise ProcessKilled

    dying = DiesBeforeSending(venue.market)
    first.orders.venue = dying
    with pytest.raises(ProcessKilled):
        first.orders.submit("t", "BTC-USD", Side.BUY, Decimal("0.001"), price)
    assert venue.market.open_orders() == []
    assert "SubmitOrder" in journal_types(first)

    second = boot(clock, venue)
    order = second.orders.orders["1-t-1"]
    assert order.status is OrderStatus.REJECTED
    assert venue.market.open_orders() == []  # never resent
    rejected = [e for _, e in SQLiteStore(second.config.sqlite_path).journal()
                if type(e).__name__ == "OrderRejected"]
    assert [getattr(e, "reason", "") for e in rejected] == [NEVER_SENT]
    second.shutdown()


CHILD = r"""
import os, signal, sys
from decimal import Decimal
from traider.testing.engine import make_config
from traider.engine.core.clock import NANOS_PER_MILLI, SimClock
from traider.engine.core.types import Side
from traider.engine.engine import Engine
from traider.engine.execution.paper import PaperVenue

class KilledOnTheWire(PaperVenue):
    def submit(self, order):
        self.market.submit(order)  # the venue has it...
        os.kill(os.getpid(), signal.SIGKILL)  # ...and the process dies before the ack

clock = SimClock()
engine = Engine(make_config(**{"strategy.enabled": "false"}), clock=clock, control_socket=False)
engine.boot()
for _ in range(4):
    clock.advance(50 * NANOS_PER_MILLI)
    engine.step()
best_bid = engine.books.book("BTC-USD").best_bid()
price = engine.instruments["BTC-USD"].price_from_float(best_bid[0] * 0.995)
engine.orders.venue = KilledOnTheWire(engine.market)
engine.orders.submit("t", "BTC-USD", Side.BUY, Decimal("0.001"), price)
print("not reached")
"""


def test_sigkill_between_journal_and_ack_loses_nothing_and_sends_nothing_twice(
    traider_home: object,
) -> None:
    import subprocess
    import sys
    from pathlib import Path

    tests_dir = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", CHILD, tests_dir], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == -9, proc.stderr  # really killed
    assert "not reached" not in proc.stdout
    engine = boot(SimClock())  # a new process's worth of engine: fresh venue, same store
    journal = [e for _, e in SQLiteStore(engine.config.sqlite_path).journal()]
    intents = [e for e in journal if isinstance(e, SubmitOrder)]
    assert [i.client_order_id for i in intents] == ["1-t-1"]  # journaled before it died
    order = engine.orders.orders["1-t-1"]
    # the paper venue died with the process, so the venue no longer has it: closed, and
    # never sent again
    assert order.status is OrderStatus.REJECTED
    assert engine.market.open_orders() == []
    assert engine.orders.submit("t", "BTC-USD", Side.BUY, Decimal("0.001"),
                                resting_bid_price(engine)) == "1-t-2"
    engine.shutdown()
