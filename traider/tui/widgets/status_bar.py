"""The status bar: mode badge, feed health, loop lag, store, kill switch, fills."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from traider.engine.core.types import TradingMode
from traider.engine.view import EngineStatus
from traider.tui.widgets.polling import PollingMixin

MODE_STYLE: dict[TradingMode, str] = {
    TradingMode.PAPER: "bold black on #5fafff",
    TradingMode.LIVE: "bold white on #d70000",
    TradingMode.REPLAY: "bold black on #d7af5f",
    TradingMode.TWIN: "bold black on #af87d7",
}
RESET_HINT = "reset: traider kill --reset"
LAG_WARN_MS = 5.0


def status_text(status: EngineStatus) -> Text:
    """The bar as rich text; a second, red line while the kill switch is engaged; pure."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f" {status.mode.value} ", style=MODE_STYLE.get(status.mode, "reverse"))
    t.append(" ")
    ks = status.kill_switch
    if ks.engaged:
        t.append(" KILL SWITCH ENGAGED ", style="bold white on #d70000")
    else:
        t.append("kill switch ", style="dim")
        t.append("armed", style="#5fd75f")
        t.append(" (ctrl+k)", style="dim")
    if not status.running:
        t.append("  stopped", style="bold #ffaf00")
    t.append("  ")
    for feed in status.feeds:
        mark, style = ("●", "#5fd75f") if feed.healthy else ("✖", "bold #ff5f5f")
        t.append(f"{feed.symbol} ", style="" if feed.healthy else "#ff5f5f")
        t.append(mark, style=style)
        t.append(" ")
    lag_style = "bold #ff5f5f" if status.loop_lag_p99_ms >= LAG_WARN_MS else "dim"
    t.append(f" lag p99 {status.loop_lag_p99_ms:.1f} ms", style=lag_style)
    t.append("  store ", style="dim")
    t.append(status.store, style="#5fd75f" if status.store_ok else "bold #ff5f5f")
    t.append(f"  fills {status.fills}", style="dim")
    if ks.engaged:
        banner = Text(no_wrap=True, overflow="ellipsis", style="bold white on #870000")
        banner.append(" ENGAGED ", style="bold white on #d70000")
        who = f" by {ks.source}" if ks.source else ""
        banner.append(f" kill switch{who}: {ks.reason or 'no reason given'}")
        banner.append(f"  - new orders are blocked; {RESET_HINT}")
        t = Text("\n").join([t, banner])
    return t


class StatusBar(PollingMixin, Widget):
    DEFAULT_CSS = """
    StatusBar {
        height: auto;
        max-height: 2;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $panel;
    }
    StatusBar.engaged {
        background: #3a0000;
    }
    """

    _status: EngineStatus | None = None

    @property
    def status(self) -> EngineStatus | None:
        return self._status

    def fetch_and_update(self) -> None:
        status = self._engine.status()
        if status == self._status:
            return
        was_engaged = self.has_class("engaged")
        self._status = status
        engaged = status.kill_switch.engaged
        self.set_class(engaged, "engaged")
        self.refresh(layout=engaged != was_engaged)

    def render(self) -> Text:
        if self._status is None:
            return Text(" starting…", style="dim")
        return status_text(self._status)
