"""The models screen (`m`) against the fake engine, driven with Pilot at 160x50."""

from __future__ import annotations

import dataclasses

from rich.color import Color
from rich.console import Console
from textual.pilot import Pilot

from traider.config import TuiConfig
from traider.engine.view import EMPTY_MODELS, ModelLine, ModelsView, RetrainLine, SignalLine
from traider.testing import FakeEngine
from traider.testing.tui import colour_of, rendered, until
from traider.tui import TraiderApp
from traider.tui.screens.models import ModelsScreen
from traider.tui.screens.risk import RiskScreen
from traider.tui.widgets import OrderBookWidget
from traider.tui.widgets.models_panels import (
    MODELS_OFF,
    NO_RETRAINING,
    NO_SIGNALS,
    WARN,
    ModelsTable,
    RetrainingLog,
    SignalsTable,
    fraction_bar,
    models_renderable,
    prob_text,
    progress_text,
    weight_text,
)
from traider.tui.widgets.risk_panel import GREEN, RED

SIZE = (160, 50)
FAST = 10.0  # the models panels poll at 10 Hz in these tests, so a short pause sees a new view
NO_LIVE_MODEL = "no live model: train, approve and promote one"






async def open_models(pilot: Pilot[None]) -> ModelsScreen:
    await pilot.pause(0.3)
    await pilot.press("m")
    assert await until(pilot, lambda: isinstance(pilot.app.screen, ModelsScreen))
    screen = pilot.app.screen
    assert isinstance(screen, ModelsScreen)
    table = screen.query_one("#models-table", ModelsTable)
    assert await until(pilot, lambda: table.view is not None)
    await pilot.pause(0.1)  # let the first draw land
    return screen


def panels(screen: ModelsScreen) -> tuple[ModelsTable, SignalsTable, RetrainingLog]:
    return (
        screen.query_one("#models-table", ModelsTable),
        screen.query_one("#signals", SignalsTable),
        screen.query_one("#retraining", RetrainingLog),
    )


def next_view(fake: FakeEngine, **changes: object) -> ModelsView:
    """The fake's models view with `changes` and the next version."""
    base = fake.models()
    return dataclasses.replace(base, version=base.version + 1, **changes)  # type: ignore[arg-type]


async def test_m_shows_the_models_signal_and_retraining_with_the_fakes_numbers() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)  # default rate: the first poll on the screen's mount draws
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        models, signals, retraining = panels(screen)

        text = rendered(models)
        assert "2 live of 3 models" in text
        assert "1,234 bars recorded" in text
        assert "P↑ BTC-USD" in text
        assert "P↑ ETH-USD" in text
        xgb = next(line for line in text.splitlines() if "xgboost-2" in line)
        assert "████▍    0.55" in xgb  # 0.55 of 8 cells: 4 full, 3/8 of the fifth
        for number in ("0.61", "0.48", "0.54", "0.689", "0.248", "+1.25", "3.0", "27.0"):
            assert number in xgb
        mom = next(line for line in text.splitlines() if "momentum-1" in line)
        for number in ("0.45", "0.52", "0.50", "0.51", "0.693", "0.250", "-0.50", "10.0", "20.0"):
            assert number in mom
        lstm = next(line for line in text.splitlines() if "lstm-1" in line)
        assert "expired" in lstm
        assert "expired: trained 31.0 days ago, max age 30.0 days" in lstm
        assert "█" not in lstm  # weight 0: no bar
        assert "-1.0" in lstm
        # the expired model's row is drawn as a warning; a live one is not
        assert colour_of(models, "lstm-1", "lstm-1") == Color.parse(WARN)
        assert colour_of(models, "xgboost-2", "xgboost-2") != Color.parse(WARN)
        assert colour_of(models, "xgboost-2", "0.61") == Color.parse(GREEN)
        assert colour_of(models, "xgboost-2", "0.48") == Color.parse(RED)

        sig = rendered(signals)
        btc = next(line for line in sig.splitlines() if "BTC-USD" in line)
        eth = next(line for line in sig.splitlines() if "ETH-USD" in line)
        assert all(part in btc for part in ("0.57", "0.14", "fresh")), btc
        assert "stale" not in btc
        assert all(part in eth for part in ("0.49", "0.02", "stale")), eth
        assert "fresh" not in eth
        assert "22:13:20" in btc  # BASE_TS_NS = 2023-11-14 22:13:20 UTC

        jobs = rendered(retraining)
        job = next(line for line in jobs.splitlines() if "epoch 4/10" in line)
        assert all(part in job for part in ("lstm", "expired", "fit", "40%", "running")), job
        assert "████████░░░░░░░░░░░░" in job  # 0.4 of 20 cells


async def test_a_new_version_updates_the_screen_and_the_same_version_does_not() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake, risk_refresh_hz=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        models, signals, retraining = panels(screen)
        redraws = models.redraws
        assert redraws == 1

        # same version, different numbers: the panels trust the version and do not redraw
        xgb, mom, lstm = fake.models().models
        fake.models_view = dataclasses.replace(
            fake.models(), models=(dataclasses.replace(xgb, weight=0.9), mom, lstm)
        )
        await pilot.pause(0.4)
        assert models.redraws == redraws
        assert "0.90" not in rendered(models)

        fake.models_view = next_view(
            fake,
            models=(
                dataclasses.replace(xgb, weight=0.8, predictions=(("BTC-USD", 0.7),)),
                dataclasses.replace(mom, weight=0.2, predictions=(("BTC-USD", 0.52),)),
                dataclasses.replace(lstm, state="failed", note="predict raised ValueError"),
            ),
            signals=(SignalLine("BTC-USD", 0.66, 0.31, 0, True),),
            retraining=(
                RetrainLine(
                    "rt-1", "lstm", "done", 1.0, "registered lstm-2", "expired", True, True
                ),
                RetrainLine("rt-2", "xgboost", "fit", 0.3, "boom", "drift", True, False),
            ),
        )
        assert await until(pilot, lambda: models.redraws == redraws + 1)
        await pilot.pause(0.1)
        text = rendered(models)
        assert "██████▍  0.80" in next(line for line in text.splitlines() if "xgboost-2" in line)
        assert "█▋       0.20" in next(line for line in text.splitlines() if "momentum-1" in line)
        assert "0.55" not in text
        assert "0.45" not in text
        assert "0.90" not in text
        assert "P↑ ETH-USD" not in text  # no model predicts it any more
        assert "predict raised ValueError" in text
        assert colour_of(models, "lstm-1", "failed") == Color.parse(RED)

        sig = rendered(signals)
        assert "0.66" in sig
        assert "0.31" in sig
        assert "ETH-USD" not in sig

        jobs = rendered(retraining)
        done = next(line for line in jobs.splitlines() if "registered lstm-2" in line)
        assert "100%" in done
        assert " ok " in done
        assert "░" not in done
        failed = next(line for line in jobs.splitlines() if "boom" in line)
        assert all(part in failed for part in ("failed", "30%", "drift")), failed
        assert colour_of(retraining, "boom", "failed") == Color.parse(RED)
        assert "epoch 4/10" not in jobs
        assert "running" not in jobs


async def test_no_live_model_shows_the_views_note() -> None:
    fake = FakeEngine()
    fake.models_view = ModelsView(3, True, (), (), (), 0, NO_LIVE_MODEL)
    app = TraiderApp(fake, risk_refresh_hz=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        models, signals, retraining = panels(screen)
        assert NO_LIVE_MODEL in rendered(models)
        assert "xgboost-2" not in rendered(models)
        assert NO_SIGNALS in rendered(signals)
        assert NO_RETRAINING in rendered(retraining)

        # a model is promoted: the note gives way to the table
        fake.models_view = dataclasses.replace(FakeEngine.models_view, version=4)
        assert await until(pilot, lambda: "xgboost-2" in rendered(models))
        assert NO_LIVE_MODEL not in rendered(models)


async def test_models_disabled_shows_models_off_in_every_panel() -> None:
    fake = FakeEngine()
    fake.models_view = EMPTY_MODELS
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        for panel in panels(screen):
            assert MODELS_OFF in rendered(panel)
        assert "bars recorded" not in rendered(screen.query_one("#models-table"))


async def test_escape_and_m_go_back_and_the_hidden_screen_skips_its_polls() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake, risk_refresh_hz=FAST)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        main = app.screen
        book = app.query_one("#book", OrderBookWidget)
        screen = await open_models(pilot)
        frames = book.frames
        for _ in range(4):  # the fake moves its mid every 4th tick
            fake.tick()
        await pilot.pause(0.4)
        assert book.frames == frames  # the main screen is hidden: its book is not polled

        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is main)
        assert await until(pilot, lambda: book.frames > frames)  # caught up at once

        models = screen.query_one("#models-table", ModelsTable)
        redraws = models.redraws
        fake.models_view = next_view(fake, bars=4321)
        await pilot.pause(0.4)
        models.poll()
        assert models.redraws == redraws  # hidden: no polls

        await pilot.press("m")
        assert await until(pilot, lambda: app.screen is screen)  # the same screen, kept
        assert await until(pilot, lambda: models.redraws == redraws + 1)
        await pilot.pause(0.1)
        assert "4,321 bars recorded" in rendered(models)

        await pilot.press("m")
        assert await until(pilot, lambda: app.screen is main)
        assert len(app.screen_stack) == 1


async def test_m_on_the_risk_screen_does_not_stack_the_models_screen() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("r")
        assert await until(pilot, lambda: isinstance(app.screen, RiskScreen))
        await pilot.press("m")
        await pilot.pause(0.2)
        assert isinstance(app.screen, RiskScreen)
        assert not any(isinstance(s, ModelsScreen) for s in app.screen_stack)


async def test_command_palette_shows_models() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Show models")
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        table = app.screen.query_one("#models-table", ModelsTable)
        assert await until(pilot, lambda: "xgboost-2" in rendered(table))
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, ModelsScreen))


async def test_models_screen_key_is_remappable_by_binding_id() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake, TuiConfig(keymap=("models_screen=f3",)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("m")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ModelsScreen)
        await pilot.press("f3")
        assert await until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        await pilot.press("f3")
        assert await until(pilot, lambda: not isinstance(app.screen, ModelsScreen))


# --- pure functions ------------------------------------------------------------------------


def test_fraction_bar_is_exact_to_the_eighth_and_clamped() -> None:
    assert fraction_bar(0.55, 8) == "████▍   "
    assert fraction_bar(0.0, 8) == " " * 8
    assert fraction_bar(1.0, 8) == "█" * 8
    assert fraction_bar(1.7, 8) == "█" * 8
    assert fraction_bar(-0.3, 8) == " " * 8
    assert fraction_bar(float("nan"), 8) == " " * 8
    assert fraction_bar(0.5, 0) == ""
    assert all(len(fraction_bar(f / 100, 20)) == 20 for f in range(101))
    assert weight_text(0.55).plain == "████▍    0.55"


def test_prob_and_progress_texts() -> None:
    assert prob_text(float("nan")).plain == "n/a"
    assert prob_text(None).plain == "-"
    assert prob_text(0.5).plain == "0.50"
    running = RetrainLine("j", "m", "fit", 0.25, "", "drift", False, None)
    assert progress_text(running, 8).plain == "██░░░░░░   25%"
    ok = dataclasses.replace(running, finished=True, ok=True, fraction=0.9)
    assert progress_text(ok, 8).plain == "████████  100%"  # ended well: full, whatever it said
    failed = dataclasses.replace(running, finished=True, ok=False)
    assert progress_text(failed, 8).plain == "██░░░░░░   25%"  # where it stopped


def test_a_failed_prediction_shows_as_n_a() -> None:
    model = ModelLine(
        "m-1", "m", "live", 1.0, (("BTC-USD", float("nan")),), None, None, None, 0.0, 1.0, 29.0
    )
    view = ModelsView(1, True, (model,), (), (), 10)
    table = models_renderable(view)
    console = Console(width=160, record=True)
    console.print(table)
    text = console.export_text()
    assert "n/a" in text
    assert "1 live of 1 models" in text


def test_the_summary_counts_vetoed_entries() -> None:
    from traider.tui.widgets.models_panels import summary_text

    view = FakeEngine.models_view
    assert "vetoed" not in summary_text(view).plain
    assert "12 entries vetoed" in summary_text(dataclasses.replace(view, vetoes=12)).plain
