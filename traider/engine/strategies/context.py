"""The engine's implementation of `StrategyContext`: read-only views plus order requests."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from traider.engine.core.clock import Clock
from traider.engine.core.instruments import Instrument
from traider.engine.core.types import OrderType, Side, TimeInForce
from traider.engine.marketdata.book import L2Book

if TYPE_CHECKING:
    from traider.engine.engine import Engine


class EngineStrategyContext:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def clock(self) -> Clock:
        return self._engine.clock

    def instrument(self, symbol: str) -> Instrument:
        return self._engine.instruments[symbol]

    def book(self, symbol: str) -> L2Book | None:
        books = self._engine.books
        return books.book(symbol) if books.is_tradeable(symbol) else None

    def position(self, symbol: str) -> Decimal:
        return self._engine.portfolio.positions[symbol].quantity

    def avg_price(self, symbol: str) -> Decimal:
        return self._engine.portfolio.positions[symbol].avg_price

    def open_order_ids(self, strategy_id: str, symbol: str) -> list[str]:
        orders = self._engine.orders
        return [
            cid
            for cid in orders.open_ids
            if orders.orders[cid].intent.strategy_id == strategy_id
            and orders.orders[cid].intent.symbol == symbol
        ]

    def size_order(
        self, symbol: str, base_notional_usd: float, confidence: float, side: Side = Side.BUY
    ) -> float:
        from traider.engine.risk.sizing import position_headroom_usd, size_order

        engine = self._engine
        # the models only scale what the strategy proposed, within the risk caps below
        base_notional_usd *= engine.live_models.size_multiplier(symbol, side)
        if base_notional_usd <= 0.0:
            return 0.0
        vol_scale, drawdown_scale = engine.riskdesk.size_scales(symbol)
        equity = max(float(engine.portfolio.equity()), 0.0)
        max_position = equity * engine.config.risk.max_position_pct_of_capital / 100
        exposure = engine.riskdesk.exposures().get(symbol, 0.0)
        caps = {
            "position headroom": position_headroom_usd(max_position, exposure, 1),
            "max order": engine.config.risk.max_order_notional_usd,
        }
        return size_order(base_notional_usd, confidence, vol_scale, drawdown_scale, caps)

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
    ) -> str:
        self._engine.refresh_marks()
        return self._engine.orders.submit(
            strategy_id,
            symbol,
            side,
            quantity,
            price,
            order_type=order_type,
            time_in_force=time_in_force,
            post_only=post_only,
        )

    def cancel(self, client_order_id: str) -> bool:
        return self._engine.orders.cancel(client_order_id)

    def trading_allowed(self) -> bool:
        return not self._engine.kill.is_engaged() and self._engine.orders.store_ok
