"""The risk screen: VaR/ES, limit use, the correlation heatmap, stress, recent denials and
the engine's health checks.

A full `Screen` (not a modal) toggled from the main screen with `r` (also "Show risk" in
the command palette); `escape` or `r` goes back. While it is up, the main screen's panels
skip their polls (the polling gate sees they are not on the active screen) and catch up
when it is dismissed; while it is hidden, its own panels skip theirs the same way.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from traider.engine.view import EngineView
from traider.tui.widgets.correlation_heatmap import CORRELATION_LIMIT, CorrelationHeatmap
from traider.tui.widgets.denials import DenialsLog
from traider.tui.widgets.health_panel import HealthPanel
from traider.tui.widgets.limit_bars import LimitBars
from traider.tui.widgets.polling import PollingMixin
from traider.tui.widgets.risk_panel import RISK_REFRESH_HZ
from traider.tui.widgets.stress_table import StressTable
from traider.tui.widgets.var_table import VarTable


class RiskScreen(Screen[None]):
    """Every risk panel over one `EngineView`, each polling `engine.risk()` on its own timer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.hide_risk", "Back", id="risk.back"),
        Binding("r", "app.hide_risk", "Back", show=False, id="risk.back_r"),
    ]

    def __init__(
        self,
        engine: EngineView,
        *,
        refresh_hz: float = RISK_REFRESH_HZ,
        correlation_limit: float = CORRELATION_LIMIT,
    ) -> None:
        super().__init__(id="risk-screen")
        self._engine = engine
        self._refresh_hz = refresh_hz
        self._correlation_limit = correlation_limit

    def compose(self) -> ComposeResult:
        engine = self._engine
        hz = self._refresh_hz
        with Horizontal(id="risk-top"):
            var = VarTable(engine, refresh_hz=hz, id="var")
            var.border_title = "VaR / ES"
            var.border_subtitle = "r / esc: back"
            yield var
            limits = LimitBars(engine, refresh_hz=hz, id="limits")
            limits.border_title = "Limit use"
            yield limits
        with Horizontal(id="risk-middle"):
            heatmap = CorrelationHeatmap(
                engine, refresh_hz=hz, limit=self._correlation_limit, id="heatmap"
            )
            heatmap.border_title = "Correlation (EWMA)"
            yield heatmap
            with Vertical(id="risk-right"):
                stress = StressTable(engine, refresh_hz=hz, id="stress")
                stress.border_title = "Stress"
                yield stress
                denials = DenialsLog(engine, refresh_hz=hz, id="denials")
                denials.border_title = "Recent denials"
                yield denials
                health = HealthPanel(engine, engine.health, refresh_hz=hz, id="health")
                health.border_title = "Health"
                yield health
        yield Footer()

    def on_screen_resume(self) -> None:
        """Catch up at once when shown again, rather than on the next tick."""
        self.poll_all()

    def poll_all(self) -> None:
        for widget in self.query("*"):
            if isinstance(widget, PollingMixin):
                widget.poll(force=True)
