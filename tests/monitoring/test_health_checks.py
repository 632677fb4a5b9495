"""Health checks graded at their OK/WARN/CRIT boundaries, the worst level, the JSON shape."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from traider.engine.core.types import TradingMode
from traider.engine.monitoring.config import MonitoringConfig
from traider.engine.monitoring.health import (
    Check,
    FeedInput,
    HealthInputs,
    HealthLevel,
    check_alerts,
    check_clock_drift,
    check_disk,
    check_feed,
    check_kill_switch,
    check_loop_lag,
    check_model,
    check_reconcile,
    check_replication,
    check_store,
    check_twin,
    check_venue,
    disk_free_mb,
    evaluate,
    inputs_from_status,
    timed_write,
)
from traider.engine.view import EngineStatus, FeedHealth, KillSwitchView

OK, WARN, CRIT = HealthLevel.OK, HealthLevel.WARN, HealthLevel.CRIT
CFG = MonitoringConfig()
TS = 1_700_000_000_000_000_000


def base(**fields: object) -> HealthInputs:
    return replace(HealthInputs(ts_ns=TS), **fields)  # type: ignore[arg-type]


def test_levels_are_ordered() -> None:
    assert OK < WARN < CRIT
    assert max(OK, CRIT, WARN) is CRIT


def test_config_defaults_carry_the_brief_thresholds() -> None:
    assert (CFG.http_host, CFG.http_port) == ("127.0.0.1", 9464)
    assert (CFG.feed_stale_warn_ms, CFG.feed_stale_crit_ms) == (2000, 10000)
    assert (CFG.disk_free_warn_mb, CFG.disk_free_crit_mb) == (1024, 200)
    assert (CFG.alert_backlog_warn, CFG.alert_backlog_crit) == (50, 500)


@pytest.mark.parametrize(
    ("age_ms", "level"),
    [(0.0, OK), (1999.9, OK), (2000.0, WARN), (9999.0, WARN), (10000.0, CRIT), (60000.0, CRIT)],
)
def test_feed_age_boundaries(age_ms: float, level: HealthLevel) -> None:
    check = check_feed(FeedInput("BTC-USD", age_ms), CFG)
    assert check.name == "feed:BTC-USD"
    assert check.level is level
    assert check.value == age_ms
    assert (check.detail == "ok") is (level is OK)


def test_a_stale_book_is_at_least_warn_with_its_reason() -> None:
    fresh = check_feed(FeedInput("ETH-USD", 10.0, stale=True, stale_reason="gap at seq 7"), CFG)
    assert fresh.level is WARN
    assert "gap at seq 7" in fresh.detail
    old = check_feed(FeedInput("ETH-USD", 12_000.0, stale=True, stale_reason="crossed"), CFG)
    assert old.level is CRIT


def test_a_feed_without_data_yet_is_warn() -> None:
    check = check_feed(FeedInput("SOL-USD", None), CFG)
    assert (check.level, check.detail, check.value) == (WARN, "no data yet", None)


def test_paper_venue_is_always_ok_and_a_live_one_follows_its_flag() -> None:
    assert check_venue(base(venue_ok=False), CFG).level is OK
    live_ok = base(venue_paper=False, venue_status="connected, authenticated")
    assert check_venue(live_ok, CFG) == Check("venue", OK, "connected, authenticated")
    down = base(venue_paper=False, venue_ok=False, venue_status="auth failed: 401")
    assert check_venue(down, CFG).level is CRIT
    assert check_venue(down, CFG).detail == "auth failed: 401"


def test_reconcile_states() -> None:
    assert check_reconcile(base(), CFG).detail == "not run yet"
    assert check_reconcile(base(reconcile_mismatches=0), CFG).level is OK
    bad = check_reconcile(base(reconcile_mismatches=2, reconcile_detail="BTC-USD qty"), CFG)
    assert (bad.level, bad.value) == (CRIT, 2.0)
    assert bad.detail == "2 mismatches with the venue: BTC-USD qty"


@pytest.mark.parametrize(
    ("ms", "level"), [(0.4, OK), (49.9, OK), (50.0, WARN), (499.0, WARN), (500.0, CRIT)]
)
def test_store_write_latency_boundaries(ms: float, level: HealthLevel) -> None:
    assert check_store(base(store_write_ms=ms), CFG).level is level


def test_store_error_is_crit_and_unprobed_is_ok() -> None:
    error = check_store(base(store_write_ms=1.0, store_error="disk I/O error"), CFG)
    assert error.level is CRIT
    assert "disk I/O error" in error.detail
    assert check_store(base(), CFG) == Check("store", OK, "not probed yet")


def test_optional_measures_not_configured_are_ok() -> None:
    inputs = base()
    for check in (check_replication, check_twin, check_alerts):
        assert check(inputs, CFG).level is OK
        assert check(inputs, CFG).detail == "not configured"
    assert check_clock_drift(inputs, CFG).detail == "not measured"
    assert check_disk(inputs, CFG).detail == "not measured"
    assert check_model(inputs, CFG).detail == "no model"


@pytest.mark.parametrize(
    ("lag_ms", "level"), [(999.0, OK), (1000.0, WARN), (9999.0, WARN), (10000.0, CRIT)]
)
def test_replication_lag_boundaries(lag_ms: float, level: HealthLevel) -> None:
    assert check_replication(base(replication_lag_ms=lag_ms), CFG).level is level


def test_a_lost_twin_is_warn() -> None:
    assert check_twin(base(twin_status="standby in sync"), CFG).level is OK
    down = check_twin(base(twin_status="standby unreachable", twin_ok=False), CFG)
    assert (down.level, down.detail) == (WARN, "standby unreachable")


@pytest.mark.parametrize(
    ("p99_ms", "level"), [(0.0, OK), (19.99, OK), (20.0, WARN), (99.9, WARN), (100.0, CRIT)]
)
def test_loop_lag_boundaries(p99_ms: float, level: HealthLevel) -> None:
    assert check_loop_lag(base(loop_lag_p99_ms=p99_ms), CFG).level is level


@pytest.mark.parametrize(
    ("drift_ms", "level"),
    [(0.0, OK), (249.0, OK), (250.0, WARN), (-250.0, WARN), (999.0, WARN), (-1000.0, CRIT)],
)
def test_clock_drift_boundaries_either_sign(drift_ms: float, level: HealthLevel) -> None:
    check = check_clock_drift(base(clock_drift_ms=drift_ms), CFG)
    assert check.level is level
    assert check.value == drift_ms


@pytest.mark.parametrize(
    ("free_mb", "level"),
    [(50_000.0, OK), (1024.0, OK), (1023.9, WARN), (200.0, WARN), (199.9, CRIT), (0.0, CRIT)],
)
def test_disk_free_boundaries(free_mb: float, level: HealthLevel) -> None:
    assert check_disk(base(disk_free_mb=free_mb), CFG).level is level


@pytest.mark.parametrize(("age_h", "level"), [(1.0, OK), (23.9, OK), (24.0, WARN), (500.0, WARN)])
def test_model_staleness_boundary(age_h: float, level: HealthLevel) -> None:
    assert check_model(base(model_age_h=age_h), CFG).level is level


@pytest.mark.parametrize(
    ("pending", "level"), [(0, OK), (49, OK), (50, WARN), (499, WARN), (500, CRIT)]
)
def test_alert_backlog_boundaries(pending: int, level: HealthLevel) -> None:
    assert check_alerts(base(alerts_pending=pending), CFG).level is level


def test_dead_alerts_are_at_least_warn() -> None:
    check = check_alerts(base(alerts_pending=0, alerts_dead=3), CFG)
    assert check.level is WARN
    assert "3 undeliverable" in check.detail


def test_engaged_kill_switch_is_warn_with_its_reason() -> None:
    assert check_kill_switch(base(), CFG).level is OK
    check = check_kill_switch(
        base(kill_switch_engaged=True, kill_switch_reason="daily loss limit"), CFG
    )
    assert check.level is WARN
    assert "daily loss limit" in check.detail


def test_all_ok_evaluates_ok_with_every_check_in_a_stable_order() -> None:
    inputs = base(feeds=(FeedInput("BTC-USD", 5.0), FeedInput("ETH-USD", 7.0)))
    report = evaluate(inputs, CFG)
    assert report.level is OK
    assert report.ready
    assert report.ts_ns == TS
    names = [c.name for c in report.checks]
    assert names == [
        "kill_switch",
        "feed:BTC-USD",
        "feed:ETH-USD",
        "venue",
        "reconcile",
        "store",
        "replication",
        "twin",
        "loop_lag",
        "clock_drift",
        "disk",
        "model",
        "alerts",
    ]
    assert evaluate(inputs, CFG).checks == report.checks  # pure


def test_the_worst_level_wins() -> None:
    warn = base(kill_switch_engaged=True, kill_switch_reason="operator")
    assert evaluate(warn, CFG).level is WARN
    assert evaluate(warn, CFG).ready
    crit = replace(warn, disk_free_mb=10.0, loop_lag_p99_ms=30.0)
    report = evaluate(crit, CFG)
    assert report.level is CRIT
    assert not report.ready
    assert report.check("disk") is not None
    assert report.check("disk").level is CRIT  # type: ignore[union-attr]
    assert report.check("loop_lag").level is WARN  # type: ignore[union-attr]


def test_thresholds_come_from_the_config() -> None:
    strict = MonitoringConfig(loop_lag_warn_ms=1.0, loop_lag_crit_ms=2.0)
    assert evaluate(base(loop_lag_p99_ms=2.0), strict).level is CRIT


def test_json_has_stable_keys() -> None:
    report = evaluate(base(feeds=(FeedInput("BTC-USD", None),), disk_free_mb=5000.0), CFG)
    data = json.loads(report.to_json())
    assert list(data) == ["level", "checks", "ts_ns"]
    assert data["level"] == "WARN"
    assert data["ts_ns"] == TS
    for check in data["checks"]:
        assert list(check) == ["name", "level", "detail", "value"]
        assert check["level"] in ("OK", "WARN", "CRIT")
    feed = next(c for c in data["checks"] if c["name"] == "feed:BTC-USD")
    assert feed == {"name": "feed:BTC-USD", "level": "WARN", "detail": "no data yet", "value": None}
    disk = next(c for c in data["checks"] if c["name"] == "disk")
    assert disk["value"] == 5000.0


def test_non_finite_values_serialise_as_null() -> None:
    report = evaluate(base(loop_lag_p99_ms=float("inf")), CFG)
    assert report.level is CRIT
    data = json.loads(report.to_json())
    assert next(c for c in data["checks"] if c["name"] == "loop_lag")["value"] is None


def test_inputs_from_engine_status() -> None:
    now = TS + 3_000_000_000
    status = EngineStatus(
        mode=TradingMode.PAPER,
        running=True,
        feeds=(
            FeedHealth("BTC-USD", True, now - 5_000_000, "ok"),
            FeedHealth("ETH-USD", False, now - 3_000_000_000, "no data for 3.0 s"),
            FeedHealth("SOL-USD", False, now - 1_000_000, "stale: gap at seq 9"),
            FeedHealth("XRP-USD", False, None, "no data yet"),
        ),
        loop_lag_p99_ms=3.5,
        store="sqlite ERROR: disk I/O error",
        store_ok=False,
        kill_switch=KillSwitchView(True, "operator halt", TS, "tui"),
        fills=0,
    )
    inputs = inputs_from_status(status, now)
    assert inputs.ts_ns == now
    assert inputs.feeds == (
        FeedInput("BTC-USD", 5.0),
        FeedInput("ETH-USD", 3000.0),
        FeedInput("SOL-USD", 1.0, True, "gap at seq 9"),
        FeedInput("XRP-USD", None),
    )
    assert inputs.venue_paper
    assert inputs.store_error == "sqlite ERROR: disk I/O error"
    assert (inputs.kill_switch_engaged, inputs.kill_switch_reason) == (True, "operator halt")
    report = evaluate(inputs, CFG)
    assert report.check("feed:ETH-USD").level is WARN  # type: ignore[union-attr]
    assert report.check("store").level is CRIT  # type: ignore[union-attr]
    assert report.check("loop_lag").value == 3.5  # type: ignore[union-attr]


def test_disk_free_and_timed_write_helpers(tmp_path: Path) -> None:
    free = disk_free_mb(tmp_path / "not" / "made" / "yet")
    assert free is not None
    assert free > 0
    ms, error = timed_write(lambda: (tmp_path / "probe").write_text("x"))
    assert error == ""
    assert ms is not None
    assert ms >= 0

    def broken() -> None:
        raise OSError("disk I/O error")

    assert timed_write(broken) == (None, "disk I/O error")


def test_config_problems_name_the_key() -> None:
    assert CFG.problems() == []
    bad = MonitoringConfig(http_port=70000, loop_lag_warn_ms=200.0, disk_free_crit_mb=5000)
    problems = bad.problems()
    assert len(problems) == 3
    assert any("monitoring.http_port" in p for p in problems)
    assert any("monitoring.loop_lag" in p for p in problems)
    assert any("monitoring.disk_free_warn_mb" in p for p in problems)
