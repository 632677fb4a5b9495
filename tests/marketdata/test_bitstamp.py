"""The Bitstamp L3 capture aggregated to L2: cleaning counts, a book that stays valid,
the level-event mix and level counts against the data README."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from traider.engine.core.events import BookDelta, BookSnapshot, Event, TradeTick
from traider.engine.core.types import BookSide
from traider.engine.marketdata.bitstamp import BitstampStats, convert_bitstamp, iter_bitstamp
from traider.engine.marketdata.book import L2Book
from traider.engine.marketdata.recording import read_recording

BOOK_DATA = Path(__file__).resolve().parents[2].parent / "shared/data/book"
ORDERS = BOOK_DATA / "bitstamp_btcusd_2026-05-02_orders.csv.gz"
TRADES = BOOK_DATA / "bitstamp_btcusd_2026-05-02_trades.csv"

pytestmark = pytest.mark.skipif(
    not (ORDERS.is_file() and TRADES.is_file()), reason="shared Bitstamp capture not present"
)


@pytest.fixture(scope="module")
def capture() -> tuple[list[Event], BitstampStats]:
    stats = BitstampStats()
    events = list(iter_bitstamp(ORDERS, TRADES, stats=stats))
    return events, stats


def test_invalid_rows_dropped_and_counted(capture: tuple[list[Event], BitstampStats]) -> None:
    _, st = capture
    assert st.order_rows == 314_057
    assert st.snapshot_rows == 6_512
    assert st.dropped_nonpositive_price == 49
    # the README says 280 placeholder rows; the file holds 2 rows at price 999999999
    # (market orders announced with volume 0, then `changed` to a real price); their
    # follow-up rows are counted as rows of unknown orders
    assert st.dropped_placeholder_price == 2
    assert st.unknown_order >= 4
    assert st.trades == 284


def test_stream_shape(capture: tuple[list[Event], BitstampStats]) -> None:
    events, st = capture
    assert isinstance(events[0], BookSnapshot)
    assert events[0].seq == 0
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert [d.seq for d in deltas] == list(range(1, len(deltas) + 1))
    assert len(deltas) == st.deltas > 100_000
    assert sum(isinstance(e, TradeTick) for e in events) == 284
    ts = [e.ts_init for e in events]
    assert ts == sorted(ts)  # receipt time never goes back: trades interleaved in order


def test_l2_book_never_stale_or_crossed(capture: tuple[list[Event], BitstampStats]) -> None:
    events, st = capture
    book = L2Book("BTC-USD")  # traider's validating book, default price band
    book.apply_snapshot(events[0])  # type: ignore[arg-type]
    assert not book.stale, book.stale_reason
    for e in events[1:]:
        if isinstance(e, BookDelta):
            assert book.apply_delta(e), book.stale_reason
            bid, ask = book.best_bid(), book.best_ask()
            if bid is not None and ask is not None:
                assert bid[0] < ask[0]
    assert not book.stale
    # the capture ends with synthetic deletes of every order: the book ends empty
    assert book.level_count(BookSide.BID) == 0 == book.level_count(BookSide.ASK)
    # Real locked/crossed moments: Bitstamp announces marketable orders as `created` at a
    # price through the opposite best before they fill (and quote-pinging bots create and
    # delete orders at the opposite best within a millisecond). ~94k such orders are held
    # back; a few dozen left a resting remainder that was shown once it no longer crossed.
    assert 80_000 < st.held_back < 110_000
    assert 0 < st.held_back_shown < 200


def _raw_l2(df: pl.DataFrame, snapshot_rows: int) -> tuple[tuple[int, int], dict[str, float]]:
    """The README's view: every valid row aggregated per level, nothing held back."""
    orders: dict[int, tuple[bool, float, float]] = {}
    levels: dict[tuple[bool, float], float] = {}
    counts = {"insert": 0, "update": 0, "delete": 0}
    snap_levels = (0, 0)
    rows = zip(
        df["id"].to_list(),
        df["price"].to_list(),
        df["volume"].to_list(),
        df["action"].to_list(),
        (df["direction"] == "bid").to_list(),
        strict=True,
    )
    for k, (oid, price, vol, action, is_bid) in enumerate(rows):
        if k == snapshot_rows:
            snap_levels = (sum(1 for b, _ in levels if b), sum(1 for b, _ in levels if not b))
        if price <= 0 or price == 999_999_999:
            continue
        changes: list[tuple[bool, float, float]] = []
        if action == "created":
            orders[oid] = (is_bid, price, vol)
            changes = [(is_bid, price, vol)]
        elif oid in orders:
            ob, op, ov = orders.pop(oid)
            changes = [(ob, op, -ov)]
            if action == "changed":
                orders[oid] = (ob, price, vol)
                changes.append((ob, price, vol))
        for side, p, dv in changes:
            old = levels.get((side, p), 0.0)
            new = max(round(old + dv, 8), 0.0)
            if k >= snapshot_rows:
                if old == 0 and new > 0:
                    counts["insert"] += 1
                elif old > 0 and new == 0:
                    counts["delete"] += 1
                elif old != new:
                    counts["update"] += 1
            if new == 0:
                levels.pop((side, p), None)
            else:
                levels[(side, p)] = new
    total = sum(counts.values())
    return snap_levels, {k: 100 * v / total for k, v in counts.items()}


def test_level_mix_and_counts_against_readme(capture: tuple[list[Event], BitstampStats]) -> None:
    _, st = capture
    (raw_bids, raw_asks), raw_mix = _raw_l2(pl.read_csv(ORDERS), 6_512)
    # the README's figures are the raw aggregation: ~1,700 / 2,900 levels, 39/21/39 %
    assert abs(raw_bids - 1_700) < 100
    assert abs(raw_asks - 2_900) < 150
    assert st.raw_snapshot_bid_levels == raw_bids
    assert st.raw_snapshot_ask_levels == raw_asks
    assert abs(raw_mix["insert"] - 39) < 2
    assert abs(raw_mix["update"] - 21) < 2
    assert abs(raw_mix["delete"] - 39) < 2
    # the loader's book leaves out orders > 5x from the mid (bids at $1, asks at $99M:
    # real but refused by L2Book's price band) and the held-back crossing flickers, which
    # were create+delete pairs: fewer levels, fewer inserts/deletes, relatively more updates
    mix = st.mix_pct()
    assert abs(mix["insert"] - 39) < 6
    assert abs(mix["delete"] - 39) < 6
    assert abs(mix["update"] - 21) < 8
    assert 1_200 < st.snapshot_bid_levels < raw_bids
    assert 2_500 < st.snapshot_ask_levels < raw_asks
    assert st.out_of_band > 0


def test_convert_writes_the_same_stream(
    tmp_path: Path, capture: tuple[list[Event], BitstampStats]
) -> None:
    events, st = capture
    out = tmp_path / "bitstamp.parquet"
    stats = convert_bitstamp(ORDERS, TRADES, out)
    assert stats.deltas == st.deltas
    assert list(read_recording(out)) == events
