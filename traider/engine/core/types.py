"""Enumerations shared by every component."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class BookSide(StrEnum):
    BID = "BID"
    ASK = "ASK"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"


class OrderStatus(StrEnum):
    INITIALIZED = "INITIALIZED"  # journaled intent, not yet sent
    SUBMITTED = "SUBMITTED"  # request left the process
    ACCEPTED = "ACCEPTED"  # venue acknowledged, resting or working
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"  # venue refused it
    DENIED = "DENIED"  # our risk engine refused it; never sent

    @property
    def is_open(self) -> bool:
        return self in _OPEN

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_OPEN = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
    }
)
_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.DENIED}
)


class Liquidity(StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class TradingMode(StrEnum):
    PAPER = "PAPER"
    LIVE = "LIVE"
    REPLAY = "REPLAY"
    TWIN = "TWIN"
