"""The training pipeline: simulated bars → walk-forward metrics → fit → artifact, profile,
report and progress; the spec/result dicts that cross process boundaries."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from traider.engine.models.base import read_artifact
from traider.engine.models.tracking import TrainingProfile
from traider.engine.models.training import (
    TrainResult,
    TrainSpec,
    make_model,
    train_model,
)
from traider.sim.bars import simulated_bars
from traider.testing.datasets import random_walk

SIM_TIMEFRAMES = ("1m", "5m", "15m")
STAGES = ("features", "evaluate", "fit", "save", "done")


@pytest.fixture(scope="module")
def sim_bars() -> pl.DataFrame:
    return simulated_bars(["BTC-USD"], 1500, seed=3)["BTC-USD"]


def _check_progress(events: list[tuple[str, float, str]], folds: int) -> None:
    stages = [stage for stage, _, _ in events]
    order = [STAGES.index(s) for s in stages]
    assert order == sorted(order), stages
    assert set(stages) == set(STAGES)
    assert stages.count("evaluate") == folds  # one per fold
    fractions = [f for _, f, _ in events]
    assert all(b >= a for a, b in itertools.pairwise(fractions)), fractions
    assert fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert all(msg and "\n" not in msg for _, _, msg in events)


@pytest.mark.parametrize("model", ["momentum", "xgboost"])
def test_train_model_on_simulated_bars(model: str, sim_bars: pl.DataFrame, tmp_path: Path) -> None:
    events: list[tuple[str, float, str]] = []
    spec = TrainSpec(model, SIM_TIMEFRAMES, splits=3)
    result = train_model(
        spec, sim_bars, tmp_path, "7", lambda *e: events.append(e), source="test", threads=1
    )
    assert result.model == model
    assert result.params["features"] == {"timeframes": list(SIM_TIMEFRAMES), "base": "1m",
                                         "horizon_bars": 1}  # fmt: skip
    m = result.metrics
    assert 0.0 <= m["oos_accuracy"] <= 1.0
    lo, hi = m["oos_accuracy_ci"]
    assert lo <= m["oos_accuracy"] <= hi
    # a random walk with GARCH volatility: nothing to predict, so near chance
    assert 0.40 < m["oos_accuracy"] < 0.60
    assert m["rows"] > m["oos_rows"] > 0
    assert m["folds"] == 3
    assert 0.0 <= m["in_sample_accuracy"] <= 1.0
    assert m["trained_at_ns"] > 0
    profile = TrainingProfile.from_dict(m["profile"])
    assert profile.training_accuracy == m["oos_accuracy"]
    assert len(profile.features) == 27  # 9 features x 3 timeframes
    json.dumps(m)  # the registry stores it as JSON
    # the artifact loads and predicts without refitting
    path = Path(result.artifact_path)
    assert path == tmp_path / "models" / f"{model}-7.json"
    artifact = read_artifact(path, model)
    assert artifact.data_hash == result.data_hash
    assert artifact.horizon == "1m"
    loaded = type(make_model(model)).load(path)
    prob = loaded.predict_batch(np.zeros((3, 27), dtype=np.float32))
    assert prob.shape == (3,)
    # the report, its numbers and its chart
    report = Path(m["report"])
    assert report == tmp_path / "reports" / f"train-{model}-7.md"
    assert "leakage" in report.read_text()
    doc = json.loads(report.with_suffix(".json").read_text())
    assert doc["models"][model]["summary"]["accuracy"] == m["oos_accuracy"]
    assert report.with_suffix(".png").stat().st_size > 5_000
    _check_progress(events, folds=3)
    assert result.data_start_ns < result.data_end_ns


def test_train_model_never_overwrites_an_artifact(sim_bars: pl.DataFrame, tmp_path: Path) -> None:
    spec = TrainSpec("momentum", SIM_TIMEFRAMES)
    first = train_model(spec, sim_bars, tmp_path, "1")
    second = train_model(spec, sim_bars, tmp_path, "1")
    assert first.artifact_path != second.artifact_path
    assert Path(first.artifact_path).exists()
    assert Path(second.artifact_path).exists()


def test_first_timeframe_must_be_the_bars_own(sim_bars: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="first timeframe 5m"):
        train_model(TrainSpec("momentum", ("5m", "15m")), sim_bars, tmp_path, "1")


def test_too_few_bars_is_a_clear_error(sim_bars: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too few"):
        train_model(TrainSpec("momentum", SIM_TIMEFRAMES), sim_bars.head(300), tmp_path, "1")


def test_spec_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="unknown model 'oracle'"):
        TrainSpec("oracle", ("1m",))
    with pytest.raises(ValueError, match="bad timeframe"):
        TrainSpec("momentum", ("1 minute",))
    with pytest.raises(ValueError, match="no timeframes"):
        TrainSpec("momentum", ())
    assert TrainSpec("xgboost", ("5m", "1h"), horizon_bars=3).horizon == "15m"


def test_spec_and_result_round_trip_through_dicts_and_pickle() -> None:
    spec = TrainSpec("lstm", ("1h", "4h"), horizon_bars=2, splits=4, fee_bps=10.0)
    assert TrainSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec
    result = TrainResult("xgboost", "/x.json", {"a": 1, "features": {"base": "1h"}},
                         {"oos_accuracy": 0.5}, 1, 2, "abc")  # fmt: skip
    assert TrainResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_training_profile_round_trips_through_json() -> None:
    x = np.random.default_rng(1).standard_normal((500, 3))
    profile = TrainingProfile.from_matrix(x, ["a", "b", "c"], training_accuracy=0.52)
    back = TrainingProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert back == profile
    recent = x[:100] + 0.5
    assert back.psi(recent) == profile.psi(recent)
    assert TrainingProfile.from_dict({**profile.to_dict(), "training_accuracy": None}) == (
        TrainingProfile(profile.features, profile.edges, profile.shares, None)
    )


def test_training_profile_from_dict_refuses_malformed_profiles() -> None:
    doc = TrainingProfile.from_matrix(np.arange(100.0).reshape(50, 2), ["a", "b"]).to_dict()
    with pytest.raises(ValueError, match="shares"):
        TrainingProfile.from_dict({**doc, "shares": [doc["shares"][0][:-1], doc["shares"][1]]})
    with pytest.raises(ValueError, match="differ in length"):
        TrainingProfile.from_dict({**doc, "features": ["a"]})
    with pytest.raises(ValueError, match="malformed"):
        TrainingProfile.from_dict({"features": ["a"]})


def test_lstm_reports_each_epoch() -> None:
    pytest.importorskip("torch")
    from traider.engine.models.lstm import LSTMModel

    epochs: list[tuple[int, int, float]] = []
    model = LSTMModel(seq_len=4, hidden=4, epochs=3, patience=5, batch_size=256)
    model.fit(random_walk(600), on_epoch=lambda *e: epochs.append(e))
    assert [(e, total) for e, total, _ in epochs] == [(1, 3), (2, 3), (3, 3)]
    assert all(np.isfinite(loss) for _, _, loss in epochs)
