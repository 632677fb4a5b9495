"""A random baseline: enters long at random moments, as often as it is told, and exits the
way the order-flow strategy does. A strategy that cannot beat this (after fees) has no
edge; evaluations show both side by side."""

from __future__ import annotations

import random
from decimal import Decimal

from traider.engine.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND
from traider.engine.core.events import OrderEvent, OrderFilled, TradeTick
from traider.engine.core.types import Side, TimeInForce
from traider.engine.strategies.base import StrategyContext


class RandomStrategy:
    def __init__(
        self,
        symbols: tuple[str, ...],
        *,
        entries_per_minute: float = 1.0,
        order_notional_usd: float = 150.0,
        max_holding_s: float = 20.0,
        seed: int = 7,
    ) -> None:
        self.strategy_id = "rnd"
        self._rng = random.Random(seed)
        self._p = entries_per_minute / 600  # evaluations every 100 ms
        self._notional = order_notional_usd
        self._hold_ns = int(max_holding_s * NANOS_PER_SECOND)
        self._next: dict[str, int] = {s: 0 for s in symbols}
        self._since: dict[str, int | None] = {s: None for s in symbols}
        self._ctx: StrategyContext | None = None

    def on_start(self, ctx: StrategyContext) -> None:
        self._ctx = ctx

    def on_trade(self, trade: TradeTick) -> None:
        return None

    def on_order_event(self, event: OrderEvent) -> None:
        if not isinstance(event, OrderFilled) or event.side is not Side.BUY:
            return
        if self._since.get(event.symbol) is None:
            self._since[event.symbol] = event.ts_event

    def on_book(self, symbol: str, ts_ns: int) -> None:
        ctx = self._ctx
        if ctx is None or ts_ns < self._next.get(symbol, 0) or not ctx.trading_allowed():
            return
        self._next[symbol] = ts_ns + 100 * NANOS_PER_MILLI
        book = ctx.book(symbol)
        if book is None or ctx.open_order_ids(self.strategy_id, symbol):
            return
        inst = ctx.instrument(symbol)
        position = ctx.position(symbol)
        if position > 0:
            since = self._since.get(symbol) or ts_ns
            bid = book.best_bid()
            if ts_ns - since > self._hold_ns and bid is not None:
                ctx.submit(
                    self.strategy_id,
                    symbol,
                    Side.SELL,
                    position,
                    inst.price_from_float(bid[0]),
                    time_in_force=TimeInForce.IOC,
                )
            return
        self._since[symbol] = None
        if self._rng.random() >= self._p:
            return
        bid = book.best_bid()
        if bid is None:
            return
        price = inst.price_from_float(bid[0])
        notional = ctx.size_order(symbol, self._notional, 1.0, Side.BUY)
        qty = inst.round_qty_down(Decimal(repr(notional)) / price)
        if qty > 0 and qty * price >= inst.min_notional:
            ctx.submit(self.strategy_id, symbol, Side.BUY, qty, price, post_only=True)
