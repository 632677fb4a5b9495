"""Order-flow strategy: short-horizon signals from order-flow imbalance and the microprice.

Signal. Expected mid move over the next seconds, in bps:
    edge_bps = microprice_dev_bps + ofi_weight_bps × tanh(ofi_window / ofi_scale)
where `ofi_scale` is a running mean of |ofi_window| (so the OFI term is unit-free) and the
microprice deviation is Stoikov's first-order estimate (fitted on past data only).

Costs. A round trip pays the entry and the exit fee and, for the aggressive leg, half the
spread. Passive entry (post-only at the touch): cost = 2 × maker fee. Aggressive entry
(IOC at the far touch): cost = taker + maker fee + half the spread. A trade is taken only
when |edge| clears that cost plus `margin_bps`, with the aggressive leg chosen only when the
edge clears the aggressive cost. At Coinbase's entry fee tier (0.4 % maker, 0.6 % taker)
no short-horizon signal clears ~80-100 bps, so the strategy stands aside: that is the
honest answer at that tier, and replay shows it. At a low tier (maker 0, taker ~5 bps)
it trades.

Spot only: long or flat. Exits: passive at entry + costs + margin, or at the far touch when
the edge turns against the position or after `max_holding_s`. Sizes come from the risk
desk (`ctx.size_order`: confidence × volatility target × drawdown tier, capped).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from traider.engine.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND
from traider.engine.core.events import OrderDenied, OrderEvent, OrderFilled, TradeTick
from traider.engine.core.types import Side, TimeInForce
from traider.engine.features.microstructure import FeatureVector, MicrostructureFeatures
from traider.engine.strategies.base import StrategyContext
from traider.engine.strategies.exits import leave_at_bid, take_profit


@dataclass(frozen=True)
class OrderFlowParams:
    evaluate_every_ms: int = 100
    ofi_weight_bps: float = 2.0  # edge at a one-scale OFI lean
    margin_bps: float = 2.0  # required on top of fees and spread
    order_notional_usd: float = 150.0
    max_holding_s: float = 20.0
    entry_timeout_s: float = 2.0
    ofi_scale_halflife_s: float = 60.0


@dataclass(slots=True)
class _State:
    next_eval_ns: int = 0
    ofi_scale: float = 0.0
    entry_id: str | None = None
    entry_ts_ns: int = 0
    exit_id: str | None = None
    holding_since_ns: int | None = None
    backoff_until_ns: int = 0
    decisions: dict[str, int] = field(default_factory=dict)


class OrderFlowStrategy:
    def __init__(
        self,
        params: OrderFlowParams,
        symbols: tuple[str, ...],
        features: Mapping[str, MicrostructureFeatures],
    ) -> None:
        self.strategy_id = "ofi"
        self.params = params
        self.state = {s: _State() for s in symbols}
        self._features = features  # the engine keeps them current
        self._ctx: StrategyContext | None = None

    def on_start(self, ctx: StrategyContext) -> None:
        self._ctx = ctx

    def on_trade(self, trade: TradeTick) -> None:
        return None

    def on_order_event(self, event: OrderEvent) -> None:
        st = self.state.get(getattr(event, "symbol", ""))
        if isinstance(event, OrderDenied) and st is not None:
            st.backoff_until_ns = event.ts_event + 5 * NANOS_PER_SECOND
        buy_fill = isinstance(event, OrderFilled) and event.side is Side.BUY
        if buy_fill and st is not None and st.holding_since_ns is None:
            st.holding_since_ns = event.ts_event

    # --- the decision ----------------------------------------------------------------------

    def edge_bps(self, vec: FeatureVector, st: _State, dt_s: float) -> float:
        p = self.params
        decay = 0.5 ** (dt_s / p.ofi_scale_halflife_s) if st.ofi_scale else 0.0
        st.ofi_scale = decay * st.ofi_scale + (1 - decay) * abs(vec.ofi_window)
        ofi_term = math.tanh(vec.ofi_window / st.ofi_scale) if st.ofi_scale > 0 else 0.0
        return vec.microprice_dev_bps + p.ofi_weight_bps * ofi_term

    def on_book(self, symbol: str, ts_ns: int) -> None:
        ctx, st = self._ctx, self.state.get(symbol)
        if ctx is None or st is None or ts_ns < st.next_eval_ns:
            return
        dt_s = (ts_ns - st.next_eval_ns) / NANOS_PER_SECOND if st.next_eval_ns else 0.0
        st.next_eval_ns = ts_ns + self.params.evaluate_every_ms * NANOS_PER_MILLI
        book = ctx.book(symbol)
        features = self._features.get(symbol)
        if book is None or features is None or not ctx.trading_allowed():
            return
        vec = features.vector()
        if not vec.valid:
            return
        edge = self.edge_bps(vec, st, dt_s)
        open_ids = set(ctx.open_order_ids(self.strategy_id, symbol))
        st.entry_id = st.entry_id if st.entry_id in open_ids else None
        st.exit_id = st.exit_id if st.exit_id in open_ids else None
        position = ctx.position(symbol)
        if position > 0:
            self._manage(ctx, symbol, st, vec, edge, position, ts_ns)
        else:
            st.holding_since_ns = None
            self._maybe_enter(ctx, symbol, st, vec, edge, ts_ns)

    def _costs_bps(self, symbol: str, spread_bps: float) -> tuple[float, float]:
        assert self._ctx is not None
        inst = self._ctx.instrument(symbol)
        maker = float(inst.maker_fee_rate) * 10_000
        taker = float(inst.taker_fee_rate) * 10_000
        return 2 * maker, taker + maker + spread_bps / 2

    def _maybe_enter(
        self,
        ctx: StrategyContext,
        symbol: str,
        st: _State,
        vec: FeatureVector,
        edge: float,
        ts_ns: int,
    ) -> None:
        if st.entry_id is not None:
            if ts_ns - st.entry_ts_ns > self.params.entry_timeout_s * NANOS_PER_SECOND:
                ctx.cancel(st.entry_id)
            return
        if ts_ns < st.backoff_until_ns or edge <= 0:
            return
        passive_cost, aggressive_cost = self._costs_bps(symbol, vec.spread_bps)
        margin = self.params.margin_bps
        if edge < passive_cost + margin:
            st.decisions["stand_aside"] = st.decisions.get("stand_aside", 0) + 1
            return
        aggressive = edge >= aggressive_cost + margin
        book = ctx.book(symbol)
        assert book is not None
        touch = book.best_ask() if aggressive else book.best_bid()
        if touch is None:
            return
        inst = ctx.instrument(symbol)
        price = inst.price_from_float(touch[0])
        confidence = min(1.0, (edge - passive_cost) / max(aggressive_cost + margin, 1e-9))
        notional = ctx.size_order(
            symbol, self.params.order_notional_usd, max(confidence, 0.0), Side.BUY
        )
        qty = inst.round_qty_down(Decimal(repr(notional)) / price)
        if qty <= 0 or qty * price < inst.min_notional:
            return
        kind = "enter_aggressive" if aggressive else "enter_passive"
        st.decisions[kind] = st.decisions.get(kind, 0) + 1
        st.entry_id = ctx.submit(
            self.strategy_id,
            symbol,
            Side.BUY,
            qty,
            price,
            time_in_force=TimeInForce.IOC if aggressive else TimeInForce.GTC,
            post_only=not aggressive,
        )
        st.entry_ts_ns = ts_ns

    def _manage(
        self,
        ctx: StrategyContext,
        symbol: str,
        st: _State,
        vec: FeatureVector,
        edge: float,
        position: Decimal,
        ts_ns: int,
    ) -> None:
        if st.entry_id is not None:
            ctx.cancel(st.entry_id)  # stop adding; manage what is held
            return
        held_s = (ts_ns - (st.holding_since_ns or ts_ns)) / NANOS_PER_SECOND
        if edge < 0 or held_s > self.params.max_holding_s:
            if st.exit_id is not None:
                ctx.cancel(st.exit_id)  # replaced by a sell at the bid next evaluation
                return
            exit_id = leave_at_bid(ctx, self.strategy_id, symbol, position)
            if exit_id is not None:
                st.decisions["exit_aggressive"] = st.decisions.get("exit_aggressive", 0) + 1
                st.exit_id = exit_id
            return
        if st.exit_id is not None:
            return
        passive_cost, _ = self._costs_bps(symbol, vec.spread_bps)
        cost = Decimal(repr(passive_cost + self.params.margin_bps)) / 10_000
        st.exit_id = take_profit(ctx, self.strategy_id, symbol, position, cost)
