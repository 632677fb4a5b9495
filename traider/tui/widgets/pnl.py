"""The P&L panel: cash, equity, realized, unrealized, fees and the day's P&L."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from traider.engine.view import PnlView
from traider.tui.widgets.polling import PollingMixin


def format_money(value: Decimal, *, signed: bool = False) -> str:
    q = value.quantize(Decimal("0.01"))
    return f"{q:+,.2f}" if signed else f"{q:,.2f}"


def _signed(value: Decimal) -> Text:
    style = "#5fd75f" if value > 0 else "#ff5f5f" if value < 0 else ""
    return Text(format_money(value, signed=True), style=style)


class PnlPanel(PollingMixin, Widget):
    """Polls `engine.pnl()`; redraws only when the numbers changed."""

    DEFAULT_CSS = """
    PnlPanel {
        height: 8;
    }
    """

    _pnl: PnlView | None = None

    @property
    def pnl(self) -> PnlView | None:
        return self._pnl

    def fetch_and_update(self) -> None:
        pnl = self._engine.pnl()
        if pnl == self._pnl:
            return
        self._pnl = pnl
        self.refresh()

    def render(self) -> Table | Text:
        p = self._pnl
        if p is None:
            return Text("waiting for data", style="dim")
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column(style="dim")
        table.add_column(justify="right")
        table.add_row("Cash", format_money(p.cash))
        table.add_row("Equity", Text(format_money(p.equity), style="bold"))
        table.add_row("Realized", _signed(p.realized))
        table.add_row("Unrealized", _signed(p.unrealized))
        table.add_row("Fees", format_money(p.fees))
        table.add_row("Day P&L", _signed(p.day_pnl))
        return table
