"""Limit use: one line per limit with a bar proportional to its utilisation.

Each line reads: name, a bar (clamped at 100%; the number beside it shows any overflow,
e.g. "125%"), and "used / limit unit". Green under 70%, yellow under 100%, red at or over.
"""

from __future__ import annotations

from rich.text import Text

from traider.engine.view import LimitUse
from traider.tui.widgets.risk_panel import GREEN, RED, WAITING, YELLOW, RiskPanel

WARN_AT = 0.7
BAR_FULL = "█"
BAR_EMPTY = "░"
NAME_W = 16
PCT_W = 6  # " 125%"
MIN_BAR_W = 5


def limit_colour(utilisation: float) -> str:
    """Green < 70%, yellow < 100%, red at or above 100%."""
    if utilisation >= 1.0:
        return RED
    if utilisation >= WARN_AT:
        return YELLOW
    return GREEN


def format_use(limit: LimitUse) -> str:
    """ "used / limit unit", e.g. "41.00 / 50.00 USD"."""
    return f"{limit.used:,.2f} / {limit.limit:,.2f} {limit.unit}".rstrip()


def bar_cells(utilisation: float, width: int) -> int:
    """Filled cells of a `width`-cell bar: proportional, clamped to [0, width]."""
    if width <= 0 or utilisation != utilisation:  # NaN
        return 0
    return max(0, min(width, round(utilisation * width)))


def limit_line(limit: LimitUse, width: int, use_w: int = 0) -> Text:
    """One limit as a line of at most `width` cells; pure.

    `use_w` reserves that many cells for the "used / limit unit" column, so that every bar
    of a panel starts and ends in the same columns.
    """
    util = limit.utilisation
    colour = limit_colour(util)
    use = format_use(limit)
    use_w = max(use_w, len(use))
    bar_w = max(MIN_BAR_W, width - NAME_W - PCT_W - use_w - 3)
    filled = bar_cells(util, bar_w)
    line = Text(no_wrap=True, overflow="ellipsis")
    name = limit.name if len(limit.name) <= NAME_W else limit.name[: NAME_W - 1] + "…"
    line.append(f"{name:<{NAME_W}} ", style="bold" if util >= 1.0 else "")
    line.append(BAR_FULL * filled, style=colour)
    line.append(BAR_EMPTY * (bar_w - filled), style="#444444")
    line.append(f"{util * 100:>{PCT_W - 1}.0f}%", style=f"bold {colour}")
    line.append(f"  {use:>{use_w}}", style="dim" if util < 1.0 else colour)
    return line


class LimitBars(RiskPanel):
    """`RiskView.limits` as utilisation bars."""

    DEFAULT_CSS = """
    LimitBars {
        height: auto;
        min-height: 2;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def lines(self) -> list[Text]:
        """The lines drawn now at the widget's width (for tests)."""
        view = self._view
        if view is None or (not view.limits and view.computed_ns is None):
            return [Text(WAITING, style="dim italic")]
        if not view.limits:
            return [Text("no limits configured", style="dim")]
        width = max(1, self.size.width)
        use_w = max(len(format_use(limit)) for limit in view.limits)
        return [limit_line(limit, width, use_w) for limit in view.limits]

    def render(self) -> Text:
        out = Text("\n").join(self.lines())
        out.no_wrap = True
        out.overflow = "ellipsis"
        return out
