"""Prometheus metrics for one engine, in a registry of its own.

`EngineMetrics` owns a private `CollectorRegistry` (never the process-global default), so
tests and two engines in one process never collide. Counters are bumped from bus events by
`MetricsRecorder` (one `inc` per event, label children cached); latency histograms are
observed by the engine's hot path; point-in-time gauges (P&L, exposure, VaR, loop lag,
kill switch, health) come from a `MetricsSnapshot` read at scrape time, on the HTTP
thread, so the snapshot must be an immutable value the loop hands over, never a live view.

Names carry the `traider_` prefix and their unit (`_seconds`, `_usd`, `_total`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from traider.engine.core.bus import MessageBus
from traider.engine.core.events import (
    Alert,
    BookResynced,
    BookStale,
    Event,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from traider.engine.core.types import Severity
from traider.engine.view import EngineStatus, PnlView, PositionView, RiskView

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
K = TypeVar("K")

# 1 µs .. 100 ms, roughly 1-2.5-5 per decade
LATENCY_BUCKETS_S: tuple[float, ...] = (
    1e-6, 2.5e-6, 5e-6,
    1e-5, 2.5e-5, 5e-5,
    1e-4, 2.5e-4, 5e-4,
    1e-3, 2.5e-3, 5e-3,
    1e-2, 2.5e-2, 5e-2,
    0.1,
)  # fmt: skip

# denial reason text -> a small fixed label set (free text never becomes a label);
# first match wins, so the more specific needles come first
_DENIAL_NEEDLES: tuple[tuple[str, str], ...] = (
    ("kill switch", "kill_switch"),
    ("daily loss", "daily_loss"),
    ("drawdown", "drawdown"),
    ("var limit", "var"),
    ("correlation", "correlation"),
    ("position limit", "position"),
    ("rate limit", "rate"),
    ("bps from mid", "band"),
    ("notional", "notional"),
    ("stale", "stale"),
    ("store", "store"),
    ("quantity", "invalid"),
    ("limit price", "invalid"),
    ("unknown symbol", "invalid"),
)
DENIAL_KINDS: tuple[str, ...] = (*dict.fromkeys(kind for _, kind in _DENIAL_NEEDLES), "other")


def classify_denial(reason: str) -> str:
    """One of `DENIAL_KINDS` for a pre-trade denial reason."""
    text = reason.lower()
    for needle, kind in _DENIAL_NEEDLES:
        if needle in text:
            return kind
    return "other"


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """Point-in-time values exported as gauges; built on the loop, read by the scraper."""

    equity_usd: float = 0.0
    cash_usd: float = 0.0
    realized_pnl_usd: float = 0.0
    unrealized_pnl_usd: float = 0.0
    fees_usd: float = 0.0
    day_pnl_usd: float = 0.0
    exposure_usd: tuple[tuple[str, float], ...] = ()  # (symbol, signed USD)
    var_usd: tuple[tuple[str, float], ...] = ()  # (method, loss positive)
    loop_lag_p99_seconds: float = 0.0
    kill_switch_engaged: bool = False
    health_level: int = 0  # HealthLevel: 0 OK, 1 WARN, 2 CRIT


def snapshot_from_views(
    pnl: PnlView,
    positions: Iterable[PositionView],
    risk: RiskView,
    status: EngineStatus,
    health_level: int,
) -> MetricsSnapshot:
    """The gauges from the engine's read-only views (call on the loop)."""
    exposure = tuple(
        (p.symbol, float(p.quantity * p.mark_price if p.mark_price is not None else 0))
        for p in positions
    )
    return MetricsSnapshot(
        equity_usd=float(pnl.equity),
        cash_usd=float(pnl.cash),
        realized_pnl_usd=float(pnl.realized),
        unrealized_pnl_usd=float(pnl.unrealized),
        fees_usd=float(pnl.fees),
        day_pnl_usd=float(pnl.day_pnl),
        exposure_usd=exposure,
        var_usd=tuple((line.method, line.var_usd) for line in risk.var),
        loop_lag_p99_seconds=status.loop_lag_p99_ms / 1000,
        kill_switch_engaged=status.kill_switch.engaged,
        health_level=int(health_level),
    )


_SCALARS: tuple[tuple[str, str, str], ...] = (
    ("traider_equity_usd", "Account equity (cash plus marked positions)", "equity_usd"),
    ("traider_cash_usd", "Cash balance", "cash_usd"),
    ("traider_realized_pnl_usd", "Realized P&L", "realized_pnl_usd"),
    ("traider_unrealized_pnl_usd", "Unrealized P&L at the marks", "unrealized_pnl_usd"),
    ("traider_fees_usd", "Fees paid", "fees_usd"),
    ("traider_day_pnl_usd", "P&L against the start of the trading day", "day_pnl_usd"),
    ("traider_loop_lag_p99_seconds", "Event-loop lag, p99", "loop_lag_p99_seconds"),
)


class SnapshotCollector:
    """A custom collector: gauges read from `source()` at scrape time."""

    def __init__(self, source: Callable[[], MetricsSnapshot | None]) -> None:
        self._source = source

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        try:
            snap = self._source()
        except Exception:  # a scrape must never take the exporter down
            log.exception("metrics snapshot failed")
            snap = None
        return self._families(snap)

    @staticmethod
    def _families(snap: MetricsSnapshot | None) -> list[Metric]:
        families: list[Metric] = []
        for name, doc, attr in _SCALARS:
            family = GaugeMetricFamily(name, doc)
            if snap is not None:
                family.add_metric([], float(getattr(snap, attr)))
            families.append(family)
        exposure = GaugeMetricFamily(
            "traider_exposure_usd", "Signed position value at the mark", labels=["symbol"]
        )
        var = GaugeMetricFamily(
            "traider_var_usd", "1-day value at risk (loss positive)", labels=["method"]
        )
        kill = GaugeMetricFamily("traider_kill_switch_engaged", "1 while trading is halted")
        health = GaugeMetricFamily("traider_health_level", "Worst health check: 0 OK 1 WARN 2 CRIT")
        if snap is not None:
            for symbol, usd in snap.exposure_usd:
                exposure.add_metric([symbol], usd)
            for method, usd in snap.var_usd:
                var.add_metric([method], usd)
            kill.add_metric([], 1.0 if snap.kill_switch_engaged else 0.0)
            health.add_metric([], float(snap.health_level))
        families.extend((exposure, var, kill, health))
        return families


class EngineMetrics:
    """Every metric one engine exports, in `self.registry`.

    Gauges: pass `snapshot` (called at each scrape, on the HTTP thread) or leave it out
    and hand the latest value over with `update_snapshot` from the loop.
    """

    def __init__(self, snapshot: Callable[[], MetricsSnapshot | None] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.book_to_strategy_seconds = Histogram(
            "traider_book_to_strategy_seconds",
            "Book update received to strategy handled",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.order_submit_to_wire_seconds = Histogram(
            "traider_order_submit_to_wire_seconds",
            "Order submit called to request on the wire (risk check, journal, send)",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.orders_submitted = Counter(
            "traider_orders_submitted_total", "Orders sent to the venue", ["symbol"], registry=r
        )
        self.orders_denied = Counter(
            "traider_orders_denied_total",
            "Orders refused by pre-trade risk, by kind of reason",
            ["reason_kind"],
            registry=r,
        )
        self.orders_rejected = Counter(
            "traider_orders_rejected_total", "Orders the venue rejected", registry=r
        )
        self.fills = Counter("traider_fills_total", "Fills", ["symbol", "liquidity"], registry=r)
        self.fill_notional_usd = Counter(
            "traider_fill_notional_usd_total", "Filled notional", ["symbol"], registry=r
        )
        self.alerts = Counter("traider_alerts_total", "Alerts raised", ["severity"], registry=r)
        self.book_resyncs = Counter(
            "traider_book_resyncs_total", "Books resynced from a snapshot", ["symbol"], registry=r
        )
        self.book_stale = Counter(
            "traider_book_stale_total", "Books found stale (gap, crossed)", ["symbol"], registry=r
        )
        self.store_write_errors = Counter(
            "traider_store_write_errors_total", "Failed writes to the store", registry=r
        )
        self._latest: MetricsSnapshot | None = None
        self._source = snapshot if snapshot is not None else self.latest_snapshot
        r.register(SnapshotCollector(self._read_snapshot))

    def _read_snapshot(self) -> MetricsSnapshot | None:
        return self._source()

    def update_snapshot(self, snapshot: MetricsSnapshot) -> None:
        """Hand over the latest gauges (an attribute swap: safe across threads)."""
        self._latest = snapshot

    def latest_snapshot(self) -> MetricsSnapshot | None:
        return self._latest

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


SymbolOf = Callable[[str], str | None]


class MetricsRecorder:
    """Counts bus events into `metrics`. Handlers are synchronous and do one or two
    counter increments each: they run on the hot path.

    `symbol_of(client_order_id)` names the symbol of a submitted order (`OrderSubmitted`
    does not carry it); without it, submissions are counted under symbol "unknown".
    """

    def __init__(
        self, bus: MessageBus, metrics: EngineMetrics, symbol_of: SymbolOf | None = None
    ) -> None:
        self._bus = bus
        self.metrics = metrics
        self._symbol_of = symbol_of
        m = metrics
        self._submitted: _Children[str] = _Children(lambda s: m.orders_submitted.labels(symbol=s))
        self._denied = {k: m.orders_denied.labels(reason_kind=k) for k in DENIAL_KINDS}
        self._fills: _Children[tuple[str, str]] = _Children(
            lambda k: m.fills.labels(symbol=k[0], liquidity=k[1])
        )
        self._notional: _Children[str] = _Children(lambda s: m.fill_notional_usd.labels(symbol=s))
        self._alerts = {s: m.alerts.labels(severity=s.value.lower()) for s in Severity}
        self._resyncs: _Children[str] = _Children(lambda s: m.book_resyncs.labels(symbol=s))
        self._stale: _Children[str] = _Children(lambda s: m.book_stale.labels(symbol=s))
        self._unsubscribe: list[Callable[[], None]] = []
        self._subscribe(OrderSubmitted, self.on_submitted)
        self._subscribe(OrderDenied, self.on_denied)
        self._subscribe(OrderRejected, self.on_rejected)
        self._subscribe(OrderFilled, self.on_filled)
        self._subscribe(Alert, self.on_alert)
        self._subscribe(BookResynced, self.on_resynced)
        self._subscribe(BookStale, self.on_stale)

    def _subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._bus.subscribe(event_type, handler)
        self._unsubscribe.append(lambda: self._bus.unsubscribe(event_type, handler))

    def close(self) -> None:
        """Stop counting (unsubscribe every handler)."""
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe.clear()

    # --- handlers ---------------------------------------------------------------------------

    def on_submitted(self, event: OrderSubmitted) -> None:
        symbol = self._symbol_of(event.client_order_id) if self._symbol_of else None
        self._submitted.get(symbol or "unknown").inc()

    def on_denied(self, event: OrderDenied) -> None:
        self._denied[classify_denial(event.reason)].inc()

    def on_rejected(self, event: OrderRejected) -> None:
        self.metrics.orders_rejected.inc()

    def on_filled(self, event: OrderFilled) -> None:
        self._fills.get((event.symbol, event.liquidity.value.lower())).inc()
        self._notional.get(event.symbol).inc(float(event.quantity * event.price))

    def on_alert(self, event: Alert) -> None:
        self._alerts[event.severity].inc()
        if event.source == "store" and event.severity is Severity.CRITICAL and not event.resolve:
            self.metrics.store_write_errors.inc()

    def on_resynced(self, event: BookResynced) -> None:
        self._resyncs.get(event.symbol).inc()

    def on_stale(self, event: BookStale) -> None:
        self._stale.get(event.symbol).inc()


class _Children(Generic[K]):
    """Label children cached by key: the hot path skips prometheus_client's label lock."""

    def __init__(self, make: Callable[[K], Counter]) -> None:
        self._make = make
        self._cache: dict[K, Counter] = {}

    def get(self, key: K) -> Counter:
        child = self._cache.get(key)
        if child is None:
            child = self._cache[key] = self._make(key)
        return child
