"""Portfolio risk inside the running engine: limits deny with numbers, drawdown state is
journaled, halts become cooldowns, the refresh fills the screen's view."""

from __future__ import annotations

import math
from decimal import Decimal
from statistics import NormalDist

from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.core.events import RiskStateChanged
from traider.engine.core.types import OrderStatus, Side
from traider.engine.engine import Engine
from traider.engine.state.sqlite_store import SQLiteStore
from traider.testing.engine import make_config, run_steps

QUIET = {"strategy.enabled": "false"}


def engine_with(**overrides: str) -> tuple[Engine, SimClock]:
    clock = SimClock()
    engine = Engine(make_config(**{**QUIET, **overrides}), clock=clock, control_socket=False)
    engine.boot()
    run_steps(engine, clock, seconds=1)
    return engine, clock


def buy(engine: Engine, symbol: str, usd: float) -> str:
    book = engine.books.book(symbol)
    ask = book.best_ask()
    assert ask is not None
    inst = engine.instruments[symbol]
    price = inst.price_from_float(ask[0] * 1.002)  # marketable: fills now
    qty = inst.round_qty_down(Decimal(repr(usd)) / price)
    return engine.orders.submit("t", symbol, Side.BUY, qty, price)


def test_parametric_var_matches_the_closed_form() -> None:
    engine, _ = engine_with()
    service = engine.riskdesk.service
    assert service is not None
    w = [1000.0, -400.0, 250.0]
    cov = service.covariance
    variance = sum(w[i] * cov[i][j] * w[j] for i in range(3) for j in range(3))
    expected = NormalDist().inv_cdf(0.95) * math.sqrt(variance)
    assert math.isclose(service.parametric_var(w), expected, rel_tol=1e-12)
    engine.shutdown()


def test_var_limit_denies_with_the_numbers_and_allows_reducing() -> None:
    # VaR budget 0.1% of 5000 = 5 USD: a 200 USD BTC position (σ≈2.8%/day) is over it
    engine, _ = engine_with(**{"risk.var_limit_pct": "0.1"})
    cid = buy(engine, "BTC-USD", 200)
    order = engine.orders.orders[cid]
    assert order.status is OrderStatus.DENIED
    reasons = [a.message for a in engine.alerts(20) if "VaR limit" in a.message]
    assert reasons, "the denial names the VaR limit"
    assert "> 5.00 USD" in reasons[0]
    # a small order stays under the budget
    small = buy(engine, "BTC-USD", 50)
    assert engine.orders.orders[small].status is OrderStatus.FILLED
    engine.shutdown()


def test_correlation_limit_counts_same_direction_pairs() -> None:
    # combined same-direction exposure of a pair with rho > 0.7 capped at 4% = 200 USD
    engine, _ = engine_with(**{"risk.max_correlated_combined_pct": "4"})
    service = engine.riskdesk.service
    assert service is not None
    corr = service.correlation
    pairs = [(corr[i][j], i, j) for i in range(3) for j in range(i + 1, 3)]
    rho, i, j = max(pairs)
    assert rho > 0.7, "the EWMA history should hold one pair above the 0.7 limit"
    a, b = engine.symbols[i], engine.symbols[j]
    assert engine.orders.orders[buy(engine, a, 150)].status is OrderStatus.FILLED
    second = buy(engine, b, 100)
    assert engine.orders.orders[second].status is OrderStatus.DENIED
    assert any("correlation limit" in m.message for m in engine.alerts(20))
    engine.shutdown()


def test_drawdown_tiers_are_journaled_and_scale_size() -> None:
    engine, clock = engine_with()
    desk = engine.riskdesk
    service = desk.service
    assert service is not None
    t = clock.timestamp_ns()
    service.observe_equity(t, 5000.0)
    events = service.observe_equity(t + 1, 4700.0)  # 6% below the peak: tier 1 (x0.5)
    desk.record(events)  # the engine does this from check_risk
    _, dd_scale = desk.size_scales("BTC-USD")
    assert dd_scale == 0.5
    journal = [e for _, e in SQLiteStore(engine.config.sqlite_path).journal()]
    changes = [e for e in journal if isinstance(e, RiskStateChanged)]
    assert [c.name for c in changes] == ["TierChanged"]
    desk.record(service.observe_equity(t + 2, 4200.0))  # 16%: tier 3, no new risk
    assert desk.size_scales("BTC-USD")[1] == 0.0
    assert engine.orders.orders[buy(engine, "BTC-USD", 50)].status is OrderStatus.DENIED
    assert any("drawdown control" in a.message for a in engine.alerts(20))
    engine.shutdown()


def test_kill_switch_reset_starts_a_cooldown() -> None:
    engine, clock = engine_with(**{"risk.halt_cooldown_s": "60"})
    engine.engage_kill_switch("test", flatten=False, source="cli")
    engine.reset_kill_switch(source="cli")
    denied = buy(engine, "BTC-USD", 50)
    assert engine.orders.orders[denied].status is OrderStatus.DENIED
    assert any("cooling down" in a.message for a in engine.alerts(30))
    clock.advance(61 * NANOS_PER_SECOND)
    engine.step()
    assert engine.orders.orders[buy(engine, "BTC-USD", 50)].status is OrderStatus.FILLED
    engine.shutdown()


def test_refresh_fills_the_risk_view() -> None:
    engine, _ = engine_with()
    buy(engine, "BTC-USD", 150)
    view = engine.riskdesk.refresh_now()
    assert view.computed_ns is not None
    methods = {v.method for v in view.var}
    assert methods == {"parametric", "cornish_fisher", "historical", "filtered_historical",
                       "mc_normal", "mc_t"}
    for line in view.var:
        assert line.es_usd >= line.var_usd > 0
    assert view.correlation_symbols == engine.symbols
    assert all(math.isclose(view.correlation[i][i], 1.0) for i in range(3))
    names = [s.name for s in view.stress]
    assert any("BTC" in n and "20" in n for n in names)
    assert all(s.pnl_usd < 0 for s in view.stress if "BTC" in s.name)
    assert {u.name for u in view.limits} >= {"VaR 95% 1d", "daily loss", "BTC-USD size"}
    assert view.history_source.startswith("simulated")
    engine.shutdown()


def test_strategy_size_scales_with_confidence() -> None:
    engine, _ = engine_with()
    ctx = engine.context
    full = ctx.size_order("BTC-USD", 150.0, 1.0)
    half = ctx.size_order("BTC-USD", 150.0, 0.5)
    assert 0 < half < full <= 150.0
    assert math.isclose(half, full / 2)
    assert ctx.size_order("BTC-USD", 150.0, 0.0) == 0.0
    engine.shutdown()


def test_a_limit_the_market_breaches_is_journaled_once_and_cleared() -> None:
    engine, _ = engine_with()
    assert engine.orders.orders[buy(engine, "BTC-USD", 200)].status is OrderStatus.FILLED
    engine.riskdesk.refresh_now()
    assert not [a for a in engine.alerts(50) if "limit_breached" in a.message]
    # no order changes anything: the budget moves under the position (as a vol spike would)
    service = engine.riskdesk.service
    assert service is not None
    service.var_limit_usd = 1.0
    engine.riskdesk.refresh_now()
    engine.riskdesk.refresh_now()  # still over: no second alert
    breached = [a for a in engine.alerts(50) if "limit_breached" in a.message]
    assert len(breached) == 1
    assert "VaR 95% 1d" in breached[0].message
    service.var_limit_usd = 1e9
    engine.riskdesk.refresh_now()
    assert [a for a in engine.alerts(50) if "limit_cleared" in a.message]
    journal = [e for _, e in SQLiteStore(engine.config.sqlite_path).journal()]
    names = [e.name for e in journal if isinstance(e, RiskStateChanged)]
    assert names == ["limit_breached", "limit_cleared"]
    engine.shutdown()


def test_clusters_of_correlated_assets_show_their_exposure() -> None:
    engine, _ = engine_with()
    service = engine.riskdesk.service
    assert service is not None
    lines = service.cluster_lines({"BTC-USD": 100.0, "ETH-USD": 250.0, "SOL-USD": -50.0})
    corr = service.correlation
    linked = {(a, b) for a in range(3) for b in range(a + 1, 3) if abs(corr[a][b]) > 0.7}
    assert linked, "the seeded history links at least one pair above 0.7"
    members = {engine.symbols[k] for pair in linked for k in pair}
    assert len(lines) == 1
    for symbol in members:
        assert symbol in lines[0]
    net = sum({"BTC-USD": 100.0, "ETH-USD": 250.0, "SOL-USD": -50.0}[s] for s in members)
    assert f"net {net:,.2f} USD" in lines[0]
    engine.shutdown()
