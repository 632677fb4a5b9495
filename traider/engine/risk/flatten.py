"""Flattening: close every position with reduce-only IOC orders that cross the book."""

from __future__ import annotations

from traider.engine.core.types import OrderType, Side, TimeInForce
from traider.engine.execution.manager import OrderManager
from traider.engine.marketdata.manager import BookManager
from traider.engine.portfolio import Portfolio

CROSS_FRACTION = 0.01  # through the touch, so the IOC sweeps enough depth to close


def flatten_all(portfolio: Portfolio, books: BookManager, orders: OrderManager) -> int:
    """One order per open position for what is not already being reduced by working
    orders (pending cancels included: they can still fill); returns how many were sent
    (denials are events, as for any order)."""
    sent = 0
    for symbol, position in portfolio.positions.items():
        if position.quantity == 0:
            continue
        side = Side.SELL if position.quantity > 0 else Side.BUY
        # what already works to reduce it (pending cancels can still fill) is not resent
        qty = abs(position.quantity) - orders.working_side(symbol, side)
        if qty <= 0:
            continue
        book = books.book(symbol)
        touch = book.best_bid() if side is Side.SELL else book.best_ask()
        if touch is None:
            continue
        inst = portfolio.instruments[symbol]
        factor = 1 - CROSS_FRACTION if side is Side.SELL else 1 + CROSS_FRACTION
        orders.submit(
            "flatten",
            symbol,
            side,
            qty,
            inst.price_from_float(touch[0] * factor),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.IOC,
            reduce_only=True,
        )
        sent += 1
    return sent
