"""Exits shared by the long-only strategies: a passive take-profit that clears the round
trip's costs, and leaving at the bid."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from traider.engine.core.types import Side, TimeInForce
from traider.engine.strategies.base import StrategyContext


def take_profit(
    ctx: StrategyContext, strategy_id: str, symbol: str, position: Decimal, cost: Decimal
) -> str | None:
    """Offer `position` post-only at avg entry × (1 + cost), rounded up to the tick and
    never below the best ask (post-only must not cross). `cost` is a fraction."""
    book = ctx.book(symbol)
    if book is None:
        return None
    inst = ctx.instrument(symbol)
    target = ctx.avg_price(symbol) * (1 + cost) / inst.tick_size
    price = target.to_integral_value(ROUND_CEILING) * inst.tick_size
    ask = book.best_ask()
    if ask is not None:
        price = max(price, inst.price_from_float(ask[0]))
    return ctx.submit(strategy_id, symbol, Side.SELL, position, price, post_only=True)


def leave_at_bid(
    ctx: StrategyContext, strategy_id: str, symbol: str, position: Decimal
) -> str | None:
    """Sell `position` IOC at the best bid (taker); None when there is no bid."""
    book = ctx.book(symbol)
    bid = book.best_bid() if book is not None else None
    if bid is None:
        return None
    price = ctx.instrument(symbol).price_from_float(bid[0])
    return ctx.submit(
        strategy_id, symbol, Side.SELL, position, price, time_in_force=TimeInForce.IOC
    )
