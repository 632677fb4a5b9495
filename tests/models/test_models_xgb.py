"""XGBoost and random-forest models: planted signal, random walk, save/load, one vector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from traider.engine.models.base import Dataset, Model, Prediction
from traider.testing.datasets import accuracy, random_walk

xgboost = pytest.importorskip("xgboost")

from traider.engine.models.forest import RandomForestModel  # noqa: E402
from traider.engine.models.xgb import XGBoostModel  # noqa: E402

FAST: dict[str, Any] = {"n_estimators": 60}


def planted(n: int = 3000, k: int = 5, seed: int = 1) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, k)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.int8)
    return Dataset(X, y, tuple(f"f{i}" for i in range(k)), np.arange(n, dtype=np.int64))


MODELS = [
    pytest.param(lambda: XGBoostModel(**FAST), id="xgboost"),
    pytest.param(lambda: RandomForestModel(**FAST), id="random_forest"),
]


@pytest.mark.parametrize("make", MODELS)
def test_learns_planted_signal(make: object, tmp_path: Path) -> None:
    model = make()  # type: ignore[operator]
    assert isinstance(model, Model)
    train, test = planted().split(2 / 3)
    art = model.fit(train)
    assert art.kind == model.name
    assert art.data_hash == train.hash()
    assert art.feature_names == train.feature_names
    assert art.n_train == len(train)
    assert accuracy(model, test) > 0.7

    pred = model.predict(test.X[0])
    assert isinstance(pred, Prediction)
    assert 0.0 <= pred.prob_up <= 1.0
    assert pred.confidence == pytest.approx(abs(2 * pred.prob_up - 1))
    assert pred.horizon == "1h"

    # the one-vector path (numpy trees) agrees with xgboost's inplace_predict
    batch = model.predict_batch(test.X[:200])
    single = np.array([model.predict(x).prob_up for x in test.X[:200]])
    np.testing.assert_allclose(single, batch, atol=1e-6)

    saved = model.save(tmp_path / "m.json")
    assert saved.path == str(tmp_path / "m.json")
    loaded = type(model).load(tmp_path / "m.json")
    np.testing.assert_array_equal(loaded.predict_batch(test.X), model.predict_batch(test.X))
    assert loaded.predict(test.X[3]) == model.predict(test.X[3])
    assert loaded.artifact().data_hash == art.data_hash


@pytest.mark.parametrize("make", MODELS)
def test_chance_on_random_walk(make: object) -> None:
    ds = random_walk()
    train, test = ds.split(0.6)
    assert len(test) >= 2000
    model = make()  # type: ignore[operator]
    model.fit(train)
    assert 0.4 <= accuracy(model, test) <= 0.6


def test_deterministic_fit() -> None:
    train, test = planted(n=1000).split(0.5)
    a, b = XGBoostModel(**FAST), XGBoostModel(**FAST)
    a.fit(train)
    b.fit(train)
    np.testing.assert_array_equal(a.predict_batch(test.X), b.predict_batch(test.X))


def test_bad_input_raises(tmp_path: Path) -> None:
    model = XGBoostModel(**FAST)
    with pytest.raises(RuntimeError):
        model.predict(np.zeros(5, dtype=np.float32))
    train, _ = planted(n=500).split(0.5)
    model.fit(train)
    with pytest.raises(ValueError):
        model.predict(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError):
        model.predict(np.array([np.nan, 0, 0, 0, 0], dtype=np.float32))
    model.save(tmp_path / "x.json")
    with pytest.raises(ValueError):
        RandomForestModel.load(tmp_path / "x.json")  # an xgboost artifact, not a forest
