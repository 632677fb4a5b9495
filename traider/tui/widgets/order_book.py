"""The order book ladder: a Line API widget that repaints only the lines that changed.

Layout, top to bottom: a title line (symbol, and STALE in red when the book cannot be
trusted), a column header, `depth` ask lines (worst at the top, best just above the middle),
the spread/mid line, then `depth` bid lines (best first). Each level shows price, size,
cumulative size and a depth bar proportional to the cumulative size.

Every visible line is described by a small hashable key (the formatted strings and the bar
length in cells). A new snapshot is diffed key by key against the previous one; only the
changed lines lose their cached `Strip` and are refreshed, so a one-level change costs one
line of rendering, not a table.
"""

from __future__ import annotations

from typing import Unpack

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from traider.engine.core.events import Level
from traider.engine.view import BookView, EngineView
from traider.tui.widgets.polling import PollingMixin, WidgetArgs

PRICE_W = 13
SIZE_W = 11
CUM_W = 11
MIN_BAR_W = 4

STYLE_TITLE = Style(bold=True)
STYLE_STALE = Style(bold=True, color="white", bgcolor="red")
STYLE_OK = Style(color="green")
STYLE_HEADER = Style(dim=True, bold=True)
STYLE_ASK = Style(color="#ff5f5f")
STYLE_BID = Style(color="#5fd75f")
STYLE_SIZE = Style(color="#d0d0d0")
STYLE_CUM = Style(color="#8a8a8a")
STYLE_ASK_BAR = Style(bgcolor="#5f1f1f")
STYLE_BID_BAR = Style(bgcolor="#1f4f1f")
STYLE_MID = Style(color="#ffd75f", bold=True)
STYLE_DIM = Style(dim=True)

# A line key: ("title", symbol, stale, reason) | ("header", show_cum) |
# ("ask"|"bid", price, size, cum, bar_cells) | ("mid", text) | ("blank",)
LineKey = tuple[object, ...]


def price_decimals(price: float) -> int:
    mag = abs(price)
    return 2 if mag >= 10 else 4 if mag >= 1 else 6


def format_price(price: float, decimals: int | None = None) -> str:
    """Prices as the ladder shows them: thousands separators, decimals by magnitude."""
    d = price_decimals(price) if decimals is None else decimals
    return f"{price:,.{d}f}"


def format_size(size: float) -> str:
    return f"{size:,.4f}"


def _bar_width(width: int, show_cum: bool) -> int:
    used = PRICE_W + SIZE_W + (CUM_W if show_cum else 0) + 1
    return max(0, width - used)


def _show_cum(width: int) -> bool:
    return width >= PRICE_W + SIZE_W + CUM_W + 1 + MIN_BAR_W


def book_lines(book: BookView | None, depth: int, width: int) -> list[LineKey]:
    """The keys of every line of the ladder for `book` at `width` cells; pure."""
    show_cum = _show_cum(width)
    bar_w = _bar_width(width, show_cum)
    if book is None:
        return [("title", "", False, ""), ("header", show_cum), ("mid", "waiting for data")]
    lines: list[LineKey] = [
        ("title", book.symbol, book.stale, book.stale_reason),
        ("header", show_cum),
    ]
    asks = book.asks[:depth]
    bids = book.bids[:depth]
    ask_cum = _cumulative(asks)
    bid_cum = _cumulative(bids)
    max_cum = max(ask_cum[-1] if ask_cum else 0.0, bid_cum[-1] if bid_cum else 0.0)

    def level_key(kind: str, level: Level, cum: float) -> LineKey:
        cells = round(cum / max_cum * bar_w) if max_cum > 0 else 0
        return (kind, format_price(level[0]), format_size(level[1]), format_size(cum), cells)

    # asks: pad at the top so the best ask always sits right above the middle line
    lines.extend(("blank",) for _ in range(depth - len(asks)))
    for i in range(len(asks) - 1, -1, -1):
        lines.append(level_key("ask", asks[i], ask_cum[i]))
    lines.append(("mid", _mid_text(asks, bids)))
    for i, lvl in enumerate(bids):
        lines.append(level_key("bid", lvl, bid_cum[i]))
    lines.extend(("blank",) for _ in range(depth - len(bids)))
    return lines


def _cumulative(levels: tuple[Level, ...]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for _, size in levels:
        total += size
        out.append(total)
    return out


def _mid_text(asks: tuple[Level, ...], bids: tuple[Level, ...]) -> str:
    if not asks or not bids:
        return "one-sided book" if asks or bids else "empty book"
    best_ask, best_bid = asks[0][0], bids[0][0]
    spread = best_ask - best_bid
    mid = (best_ask + best_bid) / 2
    bps = spread / mid * 10_000 if mid else 0.0
    d = price_decimals(mid)
    return f"spread {format_price(spread, d)} ({bps:.1f} bps)  mid {format_price(mid, d)}"


def render_key(key: LineKey, width: int) -> Strip:
    """One ladder line as a `Strip` exactly `width` cells wide; pure."""
    kind = key[0]
    segs: list[Segment]
    if kind == "title":
        _, symbol, stale, reason = key
        segs = [Segment(f" {symbol or '-'} ", STYLE_TITLE)]
        if stale:
            segs.append(Segment(" STALE ", STYLE_STALE))
            if reason:
                segs.append(Segment(f" {reason}", STYLE_ASK))
        elif symbol:
            segs.append(Segment("live", STYLE_OK))
    elif kind == "header":
        show_cum = bool(key[1])
        text = f"{'price':>{PRICE_W}}{'size':>{SIZE_W}}"
        if show_cum:
            text += f"{'cum':>{CUM_W}}"
        segs = [Segment(text + " depth", STYLE_HEADER)]
    elif kind in ("ask", "bid"):
        _, price, size, cum, cells = key
        show_cum = _show_cum(width)
        segs = [
            Segment(f"{price:>{PRICE_W}}", STYLE_ASK if kind == "ask" else STYLE_BID),
            Segment(f"{size:>{SIZE_W}}", STYLE_SIZE),
        ]
        if show_cum:
            segs.append(Segment(f"{cum:>{CUM_W}}", STYLE_CUM))
        segs.append(Segment(" "))
        n = int(str(cells))
        if n > 0:
            segs.append(Segment(" " * n, STYLE_ASK_BAR if kind == "ask" else STYLE_BID_BAR))
    elif kind == "mid":
        text = str(key[1])
        pad = max(0, (width - len(text) - 2) // 2)
        segs = [Segment("─" * pad, STYLE_DIM), Segment(f" {text} ", STYLE_MID)]
        segs.append(Segment("─" * max(0, width - pad - len(text) - 2), STYLE_DIM))
    else:
        segs = []
    return Strip(segs).adjust_cell_length(width)


class OrderBookWidget(PollingMixin, Widget):
    """The ladder for one symbol; polls `engine.book()` on its own timer."""

    DEFAULT_CSS = """
    OrderBookWidget {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(
        self,
        engine: EngineView,
        symbol: str,
        *,
        depth: int = 15,
        refresh_hz: float = 10.0,
        **widget: Unpack[WidgetArgs],
    ) -> None:
        super().__init__(engine, refresh_hz=refresh_hz, **widget)
        self._symbol = symbol
        self.depth = depth
        self._lines: list[LineKey] = book_lines(None, depth, 0)
        self._strips: dict[int, Strip] = {}
        self._strip_width = -1
        self._seen: tuple[str, int, int] | None = None  # (symbol, version, width) drawn
        self.frames = 0  # snapshots that changed at least one line (for tests and benches)
        self.lines_repainted = 0

    @property
    def symbol(self) -> str:
        return self._symbol

    @symbol.setter
    def symbol(self, value: str) -> None:
        if value != self._symbol:
            self._symbol = value
            self._seen = None
            self.poll(force=True)

    @property
    def visible_depth(self) -> int:
        """Levels a side that fit: the ladder shrinks around the mid line when short."""
        height = self.size.height
        if height <= 0:
            return self.depth
        return max(1, min(self.depth, (height - 3) // 2))

    def on_resize(self) -> None:
        self._seen = None
        self.poll(force=True)

    def fetch_and_update(self) -> None:
        """Pull the latest snapshot; skip when nothing changed."""
        book = self._engine.book(self._symbol, self.depth)
        width = self.size.width
        seen = (book.symbol, book.version, width)
        if seen == self._seen:
            return
        self._seen = seen
        self.show_book(book)

    def show_book(self, book: BookView | None) -> int:
        """Diff `book` against what is drawn; refresh only changed lines. Returns their count."""
        width = self.size.width
        if book is not None:
            self.set_class(book.stale, "stale")
        new = book_lines(book, self.visible_depth, width)
        old = self._lines
        if width != self._strip_width:
            self._strips.clear()
            self._strip_width = width
            self._lines = new
            self.frames += 1
            self.lines_repainted += len(new)
            self.refresh()
            return len(new)
        changed = [
            y
            for y in range(max(len(new), len(old)))
            if y >= len(new) or y >= len(old) or new[y] != old[y]
        ]
        self._lines = new
        if not changed:
            return 0
        for y in changed:
            self._strips.pop(y, None)
        self.frames += 1
        self.lines_repainted += len(changed)
        self.refresh(*_line_regions(changed, width))
        return len(changed)

    def line_text(self, y: int) -> str:
        """The plain text of line `y` as it would be drawn now (for tests)."""
        return self.render_line(y).text

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._strip_width:
            self._strips.clear()
            self._strip_width = width
        strip = self._strips.get(y)
        if strip is None:
            if y < len(self._lines):
                strip = render_key(self._lines[y], width)
            else:
                strip = Strip.blank(width)
            self._strips[y] = strip
        return strip


def _line_regions(lines: list[int], width: int) -> list[Region]:
    """Contiguous runs of line numbers as one-column-wide-band regions."""
    regions: list[Region] = []
    start = prev = lines[0]
    for y in lines[1:]:
        if y != prev + 1:
            regions.append(Region(0, start, width, prev - start + 1))
            start = y
        prev = y
    regions.append(Region(0, start, width, prev - start + 1))
    return regions
