"""Recording format: record -> read gives the same events, in order, streamed."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from traider.cli_replay import record_simulated
from traider.engine.core.events import BookDelta, BookSnapshot, Event, TradeTick
from traider.engine.core.types import BookSide, Side
from traider.engine.marketdata.recording import (
    Recorder,
    read_recording,
    recording_info,
    write_recording,
)


def _events() -> list[Event]:
    return [
        BookSnapshot(10, 11, "BTC-USD", 0, ((100.0, 1.0), (99.5, 2.0)), ((100.5, 0.5),)),
        BookSnapshot(10, 11, "ETH-USD", 0, (), ()),  # empty snapshot survives
        BookDelta(12, 13, "BTC-USD", 1, BookSide.BID, 100.0, 0.0),
        TradeTick(14, 15, "BTC-USD", 7, 100.5, 0.25, Side.BUY),
        BookDelta(16, 17, "ETH-USD", 1, BookSide.ASK, 3000.25, 4.5),
        # two snapshots back to back, same symbol and seq: still two
        BookSnapshot(18, 19, "BTC-USD", 1, ((99.5, 2.0),), ((100.5, 0.5),)),
        BookSnapshot(18, 19, "BTC-USD", 1, ((99.0, 1.0),), ()),
        TradeTick(20, 21, "ETH-USD", 8, 3000.0, 1.0, Side.SELL),
    ]


def test_round_trip_identical(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    events = _events()
    assert write_recording(path, events) == len(events)
    assert list(read_recording(path)) == events


def test_flush_bounds_row_groups_and_snapshot_spans_them(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    events = _events() * 3
    with Recorder(path, flush_rows=2) as rec:
        for e in events:
            rec.record(e)
        assert rec.events == len(events)
    assert pq.ParquetFile(str(path)).num_row_groups > 5
    assert list(read_recording(path, batch_rows=3)) == events


def test_refuses_other_events_and_closed(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r.parquet")
    with pytest.raises(TypeError):
        rec.record(Event(1, 2))
    rec.close()
    with pytest.raises(ValueError, match="closed"):
        rec.record(_events()[2])


def test_simulated_market_recording_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sim.parquet"
    summary = record_simulated(path, ("BTC-USD", "ETH-USD"), 20.0)
    assert summary["deltas"] > 1000
    info = recording_info(path)
    assert info["symbols"] == ["BTC-USD", "ETH-USD"]
    assert info["kinds"]["delta"] == summary["deltas"]
    events = list(read_recording(path, batch_rows=1000))
    assert len(events) == summary["events"]
    # per symbol, deltas are consecutive after the snapshot; receipt time never goes back
    last_seq = {}
    last_ts = 0
    for e in events:
        assert e.ts_init >= last_ts
        last_ts = e.ts_init
        if isinstance(e, BookSnapshot):
            last_seq[e.symbol] = e.seq
        elif isinstance(e, BookDelta):
            assert e.seq == last_seq[e.symbol] + 1
            last_seq[e.symbol] = e.seq
