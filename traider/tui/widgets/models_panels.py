"""The models screen's panels: the live models, the ensemble's signal per symbol, retraining.

Each panel polls `engine.models()` on its own timer (the risk screen's rate) and redraws
only when `ModelsView.version` moved: the engine bumps it whenever anything in the view
changes, so an idle poll compares one integer. The content changes a few times a minute at
most, so `render()` returns Rich renderables built from the view, as the risk panels do,
rather than keeping widgets (a `DataTable`, `ProgressBar`s) in step row by row.
"""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from traider.engine.view import ModelLine, ModelsView, RetrainLine, SignalLine
from traider.tui.widgets.polling import VersionedViewMixin
from traider.tui.widgets.risk_panel import (
    GREEN,
    RED,
    YELLOW,
    format_hms,
    format_usd,
)

WAITING_MODELS = "waiting for the engine's models"
MODELS_OFF = "models off"
NO_MODELS = "no models"
NO_SIGNALS = "no signals yet"
NO_RETRAINING = "no retraining jobs"

WARN = "#ffaf00"  # the alerts log's and denials log's warning colour
EMPTY_CELL = "#444444"  # unfilled bar cells, as in the limit bars
WEIGHT_BAR_W = 8
PROGRESS_BAR_W = 20
# Partial cells of a bar in eighths: a weight of 0.55 on 8 cells is 4 full cells and 3/8.
EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"

# Row styles by model state: anything not in use stands out; "disabled" is by choice.
STATE_STYLE: dict[str, str] = {
    "live": "",
    "expired": WARN,
    "failed": f"bold {RED}",
    "disabled": "dim",
}


# --- pure formatting -------------------------------------------------------------------


def is_number(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def fraction_bar(fraction: float, width: int) -> str:
    """`fraction` (clamped to 0..1; NaN as 0) of `width` cells, to the eighth of a cell,
    padded with spaces to exactly `width` cells."""
    if width <= 0:
        return ""
    if not math.isfinite(fraction):
        fraction = 0.0
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = FULL * full + (EIGHTHS[part] if part else "")
    return f"{bar:<{width}}"


def weight_text(weight: float, width: int = WEIGHT_BAR_W) -> Text:
    """E.g. "████▍    0.55": the Hedge weight as a bar and a number."""
    out = Text(no_wrap=True)
    out.append(fraction_bar(weight, width), style=GREEN if weight > 0 else EMPTY_CELL)
    out.append(f" {weight:.2f}" if math.isfinite(weight) else " n/a")
    return out


def prob_text(prob_up: float | None) -> Text:
    """P(up) to 2 decimals: green above 0.5, red below; "n/a" (red) where the model failed,
    "-" where it made no prediction for the symbol."""
    if prob_up is None:
        return Text("-", style="dim")
    if not math.isfinite(prob_up):
        return Text("n/a", style=RED)
    style = GREEN if prob_up > 0.5 else RED if prob_up < 0.5 else ""
    return Text(f"{prob_up:.2f}", style=style)


def metric_text(value: float | None, digits: int) -> Text:
    """A rolling metric, or "-" before the model has any scored predictions."""
    if value is None or not is_number(value):
        return Text("-", style="dim")
    return Text(f"{value:.{digits}f}")


def pnl_text(pnl: float) -> Text:
    style = RED if pnl < 0 else GREEN if pnl > 0 else ""
    return Text(format_usd(pnl, signed=True), style=style)


def expires_text(days: float) -> Text:
    """Days until the model expires; already past (<= 0) in the warning colour."""
    if not math.isfinite(days):
        return Text("-", style="dim")
    return Text(f"{days:.1f}", style=WARN if days <= 0 else YELLOW if days < 1 else "")


def prediction_symbols(models: tuple[ModelLine, ...]) -> list[str]:
    """Every symbol any model predicts, in order of first appearance (the table's columns)."""
    seen: dict[str, None] = {}
    for model in models:
        for symbol, _ in model.predictions:
            seen.setdefault(symbol, None)
    return list(seen)


def disabled_text(view: ModelsView) -> Text:
    """What the panels show when the engine runs no models: "models off" and any reason."""
    out = Text(MODELS_OFF, style=f"bold {WARN}")
    if view.note and view.note != MODELS_OFF:
        out.append(f": {view.note}", style="dim")
    return out


def summary_text(view: ModelsView) -> Text:
    """The line above the models table: how many models are in use, and bars recorded."""
    live = sum(1 for m in view.models if m.state == "live")
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"{live} live", style=f"bold {GREEN}" if live else f"bold {WARN}")
    out.append(f" of {len(view.models)} models", style="dim")
    out.append(f"  {view.bars:,} bars recorded", style="dim")
    if view.vetoes:
        out.append(f"  {view.vetoes:,} entries vetoed", style=WARN)
    if view.note:
        out.append(f"  {view.note}", style=WARN)
    return out


def models_renderable(view: ModelsView | None) -> Group | Text:
    """The models panel's content for `view`; pure."""
    if view is None:
        return Text(WAITING_MODELS, style="dim italic")
    if not view.enabled:
        return disabled_text(view)
    if not view.models:
        return Text(view.note or NO_MODELS, style=f"bold {WARN}")
    symbols = prediction_symbols(view.models)
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
    table.add_column("Model", style="bold", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Weight", no_wrap=True)
    for symbol in symbols:
        table.add_column(f"P↑ {symbol}", justify="right", no_wrap=True)
    table.add_column("Hit", justify="right", no_wrap=True)
    table.add_column("LogLoss", justify="right", no_wrap=True)
    table.add_column("Brier", justify="right", no_wrap=True)
    table.add_column("P&L USD", justify="right", no_wrap=True)
    table.add_column("Age d", justify="right", no_wrap=True)
    table.add_column("Exp d", justify="right", no_wrap=True)
    table.add_column("Note", ratio=1, overflow="ellipsis", no_wrap=True)
    for model in view.models:
        table.add_row(*model_cells(model, symbols), style=STATE_STYLE.get(model.state, WARN))
    return Group(summary_text(view), Text(""), table)


def model_cells(model: ModelLine, symbols: list[str]) -> list[Text]:
    """One model's row: the state decides the row style, these cells carry their own."""
    predictions = dict(model.predictions)
    in_use = model.state == "live"
    return [
        Text(model.model_id),
        Text(model.state, style="" if in_use else "bold"),
        weight_text(model.weight),
        *(prob_text(predictions.get(symbol)) for symbol in symbols),
        metric_text(model.hit_rate, 2),
        metric_text(model.log_loss, 3),
        metric_text(model.brier, 3),
        pnl_text(model.pnl_contribution),
        Text(f"{model.age_days:.1f}" if math.isfinite(model.age_days) else "-"),
        expires_text(model.expires_in_days),
        Text(model.note),
    ]


def signals_renderable(view: ModelsView | None) -> Table | Text:
    """The combined signal per symbol; pure."""
    if view is None:
        return Text(WAITING_MODELS, style="dim italic")
    if not view.enabled:
        return disabled_text(view)
    if not view.signals:
        return Text(NO_SIGNALS, style="dim")
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
    table.add_column("Symbol", style="bold", no_wrap=True)
    table.add_column("P↑", justify="right", no_wrap=True)
    table.add_column("Conf", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("As of", no_wrap=True)
    for signal in view.signals:
        table.add_row(*signal_cells(signal))
    return table


def signal_cells(signal: SignalLine) -> list[Text]:
    # a stale signal is past its horizon: the strategies ignore it, so it is drawn dim
    freshness = Text("fresh", style=GREEN) if signal.fresh else Text("stale", style=f"dim {WARN}")
    return [
        Text(signal.symbol),
        prob_text(signal.prob_up),
        metric_text(signal.confidence, 2),
        freshness,
        Text(format_hms(signal.ts_ns) if signal.ts_ns > 0 else "-", style="dim"),
    ]


def retrain_status(job: RetrainLine) -> Text:
    if not job.finished:
        return Text("running", style=YELLOW)
    if job.ok:
        return Text("ok", style=f"bold {GREEN}")
    return Text("failed", style=f"bold {RED}")


def progress_text(job: RetrainLine, width: int = PROGRESS_BAR_W) -> Text:
    """E.g. "████████            40%"; full and green when it ended well, red when not."""
    fraction = 1.0 if job.finished and job.ok else job.fraction
    colour = YELLOW if not job.finished else GREEN if job.ok else RED
    pct = f"{fraction * 100:>4.0f}%" if math.isfinite(fraction) else "   ?%"
    bar = fraction_bar(fraction, width)
    filled = bar.rstrip(" ")
    out = Text(no_wrap=True)
    out.append(filled, style=colour)
    out.append("░" * (width - len(filled)), style=EMPTY_CELL)
    out.append(f" {pct}")
    return out


def retraining_renderable(view: ModelsView | None, rows: int | None = None) -> Table | Text:
    """The retraining jobs, newest last; only the newest `rows` when given; pure."""
    if view is None:
        return Text(WAITING_MODELS, style="dim italic")
    if not view.enabled:
        return disabled_text(view)
    if not view.retraining:
        return Text(NO_RETRAINING, style="dim")
    jobs = view.retraining if rows is None else view.retraining[-max(1, rows) :]
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
    table.add_column("Model", style="bold", no_wrap=True)
    table.add_column("Reason", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("Stage", no_wrap=True)
    table.add_column("Progress", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("Message", ratio=1, overflow="ellipsis", no_wrap=True)
    for job in jobs:
        table.add_row(
            Text(job.model),
            Text(job.reason),
            Text(job.stage),
            progress_text(job),
            retrain_status(job),
            Text(job.message, style="" if job.ok is not False else RED),
        )
    return table


# --- the panels ------------------------------------------------------------------------


class ModelsPanel(VersionedViewMixin[ModelsView], Widget):
    """Polls `engine.models()`; redraws only when the view's version moved."""

    def fetch_view(self) -> ModelsView:
        return self._engine.models()


class ModelsTable(ModelsPanel):
    """Every model: state, weight, latest P(up) per symbol, rolling metrics, age, note."""

    DEFAULT_CSS = """
    ModelsTable {
        height: auto;
        min-height: 3;
    }
    """

    def render(self) -> Group | Text:
        return models_renderable(self._view)


class SignalsTable(ModelsPanel):
    """The ensemble's combined P(up) and confidence per symbol, fresh or stale."""

    DEFAULT_CSS = """
    SignalsTable {
        height: auto;
        min-height: 2;
    }
    """

    def render(self) -> Table | Text:
        return signals_renderable(self._view)


class RetrainingLog(ModelsPanel):
    """Retraining jobs with a progress bar each, as many of the newest as fit."""

    DEFAULT_CSS = """
    RetrainingLog {
        height: 1fr;
        min-height: 2;
    }
    """

    def on_resize(self) -> None:
        self.refresh()  # how many jobs fit depends on the height

    def render(self) -> Table | Text:
        rows = max(1, self.size.height - 1)  # one line for the header
        return retraining_renderable(self._view, rows)
