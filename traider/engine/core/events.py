"""Typed messages on the bus.

Events are past tense (`OrderFilled`), commands imperatives (`EngageKillSwitch`). All are
frozen, slotted dataclasses carrying `ts_event` (when it happened, ns) and `ts_init` (when
this process created the object, ns). Book prices and sizes are floats (fast math);
anything that is money (orders, fills, positions) is `Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from traider.engine.core.types import (
    BookSide,
    Liquidity,
    OrderStatus,
    OrderType,
    Severity,
    Side,
    TimeInForce,
)

Level = tuple[float, float]  # (price, size)


@dataclass(frozen=True, slots=True)
class Event:
    ts_event: int
    ts_init: int


# --- market data -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSnapshot(Event):
    symbol: str
    seq: int  # sequence number of the last delta included
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]  # best first


@dataclass(frozen=True, slots=True)
class BookDelta(Event):
    symbol: str
    seq: int  # strictly consecutive per symbol; a gap means lost data
    side: BookSide
    price: float
    size: float  # new total size at the level; 0 deletes the level


@dataclass(frozen=True, slots=True)
class TradeTick(Event):
    symbol: str
    trade_id: int
    price: float
    size: float
    aggressor: Side


@dataclass(frozen=True, slots=True)
class BookStale(Event):
    """The book can no longer be trusted (gap, crossed update); a snapshot is requested."""

    symbol: str
    reason: str


@dataclass(frozen=True, slots=True)
class BookInvalid(Event):
    """A message failed validation (gap, crossed or locked, absurd price, bad size): the
    book is not trusted, strategies stop trading the symbol, a snapshot is requested."""

    symbol: str
    reason: str
    seq: int


@dataclass(frozen=True, slots=True)
class BookResynced(Event):
    symbol: str
    seq: int


# --- signals -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal(Event):
    strategy_id: str
    symbol: str
    direction: int  # -1, 0, +1
    strength: float  # 0..1
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SignalFailed(Event):
    """A model raised while predicting: it is left out of the ensemble, trading goes on."""

    model: str
    symbol: str
    error: str


@dataclass(frozen=True, slots=True)
class EnsembleUpdated(Event):
    """The ensemble's combined view for one symbol, with each model's weight and
    prediction (names and numbers in the same order), for the screen and the journal."""

    symbol: str
    prob_up: float
    confidence: float
    models: tuple[str, ...]
    weights: tuple[float, ...]
    predictions: tuple[float, ...]  # each model's prob_up; NaN where it failed


@dataclass(frozen=True, slots=True)
class ModelRegistered(Event):
    """A trained model entered the registry as a candidate (journaled)."""

    model_id: str  # f"{name}-{version}"
    name: str
    version: int
    params_json: str
    data_start_ns: int
    data_end_ns: int
    data_hash: str
    metrics_json: str
    artifact_path: str
    by: str


@dataclass(frozen=True, slots=True)
class ModelStateChanged(Event):
    """candidate -> approved -> live -> retired, with who and why (journaled)."""

    model_id: str
    name: str
    from_state: str
    to_state: str
    action: str  # approve | promote | demote | rollback | retire
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class RetrainProgress(Event):
    """A retraining job moved on: `stage` (queued, features, evaluate, fit, save, done,
    failed), `fraction` in [0, 1] of the whole job, `message` one line for the screen."""

    job_id: str
    model: str
    stage: str
    fraction: float
    message: str


@dataclass(frozen=True, slots=True)
class RetrainFinished(Event):
    """A retraining job ended. `model_id` is the new *candidate* (an operator must still
    approve and promote it), empty when the job failed; `message` says what happened."""

    job_id: str
    model: str
    ok: bool
    model_id: str
    reason: str  # why it ran: schedule, drift: ..., expired: ..., operator
    message: str


# --- orders ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitOrder(Event):
    """An order intent; journaled with its client id before anything is sent."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None  # None for MARKET
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class CancelOrder(Event):
    client_order_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderDenied(Event):
    """Our own risk checks refused the intent; it never left the process."""

    client_order_id: str
    symbol: str
    reason: str


@dataclass(frozen=True, slots=True)
class OrderSubmitted(Event):
    client_order_id: str


@dataclass(frozen=True, slots=True)
class OrderAccepted(Event):
    client_order_id: str
    venue_order_id: str


@dataclass(frozen=True, slots=True)
class OrderRejected(Event):
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OrderCancelRequested(Event):
    client_order_id: str


@dataclass(frozen=True, slots=True)
class OrderCanceled(Event):
    client_order_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderFilled(Event):
    client_order_id: str
    venue_order_id: str
    trade_id: str  # unique per fill at the venue: fills are de-duplicated by it
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal  # in quote currency, positive is a cost
    liquidity: Liquidity


OrderEvent = (
    OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderCancelRequested
    | OrderCanceled
    | OrderFilled
    | OrderDenied
)


# --- portfolio ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionChanged(Event):
    symbol: str
    quantity: Decimal
    avg_price: Decimal
    realized_pnl: Decimal


# --- control and safety ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngageKillSwitch(Event):
    reason: str
    source: str  # "tui", "cli", "risk", ...
    flatten: bool = False


@dataclass(frozen=True, slots=True)
class ResetKillSwitch(Event):
    source: str


@dataclass(frozen=True, slots=True)
class KillSwitchEngaged(Event):
    reason: str
    source: str
    flatten: bool


@dataclass(frozen=True, slots=True)
class KillSwitchReset(Event):
    source: str


@dataclass(frozen=True, slots=True)
class RiskStateChanged(Event):
    """A risk control changed state (drawdown tier, cooldown, VaR limit use); journaled."""

    name: str  # "drawdown_tier", "cooldown", ...
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class Alert(Event):
    severity: Severity
    source: str
    message: str
    details: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # one incident = one key: repeats update it instead of paging again ("" = derived
    # from source and message); `resolve` closes the incident (e.g. the feed came back)
    dedup_key: str = ""
    resolve: bool = False


@dataclass(frozen=True, slots=True)
class EquityRecorded(Event):
    """Account value sampled by the engine (every minute and at shutdown); reports and
    performance metrics are computed from these, never from a screen."""

    equity: Decimal
    cash: Decimal
    realized: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """A read-only view of one order for the screen, the CLI and reconciliation."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    venue_order_id: str | None
    ts_created: int
    ts_updated: int
