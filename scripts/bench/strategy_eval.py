"""Honest evaluation of the order-flow strategy by replay, after fees, beside a do-nothing
and a random baseline on the same recording, at two fee tiers. One JSON line.

    .venv/bin/python scripts/bench/strategy_eval.py [--minutes 30] [--seed 7]

The recording is the built-in simulated market's feed (seeded); the replay fill model is
conservative (resting orders fill only when a recorded trade prints through them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from traider.cli_replay import record_simulated
from traider.replay import replay
from traider.testing.engine import make_config

TIERS = {"retail_40_60": ("40", "60"), "low_0_5": ("0", "5")}
STRATEGIES = {
    "do_nothing": {"strategy.enabled": "false"},
    "random": {"strategy.name": "random"},
    "orderflow": {"strategy.name": "orderflow"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out: dict[str, object] = {"bench": "strategy_eval", "minutes": args.minutes,
                              "seed": args.seed, "symbols": ["BTC-USD", "ETH-USD"]}
    with tempfile.TemporaryDirectory(prefix="traider-eval-") as tmp:
        path = Path(tmp) / "sim.parquet"
        record_simulated(path, ("BTC-USD", "ETH-USD"), args.minutes * 60, seed=args.seed)
        results: dict[str, dict[str, object]] = {}
        for tier, (maker, taker) in TIERS.items():
            for name, overrides in STRATEGIES.items():
                cfg = make_config(**overrides, **{"engine.maker_fee_bps": maker,
                                                  "engine.taker_fee_bps": taker})
                r = replay(path, cfg, home=Path(tmp) / f"{tier}-{name}")
                results[f"{tier}/{name}"] = {
                    "orders": r.orders, "fills": r.fills,
                    "pnl_usd": float(r.equity - 5000), "fees_usd": float(r.fees),
                    "realized_usd": float(r.realized_pnl),
                }
        out["results"] = results
    print(json.dumps(out))


if __name__ == "__main__":
    main()
