"""Bars from trades: boundaries, empty bars, bars completed by a trade, seeding."""

from __future__ import annotations

import polars as pl

from traider.engine.models.live_bars import BarBook

M = 60 * 10**9


def test_trades_make_ohlcv_and_the_clock_completes_bars() -> None:
    book = BarBook(("X",), M, 100)
    book.on_trade("X", 10 * M + 5, 100.0, 1.0)
    book.on_trade("X", 10 * M + 7, 101.0, 2.0)
    book.on_trade("X", 10 * M + 9, 99.5, 0.5)
    assert book.close_until(11 * M - 1) == {}
    (bar,) = book.close_until(11 * M)["X"]
    assert (bar.start_ns, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        10 * M, 100.0, 101.0, 99.5, 99.5, 3.5,
    )


def test_minutes_without_trades_are_flat_bars_not_gaps() -> None:
    book = BarBook(("X",), M, 100)
    book.on_trade("X", 10 * M, 100.0, 1.0)
    bars = book.close_until(14 * M)["X"]
    assert [b.start_ns for b in bars] == [10 * M, 11 * M, 12 * M, 13 * M]
    assert all(b.close == 100.0 and b.volume == 0.0 for b in bars[1:])


def test_a_bar_completed_by_a_trade_is_still_handed_out() -> None:
    """The first trade after the boundary completes the bar before the clock check."""
    book = BarBook(("X", "Y"), M, 100)
    book.on_trade("X", 10 * M, 100.0, 1.0)
    book.on_trade("Y", 10 * M, 50.0, 1.0)
    book.on_trade("X", 11 * M + 1, 102.0, 1.0)  # completes X's 10-minute bar
    closed = book.close_until(11 * M + 2)
    assert [b.start_ns for b in closed["X"]] == [10 * M]
    assert [b.start_ns for b in closed["Y"]] == [10 * M]
    assert book.close_until(11 * M + 3) == {}, "each bar is handed out once"


def test_seeded_history_comes_before_live_bars_and_is_bounded() -> None:
    book = BarBook(("X",), M, 5)
    book.on_trade("X", 10 * M, 100.0, 1.0)
    book.close_until(11 * M)
    past = pl.DataFrame({
        "ts": pl.Series([(k) * M for k in range(3, 12)]).cast(pl.Datetime("ns", "UTC")),
        "open": [1.0] * 9, "high": [1.0] * 9, "low": [1.0] * 9, "close": [1.0] * 9,
        "volume": [1.0] * 9,
    })
    kept = book.seed("X", past)
    assert kept == 7  # bars starting at 3..9 end by 10: those overlapping live are dropped
    frame = book.frame("X")
    assert frame.height == 5
    assert frame["close"].to_list() == [1.0, 1.0, 1.0, 1.0, 100.0]


def test_a_long_gap_fills_only_the_last_bars_when_bounded() -> None:
    bounded = BarBook(("X",), M, 100, max_gap_bars=5)
    bounded.on_trade("X", 0, 100.0, 1.0)
    bars = bounded.close_until(30 * 24 * 60 * M)["X"]  # a month later
    assert len(bars) <= 7
    assert bars[-1].start_ns == 30 * 24 * 60 * M - M
    every = BarBook(("X",), M, 3)  # unbounded: a replay needs every bar
    every.on_trade("X", 0, 100.0, 1.0)
    assert len(every.close_until(50 * M)["X"]) == 50
