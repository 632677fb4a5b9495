"""User orders through the `SimulatedMarket` façade."""

from __future__ import annotations

from decimal import Decimal

import pytest

from traider.engine.core.clock import SimClock
from traider.engine.core.events import (
    BookDelta,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
    TradeTick,
)
from traider.engine.core.instruments import DEFAULT_INSTRUMENTS, Instrument
from traider.engine.core.types import Liquidity, OrderType, Side, TimeInForce
from traider.sim import SimulatedMarket

BTC = DEFAULT_INSTRUMENTS["BTC-USD"]


def make_market(seed: int = 7) -> tuple[SimulatedMarket, SimClock]:
    clock = SimClock()
    market = SimulatedMarket(list(DEFAULT_INSTRUMENTS.values()), clock, seed=seed)
    clock.advance(1_000_000_000)
    market.advance(clock.timestamp_ns())
    return market, clock


_n = 0


def order(
    side: Side,
    qty: str,
    price: str | Decimal | None,
    *,
    symbol: str = "BTC-USD",
    cid: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    post_only: bool = False,
) -> SubmitOrder:
    global _n
    _n += 1
    return SubmitOrder(
        0, 0, cid or f"1-test-{_n}", "test", symbol, side,
        OrderType.MARKET if price is None else OrderType.LIMIT,
        Decimal(qty), None if price is None else Decimal(price), tif, post_only,
    )


def of(events: list[Event], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def best(market: SimulatedMarket, symbol: str = "BTC-USD") -> tuple[Decimal, Decimal]:
    bid, ask = market.best_bid_ask(symbol)
    assert bid is not None
    assert ask is not None
    return Decimal(repr(bid)), Decimal(repr(ask))


def expected_fee(inst: Instrument, price: Decimal, qty: Decimal, maker: bool) -> Decimal:
    rate = inst.maker_fee_rate if maker else inst.taker_fee_rate
    return (price * qty * rate).quantize(Decimal("0.0001"))


def test_limit_order_rests_and_is_listed() -> None:
    market, _ = make_market()
    bid, _ = best(market)
    price = bid - Decimal("50")
    ev = market.submit(order(Side.BUY, "0.01", price, cid="1-s-1"))
    assert isinstance(ev[0], OrderAccepted)
    assert ev[0].client_order_id == "1-s-1"
    assert not of(ev, OrderFilled)
    deltas = of(ev, BookDelta)
    assert len(deltas) == 1
    assert deltas[0].price == float(price)
    assert market.open_orders() == [("1-s-1", ev[0].venue_order_id, Decimal("0.01000000"))]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"symbol": "DOGE-USD"}, "unknown symbol"),
        ({"price": "90000.005"}, "tick size"),
        ({"qty": "0.000000001"}, "lot size"),
        ({"qty": "0"}, "positive"),
        ({"qty": "-1"}, "positive"),
    ],
)
def test_bad_orders_are_rejected(kwargs: dict[str, str], fragment: str) -> None:
    market, _ = make_market()
    args: dict[str, str] = {"qty": "0.01", "price": "80000.00", **kwargs}
    sym = args.pop("symbol", "BTC-USD")
    ev = market.submit(order(Side.BUY, args["qty"], args["price"], symbol=sym))
    assert len(ev) == 1
    assert isinstance(ev[0], OrderRejected)
    assert fragment in ev[0].reason
    assert market.open_orders() == []


def test_limit_without_price_and_duplicate_id_rejected() -> None:
    market, _ = make_market()
    bad = SubmitOrder(
        0, 0, "1-t-x", "t", "BTC-USD", Side.BUY, OrderType.LIMIT, Decimal("0.01"), None
    )
    (ev,) = market.submit(bad)
    assert isinstance(ev, OrderRejected)
    assert "price" in ev.reason
    ok = market.submit(order(Side.BUY, "0.01", "80000.00", cid="1-t-dup"))
    assert isinstance(ok[0], OrderAccepted)
    (dup,) = market.submit(order(Side.BUY, "0.01", "80000.00", cid="1-t-dup"))
    assert isinstance(dup, OrderRejected)
    assert "duplicate" in dup.reason
    assert len(market.open_orders()) == 1


def test_post_only_rejected_when_it_would_cross() -> None:
    market, _ = make_market()
    bid, ask = best(market)
    before = market.snapshot("BTC-USD")
    (ev,) = market.submit(order(Side.BUY, "0.01", ask, post_only=True))
    assert isinstance(ev, OrderRejected)
    assert "post-only" in ev.reason
    (ev,) = market.submit(order(Side.SELL, "0.01", bid, post_only=True))
    assert isinstance(ev, OrderRejected)
    assert market.snapshot("BTC-USD").bids == before.bids
    ok = market.submit(order(Side.BUY, "0.01", bid, post_only=True))
    assert isinstance(ok[0], OrderAccepted)
    assert not of(ok, OrderFilled)


def test_ioc_remainder_is_canceled() -> None:
    market, _ = make_market()
    _, ask = best(market)
    asks = market.levels("BTC-USD", 1)[1]
    top_size = Decimal(repr(asks[0][1]))
    qty = top_size + Decimal("1")
    ev = market.submit(order(Side.BUY, str(qty), ask, tif=TimeInForce.IOC, cid="1-i-1"))
    assert isinstance(ev[0], OrderAccepted)
    fills = of(ev, OrderFilled)
    assert sum(f.quantity for f in fills) == top_size
    assert all(f.price == ask and f.liquidity is Liquidity.TAKER for f in fills)
    cancels = of(ev, OrderCanceled)
    assert len(cancels) == 1
    assert cancels[0].client_order_id == "1-i-1"
    assert market.open_orders() == []
    assert best(market)[1] > ask
    # order events come before market data
    kinds = [isinstance(e, BookDelta | TradeTick) for e in ev]
    assert kinds == sorted(kinds)


def test_market_order_sweeps_several_levels() -> None:
    market, _ = make_market()
    asks = market.levels("BTC-USD", 3)[1]
    qty = sum(Decimal(repr(s)) for _, s in asks) + Decimal("0.00000001")
    ev = market.submit(order(Side.BUY, str(qty), None))
    fills = of(ev, OrderFilled)
    prices = [f.price for f in fills]
    assert prices == sorted(prices)
    assert len(set(prices)) >= 4
    assert sum(f.quantity for f in fills) == qty
    assert not of(ev, OrderCanceled)
    trades = of(ev, TradeTick)
    assert len(trades) == len(fills)
    assert len({f.trade_id for f in fills}) == len(fills)
    deleted = {d.price for d in of(ev, BookDelta) if d.size == 0}
    assert {p for p, _ in asks} <= deleted
    inst = DEFAULT_INSTRUMENTS["BTC-USD"]
    for f in fills:
        assert f.fee == expected_fee(inst, f.price, f.quantity, maker=False)


def test_price_time_priority_between_user_orders() -> None:
    market, _ = make_market()
    bid, ask = best(market)
    assert ask - bid > Decimal("0.01")  # room for "better" to rest inside the spread
    crowd_at_ask = Decimal(repr(market.levels("BTC-USD", 1)[1][0][1]))
    market.submit(order(Side.SELL, "0.02", ask, cid="1-p-first"))
    market.submit(order(Side.SELL, "0.02", ask, cid="1-p-second"))
    market.submit(order(Side.SELL, "0.02", ask - Decimal("0.01"), cid="1-p-better"))
    qty = crowd_at_ask + Decimal("0.05")
    ev = market.submit(order(Side.BUY, str(qty), ask, cid="1-p-taker"))
    maker = [f for f in of(ev, OrderFilled) if f.liquidity is Liquidity.MAKER]
    assert [(f.client_order_id, f.quantity) for f in maker] == [
        ("1-p-better", Decimal("0.02000000")),
        ("1-p-first", Decimal("0.02000000")),
        ("1-p-second", Decimal("0.01000000")),
    ]
    open_ = {cid: q for cid, _, q in market.open_orders()}
    assert open_ == {"1-p-second": Decimal("0.01000000")}
    inst = DEFAULT_INSTRUMENTS["BTC-USD"]
    for f in of(ev, OrderFilled):
        is_maker = f.liquidity is Liquidity.MAKER
        assert f.fee == expected_fee(inst, f.price, f.quantity, maker=is_maker)
    assert len({f.trade_id for f in of(ev, OrderFilled)}) == len(of(ev, OrderFilled))


def test_fee_amounts_exact() -> None:
    market, _ = make_market()
    bid, _ = best(market)
    price = bid + Decimal("0.01") if best(market)[1] - bid > Decimal("0.01") else bid
    market.submit(order(Side.BUY, "0.12345678", price, cid="1-f-maker"))
    ev = market.submit(order(Side.SELL, "0.5", price, tif=TimeInForce.IOC, cid="1-f-taker"))
    fills = {(f.client_order_id, f.liquidity): f for f in of(ev, OrderFilled)}
    mk = fills["1-f-maker", Liquidity.MAKER]
    notional = price * Decimal("0.12345678")
    assert mk.quantity == Decimal("0.12345678")
    assert mk.fee == (notional * Decimal("0.004")).quantize(Decimal("0.0001"))
    tk = [f for (cid, _), f in fills.items() if cid == "1-f-taker" and f.price == price]
    assert any(f.fee == (notional * Decimal("0.006")).quantize(Decimal("0.0001")) for f in tk)
    assert mk.fee != tk[0].fee


def test_crowd_flow_fills_resting_user_orders_as_maker() -> None:
    market, clock = make_market(seed=3)
    bid, ask = best(market)
    market.submit(order(Side.BUY, "0.001", bid, cid="1-c-bid"))
    market.submit(order(Side.SELL, "0.001", ask, cid="1-c-ask"))
    events: list[Event] = []
    for _ in range(1200):
        clock.advance(100_000_000)
        events += market.advance(clock.timestamp_ns())
        if of(events, OrderFilled):
            break
    fills = of(events, OrderFilled)
    assert fills
    f = fills[0]
    assert f.client_order_id in {"1-c-bid", "1-c-ask"}
    assert f.liquidity is Liquidity.MAKER
    assert f.fee == expected_fee(BTC, f.price, f.quantity, maker=True)
    assert not of(events, OrderCanceled)  # the crowd never cancels user orders
    trade = next(e for e in events if isinstance(e, TradeTick) and e.ts_event == f.ts_event)
    assert trade.price == float(f.price)


def test_cancel() -> None:
    market, _ = make_market()
    bid, _ = best(market)
    price = bid - Decimal("100")
    market.submit(order(Side.BUY, "0.01", price, cid="1-x-1"))
    ev = market.cancel("1-x-1")
    assert isinstance(ev[0], OrderCanceled)
    deltas = of(ev, BookDelta)
    assert [(d.price, d.size) for d in deltas] == [(float(price), 0.0)]
    assert market.open_orders() == []
    assert market.cancel("1-x-1") == []
    assert market.cancel("never-seen") == []
