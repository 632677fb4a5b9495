"""What the risk panels share: one `engine.risk()` read a poll, a redraw only on a new version.

The engine refreshes its risk numbers (VaR/ES, limit use, correlation, stress) off the loop
about once a second and bumps `RiskView.version` whenever anything in them changes, so a
panel compares one integer and does nothing else when it has not moved.
"""

from __future__ import annotations

import math
import time

from textual.widget import Widget

from traider.engine.view import RiskView
from traider.tui.widgets.polling import VIEW_REFRESH_HZ, VersionedViewMixin

RISK_REFRESH_HZ = VIEW_REFRESH_HZ
WAITING = "waiting for first risk refresh"

GREEN = "#5fd75f"
YELLOW = "#ffd75f"
RED = "#ff5f5f"


def format_usd(value: float, *, signed: bool = False) -> str:
    """USD amounts as the risk panels show them: thousands separators, 2 decimals."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def format_hms(ts_ns: int) -> str:
    """hh:mm:ss (UTC) of a nanosecond timestamp."""
    return time.strftime("%H:%M:%S", time.gmtime(ts_ns // 1_000_000_000))


def format_confidence(confidence: float) -> str:
    """0.95 -> "95%", 0.975 -> "97.5%"."""
    return f"{round(confidence * 100, 2):g}%"


class RiskPanel(VersionedViewMixin[RiskView], Widget):
    """Polls `engine.risk()` (1 Hz by default); redraws only when the view's version moved."""

    def on_resize(self) -> None:
        self.refresh()

    def fetch_view(self) -> RiskView:
        return self._engine.risk()
