"""The live models inside the engine: registry → loaded models → per-bar predictions →
ensemble weights → strategy sizing; expiry, failures, registry changes."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.core.events import Alert, EnsembleUpdated, SignalFailed
from traider.engine.core.types import Side
from traider.engine.engine import Engine
from traider.engine.features.bars import bar_features, make_dataset
from traider.engine.models.base import Prediction
from traider.engine.models.registry import ModelRegistry
from traider.engine.models.rules import MeanReversionModel, MomentumModel
from traider.sim.bars import simulated_bars
from traider.testing.engine import make_engine
from traider.testing.models import register_live

MIN = 60 * NANOS_PER_SECOND
DAY = 86_400 * NANOS_PER_SECOND
TFS = ("1m", "5m")


@pytest.fixture
def clock() -> SimClock:
    return SimClock(time.time_ns() // MIN * MIN)


@pytest.fixture
def engine(clock: SimClock, traider_home: Path) -> Engine:
    eng = make_engine(clock, **{"models.drift_check_every_bars": "1"})
    yield eng  # type: ignore[misc]
    eng.shutdown()


def run_minutes(engine: Engine, clock: SimClock, minutes: float) -> None:
    for _ in range(int(minutes * 60)):
        clock.advance(NANOS_PER_SECOND)
        engine.step()
        engine.live_models.process()


def capture(engine: Engine, kind: type[Any]) -> list[Any]:
    seen: list[Any] = []
    engine.bus.subscribe(kind, seen.append)
    return seen


def test_no_live_model_means_no_signal_and_sizes_unchanged(engine: Engine, clock: SimClock) -> None:
    register_live(engine, promote=False)  # a candidate never trades
    engine.boot()
    updates = capture(engine, EnsembleUpdated)
    run_minutes(engine, clock, 2)
    assert updates == []
    view = engine.models()
    assert view.models == ()
    assert "no live model" in view.note
    assert engine.live_models.size_multiplier("BTC-USD", Side.BUY) == 1.0


def test_live_models_predict_each_bar_and_learn_weights(engine: Engine, clock: SimClock) -> None:
    mom = register_live(engine, MomentumModel)
    rev = register_live(engine, MeanReversionModel)
    engine.boot()
    updates = capture(engine, EnsembleUpdated)
    run_minutes(engine, clock, 4.5)
    # one update per symbol per completed bar, with both models' predictions
    per_symbol = {s: [u for u in updates if u.symbol == s] for s in engine.symbols}
    for sym, ups in per_symbol.items():
        assert len(ups) == 4, (sym, len(ups))
        for u in ups:
            assert set(u.models) == {mom, rev}  # models are known by registry id
            assert math.isclose(sum(u.weights), 1.0)
            assert all(0.0 <= p <= 1.0 for p in u.predictions)
            assert u.ts_event % MIN < 2 * NANOS_PER_SECOND  # right after the bar closed
    # outcomes of the first three bars are in: the weights moved and metrics exist
    lm = engine.live_models
    assert lm._ensemble.updates == 3 * len(engine.symbols)
    for name in (mom, rev):  # every resolved prediction is tracked
        assert lm.tracker.metrics(name).n == 3 * len(engine.symbols)
    view = engine.models()
    by_id = {m.model_id: m for m in view.models}
    assert set(by_id) == {mom, rev}
    for line in by_id.values():
        assert line.state == "live"
        assert line.log_loss is not None
        assert line.brier is not None
        assert {s for s, _ in line.predictions} == set(engine.symbols)
    assert all(s.fresh for s in view.signals)
    assert view.bars >= 4 * len(engine.symbols)


def test_weights_move_to_the_model_with_lower_log_loss(engine: Engine, clock: SimClock) -> None:
    register_live(engine, MomentumModel)
    register_live(engine, MeanReversionModel)
    engine.boot()
    lm = engine.live_models
    models = {m.name: m for m in lm._runner.models}
    # one model says "no idea" (0.5), the other is confidently wrong half the time
    models["momentum-1"].predict = lambda x: Prediction.from_prob(0.5, "1m")  # type: ignore[method-assign]
    models["mean_reversion-1"].predict = lambda x: Prediction.from_prob(0.95, "1m")  # type: ignore[method-assign]
    run_minutes(engine, clock, 12)
    w = lm._ensemble.weights()
    assert w["momentum-1"] > 0.8 > w["mean_reversion-1"] >= lm.config.ensemble_floor


def test_a_failing_model_is_left_out_and_trading_goes_on(engine: Engine, clock: SimClock) -> None:
    register_live(engine, MomentumModel)
    register_live(engine, MeanReversionModel)
    engine.boot()
    failed = capture(engine, SignalFailed)
    alerts = capture(engine, Alert)
    updates = capture(engine, EnsembleUpdated)

    def boom(x: Any) -> Prediction:
        raise RuntimeError("model exploded")

    next(m for m in engine.live_models._runner.models if m.name == "momentum-1").predict = boom
    run_minutes(engine, clock, 2.2)
    assert failed
    assert all(f.model == "momentum-1" for f in failed)
    assert any("model exploded" in a.message for a in alerts)
    assert updates, "the ensemble still speaks with the model that works"
    for u in updates:
        i = u.models.index("momentum-1")
        assert math.isnan(u.predictions[i])
        assert u.prob_up == pytest.approx(u.predictions[u.models.index("mean_reversion-1")])


def test_models_veto_and_scale_strategy_entries(engine: Engine, clock: SimClock) -> None:
    register_live(engine, MomentumModel)
    engine.boot()
    lm = engine.live_models
    model = lm._runner.models[0]
    model.predict = lambda x: Prediction.from_prob(0.2, "1m")  # type: ignore[method-assign]
    run_minutes(engine, clock, 1.05)
    assert lm.signal("BTC-USD") is not None
    assert lm.size_multiplier("BTC-USD", Side.BUY) == 0.0  # P(up) 0.2 < veto 0.35
    assert engine.context.size_order("BTC-USD", 100.0, 1.0, Side.BUY) == 0.0
    assert engine.models().vetoes >= 2  # counted for the screen
    assert lm.size_multiplier("BTC-USD", Side.SELL) == 1.0  # 2 × 0.8 capped at 1.0
    model.predict = lambda x: Prediction.from_prob(0.45, "1m")  # type: ignore[method-assign]
    run_minutes(engine, clock, 1.0)
    assert lm.size_multiplier("BTC-USD", Side.BUY) == pytest.approx(0.9)
    # a signal past its horizon is not used: sizes go back to the strategy's own
    clock.advance(3 * MIN)
    assert lm.signal("BTC-USD") is None
    assert lm.size_multiplier("BTC-USD", Side.BUY) == 1.0


def test_expired_and_mismatched_models_are_not_used(engine: Engine, clock: SimClock) -> None:
    old = register_live(engine, MomentumModel, trained_at_ns=clock.timestamp_ns() - 31 * DAY)
    hourly = register_live(engine, MeanReversionModel, timeframes=("1h",), base="1h")
    alerts = capture(engine, Alert)
    requested: list[tuple[str, str]] = []
    engine.live_models.retrain.request = lambda slot, why: requested.append((slot.name, why))  # type: ignore[assignment,method-assign,return-value]
    engine.boot()
    updates = capture(engine, EnsembleUpdated)
    run_minutes(engine, clock, 2)
    assert updates == []
    lines = {m.model_id: m for m in engine.models().models}
    assert lines[old].state == "expired"
    assert "31.0 days" in lines[old].note
    assert lines[hourly].state == "disabled"
    assert "1h bars" in lines[hourly].note
    assert any(old in a.message and "expired" in a.message for a in alerts)
    assert requested
    assert requested[0][0] == "momentum"
    assert "expired" in requested[0][1]
    assert engine.models().note.startswith("no model in use")


def test_a_model_expires_while_running(engine: Engine, clock: SimClock) -> None:
    mid = register_live(
        engine, MomentumModel, trained_at_ns=clock.timestamp_ns() - 30 * DAY + 90 * NANOS_PER_SECOND
    )
    engine.live_models.retrain.request = lambda slot, why: None  # type: ignore[method-assign,assignment,return-value]
    engine.boot()
    updates = capture(engine, EnsembleUpdated)
    run_minutes(engine, clock, 1.1)
    assert updates, "in use before its 30 days are up"
    n = len(updates)
    run_minutes(engine, clock, 2)
    assert len(updates) == n, "never used after expiry"
    assert {m.model_id: m.state for m in engine.models().models}[mid] == "expired"


def test_registry_changes_reach_the_running_engine(engine: Engine, clock: SimClock) -> None:
    register_live(engine, MomentumModel)
    engine.boot()
    run_minutes(engine, clock, 1.05)
    assert [m.name for m in engine.models().models] == ["momentum"]
    register_live(engine, MeanReversionModel)  # promoted by an operator from the CLI
    run_minutes(engine, clock, 2)
    names = sorted(m.name for m in engine.models().models if m.state == "live")
    assert names == ["mean_reversion", "momentum"]
    ModelRegistry(engine.store).retire(
        next(m.model_id for m in engine.models().models if m.name == "momentum"), by="alice"
    )
    run_minutes(engine, clock, 1)
    assert [m.name for m in engine.models().models] == ["mean_reversion"]


def test_a_replaced_artifact_is_refused(engine: Engine, clock: SimClock) -> None:
    mid = register_live(engine, MomentumModel)
    rec = ModelRegistry(engine.store).get(mid)
    other = MomentumModel()
    bars = simulated_bars(["BTC-USD"], 800, seed=99)["BTC-USD"]
    other.fit(make_dataset(bar_features(bars, TFS), 1))
    other.save(rec.artifact_path)  # someone swapped the file
    engine.boot()
    line = engine.models().models[0]
    assert line.state == "failed"
    assert "replaced" in line.note


def test_features_fed_live_equal_the_training_features(engine: Engine, clock: SimClock) -> None:
    """The vector a model sees at a bar is the training pipeline's row for that bar."""
    register_live(engine, MomentumModel)
    engine.boot()
    lm = engine.live_models
    seen: list[np.ndarray] = []
    model = lm._runner.models[0]
    original = model.predict
    model.predict = lambda x: (seen.append(np.array(x)), original(x))[1]  # type: ignore[method-assign]
    run_minutes(engine, clock, 2.05)
    frame = lm.bars.frame(engine.symbols[-1])
    feats = bar_features(frame, TFS, base="1m")
    expected = feats.select(model.feature_names).to_numpy()[-1].astype(np.float32)
    assert np.allclose(seen[-1], expected)


async def test_the_engine_task_builds_features_off_the_loop(
    engine: Engine, clock: SimClock
) -> None:
    import asyncio
    import threading

    register_live(engine, MomentumModel)
    engine.boot()
    lm = engine.live_models
    threads: list[str] = []
    original = lm._feature_inputs

    def spy(frame: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(frame)

    lm._feature_inputs = spy  # type: ignore[method-assign]
    updates = capture(engine, EnsembleUpdated)
    task = asyncio.create_task(lm.run(interval_s=0.001))
    try:
        for _ in range(130):
            clock.advance(NANOS_PER_SECOND)
            engine.step()
            await asyncio.sleep(0.003)
        for _ in range(200):
            if len(updates) >= 2 * len(engine.symbols):
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert len(updates) >= 2 * len(engine.symbols)
    assert threads
    assert threading.main_thread().name not in threads


def test_drift_alerts_and_schedules_a_retrain(engine: Engine, clock: SimClock) -> None:
    """A profile from other data (every feature shifted): the live features drift."""
    engine.live_models.config = replace(engine.live_models.config, psi_min_rows=40)
    mid = register_live(engine, MomentumModel, profile_shift=1_000.0)
    requested: list[tuple[str, str]] = []
    engine.live_models.retrain.request = lambda slot, why: requested.append((slot.name, why))  # type: ignore[assignment,method-assign,return-value]
    alerts = capture(engine, Alert)
    engine.boot()
    run_minutes(engine, clock, 17.1)  # 16 bars x 3 symbols: more than 50 feature rows
    drifted = [a for a in alerts if "drifted" in a.message]
    assert len(drifted) == 1, [a.message[:90] for a in drifted]
    assert mid in drifted[0].message
    assert "PSI" in drifted[0].message
    assert [name for name, _ in requested]
    assert {n for n, _ in requested} == {"momentum"}
    assert requested[0][1].startswith("drift: feature")
    notes = {m.model_id: m.note for m in engine.models().models}
    assert notes[mid].startswith("drift:")


def test_too_few_rows_are_not_judged_for_drift(engine: Engine, clock: SimClock) -> None:
    """With the default minimum the same shifted profile is not judged yet: PSI on a few
    dozen rows is noise (an empty bin alone scores ~0.7)."""
    register_live(engine, MomentumModel, profile_shift=1_000.0)
    alerts = capture(engine, Alert)
    engine.boot()
    run_minutes(engine, clock, 17.1)
    assert not [a for a in alerts if "drifted" in a.message]


def test_a_retrain_runs_in_the_pool_and_registers_a_candidate(
    engine: Engine, clock: SimClock
) -> None:
    from traider.engine.core.events import RetrainFinished, RetrainProgress
    from traider.engine.models.registry import ModelState

    live_id = register_live(engine, MomentumModel)
    engine.boot()  # backfills 2,000 bars per symbol: enough to retrain on
    lm = engine.live_models
    progress = capture(engine, RetrainProgress)
    finished = capture(engine, RetrainFinished)
    alerts = capture(engine, Alert)
    slot = lm.slots["momentum"]
    job = lm.retrain.request(slot, "operator asked")
    assert job is not None
    assert lm.retrain.request(slot, "again") is None, "one job per model at a time"
    deadline = time.monotonic() + 120
    while not finished and time.monotonic() < deadline:
        time.sleep(0.2)
        lm.process()  # the engine's housekeeping forwards the pool's events
        lm._housekeeping(0)
    assert finished, "the job did not finish in 120 s"
    done = finished[0]
    assert done.ok, done.message
    assert done.reason == "operator asked"
    assert progress
    assert [p.fraction for p in progress] == sorted(p.fraction for p in progress)
    record = ModelRegistry(engine.store).get(done.model_id)
    assert record.state is ModelState.CANDIDATE  # an operator still has to approve it
    assert record.history[0].by == "scheduler"
    assert record.params["features"]["timeframes"] == list(TFS)
    assert "oos_accuracy" in record.metrics
    # the live model is untouched until an operator promotes the new one
    assert ModelRegistry(engine.store).live("momentum").model_id == live_id
    assert any(done.model_id in a.message and "approve" in a.message for a in alerts)
    line = engine.models().retraining[-1]
    assert line.finished
    assert line.ok


def test_warm_imports_never_raise(engine: Engine, tmp_path: Path) -> None:
    """They run on a worker thread before boot; boot meets and reports any problem."""
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database")
    engine.live_models.warm_imports(garbage)
    engine.live_models.warm_imports(tmp_path / "missing.db")
    register_live(engine, MomentumModel)
    engine.live_models.warm_imports(engine.config.sqlite_path)


def test_candidates_are_listed_and_only_a_human_approves(engine: Engine, clock: SimClock) -> None:
    from traider.engine.models.registry import ModelState

    waiting = register_live(engine, MomentumModel, promote=False)
    engine.boot()
    (line,) = engine.models().candidates
    assert line.model_id == waiting
    assert line.state == "candidate"
    assert line.oos_accuracy == pytest.approx(0.52)
    with pytest.raises(ValueError, match="human operator"):
        engine.approve_model(waiting, "scheduler")
    message = engine.approve_model(waiting, "alice")
    assert "promote" in message
    record = ModelRegistry(engine.store).get(waiting)
    assert record.state is ModelState.APPROVED
    assert record.history[-1].by == "alice"
    assert engine.models().candidates[0].state == "approved"
    run_minutes(engine, clock, 1.05)
    assert engine.models().models == (), "approved is not live: it does not trade"


def test_live_bars_carry_the_books_microstructure(engine: Engine, clock: SimClock) -> None:
    """Sampled once a second from the engine's book features; backfilled bars have none."""
    from traider.engine.features.bar_micro import MICRO_COLUMNS

    register_live(engine, MomentumModel)
    engine.boot()
    run_minutes(engine, clock, 3.05)
    frame = engine.live_models.bars.frame("BTC-USD")
    assert set(MICRO_COLUMNS) <= set(frame.columns)
    live = frame.tail(2)
    for column in MICRO_COLUMNS:
        assert live[column].is_finite().all(), column
    assert frame.head(5)["ms_spread_bps"].is_nan().all()
    assert (live["ms_spread_bps"] > 0).all()
