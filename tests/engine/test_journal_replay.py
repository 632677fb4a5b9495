"""Replaying the journal rebuilds exactly the state the engine had."""

from __future__ import annotations

from decimal import Decimal

from traider.engine.core.clock import SimClock
from traider.engine.engine import Engine
from traider.engine.state.sqlite_store import SQLiteStore
from traider.testing.engine import make_config, run_steps

BUSY = {
    "strategy.cooldown_s": "0.2",
    "strategy.max_holding_s": "1.5",
    "strategy.entry_imbalance": "0.05",
    "strategy.aggressive_imbalance": "0.9",  # mostly passive: orders rest at the end
    "strategy.order_notional_usd": "60",
    "risk.max_orders_per_second": "50",
    "risk.daily_loss_limit_pct": "50",
}


def state_of(engine: Engine) -> tuple[object, ...]:
    pf = engine.portfolio
    positions = {s: (p.quantity, p.cost_basis, p.realized_pnl) for s, p in pf.positions.items()}
    orders = {
        cid: (o.status, o.filled_qty, o.avg_fill_price, o.venue_order_id)
        for cid, o in engine.orders.orders.items()
    }
    return pf.cash, pf.fees, pf.fill_count, positions, orders, sorted(engine.orders.open_ids)


def test_replay_reproduces_positions_cash_and_orders() -> None:
    clock = SimClock()
    live = Engine(make_config(**BUSY), clock=clock, control_socket=False)
    live.boot()
    run_steps(live, clock, seconds=150)
    journal = list(SQLiteStore(live.config.sqlite_path).journal())
    fills = sum(type(e).__name__ == "OrderFilled" for _, e in journal)
    assert fills >= 30, f"the run should trade enough to mean something, got {fills} fills"
    assert len(journal) >= 500  # ~65k market events drove ~950 journaled order events
    assert live.orders.open_ids, "some orders should still be open at the end"
    expected = state_of(live)

    rebuilt = Engine(make_config(**BUSY), clock=clock, control_socket=False)
    rebuilt.restore()  # replay only: no reconciliation, no market
    assert state_of(rebuilt) == expected
    assert rebuilt.orders.ids.next_id("imb") == live.orders.ids.next_id("imb")

    # the current-state tables agree with the journal too
    store = SQLiteStore(live.config.sqlite_path)
    table_positions = {p.symbol: p.quantity for p in store.load_positions()}
    for symbol, position in live.portfolio.positions.items():
        assert table_positions.get(symbol, Decimal(0)) == position.quantity
    assert {o.client_order_id for o in store.load_orders(open_only=True)} == live.orders.open_ids
    account = store.load_account()
    assert account is not None
    assert account.cash == live.portfolio.cash
    live.shutdown()


def test_orders_placed_mid_batch_never_break_the_book_sequence() -> None:
    """An order placed while the venue is delivering a batch of deltas must not have its
    own deltas overtake the rest of the batch (that read as a sequence gap)."""
    clock = SimClock()
    engine = Engine(make_config(**BUSY), clock=clock, control_socket=False)
    engine.boot()
    run_steps(engine, clock, seconds=60)
    assert engine.portfolio.fill_count > 0
    for symbol in engine.symbols:
        assert engine.books.resync_count(symbol) == 0
        assert not engine.books.book(symbol).stale
    assert not [a for a in engine.alerts(500) if "stale" in a.message]
    engine.shutdown()
