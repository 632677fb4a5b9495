"""Per-bar aggregates of the order-book features, for models trained on bars.

The microstructure features (`microstructure.py`) change on every book event, far too
often to store or to learn from directly; a bar model needs one number per feature per
bar. `MicroBarSampler` reduces them honestly: it takes the symbol's `FeatureVector` at
regular instants (once a second, by the engine's loop or by the replay below) and, when a
bar closes, hands out the mean of the samples that fell inside it. The columns
(`MICRO_COLUMNS`, all `ms_`-prefixed so `bar_features` passes them through):

* `ms_ofi`: mean of the sampled `ofi_window` (the CKS order-flow imbalance summed over
  the features' 1 s window), i.e. the bar's average OFI per second, in base units. A mean
  of samples, not a sum of every per-update OFI: samples see only the state at each
  instant, and a sum would depend on how many samples a bar happened to get;
* `ms_imbalance_5`: mean `depth_imbalance_5` (top 5 levels), in [-1, 1];
* `ms_spread_bps`: mean `spread_bps`;
* `ms_microprice_dev_bps`: mean `microprice_dev_bps` (microprice - mid, bps);
* `ms_trade_sign_imbalance`: mean `trade_sign_imbalance` over the features' 1 s window
  ((buys - sells) / trades, 0 in a second without trades), in [-1, 1];
* `ms_realized_vol`: mean `realized_vol` (per sqrt(second), over the trailing 60 s).

A sample belongs to the bar containing its `ts_ns` (the time of the last event the
vector saw); bars are aligned to the epoch like `BarBook`'s. Invalid vectors (a book
side empty or stale) are ignored, and so is a vector no newer than the symbol's last
sample: with no event in between it is the same state again, and counting it twice
would weight a quiet spell (whose windowed values are frozen at the last event) more
than it deserves. A bar without samples gets NaN in every column, which `make_labelled`
drops rather than invents. Each value is known at the bar's close, like its OHLCV.

`micro_bars_from_recording` replays an L2 recording through books and features exactly
as the engine feeds them (book event → `L2Book` → `on_book(book, ts_event)`, trade →
`on_trade`), samples every `sample_ms` of event time, and builds OHLCV bars from the
trades with `BarBook` (a bar without trades is flat at the last price, volume 0, as live
bars are), joined with the sampler's aggregates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from traider.engine.core.events import BookDelta, TradeTick
from traider.engine.features.microstructure import FeatureVector, MicrostructureFeatures
from traider.engine.marketdata.book import L2Book
from traider.engine.models.live_bars import BarBook

__all__ = ["MICRO_COLUMNS", "MicroBarSampler", "micro_bars_from_recording"]

MICRO_COLUMNS: tuple[str, ...] = (
    "ms_ofi",
    "ms_imbalance_5",
    "ms_spread_bps",
    "ms_microprice_dev_bps",
    "ms_trade_sign_imbalance",
    "ms_realized_vol",
)
_N = len(MICRO_COLUMNS)
_NAN_ROW = dict.fromkeys(MICRO_COLUMNS, math.nan)
# bars accumulated but never taken are dropped beyond this many per symbol, so a sampler
# whose owner stops calling `take` stays bounded
_MAX_OPEN_BARS = 8
_PROGRESS_EVERY = 1 << 17  # events between progress calls
NANOS_PER_SECOND = 1_000_000_000

Progress = Callable[[float, str], None]  # (fraction of the recording's time, message)


def _values(v: FeatureVector) -> tuple[float, ...]:
    """The sampled fields, in `MICRO_COLUMNS` order."""
    return (
        v.ofi_window,
        v.depth_imbalance_5,
        v.spread_bps,
        v.microprice_dev_bps,
        v.trade_sign_imbalance,
        v.realized_vol,
    )


class MicroBarSampler:
    """Running per-bar sums of sampled feature vectors; O(1) per sample and per `take`
    (a handful of open bars at most)."""

    __slots__ = ("_acc", "_bar_ns", "_floor", "_last_ts")

    def __init__(self, symbols: Sequence[str], bar_ns: int) -> None:
        if bar_ns <= 0:
            raise ValueError("bar_ns must be positive")
        self._bar_ns = bar_ns
        # per symbol: bar start -> [count, sum of each column]
        self._acc: dict[str, dict[int, list[float]]] = {s: {} for s in symbols}
        self._last_ts: dict[str, int] = {}
        # per symbol: end of the last bar taken; older samples would land in a bar
        # already handed out
        self._floor: dict[str, int] = {}

    @property
    def bar_ns(self) -> int:
        return self._bar_ns

    def sample(self, symbol: str, vector: FeatureVector) -> None:
        """Count `vector` in the bar of its `ts_ns` (see the module doc for what is
        ignored: unknown symbols, invalid, repeated or too-old vectors, non-finite
        values)."""
        acc = self._acc.get(symbol)
        if acc is None or not vector.valid:
            return
        ts = vector.ts_ns
        if ts <= self._last_ts.get(symbol, -(2**63)) or ts < self._floor.get(symbol, -(2**63)):
            return
        values = _values(vector)
        if not all(math.isfinite(x) for x in values):
            return
        self._last_ts[symbol] = ts
        start = ts - ts % self._bar_ns
        sums = acc.get(start)
        if sums is None:
            if len(acc) >= _MAX_OPEN_BARS:
                del acc[min(acc)]
            sums = acc[start] = [0.0] * (_N + 1)
        sums[0] += 1.0
        for i, x in enumerate(values, 1):
            sums[i] += x

    def take(self, symbol: str, bar_start_ns: int) -> dict[str, float]:
        """The means over the samples with bar_start_ns <= ts < bar_start_ns + bar_ns
        (NaN for every column without samples); forgets every sample before that bar's
        end. `bar_start_ns` must be epoch-aligned (a multiple of bar_ns), as `BarBook`'s
        bars are."""
        if bar_start_ns % self._bar_ns:
            raise ValueError(f"bar start {bar_start_ns} is not a multiple of {self._bar_ns} ns")
        acc = self._acc.get(symbol)
        if acc is None:
            return dict(_NAN_ROW)
        sums = acc.get(bar_start_ns)
        for start in [s for s in acc if s <= bar_start_ns]:
            del acc[start]
        end = bar_start_ns + self._bar_ns
        if end > self._floor.get(symbol, -(2**63)):
            self._floor[symbol] = end
        if sums is None or sums[0] == 0.0:
            return dict(_NAN_ROW)
        n = sums[0]
        return {c: sums[i] / n for i, c in enumerate(MICRO_COLUMNS, 1)}


def _tick_size(symbol: str) -> float | None:
    """The instrument's tick, as the engine gives its features; None (the features infer
    it from the smallest spread seen) for a symbol without a default instrument."""
    from traider.engine.core.instruments import instrument_for

    try:
        return float(instrument_for(symbol).tick_size)
    except ValueError:
        return None


class _BarCollector:
    """Samples every symbol, closes bars and pairs each with its aggregates."""

    def __init__(self, symbols: tuple[str, ...], bar_ns: int, first_ts: int) -> None:
        self.features = {s: MicrostructureFeatures(s, tick_size=_tick_size(s)) for s in symbols}
        self.sampler = MicroBarSampler(symbols, bar_ns)
        self.bars = BarBook(symbols, bar_ns, keep=1)
        self.first_ts = first_ts
        self.rows: dict[str, list[tuple[float, ...]]] = {s: [] for s in symbols}
        self.n_bars = 0

    def tick(self, now_ns: int) -> None:
        """The sampling instant `now_ns`: every event at or before it has been applied."""
        sampler = self.sampler
        for symbol, features in self.features.items():
            sampler.sample(symbol, features.vector())
        for symbol, done in self.bars.close_until(now_ns).items():
            rows = self.rows[symbol]
            for bar in done:
                micro = sampler.take(symbol, bar.start_ns)  # also for a dropped bar: forget
                if bar.start_ns < self.first_ts:
                    continue  # began before the recording: its OHLCV is partial
                rows.append(
                    (bar.start_ns, bar.open, bar.high, bar.low, bar.close, bar.volume,
                     *(micro[c] for c in MICRO_COLUMNS))
                )  # fmt: skip
                self.n_bars += 1

    def frame(self, symbol: str) -> pl.DataFrame:
        names = ("ts", "open", "high", "low", "close", "volume", *MICRO_COLUMNS)
        rows = self.rows[symbol]
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        data: dict[str, pl.Series] = {
            "ts": pl.Series("ts", cols[0], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
        }
        for name, col in zip(names[1:], cols[1:], strict=True):
            data[name] = pl.Series(name, col, dtype=pl.Float64)
        return pl.DataFrame(data)


def micro_bars_from_recording(
    path: Path | str,
    every_s: int = 60,
    sample_ms: int = 1000,
    *,
    symbols: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, pl.DataFrame]:
    """Per symbol (default: every symbol in the recording), `every_s`-second bars: ts
    (Datetime ns UTC, the bar's open), open, high, low, close, volume and
    `MICRO_COLUMNS`, from the recording's book events and trades (see the module doc).
    Only complete bars: the one the recording starts inside and the one it ends inside
    are left out. `progress(fraction, message)` is called every ~131k events."""
    if every_s <= 0 or sample_ms <= 0:
        raise ValueError("every_s and sample_ms must be positive")
    if (every_s * 1000) % sample_ms:
        raise ValueError(f"sample_ms {sample_ms} does not divide the bar ({every_s} s)")
    # imported here: it loads pyarrow (~70 ms), and the engine builds a sampler at start
    from traider.engine.marketdata.recording import read_recording, recording_info

    info = recording_info(path)
    known: list[str] = info["symbols"]
    if not known:
        raise ValueError(f"{path}: the recording is empty")
    names = tuple(known) if symbols is None else tuple(symbols)
    missing = [s for s in names if s not in known]
    if missing or not names:
        raise ValueError(f"{path}: no {', '.join(missing) or 'symbols'} in the recording "
                         f"(it has {', '.join(known)})")  # fmt: skip
    step = sample_ms * 1_000_000
    first_recv, last_recv = int(info["first_ts_recv"]), int(info["last_ts_recv"])
    span = max(last_recv - first_recv, 1)
    books = {s: L2Book(s) for s in names}  # the engine's default price band
    out: _BarCollector | None = None
    now = next_tick = 0
    events = 0
    recorded: Iterator[Any] = read_recording(path)  # BookSnapshot | BookDelta | TradeTick
    for ev in recorded:
        events += 1
        if progress is not None and events % _PROGRESS_EVERY == 0:
            bars = out.n_bars if out is not None else 0
            progress((ev.ts_init - first_recv) / span, f"{events:,} events, {bars:,} bars")
        book = books.get(ev.symbol)
        if book is None:
            continue
        t = ev.ts_event
        if out is None:  # the first event of a symbol we build bars for
            out = _BarCollector(names, every_s * NANOS_PER_SECOND, t)
            now, next_tick = t, t + (-t) % step  # the first instant at or after it
        if t > now:  # event time never goes back, as in the features
            now = t
            if now > next_tick:
                next_tick = _tick_until(out, next_tick, now, step)
        tp = type(ev)
        if tp is BookDelta:
            book.apply_delta(ev)
            out.features[ev.symbol].on_book(book, t)
        elif tp is TradeTick:
            out.features[ev.symbol].on_trade(ev)
            out.bars.on_trade(ev.symbol, t, ev.price, ev.size)
        else:
            book.apply_snapshot(ev)
            out.features[ev.symbol].on_book(book, t)
    if out is None:
        raise ValueError(f"{path}: no events for {', '.join(names)}")
    if now >= next_tick:
        _tick_until(out, next_tick, now + 1, step)
    if progress is not None:
        progress(1.0, f"{events:,} events, {out.n_bars:,} bars")
    return {s: out.frame(s) for s in names}


def _tick_until(out: _BarCollector, next_tick: int, now: int, step: int) -> int:
    """Sample at every instant before `now` from `next_tick` on; returns the next one.
    Across a gap without events only the first and the last instant are sampled: the
    ones between would see the same vectors (ignored as repeats) and close no bar that
    the last one does not."""
    out.tick(next_tick)
    next_tick += step
    if next_tick < now:
        last = now - 1 - (now - 1) % step  # the last instant strictly before now
        if last >= next_tick:
            out.tick(last)
            next_tick = last + step
    return next_tick
