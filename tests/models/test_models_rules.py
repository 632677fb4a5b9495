"""Momentum and mean-reversion rule models: planted signal, random walk, save/load."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from traider.engine.models.base import Dataset, Model, Prediction
from traider.engine.models.rules import MeanReversionModel, MomentumModel
from traider.testing.datasets import accuracy, random_walk


def planted(sign: float, n: int = 3000, k: int = 3, seed: int = 1) -> Dataset:
    """y follows sign * feature 0 plus noise; feature 0 has a non-zero mean."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, k)).astype(np.float32)
    X[:, 0] += 0.3
    y = (sign * (X[:, 0] - 0.3) + 0.5 * rng.standard_normal(n) > 0).astype(np.int8)
    return Dataset(X, y, tuple(f"f{i}" for i in range(k)), np.arange(n, dtype=np.int64))


def test_momentum_learns_planted_signal(tmp_path: Path) -> None:
    # momentum reads the raw sign of its column: plant y on the sign of f1 (mean 0)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3000, 2)).astype(np.float32)
    y = (X[:, 1] + 0.5 * rng.standard_normal(3000) > 0).astype(np.int8)
    train, test = Dataset(X, y, ("f0", "f1"), np.arange(3000)).split(2 / 3)
    model = MomentumModel(feature="f1")
    assert isinstance(model, Model)
    art = model.fit(train)
    assert art.params["feature"] == "f1"
    assert art.params["strength"] > 1.0
    assert accuracy(model, test) > 0.7
    _check_save_load_predict(model, test, tmp_path)


def test_mean_reversion_learns_planted_signal(tmp_path: Path) -> None:
    train, test = planted(sign=-1.0).split(2 / 3)
    model = MeanReversionModel(feature="f0")
    art = model.fit(train)
    assert art.params["mu"] == pytest.approx(0.3, abs=0.1)
    assert accuracy(model, test) > 0.7
    # opposite to the deviation: far above the mean -> down
    above = np.array([3.0, 0.0, 0.0], dtype=np.float32)
    assert model.predict(above).prob_up < 0.1
    _check_save_load_predict(model, test, tmp_path)


def test_no_signal_the_wrong_way() -> None:
    """A momentum model never goes contrarian: strength 0 (prob 0.5) on a reverting
    column, and mean reversion gets strength 0 on a trending one."""
    train, _ = planted(sign=-1.0).split(0.5)
    mom = MomentumModel(feature="f0")
    mom.fit(train)
    assert mom.strength == 0.0
    assert mom.predict(train.X[0]) == Prediction(0.5, 0.0, "1h")
    train, _ = planted(sign=1.0).split(0.5)
    mr = MeanReversionModel(feature="f0")
    mr.fit(train)
    assert mr.strength == 0.0


@pytest.mark.parametrize("cls", [MomentumModel, MeanReversionModel])
def test_chance_on_random_walk(cls: type[MomentumModel]) -> None:
    train, test = random_walk().split(0.6)
    assert len(test) >= 2000
    model = cls()  # default columns: ret_1_1h / dist_ma20_bps_1h
    art = model.fit(train)
    assert art.params["feature"] in ("ret_1_1h", "dist_ma20_bps_1h")
    assert 0.4 <= accuracy(model, test) <= 0.6
    assert art.params["strength"] <= 1.0  # weak at most


def test_missing_column_raises() -> None:
    train, _ = planted(sign=1.0).split(0.5)
    with pytest.raises(ValueError, match="no feature named"):
        MomentumModel().fit(train)
    with pytest.raises(ValueError, match="not in the dataset"):
        MeanReversionModel(feature="zz").fit(train)
    with pytest.raises(RuntimeError):
        MomentumModel().predict(np.zeros(3, dtype=np.float32))


def _check_save_load_predict(
    model: MomentumModel | MeanReversionModel, test: Dataset, tmp_path: Path
) -> None:
    pred = model.predict(test.X[0])
    assert isinstance(pred, Prediction)
    assert 0.0 <= pred.prob_up <= 1.0
    assert pred.confidence == pytest.approx(abs(2 * pred.prob_up - 1))
    batch = model.predict_batch(test.X[:100])
    single = [model.predict(x).prob_up for x in test.X[:100]]
    np.testing.assert_allclose(single, batch, rtol=1e-12, atol=1e-12)
    model.save(tmp_path / "rule.json")
    loaded = type(model).load(tmp_path / "rule.json")
    np.testing.assert_array_equal(loaded.predict_batch(test.X), model.predict_batch(test.X))
    assert loaded.predict(test.X[1]) == model.predict(test.X[1])
    assert math.isfinite(loaded.artifact().params["train_log_likelihood"])
