"""Pre-trade risk checks: every intent passes all of them or is denied with a reason.

Synchronous and allocation-light: it runs on the hot path for each order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from traider.config import RiskConfig
from traider.engine.core.clock import NANOS_PER_SECOND, Clock
from traider.engine.core.events import SubmitOrder
from traider.engine.core.instruments import Instrument
from traider.engine.core.types import OrderType, Side
from traider.engine.portfolio import Portfolio


@dataclass(frozen=True, slots=True)
class MarketQuote:
    mid: float
    tradeable: bool  # book has a snapshot and is not stale


class TokenBucket:
    """Order-rate limit on the engine's clock: `rate` per second, bursts up to `burst`."""

    def __init__(self, clock: Clock, rate: float, burst: int) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last_ns = clock.monotonic_ns()

    def take(self) -> bool:
        now = self._clock.monotonic_ns()
        elapsed = (now - self._last_ns) / NANOS_PER_SECOND
        self._last_ns = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class PreTradeRisk:
    def __init__(
        self,
        config: RiskConfig,
        instruments: dict[str, Instrument],
        portfolio: Portfolio,
        clock: Clock,
        quote: Callable[[str], MarketQuote | None],
        working_side: Callable[[str, Side], Decimal],
        kill_engaged: Callable[[], bool],
        *,
        spot: bool = True,
    ) -> None:
        self.config = config
        self.instruments = instruments
        self.portfolio = portfolio
        self.quote = quote
        # unsigned qty still working per (symbol, side), pending cancels included
        self.working_side = working_side
        self.spot = spot  # spot venue: no selling what is not held
        self.kill_engaged = kill_engaged
        self.rate = TokenBucket(clock, config.max_orders_per_second, config.order_rate_burst)
        self.capital = Decimal(str(portfolio.starting_cash))
        # Decimal forms of the limits, built once: this runs for every order
        self._loss_limit = self.capital * Decimal(str(config.daily_loss_limit_pct)) / 100
        self._max_notional = Decimal(str(config.max_order_notional_usd))
        self._band_fraction = Decimal(str(config.price_band_bps)) / 10_000
        self._position_fraction = Decimal(str(config.max_position_pct_of_capital)) / 100
        # portfolio-level limits (VaR, correlation, drawdown): (symbol, signed USD change of
        # exposure incl. working orders) -> denial reason; installed once the risk service
        # has its history
        self.portfolio_check: Callable[[str, float], str | None] | None = None

    def daily_loss_breached(self) -> bool:
        return self.portfolio.day_pnl() <= -self._loss_limit

    def check(self, order: SubmitOrder, *, flattening: bool = False) -> str | None:
        """None when the order may go; otherwise the reason it may not."""
        inst = self.instruments.get(order.symbol)
        if inst is None:
            return f"unknown symbol {order.symbol}"
        if self.kill_engaged() and not flattening:
            return "kill switch engaged: no new orders"
        if order.quantity <= 0 or not inst.is_qty_on_lot(order.quantity):
            return f"quantity {order.quantity} is not a positive multiple of {inst.lot_size}"
        if order.order_type is OrderType.MARKET and not flattening:
            # a market order's price is unknown until it sweeps the book: the notional,
            # band and position checks below could not bound it. Use a marketable limit.
            return "market orders are refused: send a limit order (marketable if urgent)"
        bad_price = order.price is None or order.price <= 0
        if order.order_type is OrderType.LIMIT and (
            bad_price or not inst.is_price_on_tick(order.price)  # type: ignore[arg-type]
        ):
            return f"limit price {order.price} is not a positive multiple of {inst.tick_size}"
        quote = self.quote(order.symbol)
        if quote is None or not quote.tradeable:
            return f"{order.symbol} book is stale or empty: not trading it"
        mid = Decimal(repr(quote.mid))
        price = order.price if order.price is not None else mid
        notional = order.quantity * price
        if notional < inst.min_notional:
            return f"notional {notional:.2f} below the venue minimum {inst.min_notional}"
        position = self.portfolio.positions[order.symbol].quantity
        same_side = self.working_side(order.symbol, order.side)
        if flattening:
            # reduce-only: it must shrink the position, net of what already works to
            # shrink it, and may never open or grow one (it bypasses the kill switch)
            reducing = position < 0 if order.side is Side.BUY else position > 0
            room = abs(position) - same_side
            if not reducing or order.quantity > room:
                return (
                    f"reduce-only {order.side.value} {order.quantity} would not reduce "
                    f"{order.symbol}: position {position}, {same_side} already working"
                )
            return None
        if self.spot and order.side is Side.SELL and order.quantity > position - same_side:
            return (
                f"spot: cannot sell {order.quantity} {order.symbol}: holding {position}, "
                f"{same_side} already offered"
            )
        equity = self.portfolio.equity()  # once per check: it walks every position
        day_pnl = equity - self.portfolio.day_start_equity
        if day_pnl <= -self._loss_limit:
            return (
                f"daily loss limit: day P&L {day_pnl:.2f} "
                f"<= -{self.config.daily_loss_limit_pct}% of capital"
            )
        max_notional = self._max_notional
        if notional > max_notional:
            return f"order notional {notional:.2f} > max {max_notional:.2f} USD"
        if order.price is not None:
            band = mid * self._band_fraction
            if abs(order.price - mid) > band:
                return (
                    f"limit {order.price} is {abs(order.price - mid) / mid * 10_000:.0f} bps "
                    f"from mid {mid:.2f}; band is {self.config.price_band_bps:.0f} bps"
                )
        signed = order.quantity * order.side.sign
        # worst case: every working order on this side fills (opposite orders never net
        # it down: they may be cancelled)
        after = position + (same_side + order.quantity) * order.side.sign
        cap = max(equity, Decimal(0)) * self._position_fraction
        if abs(after) > abs(position) and abs(after) * mid > cap:
            return (
                f"position limit: {order.symbol} would be {abs(after) * mid:.2f} USD "
                f"> {self.config.max_position_pct_of_capital:.0f}% of equity ({cap:.2f})"
            )
        if self.portfolio_check is not None:
            reason = self.portfolio_check(order.symbol, float(signed * mid))
            if reason is not None:
                return reason
        if not self.rate.take():
            return f"order rate limit: more than {self.config.max_orders_per_second:g}/s"
        return None
