"""A deterministic stand-in for the engine, for the screen's tests and benchmarks.

`FakeEngine` implements `EngineHandle` with plain in-memory state: a few symbols, a book
that moves by a fixed rule each time `tick()` is called, positions, open orders and alerts.
It records `start`/`stop` and kill-switch calls so tests can assert on them. No clock, no
randomness: the same calls always produce the same views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from traider.engine.core.events import Alert, Level, OrderSnapshot, TradeTick
from traider.engine.core.types import OrderStatus, OrderType, Severity, Side, TradingMode
from traider.engine.features.microstructure import FeatureVector
from traider.engine.monitoring.health import HealthReport
from traider.engine.view import (
    BookView,
    CandidateLine,
    EngineStatus,
    FeedHealth,
    KillSwitchView,
    LimitUse,
    ModelLine,
    ModelsView,
    PnlView,
    PositionView,
    RetrainLine,
    RiskView,
    SignalLine,
    StressLine,
    VarLine,
)

BASE_TS_NS = 1_700_000_000_000_000_000

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    # symbol: (starting mid, tick size)
    "BTC-USD": (50_000.0, 0.5),
    "ETH-USD": (3_000.0, 0.05),
    "SOL-USD": (150.0, 0.01),
}


@dataclass(frozen=True, slots=True)
class KillSwitchCall:
    reason: str
    flatten: bool
    source: str


@dataclass
class _Market:
    mid: float
    tick_size: float
    version: int = 0
    stale: bool = False
    stale_reason: str = ""
    trade_id: int = 0


@dataclass
class FakeEngine:
    """A fake `EngineHandle`; call `tick()` to move every book one step."""

    symbols_: tuple[str, ...] = ("BTC-USD", "ETH-USD", "SOL-USD")
    mode_: TradingMode = TradingMode.PAPER
    levels: int = 30
    start_calls: int = 0
    stop_calls: int = 0
    ticks: int = 0
    kill_switch_calls: list[KillSwitchCall] = field(default_factory=list)
    reset_calls: list[str] = field(default_factory=list)
    approvals: list[tuple[str, str]] = field(default_factory=list)  # (model_id, by)
    _markets: dict[str, _Market] = field(default_factory=dict)
    _trades: list[TradeTick] = field(default_factory=list)
    _alerts: list[Alert] = field(default_factory=list)
    _alerts_version: int = 0
    _positions: dict[str, PositionView] = field(default_factory=dict)
    _orders: dict[str, OrderSnapshot] = field(default_factory=dict)
    _kill: KillSwitchView = field(
        default_factory=lambda: KillSwitchView(engaged=False, reason="", since_ns=None, source="")
    )
    _fills: int = 3
    _running: bool = False
    _store: str = "sqlite ok"
    _store_ok: bool = True
    _lag_p99_ms: float = 1.25

    def __post_init__(self) -> None:
        for sym in self.symbols_:
            mid, tick = DEFAULT_PRICES.get(sym, (100.0, 0.01))
            self._markets[sym] = _Market(mid=mid, tick_size=tick)
        first = self.symbols_[0]
        mid0 = self._markets[first].mid
        self._positions[first] = PositionView(
            symbol=first,
            quantity=Decimal("0.0020"),
            avg_price=Decimal(str(mid0 - 100)),
            mark_price=Decimal(str(mid0)),
            unrealized_pnl=Decimal("0.20"),
            realized_pnl=Decimal("1.50"),
        )
        for i, sym in enumerate(self.symbols_[:2]):
            mk = self._markets[sym]
            side = Side.BUY if i == 0 else Side.SELL
            price = mk.mid - 20 * mk.tick_size if i == 0 else mk.mid + 20 * mk.tick_size
            cid = f"T1-imb-{i + 1:06d}"
            self._orders[cid] = OrderSnapshot(
                client_order_id=cid,
                strategy_id="imbalance",
                symbol=sym,
                side=side,
                order_type=OrderType.LIMIT,
                quantity=Decimal("0.0100"),
                price=Decimal(str(price)),
                status=OrderStatus.ACCEPTED,
                filled_qty=Decimal("0"),
                avg_fill_price=None,
                venue_order_id=f"V{i + 1}",
                ts_created=BASE_TS_NS,
                ts_updated=BASE_TS_NS,
            )
        self.add_alert(Severity.INFO, "engine", "paper engine ready")
        self.add_alert(Severity.WARNING, "risk", "order denied: T1-imb-000009 notional 612 > 500")

    # --- test controls -----------------------------------------------------------------

    def tick(self) -> None:
        """Move every book one deterministic step and print one trade per symbol.

        Like a real book, most levels keep their size: each tick re-sizes every fifth level
        a side, and the mid moves one tick size (alternately up and down) every 4th tick.
        """
        self.ticks += 1
        n = self.ticks
        for sym, mk in self._markets.items():
            if n % 4 == 0:
                step = 1 if (n // 4) % 2 else -1
                mk.mid = round(mk.mid + step * mk.tick_size, 8)
            mk.version += 1
            mk.trade_id += 1
            aggressor = Side.BUY if n % 2 else Side.SELL
            px = mk.mid + (mk.tick_size / 2 if aggressor is Side.BUY else -mk.tick_size / 2)
            self._trades.append(
                TradeTick(
                    ts_event=BASE_TS_NS + n * 50_000_000,
                    ts_init=BASE_TS_NS + n * 50_000_000,
                    symbol=sym,
                    trade_id=mk.trade_id,
                    price=px,
                    size=round(0.001 * (1 + n % 9), 6),
                    aggressor=aggressor,
                )
            )
        if len(self._trades) > 500:
            del self._trades[:-250]

    def set_stale(self, symbol: str, reason: str = "gap at seq 123") -> None:
        mk = self._markets[symbol]
        mk.stale, mk.stale_reason = True, reason
        mk.version += 1

    def set_fresh(self, symbol: str) -> None:
        mk = self._markets[symbol]
        mk.stale, mk.stale_reason = False, ""
        mk.version += 1

    def add_alert(self, severity: Severity, source: str, message: str) -> None:
        ts = BASE_TS_NS + len(self._alerts) * 1_000_000_000
        self._alerts.append(
            Alert(ts_event=ts, ts_init=ts, severity=severity, source=source, message=message)
        )
        self._alerts_version += 1

    def set_position(self, view: PositionView) -> None:
        self._positions[view.symbol] = view

    def remove_position(self, symbol: str) -> None:
        self._positions.pop(symbol, None)

    def set_order(self, order: OrderSnapshot) -> None:
        if order.status.is_open:
            self._orders[order.client_order_id] = order
        else:
            self._orders.pop(order.client_order_id, None)

    def mid(self, symbol: str) -> float:
        return self._markets[symbol].mid

    # --- EngineHandle ------------------------------------------------------------------

    async def start(self) -> None:
        self.start_calls += 1
        self._running = True

    async def stop(self) -> None:
        self.stop_calls += 1
        self._running = False

    @property
    def mode(self) -> TradingMode:
        return self.mode_

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.symbols_

    def book(self, symbol: str, depth: int) -> BookView:
        mk = self._markets[symbol]
        n = min(depth, self.levels)
        v = mk.version
        bids: list[Level] = []
        asks: list[Level] = []
        for i in range(n):
            off = (i + 0.5) * mk.tick_size
            touched = v - ((v - i) % 5)  # the last version that re-sized level i
            bids.append((round(mk.mid - off, 8), round(0.05 + ((i * 3 + touched) % 7) * 0.125, 6)))
            asks.append((round(mk.mid + off, 8), round(0.05 + ((i * 5 + touched) % 7) * 0.125, 6)))
        return BookView(
            symbol=symbol,
            version=mk.version,
            bids=tuple(bids),
            asks=tuple(asks),
            stale=mk.stale,
            stale_reason=mk.stale_reason,
        )

    def recent_trades(self, limit: int) -> list[TradeTick]:
        return list(reversed(self._trades[-limit:])) if limit > 0 else []

    def positions(self) -> list[PositionView]:
        return list(self._positions.values())

    def open_orders(self) -> list[OrderSnapshot]:
        return list(self._orders.values())

    def pnl(self) -> PnlView:
        unreal = sum((p.unrealized_pnl for p in self._positions.values()), Decimal(0))
        real = sum((p.realized_pnl for p in self._positions.values()), Decimal(0))
        fees = Decimal("0.42")
        cash = Decimal("4900.00")
        equity = cash + sum(
            (p.quantity * (p.mark_price or p.avg_price) for p in self._positions.values()),
            Decimal(0),
        )
        return PnlView(
            cash=cash,
            equity=equity,
            realized=real,
            unrealized=unreal,
            fees=fees,
            day_pnl=real + unreal - fees,
        )

    def alerts(self, limit: int) -> list[Alert]:
        return self._alerts[-limit:] if limit > 0 else []

    def alerts_version(self) -> int:
        return self._alerts_version

    def features(self, symbol: str) -> FeatureVector | None:
        """Hand-checkable features that move with `tick()`."""
        from traider.engine.features.microstructure import FeatureVector

        mk = self._markets.get(symbol)
        if mk is None:
            return None
        mid = mk.mid
        return FeatureVector(
            symbol,
            BASE_TS_NS + self.ticks,
            True,
            1.0,
            float(self.ticks % 5 - 2),
            (0.0,) * 10,
            0.2,
            0.1,
            0.05,
            1.5,
            mid,
            mid + 0.1,
            mid + 0.05,
            0.25,
            True,
            (1.0, 2.0, 3.0),
            0.0,
            0.0,
            0.0,
        )

    def health(self) -> HealthReport | None:
        """A fixed report: every check OK but a WARN on the loop lag."""
        from traider.engine.monitoring.health import Check, HealthLevel, HealthReport

        checks = (
            Check("kill_switch", HealthLevel.OK, "not engaged", 0.0),
            Check("feed:BTC-USD", HealthLevel.OK, "ok", 12.0),
            Check("loop_lag", HealthLevel.WARN, "p99 25.0 ms", 25.0),
        )
        return HealthReport(checks=checks, level=HealthLevel.WARN, ts_ns=BASE_TS_NS)

    def models(self) -> ModelsView:
        """Fixed, hand-checkable model numbers; replace `models_view` to change them."""
        return self.models_view

    models_view = ModelsView(
        version=1,
        enabled=True,
        models=(
            ModelLine(
                "xgboost-2",
                "xgboost",
                "live",
                0.55,
                (("BTC-USD", 0.61), ("ETH-USD", 0.48)),
                0.54,
                0.689,
                0.248,
                1.25,
                3.0,
                27.0,
            ),
            ModelLine(
                "momentum-1",
                "momentum",
                "live",
                0.45,
                (("BTC-USD", 0.52), ("ETH-USD", 0.5)),
                0.51,
                0.693,
                0.25,
                -0.5,
                10.0,
                20.0,
            ),
            ModelLine(
                "lstm-1",
                "lstm",
                "expired",
                0.0,
                (),
                None,
                None,
                None,
                0.0,
                31.0,
                -1.0,
                "expired: trained 31.0 days ago, max age 30.0 days",
            ),
        ),
        signals=(
            SignalLine("BTC-USD", 0.57, 0.14, BASE_TS_NS, True),
            SignalLine("ETH-USD", 0.49, 0.02, BASE_TS_NS, False),
        ),
        retraining=(RetrainLine("rt-1", "lstm", "fit", 0.4, "epoch 4/10", "expired", False, None),),
        bars=1234,
        candidates=(
            CandidateLine(
                "xgboost-3",
                "xgboost",
                "candidate",
                0.509,
                (0.492, 0.525),
                "scheduler",
                BASE_TS_NS,
                "reports/train-xgboost-3.md",
                (
                    "No evidence of skill: the accuracy CI [0.492, 0.525] contains the "
                    "majority baseline (0.500).",
                ),
            ),
            CandidateLine(
                "lstm-2", "lstm", "approved", None, None, "trainer", BASE_TS_NS - 10**12, ""
            ),
        ),
    )

    def approve_model(self, model_id: str, by: str) -> str:
        """Records the call; refuses what the real registry refuses (not a candidate,
        or an automated actor)."""
        from traider.engine.models.registry import AUTOMATED_ACTORS

        line = next((c for c in self.models_view.candidates if c.model_id == model_id), None)
        if line is None or line.state != "candidate":
            raise ValueError(f"{model_id} is not a candidate")
        if not by.strip() or by.strip().lower() in AUTOMATED_ACTORS:
            raise ValueError(f"approve needs a human operator, not {by!r}")
        self.approvals.append((model_id, by))
        return f"{model_id} approved by {by}"

    def risk(self) -> RiskView:
        """Fixed, hand-checkable risk numbers; `risk_version` bumps when a test changes them."""
        return self.risk_view

    risk_view = RiskView(
        version=1,
        computed_ns=BASE_TS_NS,
        confidence=0.95,
        horizon_days=1,
        history_source="fake",
        var=(
            VarLine("parametric", 41.0, 51.5),
            VarLine("historical", 44.0, 60.0),
        ),
        limits=(
            LimitUse("VaR 95% 1d", 41.0, 50.0, "USD"),
            LimitUse("daily loss", 20.0, 100.0, "USD"),
        ),
        correlation_symbols=("BTC-USD", "ETH-USD", "SOL-USD"),
        correlation=((1.0, 0.75, 0.7), (0.75, 1.0, 0.8), (0.7, 0.8, 1.0)),
        stress=(StressLine("BTC -20%, correlations 1", -310.0, ("daily loss",)),),
        denials=("VaR limit: 52.10 USD > 50.00 USD",),
    )

    def status(self) -> EngineStatus:
        feeds = tuple(
            FeedHealth(
                symbol=sym,
                healthy=not mk.stale,
                last_update_ns=BASE_TS_NS + self.ticks * 50_000_000,
                detail=f"stale: {mk.stale_reason}" if mk.stale else "ok",
            )
            for sym, mk in self._markets.items()
        )
        return EngineStatus(
            mode=self.mode_,
            running=self._running,
            feeds=feeds,
            loop_lag_p99_ms=self._lag_p99_ms,
            store=self._store,
            store_ok=self._store_ok,
            kill_switch=self._kill,
            fills=self._fills,
        )

    def engage_kill_switch(self, reason: str, *, flatten: bool, source: str) -> None:
        self.kill_switch_calls.append(KillSwitchCall(reason=reason, flatten=flatten, source=source))
        if not self._kill.engaged:
            self._kill = KillSwitchView(
                engaged=True, reason=reason, since_ns=BASE_TS_NS, source=source
            )
            self._orders.clear()
            self.add_alert(
                Severity.CRITICAL,
                "killswitch",
                f"kill switch ENGAGED by {source}: {reason}" + (" (flatten)" if flatten else ""),
            )

    def reset_kill_switch(self, *, source: str) -> None:
        self.reset_calls.append(source)
        if self._kill.engaged:
            self._kill = KillSwitchView(engaged=False, reason="", since_ns=None, source=source)
            self.add_alert(Severity.WARNING, "killswitch", f"kill switch reset by {source}")
