from __future__ import annotations

from decimal import Decimal

import pytest

from traider.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    SubmitOrder,
)
from traider.engine.core.types import Liquidity, OrderStatus, OrderType, Side
from traider.engine.execution.orders import TRANSITIONS, IllegalTransition, Order, Trigger

CID = "1-t-1"


def intent(qty: str = "2") -> SubmitOrder:
    return SubmitOrder(1, 1, CID, "t", "BTC-USD", Side.BUY, OrderType.LIMIT, Decimal(qty),
                       Decimal("100"))


def fill(qty: str, trade_id: str = "x1", price: str = "100") -> OrderFilled:
    return OrderFilled(2, 2, CID, "v1", trade_id, "BTC-USD", Side.BUY, Decimal(qty),
                       Decimal(price), Decimal("0.01"), Liquidity.MAKER)


def event_for(trigger: Trigger) -> object:
    return {
        Trigger.SUBMIT: OrderSubmitted(2, 2, CID),
        Trigger.DENY: OrderDenied(2, 2, CID, "BTC-USD", "no"),
        Trigger.ACCEPT: OrderAccepted(2, 2, CID, "v1"),
        Trigger.REJECT: OrderRejected(2, 2, CID, "no"),
        Trigger.PARTIAL_FILL: fill("1"),
        Trigger.FILL: fill("2"),
        Trigger.CANCEL_REQUEST: OrderCancelRequested(2, 2, CID),
        Trigger.CANCEL: OrderCanceled(2, 2, CID),
    }[trigger]


@pytest.mark.parametrize(("start", "trigger"), sorted(TRANSITIONS, key=str))
def test_every_legal_transition(start: OrderStatus, trigger: Trigger) -> None:
    order = Order(intent())
    order.status = start
    order.apply(event_for(trigger))  # type: ignore[arg-type]
    assert order.status is TRANSITIONS[(start, trigger)]


ILLEGAL = [
    (s, t) for s in OrderStatus for t in Trigger
    if (s, t) not in TRANSITIONS and not (t is Trigger.FILL and s is OrderStatus.INITIALIZED)
]


@pytest.mark.parametrize(("start", "trigger"), ILLEGAL)
def test_illegal_transitions_raise(start: OrderStatus, trigger: Trigger) -> None:
    order = Order(intent())
    order.status = start
    with pytest.raises(IllegalTransition):
        order.apply(event_for(trigger))  # type: ignore[arg-type]
    assert order.status is start


def test_terminal_states_accept_nothing_but_a_late_fill_after_cancel() -> None:
    for status in (OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.DENIED):
        assert not any(start is status for start, _ in TRANSITIONS)
    assert {t for s, t in TRANSITIONS if s is OrderStatus.CANCELED} == {
        Trigger.PARTIAL_FILL, Trigger.FILL}


def test_a_fill_after_the_cancel_ack_still_counts() -> None:
    order = Order(intent("2"))
    for event in (OrderSubmitted(2, 2, CID), OrderAccepted(2, 2, CID, "v1"),
                  OrderCancelRequested(2, 2, CID), OrderCanceled(3, 3, CID)):
        order.apply(event)
    assert order.apply(fill("1", "late"))
    assert order.status is OrderStatus.CANCELED
    assert order.filled_qty == Decimal("1")


def test_a_reject_while_a_cancel_is_pending_closes_the_order() -> None:
    order = Order(intent("2"))
    for event in (OrderSubmitted(2, 2, CID), OrderCancelRequested(2, 2, CID),
                  OrderRejected(3, 3, CID, "post-only would cross")):
        order.apply(event)
    assert order.status is OrderStatus.REJECTED
    assert not order.status.is_open


def test_partial_fills_average_price_and_duplicate_fill_ignored() -> None:
    order = Order(intent("3"))
    order.apply(OrderSubmitted(2, 2, CID))
    order.apply(OrderAccepted(2, 2, CID, "v1"))
    assert order.apply(fill("1", "a", "100"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert not order.apply(fill("1", "a", "100"))  # same trade id: counted once
    assert order.filled_qty == Decimal("1")
    order.apply(fill("2", "b", "103"))
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == Decimal("102")


def test_overfill_raises() -> None:
    order = Order(intent("1"))
    order.apply(OrderSubmitted(2, 2, CID))
    with pytest.raises(IllegalTransition):
        order.apply(fill("2"))
