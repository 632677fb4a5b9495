"""The P&L panel: cash, equity, realized, unrealized, fees and the day's P&L."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual.timer import Timer
from textual.widget import Widget

from traider.engine.view import EngineView, PnlView


def format_money(value: Decimal, *, signed: bool = False) -> str:
    q = value.quantize(Decimal("0.01"))
    return f"{q:+,.2f}" if signed else f"{q:,.2f}"


def _signed(value: Decimal) -> Text:
    style = "#5fd75f" if value > 0 else "#ff5f5f" if value < 0 else ""
    return Text(format_money(value, signed=True), style=style)


class PnlPanel(Widget):
    """Polls `engine.pnl()`; redraws only when the numbers changed."""

    DEFAULT_CSS = """
    PnlPanel {
        height: 8;
    }
    """

    def __init__(
        self,
        engine: EngineView,
        *,
        refresh_hz: float = 2.0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._engine = engine
        self._refresh_hz = refresh_hz
        self._pnl: PnlView | None = None
        self._timer: Timer | None = None

    @property
    def pnl(self) -> PnlView | None:
        return self._pnl

    def on_mount(self) -> None:
        if self._refresh_hz > 0:
            self._timer = self.set_interval(1 / self._refresh_hz, self.poll)
        self.call_after_refresh(self.poll, force=True)

    def poll(self, force: bool = False) -> None:
        if not self.is_mounted:
            return
        if not force and (self.app.screen is not self.screen or not self.is_on_screen):
            return
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
