"""Reading what a Textual widget draws, for the screen's tests."""

from __future__ import annotations

from collections.abc import Callable

from rich.color import Color
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

__all__ = ["colour_of", "rendered", "until"]


def rendered(widget: Widget) -> str:
    """What the widget draws now, border included, as plain text."""
    w, h = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, w, h)))


def colour_of(widget: Widget, needle: str, part: str) -> Color | None:
    """The foreground colour `part` is drawn in, on the first line containing `needle`."""
    w, h = widget.outer_size
    for strip in widget.render_lines(Region(0, 0, w, h)):
        if needle in strip.text:
            for seg in strip:
                if part in seg.text and seg.style is not None:
                    return seg.style.color
            raise AssertionError(f"{part!r} is not drawn on the line with {needle!r}")
    raise AssertionError(f"{needle!r} is not drawn")


async def until(pilot: Pilot[None], condition: Callable[[], bool], limit_s: float = 5.0) -> bool:
    """Wait for the panels' next poll instead of guessing how long it takes on a busy box."""
    waited = 0.0
    while not condition() and waited < limit_s:
        await pilot.pause(0.05)
        waited += 0.05
    return condition()
