"""The kill-switch confirmation: a modal with Cancel focused, so a stray Enter is safe.

Dismisses with True when the operator confirmed (the caller then engages the switch),
False otherwise. `flatten` tells the caller whether to also close every position.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label


class KillSwitchScreen(ModalScreen[bool]):
    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="kill_switch.cancel"),
    ]
    DEFAULT_CSS = """
    KillSwitchScreen {
        align: center middle;
        background: $background 60%;
    }
    KillSwitchScreen > #dialog {
        width: 64;
        height: auto;
        border: thick #d70000;
        background: $surface;
        padding: 1 2;
    }
    KillSwitchScreen #title {
        width: 100%;
        content-align: center middle;
        text-style: bold;
        color: #ff5f5f;
    }
    KillSwitchScreen #explain {
        margin: 1 0;
    }
    KillSwitchScreen #buttons {
        height: auto;
        align: center middle;
        margin-top: 1;
    }
    KillSwitchScreen Button {
        margin: 0 2;
    }
    """

    def __init__(self, *, flatten: bool = False) -> None:
        super().__init__()
        self._initial_flatten = flatten
        self.flatten = flatten  # the checkbox's value when the dialog closed

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("ENGAGE KILL SWITCH?", id="title")
            yield Label(
                "Cancels every open order and blocks new ones until it is reset\n"
                "from the command line (traider kill --reset).",
                id="explain",
            )
            yield Checkbox(
                "Also flatten: close every position at market",
                value=self._initial_flatten,
                id="flatten",
            )
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("ENGAGE", id="confirm", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.flatten = self.query_one("#flatten", Checkbox).value
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)
