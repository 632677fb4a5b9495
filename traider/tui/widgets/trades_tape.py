"""The trades tape: market trades across symbols, newest first, colored by aggressor.

A Line API widget: each trade's line is rendered once into a cached `Strip` and reused as
it scrolls down the tape, so a poll with new trades costs a few new strips, not a re-layout
of the whole panel's text. It polls at its own (lower) rate and skips when the newest trade
is the one already shown.
"""

from __future__ import annotations

import time
from typing import Unpack

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from traider.engine.core.events import TradeTick
from traider.engine.core.types import Side
from traider.engine.view import EngineView
from traider.tui.widgets.order_book import format_price, format_size
from traider.tui.widgets.polling import PollingMixin, WidgetArgs

BUY_STYLE = Style(color="#5fd75f")
SELL_STYLE = Style(color="#ff5f5f")
TIME_STYLE = Style(dim=True)
PLAIN = Style()

TradeKey = tuple[str, int, int]


def trade_key(trade: TradeTick) -> TradeKey:
    return (trade.symbol, trade.trade_id, trade.ts_event)


def format_trade(trade: TradeTick, width: int = 80) -> Strip:
    """One tape line, exactly `width` cells: time, symbol, side, price, size.

    Compact (no milliseconds, B/S) below 47 cells.
    """
    compact = width < 47
    secs = trade.ts_event // 1_000_000_000
    hms = time.strftime("%H:%M:%S", time.gmtime(secs))
    if not compact:
        hms += f".{(trade.ts_event // 1_000_000) % 1000:03d}"
    buy = trade.aggressor is Side.BUY
    side = ("B" if buy else "S") if compact else ("BUY " if buy else "SELL")
    style = BUY_STYLE if buy else SELL_STYLE
    segs = [
        Segment(f"{hms} ", TIME_STYLE),
        Segment(f"{trade.symbol:<9}", PLAIN),
        Segment(side, style),
        Segment(f"{format_price(trade.price):>11}", style),
        Segment(f"{format_size(trade.size):>{8 if compact else 10}}", PLAIN),
    ]
    return Strip(segs).adjust_cell_length(width)


class TradesTape(PollingMixin, Widget):
    """Polls `engine.recent_trades()`; repaints only when the newest trade changed."""

    DEFAULT_CSS = """
    TradesTape {
        height: 1fr;
    }
    """

    def __init__(
        self, engine: EngineView, *, refresh_hz: float = 5.0, **widget: Unpack[WidgetArgs]
    ) -> None:
        super().__init__(engine, refresh_hz=refresh_hz, **widget)
        self._trades: list[TradeTick] = []
        self._keys: list[TradeKey] = []
        self._strips: dict[TradeKey, Strip] = {}
        self._strip_width = -1

    def on_resize(self) -> None:
        self._keys = []
        self.poll(force=True)

    def fetch_and_update(self) -> None:
        height = max(1, self.size.height)
        trades = self._engine.recent_trades(height)
        keys = [trade_key(t) for t in trades]
        if keys == self._keys:
            return
        old = self._keys
        self._trades, self._keys = trades, keys
        live = set(keys)
        self._strips = {k: s for k, s in self._strips.items() if k in live}
        width = self.size.width
        changed = [
            y
            for y in range(max(len(keys), len(old)))
            if y >= len(old) or y >= len(keys) or keys[y] != old[y]
        ]
        if not changed or width <= 0:
            self.refresh()
            return
        self.refresh(Region(0, changed[0], width, changed[-1] - changed[0] + 1))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._strip_width:
            self._strips.clear()
            self._strip_width = width
        if y >= len(self._trades):
            if y == 0:
                return Strip([Segment("no trades yet", TIME_STYLE)]).adjust_cell_length(width)
            return Strip.blank(width)
        key = self._keys[y]
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = format_trade(self._trades[y], width)
        return strip
