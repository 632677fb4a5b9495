"""The engine's operations side: metrics, health, the HTTP endpoints, alert delivery.

Everything here reads the engine through its views and the bus; nothing here may slow the
trading loop. Health is evaluated on the loop once a second into an immutable report; the
HTTP thread and the Prometheus scrape only read the cached report and snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import TYPE_CHECKING

from traider.engine.core.events import Alert
from traider.engine.monitoring.health import (
    HealthInputs,
    HealthReport,
    disk_free_mb,
    evaluate,
    inputs_from_status,
    timed_write,
)
from traider.engine.monitoring.http import LoopHeartbeat, MonitoringServer
from traider.engine.monitoring.metrics import EngineMetrics, MetricsRecorder, snapshot_from_views

if TYPE_CHECKING:
    from traider.engine.alerts.service import AlertService
    from traider.engine.engine import Engine

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 1.0
STORE_PROBE_EVERY = 30  # health rounds between probe writes (each one syncs to disk)
PROBE_WHEN_IDLE_S = 60.0  # measure real journal writes; probe only when there were none


class EngineMonitor:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.config = engine.config.monitoring
        self.metrics = EngineMetrics()
        self.recorder = MetricsRecorder(engine.bus, self.metrics, symbol_of=self._symbol_of)
        self.heartbeat = LoopHeartbeat()
        self.report: HealthReport = evaluate(
            HealthInputs(ts_ns=engine.clock.timestamp_ns()), self.config
        )
        self.server: MonitoringServer | None = None
        self.alerts: AlertService | None = None
        self._store_ms: float | None = None
        self._store_err = ""
        self._round = 0
        engine.bus.subscribe(Alert, self._on_alert)

    def _symbol_of(self, client_order_id: str) -> str | None:
        order = self._engine.orders.orders.get(client_order_id)
        return order.intent.symbol if order is not None else None

    # --- alerts ----------------------------------------------------------------------------

    def attach_alerts(self, service: AlertService) -> None:
        self.alerts = service

    def _on_alert(self, alert: Alert) -> None:
        if self.alerts is not None:
            self.alerts.submit(alert)  # policy + durable outbox only: never the network

    # --- health ----------------------------------------------------------------------------

    def evaluate_health(self) -> HealthReport:
        engine = self._engine
        now = engine.clock.timestamp_ns()
        orders = engine.orders
        recent = time.monotonic() - orders.last_journal_at < PROBE_WHEN_IDLE_S
        if recent and orders.last_journal_ms is not None:
            self._store_ms, self._store_err = orders.last_journal_ms, ""  # real writes
        elif self._round % STORE_PROBE_EVERY == 0 and orders.store_ok:
            # no order traffic to measure: a probe write (it syncs to disk, so rarely)
            self._store_ms, self._store_err = timed_write(
                lambda: engine.store.set_meta("health_probe", str(now))
            )
        self._round += 1
        status = engine.status()
        base = inputs_from_status(status, now)
        pending = dead = None
        if self.alerts is not None:
            stats = self.alerts.stats()
            pending, dead = stats.pending, stats.dead
        inputs = dataclasses.replace(
            base,
            disk_free_mb=disk_free_mb(engine.home),
            store_write_ms=self._store_ms,
            store_error=base.store_error or self._store_err,
            reconcile_mismatches=0,
            alerts_pending=pending,
            alerts_dead=dead or 0,
        )
        self.report = evaluate(inputs, self.config)
        self.metrics.update_snapshot(
            snapshot_from_views(
                engine.pnl(), engine.positions(), engine.risk(), status, int(self.report.level)
            )
        )
        return self.report

    async def run(self) -> None:
        while True:
            self.evaluate_health()
            await asyncio.sleep(HEALTH_EVERY_S)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[None]]:
        tasks = [
            loop.create_task(self.heartbeat.run(), name="heartbeat"),
            loop.create_task(self.run(), name="health"),
        ]
        if self.config.http_port:
            server = MonitoringServer(
                self.config.http_host,
                self.config.http_port,
                lambda: self.report,
                self.metrics,
                self.heartbeat,
            )
            try:
                server.start()
                self.server = server
            except OSError as exc:  # the engine trades on; the operator must know
                self._engine.bus.publish(
                    _warning(
                        self._engine,
                        f"monitoring HTTP server not started on "
                        f"{self.config.http_host}:{self.config.http_port}: {exc}",
                    )
                )
        if self.alerts is not None:
            self.alerts.start()
        return tasks

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.alerts is not None:
            self.alerts.stop()

    def observe_book_to_strategy(self, started: float) -> None:
        self.metrics.book_to_strategy_seconds.observe(time.perf_counter() - started)

    def observe_submit_to_wire(self, seconds: float) -> None:
        self.metrics.order_submit_to_wire_seconds.observe(seconds)


def _warning(engine: Engine, message: str) -> Alert:
    from traider.engine.core.types import Severity

    now = engine.clock.timestamp_ns()
    return Alert(now, now, Severity.WARNING, "monitoring", message)


class ReportRunner:
    """The daemon's scheduled reports: built in a worker thread from the journal, sent to
    Slack through the alert outbox, remembered in the store so nothing is sent twice."""

    CHECK_EVERY_S = 60.0

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.sent: list[str] = []

    def run_due(self) -> list[str]:
        """Build and send what is due now (blocking: call it off the loop)."""
        from traider.engine.analytics.reports import build_report, send_report
        from traider.engine.analytics.schedule import due_reports

        engine = self._engine
        cfg = engine.config.reports
        store = engine.store
        last = {p: store.get_meta(f"report:{p}:last") for p in ("daily", "weekly")}
        done = []
        for due in due_reports(engine.clock.timestamp_ns(), cfg, last):
            report = build_report(
                engine.config.sqlite_path,
                due.period,  # type: ignore[arg-type]
                due.end_ns,
                engine.home / "reports",
            )
            alerts = engine.monitor.alerts
            if report.activity and cfg.send_to_slack and alerts is not None:
                send_report(report, alerts)
            store.set_meta(due.meta_key, due.label)
            done.append(f"{due.period} {due.label}")
        self.sent.extend(done)
        return done

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.run_due)
            except Exception as exc:  # a report must never take the engine down
                log.exception("scheduled report failed")
                self._engine.bus.publish(_warning(self._engine, f"scheduled report failed: {exc}"))
            await asyncio.sleep(self.CHECK_EVERY_S)
