from __future__ import annotations

from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.core.types import Severity
from traider.engine.engine import Engine
from traider.engine.monitoring.feeds import FeedWatch
from traider.testing.engine import make_config, run_steps

S = NANOS_PER_SECOND


def test_feed_watch_opens_once_and_resolves() -> None:
    watch = FeedWatch(stale_after_ms=10_000)
    assert watch.check(0, "BTC-USD", None, "") is None  # no data yet: start-up
    assert watch.check(5 * S, "BTC-USD", 0, "") is None
    opened = watch.check(11 * S, "BTC-USD", 0, "")
    assert opened is not None
    assert opened.opened
    assert opened.dedup_key == "feed-stale:BTC-USD"
    assert "silent for 11.0 s" in opened.detail
    assert watch.check(12 * S, "BTC-USD", 0, "") is None  # still open: no new incident
    closed = watch.check(13 * S, "BTC-USD", 13 * S, "")
    assert closed is not None
    assert not closed.opened
    stale = watch.check(14 * S, "BTC-USD", 14 * S, "gap: expected seq 5, got 9")
    assert stale is not None
    assert "gap" in stale.detail


def test_engine_pages_on_a_silent_feed_and_resolves_it() -> None:
    clock = SimClock()
    engine = Engine(make_config(**{"strategy.enabled": "false"}), clock=clock,
                    control_socket=False)
    engine.boot()
    run_steps(engine, clock, seconds=1)
    clock.advance(15 * S)  # the market stops: no step
    engine.check_risk()
    critical = [a for a in engine.alerts(50) if a.severity is Severity.CRITICAL]
    assert {a.dedup_key for a in critical} == {f"feed-stale:{s}" for s in engine.symbols}
    engine.step()
    engine.check_risk()
    resolved = [a for a in engine.alerts(50) if a.resolve]
    assert {a.dedup_key for a in resolved} == {f"feed-stale:{s}" for s in engine.symbols}
    engine.shutdown()
