"""The shared polling of the panels: the timer, the forced first poll and the visibility gate."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.screen import ModalScreen
from textual.widget import Widget

from traider.testing import FakeEngine
from traider.tui.widgets.polling import PollingMixin


class CountingPanel(PollingMixin, Widget):
    fetches = 0

    def fetch_and_update(self) -> None:
        self.fetches += 1


class PanelApp(App[None]):
    def __init__(self, refresh_hz: float) -> None:
        super().__init__()
        self.refresh_hz = refresh_hz

    def compose(self) -> ComposeResult:
        yield CountingPanel(FakeEngine(), refresh_hz=self.refresh_hz, id="panel", classes="x")


async def test_polls_once_on_mount_and_not_at_all_without_a_rate() -> None:
    app = PanelApp(refresh_hz=0)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        panel = app.query_one(CountingPanel)
        assert panel.id == "panel"
        assert panel.has_class("x")
        assert panel._timer is None
        assert panel.fetches == 1
        panel.poll()
        assert panel.fetches == 2


async def test_polls_on_its_timer() -> None:
    app = PanelApp(refresh_hz=50)
    async with app.run_test() as pilot:
        await pilot.pause(0.3)
        assert app.query_one(CountingPanel).fetches > 3


async def test_skips_under_a_modal_unless_forced() -> None:
    app = PanelApp(refresh_hz=0)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        panel = app.query_one(CountingPanel)
        await app.push_screen(ModalScreen[None]())
        await pilot.pause()
        before = panel.fetches
        panel.poll()
        assert panel.fetches == before
        panel.poll(force=True)
        assert panel.fetches == before + 1
