"""The order-book ladder: pure line layout and rendering, and line-level diffs in a widget."""

from __future__ import annotations

from textual.app import App, ComposeResult

from traider.engine.view import BookView
from traider.testing import FakeEngine
from traider.tui.widgets.order_book import (
    OrderBookWidget,
    book_lines,
    format_price,
    format_size,
    render_key,
)

WIDTH = 52


def make_book(
    bids: tuple[tuple[float, float], ...] = ((100.0, 1.0), (99.5, 2.0), (99.0, 1.0)),
    asks: tuple[tuple[float, float], ...] = ((100.5, 1.0), (101.0, 3.0)),
    *,
    stale: bool = False,
    version: int = 1,
) -> BookView:
    return BookView(
        symbol="BTC-USD",
        version=version,
        bids=bids,
        asks=asks,
        stale=stale,
        stale_reason="gap at seq 42" if stale else "",
    )


def texts(book: BookView | None, depth: int = 3, width: int = WIDTH) -> list[str]:
    return [render_key(k, width).text for k in book_lines(book, depth, width)]


def test_format_price_and_size() -> None:
    assert format_price(50_000.25) == "50,000.25"
    assert format_price(3.14159) == "3.1416"
    assert format_price(0.1234567) == "0.123457"
    assert format_size(0.05) == "0.0500"


def test_ladder_layout_asks_above_bids_best_in_the_middle() -> None:
    lines = texts(make_book(), depth=3)
    assert len(lines) == 3 + 2 * 3  # title, header, 3 asks, mid, 3 bids
    assert "BTC-USD" in lines[0]
    assert "STALE" not in lines[0]
    assert "price" in lines[1]
    assert "size" in lines[1]
    assert "cum" in lines[1]
    # only two asks: the top ask slot is blank, worst ask above best ask
    assert lines[2].strip() == ""
    assert lines[3].split()[:3] == ["101.00", "3.0000", "4.0000"]
    assert lines[4].split()[:3] == ["100.50", "1.0000", "1.0000"]
    assert "spread 0.50" in lines[5]
    assert "mid 100.25" in lines[5]
    assert lines[6].split()[:3] == ["100.00", "1.0000", "1.0000"]
    assert lines[7].split()[:3] == ["99.50", "2.0000", "3.0000"]
    assert lines[8].split()[:3] == ["99.00", "1.0000", "4.0000"]


def test_every_strip_is_exactly_the_width() -> None:
    for width in (30, 41, WIDTH, 80):
        for key in book_lines(make_book(stale=True), 3, width):
            assert render_key(key, width).cell_length == width


def test_depth_bar_is_proportional_to_cumulative_size() -> None:
    keys = book_lines(make_book(), 3, WIDTH)
    bars = {str(k[1]): k[4] for k in keys if k[0] in ("ask", "bid")}
    # the deepest cumulative (4.0) gets the full bar; 1.0 of 4.0 gets a quarter of it
    full = bars["101.00"]
    assert isinstance(full, int)
    assert full > 8
    assert bars["99.00"] == full
    assert bars["100.50"] == round(full / 4)
    assert bars["99.50"] == round(full * 3 / 4)
    strip = render_key(next(k for k in keys if k[1:2] == ("101.00",)), WIDTH)
    bar_segments = [s for s in strip if s.style is not None and s.style.bgcolor is not None]
    assert sum(len(s.text) for s in bar_segments) == full


def test_stale_book_shows_the_indicator_in_red() -> None:
    keys = book_lines(make_book(stale=True), 3, WIDTH)
    strip = render_key(keys[0], WIDTH)
    assert "STALE" in strip.text
    assert "gap at seq 42" in strip.text
    stale_seg = next(s for s in strip if "STALE" in s.text)
    assert stale_seg.style is not None
    assert stale_seg.style.bgcolor is not None
    assert stale_seg.style.bgcolor.name == "red"


def test_empty_and_missing_books() -> None:
    assert "waiting for data" in "".join(texts(None))
    assert "empty book" in "".join(texts(make_book(bids=(), asks=())))
    assert "one-sided book" in "".join(texts(make_book(asks=())))


def test_narrow_ladder_drops_the_cumulative_column() -> None:
    lines = texts(make_book(), depth=3, width=30)
    assert "cum" not in lines[1]
    assert lines[4].split() == ["100.50", "1.0000"]


class BookApp(App[None]):
    def __init__(self, engine: FakeEngine) -> None:
        super().__init__()
        self.engine = engine

    def compose(self) -> ComposeResult:
        yield OrderBookWidget(self.engine, "BTC-USD", depth=5, refresh_hz=0, id="book")


async def test_widget_repaints_only_the_lines_that_changed() -> None:
    fake = FakeEngine()
    app = BookApp(fake)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        widget = app.query_one(OrderBookWidget)
        widget.poll(force=True)
        assert widget.visible_depth == 5
        assert widget.show_book(make_book(version=1)) > 0  # the fake's book is replaced
        assert widget.show_book(make_book(version=2)) == 0  # same content: nothing
        # change the size of the worst bid: only that line changes (cum below it: none)
        bids = ((100.0, 1.0), (99.5, 2.0), (99.0, 7.0))
        changed = widget.show_book(make_book(bids=bids, version=3))
        # worst bid's size and cum change, and every bar rescales to the new max
        assert 1 <= changed < len(book_lines(make_book(), 5, widget.size.width))
        assert "7.0000" in widget.line_text(2 + 5 + 1 + 2)
        before = widget.lines_repainted
        widget.show_book(make_book(bids=bids, version=4))
        assert widget.lines_repainted == before


async def test_widget_renders_the_fake_and_follows_ticks() -> None:
    fake = FakeEngine()
    app = BookApp(fake)
    async with app.run_test(size=(60, 40)) as pilot:
        await pilot.pause()
        widget = app.query_one(OrderBookWidget)
        widget.poll(force=True)
        book = fake.book("BTC-USD", 5)
        best_ask = format_price(book.asks[0][0])
        assert best_ask in widget.line_text(2 + 4)
        for _ in range(4):  # the fake moves its mid every 4th tick
            fake.tick()
        widget.poll()
        new_best = format_price(fake.book("BTC-USD", 5).asks[0][0])
        assert new_best != best_ask
        assert new_best in widget.line_text(2 + 4)
