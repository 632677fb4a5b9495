"""Kill switch: halts at once, cancels everything, survives restarts, works without a DB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from typing import Any

import pytest

from traider.engine.core.clock import SimClock
from traider.engine.core.events import KillSwitchEngaged, SubmitOrder
from traider.engine.core.types import OrderStatus, Side
from traider.engine.engine import Engine
from traider.engine.risk.killswitch import KillSwitchFlag
from traider.engine.state.sqlite_store import SQLiteStore
from traider.engine.state.store import StoreUnavailable
from traider.testing.engine import make_config, run_steps

BUSY = {
    "strategy.cooldown_s": "0.2",
    "strategy.entry_imbalance": "0.05",
    "strategy.order_notional_usd": "60",
}


def busy_engine(clock: SimClock, **extra: str) -> Engine:
    engine = Engine(make_config(**{**BUSY, **extra}), clock=clock, control_socket=False)
    engine.boot()
    return engine


def submits_after_kill(engine: Engine) -> list[SubmitOrder]:
    journal = [e for _, e in SQLiteStore(engine.config.sqlite_path).journal()]
    kill_at = next(i for i, e in enumerate(journal) if isinstance(e, KillSwitchEngaged))
    return [e for e in journal[kill_at:] if isinstance(e, SubmitOrder)]


def test_engaging_cancels_everything_and_nothing_is_sent_after() -> None:
    clock = SimClock()
    engine = busy_engine(clock)
    run_steps(engine, clock, seconds=3)
    # make sure something is working at the venue when the switch is thrown
    best_bid = engine.books.book("ETH-USD").best_bid()
    assert best_bid is not None
    price = engine.instruments["ETH-USD"].price_from_float(best_bid[0] * 0.995)
    engine.orders.submit("t", "ETH-USD", Side.BUY, Decimal("0.01"), price)
    assert engine.market.open_orders()

    engine.engage_kill_switch("test", flatten=False, source="tui")
    assert engine.kill.is_engaged()
    assert engine.market.open_orders() == []
    assert all(not o.status.is_open for o in engine.orders.orders.values()
               if o.status is not OrderStatus.PENDING_CANCEL)
    assert not engine.orders.open_ids

    run_steps(engine, clock, seconds=10)
    denied_id = engine.orders.submit("t", "ETH-USD", Side.BUY, Decimal("0.01"), price)
    assert engine.orders.orders[denied_id].status is OrderStatus.DENIED
    assert submits_after_kill(engine) == [engine.orders.orders[denied_id].intent]
    assert engine.market.open_orders() == []
    view = engine.status().kill_switch
    assert view.engaged
    assert view.source == "tui"
    assert view.reason == "test"
    engine.shutdown()

    restarted = Engine(make_config(**BUSY), clock=clock, control_socket=False)
    restarted.boot()
    assert restarted.kill.is_engaged()
    assert restarted.status().kill_switch.reason == "test"
    run_steps(restarted, clock, seconds=5)
    assert restarted.market.open_orders() == []
    restarted.reset_kill_switch(source="test")
    assert not restarted.kill.is_engaged()
    assert not KillSwitchFlag(restarted.home).path.exists()
    restarted.shutdown()


def test_flatten_closes_positions() -> None:
    clock = SimClock()
    engine = busy_engine(clock, **{"strategy.enabled": "false"})
    run_steps(engine, clock, seconds=1)
    best_ask = engine.books.book("BTC-USD").best_ask()
    assert best_ask is not None
    inst = engine.instruments["BTC-USD"]
    engine.orders.submit("t", "BTC-USD", Side.BUY, Decimal("0.002"),
                         inst.price_from_float(best_ask[0] * 1.002))
    assert engine.portfolio.positions["BTC-USD"].quantity > 0
    engine.engage_kill_switch("flatten test", flatten=True, source="cli")
    assert engine.portfolio.positions["BTC-USD"].quantity == 0
    engine.shutdown()


def test_daily_loss_breach_engages_the_switch() -> None:
    clock = SimClock()
    # a limit so tight that the first taker fill's fee breaches it (0.6% of 150 > 0.50 USD)
    engine = busy_engine(clock, **{"risk.daily_loss_limit_pct": "0.01",
                                   "strategy.aggressive_imbalance": "0.06",
                                   "strategy.order_notional_usd": "150"})
    for _ in range(40):
        run_steps(engine, clock, seconds=1)
        if engine.kill.is_engaged():
            break
    view = engine.status().kill_switch
    assert view.engaged
    assert view.source == "risk"
    assert "daily loss" in view.reason
    assert engine.market.open_orders() == []
    before = len(engine.orders.orders)
    run_steps(engine, clock, seconds=5)
    new = list(engine.orders.orders.values())[before:]
    assert all(o.status is OrderStatus.DENIED for o in new)
    engine.shutdown()


class BrokenStore:
    """A store whose disk has gone: every call fails like SQLite would."""

    description = "sqlite /broken"

    def __getattr__(self, name: str) -> Any:
        def fail(*args: object, **kwargs: object) -> Any:
            raise StoreUnavailable(f"sqlite /broken: {name} failed: disk I/O error")
        return fail

    def transaction(self) -> AbstractContextManager[None]:
        @contextmanager
        def broken() -> Iterator[None]:
            raise StoreUnavailable("sqlite /broken: begin failed: disk I/O error")
            yield
        return broken()

    def journal(self, after_id: int = 0, types: object = None) -> Iterator[Any]:
        return iter(())

    def kill_switch(self) -> None:
        raise StoreUnavailable("sqlite /broken: read failed")

    def load_account(self) -> None:
        return None

    def close(self) -> None:
        return None


def test_kill_switch_works_when_the_store_is_down() -> None:
    clock = SimClock()
    engine = Engine(make_config(**BUSY, **{"strategy.enabled": "false"}), clock=clock,
                    control_socket=False, store=BrokenStore())  # type: ignore[arg-type]
    engine.kill.engage("db down", source="cli", flatten=False)
    assert engine.kill.is_engaged()
    flag = KillSwitchFlag(engine.home).read()
    assert flag is not None
    assert flag.reason == "db down"
    messages = [a.message for a in engine.alerts(50)]
    assert any("not saved in the store" in m for m in messages)
    # and a restart with the store still down comes up halted, from the flag file alone
    again = Engine(make_config(), clock=clock, control_socket=False,
                   store=BrokenStore())  # type: ignore[arg-type]
    again.boot()
    assert again.kill.is_engaged()
    assert again.status().kill_switch.reason == "db down"
    again.shutdown()


def test_store_failure_fails_closed() -> None:
    clock = SimClock()
    engine = Engine(make_config(**BUSY), clock=clock, control_socket=False,
                    store=BrokenStore())  # type: ignore[arg-type]
    engine.boot()
    run_steps(engine, clock, seconds=3)
    # the first intent could not be journaled: nothing was sent, the switch engaged
    assert engine.market.open_orders() == []
    assert engine.kill.is_engaged()
    assert engine.status().store_ok is False
    assert all(o.status is OrderStatus.DENIED for o in engine.orders.orders.values())
    engine.shutdown()


@pytest.mark.parametrize("damaged", ["{not json", "", "null", "[]", "1"])
def test_damaged_flag_file_still_means_engaged(damaged: str) -> None:
    clock = SimClock()
    engine = Engine(make_config(), clock=clock, control_socket=False)
    engine.home.mkdir(parents=True, exist_ok=True)
    KillSwitchFlag(engine.home).path.write_text(damaged)
    engine.boot()
    assert engine.kill.is_engaged()
    engine.shutdown()


def test_flatten_only_sells_what_is_not_already_offered() -> None:
    clock = SimClock()
    engine = busy_engine(clock, **{"strategy.enabled": "false"})
    run_steps(engine, clock, seconds=1)
    inst = engine.instruments["BTC-USD"]
    ask = engine.books.book("BTC-USD").best_ask()
    assert ask is not None
    engine.orders.submit("t", "BTC-USD", Side.BUY, Decimal("0.002"),
                         inst.price_from_float(ask[0] * 1.002))
    assert engine.portfolio.positions["BTC-USD"].quantity == Decimal("0.002")
    resting = engine.orders.submit("t", "BTC-USD", Side.SELL, Decimal("0.0015"),
                                   inst.price_from_float(ask[0] * 1.015), post_only=True)
    assert engine.orders.orders[resting].status is OrderStatus.ACCEPTED
    assert engine.flatten() == 1
    # the resting offer may still fill: flatten sold only the rest, never going short
    assert engine.portfolio.positions["BTC-USD"].quantity == Decimal("0.0015")
    assert engine.flatten() == 0
    engine.shutdown()
