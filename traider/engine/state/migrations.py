"""Versioned schema migrations for the SQLite store.

The schema version lives in `PRAGMA user_version` (0 for a fresh file). Pending
migrations run in order inside one `BEGIN IMMEDIATE` transaction, so two processes
opening the same new file cannot both apply them, and a failure leaves the file as it was.
A migration is SQL text (statements separated by `;`, triggers allowed) or a callable that
receives the `sqlite_utils.Database`. Append new migrations to `MIGRATIONS`; never edit an
applied one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from traider.engine.state.store import SchemaVersionError

if TYPE_CHECKING:  # imported where a migration runs: it costs 0.1-0.3 s at start-up
    import sqlite_utils

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "check_version",
    "migrate",
    "schema_version",
]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: str | Callable[[sqlite_utils.Database], None]


def _split_sql(script: str) -> Iterator[str]:
    """Split a script into complete statements (`executescript` would COMMIT first)."""
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                yield buf.strip()
            buf = ""
    if buf.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:80]!r}")


_JOURNAL_SQL = """
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_event INTEGER NOT NULL,
    ts_init INTEGER NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX journal_type_id ON journal (type, id);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;
"""


def _current_state_tables(db: sqlite_utils.Database) -> None:
    # Decimals are TEXT (exact); enums are their value; timestamps integer ns.
    db.table("orders").create(
        {
            "client_order_id": str,
            "strategy_id": str,
            "symbol": str,
            "side": str,
            "order_type": str,
            "quantity": str,
            "price": str,
            "status": str,
            "filled_qty": str,
            "avg_fill_price": str,
            "venue_order_id": str,
            "ts_created": int,
            "ts_updated": int,
        },
        pk="client_order_id",
        not_null=[
            "strategy_id",
            "symbol",
            "side",
            "order_type",
            "quantity",
            "status",
            "filled_qty",
            "ts_created",
            "ts_updated",
        ],
    )
    db.table("orders").create_index(["status"])
    db.table("positions").create(
        {"symbol": str, "quantity": str, "avg_price": str, "realized_pnl": str},
        pk="symbol",
        not_null=["quantity", "avg_price", "realized_pnl"],
    )
    # Single-row tables: the row always has id 1.
    db.table("account").create(
        {
            "id": int,
            "cash": str,
            "realized_pnl": str,
            "fees": str,
            "day_start_equity": str,
            "day": str,
        },
        pk="id",
        not_null=["cash", "realized_pnl", "fees", "day_start_equity", "day"],
    )
    db.table("kill_switch").create(
        {
            "id": int,
            "engaged": int,
            "reason": str,
            "source": str,
            "since_ns": int,
            "flatten": int,
        },
        pk="id",
        not_null=["engaged", "reason", "source", "flatten"],
    )
    db.table("meta").create({"key": str, "value": str}, pk="key", not_null=["value"])


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "append-only event journal", _JOURNAL_SQL),
    Migration(2, "current-state tables and meta", _current_state_tables),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _check_sequence(migrations: Sequence[Migration]) -> None:
    for expected, m in enumerate(migrations, start=1):
        if m.version != expected:
            raise ValueError(f"migration versions must be 1, 2, 3, ...; got {m.version}")


def check_version(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """The file's version; `SchemaVersionError` when it is newer than this code knows."""
    latest = migrations[-1].version if migrations else 0
    current = schema_version(conn)
    if current > latest:
        raise SchemaVersionError(
            f"database schema version {current} is newer than this traider supports "
            f"({latest}); upgrade traider to open it"
        )
    return current


def migrate(
    db: sqlite_utils.Database, migrations: Sequence[Migration] = MIGRATIONS
) -> tuple[int, int]:
    """Apply pending migrations; returns (version before, version after).

    The connection must be in autocommit mode (`isolation_level=None`) and outside any
    transaction. Idempotent: a file already at the latest version is not written.
    """
    _check_sequence(migrations)
    conn: sqlite3.Connection = db.conn
    latest = migrations[-1].version if migrations else 0
    before = check_version(conn, migrations)
    if before == latest:
        return before, before
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = check_version(conn, migrations)  # another process may have migrated
        for m in migrations[before:]:
            if isinstance(m.apply, str):
                for stmt in _split_sql(m.apply):
                    conn.execute(stmt)
            else:
                m.apply(db)
            conn.execute(f"PRAGMA user_version = {int(m.version)}")
        conn.execute("COMMIT")
    except BaseException:  # allowed: roll back or close on any exit, then re-raise
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return before, latest
