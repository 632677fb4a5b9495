"""Approving a candidate model from the screen: a modal with Cancel focused.

Lists the candidates with their out-of-sample accuracy; the operator picks one and
presses Approve. Dismisses with the model id, or None. The caller approves it in the
registry under the operator's name (`[tui] operator`, default the OS user); approving
does not make it trade: it must still be promoted (`traider models promote`), so one
keypress can never put a model in charge of orders.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList
from textual.widgets.option_list import Option

from traider.engine.view import CandidateLine


def option_label(c: CandidateLine) -> Text:
    """The candidate, its out-of-sample accuracy and the trainer's verdict, which the
    operator must see where they decide (as `traider models approve` prints it)."""
    acc = "n/a" if c.oos_accuracy is None else f"{c.oos_accuracy:.3f}"
    ci = f" [{c.oos_ci[0]:.3f}, {c.oos_ci[1]:.3f}]" if c.oos_ci else ""
    out = Text(f"{c.model_id:<18} out-of-sample accuracy {acc}{ci}  by {c.registered_by}")
    for line in c.verdict or ("no out-of-sample verdict recorded: read its report",):
        out.append(f"\n    {line}", style=VERDICT_STYLE)
    return out


VERDICT_STYLE = "#ffaf00"


class ApproveModelScreen(ModalScreen[str | None]):
    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="approve_model.cancel"),
    ]
    DEFAULT_CSS = """
    ApproveModelScreen {
        align: center middle;
        background: $background 60%;
    }
    ApproveModelScreen > #dialog {
        width: 90;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    ApproveModelScreen #title {
        width: 100%;
        content-align: center middle;
        text-style: bold;
    }
    ApproveModelScreen #explain {
        margin: 1 0;
    }
    ApproveModelScreen OptionList {
        height: auto;
        max-height: 10;
    }
    ApproveModelScreen #buttons {
        height: auto;
        align: center middle;
        margin-top: 1;
    }
    ApproveModelScreen Button {
        margin: 0 2;
    }
    """

    def __init__(self, candidates: tuple[CandidateLine, ...], operator: str) -> None:
        super().__init__()
        self._candidates = tuple(c for c in candidates if c.state == "candidate")
        self.operator = operator

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("APPROVE A MODEL", id="title")
            yield Label(
                f"Approve as {self.operator!r} (recorded with the time). It will not trade\n"
                "until promoted: traider models promote ID --by NAME. Read its report first.",
                id="explain",
            )
            options = [Option(option_label(c), id=c.model_id) for c in self._candidates]
            yield OptionList(*options, id="candidates")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Approve", id="confirm", variant="warning")

    def selected(self) -> str | None:
        options = self.query_one("#candidates", OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.selected() if event.button.id == "confirm" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
