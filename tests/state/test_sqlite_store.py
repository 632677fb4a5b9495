"""SQLiteStore: journal, current-state rows, transactions, concurrency, failures, schema."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec import EVENT_CLASSES, assert_identical, event_strategy

from traider.engine.core.events import (
    Alert,
    BookDelta,
    Event,
    KillSwitchEngaged,
    OrderAccepted,
    OrderFilled,
    OrderSnapshot,
    OrderSubmitted,
    SubmitOrder,
)
from traider.engine.core.types import BookSide, Liquidity, OrderStatus, OrderType, Severity, Side
from traider.engine.state import (
    AccountRecord,
    KillSwitchRecord,
    PositionRecord,
    SchemaVersionError,
    SQLiteStore,
    Store,
    StoreUnavailable,
)
from traider.engine.state.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    migrate,
    schema_version,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "traider.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(db_path)
    yield s
    s.close()


def submit(cid: str, ts: int = 1) -> SubmitOrder:
    return SubmitOrder(
        ts, ts, cid, "mm", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"), Decimal("65000")
    )


def fill(cid: str, trade_id: str, ts: int = 1) -> OrderFilled:
    return OrderFilled(
        ts,
        ts,
        cid,
        "v-" + cid,
        trade_id,
        "BTCUSDT",
        Side.BUY,
        Decimal("0.00000001"),
        Decimal("65000.10"),
        Decimal("0.0001"),
        Liquidity.TAKER,
    )


def snapshot(cid: str, status: OrderStatus, ts: int = 1, filled: str = "0") -> OrderSnapshot:
    return OrderSnapshot(
        client_order_id=cid,
        strategy_id="mm",
        symbol="BTCUSDT",
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.50"),
        price=Decimal("65000.00000001"),
        status=status,
        filled_qty=Decimal(filled),
        avg_fill_price=None if filled == "0" else Decimal("65000.5"),
        venue_order_id=None if status is OrderStatus.INITIALIZED else "v-" + cid,
        ts_created=ts,
        ts_updated=ts + 1,
    )


# --- journal -----------------------------------------------------------------------------


def test_satisfies_the_store_protocol(store: SQLiteStore, db_path: Path) -> None:
    s: Store = store
    assert s.description == f"sqlite {db_path}"


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_type_round_trips_through_the_journal(
    cls: type[Event], data: st.DataObject
) -> None:
    event = data.draw(
        event_strategy(cls)
        .filter(lambda e: -(2**63) <= e.ts_event < 2**63)
        .filter(lambda e: -(2**63) <= e.ts_init < 2**63)
    )
    with SQLiteStore(Path(":memory:")) as s:
        journal_id = s.append(event)
        [(got_id, got)] = list(s.journal())
    assert got_id == journal_id
    assert_identical(got, event)


def test_ids_are_monotonic_and_order_is_kept(store: SQLiteStore) -> None:
    assert store.last_journal_id() == 0
    assert list(store.journal()) == []
    ids = [store.append(submit(f"c{i}", ts=i)) for i in range(5)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    last = store.append_many([submit("m1"), submit("m2"), submit("m3")])
    assert last == ids[-1] + 3
    assert store.last_journal_id() == last
    assert store.append_many([]) == last
    got = list(store.journal())
    assert [i for i, _ in got] == [*ids, last - 2, last - 1, last]
    assert [e.client_order_id for _, e in got] == [  # type: ignore[attr-defined]
        "c0",
        "c1",
        "c2",
        "c3",
        "c4",
        "m1",
        "m2",
        "m3",
    ]


def test_journal_resumes_after_id_across_pages(store: SQLiteStore) -> None:
    events = [BookDelta(i, i, "X", i, BookSide.BID, 1.0 + i, 0.5) for i in range(2600)]
    last = store.append_many(events)
    assert last == 2600
    tail = list(store.journal(after_id=1234))
    assert [i for i, _ in tail] == list(range(1235, 2601))
    assert tail[0][1] == events[1234]
    assert len(list(store.journal())) == 2600
    assert list(store.journal(after_id=last)) == []


def test_journal_type_filter(store: SQLiteStore) -> None:
    store.append(submit("a"))
    store.append(OrderSubmitted(2, 2, "a"))
    store.append(fill("a", "t1"))
    store.append(OrderAccepted(3, 3, "a", "v-a"))
    store.append(fill("a", "t2"))
    fills = list(store.journal(types={"OrderFilled"}))
    assert [i for i, _ in fills] == [3, 5]
    assert all(isinstance(e, OrderFilled) for _, e in fills)
    assert [i for i, _ in store.journal(types=["OrderFilled", "SubmitOrder"])] == [1, 3, 5]
    assert [i for i, _ in store.journal(after_id=3, types=["OrderFilled"])] == [5]
    assert [i for i, _ in store.journal(types="OrderFilled")] == [3, 5]  # a lone name is fine
    assert list(store.journal(types=[])) == []
    assert store.fill_count() == 2


def test_journal_is_append_only(store: SQLiteStore, db_path: Path) -> None:
    store.append(submit("a"))
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE journal SET type = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM journal")
    finally:
        conn.close()


def test_append_is_durable_across_reopen(db_path: Path) -> None:
    engine = SQLiteStore(db_path)
    first = engine.append(submit("a"))
    engine.append(fill("a", "t1"))
    # A second connection (the CLI) sees the committed rows while the engine is open.
    cli = SQLiteStore(db_path)
    assert [i for i, _ in cli.journal()] == [first, first + 1]
    assert cli.fill_count() == 1
    cli.close()
    engine.close()
    reopened = SQLiteStore(db_path)
    assert [e for _, e in reopened.journal()] == [submit("a"), fill("a", "t1")]
    assert reopened.append(submit("b")) == first + 2
    reopened.close()


def test_pragmas(store: SQLiteStore) -> None:
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


# --- transactions ------------------------------------------------------------------------


def test_transaction_commits_journal_and_state_together(db_path: Path) -> None:
    engine = SQLiteStore(db_path)
    cli = SQLiteStore(db_path)
    with engine.transaction():
        engine.append(submit("a"))
        engine.append_many([OrderSubmitted(2, 2, "a")])
        engine.save_orders([snapshot("a", OrderStatus.SUBMITTED)])
        engine.set_meta("k", "v")
        # Nothing is visible to another connection until the block ends.
        assert cli.last_journal_id() == 0
        assert cli.load_orders() == []
        assert cli.get_meta("k") is None
    assert cli.last_journal_id() == 2
    assert cli.load_orders() == [snapshot("a", OrderStatus.SUBMITTED)]
    assert cli.get_meta("k") == "v"
    cli.close()
    engine.close()


def test_transaction_rollback_leaves_nothing(store: SQLiteStore) -> None:
    store.append(submit("before"))

    def work() -> None:
        with store.transaction():
            store.append(submit("a"))
            store.append_many([fill("a", "t1"), fill("a", "t2")])
            store.save_orders([snapshot("a", OrderStatus.FILLED)])
            store.save_positions([PositionRecord("BTCUSDT", Decimal(1), Decimal(2), Decimal(0))])
            store.save_account(AccountRecord(Decimal(1), Decimal(0), Decimal(0), Decimal(1), "d"))
            store.set_kill_switch(KillSwitchRecord(True, "r", "s", 1, False))
            store.set_meta("k", "v")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        work()
    assert [e for _, e in store.journal()] == [submit("before")]
    assert store.fill_count() == 0
    assert store.load_orders() == []
    assert store.load_positions() == []
    assert store.load_account() is None
    assert store.kill_switch() is None
    assert store.get_meta("k") is None
    # and the store is still usable
    assert store.append(submit("after")) > 1


def test_nested_transaction_rolls_back_only_the_inner_block(store: SQLiteStore) -> None:
    def inner() -> None:
        with store.transaction():
            store.append(submit("inner"))
            raise ValueError("inner")

    with store.transaction():
        store.append(submit("outer"))
        with pytest.raises(ValueError, match="inner"):
            inner()
        with store.transaction():
            store.append(submit("inner-ok"))
    assert [e.client_order_id for _, e in store.journal()] == [  # type: ignore[attr-defined]
        "outer",
        "inner-ok",
    ]


# --- concurrency -------------------------------------------------------------------------


def test_two_connections_interleave_writes(db_path: Path) -> None:
    engine = SQLiteStore(db_path)
    cli = SQLiteStore(db_path)
    ids = []
    for i in range(20):
        writer = engine if i % 2 == 0 else cli
        ids.append(writer.append(submit(f"c{i}", ts=i)))
    cli.set_kill_switch(KillSwitchRecord(True, "manual", "cli", 123, True))
    assert engine.kill_switch() == KillSwitchRecord(True, "manual", "cli", 123, True)
    assert ids == list(range(1, 21))
    assert [e.client_order_id for _, e in engine.journal()] == [  # type: ignore[attr-defined]
        f"c{i}" for i in range(20)
    ]
    engine.close()
    cli.close()


def test_second_writer_waits_for_the_lock_instead_of_failing(db_path: Path) -> None:
    engine = SQLiteStore(db_path)
    cli = SQLiteStore(db_path)
    reader = SQLiteStore.open_readonly(db_path)
    errors: list[BaseException] = []

    def kill() -> None:
        try:
            cli.set_kill_switch(KillSwitchRecord(True, "from cli", "cli", 5, False))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with engine.transaction():
        engine.append(submit("a"))
        t = threading.Thread(target=kill)
        t.start()
        time.sleep(0.3)
        assert t.is_alive()  # blocked on the write lock, within busy_timeout
        assert reader.kill_switch() is None  # readers are not blocked (WAL)
    t.join(5)
    assert not t.is_alive()
    assert errors == []
    assert engine.kill_switch() == KillSwitchRecord(True, "from cli", "cli", 5, False)
    assert reader.kill_switch() == KillSwitchRecord(True, "from cli", "cli", 5, False)
    for s in (engine, cli, reader):
        s.close()


def test_another_process_can_read_and_write(store: SQLiteStore, db_path: Path) -> None:
    store.append(fill("a", "t1"))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from traider.engine.state import SQLiteStore, KillSwitchRecord\n"
        "s = SQLiteStore(Path(sys.argv[1]))\n"
        "print(s.fill_count())\n"
        "s.set_kill_switch(KillSwitchRecord(True, 'cli kill', 'cli', 42, True))\n"
        "s.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "1"
    assert store.kill_switch() == KillSwitchRecord(True, "cli kill", "cli", 42, True)
    store.append(fill("a", "t2"))
    assert store.fill_count() == 2


# --- failures ----------------------------------------------------------------------------


def test_directory_where_the_file_should_be(tmp_path: Path) -> None:
    path = tmp_path / "db"
    path.mkdir()
    with pytest.raises(StoreUnavailable, match=str(path)):
        SQLiteStore(path)


def test_parent_is_a_file(tmp_path: Path) -> None:
    parent = tmp_path / "not-a-dir"
    parent.write_text("x")
    with pytest.raises(StoreUnavailable, match="not-a-dir"):
        SQLiteStore(parent / "traider.db")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a sqlite file at all" * 100)
    with pytest.raises(StoreUnavailable, match=r"junk\.db.*not a database"):
        SQLiteStore(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores modes")
def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(StoreUnavailable, match=str(ro)):
            SQLiteStore(ro / "traider.db")
    finally:
        ro.chmod(0o755)


def test_closed_store_raises_store_unavailable(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreUnavailable, match="closed"):
        s.append(submit("a"))
    with pytest.raises(StoreUnavailable, match="closed"):
        list(s.journal())
    with pytest.raises(StoreUnavailable, match="closed"):
        s.set_meta("k", "v")


# --- current state -----------------------------------------------------------------------


def test_kill_switch_persists_across_reopen(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    assert s.kill_switch() is None
    s.set_kill_switch(KillSwitchRecord(True, "loss limit", "risk", 1_700_000_000_000, True))
    s.close()
    s = SQLiteStore(db_path)
    assert s.kill_switch() == KillSwitchRecord(True, "loss limit", "risk", 1_700_000_000_000, True)
    s.set_kill_switch(KillSwitchRecord(False, "", "tui", None, False))
    s.close()
    s = SQLiteStore(db_path)
    assert s.kill_switch() == KillSwitchRecord(False, "", "tui", None, False)
    s.close()


def test_orders_upsert_by_client_order_id_and_open_filter(store: SQLiteStore) -> None:
    store.save_orders(
        [
            snapshot("a", OrderStatus.INITIALIZED, ts=1),
            snapshot("b", OrderStatus.ACCEPTED, ts=2),
            snapshot("c", OrderStatus.PARTIALLY_FILLED, ts=3, filled="0.25"),
        ]
    )
    store.save_orders([snapshot("a", OrderStatus.SUBMITTED, ts=1)])
    store.save_orders([snapshot("b", OrderStatus.FILLED, ts=2, filled="0.50")])
    everything = store.load_orders()
    assert [o.client_order_id for o in everything] == ["a", "b", "c"]
    assert everything[0].status is OrderStatus.SUBMITTED
    assert everything[0].venue_order_id == "v-a"
    assert everything[1] == snapshot("b", OrderStatus.FILLED, ts=2, filled="0.50")
    assert everything[2].price == Decimal("65000.00000001")
    assert str(everything[2].quantity) == "0.50"
    open_orders = store.load_orders(open_only=True)
    assert [o.client_order_id for o in open_orders] == ["a", "c"]
    assert all(o.status.is_open for o in open_orders)
    for status in OrderStatus:
        store.save_orders([snapshot("z", status, ts=9)])
        assert any(o.client_order_id == "z" for o in store.load_orders(True)) == status.is_open


def test_positions_account_and_meta(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    assert s.load_positions() == []
    assert s.load_account() is None
    assert s.get_meta("missing") is None
    s.save_positions(
        [
            PositionRecord("ETHUSDT", Decimal("-1.5"), Decimal("3000.25"), Decimal("0")),
            PositionRecord("BTCUSDT", Decimal("0.00000001"), Decimal("65000"), Decimal("-2.1")),
        ]
    )
    s.save_positions([PositionRecord("ETHUSDT", Decimal("0"), Decimal("0"), Decimal("12.50"))])
    account = AccountRecord(
        Decimal("10000.00"), Decimal("12.50"), Decimal("0.35"), Decimal("9990"), "2024-05-01"
    )
    s.save_account(account)
    s.set_meta("engine_version", "1")
    s.set_meta("engine_version", "2")
    s.close()
    s = SQLiteStore(db_path)
    assert s.load_positions() == [
        PositionRecord("BTCUSDT", Decimal("0.00000001"), Decimal("65000"), Decimal("-2.1")),
        PositionRecord("ETHUSDT", Decimal("0"), Decimal("0"), Decimal("12.50")),
    ]
    assert str(s.load_positions()[0].quantity) == "1E-8"
    loaded = s.load_account()
    assert loaded == account
    assert loaded is not None
    assert str(loaded.cash) == "10000.00"
    assert s.get_meta("engine_version") == "2"
    s.close()


def test_fill_count_counts_journaled_fills(store: SQLiteStore) -> None:
    assert store.fill_count() == 0
    store.append_many([fill("a", f"t{i}") for i in range(7)])
    store.append(KillSwitchEngaged(1, 1, "r", "s", False))
    store.append(Alert(1, 1, Severity.INFO, "s", "m", {"a": "b"}))
    assert store.fill_count() == 7


# --- schema and migrations ---------------------------------------------------------------


def test_migrating_an_empty_file_and_reopening_is_idempotent(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch()  # an existing, empty file
    s = SQLiteStore(db_path)
    s.append(submit("a"))
    s.close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert schema_version(conn) == SCHEMA_VERSION
        db = sqlite_utils.Database(conn, execute_plugins=False)
        assert set(db.table_names()) >= {
            "journal",
            "orders",
            "positions",
            "account",
            "kill_switch",
            "meta",
        }
        assert migrate(db) == (SCHEMA_VERSION, SCHEMA_VERSION)
    finally:
        conn.close()
    for _ in range(2):
        s = SQLiteStore(db_path)
        assert s.last_journal_id() == 1
        s.close()


def test_upgrade_from_an_older_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    assert migrate(db, MIGRATIONS[:1]) == (0, 1)
    conn.execute(
        "INSERT INTO journal (ts_event, ts_init, type, payload) VALUES (1, 1, 'OrderSubmitted', "
        """'{"ts_event":1,"ts_init":1,"client_order_id":"x"}')"""
    )
    conn.close()
    s = SQLiteStore(tmp_path / "old.db")
    assert list(s.journal()) == [(1, OrderSubmitted(1, 1, "x"))]
    s.set_meta("k", "v")  # tables from the later migration exist
    s.close()


def test_failed_migration_changes_nothing(tmp_path: Path) -> None:
    def broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration bug")

    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    with pytest.raises(RuntimeError, match="migration bug"):
        migrate(db, [*MIGRATIONS, Migration(SCHEMA_VERSION + 1, "broken", broken)])
    assert schema_version(conn) == 0
    assert db.table_names() == []
    conn.close()


def test_newer_schema_is_refused_with_a_clear_message(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaVersionError, match=r"newer than this traider supports") as info:
        SQLiteStore(db_path)
    assert str(db_path) in str(info.value)
    assert isinstance(info.value, StoreUnavailable)


def test_readonly_reader(db_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="no such database"):
        SQLiteStore.open_readonly(db_path)
    engine = SQLiteStore(db_path)
    engine.append(fill("a", "t1"))
    engine.set_kill_switch(KillSwitchRecord(True, "r", "risk", 7, False))
    reader = SQLiteStore.open_readonly(db_path)
    assert reader.fill_count() == 1
    assert reader.kill_switch() == KillSwitchRecord(True, "r", "risk", 7, False)
    engine.append(fill("a", "t2"))
    assert reader.fill_count() == 2  # sees the writer's new commits
    with pytest.raises(StoreUnavailable, match="readonly"):
        reader.set_meta("k", "v")
    reader.close()
    engine.close()
