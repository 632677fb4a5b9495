"""The risk screen (`r`) against the fake engine, driven with Pilot at 160x50."""

from __future__ import annotations

import dataclasses

from rich.color import Color
from rich.console import Console
from rich.style import Style
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen

from traider.engine.view import LimitUse, RiskView, StressLine, VarLine
from traider.testing import FakeEngine
from traider.testing.tui import colour_of, rendered
from traider.tui import TraiderApp
from traider.tui.screens import KillSwitchScreen, RiskScreen
from traider.tui.widgets import (
    CorrelationHeatmap,
    DenialsLog,
    LimitBars,
    OrderBookWidget,
    StressTable,
    VarTable,
)
from traider.tui.widgets.correlation_heatmap import (
    BLUE,
    NEUTRAL,
    RED,
    cell_style,
    correlation_colour,
    heatmap_text,
    is_emphasised,
)
from traider.tui.widgets.limit_bars import bar_cells, format_use, limit_colour, limit_line
from traider.tui.widgets.order_book import format_price
from traider.tui.widgets.risk_panel import GREEN, WAITING, YELLOW, format_usd
from traider.tui.widgets.risk_panel import RED as RED_TEXT

SIZE = (160, 50)
FAST = 10.0  # risk panels poll at 10 Hz in these tests, so a short pause sees a new view




def rgb(colour: str) -> Color:
    return Color.parse(colour)


async def settle(pilot: Pilot[None], seconds: float = 0.35) -> None:
    await pilot.pause(seconds)


async def open_risk(pilot: Pilot[None]) -> RiskScreen:
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot, 0.4)
    screen = pilot.app.screen
    assert isinstance(screen, RiskScreen)
    return screen


def changed_view(fake: FakeEngine, **changes: object) -> RiskView:
    """The fake's risk view with `changes` and the next version."""
    base = fake.risk()
    return dataclasses.replace(base, version=base.version + 1, **changes)  # type: ignore[arg-type]


async def test_r_shows_every_risk_panel_with_the_fakes_numbers() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)  # default 1 Hz: the first poll on mount already draws
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_risk(pilot)
        view = fake.risk()

        var = rendered(screen.query_one("#var", VarTable))
        assert "VaR 95% 1d" in var
        for line in view.var:
            assert line.method in var
            assert format_usd(line.var_usd) in var
            assert format_usd(line.es_usd) in var
        assert "41.00" in var
        assert "51.50" in var
        assert "history fake" in var
        assert "computed 22:13:20 UTC" in var  # BASE_TS_NS = 2023-11-14 22:13:20 UTC
        assert WAITING not in var

        limits = screen.query_one("#limits", LimitBars)
        text = rendered(limits)
        assert "VaR 95% 1d" in text
        assert "82%" in text
        assert "41.00 / 50.00 USD" in text
        assert "20%" in text
        assert "20.00 / 100.00 USD" in text
        assert colour_of(limits, "82%", "█") == rgb(YELLOW)
        assert colour_of(limits, "82%", "82%") == rgb(YELLOW)
        assert colour_of(limits, "20%", "█") == rgb(GREEN)

        heat = rendered(screen.query_one("#heatmap", CorrelationHeatmap))
        lines = [line.strip("│ ") for line in heat.splitlines()]
        top = next(i for i, line in enumerate(lines) if "BTC-USD" in line)
        header = lines[top].split()
        assert header == list(view.correlation_symbols)  # column labels
        for i, sym in enumerate(view.correlation_symbols):
            cells = lines[top + 1 + i].split()
            assert cells == [sym, *(f"{rho:.2f}" for rho in view.correlation[i])]
        assert "0.75" in heat

        stress = rendered(screen.query_one("#stress", StressTable))
        assert "BTC -20%, correlations 1" in stress
        assert "-310.00" in stress
        assert "daily loss" in stress
        assert colour_of(screen.query_one("#stress"), "-310.00", "-310.00") == rgb(RED_TEXT)

        denials = rendered(screen.query_one("#denials", DenialsLog))
        assert "VaR limit: 52.10 USD > 50.00 USD" in denials


async def test_a_new_risk_view_updates_the_screen_and_the_same_version_does_not() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake, risk_refresh_hz=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_risk(pilot)
        var = screen.query_one("#var", VarTable)
        limits = screen.query_one("#limits", LimitBars)
        redraws = var.redraws
        assert redraws == 1

        # same version, different numbers: the panels do not redraw (they trust the version)
        fake.risk_view = dataclasses.replace(
            fake.risk(), var=(VarLine("parametric", 999.0, 999.5),)
        )
        await settle(pilot, 0.4)
        assert var.redraws == redraws
        assert "999.00" not in rendered(var)

        fake.risk_view = changed_view(
            fake,
            var=(VarLine("parametric", 62.5, 80.25), VarLine("cornish-fisher", 1234.5, 2000.0)),
            limits=(
                LimitUse("VaR 95% 1d", 62.5, 50.0, "USD"),
                LimitUse("drawdown", 3.0, 10.0, "%"),
            ),
            correlation_symbols=("BTC-USD", "ETH-USD"),
            correlation=((1.0, -0.35), (-0.35, 1.0)),
            stress=(
                StressLine("ETH -30%", -125.0, ()),
                StressLine("vol x3", 12.0, ("VaR 95% 1d", "drawdown")),
            ),
            denials=("first reason", "daily loss: 120.00 USD > 100.00 USD"),
        )
        await settle(pilot, 0.4)
        assert var.redraws == redraws + 1
        text = rendered(var)
        assert "62.50" in text
        assert "80.25" in text
        assert "cornish-fisher" in text
        assert "1,234.50" in text
        assert "999.00" not in text

        lim = rendered(limits)
        assert "125%" in lim  # the overflow is the number; the bar stops at 100%
        assert "62.50 / 50.00 USD" in lim
        assert "3.00 / 10.00 %" in lim
        assert colour_of(limits, "125%", "█") == rgb(RED_TEXT)
        assert colour_of(limits, "125%", "125%") == rgb(RED_TEXT)
        assert colour_of(limits, "30%", "█") == rgb(GREEN)
        bar_line = next(line for line in lim.splitlines() if "125%" in line)
        assert "░" not in bar_line  # full bar, nothing left empty

        heat = rendered(screen.query_one("#heatmap", CorrelationHeatmap))
        assert "-0.35" in heat
        assert "SOL-USD" not in heat
        assert "0.75" not in heat

        stress = rendered(screen.query_one("#stress", StressTable))
        assert "ETH -30%" in stress
        assert "-125.00" in stress
        assert "+12.00" in stress
        assert "VaR 95% 1d, drawdown" in stress
        assert "none" in stress

        denials = rendered(screen.query_one("#denials", DenialsLog))
        assert "daily loss: 120.00 USD > 100.00 USD" in denials
        assert "VaR limit: 52.10" not in denials


async def test_escape_and_r_go_back_and_the_main_panels_poll_again() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.screen
        book = app.query_one("#book", OrderBookWidget)
        old_bid = format_price(fake.book("BTC-USD", 1).bids[0][0])
        assert old_bid in rendered(book)

        risk = await open_risk(pilot)
        frames = book.frames
        for _ in range(4):  # the fake moves its mid every 4th tick
            fake.tick()
        await settle(pilot, 0.5)
        assert book.frames == frames  # hidden: the book is not polled

        await pilot.press("escape")
        await settle(pilot, 0.3)
        assert app.screen is main
        assert book.frames > frames  # polled again
        new_bid = format_price(fake.book("BTC-USD", 1).bids[0][0])
        assert new_bid != old_bid
        assert new_bid in rendered(book)

        # hidden, the risk screen's panels skip their polls; shown again, they catch up
        var = risk.query_one("#var", VarTable)
        redraws = var.redraws
        fake.risk_view = changed_view(fake, var=(VarLine("historical", 77.0, 88.0),))
        risk.query_one("#limits", LimitBars).poll()
        var.poll()
        assert var.redraws == redraws
        await pilot.press("r")
        await settle(pilot, 0.2)
        assert app.screen is risk  # the same screen, kept while hidden
        assert var.redraws == redraws + 1
        assert "77.00" in rendered(var)

        await pilot.press("r")
        await settle(pilot, 0.2)
        assert app.screen is main
        assert len(app.screen_stack) == 1


async def test_symbol_keys_on_the_risk_screen_still_drive_the_book() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        book = app.query_one("#book", OrderBookWidget)
        await open_risk(pilot)
        await pilot.press("2")
        await settle(pilot, 0.1)
        assert isinstance(app.screen, RiskScreen)
        assert book.symbol == "ETH-USD"
        await pilot.press("escape")
        await settle(pilot, 0.3)
        assert "ETH-USD" in rendered(book)


async def test_command_palette_shows_risk() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot, 0.2)
        await pilot.press(*"Show risk")
        await settle(pilot, 0.5)
        await pilot.press("enter")
        await settle(pilot, 0.4)
        assert isinstance(app.screen, RiskScreen)
        assert "41.00" in rendered(app.screen.query_one("#var", VarTable))
        await pilot.press("escape")
        await settle(pilot, 0.2)
        assert not isinstance(app.screen, RiskScreen)


async def test_r_under_the_kill_switch_dialog_does_nothing_and_ctrl_k_works_on_risk() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+k")
        await settle(pilot, 0.1)
        await pilot.press("r")
        await settle(pilot, 0.1)
        assert isinstance(app.screen, KillSwitchScreen)
        await pilot.press("escape")
        await settle(pilot, 0.1)
        assert type(app.screen) is Screen

        await open_risk(pilot)
        await pilot.press("ctrl+k")
        await settle(pilot, 0.1)
        assert isinstance(app.screen, KillSwitchScreen)
        await pilot.click("#confirm")
        await settle(pilot, 0.2)
        assert isinstance(app.screen, RiskScreen)
        assert len(fake.kill_switch_calls) == 1


async def test_waiting_text_before_the_first_risk_refresh() -> None:
    fake = FakeEngine()
    fake.risk_view = RiskView(0, None, 0.95, 1, "", (), (), (), (), (), ())
    app = TraiderApp(fake, risk_refresh_hz=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_risk(pilot)
        var = screen.query_one("#var", VarTable)
        assert WAITING in rendered(var)
        assert "computed" not in rendered(var)
        assert WAITING in rendered(screen.query_one("#heatmap", CorrelationHeatmap))
        assert WAITING in rendered(screen.query_one("#limits", LimitBars))
        assert WAITING in rendered(screen.query_one("#stress", StressTable))
        assert "no orders denied" in rendered(screen.query_one("#denials", DenialsLog))

        fake.risk_view = dataclasses.replace(FakeEngine.risk_view, version=2)
        await settle(pilot, 0.4)
        assert WAITING not in rendered(var)
        assert "41.00" in rendered(var)


# --- pure functions ------------------------------------------------------------------------


def test_heatmap_colour_scale() -> None:
    assert correlation_colour(-1.0) == Color.from_rgb(*BLUE)
    assert correlation_colour(0.0) == Color.from_rgb(*NEUTRAL)
    assert correlation_colour(1.0) == Color.from_rgb(*RED)
    assert correlation_colour(5.0) == correlation_colour(1.0)  # clamped
    assert correlation_colour(float("nan")) == Color.from_rgb(*NEUTRAL)
    half_red = correlation_colour(0.5).get_truecolor()
    half_blue = correlation_colour(-0.5).get_truecolor()
    assert NEUTRAL[0] < half_red.red < RED[0]
    assert NEUTRAL[2] < half_blue.blue < BLUE[2]
    assert half_red.blue < NEUTRAL[2] or half_red.red > half_red.blue


def test_heatmap_emphasis_above_the_correlation_limit() -> None:
    assert is_emphasised(0.75)
    assert is_emphasised(-0.8)
    assert not is_emphasised(0.7)
    assert not is_emphasised(-0.69)
    assert not is_emphasised(float("nan"))
    assert cell_style(0.75).bold
    assert cell_style(-0.9).bold
    assert not cell_style(0.7).bold
    assert not cell_style(0.2).bold
    assert not cell_style(1.0, diagonal=True).bold
    assert cell_style(0.5, limit=0.4).bold
    assert cell_style(-1.0).bgcolor == Color.from_rgb(*BLUE)


def test_heatmap_text_styles_each_cell() -> None:
    text = heatmap_text(FakeEngine.risk_view)
    plain = text.plain

    def style_at(value: str, occurrence: int = 0) -> Style:
        start = -1
        for _ in range(occurrence + 1):
            start = plain.index(value, start + 1)
        return text.get_style_at_offset(Console(), start)

    assert style_at("0.75").bold
    assert style_at("0.80").bold
    assert not style_at("0.70").bold  # exactly at the limit: not above it
    assert not style_at("1.00").bold  # the diagonal
    assert style_at("0.75").bgcolor == correlation_colour(0.75)


def test_limit_line_colours_and_clamps() -> None:
    assert limit_colour(0.0) == GREEN
    assert limit_colour(0.69) == GREEN
    assert limit_colour(0.7) == YELLOW
    assert limit_colour(0.99) == YELLOW
    assert limit_colour(1.0) == RED_TEXT
    assert limit_colour(3.0) == RED_TEXT
    assert bar_cells(0.5, 20) == 10
    assert bar_cells(1.25, 20) == 20
    assert bar_cells(-0.2, 20) == 0
    assert bar_cells(float("nan"), 20) == 0
    over = LimitUse("BTC-USD size", 1500.0, 1000.0, "USD")
    assert format_use(over) == "1,500.00 / 1,000.00 USD"
    line = limit_line(over, 80)
    assert "150%" in line.plain
    assert "░" not in line.plain
    assert line.cell_len <= 80
    assert limit_line(LimitUse("zero", 1.0, 0.0, "USD"), 80).plain.count("█") == 0


def test_heatmap_lists_correlated_clusters_with_their_exposure() -> None:
    view = dataclasses.replace(
        FakeEngine.risk_view,
        clusters=("ETH-USD + SOL-USD: net 250.00 USD, gross 250.00 USD",),
    )
    text = heatmap_text(view, limit=0.7).plain
    assert "clusters (|ρ| > 0.70)" in text
    assert "ETH-USD + SOL-USD: net 250.00 USD, gross 250.00 USD" in text
    assert "clusters" not in heatmap_text(FakeEngine.risk_view, limit=0.7).plain


async def test_risk_screen_shows_the_health_checks() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("r")
        await pilot.pause(0.5)
        panel = app.screen.query_one("#health")
        w, h = panel.outer_size
        text = "\n".join(s.text for s in panel.render_lines(Region(0, 0, w, h)))
        assert "loop_lag" in text
        assert "WARN" in text
        assert "p99 25.0 ms" in text
