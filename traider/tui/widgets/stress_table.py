"""Stress scenarios: name, the portfolio's P&L under it (red when a loss), the limits it breaks."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from traider.engine.view import RiskView, StressLine
from traider.tui.widgets.risk_panel import GREEN, RED, WAITING, RiskPanel, format_usd


def pnl_text(pnl_usd: float) -> Text:
    style = RED if pnl_usd < 0 else GREEN if pnl_usd > 0 else ""
    return Text(format_usd(pnl_usd, signed=True), style=style)


def breaks_text(line: StressLine) -> Text:
    if not line.breaks:
        return Text("none", style="dim")
    return Text(", ".join(line.breaks), style=f"bold {RED}")


def stress_renderable(view: RiskView | None) -> Table | Text:
    """The panel's content for `view`; pure."""
    if view is None or view.computed_ns is None:
        return Text(WAITING, style="dim italic")
    if not view.stress:
        return Text("no stress scenarios", style="dim")
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
    table.add_column("Scenario", ratio=3, overflow="ellipsis", no_wrap=True)
    table.add_column("P&L USD", justify="right", no_wrap=True)
    table.add_column("Breaks", ratio=2, overflow="ellipsis", no_wrap=True)
    for line in view.stress:
        table.add_row(line.name, pnl_text(line.pnl_usd), breaks_text(line))
    return table


class StressTable(RiskPanel):
    """`RiskView.stress`, one row a scenario."""

    DEFAULT_CSS = """
    StressTable {
        height: auto;
        min-height: 2;
    }
    """

    def render(self) -> Table | Text:
        return stress_renderable(self._view)
