"""The most recent order-denial reasons from the risk checks, newest at the bottom."""

from __future__ import annotations

from rich.text import Text

from traider.tui.widgets.risk_panel import RiskPanel


class DenialsLog(RiskPanel):
    """`RiskView.denials`: as many of the newest as fit."""

    DEFAULT_CSS = """
    DenialsLog {
        height: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def render(self) -> Text:
        view = self._view
        denials = view.denials if view is not None else ()
        if not denials:
            return Text("no orders denied", style="dim")
        height = max(1, self.size.height)
        shown = denials[-height:]
        out = Text("\n").join(Text(f"✖ {reason}", style="#ffaf00") for reason in shown)
        out.no_wrap = True
        out.overflow = "ellipsis"
        return out
