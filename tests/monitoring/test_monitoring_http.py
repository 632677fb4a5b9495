"""The monitoring HTTP server on 127.0.0.1 with a free port: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import SimClock
from traider.engine.core.events import OrderFilled
from traider.engine.core.types import Liquidity, Side
from traider.engine.monitoring.config import MonitoringConfig
from traider.engine.monitoring.health import HealthInputs, HealthReport, evaluate
from traider.engine.monitoring.http import LoopHeartbeat, MonitoringServer
from traider.engine.monitoring.metrics import EngineMetrics, MetricsRecorder

T = 1_700_000_000_000_000_000


@dataclass
class State:
    live: bool = True
    inputs: HealthInputs = field(default_factory=lambda: HealthInputs(ts_ns=T))

    def report(self) -> HealthReport:
        return evaluate(self.inputs, MonitoringConfig())


@pytest.fixture
def state() -> State:
    return State()


@pytest.fixture
def metrics() -> EngineMetrics:
    return EngineMetrics()


@pytest.fixture
def server(state: State, metrics: EngineMetrics) -> Iterator[MonitoringServer]:
    srv = MonitoringServer("127.0.0.1", 0, state.report, metrics, lambda: state.live)
    srv.start()
    yield srv
    srv.stop()


def get(server: MonitoringServer, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers["Content-Type"], err.read().decode()


def test_port_zero_picks_a_free_port(server: MonitoringServer) -> None:
    assert server.port > 0
    assert server.running
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_healthz_follows_live(server: MonitoringServer, state: State) -> None:
    assert get(server, "/healthz")[0] == 200
    state.live = False
    code, _, body = get(server, "/healthz")
    assert code == 503
    assert "not live" in body


def test_readyz_is_200_with_the_report_until_crit(server: MonitoringServer, state: State) -> None:
    code, ctype, body = get(server, "/readyz")
    assert code == 200
    assert ctype == "application/json"
    data = json.loads(body)
    assert list(data) == ["level", "checks", "ts_ns"]
    assert data["level"] == "OK"

    state.inputs = HealthInputs(ts_ns=T, kill_switch_engaged=True, kill_switch_reason="manual")
    code, _, body = get(server, "/readyz")
    assert code == 200  # halted is WARN: seen, still ready
    assert json.loads(body)["level"] == "WARN"

    state.inputs = HealthInputs(ts_ns=T, store_error="disk I/O error")
    code, _, body = get(server, "/readyz")
    assert code == 503
    data = json.loads(body)
    assert data["level"] == "CRIT"
    store = next(c for c in data["checks"] if c["name"] == "store")
    assert store["level"] == "CRIT"
    assert "disk I/O error" in store["detail"]


def test_readyz_is_503_when_the_report_cannot_be_made(metrics: EngineMetrics) -> None:
    def broken() -> HealthReport:
        raise RuntimeError("no report")

    srv = MonitoringServer("127.0.0.1", 0, broken, metrics, lambda: True)
    srv.start()
    try:
        code, _, body = get(srv, "/readyz")
    finally:
        srv.stop()
    assert code == 503
    assert json.loads(body)["level"] == "CRIT"


def test_metrics_has_fills_after_a_fill_event(
    server: MonitoringServer, metrics: EngineMetrics
) -> None:
    bus = MessageBus(SimClock())
    MetricsRecorder(bus, metrics)
    code, ctype, body = get(server, "/metrics")
    assert code == 200
    assert ctype.startswith("text/plain")
    assert "traider_fills_total{" not in body
    bus.publish(
        OrderFilled(
            ts_event=T,
            ts_init=T,
            client_order_id="c1",
            venue_order_id="v1",
            trade_id="t1",
            symbol="ETH-USD",
            side=Side.SELL,
            quantity=Decimal("0.5"),
            price=Decimal("3000"),
            fee=Decimal("0.3"),
            liquidity=Liquidity.MAKER,
        )
    )
    _, _, body = get(server, "/metrics")
    assert 'traider_fills_total{liquidity="maker",symbol="ETH-USD"} 1.0' in body
    assert "traider_orders_rejected_total 0.0" in body


def test_unknown_path_is_404(server: MonitoringServer) -> None:
    assert get(server, "/nope")[0] == 404


def test_stop_is_idempotent_and_frees_the_port(state: State, metrics: EngineMetrics) -> None:
    srv = MonitoringServer("127.0.0.1", 0, state.report, metrics, lambda: True)
    srv.start()
    port = srv.port
    srv.stop()
    srv.stop()
    assert not srv.running
    again = MonitoringServer("127.0.0.1", port, state.report, metrics, lambda: True)
    again.start()
    try:
        assert get(again, "/healthz")[0] == 200
    finally:
        again.stop()


async def test_loop_heartbeat_says_live_while_the_loop_beats() -> None:
    beat = LoopHeartbeat(max_silence_s=0.2, interval_s=0.01)
    assert not beat()
    task = asyncio.get_running_loop().create_task(beat.run())
    await asyncio.sleep(0.05)
    assert beat()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.3)
    assert not beat()
