"""Approving a candidate from the models screen: `a`, pick, Approve (Cancel focused)."""

from __future__ import annotations

import dataclasses

from traider.config import TuiConfig
from traider.engine.view import EMPTY_MODELS
from traider.testing import FakeEngine
from traider.testing.tui import rendered
from traider.tui import TraiderApp
from traider.tui.screens.approve_model import ApproveModelScreen
from traider.tui.screens.models import ModelsScreen
from traider.tui.widgets.candidates_panel import CandidatesTable

SIZE = (160, 50)


async def _models_screen(app: TraiderApp, pilot) -> ModelsScreen:  # type: ignore[no-untyped-def]
    await pilot.pause(0.3)
    await pilot.press("m")
    await pilot.pause(0.5)
    assert isinstance(app.screen, ModelsScreen)
    return app.screen


async def test_candidates_are_listed_with_their_out_of_sample_numbers() -> None:
    app = TraiderApp(FakeEngine(), TuiConfig(operator="alice"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _models_screen(app, pilot)
        text = rendered(screen.query_one(CandidatesTable))
        line = next(x for x in text.splitlines() if "xgboost-3" in x)
        assert "candidate" in line
        assert "0.509 [0.492, 0.525]" in line
        assert "scheduler" in line
        assert "reports/train-xgboost-3.md" in line
        assert "approved" in next(x for x in text.splitlines() if "lstm-2" in x)


async def test_enter_on_the_dialog_cancels_and_approve_records_the_operator() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake, TuiConfig(operator="alice"))
    async with app.run_test(size=SIZE) as pilot:
        await _models_screen(app, pilot)
        await pilot.press("a")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ApproveModelScreen)
        # only candidates are offered (lstm-2 is already approved)
        assert app.screen.selected() == "xgboost-3"
        await pilot.press("enter")  # Cancel has the focus: a stray Enter does nothing
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ApproveModelScreen)
        assert fake.approvals == []

        await pilot.press("a")
        await pilot.pause(0.2)
        await pilot.click("#confirm")
        await pilot.pause(0.2)
        assert fake.approvals == [("xgboost-3", "alice")]
        assert isinstance(app.screen, ModelsScreen)


async def test_a_refused_approval_is_shown_not_swallowed() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake, TuiConfig(operator="scheduler"))  # an automated actor
    async with app.run_test(size=SIZE) as pilot:
        await _models_screen(app, pilot)
        await pilot.press("a")
        await pilot.pause(0.2)
        await pilot.click("#confirm")
        await pilot.pause(0.3)
        assert fake.approvals == []
        messages = [n.message for n in app._notifications]
        assert any("human operator" in m for m in messages)


async def test_nothing_to_approve_says_so() -> None:
    fake = FakeEngine()
    fake.models_view = dataclasses.replace(EMPTY_MODELS, enabled=True, version=5)
    app = TraiderApp(fake, TuiConfig(operator="alice"))
    async with app.run_test(size=SIZE) as pilot:
        await _models_screen(app, pilot)
        await pilot.press("a")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ModelsScreen)
        assert any("no candidate" in n.message for n in app._notifications)


async def test_the_dialog_shows_the_verdict_and_a_store_error_keeps_the_app() -> None:
    fake = FakeEngine()

    def store_down(model_id: str, by: str) -> str:
        raise RuntimeError("store unavailable: database is locked")

    fake.approve_model = store_down  # type: ignore[method-assign]
    app = TraiderApp(fake, TuiConfig(operator="alice"))
    async with app.run_test(size=SIZE) as pilot:
        await _models_screen(app, pilot)
        await pilot.press("a")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ApproveModelScreen)
        shown = rendered(app.screen.query_one("#candidates"))
        assert "No evidence of skill" in shown
        await pilot.click("#confirm")
        await pilot.pause(0.3)
        assert app.is_running
        assert any("store unavailable" in n.message for n in app._notifications)
