"""Replay a market-data recording through the real engine on the simulated clock.

`RecordedMarket` stands in for `SimulatedMarket` behind the paper venue: it has the same
methods the engine and `PaperVenue` call (`advance`, `snapshot`, `submit`, `cancel`,
`open_orders`, `mid`), but its book comes from the recording. The engine is built
unchanged around it: `Engine(config, clock=SimClock(t0), venue=PaperVenue(market))`.

Fill model for OUR orders (conservative; the recording cannot react to us):

* Our orders never enter the recorded book and never change it: no market impact, and
  the strategy's own book shows only the recorded crowd.
* A marketable order (market, or a limit through the opposite best) fills at once as a
  taker, walking the recorded levels at their prices up to its limit, taker fee. Size we
  took from a level is remembered until the recording next updates that level, so two
  orders cannot take the same recorded liquidity twice. The remainder of an IOC/market
  order is canceled; a GTC remainder rests.
* A resting limit order fills only when a recorded trade prints *strictly through* its
  price with the aggressor on the other side (a sell trade below our bid, a buy trade
  above our ask), at our price, maker fee, for at most the printed size (shared among
  our orders in time priority). A trade exactly at our price does not fill us: with no
  queue position we cannot know whether the crowd ahead of us at that price was used
  up. Fills are therefore pessimistic for passive orders (a real order at the touch
  would sometimes fill on prints at its price) and optimistic only in ignoring impact.
* A resting order that the recorded book later crosses without a trade is not filled.
* post-only orders that would cross are rejected, like the simulated market does.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from traider.config import Config
from traider.engine.core.clock import NANOS_PER_MILLI, Clock, SimClock
from traider.engine.core.events import (
    BookDelta,
    BookSnapshot,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
    TradeTick,
)
from traider.engine.core.instruments import Instrument, instrument_for, with_fee_tier
from traider.engine.core.types import BookSide, Liquidity, OrderType, Side, TimeInForce
from traider.engine.marketdata.book import L2Book
from traider.engine.marketdata.recording import read_recording, recording_info

if TYPE_CHECKING:
    from traider.engine.engine import Engine

__all__ = ["RecordedMarket", "ReplayResult", "replay"]

_BID = BookSide.BID
_ASK = BookSide.ASK


@dataclass(slots=True)
class _Resting:
    cid: str
    venue_order_id: str
    symbol: str
    side: Side
    price: Decimal
    price_f: float
    remaining: Decimal


class RecordedMarket:
    """A venue whose market data is a recording (see the module doc for the fill model)."""

    def __init__(
        self, events: Iterable[Event], instruments: Sequence[Instrument], clock: Clock
    ) -> None:
        self._clock = clock
        self._instruments = {inst.symbol: inst for inst in instruments}
        self._symbols = tuple(self._instruments)
        # wide band: the recording is what it is; the engine's own books do the checking
        self._books = {s: L2Book(s, price_band=float("inf")) for s in self._symbols}
        self._last_trade: dict[str, float] = {}
        self._it: Iterator[Event] = iter(events)
        self._next: Event | None = next(self._it, None)
        self._open: dict[str, _Resting] = {}  # resting user orders, time priority
        self._seen_ids: set[str] = set()
        self._consumed: dict[tuple[str, BookSide, float], float] = {}
        self._order_no = 0
        self._fill_no = 0
        self.events = 0  # recorded events delivered
        self.ignored = 0  # recorded events for symbols not traded here
        self._t_ns = clock.timestamp_ns()
        # leading snapshots are applied now, so a snapshot request at boot is answered
        # with the recorded book (they are still delivered by the first advance)
        pending: list[Event] = []
        while isinstance(self._next, BookSnapshot):
            book = self._books.get(self._next.symbol)
            if book is not None:
                book.apply_snapshot(self._next)
            pending.append(self._next)
            self._next = next(self._it, None)
        self._pending = pending

    # --- time -----------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    @property
    def now_ns(self) -> int:
        return self._t_ns

    @property
    def exhausted(self) -> bool:
        return self._next is None and not self._pending

    @property
    def next_ts(self) -> int | None:
        """Receipt time of the next recorded event; None at the end of the recording."""
        if self._pending:
            return self._pending[0].ts_init
        return None if self._next is None else self._next.ts_init

    def advance(self, until_ns: int) -> list[Event]:
        """Every recorded event received up to `until_ns`, plus fills of our orders."""
        out: list[Event] = []
        if self._pending:
            out.extend(self._pending)
            self.events += len(self._pending)
            self._pending = []
        nxt: Any = self._next
        it = self._it
        books = self._books
        consumed = self._consumed
        n = 0
        while nxt is not None and nxt.ts_init <= until_ns:
            tp = type(nxt)
            book = books.get(nxt.symbol)
            if book is None:
                self.ignored += 1
            elif tp is BookDelta:
                book.apply_delta(nxt)
                if consumed:
                    consumed.pop((nxt.symbol, nxt.side, nxt.price), None)
                out.append(nxt)
                n += 1
            elif tp is TradeTick:
                out.append(nxt)
                n += 1
                self._last_trade[nxt.symbol] = nxt.price
                if self._open:
                    self._match_trade(nxt, out)
            elif tp is BookSnapshot:
                book.apply_snapshot(nxt)
                out.append(nxt)
                n += 1
            nxt = next(it, None)
        self._next = nxt
        self.events += n
        if until_ns > self._t_ns:
            self._t_ns = until_ns
        return out

    # --- our orders -----------------------------------------------------------------------

    def _match_trade(self, trade: TradeTick, out: list[Event]) -> None:
        inst = self._instruments[trade.symbol]
        left = inst.round_qty_down(Decimal(repr(trade.size)))
        sell_hit = trade.aggressor is Side.SELL
        for cid in list(self._open):
            if left <= 0:
                break
            o = self._open[cid]
            if o.symbol != trade.symbol:
                continue
            if sell_hit:
                through = o.side is Side.BUY and trade.price < o.price_f
            else:
                through = o.side is Side.SELL and trade.price > o.price_f
            if not through:
                continue
            qty = min(o.remaining, left)
            left -= qty
            o.remaining -= qty
            ts = self._clock.timestamp_ns()
            out.append(
                self._fill(o, ts, f"{trade.symbol}-{trade.trade_id}-{cid}-M", qty, o.price, True)
            )
            if o.remaining <= 0:
                del self._open[cid]

    def _fill(
        self, o: _Resting, ts: int, trade_id: str, qty: Decimal, price: Decimal, maker: bool
    ) -> OrderFilled:
        inst = self._instruments[o.symbol]
        rate = inst.maker_fee_rate if maker else inst.taker_fee_rate
        return OrderFilled(
            ts,
            ts,
            o.cid,
            o.venue_order_id,
            trade_id,
            o.symbol,
            o.side,
            qty,
            price,
            inst.quantize_quote(price * qty * rate),
            Liquidity.MAKER if maker else Liquidity.TAKER,
        )

    def _validate(self, order: SubmitOrder) -> str:
        inst = self._instruments.get(order.symbol)
        if inst is None:
            return f"unknown symbol {order.symbol!r} (known: {', '.join(self._symbols)})"
        qty = order.quantity
        if not qty.is_finite() or qty <= 0:
            return f"quantity must be positive, got {qty}"
        if not inst.is_qty_on_lot(qty):
            return f"quantity {qty} is not a multiple of lot size {inst.lot_size}"
        if order.order_type is OrderType.LIMIT:
            price = order.price
            if price is None:
                return "limit order needs a price"
            if not price.is_finite() or price <= 0:
                return f"price must be positive, got {price}"
            if not inst.is_price_on_tick(price):
                return f"price {price} is not a multiple of tick size {inst.tick_size}"
            if order.post_only and order.time_in_force is TimeInForce.IOC:
                return "post-only cannot be IOC"
        elif order.post_only:
            return "post-only requires a limit order"
        return ""

    def submit(self, order: SubmitOrder) -> list[Event]:
        ts = self._clock.timestamp_ns()
        cid = order.client_order_id
        if cid in self._seen_ids:
            return [OrderRejected(ts, ts, cid, f"duplicate client_order_id {cid!r}")]
        self._seen_ids.add(cid)
        error = self._validate(order)
        if error:
            return [OrderRejected(ts, ts, cid, error)]
        book = self._books[order.symbol]
        is_buy = order.side is Side.BUY
        limit = None if order.order_type is OrderType.MARKET else order.price
        limit_f = None if limit is None else float(limit)
        touch = book.best_ask() if is_buy else book.best_bid()
        crosses = touch is not None and (
            limit_f is None or (limit_f >= touch[0] if is_buy else limit_f <= touch[0])
        )
        if order.post_only and crosses:
            assert touch is not None
            other = "ask" if is_buy else "bid"
            return [
                OrderRejected(
                    ts,
                    ts,
                    cid,
                    f"post-only order would cross: price {limit} vs best {other} {touch[0]}",
                )
            ]
        self._order_no += 1
        rec = _Resting(
            cid,
            f"{order.symbol}-R{self._order_no}",
            order.symbol,
            order.side,
            limit if limit is not None else Decimal(0),
            limit_f if limit_f is not None else 0.0,
            order.quantity,
        )
        events: list[Event] = [OrderAccepted(ts, ts, cid, rec.venue_order_id)]
        if crosses:
            self._take(rec, book, limit_f, ts, events)
        if rec.remaining > 0:
            if limit is None or order.time_in_force is TimeInForce.IOC:
                why = (
                    "market order: no more liquidity on the book"
                    if limit is None
                    else ("IOC remainder canceled")
                )
                events.append(OrderCanceled(ts, ts, cid, why))
            else:
                self._open[cid] = rec
        return events

    def _take(
        self, rec: _Resting, book: L2Book, limit: float | None, ts: int, events: list[Event]
    ) -> None:
        """Fill `rec` as a taker against the recorded levels (the book is not changed)."""
        inst = self._instruments[rec.symbol]
        is_buy = rec.side is Side.BUY
        side = _ASK if is_buy else _BID
        bids, asks = book.top(1_000_000)
        for price, size in asks if is_buy else bids:
            if rec.remaining <= 0:
                break
            if limit is not None and (price > limit if is_buy else price < limit):
                break
            key = (rec.symbol, side, price)
            avail = size - self._consumed.get(key, 0.0)
            lots = inst.round_qty_down(Decimal(repr(avail))) if avail > 0 else Decimal(0)
            if lots <= 0:
                continue
            qty = min(lots, rec.remaining)
            rec.remaining -= qty
            self._consumed[key] = self._consumed.get(key, 0.0) + float(qty)
            self._fill_no += 1
            fill_price = inst.price_from_float(price)
            events.append(
                self._fill(rec, ts, f"{rec.symbol}-X{self._fill_no}-T", qty, fill_price, False)
            )

    def cancel(self, client_order_id: str) -> list[Event]:
        rec = self._open.pop(client_order_id, None)
        if rec is None:
            return []
        ts = self._clock.timestamp_ns()
        return [OrderCanceled(ts, ts, client_order_id, "canceled")]

    def open_orders(self) -> list[tuple[str, str, Decimal]]:
        return [(cid, r.venue_order_id, r.remaining) for cid, r in self._open.items()]

    # --- books ----------------------------------------------------------------------------

    def _book(self, symbol: str) -> L2Book:
        book = self._books.get(symbol)
        if book is None:
            raise ValueError(f"unknown symbol {symbol!r}; known: {', '.join(self._symbols)}")
        return book

    def snapshot(self, symbol: str) -> BookSnapshot:
        """The recorded book as replayed so far, consistent with the deltas up to its seq."""
        book = self._book(symbol)
        ts = self._clock.timestamp_ns()
        bids, asks = book.top(1_000_000)
        return BookSnapshot(ts, ts, symbol, book.seq, tuple(bids), tuple(asks))

    def levels(self, symbol: str, depth: int) -> tuple[list[tuple[float, float]], ...]:
        return self._book(symbol).top(depth)

    def best_bid_ask(self, symbol: str) -> tuple[float | None, float | None]:
        book = self._book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        return (None if bid is None else bid[0], None if ask is None else ask[0])

    def mid(self, symbol: str) -> float:
        """Mid of the recorded book; the last trade (or 0.0) while a side is empty."""
        mid = self._book(symbol).mid()
        return mid if mid is not None else self._last_trade.get(symbol, 0.0)


# --- driving an engine --------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    events: int  # recorded events delivered to the engine
    seconds: float  # wall time of the replay loop
    events_per_s: float
    sim_seconds: float  # recorded time covered
    orders: int  # order intents journaled (SubmitOrder)
    fills: int
    filled_orders: int  # orders with at least one fill
    fill_ids: tuple[str, ...]  # trade ids of our fills, in order (determinism checks)
    denied: int
    realized_pnl: Decimal
    fees: Decimal
    equity: Decimal
    books_stale: dict[str, str]  # symbol -> reason, for books stale at the end
    resyncs: int
    journal_ok: bool  # every fill belongs to a journaled order; fills <= orders

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("realized_pnl", "fees", "equity"):
            out[key] = str(out[key])
        out["fill_ids"] = len(self.fill_ids)
        return out


def with_symbols(config: Config, symbols: Sequence[str]) -> Config:
    """`config` trading exactly `symbols` (the recording's)."""
    engine_cfg = dataclasses.replace(config.engine, symbols=tuple(symbols))
    return dataclasses.replace(config, engine=engine_cfg)


def replay(
    path: Path | str,
    config: Config,
    *,
    speed: float | None = None,
    home: Path | None = None,
    risk_every_ns: int = 250 * NANOS_PER_MILLI,
    batch_ns: int = 0,
    on_engine: Callable[[Any], None] | None = None,
) -> ReplayResult:
    """Drive a fresh paper engine (strategy per `config`) through a recording.

    The engine trades the recording's symbols, journals to an in-memory store and keeps
    its files under `home` (default: a temporary directory), so a replay never touches
    the live journal. `speed` None runs as fast as possible: the clock jumps to each
    event's receipt time (with `batch_ns` > 0, to the end of a window of that length,
    delivering every event inside it at once); `speed` X paces the events at X times
    real time. Risk checks run every `risk_every_ns` of recorded time, like the live loop.
    `on_engine(engine)` is called after boot (tests inspect the engine through it).
    """
    from traider.engine.engine import Engine
    from traider.engine.execution.paper import PaperVenue
    from traider.engine.state.sqlite_store import SQLiteStore
    from traider.sim.market import SimulatedMarket

    if speed is not None and speed <= 0:
        raise ValueError("speed must be positive")
    info = recording_info(path)
    symbols = info["symbols"]
    if not symbols:
        raise ValueError(f"{path}: the recording is empty")
    config = with_symbols(config, symbols)
    start = int(info["first_ts_recv"])
    clock = SimClock(start)
    fees = config.engine.maker_fee_bps, config.engine.taker_fee_bps
    instruments = [with_fee_tier(instrument_for(s), *fees) for s in symbols]
    market = RecordedMarket(read_recording(path), instruments, clock)
    # PaperVenue is typed for SimulatedMarket; RecordedMarket has the methods it calls
    venue = PaperVenue(cast(SimulatedMarket, market))
    tmp = None
    if home is None:
        tmp = tempfile.TemporaryDirectory(prefix="traider-replay-")
        home = Path(tmp.name)
    try:
        store = SQLiteStore(":memory:")
        engine = Engine(
            config, clock=clock, store=store, home=home, control_socket=False, venue=venue
        )
        engine.boot()
        if on_engine is not None:
            on_engine(engine)
        fill_ids: list[str] = []
        engine.bus.subscribe(OrderFilled, lambda f: fill_ids.append(f.trade_id))
        started = time.perf_counter()
        next_risk = start + risk_every_ns
        step = engine.step
        while True:
            t = market.next_ts
            if t is None:
                break
            if batch_ns > 0:
                t = max(t, clock.timestamp_ns() + batch_ns)
            while t >= next_risk:  # risk checks due before this event, at their own time
                clock.set_time(max(clock.timestamp_ns(), next_risk))
                engine.check_risk()
                next_risk += risk_every_ns
            if speed is not None:
                lag = (t - start) / speed / 1e9 - (time.perf_counter() - started)
                if lag > 0:
                    time.sleep(lag)  # allowed: paced replay is a CLI run, not on an event loop
            if t > clock.timestamp_ns():
                clock.set_time(t)
            step()
        engine.check_risk()
        seconds = time.perf_counter() - started
        result = _result(engine, market, fill_ids, seconds, (clock.timestamp_ns() - start) / 1e9)
        engine.shutdown()
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()


def _result(
    engine: Engine, market: RecordedMarket, fill_ids: list[str], seconds: float, sim_s: float
) -> ReplayResult:
    intents: set[str] = set()
    filled: set[str] = set()
    fills = denied = 0
    for _, event in engine.store.journal():
        if isinstance(event, SubmitOrder):
            intents.add(event.client_order_id)
        elif isinstance(event, OrderFilled):
            fills += 1
            filled.add(event.client_order_id)
        elif isinstance(event, OrderDenied):
            denied += 1
    stale = {
        s: engine.books.book(s).stale_reason for s in engine.symbols if engine.books.book(s).stale
    }
    pf = engine.portfolio
    engine.refresh_marks()
    return ReplayResult(
        events=market.events,
        seconds=round(seconds, 3),
        events_per_s=round(market.events / seconds, 1) if seconds > 0 else 0.0,
        sim_seconds=round(sim_s, 3),
        orders=len(intents),
        fills=fills,
        filled_orders=len(filled),
        fill_ids=tuple(fill_ids),
        denied=denied,
        realized_pnl=pf.realized,
        fees=pf.fees,
        equity=pf.equity(),
        books_stale=stale,
        resyncs=sum(engine.books.resync_count(s) for s in engine.symbols),
        journal_ok=filled <= intents and fills == len(fill_ids),
    )
