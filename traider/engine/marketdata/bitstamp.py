"""Bitstamp L3 capture (`live_orders` + `live_trades`) aggregated to traider's L2 events.

Input, as normalised in the shared data folder: `orders.csv[.gz]` with columns `id,
timestamp (ms, receipt), exchange_timestamp (ms), price, volume, action
(created|changed|deleted), direction (bid|ask)`, whose first `snapshot_rows` rows are the
REST snapshot written as `created` events; and `trades.csv` with `trade_id, timestamp,
exchange_timestamp, price, amount, buy_order_id, sell_order_id, side`.

Output: one `BookSnapshot` (seq 0, the snapshot rows aggregated per price level) and then
`BookDelta` events (seq 1, 2, ...: each the new total of one level after an order event)
interleaved with `TradeTick` events by receipt time. `ts_event` is the exchange time,
`ts_init` the receipt time (never earlier than the previous event's).

Aggregation keeps `order id -> (side, price, volume)` and sums per level, rounded to 1e-8
(Bitstamp's volume precision) so that float residue never leaves a phantom level.

Cleaning, every skipped row counted in `BitstampStats`:

* rows with price <= 0 and rows at the placeholder price 999999999 (market orders
  announced before they have a price) are dropped; later rows for the same order id then
  refer to an unknown order and are skipped too (`unknown_order`);
* aggressive orders: on Bitstamp a marketable limit order is announced as `created` at a
  price through the opposite best, then `changed` as it fills and `deleted`. Shown as a
  level it would cross the L2 book, which no real book does. Such an order is held back
  (`held_back`) and only shown once it no longer crosses (the remainder rests); if it is
  deleted first it never appears. So the L2 book produced is never locked or crossed.
* far orders: the real book holds bids at $1 and asks at $99,000,000. traider's `L2Book`
  refuses a new level further than its `price_band` (10x) from the mid, so orders
  priced outside `far_band` (default 5x, inside the book's band however the mid drifts
  over a capture) of the mid when they appear are kept out of the L2 book
  (`out_of_band` orders; their rows are then no-ops).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from traider.engine.core.events import BookDelta, BookSnapshot, Event, TradeTick
from traider.engine.core.types import BookSide, Side
from traider.engine.marketdata.book import L2Book
from traider.engine.marketdata.recording import Recorder

__all__ = ["BitstampStats", "convert_bitstamp", "iter_bitstamp"]

PLACEHOLDER_PRICE = 999_999_999.0
SNAPSHOT_ROWS = 6_512
_MS = 1_000_000
_BID = BookSide.BID
_ASK = BookSide.ASK


@dataclass
class BitstampStats:
    order_rows: int = 0
    snapshot_rows: int = 0
    trades: int = 0
    dropped_nonpositive_price: int = 0
    dropped_placeholder_price: int = 0
    unknown_order: int = 0  # changed/deleted rows for an order never (validly) created
    held_back: int = 0  # aggressive orders that would have crossed the book when announced
    held_back_shown: int = 0  # ... of which a remainder later rested and was shown
    out_of_band: int = 0  # orders priced absurdly far from the mid, kept out of the book
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    deltas: int = 0
    unchanged: int = 0  # order events that left every level total as it was
    raw_snapshot_bid_levels: int = 0  # before far orders are set aside
    raw_snapshot_ask_levels: int = 0
    snapshot_bid_levels: int = 0
    snapshot_ask_levels: int = 0
    max_bid_levels: int = 0
    max_ask_levels: int = 0
    mean_bid_levels: float = 0.0
    mean_ask_levels: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def mix_pct(self) -> dict[str, float]:
        total = self.inserts + self.updates + self.deletes
        if total == 0:
            return {"insert": 0.0, "update": 0.0, "delete": 0.0}
        return {
            "insert": round(100 * self.inserts / total, 1),
            "update": round(100 * self.updates / total, 1),
            "delete": round(100 * self.deletes / total, 1),
        }

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mix_pct"] = self.mix_pct()
        return out


class _Aggregator:
    """L3 orders -> published L2 levels. The published book is a validated `L2Book`."""

    def __init__(self, symbol: str, stats: BitstampStats, far_band: float) -> None:
        self.symbol = symbol
        self.stats = stats
        self.far_lo = 1.0 / far_band
        self.far_hi = far_band
        self.book = L2Book(symbol)
        self.seq = 0
        # order id -> [is_bid, price, volume, shown]
        self.orders: dict[int, list[Any]] = {}
        # (is_bid, price) -> {order id: volume} of shown orders
        self.levels: dict[tuple[bool, float], dict[int, float]] = {}
        self.held: set[int] = set()
        self._held_checked: tuple[float | None, float | None, int] | None = None
        self._level_sum_bid = 0
        self._level_sum_ask = 0
        self._level_samples = 0

    # --- snapshot -------------------------------------------------------------------------

    def snapshot(self, ts_event: int, ts_recv: int) -> BookSnapshot:
        bid = max((o[1] for o in self.orders.values() if o[0]), default=None)
        ask = min((o[1] for o in self.orders.values() if not o[0]), default=None)
        ref = (bid + ask) / 2 if bid is not None and ask is not None else bid or ask
        self.stats.raw_snapshot_bid_levels = len({o[1] for o in self.orders.values() if o[0]})
        self.stats.raw_snapshot_ask_levels = len({o[1] for o in self.orders.values() if not o[0]})
        if ref:
            for oid, order in self.orders.items():
                if not (ref * self.far_lo <= order[1] <= ref * self.far_hi):
                    self._hide(oid, order)
                    order[3] = False
                    self.stats.out_of_band += 1
        bids: dict[float, float] = {}
        asks: dict[float, float] = {}
        for (is_bid, price), members in self.levels.items():
            total = round(sum(members.values()), 8)
            if total > 0:
                (bids if is_bid else asks)[price] = total
        snap = BookSnapshot(
            ts_event,
            ts_recv,
            self.symbol,
            self.seq,
            tuple((p, bids[p]) for p in sorted(bids, reverse=True)),
            tuple((p, asks[p]) for p in sorted(asks)),
        )
        self.book.apply_snapshot(snap)
        if self.book.stale:
            raise ValueError(f"bitstamp snapshot is unusable: {self.book.stale_reason}")
        self.stats.snapshot_bid_levels = len(snap.bids)
        self.stats.snapshot_ask_levels = len(snap.asks)
        return snap

    def load_snapshot_order(self, oid: int, is_bid: bool, price: float, volume: float) -> None:
        self.orders[oid] = [is_bid, price, volume, True]
        self.levels.setdefault((is_bid, price), {})[oid] = volume

    # --- live order events ----------------------------------------------------------------

    def _crosses(self, is_bid: bool, price: float) -> bool:
        if is_bid:
            ask = self.book.best_ask()
            return ask is not None and price >= ask[0]
        bid = self.book.best_bid()
        return bid is not None and price <= bid[0]

    def _far(self, price: float) -> bool:
        ref = self.book.mid()
        return ref is not None and not (ref * self.far_lo <= price <= ref * self.far_hi)

    def _emit_level(
        self, is_bid: bool, price: float, ts_event: int, ts_recv: int, out: list[Event]
    ) -> None:
        members = self.levels.get((is_bid, price))
        total = round(sum(members.values()), 8) if members else 0.0
        if total < 0:
            total = 0.0
        if not members:
            self.levels.pop((is_bid, price), None)
        side = _BID if is_bid else _ASK
        before = self.book.size_at(side, price)
        if before == total:
            return
        self.seq += 1
        delta = BookDelta(ts_event, ts_recv, self.symbol, self.seq, side, price, total)
        if not self.book.apply_delta(delta):
            raise ValueError(f"bitstamp L2 delta refused: {self.book.stale_reason}")
        st = self.stats
        if before == 0.0:
            st.inserts += 1
        elif total == 0.0:
            st.deletes += 1
        else:
            st.updates += 1
        out.append(delta)

    def _show(self, oid: int, order: list[Any]) -> None:
        order[3] = True
        self.levels.setdefault((order[0], order[1]), {})[oid] = order[2]

    def _hide(self, oid: int, order: list[Any]) -> None:
        key = (order[0], order[1])
        members = self.levels.get(key)
        if members is not None:
            members.pop(oid, None)

    def on_row(
        self,
        oid: int,
        action: str,
        is_bid: bool,
        price: float,
        volume: float,
        ts_event: int,
        ts_recv: int,
        out: list[Event],
    ) -> None:
        start = len(out)
        order = self.orders.get(oid)
        if action == "created" and order is None:
            order = [is_bid, price, volume, False]
            self.orders[oid] = order
            if self._crosses(is_bid, price):
                self.held.add(oid)
                self.stats.held_back += 1
            elif self._far(price):
                self.stats.out_of_band += 1
            else:
                self._show(oid, order)
                self._emit_level(is_bid, price, ts_event, ts_recv, out)
        elif order is None:
            self.stats.unknown_order += 1
            return
        elif action == "deleted" or action == "created":  # a repeated create replaces
            if order[3]:
                self._hide(oid, order)
                self._emit_level(order[0], order[1], ts_event, ts_recv, out)
            del self.orders[oid]
            self.held.discard(oid)
            if action == "created":
                self.on_row(oid, action, is_bid, price, volume, ts_event, ts_recv, out)
                return
        else:  # changed: new remaining volume, possibly a new price
            if order[3]:
                self._hide(oid, order)
                old_price = order[1]
                order[1], order[2] = price, volume
                if old_price != price:
                    self._emit_level(order[0], old_price, ts_event, ts_recv, out)
                if self._crosses(order[0], price):  # moved through the book: hold it
                    order[3] = False
                    self.held.add(oid)
                    self.stats.held_back += 1
                else:
                    self._show(oid, order)
                self._emit_level(order[0], price, ts_event, ts_recv, out)
            else:
                order[1], order[2] = price, volume
        if self.held:
            self._release_held(ts_event, ts_recv, out)
        if len(out) == start:
            self.stats.unchanged += 1

    def _release_held(self, ts_event: int, ts_recv: int, out: list[Event]) -> None:
        """Show held orders that no longer cross; only looked at when a best price moved."""
        bid, ask = self.book.best_bid(), self.book.best_ask()
        tops = (bid[0] if bid else None, ask[0] if ask else None, len(self.held))
        if tops == self._held_checked:
            return
        for oid in sorted(self.held):
            order = self.orders[oid]
            if order[2] > 0 and not self._crosses(order[0], order[1]):
                self.held.discard(oid)
                self.stats.held_back_shown += 1
                self._show(oid, order)
                self._emit_level(order[0], order[1], ts_event, ts_recv, out)
        bid, ask = self.book.best_bid(), self.book.best_ask()
        self._held_checked = (bid[0] if bid else None, ask[0] if ask else None, len(self.held))

    def sample_levels(self) -> None:
        b = self.book.level_count(_BID)
        a = self.book.level_count(_ASK)
        st = self.stats
        st.max_bid_levels = max(st.max_bid_levels, b)
        st.max_ask_levels = max(st.max_ask_levels, a)
        self._level_sum_bid += b
        self._level_sum_ask += a
        self._level_samples += 1

    def finish(self) -> None:
        if self._level_samples:
            self.stats.mean_bid_levels = round(self._level_sum_bid / self._level_samples, 1)
            self.stats.mean_ask_levels = round(self._level_sum_ask / self._level_samples, 1)


def iter_bitstamp(
    orders_path: Path | str,
    trades_path: Path | str | None = None,
    *,
    symbol: str = "BTC-USD",
    snapshot_rows: int = SNAPSHOT_ROWS,
    far_band: float = 5.0,
    stats: BitstampStats | None = None,
) -> Iterator[Event]:
    """Yield the capture as traider events (see the module doc); `stats` is filled in as
    the events are produced and complete once the iterator is exhausted."""
    st = stats if stats is not None else BitstampStats()
    orders = pl.read_csv(orders_path)
    st.order_rows = orders.height
    st.snapshot_rows = min(snapshot_rows, orders.height)
    agg = _Aggregator(symbol, st, far_band)
    cols = [
        orders.get_column(c).to_list()
        for c in ("id", "timestamp", "exchange_timestamp", "price", "volume", "action")
    ]
    is_bid_col = (orders.get_column("direction") == "bid").to_list()
    ids, recv_ms, exch_ms, prices, volumes, actions = cols

    def valid(i: int) -> bool:
        p = prices[i]
        if p is None or p <= 0:
            st.dropped_nonpositive_price += 1
            return False
        if p == PLACEHOLDER_PRICE:
            st.dropped_placeholder_price += 1
            return False
        return True

    # the snapshot: the first rows, all `created`; stamped with the REST book's time
    snap_exch = 0
    for i in range(st.snapshot_rows):
        if not valid(i):
            continue
        v = volumes[i] or 0.0
        agg.load_snapshot_order(ids[i], is_bid_col[i], prices[i], v)
        snap_exch = max(snap_exch, exch_ms[i])
    ts = snap_exch * _MS
    yield agg.snapshot(ts, ts)
    last_recv = ts

    trades: list[tuple[Any, ...]] = []
    if trades_path is not None:
        tdf = pl.read_csv(trades_path)
        trades = list(
            zip(
                *(
                    tdf.get_column(c).to_list()
                    for c in ("trade_id", "timestamp", "exchange_timestamp", "price", "amount")
                ),
                (tdf.get_column("side") == "buy").to_list(),
                strict=True,
            )
        )
    st.trades = len(trades)
    ti = 0
    out: list[Event] = []
    for i in range(st.snapshot_rows, len(ids)):
        recv = recv_ms[i]
        while ti < len(trades) and trades[ti][1] < recv:
            trade_id, t_recv, t_exch, t_price, t_amount, buy = trades[ti]
            ti += 1
            last_recv = max(last_recv, t_recv * _MS)
            yield TradeTick(
                t_exch * _MS,
                last_recv,
                symbol,
                trade_id,
                t_price,
                t_amount,
                Side.BUY if buy else Side.SELL,
            )
        if not valid(i):
            continue
        last_recv = max(last_recv, recv * _MS)
        agg.on_row(
            ids[i],
            actions[i],
            is_bid_col[i],
            prices[i],
            volumes[i] or 0.0,
            exch_ms[i] * _MS,
            last_recv,
            out,
        )
        if out:
            agg.sample_levels()
            yield from out
            out.clear()
    for trade_id, t_recv, t_exch, t_price, t_amount, buy in trades[ti:]:
        last_recv = max(last_recv, t_recv * _MS)
        yield TradeTick(
            t_exch * _MS,
            last_recv,
            symbol,
            trade_id,
            t_price,
            t_amount,
            Side.BUY if buy else Side.SELL,
        )
    st.deltas = agg.seq
    st.extra["final_bid_levels"] = agg.book.level_count(_BID)
    st.extra["final_ask_levels"] = agg.book.level_count(_ASK)
    st.extra["held_at_end"] = len(agg.held)
    agg.finish()


def convert_bitstamp(
    orders_path: Path | str,
    trades_path: Path | str | None,
    out_path: Path | str,
    *,
    symbol: str = "BTC-USD",
) -> BitstampStats:
    """Write the capture as a recording (see `recording.py`); returns the loader's stats."""
    stats = BitstampStats()
    with Recorder(out_path) as rec:
        for event in iter_bitstamp(orders_path, trades_path, symbol=symbol, stats=stats):
            rec.record(event)
    return stats
