"""Reconciliation: pure functions from our open orders and the venue's reports to the
events that bring our state in line with the venue's. Nothing is ever resent here: an
intent the venue never saw is closed as rejected, and the strategy decides afresh."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from traider.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
)
from traider.engine.core.types import OrderStatus
from traider.engine.execution.orders import Order, VenueOrderReport

NEVER_SENT = "the venue never received it before the restart; not resent"
UNKNOWN_AT_VENUE = "not known to the venue after the restart"


def reconcile(
    open_orders: Iterable[Order],
    reports: Iterable[VenueOrderReport],
    fills_for: Callable[[str], list[OrderFilled]],
    now_ns: int,
) -> list[OrderEvent]:
    by_id = {r.client_order_id: r for r in reports}
    events: list[OrderEvent] = []
    for order in open_orders:
        cid = order.client_order_id
        report = by_id.get(cid)
        if report is None:
            if order.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED):
                events.append(OrderRejected(now_ns, now_ns, cid, NEVER_SENT))
            else:
                events.append(OrderCanceled(now_ns, now_ns, cid, UNKNOWN_AT_VENUE))
            continue
        if report.status is OrderStatus.REJECTED:
            events.append(OrderRejected(now_ns, now_ns, cid, "rejected by the venue"))
            continue
        if order.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED):
            events.append(OrderAccepted(now_ns, now_ns, cid, report.venue_order_id))
        events.extend(f for f in fills_for(cid) if f.trade_id not in order.trade_ids)
        if report.status is OrderStatus.CANCELED:
            events.append(OrderCanceled(now_ns, now_ns, cid, "canceled at the venue"))
    return events
