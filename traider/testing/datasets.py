"""Synthetic datasets for model tests: a random walk run through the real bar features
(a model must stay near chance on it) and held-out accuracy."""

from __future__ import annotations

import numpy as np
import polars as pl

from traider.engine.features.bars import bar_features, make_dataset
from traider.engine.models.base import Dataset, Model


def random_walk(n: int = 6000, seed: int = 2) -> Dataset:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))
    spread = np.abs(0.005 * rng.standard_normal(n))
    bars = pl.DataFrame(
        {
            "ts": np.arange(n, dtype=np.int64) * 3_600_000_000_000,
            "open": close,
            "high": close * (1 + spread),
            "low": close * (1 - spread),
            "close": close,
            "volume": rng.uniform(1.0, 2.0, n),
        }
    )
    return make_dataset(bar_features(bars, ("1h",)))


def accuracy(model: Model, ds: Dataset) -> float:
    return float(((model.predict_batch(ds.X) > 0.5) == (ds.y == 1)).mean())
