from __future__ import annotations

from decimal import Decimal

import pytest

from traider.config import RiskConfig
from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.core.events import OrderFilled, SubmitOrder
from traider.engine.core.instruments import DEFAULT_INSTRUMENTS
from traider.engine.core.types import Liquidity, OrderType, Side
from traider.engine.portfolio import Portfolio
from traider.engine.risk.limits import MarketQuote, PreTradeRisk

D = Decimal
MID = 100_000.0  # BTC mid used by every test


class Harness:
    def __init__(self, **risk: float) -> None:
        self.clock = SimClock()
        self.portfolio = Portfolio({"BTC-USD": DEFAULT_INSTRUMENTS["BTC-USD"]}, D("5000"))
        self.portfolio.roll_day("2026-11-26")
        self.tradeable = True
        self.killed = False
        self.working = {Side.BUY: D(0), Side.SELL: D(0)}
        self.risk = PreTradeRisk(
            RiskConfig(**risk),  # type: ignore[arg-type]
            {"BTC-USD": DEFAULT_INSTRUMENTS["BTC-USD"]},
            self.portfolio,
            self.clock,
            quote=lambda s: MarketQuote(MID, self.tradeable),
            working_side=lambda s, side: self.working[side],
            kill_engaged=lambda: self.killed,
        )
        self.n = 0

    def check(self, qty: str = "0.001", price: str | None = "100000.00", side: Side = Side.BUY,
              **kw: bool) -> str | None:
        self.n += 1
        order = SubmitOrder(1, 1, f"1-t-{self.n}", "t", "BTC-USD", side,
                            OrderType.LIMIT if price else OrderType.MARKET, D(qty),
                            D(price) if price else None)
        return self.risk.check(order, **kw)


def test_plain_order_passes() -> None:
    assert Harness().check() is None


def test_kill_switch_denies_but_flatten_passes() -> None:
    h = Harness()
    h.portfolio.positions["BTC-USD"].quantity = D("0.001")
    h.killed = True
    assert "kill switch" in (h.check() or "")
    assert h.check(side=Side.SELL, flattening=True) is None


def test_reduce_only_may_never_open_or_grow_a_position() -> None:
    h = Harness()
    h.killed = True
    assert "would not reduce" in (h.check(side=Side.BUY, flattening=True) or "")  # flat
    h.portfolio.positions["BTC-USD"].quantity = D("0.002")
    assert "would not reduce" in (h.check(side=Side.BUY, flattening=True) or "")  # grows
    assert "would not reduce" in (h.check("0.003", side=Side.SELL, flattening=True) or "")
    h.working[Side.SELL] = D("0.0015")  # a take-profit still working (may fill)
    assert "would not reduce" in (h.check("0.001", side=Side.SELL, flattening=True) or "")
    assert h.check("0.0005", side=Side.SELL, flattening=True) is None


def test_spot_never_sells_what_is_not_held() -> None:
    h = Harness()
    assert "spot: cannot sell" in (h.check(side=Side.SELL) or "")
    h.portfolio.positions["BTC-USD"].quantity = D("0.002")
    assert h.check("0.002", side=Side.SELL) is None
    h.working[Side.SELL] = D("0.0015")
    assert "already offered" in (h.check("0.001", side=Side.SELL) or "")


@pytest.mark.parametrize(
    ("qty", "price", "needle"),
    [
        ("0.000000001", "100000.00", "quantity"),
        ("0", "100000.00", "quantity"),
        ("0.001", "100000.001", "limit price"),
        ("0.000001", "100000.00", "below the venue minimum"),
    ],
)
def test_bad_increments_and_min_notional(qty: str, price: str, needle: str) -> None:
    assert needle in (Harness().check(qty, price) or "")


def test_stale_book_denies() -> None:
    h = Harness()
    h.tradeable = False
    assert "stale" in (h.check() or "")


def test_max_order_notional() -> None:
    h = Harness(max_order_notional_usd=500.0)
    assert h.check("0.005") is None  # 500 USD
    assert "max 500.00" in (h.check("0.00501") or "")


def test_price_band() -> None:
    h = Harness(price_band_bps=100.0)
    assert h.check(price="100999.00") is None
    assert "bps from mid" in (h.check(price="101001.00") or "")
    assert "bps from mid" in (h.check(price="98999.00") or "")


def test_position_limit_counts_position_and_working_orders() -> None:
    h = Harness(max_position_pct_of_capital=20.0, max_order_notional_usd=5000.0)
    # 20% of 5000 equity = 1000 USD = 0.01 BTC at 100k
    assert h.check("0.01") is None
    assert "position limit" in (h.check("0.0101") or "")
    h.working[Side.BUY] = D("0.006")
    assert "position limit" in (h.check("0.005") or "")
    assert h.check("0.004") is None
    # working sells do not net working buys down: they may be cancelled
    h.working[Side.SELL] = D("0.006")
    assert "position limit" in (h.check("0.005") or "")
    # an order that reduces the position is never blocked by the position limit
    h.portfolio.positions["BTC-USD"].quantity = D("0.02")
    h.working = {Side.BUY: D(0), Side.SELL: D(0)}
    assert h.check("0.005", side=Side.SELL) is None


def test_order_rate_limit_refills_with_time() -> None:
    h = Harness(max_orders_per_second=2.0, order_rate_burst=3)
    results = [h.check() for _ in range(4)]
    assert results[:3] == [None, None, None]
    assert "rate limit" in (results[3] or "")
    h.clock.advance(NANOS_PER_SECOND // 2)  # one token back
    assert h.check() is None
    assert "rate limit" in (h.check() or "")


def test_daily_loss_limit_denies_new_risk() -> None:
    h = Harness(daily_loss_limit_pct=2.0)
    pf = h.portfolio
    pf.apply_fill(OrderFilled(1, 1, "1-t-0", "v", "a", "BTC-USD", Side.BUY, D("0.01"),
                              D("100000"), D("0"), Liquidity.TAKER))
    pf.mark("BTC-USD", D("99000"))  # -10 USD: fine
    assert h.check(side=Side.SELL) is None
    pf.mark("BTC-USD", D("90000"))  # -100 USD = 2% of 5000
    assert h.risk.daily_loss_breached()
    assert "daily loss limit" in (h.check(side=Side.SELL) or "")
    assert h.check(side=Side.SELL, flattening=True) is None


def test_market_orders_are_refused_unless_reducing() -> None:
    h = Harness()
    assert "market orders are refused" in (h.check(price=None) or "")
    h.portfolio.positions["BTC-USD"].quantity = D("0.001")
    assert h.check(price=None, side=Side.SELL, flattening=True) is None
