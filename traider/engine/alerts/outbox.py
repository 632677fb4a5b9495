"""The durable outbox: every delivery is a row in `$TRAIDER_HOME/alerts.db` before it is sent.

A separate SQLite file from the trading journal, so alert delivery never contends with
order journaling for the write lock. WAL mode; `synchronous=NORMAL`: a commit survives a
process crash (the WAL is written before `enqueue` returns) but the last commits could be
lost on an OS crash or power cut, which costs an fsync-free enqueue on the event loop (a
few tens of microseconds) instead of one fsync per alert.

Jobs: `pending` -> `sent`, or -> `dead` after `max_attempts` or a permanent error (the last
error is kept). `enqueue` is one short `BEGIN IMMEDIATE` transaction of `INSERT OR IGNORE`
keyed on a derived `job_id`, so enqueueing the same job twice (e.g. the same alert replayed
after a restart) is a no-op and a sent job is never sent again. Delivery is at-least-once:
a crash between the HTTP success and `mark_sent` resends that one job after restart
(PagerDuty deduplicates it by dedup key).

Order: a job is due only when no earlier pending job exists for the same channel and dedup
key, so a resolve never overtakes its trigger while the trigger is backing off.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

ALERTS_DB_NAME = "alerts.db"
_SENT_RETENTION_NS = 7 * 24 * 3600 * 1_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ns INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    created_ns INTEGER NOT NULL,
    sent_ns INTEGER,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state_due ON jobs (state, next_attempt_ns);
CREATE INDEX IF NOT EXISTS jobs_channel_key ON jobs (channel, dedup_key, state);
"""

_COLUMNS = ("seq, job_id, channel, kind, dedup_key, payload, attempts, next_attempt_ns, "
            "state, created_ns, sent_ns, last_error")

_DUE = f"""
SELECT {_COLUMNS} FROM jobs AS j
WHERE j.state = 'pending' AND j.next_attempt_ns <= ?
  AND NOT EXISTS (
    SELECT 1 FROM jobs AS e
    WHERE e.state = 'pending' AND e.channel = j.channel AND e.dedup_key = j.dedup_key
      AND e.seq < j.seq)
ORDER BY j.next_attempt_ns, j.seq
LIMIT ?
"""  # noqa: S608  (a module constant)


class OutboxError(RuntimeError):
    """The alerts database failed (disk full, locked, corrupt); str() says which file."""


@dataclass(frozen=True, slots=True)
class NewJob:
    job_id: str
    channel: str
    kind: str
    dedup_key: str
    payload: dict[str, Any]
    next_attempt_ns: int = 0  # 0: due at once


@dataclass(frozen=True, slots=True)
class Job:
    seq: int
    job_id: str
    channel: str
    kind: str
    dedup_key: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_ns: int
    state: str
    created_ns: int
    sent_ns: int | None
    last_error: str


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    sent: int
    dead: int
    oldest_pending_created_ns: int | None
    last_error: str


def _job(row: Sequence[Any]) -> Job:
    return Job(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7],
               row[8], row[9], row[10], row[11])


class Outbox:
    """Delivery jobs in one SQLite file; thread-safe (one connection under a lock)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"sqlite {self.path}: cannot open: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise OutboxError(f"sqlite {self.path}: cannot open: {exc}") from exc
        self._conn = conn
        self._closed = False

    def _fail(self, op: str, exc: BaseException) -> NoReturn:
        state = "outbox is closed" if self._closed else f"failed: {exc}"
        raise OutboxError(f"sqlite {self.path}: {op}: {state}") from exc

    @contextmanager
    def _write(self, op: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:  # allowed: roll back or close on any exit, then re-raise
                    self._conn.rollback()
                    raise
            except sqlite3.Error as exc:
                self._fail(op, exc)

    def _read(self, op: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                self._fail(op, exc)

    # --- writes ------------------------------------------------------------------------

    def enqueue(self, jobs: Sequence[NewJob], now_ns: int) -> int:
        """Insert new jobs in one transaction; ones whose job_id exists are ignored."""
        if not jobs:
            return 0
        rows = [(j.job_id, j.channel, j.kind, j.dedup_key,
                 json.dumps(j.payload, separators=(",", ":"), sort_keys=True),
                 j.next_attempt_ns or now_ns, now_ns) for j in jobs]
        with self._write("enqueue") as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO jobs (job_id, channel, kind, dedup_key, payload, "
                "next_attempt_ns, created_ns) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            return conn.total_changes - before

    def mark_sent(self, seq: int, now_ns: int) -> None:
        with self._write("mark_sent") as conn:
            conn.execute("UPDATE jobs SET state = 'sent', sent_ns = ?, attempts = attempts + 1 "
                         "WHERE seq = ?", (now_ns, seq))

    def mark_retry(self, seq: int, next_attempt_ns: int, error: str) -> None:
        with self._write("mark_retry") as conn:
            conn.execute("UPDATE jobs SET attempts = attempts + 1, next_attempt_ns = ?, "
                         "last_error = ? WHERE seq = ?", (next_attempt_ns, error, seq))

    def mark_dead(self, seq: int, error: str) -> None:
        with self._write("mark_dead") as conn:
            conn.execute("UPDATE jobs SET state = 'dead', attempts = attempts + 1, "
                         "last_error = ? WHERE seq = ?", (error, seq))

    def prune(self, now_ns: int) -> int:
        """Forget sent jobs older than a week (dead ones stay for the operator)."""
        with self._write("prune") as conn:
            cur = conn.execute("DELETE FROM jobs WHERE state = 'sent' AND sent_ns < ?",
                               (now_ns - _SENT_RETENTION_NS,))
            return cur.rowcount

    # --- reads -------------------------------------------------------------------------

    def due(self, now_ns: int, limit: int = 100) -> list[Job]:
        return [_job(r) for r in self._read("due", _DUE, (now_ns, limit))]

    def jobs(self, state: str | None = None) -> list[Job]:
        if state is None:
            rows = self._read("jobs", f"SELECT {_COLUMNS} FROM jobs ORDER BY seq")  # noqa: S608
        else:
            rows = self._read("jobs", f"SELECT {_COLUMNS} FROM jobs WHERE state = ? "  # noqa: S608
                                      "ORDER BY seq", (state,))
        return [_job(r) for r in rows]

    def next_due_ns(self) -> int | None:
        rows = self._read("next_due", "SELECT MIN(next_attempt_ns) FROM jobs "
                                      "WHERE state = 'pending'")
        return None if rows[0][0] is None else int(rows[0][0])

    def stats(self) -> OutboxStats:
        counts = dict(self._read("stats", "SELECT state, COUNT(*) FROM jobs GROUP BY state"))
        oldest = self._read("stats", "SELECT MIN(created_ns) FROM jobs WHERE state = 'pending'")
        last = self._read("stats", "SELECT last_error FROM jobs WHERE last_error != '' "
                                   "ORDER BY seq DESC LIMIT 1")
        return OutboxStats(
            pending=int(counts.get("pending", 0)),
            sent=int(counts.get("sent", 0)),
            dead=int(counts.get("dead", 0)),
            oldest_pending_created_ns=None if oldest[0][0] is None else int(oldest[0][0]),
            last_error=str(last[0][0]) if last else "",
        )

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


# --- what a sender reports back ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """A sender's verdict on one attempt: "sent", "retry" (transient) or "dead" (permanent).

    `error` never contains a secret (senders redact); `retry_after_s` is the server's
    Retry-After when it gave one.
    """

    status: str
    error: str = ""
    retry_after_s: float | None = None


SENT = SendOutcome("sent")
_MAX_RETRY_AFTER_S = 3600.0


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        from email.utils import parsedate_to_datetime
        from time import time

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time()
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def redact_obj(value: Any, secrets: Sequence[str]) -> Any:
    """`redact` through the strings of a JSON-like value (dicts, lists, tuples)."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list | tuple):
        return [redact_obj(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: redact_obj(v, secrets) for k, v in value.items()}
    return value
