"""`SimulatedMarket`: a venue made of a matching engine per symbol and a crowd order flow.

The engine drives it with `advance(until_ns)` (market data and fills of resting user
orders), sends orders with `submit`/`cancel`, and reads books with `snapshot`/`mid`.
Everything is deterministic for a given seed and sequence of calls: randomness comes from
one seeded numpy Generator and time only from the arguments and the injected clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from traider.engine.core.clock import Clock
from traider.engine.core.events import (
    BookDelta,
    BookSnapshot,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
    TradeTick,
)
from traider.engine.core.instruments import Instrument
from traider.engine.core.types import BookSide, Liquidity, OrderType, Side, TimeInForce
from traider.sim import calibration as cal
from traider.sim.matching import OrderBook
from traider.sim.orderflow import CrowdFlow, FairPriceProcess, RandomStream

_NS = 1_000_000_000


@dataclass(slots=True)
class _UserOrder:
    index: int  # symbol index
    oid: int
    venue_order_id: str
    side: Side


class SimulatedMarket:
    def __init__(
        self,
        instruments: Sequence[Instrument],
        clock: Clock,
        seed: int,
        levels_per_side: int = 300,
        events_per_second: float = 150.0,
        fair_step_ns: int = 250_000_000,
    ) -> None:
        if not instruments:
            raise ValueError("at least one instrument is required")
        symbols = [inst.symbol for inst in instruments]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"duplicate symbols: {symbols}")
        if events_per_second <= 0:
            raise ValueError("events_per_second must be positive")
        self._clock = clock
        self._symbols = tuple(symbols)
        self._index = {s: i for i, s in enumerate(symbols)}
        self._rnd = RandomStream(np.random.default_rng(seed))
        start_ns = clock.timestamp_ns()
        self._t_ns = start_ns
        self._fair = FairPriceProcess(symbols, self._rnd, start_ns, step_ns=fair_step_ns)
        self._books = [OrderBook(inst) for inst in instruments]
        self._crowds = [
            CrowdFlow(book, self._rnd, levels_per_side, cal.start_price(sym))
            for book, sym in zip(self._books, symbols, strict=True)
        ]
        for i, crowd in enumerate(self._crowds):
            crowd.seed(self._fair.prices[i])
        burst_share = cal.BURST_MEAN_S / (cal.BURST_MEAN_S + cal.BURST_EVERY_S)
        # Calm rate such that the long-run average, bursts included, is events_per_second.
        self._rate = events_per_second / (1.0 + (cal.BURST_RATE_MULT - 1.0) * burst_share)
        self._next_event_ns = [self._next_time(start_ns) for _ in symbols]
        self._seq = [0] * len(symbols)
        self._trade_id = [0] * len(symbols)
        self._open: dict[str, _UserOrder] = {}
        self._seen_ids: set[str] = set()

    # --- time ------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    @property
    def now_ns(self) -> int:
        """How far the order flow has been run."""
        return self._t_ns

    def _next_time(self, t_ns: int) -> int:
        rate = self._rate
        if self._fair.in_burst(t_ns):
            rate *= cal.BURST_RATE_MULT
        return t_ns + int(self._rnd.exponential() / rate * _NS) + 1

    def advance(self, until_ns: int) -> list[Event]:
        """Run the crowd from its last time up to `until_ns`; returns what happened."""
        out: list[Event] = []
        if until_ns <= self._t_ns:
            return out
        ts_init = self._clock.timestamp_ns()
        fair = self._fair
        step_ns = fair.step_ns
        next_ev = self._next_event_ns
        crowds = self._crowds
        n = len(next_ev)
        while True:
            i = 0
            t = next_ev[0]
            for j in range(1, n):
                if next_ev[j] < t:
                    t = next_ev[j]
                    i = j
            if t > until_ns:
                break
            while fair.t_ns + step_ns <= t:
                fair.step()
            crowds[i].on_event(fair.prices[i])
            self._drain(i, t, ts_init, out, out, None)
            next_ev[i] = self._next_time(t)
        while fair.t_ns + step_ns <= until_ns:
            fair.step()
        self._t_ns = until_ns
        return out

    # --- event building ----------------------------------------------------------------

    def _drain(
        self,
        i: int,
        ts: int,
        ts_init: int,
        order_out: list[Event],
        data_out: list[Event],
        taker: _UserOrder | None,
        taker_cid: str = "",
    ) -> None:
        """Turn the book's recorded fills and level changes into events."""
        book = self._books[i]
        symbol = self._symbols[i]
        if book.fills:
            trade_id = self._trade_id[i]
            for maker, tick, lots, taker_is_buy in book.fills:
                trade_id += 1
                aggressor = Side.BUY if taker_is_buy else Side.SELL
                data_out.append(
                    TradeTick(
                        ts,
                        ts_init,
                        symbol,
                        trade_id,
                        book.tick_to_float(tick),
                        book.lots_to_float(lots),
                        aggressor,
                    )
                )
                if taker is not None:
                    order_out.append(
                        self._fill(book, ts, ts_init, taker_cid, taker, trade_id, tick, lots, False)
                    )
                if maker.owner is not None:
                    rec = self._open[maker.owner]
                    order_out.append(
                        self._fill(book, ts, ts_init, maker.owner, rec, trade_id, tick, lots, True)
                    )
                    if maker.lots == 0:
                        del self._open[maker.owner]
            self._trade_id[i] = trade_id
            book.fills.clear()
        if book.changes:
            seq = self._seq[i]
            for is_bid, tick, total in book.changes:
                seq += 1
                data_out.append(
                    BookDelta(
                        ts,
                        ts_init,
                        symbol,
                        seq,
                        BookSide.BID if is_bid else BookSide.ASK,
                        book.tick_to_float(tick),
                        book.lots_to_float(total),
                    )
                )
            self._seq[i] = seq
            book.changes.clear()

    def _fill(
        self,
        book: OrderBook,
        ts: int,
        ts_init: int,
        cid: str,
        rec: _UserOrder,
        trade_id: int,
        tick: int,
        lots: int,
        maker: bool,
    ) -> OrderFilled:
        return OrderFilled(
            ts,
            ts_init,
            cid,
            rec.venue_order_id,
            f"{self._symbols[rec.index]}-{trade_id}-{'M' if maker else 'T'}",
            self._symbols[rec.index],
            rec.side,
            book.lots_to_qty(lots),
            book.tick_to_price(tick),
            book.fee(tick, lots, maker),
            Liquidity.MAKER if maker else Liquidity.TAKER,
        )

    # --- orders ------------------------------------------------------------------------

    def _validate(self, order: SubmitOrder) -> tuple[str, int, int, int | None]:
        """`(error, symbol index, lots, tick)`; error is "" when the order is acceptable."""
        i = self._index.get(order.symbol)
        if i is None:
            known = ", ".join(self._symbols)
            return f"unknown symbol {order.symbol!r} (known: {known})", 0, 0, None
        book = self._books[i]
        qty = order.quantity
        if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
            return f"quantity must be positive, got {qty}", i, 0, None
        lots = book.qty_to_lots(qty)
        if lots is None:
            lot = book.instrument.lot_size
            return f"quantity {qty} is not a multiple of lot size {lot}", i, 0, None
        tick: int | None = None
        if order.order_type is OrderType.LIMIT:
            price = order.price
            if price is None:
                return "limit order needs a price", i, lots, None
            if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
                return f"price must be positive, got {price}", i, lots, None
            tick = book.price_to_tick(price)
            if tick is None:
                step = book.instrument.tick_size
                return f"price {price} is not a multiple of tick size {step}", i, lots, None
            if order.post_only and order.time_in_force is TimeInForce.IOC:
                return "post-only cannot be IOC", i, lots, tick
        elif order.post_only:
            return "post-only requires a limit order", i, lots, None
        return "", i, lots, tick

    def submit(self, order: SubmitOrder) -> list[Event]:
        """Accept or reject, match, rest or cancel the remainder; returns every event caused."""
        ts = self._clock.timestamp_ns()
        cid = order.client_order_id
        if cid in self._seen_ids:
            return [OrderRejected(ts, ts, cid, f"duplicate client_order_id {cid!r}")]
        self._seen_ids.add(cid)
        error, i, lots, tick = self._validate(order)
        if error:
            return [OrderRejected(ts, ts, cid, error)]
        book = self._books[i]
        is_buy = order.side is Side.BUY
        if order.post_only and tick is not None and book.would_cross(is_buy, tick):
            best = book.best_ask() if is_buy else book.best_bid()
            assert best is not None
            other = "ask" if is_buy else "bid"
            return [
                OrderRejected(
                    ts,
                    ts,
                    cid,
                    f"post-only order would cross: price {book.tick_to_price(tick)} vs best "
                    f"{other} {book.tick_to_price(best)}",
                )
            ]
        oid = book.new_user_order_id()
        rec = _UserOrder(i, oid, f"{order.symbol}-{oid}", order.side)
        events: list[Event] = [OrderAccepted(ts, ts, cid, rec.venue_order_id)]
        data: list[Event] = []
        if tick is None:
            rests = False
            remaining = book.place_market(is_buy, lots)
            why = "market order: no more liquidity on the book"
        else:
            ioc = order.time_in_force is TimeInForce.IOC
            if not ioc:
                self._open[cid] = rec  # before draining: a self-match may look it up
            rests, remaining = book.place_user_limit(oid, cid, is_buy, tick, lots, ioc)
            if not rests:
                self._open.pop(cid, None)
            why = "IOC remainder canceled"
        self._drain(i, ts, ts, events, data, rec, cid)
        if remaining and not rests:
            events.append(OrderCanceled(ts, ts, cid, why))
        events.extend(data)
        return events

    def cancel(self, client_order_id: str) -> list[Event]:
        """Cancel a resting user order; [] when it is unknown or no longer open."""
        rec = self._open.pop(client_order_id, None)
        if rec is None:
            return []
        ts = self._clock.timestamp_ns()
        book = self._books[rec.index]
        book.cancel(rec.oid)
        events: list[Event] = [OrderCanceled(ts, ts, client_order_id, "canceled")]
        self._drain(rec.index, ts, ts, events, events, None)
        return events

    def open_orders(self) -> list[tuple[str, str, Decimal]]:
        """`(client_order_id, venue_order_id, remaining quantity)` of resting user orders."""
        out = []
        for cid, rec in self._open.items():
            book = self._books[rec.index]
            out.append((cid, rec.venue_order_id, book.lots_to_qty(book.user_orders[rec.oid].lots)))
        return out

    # --- books -------------------------------------------------------------------------

    def _book(self, symbol: str) -> tuple[int, OrderBook]:
        i = self._index.get(symbol)
        if i is None:
            raise ValueError(f"unknown symbol {symbol!r}; known: {', '.join(self._symbols)}")
        return i, self._books[i]

    def snapshot(self, symbol: str) -> BookSnapshot:
        """The full book (every level), consistent with the deltas up to its `seq`."""
        i, book = self._book(symbol)
        ts = self._clock.timestamp_ns()
        f, s = book.tick_to_float, book.lots_to_float
        return BookSnapshot(
            ts,
            ts,
            symbol,
            self._seq[i],
            tuple((f(t), s(q)) for t, q in book.bids.top(None)),
            tuple((f(t), s(q)) for t, q in book.asks.top(None)),
        )

    def levels(self, symbol: str, depth: int) -> tuple[list[tuple[float, float]], ...]:
        """Top `depth` (price, size) levels: `(bids, asks)`, best first."""
        _, book = self._book(symbol)
        f, s = book.tick_to_float, book.lots_to_float
        return (
            [(f(t), s(q)) for t, q in book.bids.top(depth)],
            [(f(t), s(q)) for t, q in book.asks.top(depth)],
        )

    def best_bid_ask(self, symbol: str) -> tuple[float | None, float | None]:
        _, book = self._book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        return (
            None if bid is None else book.tick_to_float(bid),
            None if ask is None else book.tick_to_float(ask),
        )

    def mid(self, symbol: str) -> float:
        """Mid of best bid and ask; the fair price when a side is empty."""
        i, book = self._book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return self._fair.prices[i]
        return (book.tick_to_float(bid) + book.tick_to_float(ask)) / 2.0

    def fair_price(self, symbol: str) -> float:
        """The latent price the crowd follows (for tests and diagnostics)."""
        i, _ = self._book(symbol)
        return self._fair.prices[i]

    def order_book(self, symbol: str) -> OrderBook:
        """The matching engine of one symbol (read it; do not mutate it)."""
        return self._book(symbol)[1]
