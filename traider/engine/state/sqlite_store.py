"""`Store` on one SQLite file (WAL mode), shared by the engine and CLI processes.

Durability: `PRAGMA synchronous=FULL` makes every commit fsync the WAL, so a journaled
event (an order intent, a fill) survives a power cut once `append` returns. The price is
one fsync per commit (tens of microseconds on NVMe, milliseconds on spinning or network
disks); bulk writers should batch with `append_many` or `transaction()`, which pay it once.
`NORMAL` would be ~an order of magnitude cheaper and still never corrupt the file in WAL
mode, but could lose the last few commits on power loss, which is not acceptable for the
record of what was sent to a venue.

Concurrency: WAL lets readers (the TUI, `traider status`) run while the engine writes, and
`busy_timeout` makes a second writer (`traider kill`) wait for the lock instead of failing.
Write transactions start with `BEGIN IMMEDIATE` so they take the write lock up front (a
deferred read-then-write transaction can fail with SQLITE_BUSY without waiting).

Within one process the connection is shared by threads under a lock; `transaction()` holds
it for the whole block. Every sqlite3 / OS error surfaces as `StoreUnavailable`.
"""

# ruff: noqa: S608  (SQL here is assembled from module constants and "?" placeholders only)

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from traider.engine.core.events import Event, OrderSnapshot
from traider.engine.core.types import OrderStatus, OrderType, Side
from traider.engine.state.codec import decode_event, encode_event
from traider.engine.state.migrations import SCHEMA_VERSION, check_version, migrate
from traider.engine.state.store import (
    AccountRecord,
    KillSwitchRecord,
    PositionRecord,
    SchemaVersionError,
    StoreUnavailable,
)

__all__ = ["SQLiteStore"]

_MEMORY = ":memory:"
_JOURNAL_PAGE = 1000

_INSERT_EVENT = "INSERT INTO journal (ts_event, ts_init, type, payload) VALUES (?, ?, ?, ?)"

_ORDER_COLUMNS = (
    "client_order_id",
    "strategy_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "price",
    "status",
    "filled_qty",
    "avg_fill_price",
    "venue_order_id",
    "ts_created",
    "ts_updated",
)
_UPSERT_ORDER = (
    f"INSERT INTO orders ({', '.join(_ORDER_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _ORDER_COLUMNS)}) "
    "ON CONFLICT (client_order_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ORDER_COLUMNS[1:])
)
_SELECT_ORDERS = f"SELECT {', '.join(_ORDER_COLUMNS)} FROM orders"
_OPEN_STATUSES = tuple(s.value for s in OrderStatus if s.is_open)

_UPSERT_POSITION = (
    "INSERT INTO positions (symbol, quantity, avg_price, realized_pnl) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (symbol) DO UPDATE SET quantity = excluded.quantity, "
    "avg_price = excluded.avg_price, realized_pnl = excluded.realized_pnl"
)


def _dec(value: Decimal) -> str:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__} {value!r}")
    return str(value)


def _opt_dec(value: Decimal | None) -> str | None:
    return None if value is None else _dec(value)


def _to_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _order_row(o: OrderSnapshot) -> tuple[Any, ...]:
    return (
        o.client_order_id,
        o.strategy_id,
        o.symbol,
        Side(o.side).value,
        OrderType(o.order_type).value,
        _dec(o.quantity),
        _opt_dec(o.price),
        OrderStatus(o.status).value,
        _dec(o.filled_qty),
        _opt_dec(o.avg_fill_price),
        o.venue_order_id,
        o.ts_created,
        o.ts_updated,
    )


def _order_from_row(r: Sequence[Any]) -> OrderSnapshot:
    return OrderSnapshot(
        client_order_id=r[0],
        strategy_id=r[1],
        symbol=r[2],
        side=Side(r[3]),
        order_type=OrderType(r[4]),
        quantity=Decimal(r[5]),
        price=_to_dec(r[6]),
        status=OrderStatus(r[7]),
        filled_qty=Decimal(r[8]),
        avg_fill_price=_to_dec(r[9]),
        venue_order_id=r[10],
        ts_created=r[11],
        ts_updated=r[12],
    )


class SQLiteStore:
    """The journal and current-state rows in one SQLite file.

    `SQLiteStore(path)` creates the file (and its parent directories) and migrates it to
    the current schema; `SQLiteStore.open_readonly(path)` opens an existing file for a
    reader such as `traider status` and never writes. `Path(":memory:")` gives a private
    in-memory store for tests.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        readonly: bool = False,
        busy_timeout_ms: int = 5000,
        synchronous: str = "FULL",
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.description = f"sqlite {self.path}"
        self._lock = threading.RLock()
        self._closed = False
        self._depth = 0  # nesting of transaction() blocks
        memory = str(path) == _MEMORY
        try:
            if readonly:
                if memory or not self.path.is_file():
                    raise StoreUnavailable(f"sqlite {self.path}: no such database file")
                uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            else:
                if not memory:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    _MEMORY if memory else str(self.path),
                    isolation_level=None,  # autocommit; transactions are explicit
                    check_same_thread=False,
                )
        except OSError as exc:
            raise StoreUnavailable(f"sqlite {self.path}: cannot open: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite {self.path}: cannot open: {exc}") from exc
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if not readonly:
                if not memory:
                    conn.execute("PRAGMA journal_mode = WAL")
                sync = synchronous.upper()
                if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                    raise ValueError(f"bad synchronous level {synchronous!r}")
                conn.execute(f"PRAGMA synchronous = {sync}")
            if readonly:
                version = check_version(conn)
                if version != SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"sqlite {self.path}: schema version {version}, expected "
                        f"{SCHEMA_VERSION}; open it read-write once to create or upgrade it"
                    )
            elif check_version(conn) != SCHEMA_VERSION:
                # sqlite-utils only to create or upgrade the schema: importing it costs
                # 0.1 s (0.3 s where pandas is installed), too much for every start-up
                import sqlite_utils

                migrate(
                    sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
                )
        except SchemaVersionError as exc:
            conn.close()
            msg = str(exc)
            raise SchemaVersionError(
                msg if msg.startswith("sqlite ") else f"sqlite {self.path}: {msg}"
            ) from exc
        except sqlite3.Error as exc:
            conn.close()
            raise StoreUnavailable(f"sqlite {self.path}: cannot open: {exc}") from exc
        except BaseException:  # allowed: roll back or close on any exit, then re-raise
            conn.close()
            raise

    @classmethod
    def open_readonly(cls, path: Path | str, *, busy_timeout_ms: int = 5000) -> SQLiteStore:
        """Open an existing store without ever writing to it (CLI readers)."""
        return cls(path, readonly=True, busy_timeout_ms=busy_timeout_ms)

    # --- plumbing ----------------------------------------------------------------------

    def _fail(self, op: str, exc: BaseException) -> NoReturn:
        if self._closed:
            raise StoreUnavailable(f"sqlite {self.path}: {op}: store is closed") from exc
        raise StoreUnavailable(f"sqlite {self.path}: {op} failed: {exc}") from exc

    @contextmanager
    def _write(self, op: str) -> Iterator[sqlite3.Connection]:
        """Lock, then a transaction (or a savepoint when one is open); errors wrapped."""
        with self._lock:
            conn = self._conn
            try:
                if conn.in_transaction:
                    conn.execute("SAVEPOINT store_op")
                    try:
                        yield conn
                    except BaseException:  # allowed: roll back or close on any exit, then re-raise
                        conn.execute("ROLLBACK TO SAVEPOINT store_op")
                        conn.execute("RELEASE SAVEPOINT store_op")
                        raise
                    conn.execute("RELEASE SAVEPOINT store_op")
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                        conn.execute("COMMIT")
                    except BaseException:  # allowed: roll back or close on any exit, then re-raise
                        conn.rollback()  # a no-op when an error already ended it
                        raise
            except sqlite3.Error as exc:
                self._fail(op, exc)

    def _read(self, op: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                self._fail(op, exc)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Journal events and update current-state rows atomically.

        Everything inside commits when the outermost block exits normally, and nothing is
        kept if it raises. Store calls inside (and nested `transaction()` blocks) commit
        nothing themselves. The store lock is held throughout, so keep the block short.
        """
        with self._lock:
            depth = self._depth = self._depth + 1
            conn = self._conn
            savepoint = f"store_tx_{depth}"
            try:
                try:
                    if conn.in_transaction:
                        conn.execute(f"SAVEPOINT {savepoint}")
                    else:
                        conn.execute("BEGIN IMMEDIATE")
                        savepoint = ""
                except sqlite3.Error as exc:
                    self._fail("begin transaction", exc)
                try:
                    yield
                except BaseException:  # allowed: roll back or close on any exit, then re-raise
                    try:
                        if savepoint:
                            conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                        else:
                            conn.rollback()
                    except sqlite3.Error:
                        pass  # the original error matters more; the tx is gone anyway
                    raise
                try:
                    conn.execute(f"RELEASE SAVEPOINT {savepoint}" if savepoint else "COMMIT")
                except sqlite3.Error as exc:
                    if not savepoint:
                        with suppress(sqlite3.Error):
                            conn.rollback()
                    self._fail("commit", exc)
            finally:
                self._depth = depth - 1

    # --- journal -----------------------------------------------------------------------

    def append(self, event: Event) -> int:
        type_name, payload = encode_event(event)
        with self._lock:
            try:
                cur = self._conn.execute(
                    _INSERT_EVENT, (event.ts_event, event.ts_init, type_name, payload)
                )
            except sqlite3.Error as exc:
                self._fail("append", exc)
        rowid = cur.lastrowid
        assert rowid is not None
        return rowid

    def append_many(self, events: Sequence[Event]) -> int:
        rows = []
        for event in events:
            type_name, payload = encode_event(event)
            rows.append((event.ts_event, event.ts_init, type_name, payload))
        if not rows:
            return self.last_journal_id()
        with self._write("append_many") as conn:
            conn.executemany(_INSERT_EVENT, rows)
            last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
        return last

    def journal(
        self, after_id: int = 0, types: Collection[str] | None = None
    ) -> Iterator[tuple[int, Event]]:
        """Paged: the lock is not held (and no read transaction is open) between pages."""
        if isinstance(types, str):
            types = (types,)
        if types is not None:
            type_list = sorted(set(types))
            if not type_list:
                return
            sql = (
                "SELECT id, type, payload FROM journal WHERE id > ? AND type IN "
                f"({', '.join('?' for _ in type_list)}) ORDER BY id LIMIT {_JOURNAL_PAGE}"
            )
        else:
            type_list = []
            sql = (
                "SELECT id, type, payload FROM journal WHERE id > ? "
                f"ORDER BY id LIMIT {_JOURNAL_PAGE}"
            )
        last = after_id
        while True:
            rows = self._read("read journal", sql, (last, *type_list))
            for row_id, type_name, payload in rows:
                yield row_id, decode_event(type_name, payload)
            if len(rows) < _JOURNAL_PAGE:
                return
            last = rows[-1][0]

    def last_journal_id(self) -> int:
        rows = self._read("read journal", "SELECT COALESCE(MAX(id), 0) FROM journal")
        return int(rows[0][0])

    def fill_count(self) -> int:
        rows = self._read("count fills", "SELECT COUNT(*) FROM journal WHERE type = 'OrderFilled'")
        return int(rows[0][0])

    # --- current state -----------------------------------------------------------------

    def save_orders(self, orders: Sequence[OrderSnapshot]) -> None:
        rows = [_order_row(o) for o in orders]
        if rows:
            with self._write("save orders") as conn:
                conn.executemany(_UPSERT_ORDER, rows)

    def load_orders(self, open_only: bool = False) -> list[OrderSnapshot]:
        if open_only:
            sql = (
                f"{_SELECT_ORDERS} WHERE status IN ({', '.join('?' for _ in _OPEN_STATUSES)}) "
                "ORDER BY ts_created, client_order_id"
            )
            rows = self._read("load orders", sql, _OPEN_STATUSES)
        else:
            rows = self._read(
                "load orders", f"{_SELECT_ORDERS} ORDER BY ts_created, client_order_id"
            )
        return [_order_from_row(r) for r in rows]

    def save_positions(self, positions: Sequence[PositionRecord]) -> None:
        rows = [
            (p.symbol, _dec(p.quantity), _dec(p.avg_price), _dec(p.realized_pnl)) for p in positions
        ]
        if rows:
            with self._write("save positions") as conn:
                conn.executemany(_UPSERT_POSITION, rows)

    def load_positions(self) -> list[PositionRecord]:
        rows = self._read(
            "load positions",
            "SELECT symbol, quantity, avg_price, realized_pnl FROM positions ORDER BY symbol",
        )
        return [PositionRecord(r[0], Decimal(r[1]), Decimal(r[2]), Decimal(r[3])) for r in rows]

    def save_account(self, account: AccountRecord) -> None:
        row = (
            _dec(account.cash),
            _dec(account.realized_pnl),
            _dec(account.fees),
            _dec(account.day_start_equity),
            account.day,
        )
        with self._write("save account") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO account "
                "(id, cash, realized_pnl, fees, day_start_equity, day) VALUES (1, ?, ?, ?, ?, ?)",
                row,
            )

    def load_account(self) -> AccountRecord | None:
        rows = self._read(
            "load account",
            "SELECT cash, realized_pnl, fees, day_start_equity, day FROM account WHERE id = 1",
        )
        if not rows:
            return None
        r = rows[0]
        return AccountRecord(Decimal(r[0]), Decimal(r[1]), Decimal(r[2]), Decimal(r[3]), r[4])

    def set_kill_switch(self, record: KillSwitchRecord) -> None:
        row = (
            int(record.engaged),
            record.reason,
            record.source,
            record.since_ns,
            int(record.flatten),
        )
        with self._write("set kill switch") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO kill_switch "
                "(id, engaged, reason, source, since_ns, flatten) VALUES (1, ?, ?, ?, ?, ?)",
                row,
            )

    def kill_switch(self) -> KillSwitchRecord | None:
        rows = self._read(
            "read kill switch",
            "SELECT engaged, reason, source, since_ns, flatten FROM kill_switch WHERE id = 1",
        )
        if not rows:
            return None
        r = rows[0]
        return KillSwitchRecord(bool(r[0]), r[1], r[2], r[3], bool(r[4]))

    def get_meta(self, key: str) -> str | None:
        rows = self._read("read meta", "SELECT value FROM meta WHERE key = ?", (key,))
        return None if not rows else str(rows[0][0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write("write meta") as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self._conn.close()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"sqlite {self.path}: close failed: {exc}") from exc

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r}{', readonly' if self.readonly else ''})"
