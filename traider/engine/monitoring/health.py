"""Health checks: pure functions from a frozen `HealthInputs` snapshot to graded `Check`s.

The engine fills `HealthInputs` on its own loop (cheap reads, plus a timed probe write to
the store and a disk-usage call made off the hot path) and `evaluate` grades it; nothing
here touches the engine, so every check is testable on its own. The report's level is the
worst check's: OK and WARN are "ready" (a WARN is something the operator must see, such as
an engaged kill switch), CRIT is not.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from traider.engine.core.types import TradingMode
from traider.engine.monitoring.config import MonitoringConfig
from traider.engine.view import EngineStatus

NANOS_PER_MS = 1_000_000


class HealthLevel(IntEnum):
    """Ordered: `max()` of levels is the worst."""

    OK = 0
    WARN = 1
    CRIT = 2


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "feed:BTC-USD", "venue", "store", ...
    level: HealthLevel
    detail: str  # one line for a human
    value: float | None = None  # the measured number behind the level, in the check's unit


@dataclass(frozen=True, slots=True)
class FeedInput:
    symbol: str
    age_ms: float | None  # since the book's last update; None: no data yet
    stale: bool = False  # the book says it cannot be trusted (gap, crossed) until resynced
    stale_reason: str = ""


@dataclass(frozen=True, slots=True)
class HealthInputs:
    """What the checks look at. Optional measures left None read as "not configured" or
    "not measured" and grade OK, so a deployment without a twin is not unhealthy."""

    ts_ns: int
    feeds: tuple[FeedInput, ...] = ()
    venue_status: str = "paper venue"
    venue_ok: bool = True  # connected and authenticated
    venue_paper: bool = True  # the paper venue is always ok
    reconcile_mismatches: int | None = None  # unresolved differences; None: not run yet
    reconcile_detail: str = ""
    store_write_ms: float | None = None  # last probe write; None: not probed yet
    store_error: str = ""  # non-empty: the last write (probe or journal) failed
    replication_lag_ms: float | None = None  # None: no replication configured
    twin_status: str | None = None  # None: no twin configured
    twin_ok: bool = True
    loop_lag_p99_ms: float = 0.0
    clock_drift_ms: float | None = None  # local clock minus venue/NTP; None: not measured
    disk_free_mb: float | None = None  # free space under TRAIDER_HOME; None: not measured
    model_age_h: float | None = None  # hours since the model was trained; None: no model
    alerts_pending: int | None = None  # alert service backlog; None: no alert service
    alerts_dead: int = 0  # alerts given up on (never delivered)
    kill_switch_engaged: bool = False
    kill_switch_reason: str = ""


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: tuple[Check, ...]
    level: HealthLevel
    ts_ns: int

    @property
    def ready(self) -> bool:
        return self.level < HealthLevel.CRIT

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.name,
            "checks": [
                {
                    "name": c.name,
                    "level": c.level.name,
                    "detail": c.detail,
                    "value": c.value if c.value is not None and math.isfinite(c.value) else None,
                }
                for c in self.checks
            ],
            "ts_ns": self.ts_ns,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


# --- grading helpers -----------------------------------------------------------------------


def grade_high(value: float, warn: float, crit: float) -> HealthLevel:
    """Higher is worse: WARN at or above `warn`, CRIT at or above `crit`."""
    if value >= crit:
        return HealthLevel.CRIT
    if value >= warn:
        return HealthLevel.WARN
    return HealthLevel.OK


def grade_low(value: float, warn: float, crit: float) -> HealthLevel:
    """Lower is worse: WARN below `warn`, CRIT below `crit`."""
    if value < crit:
        return HealthLevel.CRIT
    if value < warn:
        return HealthLevel.WARN
    return HealthLevel.OK


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.1f} ms"


# --- the checks ----------------------------------------------------------------------------


def check_feed(feed: FeedInput, config: MonitoringConfig) -> Check:
    name = f"feed:{feed.symbol}"
    if feed.age_ms is None:
        detail = f"stale: {feed.stale_reason}; no data yet" if feed.stale else "no data yet"
        return Check(name, HealthLevel.WARN, detail, None)
    level = grade_high(feed.age_ms, config.feed_stale_warn_ms, config.feed_stale_crit_ms)
    age = f"last update {_ms(feed.age_ms)} ago"
    if feed.stale:
        return Check(
            name, max(level, HealthLevel.WARN), f"stale: {feed.stale_reason}; {age}", feed.age_ms
        )
    return Check(name, level, "ok" if level is HealthLevel.OK else age, feed.age_ms)


def check_feeds(inputs: HealthInputs, config: MonitoringConfig) -> list[Check]:
    return [check_feed(feed, config) for feed in inputs.feeds]


def check_venue(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    if inputs.venue_paper:
        return Check("venue", HealthLevel.OK, inputs.venue_status or "paper venue")
    level = HealthLevel.OK if inputs.venue_ok else HealthLevel.CRIT
    return Check("venue", level, inputs.venue_status)


def check_reconcile(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    n = inputs.reconcile_mismatches
    if n is None:
        return Check("reconcile", HealthLevel.OK, "not run yet")
    if n == 0:
        return Check("reconcile", HealthLevel.OK, inputs.reconcile_detail or "in sync", 0.0)
    detail = f"{n} mismatch{'es' if n != 1 else ''} with the venue"
    if inputs.reconcile_detail:
        detail += f": {inputs.reconcile_detail}"
    return Check("reconcile", HealthLevel.CRIT, detail, float(n))


def check_store(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    if inputs.store_error:
        return Check("store", HealthLevel.CRIT, f"write failed: {inputs.store_error}")
    ms = inputs.store_write_ms
    if ms is None:
        return Check("store", HealthLevel.OK, "not probed yet")
    level = grade_high(ms, config.store_write_warn_ms, config.store_write_crit_ms)
    return Check("store", level, f"probe write {_ms(ms)}", ms)


def check_replication(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    lag = inputs.replication_lag_ms
    if lag is None:
        return Check("replication", HealthLevel.OK, "not configured")
    level = grade_high(lag, config.replication_lag_warn_ms, config.replication_lag_crit_ms)
    return Check("replication", level, f"lag {_ms(lag)}", lag)


def check_twin(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    if inputs.twin_status is None:
        return Check("twin", HealthLevel.OK, "not configured")
    # a lost standby means no failover, not that trading is broken: seen, not paged
    level = HealthLevel.OK if inputs.twin_ok else HealthLevel.WARN
    return Check("twin", level, inputs.twin_status)


def check_loop_lag(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    lag = inputs.loop_lag_p99_ms
    level = grade_high(lag, config.loop_lag_warn_ms, config.loop_lag_crit_ms)
    return Check("loop_lag", level, f"p99 {_ms(lag)}", lag)


def check_clock_drift(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    drift = inputs.clock_drift_ms
    if drift is None:
        return Check("clock_drift", HealthLevel.OK, "not measured")
    level = grade_high(abs(drift), config.clock_drift_warn_ms, config.clock_drift_crit_ms)
    return Check("clock_drift", level, f"{drift:+.1f} ms", drift)


def check_disk(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    free = inputs.disk_free_mb
    if free is None:
        return Check("disk", HealthLevel.OK, "not measured")
    level = grade_low(free, config.disk_free_warn_mb, config.disk_free_crit_mb)
    return Check("disk", level, f"{free:,.0f} MB free", free)


def check_model(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    age = inputs.model_age_h
    if age is None:
        return Check("model", HealthLevel.OK, "no model")
    level = HealthLevel.WARN if age >= config.model_stale_warn_h else HealthLevel.OK
    return Check("model", level, f"trained {age:.1f} h ago", age)


def check_alerts(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    pending = inputs.alerts_pending
    if pending is None:
        return Check("alerts", HealthLevel.OK, "not configured")
    level = grade_high(pending, config.alert_backlog_warn, config.alert_backlog_crit)
    detail = f"{pending} pending"
    if inputs.alerts_dead:
        level = max(level, HealthLevel.WARN)
        detail += f", {inputs.alerts_dead} undeliverable"
    return Check("alerts", level, detail, float(pending))


def check_kill_switch(inputs: HealthInputs, config: MonitoringConfig) -> Check:
    if not inputs.kill_switch_engaged:
        return Check("kill_switch", HealthLevel.OK, "not engaged", 0.0)
    # halted is a state the operator must see, not a failure of the process
    reason = inputs.kill_switch_reason or "no reason given"
    return Check("kill_switch", HealthLevel.WARN, f"ENGAGED: {reason}", 1.0)


SINGLE_CHECKS: tuple[Callable[[HealthInputs, MonitoringConfig], Check], ...] = (
    check_kill_switch,
    check_venue,
    check_reconcile,
    check_store,
    check_replication,
    check_twin,
    check_loop_lag,
    check_clock_drift,
    check_disk,
    check_model,
    check_alerts,
)


def evaluate(inputs: HealthInputs, config: MonitoringConfig) -> HealthReport:
    """Every check in a stable order (kill switch, feeds by symbol, then the rest)."""
    checks = [check_kill_switch(inputs, config), *check_feeds(inputs, config)]
    checks.extend(check(inputs, config) for check in SINGLE_CHECKS[1:])
    level = max((c.level for c in checks), default=HealthLevel.OK)
    return HealthReport(tuple(checks), level, inputs.ts_ns)


# --- helpers for the engine that fills the inputs ------------------------------------------


def inputs_from_status(status: EngineStatus, now_ns: int) -> HealthInputs:
    """The part of `HealthInputs` an `EngineStatus` already knows: feeds, store state,
    loop lag, kill switch, paper venue. Add the rest with `dataclasses.replace`."""
    feeds = []
    for feed in status.feeds:
        age = None if feed.last_update_ns is None else (now_ns - feed.last_update_ns) / 1e6
        stale = feed.detail.startswith("stale")
        reason = feed.detail.removeprefix("stale:").strip() if stale else ""
        feeds.append(FeedInput(feed.symbol, age, stale, reason))
    ks = status.kill_switch
    return HealthInputs(
        ts_ns=now_ns,
        feeds=tuple(feeds),
        venue_status=f"{status.mode.value.lower()} venue",
        venue_paper=status.mode is TradingMode.PAPER,
        store_error="" if status.store_ok else status.store,
        loop_lag_p99_ms=status.loop_lag_p99_ms,
        kill_switch_engaged=ks.engaged,
        kill_switch_reason=ks.reason,
    )


def disk_free_mb(path: Path) -> float | None:
    """Free space on the file system holding `path` (its nearest existing parent)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free / (1024 * 1024)
            except OSError:
                return None
    return None


def timed_write(write: Callable[[], object]) -> tuple[float | None, str]:
    """Run a probe write; (milliseconds, "") on success, (None, error text) on failure."""
    start = time.perf_counter()
    try:
        write()
    except Exception as exc:  # the probe reports any failure rather than raising
        return None, str(exc) or type(exc).__name__
    return (time.perf_counter() - start) * 1000, ""
