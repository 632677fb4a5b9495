"""The L2 order book: price-level aggregated depth for one symbol.

A plain synchronous class on the hot path. Each side is a sorted list of prices maintained
with `bisect` plus a parallel list of sizes; bid prices are stored negated, so index 0 of
either side is its best level. (A price -> size dict beside the key list was measured too:
the parallel size list makes depth/imbalance a C-level `sum` over a slice, ~10x faster than
a dict lookup per level, while the bisect on update costs little.) Top of book is O(1),
depth over k levels O(k), a size change O(log n), inserting or deleting a level O(n) (a
memmove, tiny for realistic books).

Integrity rules (a book that breaks them is marked stale and ignores deltas until the next
snapshot):

* deltas must carry strictly consecutive `seq` numbers; an old or duplicate one is ignored
  silently, a jump ahead is a gap;
* a price must be finite and positive, a size finite and non-negative (0 deletes a level);
* an update that would leave best bid >= best ask (crossed, or locked at equal prices) is
  refused and not applied;
* a new level's price must lie within `price_band` (>= 2) of the book (default 10:
  between 0.1x and 10x the reference, which is the mid, or the best price of the only
  non-empty side; an empty book accepts any positive finite price). This catches
  placeholders such as the 999999999 prices some venues publish. Only a delta that
  *creates* a level is checked: a level already in the book passed the check when it was
  created, and a delete of a level that is not there is a harmless no-op whatever its
  price. Snapshots are checked the same way around their own mid.

A new book has no snapshot and is stale ("no snapshot") until the first one arrives.
"""

from __future__ import annotations

from bisect import bisect_left
from math import inf

from traider.engine.core.events import BookDelta, BookSnapshot, Level
from traider.engine.core.types import BookSide

__all__ = ["L2Book"]

_BID = BookSide.BID
_ASK = BookSide.ASK


class L2Book:
    __slots__ = (
        "_ask_keys",
        "_ask_sizes",
        "_band",
        "_band2",
        "_band_lo",
        "_bid_keys",
        "_bid_sizes",
        "_has_snapshot",
        "_seq",
        "_stale",
        "_stale_reason",
        "_symbol",
        "_version",
    )

    def __init__(self, symbol: str, *, price_band: float = 10.0) -> None:
        if not price_band >= 2.0:  # also refuses NaN; inf disables the check
            raise ValueError(f"price_band must be >= 2, got {price_band!r}")
        self._symbol = symbol
        self._band = price_band
        self._band2 = 2.0 * price_band
        self._band_lo = 1.0 / price_band
        self._seq = -1
        self._stale = True
        self._stale_reason = "no snapshot"
        self._has_snapshot = False
        self._version = 0
        # per side two parallel lists, best level first; bid prices are stored negated so
        # that both key lists ascend and `bisect` works on them directly
        self._bid_keys: list[float] = []
        self._bid_sizes: list[float] = []
        self._ask_keys: list[float] = []
        self._ask_sizes: list[float] = []

    # --- state ----------------------------------------------------------------------------

    @property
    def symbol(self) -> str:
        return self._symbol

    @property
    def seq(self) -> int:
        """Sequence number of the last snapshot or delta applied (-1 before any)."""
        return self._seq

    @property
    def price_band(self) -> float:
        """Allowed factor between a new level's price and the book's reference price."""
        return self._band

    @property
    def stale(self) -> bool:
        return self._stale

    @property
    def stale_reason(self) -> str:
        """Why the book is stale; "" while it is fresh."""
        return self._stale_reason

    @property
    def has_snapshot(self) -> bool:
        """A valid snapshot has been applied at least once."""
        return self._has_snapshot

    @property
    def version(self) -> int:
        """Increments on every applied snapshot or delta (cheap change detection)."""
        return self._version

    def mark_stale(self, reason: str) -> None:
        """Stop trusting the book (e.g. the feed disconnected) until the next snapshot."""
        if not self._stale:
            self._stale = True
            self._stale_reason = reason

    # --- updates --------------------------------------------------------------------------

    def apply_snapshot(self, snap: BookSnapshot) -> None:
        """Replace the whole book. An invalid or crossed snapshot leaves it empty and stale."""
        if snap.symbol != self._symbol:
            raise ValueError(f"snapshot for {snap.symbol} applied to book {self._symbol}")
        self._seq = snap.seq
        self._version += 1
        self._bid_keys, self._bid_sizes = [], []
        self._ask_keys, self._ask_sizes = [], []
        bids: dict[float, float] = {}
        asks: dict[float, float] = {}
        problem = _load_levels(bids, snap.bids) or _load_levels(asks, snap.asks)
        if not problem:
            bid_prices = sorted(bids, reverse=True)
            ask_prices = sorted(asks)
            if bid_prices and ask_prices and bid_prices[0] >= ask_prices[0]:
                problem = (
                    f"crossed snapshot seq {snap.seq}: bid {bid_prices[0]} >= ask {ask_prices[0]}"
                    + (" (locked)" if bid_prices[0] == ask_prices[0] else "")
                )
            else:
                problem = self._absurd_snapshot(snap.seq, bid_prices, ask_prices)
            if not problem:
                self._bid_keys = [-p for p in bid_prices]
                self._bid_sizes = [bids[p] for p in bid_prices]
                self._ask_keys = ask_prices
                self._ask_sizes = [asks[p] for p in ask_prices]
        if problem:
            self._has_snapshot = False
            self._stale = True
            self._stale_reason = problem
            return
        self._has_snapshot = True
        self._stale = False
        self._stale_reason = ""

    def apply_delta(self, d: BookDelta) -> bool:
        """Apply one level update; True if it changed the book (see the module doc)."""
        if self._stale:
            return False
        seq = d.seq
        if seq != self._seq + 1:
            if seq <= self._seq:
                return False  # duplicate or old: already reflected in the book
            self._stale = True
            self._stale_reason = f"gap: expected seq {self._seq + 1}, got {seq}"
            return False
        if d.symbol != self._symbol:
            raise ValueError(f"delta for {d.symbol} applied to book {self._symbol}")
        price = d.price
        size = d.size
        # chained comparisons are False for NaN, so this also rejects non-finite values
        if not (0.0 < price < inf and 0.0 <= size < inf):
            self._stale = True
            self._stale_reason = f"invalid delta seq {seq}: price={price!r} size={size!r}"
            return False
        side = d.side
        if side is _BID:
            keys = self._bid_keys
            key = -price
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                if size == 0.0:
                    del keys[i]
                    del self._bid_sizes[i]
                else:
                    self._bid_sizes[i] = size
            elif size != 0.0:  # a new level: the only kind of update that can cross
                ask_keys = self._ask_keys
                if ask_keys:
                    best = ask_keys[0]
                    if price >= best:
                        return self._refuse(
                            f"crossed: bid {price} >= best ask {best} at seq {seq}"
                            + (" (locked)" if price == best else "")
                        )
                    # twice the reference (the mid, or the best ask on a bid-less book);
                    # below the best ask a bid can only be absurdly low (band >= 2)
                    ref2 = best - keys[0] if keys else best + best
                    if price * self._band2 < ref2:
                        return self._refuse(self._absurd_reason("bid", price, ref2, seq))
                elif keys:  # bids only: both ways around the best bid
                    ref2 = -2.0 * keys[0]
                    if not (ref2 <= price * self._band2 and price + price <= ref2 * self._band):
                        return self._refuse(self._absurd_reason("bid", price, ref2, seq))
                keys.insert(i, key)
                self._bid_sizes.insert(i, size)
        elif side is _ASK:
            keys = self._ask_keys
            i = bisect_left(keys, price)
            if i < len(keys) and keys[i] == price:
                if size == 0.0:
                    del keys[i]
                    del self._ask_sizes[i]
                else:
                    self._ask_sizes[i] = size
            elif size != 0.0:
                bid_keys = self._bid_keys
                if bid_keys:
                    best = -bid_keys[0]
                    if price <= best:
                        return self._refuse(
                            f"crossed: ask {price} <= best bid {best} at seq {seq}"
                            + (" (locked)" if price == best else "")
                        )
                    ref2 = keys[0] + best if keys else best + best
                elif keys:
                    ref2 = keys[0] + keys[0]
                else:
                    ref2 = 0.0  # empty book: any positive finite price goes
                if ref2 and not (
                    ref2 <= price * self._band2 and price + price <= ref2 * self._band
                ):
                    return self._refuse(self._absurd_reason("ask", price, ref2, seq))
                keys.insert(i, price)
                self._ask_sizes.insert(i, size)
        else:
            self._stale = True
            self._stale_reason = f"invalid delta seq {seq}: side={side!r}"
            return False
        self._seq = seq
        self._version += 1
        return True

    def _refuse(self, reason: str) -> bool:
        """Mark the book stale for a refused delta; returns False for `apply_delta`."""
        self._stale = True
        self._stale_reason = reason
        return False

    def _absurd_reason(self, side: str, price: float, ref2: float, seq: int) -> str:
        ref = ref2 * 0.5
        return (
            f"absurd price: {side} {price} outside [{ref * self._band_lo:.10g}, "
            f"{ref * self._band:.10g}] around {ref:.10g} at seq {seq}"
        )

    def _absurd_snapshot(self, seq: int, bid_prices: list[float], ask_prices: list[float]) -> str:
        """A problem description if a (sorted, uncrossed) snapshot has an absurd level."""
        if bid_prices and ask_prices:
            ref2 = bid_prices[0] + ask_prices[0]
            low, high = bid_prices[-1], ask_prices[-1]
        elif bid_prices:
            ref2 = bid_prices[0] + bid_prices[0]
            low, high = bid_prices[-1], bid_prices[0]
        elif ask_prices:
            ref2 = ask_prices[0] + ask_prices[0]
            low, high = ask_prices[0], ask_prices[-1]
        else:
            return ""
        # the same arithmetic as apply_delta, so both agree at the band's edges
        if low * self._band2 < ref2:
            worst = low
        elif high + high > ref2 * self._band:
            worst = high
        else:
            return ""
        ref = ref2 * 0.5
        return (
            f"absurd snapshot seq {seq}: price {worst} outside [{ref * self._band_lo:.10g}, "
            f"{ref * self._band:.10g}] around {ref:.10g}"
        )

    # --- reads ----------------------------------------------------------------------------

    def best_bid(self) -> Level | None:
        keys = self._bid_keys
        if not keys:
            return None
        return -keys[0], self._bid_sizes[0]

    def best_ask(self) -> Level | None:
        keys = self._ask_keys
        if not keys:
            return None
        return keys[0], self._ask_sizes[0]

    def mid(self) -> float | None:
        if not self._bid_keys or not self._ask_keys:
            return None
        return (self._ask_keys[0] - self._bid_keys[0]) * 0.5

    def spread(self) -> float | None:
        if not self._bid_keys or not self._ask_keys:
            return None
        return self._ask_keys[0] + self._bid_keys[0]

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The best `n` levels of each side, best first: (bids, asks)."""
        if n <= 0:
            return [], []
        return (
            [(-k, s) for k, s in zip(self._bid_keys[:n], self._bid_sizes[:n], strict=True)],
            list(zip(self._ask_keys[:n], self._ask_sizes[:n], strict=True)),
        )

    def depth(self, side: BookSide, levels: int) -> float:
        """Total size over the best `levels` levels of one side."""
        if levels <= 0:
            return 0.0
        sizes = self._bid_sizes if side is _BID else self._ask_sizes
        return sum(sizes[:levels], 0.0)

    def imbalance(self, levels: int) -> float:
        """(bid depth - ask depth) / (bid depth + ask depth) over `levels` levels; 0 if empty."""
        if levels <= 0:
            return 0.0
        b = sum(self._bid_sizes[:levels], 0.0)
        a = sum(self._ask_sizes[:levels], 0.0)
        total = b + a
        if total <= 0.0:
            return 0.0
        return (b - a) / total

    def level_count(self, side: BookSide) -> int:
        return len(self._bid_keys) if side is _BID else len(self._ask_keys)

    def size_at(self, side: BookSide, price: float) -> float:
        """Size resting at `price` on `side`; 0.0 when there is no such level."""
        if side is _BID:
            keys, sizes, key = self._bid_keys, self._bid_sizes, -price
        else:
            keys, sizes, key = self._ask_keys, self._ask_sizes, price
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return sizes[i]
        return 0.0

    def __repr__(self) -> str:
        state = f"stale: {self._stale_reason}" if self._stale else "fresh"
        return (
            f"L2Book({self._symbol!r}, seq={self._seq}, bids={len(self._bid_keys)}, "
            f"asks={len(self._ask_keys)}, {state})"
        )


def _load_levels(into: dict[float, float], levels: tuple[Level, ...]) -> str:
    """Fill `into` from snapshot levels (zero sizes skipped); a problem description or ""."""
    for price, size in levels:
        if not (0.0 < price < inf and 0.0 <= size < inf):
            return f"invalid snapshot level: price={price!r} size={size!r}"
        if size > 0.0:
            into[price] = size
    return ""
