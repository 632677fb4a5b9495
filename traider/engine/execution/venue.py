"""What the order manager needs from a venue (paper now, ccxt live later)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from traider.engine.core.events import Event, OrderFilled, SubmitOrder
from traider.engine.execution.orders import VenueOrderReport

Emit = Callable[[Event], None]


class Venue(Protocol):
    name: str

    def submit(self, order: SubmitOrder) -> None:
        """Send the order; results come back as events through the venue's emit callback."""
        ...

    def cancel(self, client_order_id: str) -> None: ...

    def order_reports(self) -> list[VenueOrderReport]:
        """Every order of ours the venue knows about, open or closed."""
        ...

    def fills_for(self, client_order_id: str) -> list[OrderFilled]: ...
