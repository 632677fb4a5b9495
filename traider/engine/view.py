"""Read-only facade of a running engine for the screen and the CLI.

The TUI only ever calls these methods: cheap snapshot reads, safe to call at 10-20 Hz from
the event loop. It never awaits the engine's work. The only write is `engage_kill_switch`
(and its reset), which must return at once even while the engine is busy.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from traider.engine.core.events import Alert, Level, OrderSnapshot, TradeTick
from traider.engine.core.types import TradingMode

if TYPE_CHECKING:
    from traider.engine.features.microstructure import FeatureVector
    from traider.engine.monitoring.health import HealthReport


@dataclass(frozen=True, slots=True)
class BookView:
    symbol: str
    version: int  # changes whenever the book changes: skip the redraw when it has not
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]  # best first
    stale: bool
    stale_reason: str


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    quantity: Decimal
    avg_price: Decimal
    mark_price: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class PnlView:
    cash: Decimal
    equity: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    day_pnl: Decimal  # against the equity at the start of the trading day


@dataclass(frozen=True, slots=True)
class KillSwitchView:
    engaged: bool
    reason: str
    since_ns: int | None
    source: str


@dataclass(frozen=True, slots=True)
class FeedHealth:
    symbol: str
    healthy: bool
    last_update_ns: int | None
    detail: str  # "ok", "stale: gap at seq 123", "no data for 3.1 s"


@dataclass(frozen=True, slots=True)
class EngineStatus:
    mode: TradingMode
    running: bool
    feeds: tuple[FeedHealth, ...]
    loop_lag_p99_ms: float
    store: str  # e.g. "sqlite ok", "sqlite ERROR: disk I/O error"
    store_ok: bool
    kill_switch: KillSwitchView
    fills: int


@dataclass(frozen=True, slots=True)
class VarLine:
    method: str
    var_usd: float  # loss positive
    es_usd: float


@dataclass(frozen=True, slots=True)
class LimitUse:
    name: str  # "VaR 95% 1d", "daily loss", "drawdown", "BTC-USD size"
    used: float
    limit: float
    unit: str  # "USD", "%"

    @property
    def utilisation(self) -> float:
        return self.used / self.limit if self.limit else 0.0


@dataclass(frozen=True, slots=True)
class StressLine:
    name: str
    pnl_usd: float
    breaks: tuple[str, ...]  # limits the scenario would break


@dataclass(frozen=True, slots=True)
class RiskView:
    version: int  # changes whenever anything below changes
    computed_ns: int | None  # None until the first refresh
    confidence: float
    horizon_days: int
    history_source: str  # where the returns behind the numbers come from
    var: tuple[VarLine, ...]
    limits: tuple[LimitUse, ...]
    correlation_symbols: tuple[str, ...]
    correlation: tuple[tuple[float, ...], ...]  # EWMA correlation, row-major
    stress: tuple[StressLine, ...]
    denials: tuple[str, ...]  # most recent order-denial reasons, newest last
    # assets linked by |rho| above the correlation limit, with their exposure, e.g.
    # "ETH-USD + SOL-USD: net 250.00 USD, gross 250.00 USD"
    clusters: tuple[str, ...] = ()


EMPTY_RISK = RiskView(0, None, 0.95, 1, "", (), (), (), (), (), ())


@dataclass(frozen=True, slots=True)
class ModelLine:
    """One model the engine knows: its ensemble weight and latest prediction (per
    symbol), rolling metrics, age, and whether it is in use."""

    model_id: str  # registry id, e.g. "xgboost-3"
    name: str
    state: str  # "live" (in use), "expired", "failed", "disabled"
    weight: float  # Hedge weight, 0..1 (0 when not in use)
    predictions: tuple[tuple[str, float], ...]  # (symbol, prob_up); NaN where it failed
    hit_rate: float | None
    log_loss: float | None
    brier: float | None
    pnl_contribution: float
    age_days: float
    expires_in_days: float
    note: str = ""  # e.g. why it is not in use, or its drift reasons


@dataclass(frozen=True, slots=True)
class SignalLine:
    """The ensemble's combined view of one symbol."""

    symbol: str
    prob_up: float
    confidence: float
    ts_ns: int
    fresh: bool  # still within its horizon: strategies use it


@dataclass(frozen=True, slots=True)
class RetrainLine:
    """A retraining job, running or recently ended."""

    job_id: str
    model: str
    stage: str
    fraction: float
    message: str
    reason: str
    finished: bool
    ok: bool | None  # None while running


@dataclass(frozen=True, slots=True)
class CandidateLine:
    """A trained model waiting for an operator: `candidate` (to approve) or `approved`
    (to promote with `traider models promote`)."""

    model_id: str
    name: str
    state: str
    oos_accuracy: float | None  # pooled walk-forward accuracy, when the trainer recorded it
    oos_ci: tuple[float, float] | None
    registered_by: str
    registered_ns: int
    report: str  # the training report's path ("" when none)
    verdict: tuple[str, ...] = ()  # the trainer's out-of-sample verdict, one line each


@dataclass(frozen=True, slots=True)
class ModelsView:
    version: int  # changes whenever anything below changes
    enabled: bool
    models: tuple[ModelLine, ...]
    signals: tuple[SignalLine, ...]
    retraining: tuple[RetrainLine, ...]  # newest last
    bars: int  # completed bars recorded (all symbols)
    note: str = ""  # e.g. "no live model: train, approve and promote one"
    candidates: tuple[CandidateLine, ...] = ()  # newest first
    vetoes: int = 0  # entry sizings the models vetoed (size 0) since the engine started


EMPTY_MODELS = ModelsView(0, False, (), (), (), 0, "models off")


def models_view_dict(view: ModelsView) -> dict[str, Any]:
    """Stable keys for `traider models status --json`; NaN (a failed prediction) and
    infinities become null so the JSON is strict."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    out: dict[str, Any] = clean(dataclasses.asdict(view))
    for line in out["models"]:
        line["predictions"] = {sym: p for sym, p in line["predictions"]}
    return out


class EngineView(Protocol):
    @property
    def mode(self) -> TradingMode: ...

    @property
    def symbols(self) -> tuple[str, ...]: ...

    def book(self, symbol: str, depth: int) -> BookView: ...

    def recent_trades(self, limit: int) -> list[TradeTick]:
        """Market trades, newest first, across symbols."""
        ...

    def positions(self) -> list[PositionView]: ...

    def open_orders(self) -> list[OrderSnapshot]: ...

    def pnl(self) -> PnlView: ...

    def alerts(self, limit: int) -> list[Alert]:
        """Newest last; includes order denials and kill-switch changes."""
        ...

    def alerts_version(self) -> int: ...

    def status(self) -> EngineStatus: ...

    def risk(self) -> RiskView:
        """The latest risk refresh (VaR/ES, limit use, correlation, stress); cheap."""
        ...

    def features(self, symbol: str) -> FeatureVector | None:
        """Microstructure features of `symbol` as of its last book update."""
        ...

    def health(self) -> HealthReport | None:
        """The latest health evaluation (once a second while running); None before."""
        ...

    def models(self) -> ModelsView:
        """Live models, their weights and predictions, signals and retraining; cheap."""
        ...

    def approve_model(self, model_id: str, by: str) -> str:
        """An operator approves a candidate (it still has to be promoted to trade).
        Returns a one-line confirmation; raises ValueError with a one-line reason."""
        ...

    def engage_kill_switch(self, reason: str, *, flatten: bool, source: str) -> None: ...

    def reset_kill_switch(self, *, source: str) -> None: ...


class EngineHandle(EngineView, Protocol):
    """What the app starts and stops: the view plus the lifecycle."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
