"""Benchmark the models' inference: one-vector `predict` latency and batch throughput.

Data: the real Coinbase BTC-USD hourly bars (../shared/data) through
`features.bars.bar_features` (timeframes 1h and 4h: 18 features) and `make_dataset`; each
model is fitted on the first `--fit-rows` rows (synthetic bars if the file is missing).
Per model, in one process on the same vectors:

* `predict` on one float32 vector: p50/p99/p99.9 over `--n` calls after `--warmup`
  untimed calls, `time.perf_counter_ns` around each call (timer cost included), garbage
  collector off, vectors cycling over held-out rows (the LSTM's `predict` is streaming:
  each call appends the vector to its history, as in live use);
* `predict_batch` on `--batch` rows: best of 3 runs, in rows/s.

`sum_p50_us` / `sum_p99_us` add the models' numbers: a sequential ensemble's cost before
its own combining (the p99 sum is pessimistic); that is the baseline for `ensemble`, the
live path measured the same way: `ModelRunner.run` (every model's predict, the Hedge
combine, the `EnsembleUpdated` event handed to a no-op publish) on one vector.
`bar_features_*` is the per-bar feature build the live engine runs off the loop
(`bar_features` over 2,000 one-minute bars, timeframes 1m/5m/15m). Prints one JSON line.

    .venv/bin/python scripts/bench/inference.py
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from traider.engine.features.bars import bar_features, make_dataset
from traider.engine.models.base import Dataset, Model
from traider.engine.models.forest import RandomForestModel
from traider.engine.models.lstm import LSTMModel
from traider.engine.models.rules import MeanReversionModel, MomentumModel
from traider.engine.models.xgb import XGBoostModel

DATA = Path(__file__).resolve().parents[3] / "shared/data/ohlcv/coinbase_btcusd_1h.csv"


def _bars(seed: int) -> tuple[pl.DataFrame, str]:
    if DATA.exists():
        return pl.read_csv(DATA, try_parse_dates=True).rename({"volume_base": "volume"}), DATA.stem
    rng = np.random.default_rng(seed)
    n = 20_000
    close = 10_000.0 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))
    df = pl.DataFrame(
        {
            "ts": np.arange(n, dtype=np.int64) * 3_600_000_000_000,
            "open": close,
            "high": close * 1.002,
            "low": close * 0.998,
            "close": close,
            "volume": rng.uniform(1.0, 5.0, n),
        }
    )
    return df, "synthetic"


def _latency(model: Model, rows: np.ndarray, n: int, warmup: int) -> dict[str, float]:
    predict = model.predict
    m = rows.shape[0]
    for i in range(warmup):
        predict(rows[i % m])
    out = np.empty(n, dtype=np.int64)
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for i in range(n):
            x = rows[i % m]
            t0 = clock()
            predict(x)
            out[i] = clock() - t0
    finally:
        gc.enable()
    us = out / 1_000.0
    return {
        "p50_us": round(float(np.percentile(us, 50)), 1),
        "p99_us": round(float(np.percentile(us, 99)), 1),
        "p999_us": round(float(np.percentile(us, 99.9)), 1),
    }


def _ensemble_latency(
    models: list[Model], rows: np.ndarray, n: int, warmup: int
) -> dict[str, float]:
    from traider.engine.core.clock import LiveClock
    from traider.engine.models.ensemble import HedgeEnsemble
    from traider.engine.models.runner import ModelRunner

    ensemble = HedgeEnsemble([m.name for m in models])
    runner = ModelRunner(models, ensemble, LiveClock(), lambda event: None)

    class _Runner:  # `_latency` times `.predict(x)`
        name = "ensemble"

        @staticmethod
        def predict(x: np.ndarray) -> Any:
            return runner.run("BTC-USD", x)

    return _latency(_Runner(), rows, n, warmup)  # type: ignore[arg-type]


def _feature_build_ms(repeats: int = 30) -> dict[str, float]:
    from traider.sim.bars import simulated_bars

    frame = simulated_bars(["BTC-USD"], 2_000)["BTC-USD"]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        bar_features(frame, ("1m", "5m", "15m"), base="1m")
        times.append((time.perf_counter() - t0) * 1e3)
    return {
        "bar_features_p50_ms": round(float(np.percentile(times, 50)), 2),
        "bar_features_max_ms": round(float(max(times)), 2),
    }


def _throughput(model: Model, X: np.ndarray) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        model.predict_batch(X)
        best = min(best, time.perf_counter() - t0)
    return float(X.shape[0] / best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=5_000, help="timed predict calls per model")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10_000, help="rows for predict_batch")
    parser.add_argument("--fit-rows", type=int, default=8_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    bars, source = _bars(args.seed)
    ds: Dataset = make_dataset(bar_features(bars, ("1h", "4h")))
    train = ds.slice(None, args.fit_rows)
    held = ds.X[args.fit_rows :]
    if held.shape[0] == 0:
        held = ds.X
    batch = np.ascontiguousarray(np.resize(held, (args.batch, ds.n_features)))
    models: list[Model] = [
        XGBoostModel(),
        RandomForestModel(),
        LSTMModel(),
        MomentumModel(),
        MeanReversionModel(),
    ]
    results: dict[str, Any] = {
        "bench": "inference",
        "data": source,
        "n_features": ds.n_features,
        "n_train": len(train),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "models": {},
    }
    for model in models:
        t0 = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - t0
        lat = _latency(model, held, args.n, args.warmup)
        results["models"][model.name] = {
            **lat,
            "batch_rows_per_s": round(_throughput(model, batch)),
            "fit_s": round(fit_s, 2),
        }
    per = results["models"].values()
    results["sum_p50_us"] = round(sum(m["p50_us"] for m in per), 1)
    results["sum_p99_us"] = round(sum(m["p99_us"] for m in per), 1)
    results["ensemble"] = _ensemble_latency(models, held, args.n, args.warmup)
    results.update(_feature_build_ms())
    import torch
    import xgboost

    results["torch"] = torch.__version__
    results["torch_threads"] = torch.get_num_threads()
    results["xgboost"] = xgboost.__version__
    print(json.dumps(results, separators=(",", ":")))


if __name__ == "__main__":
    main()
