"""Microstructure line for the book's symbol: microprice and its deviation, spread,
depth imbalance, and a sparkline of order-flow imbalance over recent polls."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widget import Widget
from typing_extensions import Unpack

from traider.engine.view import EngineView
from traider.tui.widgets.polling import PollingMixin, WidgetArgs

if TYPE_CHECKING:
    from traider.engine.features.microstructure import FeatureVector

BLOCKS = "▁▂▃▄▅▆▇█"
HISTORY = 40


def sparkline(values: list[float]) -> str:
    """Unicode blocks scaled to max |value|; the middle block is zero."""
    if not values:
        return ""
    top = max(abs(v) for v in values) or 1.0
    mid = (len(BLOCKS) - 1) / 2
    return "".join(BLOCKS[round(mid + mid * v / top)] for v in values)


def micro_text(symbol: str, vec: FeatureVector | None, ofi_history: list[float]) -> Text:
    if vec is None or not vec.valid:
        return Text(f"{symbol}: no features yet", style="dim")
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append("microprice ", style="dim")
    out.append(f"{vec.microprice:,.2f}")
    style = "green" if vec.microprice_dev_bps > 0 else "red" if vec.microprice_dev_bps < 0 else ""
    out.append(f" ({vec.microprice_dev_bps:+.2f} bps)", style=style)
    if not vec.microprice_fitted:
        out.append(" wmid", style="dim")
    out.append("\nspread ", style="dim")
    out.append(f"{vec.spread_bps:.2f} bps")
    out.append("  imb5 ", style="dim")
    out.append(f"{vec.depth_imbalance_5:+.2f}")
    out.append("\nOFI ", style="dim")
    out.append(sparkline(ofi_history), style="cyan")
    out.append(f" {vec.ofi_window:+,.3f}")
    return out


class MicroPanel(PollingMixin, Widget):
    """Follows the symbol the app shows in the order book (`symbol` is set by the app)."""

    DEFAULT_CSS = """
    MicroPanel {
        height: 5;
    }
    """

    def __init__(
        self,
        engine: EngineView,
        symbol: str,
        *,
        refresh_hz: float = 4.0,
        **widget: Unpack[WidgetArgs],
    ) -> None:
        super().__init__(engine, refresh_hz=refresh_hz, **widget)
        self._symbol = symbol
        self._vec: FeatureVector | None = None
        self._ofi: deque[float] = deque(maxlen=HISTORY)

    @property
    def symbol(self) -> str:
        return self._symbol

    @symbol.setter
    def symbol(self, value: str) -> None:
        if value != self._symbol:
            self._symbol = value
            self._ofi.clear()
            self.poll(force=True)

    def fetch_and_update(self) -> None:
        vec = self._engine.features(self._symbol)
        if vec is not None and vec is not self._vec:
            self._ofi.append(vec.ofi_window)
        if vec is self._vec:
            return
        self._vec = vec
        self.refresh()

    def render(self) -> Text:
        return micro_text(self._symbol, self._vec, list(self._ofi))
