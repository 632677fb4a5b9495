"""The alerts log: newest at the bottom, colored by severity.

Order denials and kill-switch changes reach the screen as `Alert`s, so they show here.
The widget polls `engine.alerts_version()` (one integer) and only fetches and redraws
the alerts when it moved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from traider.engine.core.events import Alert
from traider.engine.core.types import Severity
from traider.tui.widgets.polling import PollingMixin

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.INFO: "#87afd7",
    Severity.WARNING: "bold #ffaf00",
    Severity.CRITICAL: "bold white on #af0000",
}

MAX_ALERTS = 200


def format_alert(alert: Alert) -> Text:
    hms = time.strftime("%H:%M:%S", time.gmtime(alert.ts_event // 1_000_000_000))
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{hms} ", style="dim")
    line.append(f"{alert.severity.value:<8}", style=SEVERITY_STYLE.get(alert.severity, ""))
    line.append(f" {alert.source}: ", style="dim")
    line.append(alert.message)
    return line


class AlertsLog(PollingMixin, Widget):
    DEFAULT_CSS = """
    AlertsLog {
        height: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    _version: int | None = None
    _alerts: Sequence[Alert] = ()

    @property
    def alerts(self) -> list[Alert]:
        return list(self._alerts)

    def on_resize(self) -> None:
        self.refresh()

    def fetch_and_update(self) -> None:
        version = self._engine.alerts_version()
        if version == self._version:
            return
        self._version = version
        self._alerts = self._engine.alerts(MAX_ALERTS)
        self.refresh()

    def render(self) -> Text:
        height = max(1, self.size.height)
        shown = self._alerts[-height:]
        if not shown:
            return Text("no alerts", style="dim")
        pad = [Text("")] * (height - len(shown))  # newest sits on the bottom line
        out = Text("\n").join([*pad, *(format_alert(a) for a in shown)])
        out.no_wrap = True
        out.overflow = "ellipsis"
        return out
