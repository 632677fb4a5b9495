"""Market-data recordings: one Parquet row per event, streamed in and out.

Columns (one row per market-data event, in the order the events were seen):

========== ======= ==============================================================
kind       string  "snapshot" | "delta" | "trade"
symbol     string
seq        int64   book sequence number (snapshot: its seq; trade: null)
side       string  "BID" | "ASK" (trade: null)
price      float64
size       float64 delta: new level total (0 deletes); trade: traded size
trade_id   int64   trades only
aggressor  string  "BUY" | "SELL", trades only
ts_event   int64   venue time, ns
ts_recv    int64   receipt time, ns (becomes the event's `ts_init` on read)
========== ======= ==============================================================

A snapshot is stored as its levels: one row per level (bids best first, then asks best
first) with kind "snapshot" and the snapshot's seq; an empty snapshot is one row with a null
side. Consecutive snapshot rows with the same symbol, seq and timestamps are one snapshot
(a bid row after an ask row starts a new one).

`Recorder` appends to in-memory column buffers and writes a row group every `flush_rows`
rows through `pyarrow.parquet.ParquetWriter`, so memory stays bounded however long the
recording. `read_recording` streams the events back one row group at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from traider.engine.core.events import BookDelta, BookSnapshot, Event, Level, TradeTick
from traider.engine.core.types import BookSide, Side

__all__ = [
    "SCHEMA",
    "Recorder",
    "read_recording",
    "recording_info",
    "write_recording",
]

SNAPSHOT = "snapshot"
DELTA = "delta"
TRADE = "trade"

SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("symbol", pa.string()),
        ("seq", pa.int64()),
        ("side", pa.string()),
        ("price", pa.float64()),
        ("size", pa.float64()),
        ("trade_id", pa.int64()),
        ("aggressor", pa.string()),
        ("ts_event", pa.int64()),
        ("ts_recv", pa.int64()),
    ]
)
_COLUMNS = tuple(SCHEMA.names)
_BID = BookSide.BID
_ASK = BookSide.ASK
_SIDES = {"BID": _BID, "ASK": _ASK}
_AGGRESSORS = {"BUY": Side.BUY, "SELL": Side.SELL}


class Recorder:
    """Collects market-data events into a Parquet file; use as a context manager or
    call `close()` (nothing is readable before the file is closed)."""

    def __init__(self, path: Path | str, *, flush_rows: int = 65_536) -> None:
        if flush_rows <= 0:
            raise ValueError("flush_rows must be positive")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._flush_rows = flush_rows
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            str(self.path), SCHEMA, compression="zstd"
        )
        self._cols: list[list[Any]] = [[] for _ in _COLUMNS]
        self.rows = 0  # rows written or buffered
        self.events = 0  # events recorded (a snapshot is one event, several rows)

    # --- recording ------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Append one BookSnapshot, BookDelta or TradeTick; other events are refused."""
        if self._writer is None:
            raise ValueError(f"recorder for {self.path} is closed")
        (kind, symbol, seq, side, price, size, trade_id, aggressor, ts_event, ts_recv) = self._cols
        tp = type(event)
        if tp is BookDelta:
            assert isinstance(event, BookDelta)
            kind.append(DELTA)
            symbol.append(event.symbol)
            seq.append(event.seq)
            side.append(event.side.value)
            price.append(event.price)
            size.append(event.size)
            trade_id.append(None)
            aggressor.append(None)
            ts_event.append(event.ts_event)
            ts_recv.append(event.ts_init)
            n = 1
        elif tp is TradeTick:
            assert isinstance(event, TradeTick)
            kind.append(TRADE)
            symbol.append(event.symbol)
            seq.append(None)
            side.append(None)
            price.append(event.price)
            size.append(event.size)
            trade_id.append(event.trade_id)
            aggressor.append(event.aggressor.value)
            ts_event.append(event.ts_event)
            ts_recv.append(event.ts_init)
            n = 1
        elif tp is BookSnapshot:
            assert isinstance(event, BookSnapshot)
            levels = [("BID", p, s) for p, s in event.bids]
            levels += [("ASK", p, s) for p, s in event.asks]
            rows: list[tuple[str | None, float | None, float | None]] = list(levels)
            if not rows:
                rows = [(None, None, None)]  # an empty snapshot still happened
            for side_name, p, s in rows:
                kind.append(SNAPSHOT)
                symbol.append(event.symbol)
                seq.append(event.seq)
                side.append(side_name)
                price.append(p)
                size.append(s)
                trade_id.append(None)
                aggressor.append(None)
                ts_event.append(event.ts_event)
                ts_recv.append(event.ts_init)
            n = len(rows)
        else:
            raise TypeError(f"not a market-data event: {type(event).__name__}")
        self.rows += n
        self.events += 1
        if len(kind) >= self._flush_rows:
            self.flush()

    def record_many(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, (BookDelta, TradeTick, BookSnapshot)):
                self.record(event)

    def flush(self) -> None:
        """Write the buffered rows as one row group."""
        if self._writer is None or not self._cols[0]:
            return
        arrays = [
            pa.array(col, type=field.type) for col, field in zip(self._cols, SCHEMA, strict=True)
        ]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA))
        self._cols = [[] for _ in _COLUMNS]

    def close(self) -> None:
        if self._writer is None:
            return
        self.flush()
        self._writer.close()
        self._writer = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_recording(path: Path | str, events: Iterable[Event], *, flush_rows: int = 65_536) -> int:
    """Record every market-data event of `events` to `path`; returns the number recorded."""
    with Recorder(path, flush_rows=flush_rows) as rec:
        rec.record_many(events)
        return rec.events


# --- reading ----------------------------------------------------------------------------


def read_recording(path: Path | str, *, batch_rows: int = 16_384) -> Iterator[Event]:
    """The recorded events in their original order, as BookSnapshot / BookDelta /
    TradeTick (`ts_init` = receipt time). Reads one batch of rows at a time."""
    pf = pq.ParquetFile(str(path))
    snap: list[Any] | None = None  # [symbol, seq, ts_event, ts_recv, bids, asks, in_asks]
    for batch in pf.iter_batches(batch_size=batch_rows, columns=list(_COLUMNS)):
        kind_codes, cols = _batch_lists(batch)
        kinds, symbols, seqs, sides, prices, sizes, trade_ids, aggressors, ts_ev, ts_rc = cols
        # runs of deltas (nearly everything) are built by `map` in C; other rows one by one
        others = np.flatnonzero(kind_codes != 1).tolist()
        others.append(len(kinds))
        i = 0
        for j in others:
            if j > i:
                if snap is not None:
                    yield _build_snapshot(snap)
                    snap = None
                yield from map(
                    BookDelta,
                    ts_ev[i:j],
                    ts_rc[i:j],
                    symbols[i:j],
                    seqs[i:j],
                    sides[i:j],
                    prices[i:j],
                    sizes[i:j],
                )
            if j == len(kinds):
                break
            kind, symbol, seq, side = kinds[j], symbols[j], seqs[j], sides[j]
            ts_event, ts_recv, price, size = ts_ev[j], ts_rc[j], prices[j], sizes[j]
            i = j + 1
            if kind == 2:
                if snap is not None:
                    yield _build_snapshot(snap)
                    snap = None
                yield TradeTick(ts_event, ts_recv, symbol, trade_ids[j], price, size, aggressors[j])
            elif kind == 0:
                if snap is not None and (
                    snap[0] != symbol
                    or snap[1] != seq
                    or snap[2] != ts_event
                    or snap[3] != ts_recv
                    or (side is _BID and snap[6])
                    or side is None
                ):
                    yield _build_snapshot(snap)
                    snap = None
                if snap is None:
                    snap = [symbol, seq, ts_event, ts_recv, [], [], False]
                if side is _BID:
                    snap[4].append((price, size))
                elif side is _ASK:
                    snap[5].append((price, size))
                    snap[6] = True
            else:
                raise ValueError(f"{path}: unknown event kind in row {j} of a row group")
    if snap is not None:
        yield _build_snapshot(snap)


def _mapped(column: Any, values: list[str], objects: list[Any]) -> list[Any]:
    """Each string of `column` replaced by the object at its index in `values`; null or
    unknown strings become the extra last object."""
    idx = pc.fill_null(pc.index_in(column, value_set=pa.array(values)), len(values))
    table = np.array(objects, dtype=object)
    result: list[Any] = table[idx.to_numpy(zero_copy_only=False)].tolist()
    return result


def _numbers(column: Any, fill: float | int) -> list[Any]:
    result: list[Any] = pc.fill_null(column, fill).to_numpy(zero_copy_only=False).tolist()
    return result


def _batch_lists(batch: Any) -> tuple[Any, list[list[Any]]]:
    """The columns of one record batch as Python lists, strings mapped to the objects
    events carry (the per-row work happens in Arrow and numpy), and the kind codes as a
    numpy array (0 snapshot, 1 delta, 2 trade, -1 unknown)."""
    col = batch.column
    kind_idx = pc.fill_null(pc.index_in(col(0), value_set=pa.array([SNAPSHOT, DELTA, TRADE])), 3)
    kind_codes = np.array([0, 1, 2, -1], dtype=np.int8)[kind_idx.to_numpy(zero_copy_only=False)]
    symbol = col(1).dictionary_encode()
    symbols = np.array(symbol.dictionary.to_pylist(), dtype=object)
    return kind_codes, [
        kind_codes.tolist(),
        symbols[symbol.indices.to_numpy(zero_copy_only=False)].tolist(),
        _numbers(col(2), 0),
        _mapped(col(3), ["BID", "ASK"], [_BID, _ASK, None]),
        _numbers(col(4), 0.0),
        _numbers(col(5), 0.0),
        _numbers(col(6), 0),
        _mapped(col(7), ["BUY", "SELL"], [Side.BUY, Side.SELL, None]),
        _numbers(col(8), 0),
        _numbers(col(9), 0),
    ]


def _build_snapshot(s: list[Any]) -> BookSnapshot:
    bids: tuple[Level, ...] = tuple(s[4])
    asks: tuple[Level, ...] = tuple(s[5])
    return BookSnapshot(s[2], s[3], s[0], s[1], bids, asks)


def recording_info(path: Path | str) -> dict[str, Any]:
    """Cheap summary from the columns (no events built): rows, per-kind counts, symbols,
    first and last receipt time."""
    table = pq.read_table(str(path), columns=["kind", "symbol", "ts_recv"])
    kinds = table.column("kind").value_counts().to_pylist()
    symbols = table.column("symbol").unique().to_pylist()
    ts = table.column("ts_recv")
    first = pc.min(ts).as_py() if len(ts) else None
    last = pc.max(ts).as_py() if len(ts) else None
    return {
        "rows": table.num_rows,
        "kinds": {k["values"]: k["counts"] for k in kinds},
        "symbols": sorted(str(s) for s in symbols),
        "first_ts_recv": first,
        "last_ts_recv": last,
    }
