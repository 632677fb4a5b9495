"""Book-imbalance strategy: the first end-to-end exercise of the loop, kept honest.

Long only (spot crypto cannot be shorted). When depth imbalance over the top N levels
leans to the bid, join the best bid with a post-only order (maker fee). Once filled, offer
the position at a take-profit price that clears the round trip's maker fees plus a margin
(`edge_over_fees_bps`), so a win is a win after fees. If the target is not reached within
`max_holding_s`, leave at the best bid (taker fee): the time stop takes the loss.

At retail fee tiers (0.4 % maker / 0.6 % taker) short-horizon imbalance rarely moves the
price far enough to pay the fees: expect this to lose money slowly. It exists to drive
the engine, not to make money; the order-flow and ML strategies replace it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from traider.config import StrategyConfig
from traider.engine.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND
from traider.engine.core.events import OrderDenied, OrderEvent, OrderFilled, TradeTick
from traider.engine.core.types import Side, TimeInForce
from traider.engine.strategies.base import StrategyContext
from traider.engine.strategies.exits import leave_at_bid, take_profit

EVALUATE_EVERY_NS = 200 * NANOS_PER_MILLI
ENTRY_TIMEOUT_NS = 3 * NANOS_PER_SECOND
DENIAL_BACKOFF_NS = 5 * NANOS_PER_SECOND


@dataclass(slots=True)
class _SymbolState:
    next_eval_ns: int = 0
    entry_id: str | None = None
    entry_ts_ns: int = 0
    exit_id: str | None = None
    holding_since_ns: int | None = None
    cooldown_until_ns: int = 0
    time_stopped: bool = False


class ImbalanceStrategy:
    def __init__(self, config: StrategyConfig, symbols: tuple[str, ...]) -> None:
        self.strategy_id = "imb"
        self.config = config
        self.state = {s: _SymbolState() for s in symbols}
        self._ctx: StrategyContext | None = None

    def on_start(self, ctx: StrategyContext) -> None:
        self._ctx = ctx

    def on_trade(self, trade: TradeTick) -> None:
        return None

    def on_order_event(self, event: OrderEvent) -> None:
        if isinstance(event, OrderDenied):
            # back off instead of asking again every evaluation
            denied = self.state.get(event.symbol)
            if denied is not None:
                denied.cooldown_until_ns = event.ts_event + DENIAL_BACKOFF_NS
                denied.next_eval_ns = max(denied.next_eval_ns, denied.cooldown_until_ns)
            return
        if isinstance(event, OrderFilled) and event.side is Side.BUY:
            st = self.state.get(event.symbol)
            if st is not None and st.holding_since_ns is None:
                st.holding_since_ns = event.ts_event

    def on_book(self, symbol: str, ts_ns: int) -> None:
        ctx = self._ctx
        st = self.state.get(symbol)
        if ctx is None or st is None or ts_ns < st.next_eval_ns:
            return
        st.next_eval_ns = ts_ns + EVALUATE_EVERY_NS
        if not ctx.trading_allowed():
            return
        book = ctx.book(symbol)
        if book is None:
            return
        open_ids = set(ctx.open_order_ids(self.strategy_id, symbol))
        if st.entry_id not in open_ids:
            st.entry_id = None
        if st.exit_id not in open_ids:
            st.exit_id = None
        position = ctx.position(symbol)
        if position > 0:
            self._manage_exit(ctx, symbol, st, position, ts_ns)
            return
        st.holding_since_ns = None
        st.time_stopped = False
        if st.entry_id is not None:
            if ts_ns - st.entry_ts_ns > ENTRY_TIMEOUT_NS:
                ctx.cancel(st.entry_id)
            return
        if ts_ns < st.cooldown_until_ns:
            return
        best_bid = book.best_bid()
        if (
            best_bid is None
            or book.imbalance(self.config.imbalance_levels) < self.config.entry_imbalance
        ):
            return
        inst = ctx.instrument(symbol)
        best_ask = book.best_ask()
        strong = book.imbalance(self.config.imbalance_levels) >= self.config.aggressive_imbalance
        if strong and best_ask is not None:
            # a strong lean: take the offer now (taker fee) rather than wait in the queue
            price = inst.price_from_float(best_ask[0])
            tif, post_only = TimeInForce.IOC, False
        else:
            price = inst.price_from_float(best_bid[0])
            tif, post_only = TimeInForce.GTC, True
        # confidence grows with the lean: 0 at the entry threshold's edge, 1 at "strong"
        imbalance = book.imbalance(self.config.imbalance_levels)
        confidence = min(1.0, imbalance / self.config.aggressive_imbalance)
        notional = ctx.size_order(symbol, self.config.order_notional_usd, confidence, Side.BUY)
        qty = inst.round_qty_down(Decimal(repr(notional)) / price)
        if qty <= 0 or qty * price < inst.min_notional:
            return
        st.entry_id = ctx.submit(
            self.strategy_id, symbol, Side.BUY, qty, price, time_in_force=tif, post_only=post_only
        )
        st.entry_ts_ns = ts_ns
        st.cooldown_until_ns = ts_ns + int(self.config.cooldown_s * NANOS_PER_SECOND)

    def _manage_exit(
        self, ctx: StrategyContext, symbol: str, st: _SymbolState, position: Decimal, ts_ns: int
    ) -> None:
        if st.entry_id is not None:
            ctx.cancel(st.entry_id)  # partly filled entry: stop adding, manage what we hold
            return
        inst = ctx.instrument(symbol)
        book = ctx.book(symbol)
        if book is None:
            return
        held_ns = ts_ns - (st.holding_since_ns or ts_ns)
        if held_ns > self.config.max_holding_s * NANOS_PER_SECOND and not st.time_stopped:
            if st.exit_id is not None:
                ctx.cancel(st.exit_id)
                return
            st.exit_id = leave_at_bid(ctx, self.strategy_id, symbol, position)
            st.time_stopped = st.exit_id is not None
            return
        if st.exit_id is not None:
            return
        if st.time_stopped:  # the IOC left a remainder: try again on the next evaluation
            st.time_stopped = False
            return
        cost = 2 * inst.maker_fee_rate + Decimal(str(self.config.edge_over_fees_bps)) / 10_000
        st.exit_id = take_profit(ctx, self.strategy_id, symbol, position, cost)
