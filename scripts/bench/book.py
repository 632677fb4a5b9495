"""Benchmark the L2 order book against other order books, on the same streams.

Streams:

* synthetic: a deterministic stream (numpy, seeded) of N deltas (`--n`, 1,000,000 by
  default) around a fixed pivot: bids strictly below it, asks strictly above (so it never
  crosses), level offsets concentrated near the top of the book, a quarter of them deletes;
* real: the Bitstamp BTC/USD capture (`--bitstamp`, L3 order events) aggregated to L2 here:
  a dict order_id -> (side, price, volume) turns each created / changed / deleted order
  into new per-level totals. Rows with price <= 0 or the 999999999 placeholder are dropped,
  and so are orders more than 5x away from the mid (Bitstamp carries real orders at $1 and
  at $99M, which L2Book's default 10x price band would refuse). A created order that
  would lock or cross the aggregated book (a taker, matched in the events that follow) is
  held back and joins the book only once a later event for it leaves it resting without
  crossing. Skipped when the file is absent.

Books, each fed the same `BookDelta` events through one adapter call per update:

* `l2book`: traider's `L2Book` (which also checks seq, sizes, crossing and price band);
* `bmoscon`: bmoscon's `order_book.OrderBook` (C extension);
* `sortedcontainers`: a `SortedDict` per side (bids keyed by -price);
* `ccxt`: ccxt pro's Python order book sides (`order_book_side.Bids/Asks`, `store`);

the baselines apply blindly (no seq or sanity checks). A baseline whose package does not
import is skipped with a note. Features off: apply only. Features on: apply, then best
bid, best ask and imbalance over the top 10 levels after every update. Throughput comes
from an untimed loop, p50/p99 latency from a second pass with `time.perf_counter_ns`
around every update (the timer's own cost is included). The naive dict + sorted() book is
kept as a reference on a prefix (`--naive-n`), and so are the direct-call L2Book loops of
earlier versions (`l2book_features_off/on`). The top 10 levels of every book are compared
at the middle and the end of each stream. The garbage collector is disabled during timed
loops. Prints one JSON line.

    .venv/bin/python scripts/bench/book.py --n 200000
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import json
import platform
import sys
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from traider.engine.core.events import BookDelta, BookSnapshot
from traider.engine.core.types import BookSide
from traider.engine.marketdata.book import L2Book

SYMBOL = "BTC-USD"
TICK = 0.5
PIVOT_TICKS = 60_000  # pivot price 30_000.0
BITSTAMP = Path("/work/shared/data/book/bitstamp_btcusd_2026-05-02_orders.csv.gz")
PLACEHOLDER_PRICE = 999999999.0
REAL_BAND = 5.0  # orders further than this factor from the mid are dropped (see the doc)
FEATURE_LEVELS = 10
GOAL_P99_NS = 10_000


def make_stream(n: int, seed: int, levels: int) -> tuple[BookSnapshot, list[BookDelta]]:
    rng = np.random.default_rng(seed)
    snap_sizes = np.round(rng.exponential(1.0, size=2 * levels) + 0.001, 3).tolist()
    bids = tuple(((PIVOT_TICKS - k) * TICK, snap_sizes[k - 1]) for k in range(1, levels + 1))
    asks = tuple(
        ((PIVOT_TICKS + k) * TICK, snap_sizes[levels + k - 1]) for k in range(1, levels + 1)
    )
    snap = BookSnapshot(0, 0, SYMBOL, 0, bids, asks)

    is_bid = (rng.random(n) < 0.5).tolist()
    offsets = np.minimum(rng.geometric(0.05, size=n), 2 * levels)
    sizes = np.round(rng.exponential(1.0, size=n) + 0.001, 3)
    sizes[rng.random(n) < 0.25] = 0.0
    size_list = sizes.tolist()
    bid_prices = ((PIVOT_TICKS - offsets) * TICK).tolist()
    ask_prices = ((PIVOT_TICKS + offsets) * TICK).tolist()
    bid_side, ask_side = BookSide.BID, BookSide.ASK
    deltas = [
        BookDelta(
            0,
            0,
            SYMBOL,
            i + 1,
            bid_side if is_bid[i] else ask_side,
            bid_prices[i] if is_bid[i] else ask_prices[i],
            size_list[i],
        )
        for i in range(n)
    ]
    return snap, deltas


class NaiveBook:
    """Dict per side; every read sorts. The obvious implementation, as a baseline."""

    def __init__(self, snap: BookSnapshot) -> None:
        self.seq = snap.seq
        self.bids = {p: s for p, s in snap.bids if s > 0}
        self.asks = {p: s for p, s in snap.asks if s > 0}

    def apply_delta(self, d: BookDelta) -> bool:
        if d.seq != self.seq + 1:
            return False
        levels = self.bids if d.side is BookSide.BID else self.asks
        if d.size == 0.0:
            levels.pop(d.price, None)
        else:
            levels[d.price] = d.size
        self.seq = d.seq
        return True

    def best_bid(self) -> tuple[float, float] | None:
        if not self.bids:
            return None
        p = sorted(self.bids, reverse=True)[0]
        return p, self.bids[p]

    def best_ask(self) -> tuple[float, float] | None:
        if not self.asks:
            return None
        p = sorted(self.asks)[0]
        return p, self.asks[p]

    def top(self, n: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return (
            sorted(self.bids.items(), reverse=True)[:n],
            sorted(self.asks.items())[:n],
        )

    def imbalance(self, levels: int) -> float:
        bids, asks = self.top(levels)
        b = sum(s for _, s in bids)
        a = sum(s for _, s in asks)
        return 0.0 if b + a == 0 else (b - a) / (b + a)


Book = L2Book | NaiveBook


def _throughput(book: Book, deltas: Sequence[BookDelta], features: bool) -> tuple[float, int]:
    apply = book.apply_delta
    applied = 0
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        if features:
            best_bid, best_ask, imbalance = book.best_bid, book.best_ask, book.imbalance
            for d in deltas:
                applied += apply(d)
                best_bid()
                best_ask()
                imbalance(10)
        else:
            for d in deltas:
                applied += apply(d)
        elapsed = time.perf_counter_ns() - t0
    finally:
        gc.enable()
    return len(deltas) / (elapsed / 1e9), applied


def _latencies(book: Book, deltas: Sequence[BookDelta], features: bool) -> dict[str, float]:
    apply = book.apply_delta
    clock = time.perf_counter_ns
    out = [0] * len(deltas)
    gc.collect()
    gc.disable()
    try:
        if features:
            best_bid, best_ask, imbalance = book.best_bid, book.best_ask, book.imbalance
            for i, d in enumerate(deltas):
                t0 = clock()
                apply(d)
                best_bid()
                best_ask()
                imbalance(10)
                out[i] = clock() - t0
        else:
            for i, d in enumerate(deltas):
                t0 = clock()
                apply(d)
                out[i] = clock() - t0
    finally:
        gc.enable()
    arr = np.asarray(out, dtype=np.int64)
    p50, p99, p999 = np.percentile(arr, [50, 99, 99.9])
    return {
        "p50_ns": float(p50),
        "p99_ns": float(p99),
        "p999_ns": float(p999),
        "max_ns": float(arr.max()),
    }


def measure(
    factory: Callable[[], Book], deltas: Sequence[BookDelta], features: bool
) -> dict[str, float | int]:
    rate, applied = _throughput(factory(), deltas, features)
    result: dict[str, float | int] = {"n": len(deltas), "updates_per_s": round(rate)}
    result["applied"] = applied
    lat = _latencies(factory(), deltas, features)
    result.update(lat)
    return result


# --- the real stream: Bitstamp L3 orders aggregated to L2 ----------------------------------


class _Sorted:
    """Sorted price list of one side of the aggregated book (best = [0] for asks)."""

    def __init__(self) -> None:
        self.keys: list[float] = []

    def add(self, key: float) -> None:
        insort(self.keys, key)

    def remove(self, key: float) -> None:
        i = bisect_left(self.keys, key)
        del self.keys[i]


def load_bitstamp(path: Path) -> tuple[BookSnapshot, list[BookDelta], dict[str, int]]:
    """L3 order events -> an empty snapshot (seq 0) and consecutive L2 deltas (see the doc)."""
    bid, ask = BookSide.BID, BookSide.ASK
    orders: dict[str, tuple[BookSide, float, float]] = {}  # resting, in the book
    held: dict[str, tuple[BookSide, float, float]] = {}  # would cross: held back
    totals: dict[BookSide, dict[float, float]] = {bid: {}, ask: {}}
    bid_keys, ask_keys = _Sorted(), _Sorted()  # bids negated
    deltas: list[BookDelta] = []
    info = {"rows": 0, "dropped_placeholder": 0, "dropped_out_of_band": 0, "held_back": 0}

    def crosses(side: BookSide, price: float) -> bool:
        if side is bid:
            return bool(ask_keys.keys) and price >= ask_keys.keys[0]
        return bool(bid_keys.keys) and price <= -bid_keys.keys[0]

    def in_band(price: float) -> bool:
        b, a = bid_keys.keys, ask_keys.keys
        if b and a:
            ref = (a[0] - b[0]) * 0.5
        elif b or a:
            ref = -b[0] if b else a[0]
        else:
            return True
        return ref / REAL_BAND <= price <= ref * REAL_BAND

    def change(side: BookSide, price: float, dv: float) -> None:
        levels = totals[side]
        old = levels.get(price, 0.0)
        total = round(old + dv, 8)
        key = -price if side is bid else price
        sorted_side = bid_keys if side is bid else ask_keys
        if total <= 0.0:
            total = 0.0
            if old:
                del levels[price]
                sorted_side.remove(key)
        else:
            if not old:
                sorted_side.add(key)
            levels[price] = total
        deltas.append(BookDelta(0, 0, SYMBOL, len(deltas) + 1, side, price, total))

    def rest(oid: str, side: BookSide, price: float, vol: float) -> None:
        if crosses(side, price):
            held[oid] = (side, price, vol)
            info["held_back"] += 1
        else:
            orders[oid] = (side, price, vol)
            change(side, price, vol)

    with gzip.open(path, "rt", newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for oid, _ts, _xts, price_s, vol_s, action, direction in rows:
            info["rows"] += 1
            price, vol = float(price_s), float(vol_s)
            side = bid if direction == "bid" else ask
            if action == "created":
                if price <= 0.0 or price == PLACEHOLDER_PRICE:
                    info["dropped_placeholder"] += 1
                elif not in_band(price):
                    info["dropped_out_of_band"] += 1
                elif vol > 0.0:
                    rest(oid, side, price, vol)
                continue
            if oid in held:
                side, _, _ = held.pop(oid)
                if action == "changed" and vol > 0.0 and in_band(price):
                    rest(oid, side, price, vol)
                continue
            order = orders.pop(oid, None)
            if order is None:
                continue  # dropped above, or from before the capture
            side, old_price, old_vol = order
            change(side, old_price, -old_vol)
            if action == "changed" and vol > 0.0 and (price == old_price or in_band(price)):
                rest(oid, side, price, vol)
    info["deltas"] = len(deltas)
    return BookSnapshot(0, 0, SYMBOL, 0, (), ()), deltas, info


# --- books under test: (apply, features, top10) per fresh book ------------------------------

Apply = Callable[[BookDelta], object]
Features = Callable[[], object]
Top = Callable[[], tuple[list[tuple[float, float]], list[tuple[float, float]]]]
Factory = Callable[[BookSnapshot], tuple[Apply, Features, Top]]


def _imbalance(b: float, a: float) -> float:
    total = b + a
    return 0.0 if total <= 0.0 else (b - a) / total


def l2book_factory(snap: BookSnapshot) -> tuple[Apply, Features, Top]:
    book = L2Book(SYMBOL)
    book.apply_snapshot(snap)
    best_bid, best_ask, imbalance = book.best_bid, book.best_ask, book.imbalance

    def features() -> object:
        return best_bid(), best_ask(), imbalance(FEATURE_LEVELS)

    def top() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return book.top(FEATURE_LEVELS)

    return book.apply_delta, features, top


def bmoscon_factory(snap: BookSnapshot) -> tuple[Apply, Features, Top]:
    from order_book import OrderBook  # type: ignore[import-not-found]

    ob = OrderBook()
    bids, asks = ob.bids, ob.asks
    for p, sz in snap.bids:
        if sz > 0:
            bids[p] = sz
    for p, sz in snap.asks:
        if sz > 0:
            asks[p] = sz
    bid_side = BookSide.BID

    def apply(d: BookDelta) -> object:
        side = bids if d.side is bid_side else asks
        size = d.size
        if size:
            side[d.price] = size
        else:
            try:  # noqa: SIM105 - contextlib.suppress costs more on this path
                del side[d.price]
            except KeyError:
                pass
        return True

    def features() -> object:
        bb = bids.index(0) if len(bids) else None
        ba = asks.index(0) if len(asks) else None
        b = sum([bids[k] for k in bids.keys()[:FEATURE_LEVELS]])
        a = sum([asks[k] for k in asks.keys()[:FEATURE_LEVELS]])
        return bb, ba, _imbalance(b, a)

    def top() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return (
            [(k, bids[k]) for k in bids.keys()[:FEATURE_LEVELS]],
            [(k, asks[k]) for k in asks.keys()[:FEATURE_LEVELS]],
        )

    return apply, features, top


def sortedcontainers_factory(snap: BookSnapshot) -> tuple[Apply, Features, Top]:
    from sortedcontainers import SortedDict  # type: ignore[import-untyped]

    bids: Any = SortedDict({-p: sz for p, sz in snap.bids if sz > 0})
    asks: Any = SortedDict({p: sz for p, sz in snap.asks if sz > 0})
    bid_side = BookSide.BID

    def apply(d: BookDelta) -> object:
        if d.side is bid_side:
            side, key = bids, -d.price
        else:
            side, key = asks, d.price
        size = d.size
        if size:
            side[key] = size
        else:
            side.pop(key, None)
        return True

    def features() -> object:
        bb = bids.peekitem(0) if bids else None
        ba = asks.peekitem(0) if asks else None
        b = sum([bids[k] for k in bids.keys()[:FEATURE_LEVELS]])
        a = sum([asks[k] for k in asks.keys()[:FEATURE_LEVELS]])
        return bb, ba, _imbalance(b, a)

    def top() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return (
            [(-k, v) for k, v in islice(bids.items(), FEATURE_LEVELS)],
            list(islice(asks.items(), FEATURE_LEVELS)),
        )

    return apply, features, top


def ccxt_factory(snap: BookSnapshot) -> tuple[Apply, Features, Top]:
    from ccxt.async_support.base.ws.order_book_side import (  # type: ignore[import-untyped]
        Asks,
        Bids,
    )

    bids: Any = Bids([[p, sz] for p, sz in snap.bids if sz > 0])
    asks: Any = Asks([[p, sz] for p, sz in snap.asks if sz > 0])
    bid_side = BookSide.BID

    def apply(d: BookDelta) -> object:
        (bids if d.side is bid_side else asks).store(d.price, d.size)
        return True

    def features() -> object:
        bb = bids[0] if bids else None
        ba = asks[0] if asks else None
        b = sum([lv[1] for lv in bids[:FEATURE_LEVELS]])
        a = sum([lv[1] for lv in asks[:FEATURE_LEVELS]])
        return bb, ba, _imbalance(b, a)

    def top() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return (
            [(lv[0], lv[1]) for lv in bids[:FEATURE_LEVELS]],
            [(lv[0], lv[1]) for lv in asks[:FEATURE_LEVELS]],
        )

    return apply, features, top


BOOKS: dict[str, tuple[Factory, str]] = {
    "l2book": (l2book_factory, "traider L2Book (validates seq, sizes, crossing, price band)"),
    "bmoscon": (bmoscon_factory, "bmoscon order_book.OrderBook, C extension"),
    "sortedcontainers": (sortedcontainers_factory, "sortedcontainers.SortedDict per side"),
    "ccxt": (ccxt_factory, "ccxt pro order_book_side.Bids/Asks (pure Python)"),
}


def available_books() -> tuple[dict[str, Factory], dict[str, str]]:
    """The books whose packages import; the others with the reason they are skipped."""
    ok: dict[str, Factory] = {}
    skipped: dict[str, str] = {}
    empty = BookSnapshot(0, 0, SYMBOL, 0, ((1.0, 1.0),), ((2.0, 1.0),))
    for name, (factory, _) in BOOKS.items():
        try:
            factory(empty)
        except ImportError as exc:
            skipped[name] = f"not installed: {exc}"
        else:
            ok[name] = factory
    return ok, skipped


def _run_throughput(apply: Apply, features: Features | None, deltas: Sequence[BookDelta]) -> float:
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        if features is None:
            for d in deltas:
                apply(d)
        else:
            for d in deltas:
                apply(d)
                features()
        elapsed = time.perf_counter_ns() - t0
    finally:
        gc.enable()
    return len(deltas) / (elapsed / 1e9)


def _run_latencies(
    apply: Apply, features: Features | None, deltas: Sequence[BookDelta]
) -> dict[str, float]:
    clock = time.perf_counter_ns
    out = [0] * len(deltas)
    gc.collect()
    gc.disable()
    try:
        if features is None:
            for i, d in enumerate(deltas):
                t0 = clock()
                apply(d)
                out[i] = clock() - t0
        else:
            for i, d in enumerate(deltas):
                t0 = clock()
                apply(d)
                features()
                out[i] = clock() - t0
    finally:
        gc.enable()
    arr = np.asarray(out, dtype=np.int64)
    p50, p99, p999 = np.percentile(arr, [50, 99, 99.9])
    return {"p50_ns": float(p50), "p99_ns": float(p99), "p999_ns": float(p999)}


def compare_books(
    books: dict[str, Factory], snap: BookSnapshot, deltas: Sequence[BookDelta], repeat: int
) -> dict[str, object]:
    """Every book, features off and on, on the same stream; plus a top-10 cross-check."""
    out: dict[str, object] = {"n": len(deltas)}
    per_book: dict[str, dict[str, dict[str, float]]] = {}
    for name, factory in books.items():
        per_book[name] = {}
        for mode in ("off", "on"):
            rates = []
            for _ in range(repeat):
                apply, features, _ = factory(snap)
                rates.append(_run_throughput(apply, features if mode == "on" else None, deltas))
            apply, features, _ = factory(snap)
            lat = _run_latencies(apply, features if mode == "on" else None, deltas)
            per_book[name][mode] = {"updates_per_s": round(max(rates)), **lat}
    out["books"] = per_book
    on = {name: r["on"]["updates_per_s"] for name, r in per_book.items()}
    out["ranking_features_on"] = sorted(on, key=on.__getitem__, reverse=True)
    if "l2book" in per_book:
        mine = per_book["l2book"]["on"]
        others = {k: v["on"] for k, v in per_book.items() if k != "l2book"}
        out["l2book_ahead_of_all_features_on"] = all(
            mine["updates_per_s"] > r["updates_per_s"] for r in others.values()
        )
        out["l2book_speedup_features_on"] = {
            k: round(mine["updates_per_s"] / r["updates_per_s"], 2) for k, r in others.items()
        }
        out["l2book_p99_goal_met"] = mine["p99_ns"] < GOAL_P99_NS
    # all books agree on the top levels, half way and at the end
    checks = []
    for cut in (len(deltas) // 2, len(deltas)):
        tops = []
        for factory in books.values():
            apply, _, top = factory(snap)
            for d in deltas[:cut]:
                apply(d)
            tops.append(top())
        checks.append(all(t == tops[0] for t in tops))
    out["books_agree_top10"] = all(checks)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=1_000_000, help="deltas in the stream")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--levels", type=int, default=200, help="snapshot levels per side")
    parser.add_argument(
        "--naive-n", type=int, default=50_000, help="prefix of the stream for the naive book"
    )
    parser.add_argument("--bitstamp", type=Path, default=BITSTAMP, help="L3 capture (.csv.gz)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="throughput passes per book and mode (best kept)"
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    snap, deltas = make_stream(args.n, args.seed, args.levels)
    gen_s = time.perf_counter() - t0

    def fast() -> L2Book:
        book = L2Book(SYMBOL)
        book.apply_snapshot(snap)
        return book

    def naive() -> NaiveBook:
        return NaiveBook(snap)

    naive_n = min(args.naive_n, args.n)
    prefix = deltas[:naive_n]
    books, skipped = available_books()

    results: dict[str, object] = {
        "bench": "l2book",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "n": args.n,
        "seed": args.seed,
        "snapshot_levels_per_side": args.levels,
        "gen_s": round(gen_s, 3),
        "features_on": f"apply + best_bid + best_ask + imbalance({FEATURE_LEVELS})",
        "books": {name: BOOKS[name][1] for name in books},
        "skipped_books": skipped,
        "synthetic": compare_books(books, snap, deltas, args.repeat),
    }
    if args.bitstamp.exists():
        t0 = time.perf_counter()
        real_snap, real_deltas, info = load_bitstamp(args.bitstamp)
        load_s = round(time.perf_counter() - t0, 3)
        real = compare_books(books, real_snap, real_deltas, args.repeat)
        probe = L2Book(SYMBOL)
        probe.apply_snapshot(real_snap)
        applied = sum(probe.apply_delta(d) for d in real_deltas)
        results["real"] = {
            "source": str(args.bitstamp),
            "load_s": load_s,
            **info,
            "l2book_applied_all": applied == len(real_deltas) and not probe.stale,
            **real,
        }
    else:
        results["real"] = {"skipped": f"{args.bitstamp} not found"}

    results.update(
        {
            "l2book_features_off": measure(fast, deltas, features=False),
            "l2book_features_on": measure(fast, deltas, features=True),
            "naive_n": naive_n,
            "naive_note": (
                f"naive (dict + sorted() on read) ran on the first {naive_n} of {args.n} deltas"
                if naive_n < args.n
                else "naive ran on the full stream"
            ),
            "naive_features_off": measure(naive, prefix, features=False),
            "naive_features_on": measure(naive, prefix, features=True),
            "l2book_features_on_same_prefix": measure(fast, prefix, features=True),
        }
    )

    # correctness cross-check: both books agree after the whole stream / prefix
    fb, nb = fast(), naive()
    for d in prefix:
        fb.apply_delta(d)
        nb.apply_delta(d)
    check = fb.top(50) == nb.top(50) and fb.imbalance(10) == nb.imbalance(10)
    fb_full = fast()
    for d in deltas:
        fb_full.apply_delta(d)
    bb, ba = fb_full.best_bid(), fb_full.best_ask()
    results["check_matches_naive"] = check
    results["final_levels"] = [fb_full.level_count(BookSide.BID), fb_full.level_count(BookSide.ASK)]
    results["final_not_crossed"] = bb is None or ba is None or bb[0] < ba[0]
    on = results["l2book_features_on_same_prefix"]
    naive_on = results["naive_features_on"]
    assert isinstance(on, dict)
    assert isinstance(naive_on, dict)
    results["speedup_vs_naive_features_on"] = round(
        on["updates_per_s"] / naive_on["updates_per_s"], 1
    )
    synthetic = results["synthetic"]
    real_res = results["real"]
    assert isinstance(synthetic, dict)
    assert isinstance(real_res, dict)
    ok = (
        check
        and bool(results["final_not_crossed"])
        and bool(synthetic["books_agree_top10"])
        and bool(real_res.get("books_agree_top10", True))
        and bool(real_res.get("l2book_applied_all", True))
    )
    print(json.dumps(results, separators=(",", ":")))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
