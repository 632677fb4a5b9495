"""Benchmark the microstructure features on the synthetic stream of scripts/bench/book.py.

Same generator and seed as the book benchmark (`make_stream`, imported from it), with
synthetic event times 1 ms apart (so the 1 s OFI / trade window holds ~1000 events and
expires about one event per update). Measured in the same run, on the same stream:

* baseline: `L2Book.apply_delta` alone;
* full: `apply_delta` + `MicrostructureFeatures.on_book` + `vector()` (every feature,
  10 MLOFI levels, three impact sizes, microprice refit every 1000 updates);
* on_book only: `apply_delta` + `on_book` (vector() not called: what a consumer that reads
  the features less often than every update pays).

p50/p99/p99.9 per update from `time.perf_counter_ns` around each update (timer cost
included), after an untimed warm-up pass; the garbage collector is disabled during timed
loops. Prints one JSON line.

    .venv/bin/python scripts/bench/features.py --n 200000
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from book import SYMBOL, TICK, make_stream

from traider.engine.core.events import BookDelta, BookSnapshot
from traider.engine.features import MicrostructureFeatures
from traider.engine.marketdata.book import L2Book

STEP_NS = 1_000_000  # synthetic time between events


def _run(snap: BookSnapshot, deltas: Sequence[BookDelta], mode: str) -> list[int]:
    book = L2Book(SYMBOL)
    book.apply_snapshot(snap)
    feats = MicrostructureFeatures(SYMBOL, tick_size=TICK)
    feats.on_book(book, 0)
    apply, on_book, vector = book.apply_delta, feats.on_book, feats.vector
    clock = time.perf_counter_ns
    out = [0] * len(deltas)
    gc.collect()
    gc.disable()
    try:
        if mode == "baseline":
            for i, d in enumerate(deltas):
                t0 = clock()
                apply(d)
                out[i] = clock() - t0
        elif mode == "on_book":
            for i, d in enumerate(deltas):
                ts = (i + 1) * STEP_NS
                t0 = clock()
                apply(d)
                on_book(book, ts)
                out[i] = clock() - t0
        else:
            for i, d in enumerate(deltas):
                ts = (i + 1) * STEP_NS
                t0 = clock()
                apply(d)
                on_book(book, ts)
                vector()
                out[i] = clock() - t0
    finally:
        gc.enable()
    return out


def _stats(ns: list[int]) -> dict[str, float]:
    arr = np.asarray(ns, dtype=np.int64)
    p50, p99, p999 = np.percentile(arr, [50, 99, 99.9])
    return {
        "p50_ns": float(p50),
        "p99_ns": float(p99),
        "p999_ns": float(p999),
        "mean_ns": round(float(arr.mean()), 1),
        "max_ns": float(arr.max()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=200_000, help="deltas in the stream")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--levels", type=int, default=200, help="snapshot levels per side")
    args = parser.parse_args(argv)

    snap, deltas = make_stream(args.n, args.seed, args.levels)
    _run(snap, deltas[: min(args.n, 20_000)], "full")  # warm-up
    results: dict[str, object] = {
        "bench": "features",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "n": args.n,
        "seed": args.seed,
        "snapshot_levels_per_side": args.levels,
        "step_ns": STEP_NS,
        "full": "apply + on_book + vector()",
        "baseline_apply": _stats(_run(snap, deltas, "baseline")),
        "apply_on_book": _stats(_run(snap, deltas, "on_book")),
        "apply_on_book_vector": _stats(_run(snap, deltas, "full")),
    }
    # the final vector, as a sanity check that the stream exercised the features
    book = L2Book(SYMBOL)
    book.apply_snapshot(snap)
    feats = MicrostructureFeatures(SYMBOL, tick_size=TICK)
    for i, d in enumerate(deltas):
        book.apply_delta(d)
        feats.on_book(book, (i + 1) * STEP_NS)
    v = feats.vector()
    results["final"] = {
        "ofi_window": round(v.ofi_window, 6),
        "microprice_fitted": v.microprice_fitted,
        "microprice_dev_bps": round(v.microprice_dev_bps, 6),
        "impact_bps": [round(x, 4) for x in v.impact_bps],
        "realized_vol": v.realized_vol,
    }
    full = results["apply_on_book_vector"]
    assert isinstance(full, dict)
    results["goal_p99_ns"] = 10_000
    results["goal_met"] = full["p99_ns"] < 10_000
    print(json.dumps(results, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
