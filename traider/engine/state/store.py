"""What the engine persists: an append-only event journal plus current-state rows.

The journal is the record of what happened (intents before they are sent, venue acks,
fills, kill-switch changes); the current-state rows (orders, positions, account, kill
switch) are a cache of the state derived from it, so a restart does not replay everything
and the CLI can read the state of a running engine.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from traider.engine.core.events import Event, OrderSnapshot

__all__ = [
    "AccountRecord",
    "KillSwitchRecord",
    "PositionRecord",
    "SchemaVersionError",
    "Store",
    "StoreUnavailable",
]


@dataclass(frozen=True, slots=True)
class KillSwitchRecord:
    engaged: bool
    reason: str
    source: str
    since_ns: int | None
    flatten: bool


@dataclass(frozen=True, slots=True)
class AccountRecord:
    cash: Decimal
    realized_pnl: Decimal
    fees: Decimal
    day_start_equity: Decimal
    day: str  # "YYYY-MM-DD", the trading day `day_start_equity` belongs to


@dataclass(frozen=True, slots=True)
class PositionRecord:
    symbol: str
    quantity: Decimal
    avg_price: Decimal
    realized_pnl: Decimal


class StoreUnavailable(RuntimeError):
    """The store cannot be read or written; the message names the path and the cause."""


class SchemaVersionError(StoreUnavailable):
    """The database was written by a newer (or is not a) traider schema."""


class Store(Protocol):
    description: str  # "sqlite /path/to/db"

    def append(self, event: Event) -> int:
        """Journal one event; committed (durable) on return unless inside `transaction()`.

        Returns its journal id; ids strictly increase and are never reused.
        """
        ...

    def append_many(self, events: Sequence[Event]) -> int:
        """Journal several events in one transaction; returns the last id (or the current
        `last_journal_id()` when `events` is empty)."""
        ...

    def journal(
        self, after_id: int = 0, types: Collection[str] | None = None
    ) -> Iterator[tuple[int, Event]]:
        """(id, event) in id order with id > `after_id`, optionally only these type names."""
        ...

    def last_journal_id(self) -> int: ...

    def save_orders(self, orders: Sequence[OrderSnapshot]) -> None:
        """Insert or replace current-state rows, keyed by `client_order_id`."""
        ...

    def load_orders(self, open_only: bool = False) -> list[OrderSnapshot]: ...

    def save_positions(self, positions: Sequence[PositionRecord]) -> None:
        """Insert or replace, keyed by symbol."""
        ...

    def load_positions(self) -> list[PositionRecord]: ...

    def save_account(self, account: AccountRecord) -> None: ...

    def load_account(self) -> AccountRecord | None: ...

    def set_kill_switch(self, record: KillSwitchRecord) -> None: ...

    def kill_switch(self) -> KillSwitchRecord | None: ...

    def fill_count(self) -> int:
        """Number of `OrderFilled` events in the journal."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Everything inside commits together or not at all; nesting is allowed (inner
        blocks commit nothing until the outermost one exits)."""
        ...

    def close(self) -> None: ...
