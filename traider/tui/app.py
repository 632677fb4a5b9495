"""The trading screen: `TraiderApp(engine, tui_config)`.

The app only talks to the engine through `EngineHandle` (see `traider.engine.view`): cheap
snapshot reads that each panel pulls on its own timer, and `engage_kill_switch`, which
returns at once. The engine is started after the first frame is on screen and stopped when
the app quits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from traider.config import TuiConfig
from traider.engine.view import EngineHandle
from traider.tui.screens.kill_switch import KillSwitchScreen
from traider.tui.screens.models import ModelsScreen
from traider.tui.screens.risk import RiskScreen
from traider.tui.widgets.alerts_log import AlertsLog
from traider.tui.widgets.correlation_heatmap import CORRELATION_LIMIT
from traider.tui.widgets.micro_panel import MicroPanel
from traider.tui.widgets.order_book import OrderBookWidget
from traider.tui.widgets.orders import OrdersTable
from traider.tui.widgets.pnl import PnlPanel
from traider.tui.widgets.polling import PollingMixin
from traider.tui.widgets.positions import PositionsTable
from traider.tui.widgets.risk_panel import RISK_REFRESH_HZ
from traider.tui.widgets.status_bar import StatusBar
from traider.tui.widgets.trades_tape import TradesTape

log = logging.getLogger(__name__)

KILL_REASON = "operator via TUI"
RISK_SCREEN = "risk"
MODELS_SCREEN = "models"


def parse_keymap(entries: tuple[str, ...]) -> dict[str, str]:
    """`("kill_switch=ctrl+x", "risk_screen=f2")` -> {binding id: keys}."""
    keymap: dict[str, str] = {}
    for entry in entries:
        binding_id, sep, keys = entry.partition("=")
        if not sep or not binding_id.strip() or not keys.strip():
            raise ValueError(
                f"tui.keymap entry {entry!r}: use binding_id=keys, e.g. kill_switch=ctrl+x"
            )
        keymap[binding_id.strip()] = keys.strip()
    return keymap


class TraiderApp(App[None]):
    """The workstation screen over a running (or about to start) engine."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses work too
    TITLE = "traider"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+k",
            "kill_switch",
            "KILL SWITCH",
            priority=True,
            id="kill_switch",
            tooltip="Cancel every order and block new ones (asks first)",
        ),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("left_square_bracket", "cycle_symbol(-1)", "Prev symbol", id="prev_symbol"),
        Binding("right_square_bracket", "cycle_symbol(1)", "Next symbol", id="next_symbol"),
        *(
            Binding(str(i), f"select_symbol({i - 1})", f"Symbol {i}", show=False, id=f"symbol_{i}")
            for i in range(1, 10)
        ),
        Binding("r", "toggle_risk", "Risk", id="risk_screen", tooltip="VaR, limits, correlation"),
        Binding(
            "m", "toggle_models", "Models", id="models_screen", tooltip="Models, signal, retraining"
        ),
        Binding("f1,question_mark", "toggle_help", "Help", id="help"),
    ]

    def __init__(
        self,
        engine: EngineHandle,
        tui_config: TuiConfig | None = None,
        *,
        risk_refresh_hz: float = RISK_REFRESH_HZ,
        correlation_limit: float = CORRELATION_LIMIT,
    ) -> None:
        self.created_at = time.perf_counter()
        super().__init__()
        self.engine = engine
        self.tui_config = tui_config or TuiConfig()
        self.risk_refresh_hz = risk_refresh_hz
        self.correlation_limit = correlation_limit
        self.first_frame_at: float | None = None
        self._engine_started = False
        self._engine_stopped = False
        symbols = engine.symbols
        self._symbols: tuple[str, ...] = symbols
        self._symbol_index = 0

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        cfg = self.tui_config
        engine = self.engine
        book_hz = cfg.book_refresh_hz
        tables_hz = cfg.tables_refresh_hz
        first = self._symbols[0] if self._symbols else ""
        with Horizontal(id="top"):
            book = OrderBookWidget(
                engine, first, depth=cfg.book_depth, refresh_hz=book_hz, id="book"
            )
            book.border_title = "Order book"
            book.border_subtitle = "[ ] or 1-9: symbol"
            yield book
            with Vertical(id="middle"):
                tape = TradesTape(engine, refresh_hz=book_hz / 2, id="trades")
                tape.border_title = "Trades"
                yield tape
                micro = MicroPanel(engine, first, id="micro")
                micro.border_title = "Microstructure"
                yield micro
                pnl = PnlPanel(engine, refresh_hz=tables_hz, id="pnl")
                pnl.border_title = "P&L"
                yield pnl
            with Vertical(id="right"):
                positions = PositionsTable(engine, refresh_hz=tables_hz, id="positions")
                positions.border_title = "Positions"
                yield positions
                alerts = AlertsLog(engine, refresh_hz=tables_hz, id="alerts")
                alerts.border_title = "Alerts"
                yield alerts
        orders = OrdersTable(engine, refresh_hz=tables_hz, id="orders")
        orders.border_title = "Open orders"
        yield orders
        yield StatusBar(engine, refresh_hz=tables_hz, id="status")
        yield Footer()

    # --- lifecycle ---------------------------------------------------------------------

    def on_mount(self) -> None:
        self.sub_title = self.engine.mode.value
        if self.tui_config.keymap:
            # operator's remapping by binding id, e.g. "kill_switch=ctrl+x" (config [tui])
            self.set_keymap(parse_keymap(self.tui_config.keymap))
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = time.perf_counter()
        self._start_engine()

    @property
    def startup_s(self) -> float | None:
        """Seconds from construction to the first frame on screen, once there is one."""
        if self.first_frame_at is None:
            return None
        return self.first_frame_at - self.created_at

    @work(exclusive=True, group="engine", exit_on_error=False, name="engine-start")
    async def _start_engine(self) -> None:
        if self._engine_started:
            return
        self._engine_started = True
        try:
            await self.engine.start()
        except Exception as exc:
            log.exception("engine failed to start")
            self.notify(f"engine failed to start: {exc}", severity="error", timeout=30)
        self._poll_all()

    async def _stop_engine(self) -> None:
        if not self._engine_started or self._engine_stopped:
            return
        self._engine_stopped = True
        try:
            await self.engine.stop()
        except Exception:
            log.exception("engine failed to stop cleanly")

    async def action_quit(self) -> None:
        await self._stop_engine()
        self.exit()

    async def on_unmount(self) -> None:
        await self._stop_engine()

    # --- symbols -----------------------------------------------------------------------

    @property
    def symbol(self) -> str:
        return self.query_one("#book", OrderBookWidget).symbol

    def action_select_symbol(self, index: int) -> None:
        if 0 <= index < len(self._symbols):
            self._symbol_index = index
            self.query_one("#book", OrderBookWidget).symbol = self._symbols[index]
            self.query_one("#micro", MicroPanel).symbol = self._symbols[index]

    def action_cycle_symbol(self, step: int) -> None:
        if self._symbols:
            self.action_select_symbol((self._symbol_index + step) % len(self._symbols))

    # --- kill switch -------------------------------------------------------------------

    def action_kill_switch(self, flatten: bool = False) -> None:
        """Ask, then engage. Works from any screen; never opens a second dialog."""
        if isinstance(self.screen, KillSwitchScreen):
            return
        screen = KillSwitchScreen(flatten=flatten)

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.engage_kill_switch(flatten=screen.flatten)

        self.push_screen(screen, done)

    def engage_kill_switch(self, *, flatten: bool) -> None:
        try:
            self.engine.engage_kill_switch(KILL_REASON, flatten=flatten, source="tui")
        except Exception as exc:
            log.exception("kill switch call failed")
            self.notify(f"KILL SWITCH FAILED: {exc}", severity="error", timeout=60)
        else:
            what = "engaged and flattening" if flatten else "engaged"
            self.notify(f"Kill switch {what}", severity="warning")
        self._poll_all()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:  # type: ignore[type-arg]
        yield SystemCommand(
            "Engage kill switch",
            "Cancel every open order and block new ones (asks to confirm)",
            self.action_kill_switch,
        )
        yield SystemCommand(
            "Engage kill switch and flatten",
            "As above, and close every position at market (asks to confirm)",
            lambda: self.action_kill_switch(flatten=True),
        )
        yield SystemCommand(
            "Show risk",
            "VaR/ES, limit use, correlation heatmap, stress scenarios and denials",
            self.action_show_risk,
        )
        yield SystemCommand(
            "Show models",
            "Live models and ensemble weights, the combined signal per symbol, retraining",
            self.action_show_models,
        )
        yield from super().get_system_commands(screen)

    # --- risk screen -------------------------------------------------------------------

    @property
    def risk_screen(self) -> RiskScreen:
        """The risk screen, installed on first use so it keeps its state while hidden."""
        if not self.is_screen_installed(RISK_SCREEN):
            self.install_screen(
                RiskScreen(
                    self.engine,
                    refresh_hz=self.risk_refresh_hz,
                    correlation_limit=self.correlation_limit,
                ),
                RISK_SCREEN,
            )
        screen = self.get_screen(RISK_SCREEN)
        assert isinstance(screen, RiskScreen)
        return screen

    def action_toggle_risk(self) -> None:
        """`r`: show the risk screen from the main screen, or go back from it."""
        if isinstance(self.screen, RiskScreen):
            self.action_hide_risk()
        elif self.screen is self.screen_stack[0]:
            self.action_show_risk()

    def action_show_risk(self) -> None:
        if not any(isinstance(s, RiskScreen) for s in self.screen_stack):
            self.push_screen(self.risk_screen)

    def action_hide_risk(self) -> None:
        if isinstance(self.screen, RiskScreen):
            self.pop_screen()
            self.call_after_refresh(self._poll_all)  # the main panels catch up at once

    # --- models screen -----------------------------------------------------------------

    @property
    def models_screen(self) -> ModelsScreen:
        """The models screen, installed on first use so it keeps its state while hidden.

        It polls at the risk screen's rate: both show slow numbers the engine versions."""
        if not self.is_screen_installed(MODELS_SCREEN):
            self.install_screen(
                ModelsScreen(
                    self.engine,
                    refresh_hz=self.risk_refresh_hz,
                    operator=self.tui_config.operator,
                ),
                MODELS_SCREEN,
            )
        screen = self.get_screen(MODELS_SCREEN)
        assert isinstance(screen, ModelsScreen)
        return screen

    def action_toggle_models(self) -> None:
        """`m`: show the models screen from the main screen, or go back from it."""
        if isinstance(self.screen, ModelsScreen):
            self.action_hide_models()
        elif self.screen is self.screen_stack[0]:
            self.action_show_models()

    def action_show_models(self) -> None:
        if not any(isinstance(s, ModelsScreen) for s in self.screen_stack):
            self.push_screen(self.models_screen)

    def action_hide_models(self) -> None:
        if isinstance(self.screen, ModelsScreen):
            self.pop_screen()
            self.call_after_refresh(self._poll_all)  # the main panels catch up at once

    # --- misc --------------------------------------------------------------------------

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def _poll_all(self) -> None:
        """Redraw every panel now (after a command), whatever their timers say."""
        for widget in self.screen_stack[0].query("*"):
            if isinstance(widget, PollingMixin):
                widget.poll(force=True)
