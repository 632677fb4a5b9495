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


def test_daily_report_is_built_and_sent_once(
    receiver: Receiver, make_service: ServiceFactory, sim_clock: SimClock
) -> None:
    busy = {"strategy.cooldown_s": "0.2", "strategy.entry_imbalance": "0.05",
            "strategy.aggressive_imbalance": "0.1"}
    engine = Engine(make_config(**busy), clock=sim_clock, control_socket=False)
    service = make_service(clock=sim_clock)
    engine.monitor.attach_alerts(service)
    engine.boot()
    run_steps(engine, sim_clock, seconds=20)
    engine.record_equity()
    assert engine.portfolio.fill_count > 0
    # yesterday (before the engine existed) is built, found empty, and not sent
    first = engine.reports.run_due()
    assert [s.split()[0] for s in first] == ["daily"]
    service.deliver_due(sim_clock.timestamp_ns())
    assert not receiver.matching("/api/files.completeUploadExternal")
    day = 86_400 * NANOS_PER_SECOND
    sim_clock.set_time((sim_clock.timestamp_ns() // day + 1) * day + 60 * NANOS_PER_SECOND)
    sent = engine.reports.run_due()
    assert len(sent) == 1
    assert sent[0].startswith("daily ")
    assert engine.reports.run_due() == []  # remembered: not twice
    service.deliver_due(sim_clock.timestamp_ns())
    done = receiver.matching("/api/files.completeUploadExternal")
    assert len(done) == 1, "the chart went to Slack as one file upload"
    assert list((engine.home / "reports").glob("daily-*.png"))
    engine.shutdown()
