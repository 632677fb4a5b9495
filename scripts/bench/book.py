"""Benchmark the L2 order book against a naive dict + sorted() implementation.

A deterministic synthetic stream (numpy, seeded) of N deltas around a fixed pivot: bids
strictly below it, asks strictly above (so it never crosses), level offsets concentrated
near the top of the book, a quarter of them deletes. Measured on the same stream:

* `L2Book` with features off (apply only) and on (apply + best bid + best ask +
  imbalance(10)): throughput from an untimed loop, p50/p99 latency from a second pass with
  `time.perf_counter_ns` around every update (the timer's own cost is included).
* The naive book (dict per side, `sorted()` on every read) with the same features, on a
  prefix of the stream if N is large (`--naive-n`); the output says how many it ran.

The garbage collector is disabled during timed loops. Prints one JSON line.

    .venv/bin/python scripts/bench/book.py --n 200000
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from traider.engine.core.events import BookDelta, BookSnapshot
from traider.engine.core.types import BookSide
from traider.engine.marketdata.book import L2Book

SYMBOL = "BTC-USD"
TICK = 0.5
PIVOT_TICKS = 60_000  # pivot price 30_000.0


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=1_000_000, help="deltas in the stream")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--levels", type=int, default=200, help="snapshot levels per side")
    parser.add_argument(
        "--naive-n", type=int, default=50_000, help="prefix of the stream for the naive book"
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

    results: dict[str, object] = {
        "bench": "l2book",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "n": args.n,
        "seed": args.seed,
        "snapshot_levels_per_side": args.levels,
        "gen_s": round(gen_s, 3),
        "features_on": "apply + best_bid + best_ask + imbalance(10)",
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
    print(json.dumps(results, separators=(",", ":")))
    return 0 if check and results["final_not_crossed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
