"""EngineMetrics in its own registry; MetricsRecorder counting real bus events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from traider.config import load_config
from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import NANOS_PER_MILLI, SimClock
from traider.engine.core.events import (
    Alert,
    BookResynced,
    BookStale,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from traider.engine.core.types import Liquidity, Severity, Side, TradingMode
from traider.engine.engine import Engine
from traider.engine.monitoring.metrics import (
    DENIAL_KINDS,
    EngineMetrics,
    MetricsRecorder,
    MetricsSnapshot,
    classify_denial,
    snapshot_from_views,
)
from traider.engine.view import (
    EMPTY_RISK,
    EngineStatus,
    KillSwitchView,
    PnlView,
    PositionView,
    VarLine,
)

T = 1_700_000_000_000_000_000


def samples(metrics: EngineMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(metrics: EngineMetrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


def fill(symbol: str = "BTC-USD", qty: str = "0.01", price: str = "50000") -> OrderFilled:
    return OrderFilled(
        T, T, "c1", "v1", "t1", symbol, Side.BUY, Decimal(qty), Decimal(price),
        Decimal("0.1"), Liquidity.TAKER,
    )  # fmt: skip


@pytest.fixture
def bus() -> MessageBus:
    return MessageBus(SimClock())


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("kill switch engaged: no new orders", "kill_switch"),
        ("daily loss limit: day P&L -101.00 <= -2.0% of capital", "daily_loss"),
        ("drawdown control: no new risk (halted)", "drawdown"),
        ("VaR limit: 95% 1-day VaR would be 60.00 USD > 50.00 USD (1% of capital)", "var"),
        ("correlation limit: ETH-USD + SOL-USD long 1200 USD > 1000 USD", "correlation"),
        ("position limit: BTC-USD would be 1200.00 USD > 20% of equity (1000.00)", "position"),
        ("order rate limit: more than 5/s", "rate"),
        ("limit 51000 is 200 bps from mid 50000.00; band is 150 bps", "band"),
        ("order notional 600.00 > max 500.00 USD", "notional"),
        ("notional 0.50 below the venue minimum 1", "notional"),
        ("BTC-USD book is stale or empty: not trading it", "stale"),
        ("store unavailable: not sending", "store"),
        ("store write failed: not sending", "store"),
        ("quantity 0 is not a positive multiple of 0.0001", "invalid"),
        ("limit price 1.234 is not a positive multiple of 0.01", "invalid"),
        ("unknown symbol DOGE-USD", "invalid"),
        ("no venue", "other"),
        ("", "other"),
    ],
)
def test_denial_reasons_map_to_a_small_fixed_set(reason: str, kind: str) -> None:
    assert classify_denial(reason) == kind
    assert kind in DENIAL_KINDS


def test_each_engine_has_its_own_registry() -> None:
    a, b = EngineMetrics(), EngineMetrics()
    assert a.registry is not b.registry
    a.orders_rejected.inc()
    assert value(a, "traider_orders_rejected_total") == 1.0
    assert value(b, "traider_orders_rejected_total") == 0.0
    assert REGISTRY.get_sample_value("traider_orders_rejected_total") is None


def test_recorder_counts_bus_events(bus: MessageBus) -> None:
    metrics = EngineMetrics()
    symbols = {"c1": "BTC-USD"}
    recorder = MetricsRecorder(bus, metrics, symbol_of=symbols.get)
    bus.publish(OrderSubmitted(T, T, "c1"))
    bus.publish(OrderSubmitted(T, T, "c-unknown"))
    bus.publish(OrderDenied(T, T, "c2", "ETH-USD", "kill switch engaged: no new orders"))
    bus.publish(OrderDenied(T, T, "c3", "ETH-USD", "order rate limit: more than 5/s"))
    bus.publish(OrderDenied(T, T, "c4", "ETH-USD", "something new and unexpected"))
    bus.publish(OrderRejected(T, T, "c1", "insufficient funds"))
    bus.publish(fill())
    bus.publish(fill(qty="0.02", price="50000"))
    bus.publish(Alert(T, T, Severity.CRITICAL, "store", "store write failed: disk full"))
    bus.publish(Alert(T, T, Severity.INFO, "engine", "started"))
    bus.publish(BookStale(T, T, "SOL-USD", "gap"))
    bus.publish(BookResynced(T, T, "SOL-USD", 42))

    assert value(metrics, "traider_orders_submitted_total", symbol="BTC-USD") == 1
    assert value(metrics, "traider_orders_submitted_total", symbol="unknown") == 1
    assert value(metrics, "traider_orders_denied_total", reason_kind="kill_switch") == 1
    assert value(metrics, "traider_orders_denied_total", reason_kind="rate") == 1
    assert value(metrics, "traider_orders_denied_total", reason_kind="other") == 1
    assert value(metrics, "traider_orders_denied_total", reason_kind="var") == 0
    assert value(metrics, "traider_orders_rejected_total") == 1
    assert value(metrics, "traider_fills_total", symbol="BTC-USD", liquidity="taker") == 2
    assert value(metrics, "traider_fill_notional_usd_total", symbol="BTC-USD") == 1500.0
    # the bus itself raises no alerts here: exactly the two published
    assert value(metrics, "traider_alerts_total", severity="critical") == 1
    assert value(metrics, "traider_alerts_total", severity="info") == 1
    assert value(metrics, "traider_store_write_errors_total") == 1
    assert value(metrics, "traider_book_stale_total", symbol="SOL-USD") == 1
    assert value(metrics, "traider_book_resyncs_total", symbol="SOL-USD") == 1
    # free text never becomes a label value
    reasons = {
        dict(labels).get("reason_kind")
        for (name, labels) in samples(metrics)
        if name == "traider_orders_denied_total"
    }
    assert reasons <= set(DENIAL_KINDS)

    recorder.close()
    bus.publish(OrderRejected(T, T, "c1", "again"))
    assert value(metrics, "traider_orders_rejected_total") == 1


def test_recorder_on_a_running_paper_engine() -> None:
    clock = SimClock()
    engine = Engine(load_config(None, {}, environ={}), clock=clock, control_socket=False)
    metrics = EngineMetrics()

    def symbol_of(cid: str) -> str | None:
        order = engine.orders.orders.get(cid)
        return order.intent.symbol if order is not None else None

    MetricsRecorder(engine.bus, metrics, symbol_of=symbol_of)
    engine.boot()
    try:
        for _ in range(600):  # 30 s of simulated market in 50 ms steps
            clock.advance(50 * NANOS_PER_MILLI)
            engine.step()
    finally:
        engine.shutdown()
    got = samples(metrics)
    submitted = sum(v for (n, labels), v in got.items() if n == "traider_orders_submitted_total")
    fills = sum(v for (n, _), v in got.items() if n == "traider_fills_total")
    assert fills >= 1
    assert fills == engine.portfolio.fill_count
    assert submitted >= 1
    assert value(metrics, "traider_orders_submitted_total", symbol="unknown") is None
    denied = sum(v for (n, _), v in got.items() if n == "traider_orders_denied_total")
    assert denied == engine.orders.denied


def test_gauges_come_from_the_snapshot_at_scrape_time() -> None:
    metrics = EngineMetrics()
    assert value(metrics, "traider_equity_usd") is None  # nothing handed over yet
    metrics.update_snapshot(
        MetricsSnapshot(
            equity_usd=5010.5,
            exposure_usd=(("BTC-USD", 500.0), ("ETH-USD", -250.0)),
            var_usd=(("historical", 40.0), ("parametric", 38.0)),
            loop_lag_p99_seconds=0.004,
            kill_switch_engaged=True,
            health_level=1,
        )
    )
    assert value(metrics, "traider_equity_usd") == 5010.5
    assert value(metrics, "traider_exposure_usd", symbol="ETH-USD") == -250.0
    assert value(metrics, "traider_var_usd", method="parametric") == 38.0
    assert value(metrics, "traider_loop_lag_p99_seconds") == 0.004
    assert value(metrics, "traider_kill_switch_engaged") == 1.0
    assert value(metrics, "traider_health_level") == 1.0


def test_a_failing_snapshot_source_does_not_break_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> MetricsSnapshot:
        raise RuntimeError("boom")

    metrics = EngineMetrics(snapshot=broken)
    metrics.orders_rejected.inc()
    assert value(metrics, "traider_orders_rejected_total") == 1.0
    assert value(metrics, "traider_equity_usd") is None
    assert "metrics snapshot failed" in caplog.text


def test_snapshot_from_views() -> None:
    pnl = PnlView(
        Decimal("4000"), Decimal("5100"), Decimal("80"), Decimal("20"), Decimal("3"),
        Decimal("-12.5"),
    )  # fmt: skip
    positions = [
        PositionView("BTC-USD", Decimal("0.02"), Decimal("50000"), Decimal("55000"),
                     Decimal("100"), Decimal("0")),
        PositionView("ETH-USD", Decimal("-1"), Decimal("3000"), None, Decimal("0"),
                     Decimal("0")),
    ]  # fmt: skip
    risk = type(EMPTY_RISK)(
        1, T, 0.95, 1, "sim", (VarLine("historical", 42.0, 55.0),), (), (), (), (), ()
    )
    status = EngineStatus(
        TradingMode.PAPER, True, (), 2.5, "sqlite ok", True,
        KillSwitchView(False, "", None, ""), 0,
    )  # fmt: skip
    snap = snapshot_from_views(pnl, positions, risk, status, 2)
    assert snap.equity_usd == 5100.0
    assert snap.day_pnl_usd == -12.5
    assert snap.exposure_usd == (("BTC-USD", 1100.0), ("ETH-USD", 0.0))
    assert snap.var_usd == (("historical", 42.0),)
    assert snap.loop_lag_p99_seconds == 0.0025
    assert (snap.kill_switch_engaged, snap.health_level) == (False, 2)


def test_latency_histograms_have_microsecond_to_100ms_buckets() -> None:
    metrics = EngineMetrics()
    metrics.book_to_strategy_seconds.observe(3e-6)
    metrics.order_submit_to_wire_seconds.observe(0.2)
    got = samples(metrics)
    buckets = sorted(
        float(dict(labels)["le"])
        for (n, labels) in got
        if n == "traider_book_to_strategy_seconds_bucket"
    )
    assert buckets[0] == 1e-6
    assert buckets[-2] == 0.1
    assert buckets[-1] == float("inf")
    assert value(metrics, "traider_book_to_strategy_seconds_bucket", le="5e-06") == 1
    assert value(metrics, "traider_order_submit_to_wire_seconds_bucket", le="0.1") == 0
    assert value(metrics, "traider_order_submit_to_wire_seconds_count") == 1
