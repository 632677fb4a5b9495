"""The risk desk: connects the portfolio risk service to a running engine.

It installs the portfolio limits into the pre-trade checks, feeds equity to the drawdown
controller (journaling every state change), turns kill-switch halts and resets into
drawdown halts and cooldowns, gives strategies their size scale, and refreshes VaR, stress
and correlation in a worker thread so the loop never waits on numpy.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from traider.engine.core.events import (
    Alert,
    KillSwitchEngaged,
    KillSwitchReset,
    OrderDenied,
    OrderFilled,
    RiskStateChanged,
)
from traider.engine.core.types import Severity, Side
from traider.engine.view import EMPTY_RISK, RiskView

if TYPE_CHECKING:
    from traider.engine.engine import Engine
    from traider.engine.risk.drawdown import DrawdownEvent
    from traider.engine.risk.service import RiskRefresh, RiskService
    from traider.engine.risk.stress import Levels

log = logging.getLogger(__name__)

BOOK_LEVELS_FOR_STRESS = 50
DENIALS_KEPT = 8
POST_TRADE = "post-trade risk refresh"


@dataclasses.dataclass(frozen=True, slots=True)
class _RefreshInputs:
    exposures: dict[str, float]
    books: Mapping[str, tuple[Levels, Levels]]
    equity_usd: float
    day_pnl_usd: float
    ts_ns: int


class RiskDesk:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.service: RiskService | None = None
        self._view: RiskView = EMPTY_RISK
        self._denials: deque[str] = deque(maxlen=DENIALS_KEPT)
        bus = engine.bus
        bus.subscribe(OrderDenied, self._on_denied)
        bus.subscribe(OrderFilled, self._on_fill)
        self._wake: asyncio.Event | None = None  # set on a fill: refresh now, not at the tick
        self._breached: set[str] = set()
        bus.subscribe(KillSwitchEngaged, self._on_halt)
        bus.subscribe(KillSwitchReset, self._on_reset)

    # --- set-up ----------------------------------------------------------------------------

    def build_service(self) -> RiskService:
        """Blocking (history, covariance, scipy import): run it off the loop."""
        from traider.engine.risk.live import risk_history
        from traider.engine.risk.service import RiskService

        cfg = self._engine.config
        history, scenarios = risk_history(cfg)
        return RiskService(
            cfg.risk,
            self._engine.symbols,
            cfg.engine.starting_capital_usd,
            history,
            scenarios,
            seed=cfg.sim.seed,
        )

    def install(self, service: RiskService) -> None:
        self.service = service
        self._engine.pretrade.portfolio_check = self.check
        if self._engine.kill.is_engaged():  # restarted halted: the drawdown control agrees
            self.record(service.halt(self._now(), self._engine.kill.state.reason))

    # --- pre-trade and sizing --------------------------------------------------------------

    def exposures(self) -> dict[str, float]:
        """Signed USD per symbol: position plus working orders, at the marks."""
        engine = self._engine
        out: dict[str, float] = {}
        for symbol in engine.symbols:
            qty = engine.portfolio.positions[symbol].quantity + engine.orders.working_qty(symbol)
            mark = engine.portfolio.marks.get(symbol)
            out[symbol] = float(qty * mark) if mark is not None else 0.0
        return out

    def check(self, symbol: str, delta_usd: float) -> str | None:
        if self.service is None:
            return None
        exposures = self.exposures()
        # for the symbol traded: every working order on the order's side fills, none of
        # the other side does (they may be cancelled), so opposite orders cannot hide risk
        engine = self._engine
        mark = engine.portfolio.marks.get(symbol)
        if mark is not None:
            side = Side.BUY if delta_usd > 0 else Side.SELL
            qty = engine.portfolio.positions[symbol].quantity
            qty += engine.orders.working_side(symbol, side) * side.sign
            exposures[symbol] = float(qty * mark)
        return self.service.check(exposures, symbol, delta_usd, self._now())

    def size_scales(self, symbol: str) -> tuple[float, float]:
        """(volatility target, drawdown tier) multipliers; (0, 0) until the service is up,
        so nothing is sized before risk can judge it."""
        if self.service is None:
            return 0.0, 0.0
        return self.service.size_scales(symbol, self._now())

    # --- drawdown inputs -------------------------------------------------------------------

    def observe_equity(self) -> None:
        if self.service is not None:
            equity = float(self._engine.portfolio.equity())
            self.record(self.service.observe_equity(self._now(), equity))

    def _on_halt(self, event: KillSwitchEngaged) -> None:
        if self.service is not None:
            self.record(self.service.halt(event.ts_event, event.reason))

    def _on_reset(self, event: KillSwitchReset) -> None:
        if self.service is not None:
            self.record(self.service.reset_halt(event.ts_event))

    def record(self, events: list[DrawdownEvent]) -> None:
        """Journal each drawdown state change and show it in the alerts."""
        for event in events:
            fields = dataclasses.asdict(event)
            ts = int(fields.pop("ts_ns"))
            name = type(event).__name__
            value = ", ".join(f"{k}={v}" for k, v in fields.items())
            quiet = name in ("PeakRebased", "CooldownEnded")
            severity = Severity.INFO if quiet else Severity.WARNING
            self._risk_event(ts, name, value, severity, "drawdown control")

    def _on_fill(self, event: OrderFilled) -> None:
        if self._wake is not None:
            self._wake.set()

    def _on_denied(self, event: OrderDenied) -> None:
        self._denials.append(f"{event.symbol}: {event.reason}")

    # --- refresh ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Build the service off the loop, then refresh on the configured interval."""
        loop = asyncio.get_running_loop()
        if self.service is None:
            self.install(await loop.run_in_executor(None, self.build_service))
        interval = self._engine.config.risk.risk_refresh_s
        self._wake = wake = asyncio.Event()
        while True:
            wake.clear()
            try:
                inputs = self._refresh_inputs()
                refresh = await loop.run_in_executor(None, self._compute, inputs)
                self._apply(refresh, inputs.ts_ns)
            except Exception as exc:  # the screen's numbers go stale: say so, keep trying
                log.exception("risk refresh failed")
                now = self._now()
                self._engine.bus.publish(
                    Alert(
                        now,
                        now,
                        Severity.CRITICAL,
                        "risk",
                        f"risk refresh failed: {exc!r}",
                        dedup_key="risk-refresh-failed",
                    )
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=interval)

    def refresh_now(self) -> RiskView:
        """Synchronous refresh (tests, the CLI)."""
        if self.service is None:
            self.install(self.build_service())
        inputs = self._refresh_inputs()
        self._apply(self._compute(inputs), inputs.ts_ns)
        return self._view

    def _compute(self, i: _RefreshInputs) -> RiskRefresh:
        """Runs in a worker thread: reads only the snapshot in `i` and the service."""
        assert self.service is not None
        return self.service.refresh(i.exposures, i.books, i.equity_usd, i.day_pnl_usd, i.ts_ns)

    def _refresh_inputs(self) -> _RefreshInputs:
        """A snapshot taken on the loop, so the worker never touches live engine state."""
        engine = self._engine
        engine.refresh_marks()
        books = {}
        for symbol in engine.symbols:
            bids, asks = engine.books.book(symbol).top(BOOK_LEVELS_FOR_STRESS)
            books[symbol] = (list(bids), list(asks))
        pf = engine.portfolio
        positions_only = {
            s: float(pf.positions[s].quantity * pf.marks.get(s, Decimal(0))) for s in engine.symbols
        }
        return _RefreshInputs(
            positions_only, books, float(pf.equity()), float(pf.day_pnl()), self._now()
        )

    def _apply(self, refresh: RiskRefresh, ts_ns: int) -> None:
        service = self.service
        assert service is not None
        corr = tuple(tuple(round(float(x), 4) for x in row) for row in service.correlation)
        self._view = RiskView(
            version=self._view.version + 1,
            computed_ns=ts_ns,
            confidence=service.config.var_confidence,
            horizon_days=1,
            history_source=service.history.source,
            var=refresh.var,
            limits=refresh.limits,
            correlation_symbols=service.symbols,
            correlation=corr,
            stress=refresh.stress,
            denials=tuple(self._denials),
            clusters=refresh.clusters,
        )
        self._watch_limits(refresh, ts_ns)

    def _watch_limits(self, refresh: RiskRefresh, ts_ns: int) -> None:
        """Post-trade: a limit the market pushed over (no order did) is journaled and
        alerted once when it breaches and once when it clears. New risk is already refused
        by the pre-trade checks while it stays over."""
        now_over = {u.name for u in refresh.limits if u.limit and u.used >= u.limit}
        now_over |= {f"correlation: {b}" for b in refresh.breaches}
        for name in sorted(now_over - self._breached):
            self._risk_event(ts_ns, "limit_breached", name, Severity.WARNING, POST_TRADE)
        for name in sorted(self._breached - now_over):
            self._risk_event(ts_ns, "limit_cleared", name, Severity.INFO, POST_TRADE)
        self._breached = now_over

    def _risk_event(
        self, ts_ns: int, name: str, value: str, severity: Severity, reason: str
    ) -> None:
        engine = self._engine
        change = RiskStateChanged(ts_ns, self._now(), name, value, reason)
        engine.orders.journal_event(change)
        engine.bus.publish(change)
        engine.bus.publish(Alert(ts_ns, ts_ns, severity, "risk", f"{name}: {value}"))

    def view(self) -> RiskView:
        return self._view

    def _now(self) -> int:
        return self._engine.clock.timestamp_ns()
