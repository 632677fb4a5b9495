"""The health panel: one line per check, a coloured level badge, its name and detail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from traider.engine.monitoring.health import Check, HealthLevel, HealthReport
from traider.engine.view import EngineView
from traider.tui.widgets.polling import PollingMixin, WidgetArgs

BADGE_STYLES = {
    HealthLevel.OK: "bold #000000 on #5fd75f",
    HealthLevel.WARN: "bold #000000 on #ffd75f",
    HealthLevel.CRIT: "bold #ffffff on #d70000",
}


def badge(level: HealthLevel) -> Text:
    return Text(f" {level.name:<4} ", style=BADGE_STYLES[level])


class HealthPanel(PollingMixin, Widget):
    """Polls `report()` about once a second; redraws only when the checks changed (a new
    timestamp alone is not a change). `report()` returns None until the first evaluation."""

    DEFAULT_CSS = """
    HealthPanel {
        height: auto;
        min-height: 3;
    }
    """

    def __init__(
        self,
        engine: EngineView,
        report: Callable[[], HealthReport | None],
        *,
        refresh_hz: float = 1.0,
        **widget: Unpack[WidgetArgs],
    ) -> None:
        super().__init__(engine, refresh_hz=refresh_hz, **widget)
        self._source = report
        self._report: HealthReport | None = None
        self.redraws = 0  # how many times the content changed (tests, and the curious)

    @property
    def report(self) -> HealthReport | None:
        return self._report

    def fetch_and_update(self) -> None:
        report = self._source()
        old = self._report
        if report is None or (
            old is not None and report.checks == old.checks and report.level == old.level
        ):
            return
        self._report = report
        self.redraws += 1
        self.refresh(layout=old is None or len(old.checks) != len(report.checks))

    def render(self) -> Group | Text:
        report = self._report
        if report is None:
            return Text("waiting for the first health check", style="dim")
        header = Text.assemble("Health ", badge(report.level))
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        for check in report.checks:
            table.add_row(*self.row(check))
        return Group(header, table)

    @staticmethod
    def row(check: Check) -> tuple[Text, Text, Text]:
        detail_style = "" if check.level is HealthLevel.OK else "bold"
        return badge(check.level), Text(check.name), Text(check.detail, style=detail_style)
