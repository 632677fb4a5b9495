"""Hot path: simulated delta -> bus -> book -> features -> risk -> paper order (journaled).

Stages, each p50/p99/max in microseconds:
- book_update: the delta published on the bus and applied to the L2 book
- features: depth imbalance (top 5), mid, spread
- risk: every pre-trade check on the intent
- journal_to_wire: client id, intent + "submitted" journaled (one fsync), venue called
- end_to_end: delta in -> order on the wire (the budget's definition)
- ack_processed: the paper venue's synchronous ack applied and journaled (second fsync);
  after the wire, so not in end_to_end

Prints one JSON line: the journal on this machine's disk (SQLite WAL, synchronous=FULL)
and, as the baseline in the same run, on /dev/shm (same code, RAM-backed file: what the
fsyncs cost).

    .venv/bin/python scripts/bench/hot_path.py [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from traider.config import load_config
from traider.engine.core.clock import NANOS_PER_MILLI, SimClock
from traider.engine.core.events import BookDelta, SubmitOrder
from traider.engine.core.types import OrderType, Side
from traider.engine.engine import Engine
from traider.engine.execution.paper import PaperVenue
from traider.engine.monitoring.loop_lag import percentile


def stats(samples_ns: list[int]) -> dict[str, float]:
    us = [s / 1000 for s in samples_ns]
    return {"p50_us": round(percentile(us, 50), 2), "p99_us": round(percentile(us, 99), 2),
            "max_us": round(max(us), 1)}


def measure(db_dir: Path, n: int) -> dict[str, object]:
    os.environ["TRAIDER_HOME"] = str(db_dir)
    cfg = load_config(None, {"strategy.enabled": "false", "risk.max_orders_per_second": "1e9",
                             "risk.order_rate_burst": "1000000000"}, environ={})
    clock = SimClock()
    engine = Engine(cfg, clock=clock, control_socket=False)
    engine.boot()
    deltas: list[BookDelta] = []
    while len(deltas) < n + 500:
        clock.advance(50 * NANOS_PER_MILLI)
        events = engine.market.advance(clock.timestamp_ns())
        deltas.extend(e for e in events if isinstance(e, BookDelta) and e.symbol == "BTC-USD")
        for e in events:
            engine.bus.publish(e)
    # replay those deltas on a fresh book state: resync the BTC book to the stream start
    inst = engine.instruments["BTC-USD"]
    book_ns, feat_ns, risk_ns, wire_ns, e2e_ns, ack_ns = [], [], [], [], [], []
    on_wire: list[int] = []
    venue_submit = PaperVenue.submit

    def stamped_submit(order: SubmitOrder) -> None:
        on_wire.append(time.perf_counter_ns())  # the request leaves the engine here
        venue_submit(engine.venue, order)

    stamped = type("StampedVenue", (), {"submit": staticmethod(stamped_submit)})()
    engine.orders.venue = stamped
    symbol_book = engine.books.book("BTC-USD")
    # deltas were already applied above: feed them again as a fresh stream
    snap = engine.market.snapshot("BTC-USD")
    engine.bus.publish(snap)
    more: list[BookDelta] = []
    while len(more) < n:
        clock.advance(50 * NANOS_PER_MILLI)
        events = engine.market.advance(clock.timestamp_ns())
        more.extend(e for e in events if isinstance(e, BookDelta) and e.symbol == "BTC-USD")
        for e in events:
            if not (isinstance(e, BookDelta) and e.symbol == "BTC-USD"):
                engine.bus.publish(e)
    perf = time.perf_counter_ns
    publish = engine.bus.publish
    for i, delta in enumerate(more[:n]):
        t0 = perf()
        publish(delta)
        t1 = perf()
        imbalance = symbol_book.imbalance(5)
        mid = symbol_book.mid()
        spread = symbol_book.spread()
        t2 = perf()
        if mid is None or spread is None or not -1 <= imbalance <= 1:
            raise SystemExit("book has no two-sided quote")
        price = inst.price_from_float(mid * 0.99)  # rests far below: never fills
        qty = Decimal("0.0005")
        intent = SubmitOrder(0, 0, f"1-bench-{i}", "bench", "BTC-USD", Side.BUY, OrderType.LIMIT,
                             qty, price)
        reason = engine.pretrade.check(intent)
        t3 = perf()
        cid = engine.orders.submit("bench", "BTC-USD", Side.BUY, qty, price, post_only=True)
        t4 = perf()
        assert reason is None, reason
        wire = on_wire.pop()
        book_ns.append(t1 - t0)
        feat_ns.append(t2 - t1)
        risk_ns.append(t3 - t2)
        wire_ns.append(wire - t3)
        e2e_ns.append(wire - t0)
        ack_ns.append(t4 - wire)
        engine.orders.venue = engine.venue
        engine.orders.cancel(cid)
        engine.orders.venue = stamped  # type: ignore[assignment]
    assert engine.portfolio.fill_count == 0
    engine.shutdown()
    engine.orders.venue = engine.venue
    return {"book_update": stats(book_ns), "features": stats(feat_ns), "risk": stats(risk_ns),
            "journal_to_wire": stats(wire_ns), "end_to_end": stats(e2e_ns),
            "ack_processed": stats(ack_ns)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="traider-bench-") as disk:
        on_disk = measure(Path(disk), args.n)
    shm_root = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="traider-bench-", dir=shm_root) as ram:
        in_ram = measure(Path(ram), args.n)
    print(json.dumps({
        "bench": "hot_path", "python": platform.python_version(), "n": args.n,
        "journal_on_disk": on_disk, "baseline_journal_on_dev_shm": in_ram,
        "targets": {"end_to_end_p99_us": 1000, "book_update_p99_us": 50},
    }))


if __name__ == "__main__":
    main()
