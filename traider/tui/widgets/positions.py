"""Open positions: a keyed `DataTable` updated by cell diffs, never rebuilt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Unpack

from rich.text import Text
from textual.widgets import DataTable

from traider.engine.view import EngineView, PositionView
from traider.tui.widgets.polling import PollingMixin, WidgetArgs

Cell = tuple[str, str]  # (text, style)


def fmt_decimal(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{places}f}"


def fmt_qty(value: Decimal) -> str:
    text = f"{value:,.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def pnl_cell(value: Decimal) -> Cell:
    style = "#5fd75f" if value > 0 else "#ff5f5f" if value < 0 else ""
    return (f"{value:+,.2f}", style)


class RowTable(DataTable[Text]):
    """A `DataTable` with a row cursor and zebra stripes, as every table here is."""

    def __init__(self, **widget: Unpack[WidgetArgs]) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **widget)


class KeyedTable(PollingMixin, RowTable):
    """A `DataTable` whose rows are keyed; `sync()` applies the difference only.

    Subclasses set `COLUMNS` (key, label) and implement `snapshot()` returning the rows
    as {row key: cells}. A poll that finds the same rows touches nothing.
    """

    COLUMNS: Sequence[tuple[str, str]] = ()
    RIGHT: frozenset[str] = frozenset()  # column keys shown right-aligned (numbers)

    def __init__(
        self, engine: EngineView, *, refresh_hz: float = 2.0, **widget: Unpack[WidgetArgs]
    ) -> None:
        super().__init__(engine, refresh_hz=refresh_hz, **widget)
        self._rows_shown: dict[str, tuple[Cell, ...]] = {}
        self.cell_updates = 0

    def on_mount(self) -> None:
        # Textual runs every class's on_mount, so PollingMixin's (the timer) follows this.
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    def snapshot(self) -> Mapping[str, tuple[Cell, ...]]:
        raise NotImplementedError

    def fetch_and_update(self) -> None:
        self.sync(self.snapshot())

    def sync(self, rows: Mapping[str, tuple[Cell, ...]]) -> None:
        shown = self._rows_shown
        if rows == shown:
            return
        for key in [k for k in shown if k not in rows]:
            self.remove_row(key)
            del shown[key]
        col_keys = [k for k, _ in self.COLUMNS]
        for key, cells in rows.items():
            old = shown.get(key)
            if old is None:
                texts = [self._text(c, cell) for c, cell in zip(col_keys, cells, strict=True)]
                self.add_row(*texts, key=key)
            else:
                for col, new_cell, old_cell in zip(col_keys, cells, old, strict=True):
                    if new_cell != old_cell:
                        self.update_cell(key, col, self._text(col, new_cell))
                        self.cell_updates += 1
            shown[key] = cells

    def _text(self, col: str, cell: Cell) -> Text:
        return Text(cell[0], style=cell[1], justify="right" if col in self.RIGHT else "left")

    def row_texts(self) -> dict[str, tuple[str, ...]]:
        """What each row shows, by key (for tests)."""
        return {k: tuple(t for t, _ in cells) for k, cells in self._rows_shown.items()}


class PositionsTable(KeyedTable):
    COLUMNS = (
        ("symbol", "Symbol"),
        ("qty", "Qty"),
        ("avg", "Avg price"),
        ("mark", "Mark"),
        ("upnl", "Unrealized"),
        ("rpnl", "Realized"),
    )
    RIGHT = frozenset({"qty", "avg", "mark", "upnl", "rpnl"})

    def snapshot(self) -> dict[str, tuple[Cell, ...]]:
        return {p.symbol: position_cells(p) for p in self._engine.positions()}


def position_cells(p: PositionView) -> tuple[Cell, ...]:
    qty_style = "#5fd75f" if p.quantity > 0 else "#ff5f5f" if p.quantity < 0 else "dim"
    return (
        (p.symbol, "bold"),
        (fmt_qty(p.quantity), qty_style),
        (fmt_decimal(p.avg_price), ""),
        (fmt_decimal(p.mark_price), ""),
        pnl_cell(p.unrealized_pnl),
        pnl_cell(p.realized_pnl),
    )
