"""LSTM model: planted (lagged) signal, random walk, determinism, save/load, streaming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from traider.engine.models.base import Dataset, Model, Prediction
from traider.testing.datasets import accuracy, random_walk

torch = pytest.importorskip("torch")

from traider.engine.models.lstm import LSTMModel  # noqa: E402

FAST: dict[str, Any] = {
    "seq_len": 4,
    "hidden": 16,
    "epochs": 8,
    "patience": 2,
    "batch_size": 64,
    "lr": 1e-2,
}


def planted(n: int = 3000, k: int = 4, seed: int = 1) -> Dataset:
    """y at row t follows the sign of feature 0 one row EARLIER: only history tells."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, k)).astype(np.float32)
    lagged = np.concatenate([[0.0], X[:-1, 0]])
    y = (lagged + 0.5 * rng.standard_normal(n) > 0).astype(np.int8)
    return Dataset(X, y, tuple(f"f{i}" for i in range(k)), np.arange(n, dtype=np.int64))


@pytest.fixture(scope="module")
def fitted() -> tuple[LSTMModel, Dataset, Dataset]:
    train, test = planted().split(2 / 3)
    model = LSTMModel(**FAST, device="cpu")
    model.fit(train)
    return model, train, test


def test_learns_planted_lagged_signal(fitted: tuple[LSTMModel, Dataset, Dataset]) -> None:
    model, train, test = fitted
    assert isinstance(model, Model)
    art = model.artifact()
    assert art.kind == "lstm"
    assert art.data_hash == train.hash()
    assert art.n_train == len(train)
    assert accuracy(model, test) > 0.7


def test_save_load_identical(fitted: tuple[LSTMModel, Dataset, Dataset], tmp_path: Path) -> None:
    model, _, test = fitted
    model.save(tmp_path / "lstm.json")
    loaded = LSTMModel.load(tmp_path / "lstm.json")
    np.testing.assert_array_equal(loaded.predict_batch(test.X), model.predict_batch(test.X))
    window = test.X[10:14]
    assert loaded.predict(window) == model.predict(window)


def test_streaming_predict_matches_batch(fitted: tuple[LSTMModel, Dataset, Dataset]) -> None:
    model, _, test = fitted
    batch = model.predict_batch(test.X[:20])
    model.reset()
    stream = []
    for x in test.X[:20]:
        pred = model.predict(x)
        assert isinstance(pred, Prediction)
        assert 0.0 <= pred.prob_up <= 1.0
        assert pred.confidence == pytest.approx(abs(2 * pred.prob_up - 1))
        stream.append(pred.prob_up)
    model.reset()
    np.testing.assert_allclose(stream, batch, atol=1e-6)
    # an explicit window leaves the streaming history alone
    model.predict(test.X[0])
    model.predict(test.X[5:9])
    assert model.predict(test.X[1]).prob_up == pytest.approx(batch[1], abs=1e-6)
    model.reset()
    with pytest.raises(ValueError):
        model.predict(test.X[:3])


def test_deterministic_and_rng_untouched() -> None:
    train, test = planted(n=800).split(0.75)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = LSTMModel(**{**FAST, "epochs": 2}, device="cpu")
    a.fit(train)
    assert torch.rand(1) == before  # fit forks the global RNG
    b = LSTMModel(**{**FAST, "epochs": 2}, device="cpu")
    b.fit(train)
    np.testing.assert_array_equal(a.predict_batch(test.X), b.predict_batch(test.X))
    assert a.artifact().model == b.artifact().model


def test_chance_on_random_walk() -> None:
    train, test = random_walk().split(0.6)
    assert len(test) >= 2000
    model = LSTMModel(**FAST, device="cpu")
    model.fit(train)
    assert 0.4 <= accuracy(model, test) <= 0.6
