from __future__ import annotations

from decimal import Decimal

from traider.engine.core.events import OrderFilled
from traider.engine.core.instruments import DEFAULT_INSTRUMENTS
from traider.engine.core.types import Liquidity, Side
from traider.engine.portfolio import Portfolio

D = Decimal


def fill(side: Side, qty: str, price: str, fee: str = "0", n: int = 0) -> OrderFilled:
    return OrderFilled(1, 1, f"1-t-{n}", "v", f"tr{n}", "BTC-USD", side, D(qty), D(price), D(fee),
                       Liquidity.TAKER)


def make() -> Portfolio:
    return Portfolio({"BTC-USD": DEFAULT_INSTRUMENTS["BTC-USD"]}, D("5000"))


def test_buy_then_sell_realizes_pnl_and_fees_hit_cash() -> None:
    pf = make()
    pf.apply_fill(fill(Side.BUY, "0.01", "90000", "5.4", 1))
    assert pf.cash == D("5000") - D("900") - D("5.4")
    pf.apply_fill(fill(Side.BUY, "0.01", "92000", "5.52", 2))
    pos = pf.positions["BTC-USD"]
    assert pos.avg_price == D("91000")
    pf.apply_fill(fill(Side.SELL, "0.015", "93000", "8.37", 3))
    assert pos.quantity == D("0.005")
    assert pos.realized_pnl == D("0.015") * (D("93000") - D("91000"))
    pf.mark("BTC-USD", D("95000"))
    assert pf.unrealized("BTC-USD") == D("0.005") * (D("95000") - D("91000"))
    assert pf.fees == D("19.29")
    # conservation: equity = start + realized + unrealized - fees
    assert pf.equity() == D("5000") + pos.realized_pnl + pf.unrealized("BTC-USD") - pf.fees


def test_flip_through_zero_opens_remainder_at_fill_price() -> None:
    pf = make()
    pf.apply_fill(fill(Side.BUY, "1", "100", n=1))
    pf.apply_fill(fill(Side.SELL, "3", "110", n=2))
    pos = pf.positions["BTC-USD"]
    assert pos.realized_pnl == D("10")
    assert pos.quantity == D("-2")
    assert pos.avg_price == D("110")
    pf.apply_fill(fill(Side.BUY, "2", "100", n=3))
    assert pos.quantity == 0
    assert pos.realized_pnl == D("30")
    assert pos.cost_basis == 0
    assert pf.cash == D("5030")


def test_day_pnl_against_day_start_equity() -> None:
    pf = make()
    assert pf.roll_day("2026-11-26")
    pf.apply_fill(fill(Side.BUY, "1", "100", "1", 1))
    pf.mark("BTC-USD", D("90"))
    assert pf.day_pnl() == D("-11")
    assert not pf.roll_day("2026-11-26")
    assert pf.roll_day("2026-11-27")
    assert pf.day_pnl() == 0
