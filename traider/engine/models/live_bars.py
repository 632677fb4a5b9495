"""Completed OHLCV bars per symbol, built from the engine's trades, for the live models.

`BarBook` keeps, per symbol, the bar being built and the last `keep` completed bars.
Trades update the open bar; `close_until(now_ns)` completes every bar whose end is at or
before `now_ns`. A bar with no trades is still a bar (open = high = low = close = the
last price, volume 0): the feature code treats missing rows as gaps, which would make
"k bars ago" span more time than the model was trained on. Before the first trade of a
symbol there is no price, so no bar.

History can be seeded (`seed`) from past bars: a live venue adapter fetches them from
the exchange; the simulated market generates them (`traider.sim.bars`). Seeded bars must
end at or before the first live bar; anything after it is dropped.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["Bar", "BarBook"]


@dataclass(slots=True)
class Bar:
    start_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    micro: dict[str, float] | None = None  # the bar's order-book aggregates (ms_ columns)


class BarBook:
    def __init__(
        self, symbols: tuple[str, ...], bar_ns: int, keep: int, *, max_gap_bars: int | None = None
    ) -> None:
        """`max_gap_bars`: after a pause longer than this many bars, only the last ones
        are filled with flat bars (and at most this many wait to be collected), so one
        bad timestamp cannot make millions; None fills every bar (replays need each)."""
        if bar_ns <= 0 or keep < 1:
            raise ValueError("bar_ns must be > 0 and keep >= 1")
        self.bar_ns = bar_ns
        self.keep = keep
        self.max_gap_bars = max_gap_bars
        self._open: dict[str, Bar | None] = {s: None for s in symbols}
        self._last_price: dict[str, float | None] = {s: None for s in symbols}
        self._done: dict[str, deque[Bar]] = {s: deque(maxlen=keep) for s in symbols}
        # completed but not yet handed out by `close_until` (a trade after the boundary
        # completes the bar before the clock check does: it must not be lost)
        self._fresh: dict[str, list[Bar]] = {s: [] for s in symbols}
        self.completed = 0  # bars completed live (not seeded), all symbols

    def _start(self, ts_ns: int) -> int:
        return ts_ns - ts_ns % self.bar_ns

    def on_trade(self, symbol: str, ts_ns: int, price: float, size: float) -> None:
        if symbol not in self._open or not (price > 0 and size >= 0):
            return
        self._roll(symbol, ts_ns)
        bar = self._open[symbol]
        if bar is None:
            bar = Bar(self._start(ts_ns), price, price, price, price, 0.0)
            self._open[symbol] = bar
        bar.high = max(bar.high, price)
        bar.low = min(bar.low, price)
        bar.close = price
        bar.volume += size
        self._last_price[symbol] = price

    def _roll(self, symbol: str, now_ns: int) -> None:
        """Complete the open bar, and the empty bars after it, that ended by `now_ns`
        (into `_fresh`, which `close_until` hands out)."""
        bar = self._open[symbol]
        gap = self.max_gap_bars
        # after a long pause only the last `gap` flat bars matter: skip the rest
        if bar is not None and gap is not None and (now_ns - bar.start_ns) // self.bar_ns > gap + 1:
            self._done[symbol].append(bar)
            self._fresh[symbol].append(bar)
            self.completed += 1
            c = bar.close
            start = now_ns - now_ns % self.bar_ns - gap * self.bar_ns
            bar = Bar(start, c, c, c, c, 0.0)
        while bar is not None and bar.start_ns + self.bar_ns <= now_ns:
            self._done[symbol].append(bar)
            fresh = self._fresh[symbol]
            fresh.append(bar)
            if gap is not None and len(fresh) > gap:  # nobody collects: stay bounded
                del fresh[:-gap]
            self.completed += 1
            c = bar.close
            bar = Bar(bar.start_ns + self.bar_ns, c, c, c, c, 0.0)
        self._open[symbol] = bar

    def close_until(self, now_ns: int) -> dict[str, list[Bar]]:
        """Complete every bar that ended by `now_ns`; returns the bars completed since the
        last call (also those a trade completed), per symbol, oldest first."""
        out: dict[str, list[Bar]] = {}
        for s in self._open:
            self._roll(s, now_ns)
            if self._fresh[s]:
                out[s], self._fresh[s] = self._fresh[s], []
        return out

    def seed(self, symbol: str, bars: pl.DataFrame) -> int:
        """Prepend past bars (columns ts, open, high, low, close, volume); returns how many
        were kept."""
        if symbol not in self._done:
            raise ValueError(f"unknown symbol {symbol}")
        done = self._done[symbol]
        first_live = done[0].start_ns if done else None
        if self._open[symbol] is not None and first_live is None:
            first_live = self._open[symbol].start_ns  # type: ignore[union-attr]
        ts = bars["ts"].cast(pl.Datetime("ns", "UTC")).dt.epoch("ns").to_numpy()
        cols = [bars[c].to_numpy().astype(np.float64) for c in ("open", "high", "low", "close")]
        vol = bars["volume"].to_numpy().astype(np.float64)
        past = [
            Bar(int(t), float(o), float(h), float(lo), float(c), float(v))
            for t, o, h, lo, c, v in zip(ts, *cols, vol, strict=True)
            if first_live is None or t + self.bar_ns <= first_live
        ]
        merged = deque(past[-self.keep :], maxlen=self.keep)
        merged.extend(done)
        self._done[symbol] = merged
        return len(past)

    def count(self, symbol: str) -> int:
        return len(self._done[symbol])

    def last_close(self, symbol: str) -> float | None:
        done = self._done[symbol]
        return done[-1].close if done else None

    def frame(self, symbol: str) -> pl.DataFrame:
        """Completed bars as a polars frame (ts as Datetime ns UTC), oldest first, with the
        `ms_` microstructure columns when any bar has them (NaN for bars without, e.g.
        backfilled history: a model using them warms up on live bars)."""
        done = list(self._done[symbol])
        frame = pl.DataFrame(
            {
                "ts": pl.Series([b.start_ns for b in done], dtype=pl.Int64).cast(
                    pl.Datetime("ns", "UTC")
                ),
                "open": [b.open for b in done],
                "high": [b.high for b in done],
                "low": [b.low for b in done],
                "close": [b.close for b in done],
                "volume": [b.volume for b in done],
            },
            schema_overrides={c: pl.Float64 for c in ("open", "high", "low", "close", "volume")},
        )
        if not any(b.micro for b in done):
            return frame
        from traider.engine.features.bar_micro import MICRO_COLUMNS

        nan = float("nan")
        return frame.with_columns(
            pl.Series(c, [b.micro.get(c, nan) if b.micro else nan for b in done], pl.Float64)
            for c in MICRO_COLUMNS
        )
