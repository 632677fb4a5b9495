"""The models screen: the live models and their ensemble weights, the combined signal per
symbol, and retraining jobs.

A full `Screen` (not a modal) toggled from the main screen with `m` (also "Show models" in
the command palette); `escape` or `m` goes back. Built like the risk screen: its panels
poll `engine.models()` at the risk screen's rate, redraw only when `ModelsView.version`
moves, and skip their polls while the screen is hidden (and the main screen's skip theirs
while this one is up).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from traider.engine.view import EngineView
from traider.tui.screens.approve_model import ApproveModelScreen
from traider.tui.widgets.candidates_panel import CandidatesTable
from traider.tui.widgets.models_panels import ModelsTable, RetrainingLog, SignalsTable
from traider.tui.widgets.polling import PollingMixin
from traider.tui.widgets.risk_panel import RISK_REFRESH_HZ


class ModelsScreen(Screen[None]):
    """The models panels over one `EngineView`, each polling `engine.models()`."""

    # Here rather than in app.tcss so that the screen carries its own layout.
    DEFAULT_CSS = """
    ModelsScreen #models-table, ModelsScreen #signals, ModelsScreen #retraining,
    ModelsScreen #candidates-table {
        border: round $primary-darken-1;
        border-title-style: bold;
        padding: 0 1;
    }
    ModelsScreen #models-table {
        max-height: 60%;
    }
    ModelsScreen #models-bottom {
        height: 1fr;
    }
    ModelsScreen #signals {
        width: 48;
        height: 1fr;
    }
    ModelsScreen #retraining {
        width: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.hide_models", "Back", id="models.back"),
        Binding("m", "app.hide_models", "Back", show=False, id="models.back_m"),
        Binding("a", "approve", "Approve a candidate", id="models.approve"),
    ]

    def __init__(
        self, engine: EngineView, *, refresh_hz: float = RISK_REFRESH_HZ, operator: str = ""
    ) -> None:
        super().__init__(id="models-screen")
        self._engine = engine
        self._refresh_hz = refresh_hz
        self._operator = operator  # `[tui] operator`; "" = the OS user

    def compose(self) -> ComposeResult:
        engine = self._engine
        hz = self._refresh_hz
        models = ModelsTable(engine, refresh_hz=hz, id="models-table")
        models.border_title = "Models"
        models.border_subtitle = "m / esc: back"
        yield models
        candidates = CandidatesTable(engine, refresh_hz=hz, id="candidates-table")
        candidates.border_title = "Waiting for an operator"
        candidates.border_subtitle = "a: approve"
        yield candidates
        with Horizontal(id="models-bottom"):
            signals = SignalsTable(engine, refresh_hz=hz, id="signals")
            signals.border_title = "Ensemble signal"
            yield signals
            retraining = RetrainingLog(engine, refresh_hz=hz, id="retraining")
            retraining.border_title = "Retraining"
            yield retraining
        yield Footer()

    def operator(self) -> str:
        import getpass

        try:
            return self._operator or getpass.getuser()
        except Exception:  # no user name: the registry then refuses with a clear line
            return self._operator

    def action_approve(self) -> None:
        """Pick a candidate and approve it as the operator; never promotes."""
        waiting = tuple(c for c in self._engine.models().candidates if c.state == "candidate")
        if not waiting:
            self.notify("no candidate to approve", severity="warning")
            return
        operator = self.operator()

        def approve(model_id: str | None) -> None:
            if model_id is None:
                return
            try:
                message = self._engine.approve_model(model_id, operator)
            except Exception as exc:  # refused, or the store failed: show it, keep trading
                self.notify(str(exc), severity="error", timeout=10)
                return
            self.notify(message, timeout=10)
            self.poll_all()

        self.app.push_screen(ApproveModelScreen(waiting, operator), approve)

    def on_screen_resume(self) -> None:
        """Catch up at once when shown again, rather than on the next tick."""
        self.poll_all()

    def poll_all(self) -> None:
        for widget in self.query("*"):
            if isinstance(widget, PollingMixin):
                widget.poll(force=True)
