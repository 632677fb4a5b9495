"""Regression tests for the review of the live models (each reproduced a real bug)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.core.events import Alert, EnsembleUpdated, TradeTick
from traider.engine.core.types import Side
from traider.engine.engine import Engine
from traider.engine.models.base import Prediction
from traider.engine.models.registry import ModelRegistry
from traider.engine.models.rules import MeanReversionModel, MomentumModel
from traider.testing.engine import make_engine
from traider.testing.models import register_live

MIN = 60 * NANOS_PER_SECOND
DAY = 86_400 * NANOS_PER_SECOND


@pytest.fixture
def clock() -> SimClock:
    return SimClock(time.time_ns() // MIN * MIN)


@pytest.fixture
def engine(clock: SimClock, traider_home: Path) -> Engine:
    eng = make_engine(clock, **{"models.max_size_multiplier": "2.0"})
    yield eng  # type: ignore[misc]
    eng.shutdown()


def run_seconds(engine: Engine, clock: SimClock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(NANOS_PER_SECOND)
        engine.step()
        engine.live_models.process()


def fix(engine: Engine, probs: dict[str, float]) -> None:
    """Make each running model (by id) always answer its given P(up)."""
    for model in engine.live_models._runner.models:
        p = probs[model.name]
        model.predict = lambda x, p=p: Prediction.from_prob(p, "1m")


def capture(engine: Engine, kind: type[Any]) -> list[Any]:
    seen: list[Any] = []
    engine.bus.subscribe(kind, seen.append)
    return seen


def test_a_retired_model_never_sizes_another_order(engine: Engine, clock: SimClock) -> None:
    bad = register_live(engine, MomentumModel)
    good = register_live(engine, MeanReversionModel)
    engine.boot()
    fix(engine, {bad: 0.02, good: 0.6})
    run_seconds(engine, clock, 61)
    lm = engine.live_models
    assert lm.size_multiplier("BTC-USD", Side.BUY) == 0.0  # the bad model vetoes
    ModelRegistry(engine.store).retire(bad, by="alice", reason="runaway model")
    run_seconds(engine, clock, 1)
    # before any new bar: its signal is no longer used
    assert lm.signal("BTC-USD") is None
    assert lm.size_multiplier("BTC-USD", Side.BUY) == 1.0
    fix(engine, {good: 0.6})
    updates = capture(engine, EnsembleUpdated)
    run_seconds(engine, clock, 60)
    assert updates
    assert all(u.models == (good,) for u in updates)
    assert lm.size_multiplier("BTC-USD", Side.BUY) == pytest.approx(1.2)


def test_a_new_version_learns_only_from_its_own_outcomes(engine: Engine, clock: SimClock) -> None:
    v1 = register_live(engine, MomentumModel)
    other = register_live(engine, MeanReversionModel)
    engine.boot()
    lm = engine.live_models
    fix(engine, {v1: 0.9, other: 0.5})
    run_seconds(engine, clock, 181)
    assert lm.tracker.metrics(v1).n > 0
    v2 = register_live(engine, MomentumModel)  # promoted: v1 goes back to approved
    run_seconds(engine, clock, 1)
    assert set(lm.weights()) == {v2, other}
    assert lm.weights()[v2] == pytest.approx(lm.weights()[other], rel=0.5)
    updates_before = lm._ensemble.updates
    assert all(v1 not in p.probs for q in lm._pending.values() for p in q)
    fix(engine, {v2: 0.5, other: 0.5})
    run_seconds(engine, clock, 60)  # v2's first prediction is not resolved yet
    assert lm.tracker.metrics(v2).n == 0
    assert lm._ensemble.updates == updates_before + len(engine.symbols)  # `other` only


def test_drift_checks_survive_a_version_with_other_features(
    engine: Engine, clock: SimClock
) -> None:
    lm = engine.live_models
    lm.config = lm.config.__class__(
        **{**lm.config.__dict__, "psi_min_rows": 20, "drift_check_every_bars": 3}
    )
    register_live(engine, MomentumModel, timeframes=("1m", "5m"))
    engine.boot()
    run_seconds(engine, clock, 8 * 60)
    alerts = capture(engine, Alert)
    register_live(engine, MomentumModel, timeframes=("1m",))  # fewer features
    run_seconds(engine, clock, 8 * 60)
    assert not [a for a in alerts if "check failed" in a.message or "failed:" in a.message]


def test_horizon_conflicts_keep_the_running_model_and_heal(
    engine: Engine, clock: SimClock
) -> None:
    running = register_live(engine, MomentumModel, horizon_bars=1)
    engine.boot()
    run_seconds(engine, clock, 61)
    other = register_live(engine, MeanReversionModel, horizon_bars=3)
    run_seconds(engine, clock, 1)
    states = {m.model_id: m.state for m in engine.models().models}
    assert states == {running: "live", other: "disabled"}
    ModelRegistry(engine.store).retire(running, by="alice")
    run_seconds(engine, clock, 1)
    assert {m.model_id: m.state for m in engine.models().models} == {other: "live"}


def test_a_replaced_or_unpinned_artifact_is_refused(engine: Engine, clock: SimClock) -> None:
    swapped = register_live(engine, MomentumModel)
    record = ModelRegistry(engine.store).get(swapped)
    # a model of the opposite kind, fitted on the same data, saved over the file
    text = json.loads(Path(record.artifact_path).read_text())
    text["kind"] = "mean_reversion"
    Path(record.artifact_path).write_text(json.dumps(text))
    engine.boot()
    line = {m.model_id: m for m in engine.models().models}[swapped]
    assert line.state == "failed"
    assert "sha256" in line.note


def test_a_malformed_record_stops_nothing_else(engine: Engine, clock: SimClock) -> None:
    good = register_live(engine, MeanReversionModel)
    registry = ModelRegistry(engine.store)
    bad = registry.register(
        "momentum",
        params={"features": {"timeframes": ["1m"], "base": "1m", "horizon_bars": 1}},
        data_start_ns=0,
        data_end_ns=1,
        data_hash="x",
        metrics={"profile": {"features": "not a profile"}},
        artifact_path="/nonexistent.json",
    ).model_id
    registry.approve(bad, by="alice")
    registry.promote(bad, by="alice")
    engine.boot()  # must not raise
    states = {m.model_id: m.state for m in engine.models().models}
    assert states == {good: "live", bad: "failed"}
    run_seconds(engine, clock, 61)
    ModelRegistry(engine.store).retire(good, by="alice")
    run_seconds(engine, clock, 1)
    assert engine.live_models._runner is None, "the retire took effect despite the bad record"


def test_an_expired_model_is_retrained_once_there_are_bars(
    engine: Engine, clock: SimClock
) -> None:
    register_live(engine, MomentumModel, trained_at_ns=clock.timestamp_ns() - 31 * DAY)
    lm = engine.live_models
    asked: list[str] = []

    def spy(slot: Any, why: str) -> Any:
        asked.append(why)
        return None  # never start a real job here

    lm.retrain.request = spy  # type: ignore[method-assign]
    engine.boot()
    assert lm.bars.count("BTC-USD") >= lm.config.min_retrain_bars, "history is backfilled"
    run_seconds(engine, clock, 21 * 60)  # 63 bars over 3 symbols: past one periodic check
    assert len(asked) >= 2, "asked at boot and again at the periodic check"
    assert all("expired" in why for why in asked)


def test_unrelated_registry_events_keep_the_learnt_weights(
    engine: Engine, clock: SimClock
) -> None:
    a = register_live(engine, MomentumModel)
    b = register_live(engine, MeanReversionModel)
    engine.boot()
    fix(engine, {a: 0.5, b: 0.95})
    run_seconds(engine, clock, 5 * 60 + 1)
    lm = engine.live_models
    before, updates = lm.weights(), lm._ensemble.updates
    for _ in range(3):  # candidates registered by the scheduler
        register_live(engine, MomentumModel, promote=False)
        run_seconds(engine, clock, 1)
    assert lm.weights() == before
    assert lm._ensemble.updates == updates


def test_a_trade_stamped_in_the_future_is_ignored(engine: Engine, clock: SimClock) -> None:
    register_live(engine, MomentumModel)
    engine.boot()
    run_seconds(engine, clock, 61)
    alerts = capture(engine, Alert)
    now = clock.timestamp_ns()
    bad = TradeTick(now + 30 * DAY, now, "BTC-USD", 1, 50_000.0, 1.0, Side.BUY)
    engine.live_models.on_trade(bad)
    assert engine.live_models.bad_trades == 1
    assert any("future" in a.message for a in alerts)
    run_seconds(engine, clock, 60)
    assert engine.live_models.signal("BTC-USD") is not None


def test_a_model_we_cannot_retrain_still_expires_cleanly(
    engine: Engine, clock: SimClock
) -> None:
    """An expired model under a custom name (not a kind the pipeline trains): asking
    for its retrain fails inside, and the reload and checks go on."""
    from traider.engine.models.base import file_sha256

    old = register_live(engine, MomentumModel, promote=False)
    registry = ModelRegistry(engine.store)
    rec = registry.get(old)
    custom = registry.register(
        "custom-signal",
        params=rec.params,
        data_start_ns=rec.data_start_ns,
        data_end_ns=rec.data_end_ns,
        data_hash=rec.data_hash,
        metrics={**rec.metrics, "trained_at_ns": clock.timestamp_ns() - 31 * DAY,
                 "artifact_sha256": file_sha256(rec.artifact_path)},
        artifact_path=rec.artifact_path,
    ).model_id
    registry.approve(custom, by="alice")
    registry.promote(custom, by="alice")
    engine.boot()
    run_seconds(engine, clock, 21 * 60)
    assert {m.model_id: m.state for m in engine.models().models} == {custom: "expired"}
    assert engine.live_models.retrain.lines() == ()


# --- second review --------------------------------------------------------------------


async def test_a_broken_library_fails_its_model_not_the_registry(
    engine: Engine, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import traider.engine.models.live as live_module

    bad = register_live(engine, MomentumModel)
    engine.boot()
    lm = engine.live_models

    def broken(records: Any) -> None:
        raise ImportError("torch is broken on this host")

    monkeypatch.setattr(live_module, "_import_libraries", broken)
    ModelRegistry(engine.store).retire(bad, by="alice")
    clock.advance(NANOS_PER_SECOND)
    await lm._tick()  # must not raise; the retire must take effect
    assert lm._runner is None
    assert engine.models().models == ()


def test_an_unrelated_event_does_not_swap_the_running_model(
    engine: Engine, clock: SimClock
) -> None:
    older = register_live(engine, MeanReversionModel, horizon_bars=3)
    ModelRegistry(engine.store).retire(older, by="alice")
    waiting = register_live(engine, MeanReversionModel, horizon_bars=3, promote=False)
    running = register_live(engine, MomentumModel, horizon_bars=1)
    engine.boot()
    registry = ModelRegistry(engine.store)
    registry.approve(waiting, by="alice")
    registry.promote(waiting, by="alice")  # conflicts with the running horizon
    run_seconds(engine, clock, 1)
    states = {m.model_id: m.state for m in engine.models().models}
    assert states == {running: "live", waiting: "disabled"}
    register_live(engine, MomentumModel, promote=False)  # an unrelated candidate
    run_seconds(engine, clock, 1)
    assert {m.model_id: m.state for m in engine.models().models} == states


def test_a_retrain_uses_the_models_own_inputs_and_a_failed_one_retries(
    engine: Engine, clock: SimClock
) -> None:
    from traider.engine.core.events import RetrainFinished

    register_live(engine, MomentumModel)
    engine.boot()
    run_seconds(engine, clock, 3 * 60 + 1)
    lm = engine.live_models
    slot = lm.slots["momentum"]
    assert any(c.startswith("ms_") for c in lm.bars.frame("BTC-USD").columns)
    frame = lm.retrain._training_frame(slot, "BTC-USD")
    assert not [c for c in frame.columns if c.startswith("ms_")]
    assert frame.height == lm.bars.count("BTC-USD")
    # a failed job: asked again after an hour, not after retrain_every_h (a week)
    now = clock.timestamp_ns()
    lm.retrain._last_request_ns["momentum"] = now
    lm.retrain._finished(RetrainFinished(now, now, "rt-x", "momentum", False, "", "t", "boom"), "t")
    every_ns = lm.config.retrain_every_h * 3_600 * NANOS_PER_SECOND
    assert lm.retrain._last_request_ns["momentum"] == now - every_ns + 3_600 * NANOS_PER_SECOND


def test_a_veto_counts_once_per_signal(engine: Engine, clock: SimClock) -> None:
    mid = register_live(engine, MomentumModel)
    engine.boot()
    fix(engine, {mid: 0.1})
    run_seconds(engine, clock, 61)
    lm = engine.live_models
    lm._vetoed.clear()  # the strategy may have asked already
    lm.vetoes = 0
    version = lm.version
    for _ in range(25):  # a strategy asking again on every book update
        assert lm.size_multiplier("BTC-USD", Side.BUY) == 0.0
    assert lm.vetoes == 1
    assert lm.version == version + 1


def test_the_registry_read_skips_journal_it_already_scanned(
    engine: Engine, clock: SimClock
) -> None:
    """Once a second on the loop: it must not re-read every order event since the last
    registry event (a rowid scan of the journal when the planner prefers it)."""
    register_live(engine, MomentumModel)
    engine.boot()
    run_seconds(engine, clock, 30)  # orders and fills are journaled meanwhile
    registry = engine.live_models.registry
    registry.refresh()
    assert registry._scan_from == engine.store.last_journal_id()
    assert registry._scan_from >= registry.journal_position
