"""Persistence: the append-only event journal and current-state rows (see `store.Store`)."""

from traider.engine.state.codec import decode_event, encode_event
from traider.engine.state.sqlite_store import SQLiteStore
from traider.engine.state.store import (
    AccountRecord,
    KillSwitchRecord,
    PositionRecord,
    SchemaVersionError,
    Store,
    StoreUnavailable,
)

__all__ = [
    "AccountRecord",
    "KillSwitchRecord",
    "PositionRecord",
    "SQLiteStore",
    "SchemaVersionError",
    "Store",
    "StoreUnavailable",
    "decode_event",
    "encode_event",
]
