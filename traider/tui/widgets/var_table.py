"""VaR and expected shortfall by method, in USD, at the view's confidence and horizon.

Slow-changing (the engine refreshes risk about once a second), so `render()` returns a Rich
`Table`. The caption says where the returns behind the numbers come from and when they were
computed (UTC).
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from traider.engine.view import RiskView
from traider.tui.widgets.risk_panel import (
    WAITING,
    RiskPanel,
    format_confidence,
    format_hms,
    format_usd,
)


def var_heading(view: RiskView) -> str:
    """E.g. "VaR 95% 1d"."""
    return f"VaR {format_confidence(view.confidence)} {view.horizon_days}d"


def var_caption(view: RiskView) -> Text:
    """History source and computation time, or the waiting text before the first refresh."""
    if view.computed_ns is None:
        return Text(WAITING, style="dim italic")
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append("history ", style="dim")
    out.append(view.history_source or "unknown")
    out.append("  computed ", style="dim")
    out.append(format_hms(view.computed_ns))
    out.append(" UTC", style="dim")
    return out


def var_renderable(view: RiskView | None) -> Group | Text:
    """The panel's content for `view`; pure."""
    if view is None or view.computed_ns is None:
        return Text(WAITING, style="dim italic")
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
    heading = var_heading(view)
    table.add_column("Method", style="bold", no_wrap=True)
    table.add_column(f"{heading} USD", justify="right", no_wrap=True)
    table.add_column(f"ES {format_confidence(view.confidence)} USD", justify="right", no_wrap=True)
    for line in view.var:
        table.add_row(line.method, format_usd(line.var_usd), format_usd(line.es_usd))
    if not view.var:
        table.add_row(Text("no VaR lines", style="dim"), "", "")
    return Group(table, Text(""), var_caption(view))


class VarTable(RiskPanel):
    """VaR/ES lines of `engine.risk()`."""

    DEFAULT_CSS = """
    VarTable {
        height: auto;
        min-height: 4;
    }
    """

    def render(self) -> Group | Text:
        return var_renderable(self._view)
