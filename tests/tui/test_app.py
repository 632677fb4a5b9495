"""The whole screen against the fake engine, driven with Pilot at 160x50."""

from __future__ import annotations

from decimal import Decimal

from textual.pilot import Pilot
from textual.widgets import Checkbox

from traider.engine.view import PositionView
from traider.testing import FakeEngine, KillSwitchCall
from traider.testing.tui import rendered, until
from traider.tui import TraiderApp
from traider.tui.screens import KillSwitchScreen
from traider.tui.widgets import (
    AlertsLog,
    OrderBookWidget,
    OrdersTable,
    PositionsTable,
    StatusBar,
    TradesTape,
)
from traider.tui.widgets.order_book import format_price

SIZE = (160, 50)


async def settle(pilot: Pilot[None], seconds: float = 0.35) -> None:
    await pilot.pause(seconds)




async def test_starts_the_engine_and_renders_the_book() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert fake.start_calls == 1
        assert app.startup_s is not None
        assert app.startup_s < 5
        book = fake.book("BTC-USD", 15)
        text = rendered(app.query_one("#book", OrderBookWidget))
        assert "BTC-USD" in text
        for price, _ in (*book.bids[:15], *book.asks[:15]):
            assert format_price(price) in text
        assert "spread" in text
        assert "mid" in text
        assert "STALE" not in text


async def test_book_follows_ticks() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        widget = app.query_one("#book", OrderBookWidget)
        old_best_bid = format_price(fake.book("BTC-USD", 1).bids[0][0])
        assert old_best_bid in rendered(widget)
        for _ in range(4):  # the fake moves its mid every 4th tick
            fake.tick()
        await settle(pilot)
        new_book = fake.book("BTC-USD", 15)
        new_best_bid = format_price(new_book.bids[0][0])
        assert new_best_bid != old_best_bid
        text = rendered(widget)
        assert new_best_bid in text
        assert format_price(new_book.asks[0][0]) in text
        # and the tape shows the ticks' trades
        assert "BTC-USD" in rendered(app.query_one("#trades", TradesTape))


async def test_symbol_switching_with_keys() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        widget = app.query_one("#book", OrderBookWidget)
        await pilot.press("right_square_bracket")
        await settle(pilot, 0.15)
        assert widget.symbol == "ETH-USD"
        assert format_price(fake.book("ETH-USD", 1).asks[0][0]) in rendered(widget)
        await pilot.press("3")
        assert widget.symbol == "SOL-USD"
        await pilot.press("left_square_bracket")
        assert widget.symbol == "ETH-USD"
        await pilot.press("9")  # no ninth symbol: nothing happens
        assert widget.symbol == "ETH-USD"


async def test_stale_book_shows_the_indicator() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        widget = app.query_one("#book", OrderBookWidget)
        assert not widget.has_class("stale")
        fake.set_stale("BTC-USD", "gap at seq 77")
        assert await until(pilot, lambda: "STALE" in rendered(widget))
        assert "gap at seq 77" in rendered(widget)
        assert widget.has_class("stale")
        assert await until(pilot, lambda: "BTC-USD ✖" in rendered(app.query_one(StatusBar)))
        fake.set_fresh("BTC-USD")
        assert await until(pilot, lambda: "STALE" not in rendered(widget))


async def test_kill_switch_cancel_is_focused_and_enter_does_not_engage() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+k")
        await settle(pilot, 0.1)
        assert isinstance(app.screen, KillSwitchScreen)
        assert app.focused is not None
        assert app.focused.id == "cancel"
        await pilot.press("ctrl+k")  # pressed again: still one dialog
        assert len(app.screen_stack) == 2
        await pilot.press("enter")
        await settle(pilot, 0.1)
        assert not isinstance(app.screen, KillSwitchScreen)
        assert fake.kill_switch_calls == []
        # escape cancels too
        await pilot.press("ctrl+k")
        await settle(pilot, 0.1)
        await pilot.press("escape")
        await settle(pilot, 0.1)
        assert not isinstance(app.screen, KillSwitchScreen)
        assert fake.kill_switch_calls == []
        assert "ENGAGED" not in rendered(app.query_one(StatusBar))


async def test_kill_switch_confirm_engages_and_status_shows_it() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "armed" in rendered(app.query_one(StatusBar))
        await pilot.press("ctrl+k")
        await settle(pilot, 0.1)
        await pilot.click("#confirm")
        await settle(pilot, 0.2)
        assert fake.kill_switch_calls == [
            KillSwitchCall(reason="operator via TUI", flatten=False, source="tui")
        ]
        assert not isinstance(app.screen, KillSwitchScreen)
        status = rendered(app.query_one(StatusBar))
        assert "ENGAGED" in status
        assert "traider kill --reset" in status
        assert "kill switch ENGAGED" in rendered(app.query_one(AlertsLog))
        await settle(pilot, 0.6)
        assert app.query_one("#orders", OrdersTable).row_count == 0  # fake cancels them


async def test_kill_switch_with_flatten_via_keyboard() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+k")
        await settle(pilot, 0.1)
        await pilot.press("shift+tab")  # from Cancel back to the flatten checkbox
        await pilot.press("space")
        assert app.screen.query_one("#flatten", Checkbox).value is True
        await pilot.press("tab", "tab")  # Cancel, then ENGAGE
        assert app.focused is not None
        assert app.focused.id == "confirm"
        await pilot.press("enter")
        await settle(pilot, 0.2)
        assert fake.kill_switch_calls == [
            KillSwitchCall(reason="operator via TUI", flatten=True, source="tui")
        ]


async def open_palette_command(pilot: Pilot[None], text: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot, 0.2)
    await pilot.press(*text)
    await settle(pilot, 0.5)
    await pilot.press("enter")
    await settle(pilot, 0.3)


async def test_command_palette_reaches_the_kill_switch() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_palette_command(pilot, "Engage kill switch")
        assert isinstance(app.screen, KillSwitchScreen)
        assert app.screen.query_one("#flatten", Checkbox).value is False
        await pilot.press("escape")
        await settle(pilot, 0.1)
        await open_palette_command(pilot, "kill switch and flatten")
        assert isinstance(app.screen, KillSwitchScreen)
        assert app.screen.query_one("#flatten", Checkbox).value is True
        await pilot.click("#confirm")
        await settle(pilot, 0.2)
        assert fake.kill_switch_calls == [
            KillSwitchCall(reason="operator via TUI", flatten=True, source="tui")
        ]


async def test_positions_and_orders_tables_show_the_fake() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        positions = app.query_one("#positions", PositionsTable)
        orders = app.query_one("#orders", OrdersTable)
        assert positions.row_count == 1
        btc = positions.row_texts()["BTC-USD"]
        assert btc[:4] == ("BTC-USD", "0.002", "49,900.00", "50,000.00")
        assert orders.row_count == 2
        assert set(orders.row_texts()) == {o.client_order_id for o in fake.open_orders()}
        text = rendered(orders)
        assert "T1-imb-000001" in text
        assert "ACCEPTED" in text
        # a changed position updates cells in place; a new one adds a row
        fake.set_position(
            PositionView(
                symbol="BTC-USD",
                quantity=Decimal("0.005"),
                avg_price=Decimal("49950"),
                mark_price=Decimal("50000"),
                unrealized_pnl=Decimal("0.25"),
                realized_pnl=Decimal("1.50"),
            )
        )
        fake.set_position(
            PositionView(
                symbol="ETH-USD",
                quantity=Decimal("-0.1"),
                avg_price=Decimal("3000"),
                mark_price=None,
                unrealized_pnl=Decimal("-1"),
                realized_pnl=Decimal("0"),
            )
        )
        await settle(pilot, 0.7)
        assert positions.row_count == 2
        assert positions.row_texts()["BTC-USD"][1] == "0.005"
        assert positions.row_texts()["ETH-USD"][3] == "-"
        assert positions.cell_updates == 3  # qty, avg, unrealized: nothing else touched
        assert "0.005" in rendered(positions)
        fake.remove_position("ETH-USD")
        await settle(pilot, 0.7)
        assert positions.row_count == 1


async def test_alerts_newest_at_the_bottom() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        from traider.engine.core.types import Severity

        fake.add_alert(Severity.WARNING, "risk", "order denied: too big")
        await settle(pilot, 0.7)
        lines = [ln for ln in rendered(app.query_one(AlertsLog)).splitlines() if "│ " in ln]
        content = [ln for ln in lines if ln.strip("│ ")]
        assert "order denied: too big" in content[-1]
        assert "paper engine ready" in content[-3]


async def test_quitting_stops_the_engine() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert fake.stop_calls == 0
        await pilot.press("q")
        await settle(pilot, 0.1)
    assert fake.stop_calls == 1
    assert fake.start_calls == 1


class FailingStart(FakeEngine):
    async def start(self) -> None:
        await super().start()
        raise RuntimeError("venue unreachable")


async def test_engine_start_failure_is_shown_not_fatal() -> None:
    fake = FailingStart()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.is_running
        assert any("venue unreachable" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+k")
        await settle(pilot, 0.1)
        assert isinstance(app.screen, KillSwitchScreen)


async def test_degrades_at_120x40() -> None:
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        widget = app.query_one("#book", OrderBookWidget)
        assert 5 <= widget.visible_depth < 15
        text = rendered(widget)
        book = fake.book("BTC-USD", 1)
        assert format_price(book.bids[0][0]) in text
        assert format_price(book.asks[0][0]) in text
        assert "spread" in text
        assert "PAPER" in rendered(app.query_one(StatusBar))


async def test_keys_are_remappable_by_binding_id() -> None:
    from traider.config import TuiConfig

    fake = FakeEngine()
    app = TraiderApp(fake, TuiConfig(keymap=("kill_switch=ctrl+x",)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+x")
        await settle(pilot, 0.1)
        assert isinstance(app.screen, KillSwitchScreen)
        await pilot.press("escape")
        await settle(pilot, 0.1)
        await pilot.press("ctrl+k")  # the old key no longer opens it
        await settle(pilot, 0.1)
        assert not isinstance(app.screen, KillSwitchScreen)


def test_bad_keymap_entry_names_the_fix() -> None:
    import pytest

    from traider.tui.app import parse_keymap

    assert parse_keymap(("kill_switch=ctrl+x", " risk_screen = f2 ")) == {
        "kill_switch": "ctrl+x", "risk_screen": "f2"}
    with pytest.raises(ValueError, match="binding_id=keys"):
        parse_keymap(("kill_switch",))


async def test_micro_panel_follows_the_book_symbol_and_draws_ofi() -> None:
    from traider.tui.widgets.micro_panel import MicroPanel, sparkline

    assert sparkline([-1.0, 0.0, 1.0]) == "▁▅█"[0] + sparkline([0.0]) + "█"
    fake = FakeEngine()
    app = TraiderApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.query_one("#micro", MicroPanel)
        assert await until(pilot, lambda: "microprice" in rendered(panel))
        assert "+0.25 bps" in rendered(panel)
        for _ in range(5):
            fake.tick()
            await settle(pilot, 0.3)
        assert any(block in rendered(panel) for block in "▁▂▃▄▅▆▇█"), rendered(panel)
        await pilot.press("right_square_bracket")
        assert panel.symbol == fake.symbols[1]
