"""The strategy interface: strategies read views and ask for orders; they never send.

Every order a strategy asks for goes through the order manager and pre-trade risk.
Later strategies and the ML ensemble plug in through the same interface.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from traider.engine.core.clock import Clock
from traider.engine.core.events import OrderEvent, TradeTick
from traider.engine.core.instruments import Instrument
from traider.engine.core.types import OrderType, Side, TimeInForce
from traider.engine.marketdata.book import L2Book


class StrategyContext(Protocol):
    """What a strategy may see and do."""

    @property
    def clock(self) -> Clock: ...

    def instrument(self, symbol: str) -> Instrument: ...

    def book(self, symbol: str) -> L2Book | None:
        """None while the book is stale or has no snapshot: do not trade it."""
        ...

    def position(self, symbol: str) -> Decimal: ...

    def avg_price(self, symbol: str) -> Decimal:
        """Average entry price of the open position (0 when flat)."""
        ...

    def open_order_ids(self, strategy_id: str, symbol: str) -> list[str]: ...

    def size_order(
        self, symbol: str, base_notional_usd: float, confidence: float, side: Side = Side.BUY
    ) -> float:
        """Notional in USD for a new order opening risk on `side`: base × confidence
        (0..1) × the live models' multiplier (0 when they veto that direction, 1 without
        a fresh signal) × volatility target × drawdown tier, capped by the position
        headroom. 0 means: do not open risk."""
        ...

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
    ) -> str: ...

    def cancel(self, client_order_id: str) -> bool: ...

    def trading_allowed(self) -> bool:
        """False while the kill switch is engaged or the store is failing."""
        ...


class Strategy(Protocol):
    strategy_id: str

    def on_start(self, ctx: StrategyContext) -> None: ...

    def on_book(self, symbol: str, ts_ns: int) -> None:
        """The book for `symbol` changed (called after the book applied the update)."""
        ...

    def on_trade(self, trade: TradeTick) -> None: ...

    def on_order_event(self, event: OrderEvent) -> None: ...
