"""Benchmark VaR / ES (traider.engine.risk.var) and check it against riskfolio-lib and
quantstats on the same portfolio.

Data: N assets × T daily returns, synthetic and seeded: Student-t(4) shocks through a
random factor loading (correlated), a slowly varying volatility per asset (clustering), a
small drift. Exposures: seeded, mixed long/short, in USD.

Measured (p50 of repeated calls; `time.perf_counter_ns`; GC disabled while timing):

* each method alone (`VarEngine.method`), and one refresh of all methods
  (`VarEngine.all_methods`): cold (first call, draws the Monte Carlo samples) and warm.
* Monte Carlo: the 1-D projection (the default) vs full scenarios, paths × N, float32,
  64k-row chunks.
* full scenarios 1M × 200 in chunks: time and peak memory (tracemalloc peak of traced
  allocations, numpy included, and the process's max RSS).
* baselines in the same run: riskfolio `VaR_Hist` / `CVaR_Hist` on the portfolio P&L
  (same ⌈αT⌉-th-worst definition as our historical VaR: must agree to 1e-9), quantstats
  `value_at_risk` / `var` (parametric normal with mean and sample std: must agree with our
  parametric VaR to 1e-9). A baseline that fails to import is skipped with a note.

Goals: all methods for 50 assets < 5 ms per refresh; full MC 100k × 50 < 70 ms; 1M × 200
without gigabytes. Prints one JSON line.

    .venv/bin/python scripts/bench/var.py
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from traider.engine.risk import var as V


def make_returns(t: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.0, 0.5, (n, 3))
    shocks = rng.standard_t(4, (t, 3)) @ loadings.T + rng.standard_t(4, (t, n))
    vol = 0.015 * np.exp(np.cumsum(rng.normal(0.0, 0.04, (t, n)), axis=0) * 0.5)
    returns = np.clip(shocks / np.sqrt(2.0) * vol + 0.0002, -0.9, None)
    exposures = rng.normal(0.0, 10_000.0, n)
    return returns, exposures


def p50_us(fn: Callable[[], object], repeat: int) -> float:
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            fn()
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return float(np.median(times)) / 1e3


def once_us(fn: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1e3


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def baselines(returns: np.ndarray, w: np.ndarray, confidences: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pnl = returns @ w
    gross = float(np.abs(w).sum())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import riskfolio.src.RiskFunctions as rf
    except Exception as exc:  # pragma: no cover - optional baseline
        out["riskfolio"] = {"skipped": f"import failed: {exc!r}"}
    else:
        rows = []
        for c in confidences:
            ours = V.historical(w, returns, c)
            theirs_var = float(rf.VaR_Hist(pnl, alpha=1 - c))
            theirs_es = float(rf.CVaR_Hist(pnl, alpha=1 - c))
            rows.append(
                {
                    "confidence": c,
                    "ours_var": ours.var,
                    "ours_es": ours.es,
                    "riskfolio_var_hist": theirs_var,
                    "riskfolio_cvar_hist": theirs_es,
                    "agree": close(ours.var, theirs_var) and close(ours.es, theirs_es),
                }
            )
        out["riskfolio"] = {
            "compare": rows,
            "var_hist_us": p50_us(lambda: rf.VaR_Hist(pnl, alpha=0.01), 200),
            "cvar_hist_us": p50_us(lambda: rf.CVaR_Hist(pnl, alpha=0.01), 200),
        }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandas as pd
            import quantstats as qs
    except Exception as exc:  # pragma: no cover - optional baseline
        out["quantstats"] = {"skipped": f"import failed: {exc!r}"}
    else:
        index = pd.date_range("2020-01-01", periods=len(pnl), freq="D")
        series = pd.Series(pnl / gross, index=index)  # portfolio return on gross
        rows = []
        for c in confidences:
            ours = V.parametric(w, returns, c)
            q_var = -float(qs.stats.value_at_risk(series, confidence=c)) * gross
            q_var2 = -float(qs.stats.var(series, confidence=c)) * gross
            rows.append(
                {
                    "confidence": c,
                    "ours_parametric_var": ours.var,
                    "quantstats_value_at_risk": q_var,
                    "quantstats_var": q_var2,
                    "agree": close(ours.var, q_var, 1e-9) and close(ours.var, q_var2, 1e-9),
                }
            )
        out["quantstats"] = {
            "compare": rows,
            "value_at_risk_us": p50_us(lambda: qs.stats.value_at_risk(series, confidence=0.99), 50),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=50)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--confidence", type=float, default=0.99)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--big-paths", type=int, default=1_000_000)
    ap.add_argument("--big-assets", type=int, default=200)
    args = ap.parse_args()
    c = args.confidence
    returns, w = make_returns(args.days, args.assets, args.seed)

    engine = V.VarEngine()
    cold_all = once_us(lambda: engine.all_methods(w, returns, c))
    warm_all = p50_us(lambda: engine.all_methods(w, returns, c), args.repeat)
    per_method = {
        name: p50_us(lambda name=name: engine.method(name, w, returns, c), args.repeat)
        for name in V.METHODS
    }
    results = engine.all_methods(w, returns, c)

    cold_engine = V.VarEngine()
    projection_cold = once_us(lambda: cold_engine.monte_carlo(w, returns, c))
    projection_warm = p50_us(lambda: cold_engine.monte_carlo(w, returns, c), args.repeat)
    full = V.VarEngine()
    full.monte_carlo_full(w, returns, c)  # allocate buffers
    full_us = p50_us(lambda: full.monte_carlo_full(w, returns, c), 15)
    full_t_us = p50_us(lambda: full.monte_carlo_full(w, returns, c, dist="t"), 15)
    full_res = full.monte_carlo_full(w, returns, c)
    proj_res = cold_engine.monte_carlo(w, returns, c)

    big_returns, big_w = make_returns(args.days, args.big_assets, args.seed + 1)
    big = V.VarEngine(paths=args.big_paths)
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    big_res = big.monte_carlo_full(big_w, big_returns, c)
    big_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    naive_bytes = args.big_paths * args.big_assets * 8  # one float64 paths × N matrix
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    report = {
        "bench": "var",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "assets": args.assets,
        "days": args.days,
        "confidence": c,
        "per_method_p50_us": {k: round(v, 1) for k, v in per_method.items()},
        "all_methods": {
            "cold_us": round(cold_all, 1),
            "warm_p50_us": round(warm_all, 1),
            "goal_ms": 5.0,
            "ok": warm_all < 5000.0,
        },
        "values": {r.method: {"var": round(r.var, 2), "es": round(r.es, 2)} for r in results},
        "monte_carlo": {
            "paths": engine.paths,
            "projection_cold_us": round(projection_cold, 1),
            "projection_warm_p50_us": round(projection_warm, 1),
            "full_normal_p50_ms": round(full_us / 1e3, 2),
            "full_t_p50_ms": round(full_t_us / 1e3, 2),
            "goal_full_ms": 70.0,
            "ok": full_us < 70_000.0,
            "projection_var": round(proj_res.var, 2),
            "full_var": round(full_res.var, 2),
            "rel_diff": round(abs(full_res.var / proj_res.var - 1.0), 5),
        },
        "full_big": {
            "paths": args.big_paths,
            "assets": args.big_assets,
            "chunk_rows": big.chunk_rows,
            "seconds": round(big_s, 3),
            "tracemalloc_peak_mb": round(peak / 2**20, 1),
            "naive_matrix_mb": round(naive_bytes / 2**20, 1),
            "process_maxrss_mb": round(maxrss_mb, 1),
            "var": round(big_res.var, 2),
            "ok": peak < 2**30,
        },
        "baselines": baselines(returns, w, [0.95, 0.99]),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
