"""Replay throughput: the whole paper engine (books, strategy, risk, paper venue, journal)
driven by a recording as fast as it can go, on the simulated clock.

1. A recording of `--n` L2 deltas for BTC-USD is generated from the built-in simulated
   market (its own process, not timed); the real Bitstamp capture (30 min, 118k deltas)
   is converted too when /work/shared is present.
2. Each replay runs in a fresh process: events/s over the replay loop only (reading the
   Parquet file included, engine boot excluded), and that process's peak RSS
   (`resource.getrusage(RUSAGE_SELF).ru_maxrss`).

Anchor (the issue): nautilus_trader replayed ~67k events/s with a do-nothing strategy;
the goal is >= 150k events/s end to end in < 300 MB.

    .venv/bin/python scripts/bench/replay.py [--n 1000000] [--repeat 3]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BOOK = ROOT.parent / "shared" / "data" / "book"
ORDERS = BOOK / "bitstamp_btcusd_2026-05-02_orders.csv.gz"
TRADES = BOOK / "bitstamp_btcusd_2026-05-02_trades.csv"


def _maxrss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_generate(path: Path, n: int) -> dict[str, object]:
    from traider.cli_replay import record_simulated

    started = time.perf_counter()
    summary = record_simulated(path, ("BTC-USD",), 1e9, max_deltas=n)
    summary["generate_s"] = round(time.perf_counter() - started, 2)
    return summary


def child_bitstamp(path: Path) -> dict[str, object]:
    from traider.engine.marketdata.bitstamp import convert_bitstamp

    started = time.perf_counter()
    stats = convert_bitstamp(ORDERS, TRADES, path)
    return {"deltas": stats.deltas, "convert_s": round(time.perf_counter() - started, 2)}


def child_replay(path: Path, strategy: bool) -> dict[str, object]:
    from traider.replay import replay
    from traider.testing.engine import make_config

    cfg = make_config(**{"strategy.enabled": str(strategy).lower()})
    result = replay(path, cfg)
    return {
        "events": result.events,
        "seconds": result.seconds,
        "events_per_s": round(result.events_per_s),
        "sim_seconds": result.sim_seconds,
        "orders": result.orders,
        "fills": result.fills,
        "books_stale": result.books_stale,
        "journal_ok": result.journal_ok,
        "peak_rss_mb": _maxrss_mb(),
    }


def _best_of(repeat: int, *args: str) -> dict[str, object]:
    """The fastest of `repeat` runs (each a fresh process): shared machines are noisy."""
    runs = [_run_child(*args) for _ in range(max(1, repeat))]
    best = max(runs, key=lambda r: float(r["events_per_s"]))  # type: ignore[arg-type]
    best["runs_events_per_s"] = [r["events_per_s"] for r in runs]
    best["peak_rss_mb"] = max(float(r["peak_rss_mb"]) for r in runs)  # type: ignore[arg-type]
    return best


def _run_child(*args: str) -> dict[str, object]:
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000, help="L2 deltas to replay")
    parser.add_argument("--no-bitstamp", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per case")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            res = child_generate(Path(rest[0]), int(rest[1]))
        elif kind == "bitstamp":
            res = child_bitstamp(Path(rest[0]))
        else:
            res = child_replay(Path(rest[0]), rest[1] == "on")
        print(json.dumps(res))
        return

    with tempfile.TemporaryDirectory(prefix="traider-bench-replay-") as tmp:
        os.environ["TRAIDER_HOME"] = str(Path(tmp) / "home")
        sim = Path(tmp) / "sim.parquet"
        gen = _run_child("generate", str(sim), str(args.n))
        out: dict[str, object] = {
            "bench": "replay",
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu": platform.processor() or platform.machine(),
            "anchor": {
                "nautilus_trader_events_per_s": 67_000,
                "goal_events_per_s": 150_000,
                "goal_peak_rss_mb": 300,
            },
            "synthetic": {
                "recording": {k: gen[k] for k in ("events", "deltas", "sim_seconds", "bytes")},
                "strategy_on": _best_of(args.repeat, "replay", str(sim), "on"),
                "strategy_off": _best_of(args.repeat, "replay", str(sim), "off"),
            },
        }
        if ORDERS.is_file() and TRADES.is_file() and not args.no_bitstamp:
            real = Path(tmp) / "bitstamp.parquet"
            conv = _run_child("bitstamp", str(real))
            out["bitstamp"] = {
                "convert": conv,
                "strategy_on": _best_of(args.repeat, "replay", str(real), "on"),
            }
        print(json.dumps(out))


if __name__ == "__main__":
    main()
