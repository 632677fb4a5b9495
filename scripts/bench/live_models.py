"""Benchmark: what the live models cost the engine's event loop.

Two phases on the real paper engine (LiveClock, simulated market, strategy on), each
`--seconds` long, in one process: first without models (the baseline), then with an
XGBoost and a mean-reversion model live in the registry. To see many model cycles in a
short run the live bar is `--bar-s` seconds (default 5; production uses 60), and the
models are trained by the normal pipeline on simulated bars of that length (timeframes
bar, 5×bar, 15×bar). Each phase reports event-loop lag (a 10 ms sleeper's overshoot:
p50/p99/max), the engine's slow-handler alerts, and for the models phase the number of
`EnsembleUpdated` events and the on-loop time of each prediction cycle (the features are
built on a worker thread and not counted here; their cost is in `inference.py`).
Prints ONE JSON line.

    .venv/bin/python scripts/bench/live_models.py [--seconds 60] [--bar-s 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PROBE_S = 0.010


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _train(home: Path, bar_s: int) -> None:
    from traider.engine.models.registry import ModelRegistry
    from traider.engine.models.training import TrainSpec, register_candidate, train_model
    from traider.engine.state.sqlite_store import SQLiteStore
    from traider.sim.bars import simulated_bars

    bars = simulated_bars(["BTC-USD"], 4000, every_s=bar_s, seed=3)["BTC-USD"]
    tfs = (f"{bar_s}s", f"{5 * bar_s}s", f"{15 * bar_s}s")
    store = SQLiteStore(home / "traider.db")
    registry = ModelRegistry(store)
    for model in ("xgboost", "mean_reversion"):
        result = train_model(TrainSpec(model, tfs), bars, home, "1", threads=1)
        rec = register_candidate(registry, result, "bench")
        registry.approve(rec.model_id, by="bench-operator")
        registry.promote(rec.model_id, by="bench-operator")
    store.close()


async def _phase(seconds: float, bar_s: int) -> dict[str, Any]:
    from traider.config import load_config
    from traider.engine.core.events import Alert, EnsembleUpdated
    from traider.engine.engine import Engine

    cfg = load_config(
        None, {"models.bar_seconds": str(bar_s), "monitoring.http_port": "0"}, environ={}
    )
    engine = Engine(cfg, control_socket=False)
    updates: list[EnsembleUpdated] = []
    slow: list[str] = []
    engine.bus.subscribe(EnsembleUpdated, updates.append)
    engine.bus.subscribe(Alert, lambda a: slow.append(a.message) if "slow" in a.message else None)
    cycle_ms: list[float] = []
    lm = engine.live_models
    predict = lm._predict

    def timed(*args: Any) -> None:
        t0 = time.perf_counter()
        predict(*args)
        cycle_ms.append((time.perf_counter() - t0) * 1e3)

    lm._predict = timed  # type: ignore[method-assign]
    await engine.start()
    lags: list[float] = []
    end = time.monotonic() + seconds
    cpu0, wall0 = time.process_time(), time.monotonic()
    while time.monotonic() < end:
        t0 = time.monotonic()
        await asyncio.sleep(PROBE_S)
        lags.append((time.monotonic() - t0 - PROBE_S) * 1e3)
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    live = [m.model_id for m in engine.models().models if m.state == "live"]
    await engine.stop()
    return {
        "live_models": live,
        "cpu_share": round(cpu, 3),
        "lag_p50_ms": round(percentile(lags, 0.5), 2),
        "lag_p99_ms": round(percentile(lags, 0.99), 2),
        "lag_max_ms": round(max(lags), 2),
        "slow_handler_alerts": len(slow),
        "ensemble_updates": len(updates),
        "cycle_on_loop_p50_ms": round(percentile(cycle_ms, 0.5), 3) if cycle_ms else None,
        "cycle_on_loop_max_ms": round(max(cycle_ms), 3) if cycle_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--bar-s", type=int, default=5)
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "live_models", "seconds": args.seconds,
                           "bar_s": args.bar_s, "python": platform.python_version()}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        base_home, model_home = Path(tmp, "baseline"), Path(tmp, "models")
        base_home.mkdir()
        model_home.mkdir()
        os.environ["TRAIDER_HOME"] = str(base_home)
        out["baseline"] = asyncio.run(_phase(args.seconds, args.bar_s))
        t0 = time.perf_counter()
        _train(model_home, args.bar_s)
        out["train_s"] = round(time.perf_counter() - t0, 1)
        os.environ["TRAIDER_HOME"] = str(model_home)
        out["with_models"] = asyncio.run(_phase(args.seconds, args.bar_s))
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
