"""The kernel: one place builds the system (paper on the simulated market for now) and
owns its lifecycle. The TUI and the headless daemon only start and stop it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traider.config import Config
from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import NANOS_PER_SECOND, Clock, LiveClock
from traider.engine.core.events import (
    Alert,
    BookDelta,
    BookSnapshot,
    BookStale,
    EquityRecorded,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    TradeTick,
)
from traider.engine.core.ids import ClientOrderIdGenerator
from traider.engine.core.instruments import instrument_for, with_fee_tier
from traider.engine.core.types import Severity, Side, TradingMode
from traider.engine.execution.manager import VENUE_EVENTS, OrderManager
from traider.engine.execution.paper import PaperVenue
from traider.engine.execution.reconcile import reconcile
from traider.engine.features.microstructure import MicrostructureFeatures
from traider.engine.feed_status import engine_status
from traider.engine.marketdata.manager import BookManager
from traider.engine.models.wiring import EngineModelsMixin, build_live_models
from traider.engine.monitoring.feeds import FeedWatch
from traider.engine.monitoring.loop_lag import LoopLagMonitor
from traider.engine.monitoring.wiring import EngineMonitor, ReportRunner
from traider.engine.portfolio import Portfolio
from traider.engine.risk.desk import RiskDesk
from traider.engine.risk.flatten import flatten_all
from traider.engine.risk.kill_service import KillSwitchService
from traider.engine.risk.limits import MarketQuote, PreTradeRisk
from traider.engine.state.sqlite_store import SQLiteStore
from traider.engine.state.store import Store, StoreUnavailable
from traider.engine.strategies.base import Strategy
from traider.engine.strategies.context import EngineStrategyContext
from traider.engine.strategies.factory import build_strategy
from traider.engine.view import (
    BookView,
    EngineStatus,
    PnlView,
    PositionView,
    RiskView,
    models_view_dict,
)
from traider.sim.market import SimulatedMarket

if TYPE_CHECKING:
    from traider.engine.alerts.service import AlertService
    from traider.engine.features.microstructure import FeatureVector
    from traider.engine.monitoring.health import HealthReport
    from traider.engine.risk.service import RiskService

log = logging.getLogger(__name__)

RISK_MONITOR_INTERVAL_S = 0.25
EQUITY_RECORD_EVERY_NS = 60 * NANOS_PER_SECOND
LATENCY_SAMPLE_EVERY = 8  # book-to-strategy latency: every 8th delta (observing costs 1.5 us)
SAVE_MARKS_EVERY_TICKS = 20  # every 5 s


class Engine(EngineModelsMixin):
    """Paper trading engine. Implements `EngineHandle` for the TUI."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        home: Path | None = None,
        control_socket: bool = True,
        venue: PaperVenue | None = None,
    ) -> None:
        self.config = config
        self.home = home or config.home
        self.home.mkdir(parents=True, exist_ok=True)
        self.clock = clock or LiveClock()
        self.bus = MessageBus(self.clock)
        self.store: Store = store or SQLiteStore(config.sqlite_path)
        self.instruments = {
            s: with_fee_tier(
                instrument_for(s), config.engine.maker_fee_bps, config.engine.taker_fee_bps
            )
            for s in config.engine.symbols
        }
        self._symbols = tuple(config.engine.symbols)
        self.portfolio = Portfolio(
            self.instruments, Decimal(str(config.engine.starting_capital_usd))
        )
        self.market = (
            venue.market
            if venue is not None
            else SimulatedMarket(
                list(self.instruments.values()),
                self.clock,
                config.sim.seed,
                levels_per_side=config.sim.levels_per_side,
                events_per_second=config.sim.events_per_second,
            )
        )
        self.books = BookManager(self.bus, self.clock, self._symbols, self._request_snapshot)
        self.kill = KillSwitchService(self, self.home)
        self.pretrade = PreTradeRisk(
            config.risk,
            self.instruments,
            self.portfolio,
            self.clock,
            quote=self._quote,
            working_side=self.orders_working_side,
            kill_engaged=self.kill.is_engaged,
            spot=config.engine.spot,
        )
        self.orders = OrderManager(
            self.bus,
            self.clock,
            self.store,
            self.portfolio,
            self.pretrade,
            ClientOrderIdGenerator(config.engine.epoch),
            self._on_store_failure,
        )
        self.venue = venue or PaperVenue(self.market)
        self.venue.bind(self._route_venue_event)
        self.orders.attach(self.venue)
        self.riskdesk = RiskDesk(self)
        self.monitor = EngineMonitor(self)
        self.reports = ReportRunner(self)
        self.orders.wire_latency = self.monitor.observe_submit_to_wire
        self.features_by_symbol = {
            s: MicrostructureFeatures(s, tick_size=float(self.instruments[s].tick_size))
            for s in self._symbols
        }
        self.strategy: Strategy = build_strategy(
            config.strategy, self._symbols, self.features_by_symbol
        )
        self.context = EngineStrategyContext(self)
        self.live_models = build_live_models(self)  # strategy inputs, never order sources
        self.loop_lag = LoopLagMonitor()
        self.feed_watch = FeedWatch(config.risk.stale_feed_after_ms * 5)
        self._equity_recorded_ns = 0
        self._deltas_seen = 0
        self._trades: deque[TradeTick] = deque(maxlen=200)
        self._alerts: deque[Alert] = deque(maxlen=500)
        self._alerts_version = 0
        self.store_error = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._control: Any = None
        self._use_control_socket = control_socket
        self._wire()

    # --- wiring ----------------------------------------------------------------------------

    def _wire(self) -> None:
        bus = self.bus
        # BookManager subscribed first, so books are updated before the strategy looks
        bus.subscribe(BookDelta, self._on_book_event)
        bus.subscribe(BookSnapshot, self._on_book_event)
        bus.subscribe(TradeTick, self._on_trade)
        bus.subscribe(BookStale, self._on_book_stale)
        bus.subscribe(Alert, self._on_alert)
        bus.subscribe(OrderAccepted, self._on_order_event)
        bus.subscribe(OrderRejected, self._on_order_event)
        bus.subscribe(OrderCanceled, self._on_order_event)
        bus.subscribe(OrderFilled, self._on_order_event)
        bus.subscribe(OrderDenied, self._on_order_event)

    def _route_venue_event(self, event: Event) -> None:
        if isinstance(event, VENUE_EVENTS):
            self.orders.on_venue_event(event)  # journaled first, then published
        elif isinstance(event, BookDelta) and not self.bus.is_dispatching:
            self._deltas_seen += 1
            if self._deltas_seen % LATENCY_SAMPLE_EVERY:
                self.bus.publish(event)
                return
            started = time.perf_counter()  # delta in -> book -> features -> strategy done
            self.bus.publish(event)
            self.monitor.observe_book_to_strategy(started)
        else:
            self.bus.publish(event)

    def _request_snapshot(self, symbol: str) -> None:
        self.bus.publish(self.market.snapshot(symbol))

    def _on_book_event(self, event: BookDelta | BookSnapshot) -> None:
        self.features_by_symbol[event.symbol].on_book(self.books.book(event.symbol), event.ts_event)
        if self.config.strategy.enabled and self._running:
            self.strategy.on_book(event.symbol, event.ts_event)

    def _on_trade(self, trade: TradeTick) -> None:
        self._trades.appendleft(trade)
        features = self.features_by_symbol.get(trade.symbol)
        if features is not None:
            features.on_trade(trade)
        self.live_models.on_trade(trade)
        self.strategy.on_trade(trade)

    def _on_book_stale(self, event: BookStale) -> None:
        self._alert(Severity.WARNING, "marketdata", f"{event.symbol} book stale: {event.reason}")

    def _on_alert(self, alert: Alert) -> None:
        self._alerts.append(alert)
        self._alerts_version += 1

    def _on_order_event(self, event: OrderEvent) -> None:
        self.strategy.on_order_event(event)
        if isinstance(event, OrderDenied):
            self._alert(Severity.WARNING, "risk", f"denied {event.client_order_id}: {event.reason}")
        elif isinstance(event, OrderRejected):
            self._alert(
                Severity.WARNING, "venue", f"rejected {event.client_order_id}: {event.reason}"
            )
        elif isinstance(event, OrderFilled):
            self.portfolio.mark(event.symbol, event.price)

    def _alert(self, severity: Severity, source: str, message: str) -> None:
        now = self.clock.timestamp_ns()
        self.bus.publish(Alert(now, now, severity, source, message))

    def _on_store_failure(self, message: str) -> None:
        """Fail closed: a journal we cannot write means no new orders."""
        self.store_error = message
        self._alert(Severity.CRITICAL, "store", f"store write failed: {message}")
        self.kill.engage(f"store write failed: {message}", source="store", flatten=False)

    # --- market helpers --------------------------------------------------------------------

    def _quote(self, symbol: str) -> MarketQuote | None:
        if symbol not in self.instruments:
            return None
        book = self.books.book(symbol)
        mid = book.mid()
        if mid is None:
            return None
        return MarketQuote(mid, self.books.is_tradeable(symbol))

    def orders_working_side(self, symbol: str, side: Side) -> Decimal:
        return self.orders.working_side(symbol, side)

    def refresh_marks(self) -> None:
        for symbol in self._symbols:
            mid = self.books.book(symbol).mid()
            if mid is not None:
                self.portfolio.mark(symbol, self.instruments[symbol].price_from_float(mid))

    def trading_day(self) -> str:
        from datetime import UTC, datetime

        ts = self.clock.timestamp_ns() / NANOS_PER_SECOND
        return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")

    # --- lifecycle -------------------------------------------------------------------------

    def restore(self) -> int:
        """Rebuild state from the store: kill switch, then replay the journal."""
        self.kill.restore(self.store)
        replayed = self.orders.replay(event for _, event in self.store.journal())
        account = self.store.load_account()
        if account is not None:
            self.portfolio.day = account.day
            self.portfolio.day_start_equity = account.day_start_equity
        return replayed

    def reconcile(self) -> int:
        now = self.clock.timestamp_ns()
        events = reconcile(
            self.orders.open_orders(), self.venue.order_reports(), self.venue.fills_for, now
        )
        for event in events:
            self.orders.on_venue_event(event)
        if events:
            # our journal and the venue disagreed: state was corrected, a person must know
            now = self.clock.timestamp_ns()
            self.bus.publish(
                Alert(
                    now,
                    now,
                    Severity.CRITICAL,
                    "reconcile",
                    f"reconciliation mismatch: {len(events)} order events applied from the venue",
                    dedup_key=f"reconcile-mismatch:{now}",
                )
            )
        return len(events)

    def boot(self) -> None:
        """Everything start() does except background tasks: tests and replay drive `step`."""
        if self._running:
            return
        self.restore()
        if self.riskdesk.service is None:
            self.riskdesk.install(self.riskdesk.build_service())
        self.reconcile()
        self.refresh_marks()
        if self.portfolio.roll_day(self.trading_day()):
            self._save_account()
        for symbol in self._symbols:
            self._request_snapshot(symbol)
        self.refresh_marks()
        self.live_models.boot()
        self.strategy.on_start(self.context)
        self._running = True

    def restore_and_boot(self, service: RiskService) -> None:
        self.riskdesk.install(service)
        self.boot()

    def step(self, now_ns: int | None = None) -> None:
        """Advance the simulated market to `now_ns` (default: the clock) and process it."""
        until = self.clock.timestamp_ns() if now_ns is None else now_ns
        self.venue.forward_market_events(self.market.advance(until))

    async def start(self) -> None:
        if self._running:
            return
        if self._use_control_socket:
            # first: it refuses to start when another engine owns this TRAIDER_HOME, and
            # two engines on one journal would hand out the same client order ids
            from traider.engine.control import ControlServer

            control = ControlServer(self.home, self.handle_control)
            await control.start()
            self._control = control
        # history, covariance, scipy, SDK and model-library imports take a while: off the loop
        loop = asyncio.get_running_loop()
        service, alerts, _ = await asyncio.gather(
            loop.run_in_executor(None, self.riskdesk.build_service),
            loop.run_in_executor(None, self._build_alerts),
            loop.run_in_executor(None, self.live_models.warm_imports, self.config.sqlite_path),
        )
        if alerts is not None:
            self.monitor.attach_alerts(alerts)  # before boot: reconciliation may page
        self.restore_and_boot(service)
        self.kill.start_watcher()
        self._tasks = [
            *self.monitor.start(loop),
            loop.create_task(self.reports.run(), name="reports"),
            loop.create_task(self._market_loop(), name="market"),
            loop.create_task(self.riskdesk.run(), name="risk-refresh"),
            loop.create_task(self.loop_lag.run(), name="loop-lag"),
            loop.create_task(self._risk_monitor(), name="risk-monitor"),
            loop.create_task(self.live_models.run(), name="models"),
        ]
        self._alert(
            Severity.INFO, "engine", f"engine started in PAPER mode on {self.store.description}"
        )

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Commands from the local control socket (`traider kill`, `traider health`, ...)."""
        cmd = request.get("cmd")
        if cmd == "health":
            return {"ok": True, "health": self.monitor.report.to_dict()}
        if cmd == "models":
            return {"ok": True, "models": models_view_dict(self.models())}
        if cmd == "ack":
            alerts = self.monitor.alerts
            if alerts is None:
                return {"ok": False, "error": "alert delivery is not running"}
            alerts.acknowledge(str(request.get("dedup_key", "")), by=str(request.get("by", "cli")))
            return {"ok": True}
        return self.kill.handle_control(request)

    def _build_alerts(self) -> AlertService | None:
        if not self.config.alerts.enabled:
            return None
        from traider.engine.alerts.outbox import OutboxError
        from traider.engine.alerts.service import AlertService

        try:
            return AlertService(self.config.alerts, self.home, self.clock)
        except OutboxError as exc:  # alerting down must not stop trading; it is visible
            log.error("alert delivery unavailable: %s", exc)
            return None

    async def _market_loop(self) -> None:
        interval = self.config.sim.step_interval_ms / 1000
        while True:
            try:
                self.step()
            except Exception as exc:  # the feed must not die silently: page, keep going
                self._task_failed("market data", exc, halt=False)
            await asyncio.sleep(interval)

    async def _risk_monitor(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(RISK_MONITOR_INTERVAL_S)
            try:
                self.check_risk()
                ticks += 1
                if ticks % SAVE_MARKS_EVERY_TICKS == 0:
                    self._save_account()
            except Exception as exc:  # without this monitor nothing watches daily loss
                self._task_failed("risk monitor", exc, halt=True)

    def _task_failed(self, what: str, exc: Exception, *, halt: bool) -> None:
        """A background task hit an error: log it, page once, and fail closed if the task
        is one that protects capital. The task keeps running."""
        log.exception("%s failed", what)
        now = self.clock.timestamp_ns()
        self.bus.publish(
            Alert(
                now,
                now,
                Severity.CRITICAL,
                "engine",
                f"{what} failed: {exc!r}",
                dedup_key=f"task-failed:{what}",
            )
        )
        if halt and not self.kill.is_engaged():
            try:
                self.kill.engage(f"{what} failed: {exc!r}", source="engine", flatten=False)
            except Exception:  # the halt flag is already set; the monitor must live on
                log.exception("kill switch engage after %s failure", what)

    def check_risk(self) -> None:
        self.kill.poll()  # picks up a flag written by `traider kill` when no socket reached us
        self.refresh_marks()
        if self.portfolio.roll_day(self.trading_day()):
            self._save_account()
        self.riskdesk.observe_equity()
        self._watch_feeds()
        now = self.clock.timestamp_ns()
        if now - self._equity_recorded_ns >= EQUITY_RECORD_EVERY_NS:
            self.record_equity()
        if not self.kill.is_engaged() and self.pretrade.daily_loss_breached():
            self.kill.engage(
                f"daily loss limit: day P&L {self.portfolio.day_pnl():.2f} USD breaches "
                f"-{self.config.risk.daily_loss_limit_pct}% of capital",
                source="risk",
                flatten=False,
            )

    def _watch_feeds(self) -> None:
        now = self.clock.timestamp_ns()
        for symbol in self._symbols:
            book = self.books.book(symbol)
            reason = book.stale_reason if book.stale and book.has_snapshot else ""
            incident = self.feed_watch.check(now, symbol, self.books.last_update_ns(symbol), reason)
            if incident is not None:
                severity = Severity.CRITICAL if incident.opened else Severity.INFO
                self.bus.publish(
                    Alert(
                        now,
                        now,
                        severity,
                        "marketdata",
                        incident.detail,
                        dedup_key=incident.dedup_key,
                        resolve=not incident.opened,
                    )
                )

    def record_equity(self) -> None:
        """Journal the account value (reports and performance metrics use these)."""
        self.refresh_marks()
        pf = self.portfolio
        now = self.clock.timestamp_ns()
        self._equity_recorded_ns = now
        self.orders.journal_event(
            EquityRecorded(now, now, pf.equity(), pf.cash, pf.realized, pf.fees)
        )

    def _save_account(self) -> None:
        """Account row and last marks, so `traider status` can value positions."""
        if not self.orders.store_ok:
            return
        marks = {s: str(p) for s, p in self.portfolio.marks.items()}
        try:
            with self.store.transaction():
                self.store.save_account(self.orders.account_record())
                self.store.set_meta("marks", json.dumps(marks))
        except StoreUnavailable as exc:
            self.orders.store_ok = False
            self._on_store_failure(str(exc))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._control is not None:
            await self._control.stop()
            self._control = None
        self.shutdown()  # first: its cancels still reach every subscriber
        await self.bus.close()
        self.monitor.stop()  # last: the shutdown's own alerts still reach the outbox

    def shutdown(self) -> None:
        """Cancel open orders, save the account, close the store. Idempotent."""
        if not self._running:
            return
        self._running = False
        self.kill.stop_watcher()
        self.live_models.stop()
        cancelled = self.orders.cancel_all("engine shutdown")
        if cancelled:
            log.info("cancelled %d open orders on shutdown", cancelled)
        self.refresh_marks()
        self.record_equity()
        self._save_account()
        self.store.close()

    # --- kill switch (EngineView) ----------------------------------------------------------

    def engage_kill_switch(self, reason: str, *, flatten: bool, source: str) -> None:
        self.kill.engage(reason, source=source, flatten=flatten)

    def reset_kill_switch(self, *, source: str) -> None:
        self.kill.reset(source=source)

    def flatten(self) -> int:
        """Close every position (kill switch with --flatten)."""
        return flatten_all(self.portfolio, self.books, self.orders)

    # --- EngineView ------------------------------------------------------------------------

    @property
    def mode(self) -> TradingMode:
        return TradingMode.PAPER

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    def book(self, symbol: str, depth: int) -> BookView:
        book = self.books.book(symbol)
        bids, asks = book.top(depth)
        return BookView(
            symbol, book.version, tuple(bids), tuple(asks), book.stale, book.stale_reason
        )

    def recent_trades(self, limit: int) -> list[TradeTick]:
        return list(self._trades)[:limit]

    def positions(self) -> list[PositionView]:
        self.refresh_marks()
        return self.portfolio.position_views()

    def open_orders(self) -> list[OrderSnapshot]:
        return self.orders.open_snapshots()

    def pnl(self) -> PnlView:
        self.refresh_marks()
        return self.portfolio.pnl_view()

    def risk(self) -> RiskView:
        return self.riskdesk.view()

    def features(self, symbol: str) -> FeatureVector | None:
        features = self.features_by_symbol.get(symbol)
        return features.vector() if features is not None else None

    def health(self) -> HealthReport | None:
        return self.monitor.report if self._running else None

    def alerts(self, limit: int) -> list[Alert]:
        return list(self._alerts)[-limit:]

    def alerts_version(self) -> int:
        return self._alerts_version

    def status(self) -> EngineStatus:
        return engine_status(self)

    @property
    def running(self) -> bool:
        return self._running

    # used by the kill-switch service
    def publish(self, event: Event) -> None:
        self.bus.publish(event)
