"""The engine's critical events reach PagerDuty and Slack through the real SDK clients
(pointed at a loopback receiver)."""

from __future__ import annotations

from alerts_loopback import Receiver, ServiceFactory

from traider.engine.core.clock import NANOS_PER_SECOND, SimClock
from traider.engine.engine import Engine
from traider.testing.engine import make_config, run_steps


def test_kill_switch_and_silent_feed_page(
    receiver: Receiver, make_service: ServiceFactory, sim_clock: SimClock
) -> None:
    engine = Engine(make_config(**{"strategy.enabled": "false"}), clock=sim_clock,
                    control_socket=False)
    service = make_service(clock=sim_clock)
    engine.monitor.attach_alerts(service)
    engine.boot()
    run_steps(engine, sim_clock, seconds=1)

    engine.engage_kill_switch("operator test", flatten=False, source="cli")
    service.deliver_due(sim_clock.timestamp_ns())
    triggers = [p for p in receiver.pd() if p.get("event_action") == "trigger"]
    assert len(triggers) == 1
    assert "KILL SWITCH ENGAGED" in triggers[0]["payload"]["summary"]
    assert triggers[0]["payload"]["severity"] == "critical"
    assert any("KILL SWITCH" in str(post) for post in receiver.slack_posts())

    sim_clock.advance(15 * NANOS_PER_SECOND)  # the market goes quiet
    engine.check_risk()
    service.deliver_due(sim_clock.timestamp_ns())
    keys = {p["dedup_key"] for p in receiver.pd() if p.get("event_action") == "trigger"}
    assert {f"feed-stale:{s}" for s in engine.symbols} <= keys
    engine.step()
    engine.check_risk()
    service.deliver_due(sim_clock.timestamp_ns())
    resolved = {p["dedup_key"] for p in receiver.pd() if p.get("event_action") == "resolve"}
    assert {f"feed-stale:{s}" for s in engine.symbols} <= resolved
    engine.shutdown()
