"""The screen over the real paper engine: it starts trading, and the kill switch works."""

from __future__ import annotations

from pathlib import Path

from traider.config import load_config
from traider.engine.engine import Engine
from traider.engine.risk.killswitch import KillSwitchFlag
from traider.engine.state.sqlite_store import SQLiteStore
from traider.testing.tui import rendered
from traider.tui import TraiderApp
from traider.tui.widgets import OrderBookWidget, StatusBar
from traider.tui.widgets.order_book import format_price

SIZE = (160, 50)


async def test_real_engine_renders_a_live_book_and_the_kill_switch_halts_it(
    traider_home: Path,
) -> None:
    cfg = load_config(None, {}, environ={})
    engine = Engine(cfg, control_socket=False)
    app = TraiderApp(engine, cfg.tui)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.5)
        assert engine.status().running
        view = engine.book("BTC-USD", 15)
        assert len(view.bids) == 15
        assert len(view.asks) == 15
        first_version = view.version
        text = rendered(app.query_one("#book", OrderBookWidget))
        assert format_price(view.bids[0][0]) in text or engine.book("BTC-USD", 15).version != (
            first_version
        )
        await pilot.pause(0.5)
        assert engine.book("BTC-USD", 15).version > first_version  # the market moves
        assert "PAPER" in rendered(app.query_one(StatusBar))

        # the risk screen fills from the engine's own refresh (worker thread, 1 Hz)
        await pilot.press("r")
        await pilot.pause(1.5)
        risk = engine.risk()
        assert risk.computed_ns is not None
        shown = "\n".join(rendered(w) for w in app.screen.query("VarTable, StressTable"))
        assert "parametric" in shown
        assert "BTC -20%" in shown
        await pilot.press("escape")
        await pilot.pause(0.2)

        await pilot.press("ctrl+k")
        await pilot.pause(0.1)
        await pilot.click("#confirm")
        await pilot.pause(0.3)
        assert engine.kill.is_engaged()
        assert engine.status().kill_switch.source == "tui"
        assert engine.market.open_orders() == []
        assert KillSwitchFlag(traider_home).read() is not None
        orders_at_kill = len(engine.orders.orders)
        await pilot.pause(1.0)
        assert len(engine.orders.orders) == orders_at_kill  # nothing new asked for
        assert "ENGAGED" in rendered(app.query_one(StatusBar))
        await pilot.press("q")
    record = SQLiteStore(cfg.sqlite_path).kill_switch()
    assert record is not None
    assert record.engaged
    assert record.source == "tui"


async def test_real_engine_models_screen_shows_the_live_model(traider_home: Path) -> None:
    from traider.testing.models import register_live

    cfg = load_config(None, {}, environ={})
    engine = Engine(cfg, control_socket=False)
    model_id = register_live(engine)
    app = TraiderApp(engine, cfg.tui)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)
        await pilot.press("m")
        await pilot.pause(1.5)
        shown = "\n".join(rendered(w) for w in app.screen.query("ModelsTable"))
        assert model_id in shown
        assert "live" in shown
        assert engine.models().models[0].state == "live"
        await pilot.press("q")
