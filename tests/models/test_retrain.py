"""RetrainManager: jobs in spawned processes, reported as events; failures and dead
children end a job, never the manager; `poll` never waits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from traider.engine.core.events import RetrainFinished, RetrainProgress
from traider.engine.models.retrain import RetrainError, RetrainEvent, RetrainManager
from traider.engine.models.training import TrainSpec
from traider.sim.bars import simulated_bars

SPEC = TrainSpec("momentum", ("1m", "5m", "15m"))
DEADLINE_S = 90.0  # generous: a loaded 2-core machine spawns slowly


@pytest.fixture(scope="module")
def sim_bars() -> pl.DataFrame:
    return simulated_bars(["BTC-USD"], 1500, seed=5)["BTC-USD"]


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[RetrainManager]:
    mgr = RetrainManager(tmp_path)
    yield mgr
    mgr.shutdown()


def _until_finished(mgr: RetrainManager, job_id: str) -> tuple[list[RetrainEvent], RetrainFinished]:
    events: list[RetrainEvent] = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        events.extend(mgr.poll())
        done = [e for e in events if isinstance(e, RetrainFinished) and e.job_id == job_id]
        if done:
            return events, done[0]
        time.sleep(0.05)
    raise AssertionError(f"{job_id} did not finish in {DEADLINE_S} s: {events}")


def test_a_job_runs_in_another_process_and_reports_progress(
    manager: RetrainManager, sim_bars: pl.DataFrame, tmp_path: Path
) -> None:
    job_id = manager.submit(SPEC, sim_bars, reason="schedule")
    assert job_id == "rt-1-momentum"
    assert manager.running() == [job_id]
    with pytest.raises(RetrainError, match="rt-1-momentum is still running"):
        manager.submit(SPEC, sim_bars, reason="drift: test")
    started = time.monotonic()
    first = manager.poll()
    assert time.monotonic() - started < 2.0  # loose: it must not wait for the job
    assert manager.running() == [job_id]  # poll returned while the job still runs
    assert next((e.stage, e.fraction) for e in first if isinstance(e, RetrainProgress)) == (
        "queued",
        0.0,
    )
    events, finished = _until_finished(manager, job_id)
    events = first + events
    assert finished.ok, finished.message
    assert finished.model == "momentum"
    assert finished.reason == "schedule"
    assert finished.model_id == ""  # the caller registers the candidate
    assert events[-1] is finished  # every progress message came before the finish
    progress = [e for e in events if isinstance(e, RetrainProgress)]
    stages = [e.stage for e in progress]
    assert stages[0] == "queued"
    assert stages[-1] == "done"
    assert "evaluate" in stages
    fractions = [e.fraction for e in progress]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert all(e.job_id == job_id and e.ts_event > 0 for e in events)
    result = manager.result(job_id)
    assert result is not None
    assert result.metrics["pid"] != os.getpid()
    assert Path(result.artifact_path).is_file()
    assert Path(result.artifact_path).parent == tmp_path / "models"
    assert Path(result.metrics["report"]).is_file()
    assert manager.running() == []
    assert list((tmp_path / "retrain").iterdir()) == []  # the bars file went with the job
    # the model is free again
    assert manager.submit(SPEC, sim_bars, reason="operator") == "rt-2-momentum"


def test_a_failing_job_is_reported_and_the_next_one_still_runs(
    manager: RetrainManager, sim_bars: pl.DataFrame, tmp_path: Path
) -> None:
    failing = manager.submit(SPEC, sim_bars.head(300), reason="operator")
    events, finished = _until_finished(manager, failing)
    assert not finished.ok
    assert "too few" in finished.message
    assert "\n" not in finished.message
    assert any(isinstance(e, RetrainProgress) and e.stage == "failed" for e in events)
    assert manager.result(failing) is None
    # the same pool runs the next job; bars can also be a file the child reads itself
    csv = tmp_path / "bars.csv"
    sim_bars.write_csv(csv)
    ok_job = manager.submit(TrainSpec("mean_reversion", ("1m", "5m")), csv, reason="operator")
    _, finished = _until_finished(manager, ok_job)
    assert finished.ok, finished.message
    result = manager.result(ok_job)
    assert result is not None
    assert result.params["features"]["timeframes"] == ["1m", "5m"]


def test_a_child_that_dies_fails_its_job_and_a_new_pool_runs_the_next(
    manager: RetrainManager, sim_bars: pl.DataFrame
) -> None:
    job_id = manager.submit(SPEC, sim_bars, reason="operator")
    deadline = time.monotonic() + DEADLINE_S
    while not any(e.stage != "queued" for e in manager.poll() if isinstance(e, RetrainProgress)):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    pool = manager._pool  # private, on purpose: the test plays the OOM killer
    assert pool is not None
    for child in list(pool._processes.values()):
        child.kill()
    _, finished = _until_finished(manager, job_id)
    assert not finished.ok
    assert "died" in finished.message
    again = manager.submit(SPEC, sim_bars, reason="operator")
    _, finished = _until_finished(manager, again)
    assert finished.ok, finished.message
    assert manager._pool is not pool


def test_shutdown_does_not_wait_for_a_running_job(sim_bars: pl.DataFrame, tmp_path: Path) -> None:
    mgr = RetrainManager(tmp_path)
    mgr.submit(TrainSpec("xgboost", ("1m", "5m", "15m")), sim_bars, reason="operator")
    started = time.monotonic()
    mgr.shutdown()
    assert time.monotonic() - started < 5.0  # loose; a finished xgboost job takes longer
    with pytest.raises(RetrainError, match="shut down"):
        mgr.submit(SPEC, sim_bars, reason="operator")


def test_workers_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers"):
        RetrainManager(tmp_path, workers=0)
