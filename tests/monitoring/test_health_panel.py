"""HealthPanel in a tiny app: one line per check, redraws only when the checks change."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import App, ComposeResult

from traider.engine.monitoring.config import MonitoringConfig
from traider.engine.monitoring.health import (
    FeedInput,
    HealthInputs,
    HealthLevel,
    HealthReport,
    evaluate,
)
from traider.testing import FakeEngine
from traider.tui.widgets.health_panel import HealthPanel, badge

T = 1_700_000_000_000_000_000


@dataclass
class Source:
    inputs: HealthInputs | None = field(
        default_factory=lambda: HealthInputs(ts_ns=T, feeds=(FeedInput("BTC-USD", 5.0),))
    )
    calls: int = 0

    def __call__(self) -> HealthReport | None:
        self.calls += 1
        return None if self.inputs is None else evaluate(self.inputs, MonitoringConfig())


class PanelApp(App[None]):
    def __init__(self, source: Source, refresh_hz: float = 0) -> None:
        super().__init__()
        self.source = source
        self.refresh_hz = refresh_hz

    def compose(self) -> ComposeResult:
        yield HealthPanel(FakeEngine(), self.source, refresh_hz=self.refresh_hz, id="health")


def text_of(panel: HealthPanel) -> str:
    return "\n".join(line.text for line in panel.render_lines(panel.region.reset_offset))


async def test_renders_one_line_per_check_with_a_badge() -> None:
    app = PanelApp(Source())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        panel = app.query_one(HealthPanel)
        assert panel.report is not None
        assert panel.report.level is HealthLevel.OK
        last = panel.report.checks[-1].name
        for _ in range(100):  # the panel grows to fit after its first report: wait for it
            if last in text_of(panel):
                break
            await pilot.pause(0.05)
        text = text_of(panel)
        assert "Health" in text
        for check in panel.report.checks:
            assert check.name in text
        assert "feed:BTC-USD" in text
        assert " OK " in text


async def test_redraws_only_when_the_checks_change() -> None:
    source = Source()
    app = PanelApp(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        panel = app.query_one(HealthPanel)
        assert panel.redraws == 1
        assert source.inputs is not None
        source.inputs = HealthInputs(ts_ns=T + 1, feeds=source.inputs.feeds)  # time only
        panel.poll(force=True)
        assert panel.redraws == 1
        source.inputs = HealthInputs(
            ts_ns=T + 2,
            feeds=source.inputs.feeds,
            kill_switch_engaged=True,
            kill_switch_reason="operator halt",
            disk_free_mb=50.0,
        )
        panel.poll(force=True)
        await pilot.pause()
        assert panel.redraws == 2
        assert panel.report is not None
        assert panel.report.level is HealthLevel.CRIT
        text = text_of(panel)
        assert "CRIT" in text
        assert "ENGAGED: operator halt" in text
        assert "WARN" in text


async def test_waits_for_the_first_report() -> None:
    source = Source(inputs=None)
    app = PanelApp(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        panel = app.query_one(HealthPanel)
        assert panel.report is None
        assert panel.redraws == 0
        assert "waiting" in text_of(panel)


async def test_polls_about_once_a_second_by_default() -> None:
    source = Source()
    app = PanelApp(source, refresh_hz=20)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.4)
        assert source.calls >= 3
    default = HealthPanel(FakeEngine(), source)
    assert default._refresh_hz == 1.0


def test_badges_are_coloured_by_level() -> None:
    styles = {str(badge(level).style) for level in HealthLevel}
    assert len(styles) == 3
    assert badge(HealthLevel.CRIT).plain.strip() == "CRIT"
