"""Order manager: write before send, apply venue events, keep the journal and state in step.

Every intent gets a deterministic client order id and is journaled *before* the request
leaves the process. Venue events are applied through the order state machine, journaled
with the current-state rows in one transaction, and re-published for the rest of the
engine. The same `apply` code rebuilds state when the journal is replayed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from decimal import Decimal

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import Clock
from traider.engine.core.events import (
    Alert,
    CancelOrder,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    OrderSubmitted,
    PositionChanged,
    SubmitOrder,
)
from traider.engine.core.ids import ClientOrderIdGenerator
from traider.engine.core.types import OrderStatus, OrderType, Severity, Side, TimeInForce
from traider.engine.execution.orders import IllegalTransition, Order
from traider.engine.execution.venue import Venue
from traider.engine.portfolio import Portfolio
from traider.engine.risk.limits import PreTradeRisk
from traider.engine.state.store import AccountRecord, PositionRecord, Store, StoreUnavailable

log = logging.getLogger(__name__)

VENUE_EVENTS = (OrderAccepted, OrderRejected, OrderCanceled, OrderFilled)
ORDER_EVENTS = (*VENUE_EVENTS, OrderSubmitted, OrderCancelRequested, OrderDenied)


class OrderManager:
    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        store: Store,
        portfolio: Portfolio,
        risk: PreTradeRisk,
        ids: ClientOrderIdGenerator,
        on_store_failure: Callable[[str], None],
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.store = store
        self.portfolio = portfolio
        self.risk = risk
        self.ids = ids
        self.venue: Venue | None = None
        self.orders: dict[str, Order] = {}
        self.open_ids: set[str] = set()
        self._on_store_failure = on_store_failure
        self.store_ok = True
        self.denied = 0
        # seconds from submit() to the request leaving (risk, journal): the metrics hook
        self.wire_latency: Callable[[float], None] | None = None
        # the last journal transaction's duration: the store-latency health check reads it
        # instead of making writes of its own
        self.last_journal_ms: float | None = None
        self.last_journal_at = 0.0  # time.monotonic() of that write

    def attach(self, venue: Venue) -> None:
        """The venue's order events must be routed to `on_venue_event`, not the bus: the
        manager journals them first and then publishes them for everyone else."""
        self.venue = venue

    # --- state (shared by live and replay) ------------------------------------------------

    def apply(self, event: Event) -> Order | None:
        """Apply one journaled or venue event to in-memory state; no I/O."""
        if isinstance(event, SubmitOrder):
            order = Order(event)
            self.orders[event.client_order_id] = order
            self.ids.observe(event.client_order_id)
            self.open_ids.add(event.client_order_id)  # INITIALIZED counts as working
            return order
        if not isinstance(event, ORDER_EVENTS):
            return None
        existing = self.orders.get(event.client_order_id)
        if existing is None:
            return None
        if not existing.apply(event):
            return None  # duplicate fill
        order = existing
        if isinstance(event, OrderFilled):
            self.portfolio.apply_fill(event)
        if order.status.is_terminal:
            self.open_ids.discard(order.client_order_id)
        return order

    def replay(self, events: Iterable[Event]) -> int:
        count = 0
        for event in events:
            self.apply(event)
            count += 1
        return count

    # --- queries ---------------------------------------------------------------------------

    def open_orders(self) -> list[Order]:
        return [self.orders[cid] for cid in self.open_ids]

    def open_snapshots(self) -> list[OrderSnapshot]:
        return sorted((o.snapshot() for o in self.open_orders()), key=lambda s: s.ts_created)

    def working_side(self, symbol: str, side: Side) -> Decimal:
        """Quantity (unsigned) still working on one side for `symbol`, pending cancels
        included: they can still fill."""
        total = Decimal(0)
        for cid in self.open_ids:
            order = self.orders[cid]
            if order.intent.symbol == symbol and order.intent.side is side:
                total += order.remaining
        return total

    def working_qty(self, symbol: str) -> Decimal:
        """Signed quantity still working in open orders for `symbol`."""
        total = Decimal(0)
        for cid in self.open_ids:
            order = self.orders[cid]
            if order.intent.symbol == symbol:
                total += order.remaining * order.intent.side.sign
        return total

    # --- commands --------------------------------------------------------------------------

    def submit(
        self,
        strategy_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal | None,
        *,
        order_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> str:
        """Check, journal, send. Returns the client order id (also for denied orders)."""
        started = time.perf_counter()
        now = self.clock.timestamp_ns()
        intent = SubmitOrder(
            now,
            now,
            self.ids.next_id(strategy_id),
            strategy_id,
            symbol,
            side,
            order_type,
            quantity,
            price,
            time_in_force,
            post_only,
            reduce_only,
        )
        reason = self.risk.check(intent, flattening=reduce_only)
        if reason is None and (not self.store_ok or self.venue is None):
            reason = "store unavailable: not sending" if not self.store_ok else "no venue"
        order = self.apply(intent)
        assert order is not None
        if reason is not None:
            self._deny(order, reason)
            return intent.client_order_id
        # intent and "submitted" in one durable transaction (one fsync): after it, and only
        # after it, the request may leave the process
        submitted = OrderSubmitted(now, now, intent.client_order_id)
        if not self._journal(intent, order, also=submitted):
            self._deny(order, "store write failed: not sending")
            return intent.client_order_id
        order.apply(submitted)
        self.bus.publish(submitted)
        assert self.venue is not None
        if self.wire_latency is not None:
            self.wire_latency(time.perf_counter() - started)
        self.venue.submit(intent)
        return intent.client_order_id

    def cancel(self, client_order_id: str, reason: str = "") -> bool:
        order = self.orders.get(client_order_id)
        if order is None or not order.status.is_open or self.venue is None:
            return False
        if order.status is not OrderStatus.PENDING_CANCEL:
            now = self.clock.timestamp_ns()
            self._record(OrderCancelRequested(now, now, client_order_id))
        self.venue.cancel(client_order_id)
        return True

    def cancel_all(self, reason: str) -> int:
        return sum(self.cancel(cid, reason) for cid in list(self.open_ids))

    def on_cancel_command(self, command: CancelOrder) -> None:
        self.cancel(command.client_order_id, command.reason)

    # --- venue events ----------------------------------------------------------------------

    def on_venue_event(self, event: OrderEvent) -> None:
        cid = event.client_order_id
        if cid not in self.orders:
            log.warning("venue event for unknown order %s: %s", cid, type(event).__name__)
            return
        self._record(event)

    def _record(self, event: OrderEvent) -> None:
        """Apply, journal with current-state rows, and tell the rest of the engine."""
        try:
            order = self.apply(event)
        except IllegalTransition as exc:
            now = self.clock.timestamp_ns()
            self.bus.publish(Alert(now, now, Severity.CRITICAL, "orders", str(exc)))
            return
        if order is None:
            return  # duplicate fill: already counted
        self._journal(event, order)
        self.bus.publish(event)
        if isinstance(event, OrderFilled):
            position = self.portfolio.positions[event.symbol]
            self.bus.publish(
                PositionChanged(
                    event.ts_event,
                    self.clock.timestamp_ns(),
                    event.symbol,
                    position.quantity,
                    position.avg_price,
                    position.realized_pnl,
                )
            )

    def _deny(self, order: Order, reason: str) -> None:
        now = self.clock.timestamp_ns()
        denied = OrderDenied(now, now, order.client_order_id, order.intent.symbol, reason)
        order.apply(denied)
        self.open_ids.discard(order.client_order_id)
        self.denied += 1
        self._journal_quietly([order.intent, denied])
        self.bus.publish(denied)

    # --- persistence -----------------------------------------------------------------------

    def _journal(self, event: Event, order: Order, also: Event | None = None) -> bool:
        if not self.store_ok:
            return False
        started = time.perf_counter()
        try:
            with self.store.transaction():
                self.store.append(event)
                if also is not None:
                    self.store.append(also)
                self.store.save_orders([order.snapshot()])
                if isinstance(event, OrderFilled):
                    self.store.save_positions([self.position_record(event.symbol)])
                    self.store.save_account(self.account_record())
            self.last_journal_at = time.monotonic()
            self.last_journal_ms = (self.last_journal_at - started) * 1000
            return True
        except StoreUnavailable as exc:
            self.store_ok = False
            self._on_store_failure(str(exc))
            return False

    def journal_event(self, event: Event) -> bool:
        """Journal an event that is not an order's (risk state, commands); fail closed."""
        if not self.store_ok:
            return False
        try:
            self.store.append(event)
            return True
        except StoreUnavailable as exc:
            self.store_ok = False
            self._on_store_failure(str(exc))
            return False

    def _journal_quietly(self, events: list[Event]) -> None:
        if not self.store_ok:
            return
        try:
            self.store.append_many(events)
        except StoreUnavailable as exc:
            self.store_ok = False
            self._on_store_failure(str(exc))

    def position_record(self, symbol: str) -> PositionRecord:
        p = self.portfolio.positions[symbol]
        return PositionRecord(symbol, p.quantity, p.avg_price, p.realized_pnl)

    def account_record(self) -> AccountRecord:
        pf = self.portfolio
        return AccountRecord(pf.cash, pf.realized, pf.fees, pf.day_start_equity, pf.day)
