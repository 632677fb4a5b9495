"""Reading what a Textual widget draws, for the screen's tests."""

from __future__ import annotations

from textual.geometry import Region
from textual.widget import Widget

__all__ = ["rendered"]


def rendered(widget: Widget) -> str:
    """What the widget draws now, border included, as plain text."""
    w, h = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, w, h)))
