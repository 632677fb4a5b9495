"""Paper venue: orders go to the simulated matching engine in-process."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from traider.engine.core.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
)
from traider.engine.core.types import OrderStatus
from traider.engine.execution.orders import VenueOrderReport
from traider.engine.execution.venue import Emit
from traider.sim.market import SimulatedMarket


class _Record:
    __slots__ = ("filled", "fills", "quantity", "status", "venue_order_id")

    def __init__(self, quantity: Decimal) -> None:
        self.quantity = quantity
        self.venue_order_id = ""
        self.status = OrderStatus.SUBMITTED
        self.filled = Decimal(0)
        self.fills: list[OrderFilled] = []


def _nowhere(event: Event) -> None:
    raise RuntimeError(f"paper venue not bound to an engine; dropped {type(event).__name__}")


class PaperVenue:
    name = "paper"

    def __init__(self, market: SimulatedMarket, emit: Emit | None = None) -> None:
        self.market = market
        self._emit: Emit = emit or _nowhere
        self._orders: dict[str, _Record] = {}
        self._outbox: deque[Event] = deque()
        self._forwarding = False

    def bind(self, emit: Emit) -> None:
        """Route this venue's events to an engine. The venue (like a real exchange) outlives
        any one engine process: a restarted engine binds the same venue again."""
        self._emit = emit

    def submit(self, order: SubmitOrder) -> None:
        self._orders[order.client_order_id] = _Record(order.quantity)
        self._forward(self.market.submit(order))

    def cancel(self, client_order_id: str) -> None:
        self._forward(self.market.cancel(client_order_id))

    def forward_market_events(self, events: list[Event]) -> None:
        """Events from the market's own clock (crowd flow that fills our resting orders)."""
        self._forward(events)

    def _forward(self, events: list[Event]) -> None:
        """Deliver in the venue's own order. An order placed while a batch is being
        delivered (a strategy reacting to one delta) has its events queued behind the rest
        of that batch, as a real feed would: its book deltas carry later sequence numbers."""
        self._outbox.extend(events)
        if self._forwarding:
            return
        self._forwarding = True
        try:
            while self._outbox:
                event = self._outbox.popleft()
                record = self._orders.get(getattr(event, "client_order_id", ""))
                if record is not None:
                    self._track(record, event)
                self._emit(event)
        finally:
            self._forwarding = False

    @staticmethod
    def _track(record: _Record, event: Event) -> None:
        if isinstance(event, OrderAccepted):
            record.venue_order_id = event.venue_order_id
            record.status = OrderStatus.ACCEPTED
        elif isinstance(event, OrderRejected):
            record.status = OrderStatus.REJECTED
        elif isinstance(event, OrderCanceled):
            record.status = OrderStatus.CANCELED
        elif isinstance(event, OrderFilled):
            record.fills.append(event)
            record.filled += event.quantity
            record.status = (
                OrderStatus.FILLED
                if record.filled >= record.quantity
                else OrderStatus.PARTIALLY_FILLED
            )

    def order_reports(self) -> list[VenueOrderReport]:
        return [
            VenueOrderReport(cid, r.venue_order_id, r.status, r.filled)
            for cid, r in self._orders.items()
        ]

    def fills_for(self, client_order_id: str) -> list[OrderFilled]:
        record = self._orders.get(client_order_id)
        return list(record.fills) if record else []
