"""Price-time-priority matching for one symbol, in integer ticks and integer lots.

Prices and quantities cross the boundary as `Decimal` (orders, fills) or `float` (book
levels for market data) and live inside as `int`: exact and fast. Resting orders belong to
the background crowd (`owner is None`) or to a user (`owner` is its client order id).

Every operation appends what it did to two lists that the caller drains:

- `changes`: `(is_bid, tick, new_total_lots)` for each change of an aggregate level
  (`0` means the level is gone), in the order they happened;
- `fills`: `(maker_order, tick, lots, taker_is_buy)` for each maker order matched.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from decimal import Decimal

from traider.engine.core.instruments import Instrument

Change = tuple[bool, int, int]  # (is_bid, tick, new total lots; 0 = level deleted)


class RestingOrder:
    __slots__ = ("is_bid", "lots", "oid", "owner", "tick")

    def __init__(self, oid: int, owner: str | None, is_bid: bool, tick: int, lots: int) -> None:
        self.oid = oid
        self.owner = owner  # None: crowd; else the user's client order id
        self.is_bid = is_bid
        self.tick = tick
        self.lots = lots  # remaining

    def __repr__(self) -> str:
        side = "BID" if self.is_bid else "ASK"
        return f"RestingOrder({self.oid}, {self.owner!r}, {side}, {self.tick}, {self.lots})"


Fill = tuple[RestingOrder, int, int, bool]  # (maker, tick, lots, taker_is_buy)


class _Level:
    __slots__ = ("orders", "total")

    def __init__(self) -> None:
        self.orders: deque[RestingOrder] = deque()
        self.total = 0


class BookSide:
    """One side: levels by tick plus the ticks in ascending order."""

    __slots__ = ("is_bid", "levels", "ticks")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, _Level] = {}
        self.ticks: list[int] = []  # ascending for both sides

    def __len__(self) -> int:
        return len(self.ticks)

    def best(self) -> int | None:
        ticks = self.ticks
        if not ticks:
            return None
        return ticks[-1] if self.is_bid else ticks[0]

    def worst(self) -> int | None:
        ticks = self.ticks
        if not ticks:
            return None
        return ticks[0] if self.is_bid else ticks[-1]

    def nth(self, i: int) -> int:
        """Tick of the i-th level counted from the best (0 = best)."""
        return self.ticks[-1 - i] if self.is_bid else self.ticks[i]

    def total(self, tick: int) -> int:
        level = self.levels.get(tick)
        return 0 if level is None else level.total

    def _new_level(self, tick: int) -> _Level:
        level = _Level()
        self.levels[tick] = level
        insort(self.ticks, tick)
        return level

    def _drop_level(self, tick: int) -> None:
        del self.levels[tick]
        ticks = self.ticks
        del ticks[bisect_left(ticks, tick)]

    def top(self, depth: int | None) -> list[tuple[int, int]]:
        """`(tick, total lots)` best first; all levels when depth is None."""
        ticks = self.ticks
        if self.is_bid:
            chosen = ticks[::-1] if depth is None else ticks[: -depth - 1 : -1]
        else:
            chosen = ticks if depth is None else ticks[:depth]
        levels = self.levels
        return [(t, levels[t].total) for t in chosen]


class OrderBook:
    """The order book of one instrument with price-time priority."""

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.changes: list[Change] = []
        self.fills: list[Fill] = []
        self.user_orders: dict[int, RestingOrder] = {}
        self._next_oid = 1
        self._tick_size = instrument.tick_size
        self._lot_size = instrument.lot_size
        self._tick_num, self._tick_den = instrument.tick_size.as_integer_ratio()
        self._lot_num, self._lot_den = instrument.lot_size.as_integer_ratio()
        self.tick_float = float(instrument.tick_size)
        self.lot_float = float(instrument.lot_size)

    # --- conversions at the boundary ---------------------------------------------------

    def price_to_tick(self, price: Decimal) -> int | None:
        """Whole ticks for an on-tick positive price, else None."""
        if not price.is_finite() or price <= 0 or price % self._tick_size != 0:
            return None
        return int(price / self._tick_size)

    def qty_to_lots(self, qty: Decimal) -> int | None:
        """Whole lots for an on-lot positive quantity, else None."""
        if not qty.is_finite() or qty <= 0 or qty % self._lot_size != 0:
            return None
        return int(qty / self._lot_size)

    def tick_to_price(self, tick: int) -> Decimal:
        return tick * self._tick_size

    def lots_to_qty(self, lots: int) -> Decimal:
        return lots * self._lot_size

    def tick_to_float(self, tick: int) -> float:
        return tick * self._tick_num / self._tick_den  # int / int: correctly rounded

    def lots_to_float(self, lots: int) -> float:
        return lots * self._lot_num / self._lot_den

    def fee(self, tick: int, lots: int, maker: bool) -> Decimal:
        inst = self.instrument
        rate = inst.maker_fee_rate if maker else inst.taker_fee_rate
        notional = (tick * self._tick_size) * (lots * self._lot_size)
        return inst.quantize_quote(notional * rate)

    # --- queries -----------------------------------------------------------------------

    def best_bid(self) -> int | None:
        return self.bids.best()

    def best_ask(self) -> int | None:
        return self.asks.best()

    def side(self, is_bid: bool) -> BookSide:
        return self.bids if is_bid else self.asks

    def would_cross(self, is_buy: bool, tick: int) -> bool:
        if is_buy:
            best = self.asks.best()
            return best is not None and tick >= best
        best = self.bids.best()
        return best is not None and tick <= best

    def crowd_lots(self, is_bid: bool, tick: int) -> int:
        level = (self.bids if is_bid else self.asks).levels.get(tick)
        if level is None:
            return 0
        return sum(o.lots for o in level.orders if o.owner is None)

    # --- matching ----------------------------------------------------------------------

    def match(self, is_buy: bool, lots: int, limit_tick: int | None) -> int:
        """Take liquidity from the opposite side up to `limit_tick`; returns the remainder."""
        opposite = self.asks if is_buy else self.bids
        ticks = opposite.ticks
        levels = opposite.levels
        changes = self.changes
        fills = self.fills
        user_orders = self.user_orders
        maker_is_bid = not is_buy
        while lots > 0 and ticks:
            best = ticks[0] if is_buy else ticks[-1]
            if limit_tick is not None and (best > limit_tick if is_buy else best < limit_tick):
                break
            level = levels[best]
            orders = level.orders
            while lots > 0 and orders:
                maker = orders[0]
                take = maker.lots if maker.lots <= lots else lots
                maker.lots -= take
                level.total -= take
                lots -= take
                fills.append((maker, best, take, is_buy))
                if maker.lots == 0:
                    orders.popleft()
                    if maker.owner is not None:
                        del user_orders[maker.oid]
            if level.total == 0:
                del levels[best]
                if is_buy:
                    del ticks[0]
                else:
                    ticks.pop()
                changes.append((maker_is_bid, best, 0))
            else:
                changes.append((maker_is_bid, best, level.total))
        return lots

    def _rest(self, owner: str | None, is_bid: bool, tick: int, lots: int) -> None:
        side = self.bids if is_bid else self.asks
        level = side.levels.get(tick)
        if level is None:
            level = side._new_level(tick)
        orders = level.orders
        if owner is None and orders and orders[-1].owner is None:
            orders[-1].lots += lots  # nothing queues behind it: merging keeps priority exact
        else:
            order = RestingOrder(self._next_oid, owner, is_bid, tick, lots)
            self._next_oid += 1
            orders.append(order)
            if owner is not None:
                self.user_orders[order.oid] = order
        level.total += lots
        self.changes.append((is_bid, tick, level.total))

    def crowd_limit(self, is_buy: bool, tick: int, lots: int) -> int:
        """A crowd limit order: match what crosses, rest the rest; returns lots rested."""
        remaining = self.match(is_buy, lots, tick)
        if remaining:
            self._rest(None, is_buy, tick, remaining)
        return remaining

    def place_market(self, is_buy: bool, lots: int) -> int:
        """Sweep the opposite side; returns the unfilled lots (nothing rests)."""
        return self.match(is_buy, lots, None)

    def new_user_order_id(self) -> int:
        """Reserve an order id for an order that may not rest (market, IOC, filled)."""
        oid = self._next_oid
        self._next_oid += 1
        return oid

    def place_user_limit(
        self, oid: int, owner: str, is_buy: bool, tick: int, lots: int, ioc: bool
    ) -> tuple[bool, int]:
        """Like `place_limit` for a user order with a reserved id: `(rests, unfilled lots)`."""
        remaining = self.match(is_buy, lots, tick)
        if remaining == 0 or ioc:
            return False, remaining
        side = self.bids if is_buy else self.asks
        level = side.levels.get(tick)
        if level is None:
            level = side._new_level(tick)
        order = RestingOrder(oid, owner, is_buy, tick, remaining)
        level.orders.append(order)
        level.total += remaining
        self.user_orders[oid] = order
        self.changes.append((is_buy, tick, level.total))
        return True, remaining

    def cancel(self, oid: int) -> RestingOrder | None:
        """Remove a resting user order; None if it is not resting."""
        order = self.user_orders.pop(oid, None)
        if order is None:
            return None
        side = self.bids if order.is_bid else self.asks
        level = side.levels[order.tick]
        level.orders.remove(order)
        level.total -= order.lots
        if level.total == 0:
            side._drop_level(order.tick)
        self.changes.append((order.is_bid, order.tick, level.total))
        return order

    # --- crowd liquidity ---------------------------------------------------------------

    def crowd_add(self, is_bid: bool, tick: int, lots: int) -> None:
        """Add crowd liquidity that must not cross (the caller checks `would_cross`)."""
        self._rest(None, is_bid, tick, lots)

    def crowd_reduce(self, is_bid: bool, tick: int, lots: int | None) -> int:
        """Cancel up to `lots` (all when None) of crowd quantity at a level, newest first.

        Returns the lots removed. User orders at the level are never touched.
        """
        side = self.bids if is_bid else self.asks
        level = side.levels.get(tick)
        if level is None:
            return 0
        want = level.total if lots is None else lots
        removed = 0
        orders = level.orders
        if len(orders) == 1 and orders[0].owner is None:  # the common case
            order = orders[0]
            take = order.lots if order.lots <= want else want
            order.lots -= take
            removed = take
            if order.lots == 0:
                orders.clear()
        else:
            for order in reversed(list(orders)):
                if removed >= want:
                    break
                if order.owner is not None:
                    continue
                take = min(order.lots, want - removed)
                order.lots -= take
                removed += take
                if order.lots == 0:
                    orders.remove(order)
        if removed:
            level.total -= removed
            if level.total == 0:
                side._drop_level(tick)
            self.changes.append((is_bid, tick, level.total))
        return removed
