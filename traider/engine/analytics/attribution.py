"""Per-strategy P&L from the journal, and a buy-and-hold benchmark.

Attribution replays the journaled fills per (strategy, symbol) with the engine's
average-cost `Position` (traider.engine.portfolio): realized P&L is booked when a position
is reduced, unrealized P&L is `quantity × mark − cost basis`. A fill's strategy is the
`strategy_id` of its `SubmitOrder` in the journal, else the strategy part of its client
order id (`{epoch}-{strategy}-{seq}`), else "unknown" (e.g. a fill of an order placed
outside the engine). Because each strategy keeps its own book, the strategies' realized
P&L can differ from the account's when two strategies hold opposite positions in the same
symbol (the account nets them; attribution does not).

Marks: the journal holds no per-symbol price series, so by default a symbol's mark at time
t is the price of its **last fill at or before t** (any strategy), carried forward. A
caller with a real price series (e.g. an OHLCV file) can pass it as `Marks` instead.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from traider.engine.analytics.performance import FloatArray, IntArray, RoundTrip, round_trips
from traider.engine.core.events import EquityRecorded, OrderFilled, SubmitOrder
from traider.engine.core.ids import parse_client_order_id
from traider.engine.portfolio import Position
from traider.engine.state.store import Store

__all__ = [
    "FILL_PRICE_SOURCE",
    "UNKNOWN_STRATEGY",
    "Benchmark",
    "JournalData",
    "Marks",
    "StrategyPnl",
    "attribute",
    "buy_and_hold",
    "read_journal",
    "strategy_of",
]

UNKNOWN_STRATEGY = "unknown"
FILL_PRICE_SOURCE = "last fill price per symbol from the journal, carried forward"
_ZERO = Decimal(0)


def strategy_of(client_order_id: str, submitted: Mapping[str, str]) -> str:
    """The strategy behind an order: its SubmitOrder's `strategy_id`, else the id's
    strategy part, else `UNKNOWN_STRATEGY`."""
    strategy = submitted.get(client_order_id)
    if strategy:
        return strategy
    try:
        return parse_client_order_id(client_order_id)[1]
    except ValueError:
        return UNKNOWN_STRATEGY


@dataclass(slots=True)
class JournalData:
    """What reports need from the journal, in journal (id) order."""

    fills: list[OrderFilled] = field(default_factory=list)
    strategy_by_order: dict[str, str] = field(default_factory=dict)
    equity: list[EquityRecorded] = field(default_factory=list)

    def strategy(self, fill: OrderFilled) -> str:
        return strategy_of(fill.client_order_id, self.strategy_by_order)


def read_journal(store: Store, until_ns: int | None = None) -> JournalData:
    """Submits, fills and equity samples with `ts_event < until_ns` (all when None).

    A fill journaled twice (same client order id and venue trade id) counts once.
    """
    data = JournalData()
    seen: set[tuple[str, str]] = set()
    for _, event in store.journal(types={"SubmitOrder", "OrderFilled", "EquityRecorded"}):
        if until_ns is not None and event.ts_event >= until_ns:
            continue
        if isinstance(event, OrderFilled):
            key = (event.client_order_id, event.trade_id)
            if key not in seen:
                seen.add(key)
                data.fills.append(event)
        elif isinstance(event, SubmitOrder):
            data.strategy_by_order[event.client_order_id] = event.strategy_id
        elif isinstance(event, EquityRecorded):
            data.equity.append(event)
    return data


class Marks:
    """Price per symbol over time; `at(symbol, t)` is the last price at or before t."""

    def __init__(self, series: Mapping[str, Sequence[tuple[int, Decimal]]], source: str) -> None:
        self.source = source
        self._ts: dict[str, list[int]] = {}
        self._px: dict[str, list[Decimal]] = {}
        for symbol, points in series.items():
            ordered = sorted(points, key=lambda p: p[0])  # stable: later equal ts wins
            self._ts[symbol] = [t for t, _ in ordered]
            self._px[symbol] = [p for _, p in ordered]

    @classmethod
    def from_fills(cls, fills: Iterable[OrderFilled]) -> Marks:
        series: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
        for f in fills:
            series[f.symbol].append((f.ts_event, f.price))
        return cls(series, FILL_PRICE_SOURCE)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._ts)

    def at(self, symbol: str, ts_ns: int) -> Decimal | None:
        times = self._ts.get(symbol)
        if not times:
            return None
        i = bisect.bisect_right(times, ts_ns) - 1
        return self._px[symbol][i] if i >= 0 else None

    def first_after(self, symbol: str, ts_ns: int) -> tuple[int, Decimal] | None:
        """The first (time, price) strictly after `ts_ns`."""
        times = self._ts.get(symbol, [])
        i = bisect.bisect_right(times, ts_ns)
        return (times[i], self._px[symbol][i]) if i < len(times) else None


@dataclass(frozen=True, slots=True)
class StrategyPnl:
    """One strategy over a window `[start, end)`.

    `pnl = realized − fees + unrealized_change`, where `unrealized_change` is the open
    positions' unrealized P&L at the end minus at the start (marks as of each time).
    """

    strategy_id: str
    symbols: tuple[str, ...]
    realized: Decimal
    fees: Decimal
    unrealized_change: Decimal
    fills: int
    trips: tuple[RoundTrip, ...]  # closed inside the window
    notional: Decimal

    @property
    def round_trips(self) -> int:
        return len(self.trips)

    @property
    def pnl(self) -> Decimal:
        return self.realized - self.fees + self.unrealized_change


def _replay(fills: Iterable[OrderFilled], data: JournalData) -> dict[tuple[str, str], Position]:
    books: dict[tuple[str, str], Position] = {}
    for f in fills:
        pos = books.setdefault((data.strategy(f), f.symbol), Position(f.symbol))
        pos.apply_fill(f.quantity if f.side.sign > 0 else -f.quantity, f.price)
    return books


def _unrealized(pos: Position | None, mark: Decimal | None) -> Decimal:
    if pos is None or not pos.quantity or mark is None:
        return _ZERO  # no mark: valued at cost, as Portfolio.equity does
    return pos.quantity * mark - pos.cost_basis


def attribute(
    data: JournalData, start_ns: int, end_ns: int, marks: Marks | None = None
) -> list[StrategyPnl]:
    """Per-strategy P&L over `[start_ns, end_ns)`, sorted by strategy id.

    Positions carried into the window come from replaying every earlier fill; realized
    P&L and fees count only fills inside the window, round trips only those closed inside
    it. Strategies with no fill in the window and no open position are left out.
    """
    marks = marks or Marks.from_fills(data.fills)
    before = [f for f in data.fills if f.ts_event < start_ns]
    upto = [f for f in data.fills if f.ts_event < end_ns]
    inside = [f for f in upto if f.ts_event >= start_ns]
    books_start, books_end = _replay(before, data), _replay(upto, data)
    by_strategy: dict[str, list[OrderFilled]] = defaultdict(list)
    for f in upto:
        by_strategy[data.strategy(f)].append(f)
    out = []
    for strategy in sorted(by_strategy):
        keys = [k for k in books_end if k[0] == strategy]
        mine = [f for f in inside if data.strategy(f) == strategy]
        if not mine and not any(books_end[k].quantity for k in keys):
            continue
        realized = sum(
            (books_end[k].realized_pnl - _realized(books_start.get(k)) for k in keys), _ZERO
        )
        unreal = sum(
            (
                _unrealized(books_end[k], marks.at(k[1], end_ns - 1))
                - _unrealized(books_start.get(k), marks.at(k[1], start_ns - 1))
                for k in keys
            ),
            _ZERO,
        )
        trips = [t for t in round_trips(by_strategy[strategy]) if t.close_ns >= start_ns]
        out.append(
            StrategyPnl(
                strategy_id=strategy,
                symbols=tuple(sorted({k[1] for k in keys})),
                realized=realized,
                fees=sum((f.fee for f in mine), _ZERO),
                unrealized_change=unreal,
                fills=len(mine),
                trips=tuple(trips),
                notional=sum((abs(f.quantity * f.price) for f in mine), _ZERO),
            )
        )
    return out


def _realized(pos: Position | None) -> Decimal:
    return pos.realized_pnl if pos is not None else _ZERO


@dataclass(frozen=True, slots=True)
class Benchmark:
    """Equal-weight buy-and-hold of `symbols`, started with `start_value` at the window
    start; `value[i]` is its worth at `ts_ns[i]`."""

    symbols: tuple[str, ...]
    price_source: str
    start_value: float
    ts_ns: IntArray
    value: FloatArray

    @property
    def pnl(self) -> float:
        return float(self.value[-1] - self.start_value) if self.value.size else 0.0

    @property
    def total_return(self) -> float | None:
        return self.pnl / self.start_value if self.start_value > 0 else None


def buy_and_hold(
    marks: Marks,
    symbols: Iterable[str],
    start_value: float,
    start_ns: int,
    times_ns: Sequence[int] | IntArray,
) -> Benchmark | None:
    """Put `start_value / n` into each of the n symbols at the window start and hold.

    A symbol is bought at its mark as of `start_ns` (last price at or before it) or, when it
    has no price yet, at its first price after `start_ns`, its share sitting in cash until
    then. The value at t uses each symbol's mark as of t. None without a symbol or a price.
    """
    entries: list[tuple[str, int, float]] = []
    for symbol in sorted(set(symbols)):
        price = marks.at(symbol, start_ns)
        if price is not None:
            entries.append((symbol, start_ns, float(price)))
            continue
        later = marks.first_after(symbol, start_ns)
        if later is not None:
            entries.append((symbol, later[0], float(later[1])))
    if not entries or start_value <= 0:
        return None
    share = start_value / len(entries)
    times = np.asarray(times_ns, dtype=np.int64).reshape(-1)
    value = np.zeros(times.size, dtype=np.float64)
    for i, t in enumerate(times.tolist()):
        for symbol, entry_ns, entry_px in entries:
            mark = marks.at(symbol, t)
            held = t >= entry_ns and mark is not None and entry_px > 0
            value[i] += share * float(mark) / entry_px if held and mark is not None else share
    return Benchmark(
        symbols=tuple(s for s, _, _ in entries),
        price_source=marks.source,
        start_value=start_value,
        ts_ns=times,
        value=value,
    )
