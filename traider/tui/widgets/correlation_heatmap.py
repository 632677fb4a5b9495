"""The EWMA correlation matrix as a heatmap: one coloured cell a pair, its value printed.

Blue at −1, neutral at 0, red at +1 (linear in between). Off-diagonal cells whose |ρ| is
above the configured correlation limit (0.7 by default) are bold, since those are the
pairs the risk checks act on. Symbols label the rows and the columns; a column label too
wide for its cell falls back to the base currency ("BTC" for "BTC-USD").

A `render()` widget returning Rich `Text`: the matrix only changes with the risk view's
version (about once a second), and the text is rebuilt only then or on a resize.
"""

from __future__ import annotations

import math
from typing import Unpack

from rich.color import Color
from rich.style import Style
from rich.text import Text

from traider.engine.view import EngineView, RiskView
from traider.tui.widgets.polling import WidgetArgs
from traider.tui.widgets.risk_panel import RISK_REFRESH_HZ, WAITING, RiskPanel

CORRELATION_LIMIT = 0.7
CELL_W = 8
NEUTRAL = (48, 48, 48)
BLUE = (31, 95, 215)
RED = (215, 47, 47)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> Color:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return Color.from_rgb(r, g, bl)


def correlation_colour(rho: float) -> Color:
    """The cell background for `rho`: blue (−1) through neutral (0) to red (+1)."""
    if not math.isfinite(rho):
        return Color.from_rgb(*NEUTRAL)
    t = max(-1.0, min(1.0, rho))
    return _mix(NEUTRAL, RED, t) if t >= 0 else _mix(NEUTRAL, BLUE, -t)


def is_emphasised(rho: float, limit: float = CORRELATION_LIMIT) -> bool:
    """True when |ρ| is above the correlation limit."""
    return math.isfinite(rho) and abs(rho) > limit


def cell_style(rho: float, *, limit: float = CORRELATION_LIMIT, diagonal: bool = False) -> Style:
    """Background by `correlation_colour`; bold when above the limit (never on the diagonal)."""
    strong = math.isfinite(rho) and abs(rho) >= 0.5
    return Style(
        color="white" if strong else "#d0d0d0",
        bgcolor=correlation_colour(rho),
        bold=not diagonal and is_emphasised(rho, limit),
        dim=diagonal,
    )


def format_rho(rho: float) -> str:
    return f"{rho:.2f}" if math.isfinite(rho) else "n/a"


def column_label(symbol: str, width: int = CELL_W) -> str:
    if len(symbol) < width:
        return symbol
    base = symbol.split("-", 1)[0].split("/", 1)[0]
    return base if len(base) < width else base[: width - 2] + "…"


def heatmap_text(view: RiskView | None, *, limit: float = CORRELATION_LIMIT) -> Text:
    """The whole heatmap (header, one row a symbol, legend) as Rich text; pure."""
    if view is None or view.computed_ns is None:
        return Text(WAITING, style="dim italic")
    symbols = view.correlation_symbols
    if not symbols:
        return Text("no correlation yet (fewer than two symbols with history)", style="dim")
    label_w = max(len(s) for s in symbols) + 1
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(" " * label_w)
    for sym in symbols:
        out.append(f"{column_label(sym):^{CELL_W}}", style="bold")
    for i, sym in enumerate(symbols):
        out.append("\n")
        out.append(f"{sym:<{label_w}}", style="bold")
        row = view.correlation[i] if i < len(view.correlation) else ()
        for j in range(len(symbols)):
            rho = row[j] if j < len(row) else math.nan
            out.append(
                f"{format_rho(rho):^{CELL_W}}", style=cell_style(rho, limit=limit, diagonal=i == j)
            )
    out.append("\n\n")
    out.append(" " * label_w)
    for v in (-1.0, -0.5, 0.0, 0.5, 1.0):
        out.append(f"{v:^+6.1f}", style=cell_style(v, diagonal=True))
    out.append(f"  bold: |ρ| > {limit:.2f}", style="dim")
    if view.clusters:
        out.append(f"\n\nclusters (|ρ| > {limit:.2f})", style="bold")
        for line in view.clusters:
            out.append(f"\n  {line}")
    return out


class CorrelationHeatmap(RiskPanel):
    """`RiskView.correlation` as a coloured grid."""

    DEFAULT_CSS = """
    CorrelationHeatmap {
        height: auto;
        min-height: 3;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(
        self,
        engine: EngineView,
        *,
        refresh_hz: float = RISK_REFRESH_HZ,
        limit: float = CORRELATION_LIMIT,
        **widget: Unpack[WidgetArgs],
    ) -> None:
        super().__init__(engine, refresh_hz=refresh_hz, **widget)
        self.limit = limit

    def render(self) -> Text:
        return heatmap_text(self._view, limit=self.limit)
