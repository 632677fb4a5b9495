"""The order-flow strategy trades only when its edge clears fees and spread."""

from __future__ import annotations

import math
from pathlib import Path

from traider.engine.core.clock import SimClock
from traider.engine.strategies.orderflow import OrderFlowParams, OrderFlowStrategy, _State
from traider.testing.engine import make_engine, run_steps

RETAIL = {"strategy.name": "orderflow"}
LOW_FEES = {"strategy.name": "orderflow", "engine.maker_fee_bps": "0",
            "engine.taker_fee_bps": "5"}


def test_stands_aside_when_fees_exceed_any_short_horizon_edge() -> None:
    clock = SimClock()
    engine = make_engine(clock, **RETAIL)
    engine.boot()
    run_steps(engine, clock, seconds=60)
    assert isinstance(engine.strategy, OrderFlowStrategy)
    decisions = [st.decisions for st in engine.strategy.state.values()]
    assert sum(d.get("stand_aside", 0) for d in decisions) > 100  # it looked, and declined
    assert not any(k.startswith("enter") for d in decisions for k in d)
    assert engine.portfolio.fill_count == 0
    engine.shutdown()


def test_trades_when_the_edge_clears_a_low_fee_tier() -> None:
    clock = SimClock()
    engine = make_engine(clock, **LOW_FEES)
    engine.boot()
    run_steps(engine, clock, seconds=60)
    assert engine.portfolio.fill_count > 0
    for order in engine.orders.orders.values():
        assert order.intent.strategy_id == "ofi"
        if order.intent.side.value == "BUY":  # sized by the risk desk: never above base
            assert order.intent.price is not None
            assert order.intent.quantity * order.intent.price <= 150
    engine.shutdown()


class _Vec:
    def __init__(self, ofi: float, dev: float) -> None:
        self.ofi_window = ofi
        self.microprice_dev_bps = dev


def test_edge_is_microprice_deviation_plus_bounded_ofi_term() -> None:
    strategy = OrderFlowStrategy(OrderFlowParams(ofi_weight_bps=2.0), ("BTC-USD",), {})
    st = _State()
    first = strategy.edge_bps(_Vec(10.0, 0.5), st, 0.0)  # type: ignore[arg-type]
    assert math.isclose(first, 0.5 + 2.0 * math.tanh(1.0))  # scale starts at |OFI|
    big = strategy.edge_bps(_Vec(1e9, 0.0), st, 1.0)  # type: ignore[arg-type]
    assert big <= 2.0 + 1e-12  # the OFI term never exceeds its weight
    against = strategy.edge_bps(_Vec(-50.0, -0.3), st, 1.0)  # type: ignore[arg-type]
    assert against < -0.3


def test_random_baseline_pays_the_configured_fee_tier(tmp_path: Path) -> None:
    fees = {}
    for maker, taker in (("40", "60"), ("0", "5")):
        clock = SimClock()
        engine = make_engine(clock, **{"strategy.name": "random", "engine.maker_fee_bps": maker,
                                       "engine.taker_fee_bps": taker,
                                       "store.sqlite_path": str(tmp_path / f"{maker}.db")})
        engine.boot()
        run_steps(engine, clock, seconds=180)
        assert engine.portfolio.fill_count > 0
        fills = [o for o in engine.orders.orders.values() if o.filled_qty > 0]
        assert all(o.intent.strategy_id == "rnd" for o in fills)
        fees[maker] = engine.portfolio.fees / engine.portfolio.fill_count
        engine.shutdown()
    assert fees["40"] > 10 * fees["0"]  # per fill: 0.4-0.6 % of notional vs 0-0.05 %
