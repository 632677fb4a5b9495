"""The order state machine: one explicit transition table, illegal transitions raise."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from traider.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    OrderSubmitted,
    SubmitOrder,
)
from traider.engine.core.types import OrderStatus as S


class Trigger(StrEnum):
    SUBMIT = "submit"
    DENY = "deny"
    ACCEPT = "accept"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCEL_REQUEST = "cancel_request"
    CANCEL = "cancel"


# (from, trigger) -> to. Anything not listed is illegal.
TRANSITIONS: dict[tuple[S, Trigger], S] = {
    (S.INITIALIZED, Trigger.SUBMIT): S.SUBMITTED,
    (S.INITIALIZED, Trigger.DENY): S.DENIED,
    # reconciliation after a crash: the venue already knows (or never saw) the order
    (S.INITIALIZED, Trigger.ACCEPT): S.ACCEPTED,
    (S.INITIALIZED, Trigger.REJECT): S.REJECTED,
    (S.SUBMITTED, Trigger.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, Trigger.REJECT): S.REJECTED,
    (S.SUBMITTED, Trigger.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, Trigger.FILL): S.FILLED,
    (S.SUBMITTED, Trigger.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.SUBMITTED, Trigger.CANCEL): S.CANCELED,
    (S.ACCEPTED, Trigger.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, Trigger.FILL): S.FILLED,
    (S.ACCEPTED, Trigger.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.ACCEPTED, Trigger.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, Trigger.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, Trigger.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, Trigger.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, Trigger.CANCEL): S.CANCELED,
    # a fill can race a cancel request; the fill wins what it fills
    (S.PENDING_CANCEL, Trigger.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, Trigger.FILL): S.FILLED,
    (S.PENDING_CANCEL, Trigger.CANCEL): S.CANCELED,
    (S.PENDING_CANCEL, Trigger.CANCEL_REQUEST): S.PENDING_CANCEL,
    # `OrderRejected` always refuses the order itself (cancels of unknown orders are
    # silent): it closes the order whether or not we had asked to cancel it
    (S.PENDING_CANCEL, Trigger.REJECT): S.REJECTED,
    (S.ACCEPTED, Trigger.REJECT): S.REJECTED,
    # a fill the venue made before our cancel took effect can arrive after the cancel
    # acknowledgement: it happened, so it counts (the money moved)
    (S.CANCELED, Trigger.PARTIAL_FILL): S.CANCELED,
    (S.CANCELED, Trigger.FILL): S.FILLED,
}


class IllegalTransition(RuntimeError):
    def __init__(self, client_order_id: str, status: S, trigger: Trigger) -> None:
        super().__init__(f"order {client_order_id}: {trigger.value} is illegal in {status.value}")
        self.status = status
        self.trigger = trigger


class Order:
    """Mutable order state, changed only through `apply`."""

    __slots__ = (
        "avg_fill_price",
        "filled_qty",
        "intent",
        "status",
        "trade_ids",
        "ts_created",
        "ts_updated",
        "venue_order_id",
    )

    def __init__(self, intent: SubmitOrder) -> None:
        self.intent = intent
        self.status = S.INITIALIZED
        self.filled_qty = Decimal(0)
        self.avg_fill_price: Decimal | None = None
        self.venue_order_id: str | None = None
        self.trade_ids: set[str] = set()
        self.ts_created = intent.ts_event
        self.ts_updated = intent.ts_event

    @property
    def client_order_id(self) -> str:
        return self.intent.client_order_id

    @property
    def remaining(self) -> Decimal:
        return self.intent.quantity - self.filled_qty

    def _move(self, trigger: Trigger) -> None:
        target = TRANSITIONS.get((self.status, trigger))
        if target is None:
            raise IllegalTransition(self.client_order_id, self.status, trigger)
        self.status = target

    def apply(self, event: OrderEvent) -> bool:
        """Apply a venue or risk event. Returns False for a duplicate fill (ignored)."""
        if isinstance(event, OrderFilled):
            if event.trade_id in self.trade_ids:
                return False
            new_filled = self.filled_qty + event.quantity
            if new_filled > self.intent.quantity:
                raise IllegalTransition(self.client_order_id, self.status, Trigger.FILL)
            self._move(Trigger.FILL if new_filled == self.intent.quantity else Trigger.PARTIAL_FILL)
            prior_value = (self.avg_fill_price or Decimal(0)) * self.filled_qty
            self.avg_fill_price = (prior_value + event.price * event.quantity) / new_filled
            self.filled_qty = new_filled
            self.trade_ids.add(event.trade_id)
            if not self.venue_order_id:
                self.venue_order_id = event.venue_order_id
        elif isinstance(event, OrderSubmitted):
            self._move(Trigger.SUBMIT)
        elif isinstance(event, OrderAccepted):
            self._move(Trigger.ACCEPT)
            self.venue_order_id = event.venue_order_id
        elif isinstance(event, OrderRejected):
            self._move(Trigger.REJECT)
        elif isinstance(event, OrderCancelRequested):
            self._move(Trigger.CANCEL_REQUEST)
        elif isinstance(event, OrderCanceled):
            self._move(Trigger.CANCEL)
        elif isinstance(event, OrderDenied):
            self._move(Trigger.DENY)
        self.ts_updated = event.ts_event
        return True

    def snapshot(self) -> OrderSnapshot:
        i = self.intent
        return OrderSnapshot(
            client_order_id=i.client_order_id,
            strategy_id=i.strategy_id,
            symbol=i.symbol,
            side=i.side,
            order_type=i.order_type,
            quantity=i.quantity,
            price=i.price,
            status=self.status,
            filled_qty=self.filled_qty,
            avg_fill_price=self.avg_fill_price,
            venue_order_id=self.venue_order_id,
            ts_created=self.ts_created,
            ts_updated=self.ts_updated,
        )


@dataclass(frozen=True, slots=True)
class VenueOrderReport:
    """What a venue says about one of our orders (for reconciliation)."""

    client_order_id: str
    venue_order_id: str
    status: S
    filled_qty: Decimal
