"""The models waiting for an operator: candidates to approve and approved ones to promote.

Drawn from `ModelsView.candidates` (newest first) with each model's out-of-sample
accuracy and its confidence interval, who registered it and when, and its report, so
the operator approves with the numbers in front of them (`a` on the models screen).
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.table import Table
from rich.text import Text

from traider.engine.view import CandidateLine, ModelsView
from traider.tui.widgets.models_panels import MODELS_OFF, WAITING_MODELS, WARN, ModelsPanel

NO_CANDIDATES = "no model waiting: `traider train …` registers a candidate"


def accuracy_text(line: CandidateLine) -> Text:
    if line.oos_accuracy is None:
        return Text("n/a", style="dim")
    ci = f" [{line.oos_ci[0]:.3f}, {line.oos_ci[1]:.3f}]" if line.oos_ci else ""
    return Text(f"{line.oos_accuracy:.3f}{ci}")


def candidates_renderable(view: ModelsView | None) -> Table | Text:
    if view is None:
        return Text(WAITING_MODELS, style="dim")
    if not view.enabled:
        return Text(MODELS_OFF, style="dim")
    if not view.candidates:
        return Text(NO_CANDIDATES, style="dim")
    table = Table(box=None, expand=True, padding=(0, 1), header_style="bold")
    for name, justify in (("model", "left"), ("state", "left"), ("OOS accuracy", "right"),
                          ("by", "left"), ("registered", "left"), ("report", "left")):  # fmt: skip
        table.add_column(name, justify=justify, no_wrap=name != "report")  # type: ignore[arg-type]
    for c in view.candidates:
        when = datetime.fromtimestamp(c.registered_ns / 1e9, tz=UTC).strftime("%m-%d %H:%M")
        state = Text(c.state, style=WARN if c.state == "candidate" else "green")
        table.add_row(c.model_id, state, accuracy_text(c), c.registered_by, when, c.report)
    return table


class CandidatesTable(ModelsPanel):
    """Candidates (approve with `a`) and approved models (promote from the CLI)."""

    DEFAULT_CSS = """
    CandidatesTable {
        height: auto;
        min-height: 2;
    }
    """

    def render(self) -> Table | Text:
        return candidates_renderable(self._view)
