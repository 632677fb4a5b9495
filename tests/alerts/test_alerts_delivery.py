"""Delivery with the real slack_sdk and pagerduty clients against a loopback receiver."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from alerts_loopback import (
    BOT_TOKEN,
    CHANNEL_ID,
    ROUTING_KEY,
    WEBHOOK_SECRET,
    Receiver,
    ServiceFactory,
    secrets_env,
)

from traider.engine.alerts.policy import dedup_key_for
from traider.engine.alerts.service import AlertService
from traider.engine.core.clock import NANOS_PER_SECOND, LiveClock, SimClock
from traider.engine.core.events import Alert
from traider.engine.core.types import Severity

S = NANOS_PER_SECOND
SECRETS = (BOT_TOKEN, ROUTING_KEY, WEBHOOK_SECRET)


def crit(clock: SimClock, msg: str = "feed down for 12 s", key: str = "",
         resolve: bool = False, sev: Severity = Severity.CRITICAL,
         details: dict[str, str] | None = None) -> Alert:
    now = clock.timestamp_ns()
    return Alert(now, now, sev, "marketdata", msg, details or {}, dedup_key=key,
                 resolve=resolve)


def drain(svc: AlertService, clock: SimClock, step_s: float = 61.0, rounds: int = 30) -> None:
    """Deliver, advancing simulated time past any backoff, until nothing is pending."""
    for _ in range(rounds):
        svc.deliver_due(clock.timestamp_ns())
        if svc.stats().pending == 0:
            return
        clock.advance(int(step_s * S))
    raise AssertionError(f"still pending: {svc.stats()}")


def test_payload_shapes(make_service: ServiceFactory, receiver: Receiver,
                        sim_clock: SimClock) -> None:
    svc = make_service()
    svc.submit(crit(sim_clock, details={"symbol": "BTC-USD"}))
    assert svc.deliver_due(sim_clock.timestamp_ns()) == 2
    (pd,) = receiver.pd()
    key = dedup_key_for(crit(sim_clock))
    assert pd["routing_key"] == ROUTING_KEY
    assert pd["event_action"] == "trigger"
    assert pd["dedup_key"] == key
    p = pd["payload"]
    assert p["severity"] == "critical"
    assert p["source"] == "marketdata"
    assert p["summary"] == "[CRITICAL] marketdata: feed down for 12 s"
    assert p["timestamp"] == "2023-11-14T22:13:20.000+00:00"
    assert p["custom_details"]["symbol"] == "BTC-USD"
    assert p["custom_details"]["count"] == 1
    (msg,) = receiver.slack_posts()
    req = receiver.matching("/api/chat.postMessage")[0]
    assert req.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert msg["channel"] == "#trading-alerts"
    assert "feed down" in msg["text"]
    types = [b["type"] for b in msg["blocks"]]
    assert types == ["header", "section", "section", "context"]
    assert msg["blocks"][0]["text"]["type"] == "plain_text"
    assert msg["blocks"][0]["text"]["text"].startswith(":rotating_light: CRITICAL")
    ctx = msg["blocks"][3]["elements"][0]["text"]
    assert "marketdata" in ctx
    assert key in ctx
    assert "2023-11-14T22:13:20" in ctx


def test_warning_severity_and_long_summary(make_service: ServiceFactory, receiver: Receiver,
                                           sim_clock: SimClock) -> None:
    svc = make_service(warning_channels=("slack", "pagerduty"))
    svc.submit(crit(sim_clock, msg="x" * 3000, sev=Severity.WARNING))
    svc.deliver_due(sim_clock.timestamp_ns())
    (pd,) = receiver.pd()
    assert pd["payload"]["severity"] == "warning"
    assert len(pd["payload"]["summary"]) == 1024


def test_webhook_path(make_service: ServiceFactory, receiver: Receiver,
                      sim_clock: SimClock) -> None:
    svc = make_service(env=secrets_env(receiver, bot=False, pagerduty=False))
    svc.submit(crit(sim_clock))
    assert svc.deliver_due(sim_clock.timestamp_ns()) == 1
    (req,) = receiver.matching("/hooks/")
    assert req.status == 200
    assert req.json["text"]
    assert req.json["blocks"][0]["type"] == "header"


@pytest.mark.parametrize("mode", ["429", "500", "stall"])
def test_retry_then_success_sends_once(make_service: ServiceFactory, receiver: Receiver,
                                       sim_clock: SimClock, mode: str) -> None:
    receiver.stall_s = 1.5
    svc = make_service(env=secrets_env(receiver, webhook=False, bot=False), timeout_s=0.3)
    receiver.fail_next(2, mode, "/v2/enqueue")
    alert = crit(sim_clock)
    svc.submit(alert)
    svc.submit(alert)  # an identical alert: the same incident
    t = sim_clock.timestamp_ns()
    assert svc.deliver_due(t) == 0
    job = svc.outbox.jobs()[0]
    assert job.attempts == 1
    assert job.state == "pending"
    assert job.last_error
    if mode == "429":
        assert job.next_attempt_ns == t + 7 * S  # Retry-After honoured
    else:
        assert t + S // 2 <= job.next_attempt_ns <= t + S  # backoff_initial_s=1, jittered
    assert svc.deliver_due(job.next_attempt_ns - 1) == 0  # not due yet
    drain(svc, sim_clock)
    assert len(receiver.matching("/v2/enqueue")) == 3  # one request per attempt (no SDK retry)
    assert len(receiver.pd()) == 1  # exactly one success
    assert svc.stats().sent == 1
    assert svc.stats().dead == 0


def test_slack_rate_limited_api_retries(make_service: ServiceFactory, receiver: Receiver,
                                        sim_clock: SimClock) -> None:
    svc = make_service(env=secrets_env(receiver, pagerduty=False))
    receiver.fail_next(1, "429", "/api/chat.postMessage")
    svc.submit(crit(sim_clock))
    svc.deliver_due(sim_clock.timestamp_ns())
    assert svc.outbox.jobs()[0].next_attempt_ns == sim_clock.timestamp_ns() + 7 * S
    drain(svc, sim_clock)
    assert len(receiver.slack_posts()) == 1


def test_bad_request_is_dead_lettered(make_service: ServiceFactory, receiver: Receiver,
                                      sim_clock: SimClock,
                                      caplog: pytest.LogCaptureFixture) -> None:
    svc = make_service()
    receiver.fail_next(1, "400", "/v2/enqueue")
    receiver.fail_next(1, "api:channel_not_found", "/api/chat.postMessage")
    svc.submit(crit(sim_clock))
    with caplog.at_level(logging.ERROR):
        svc.deliver_due(sim_clock.timestamp_ns())
    dead = {j.channel: j for j in svc.outbox.jobs("dead")}
    assert set(dead) == {"slack", "pagerduty"}
    assert "HTTP 400" in dead["pagerduty"].last_error
    assert "invalid event" in dead["pagerduty"].last_error
    assert "channel_not_found" in dead["slack"].last_error
    assert svc.stats().dead == 2
    assert "dead-lettered" in caplog.text
    drain(svc, sim_clock)  # nothing more is attempted
    assert len(receiver.matching("/v2/enqueue")) == 1


def test_gives_up_after_max_attempts(make_service: ServiceFactory, receiver: Receiver,
                                     sim_clock: SimClock) -> None:
    svc = make_service(env=secrets_env(receiver, webhook=False, bot=False), max_attempts=3)
    receiver.fail_next(10, "500", "/v2/enqueue")
    svc.submit(crit(sim_clock))
    drain(svc, sim_clock)
    (job,) = svc.outbox.jobs("dead")
    assert job.attempts == 3
    assert job.last_error.startswith("gave up after 3 attempts")


def test_repeat_escalation_ack_resolve(make_service: ServiceFactory, receiver: Receiver,
                                       sim_clock: SimClock) -> None:
    svc = make_service(repeat_after_s=300, escalate_after_s=600, max_repeats=3)
    warn = crit(sim_clock, msg="spread wide", key="spread", sev=Severity.WARNING)
    svc.submit(warn)
    svc.deliver_due(sim_clock.timestamp_ns())
    assert len(receiver.slack_posts()) == 1
    assert receiver.pd() == []
    sim_clock.advance(599 * S)
    svc.tick(sim_clock.timestamp_ns())
    svc.deliver_due(sim_clock.timestamp_ns())
    assert receiver.pd() == []
    sim_clock.advance(S)
    svc.tick(sim_clock.timestamp_ns())
    svc.deliver_due(sim_clock.timestamp_ns())
    (esc,) = receiver.pd()
    assert esc["payload"]["severity"] == "critical"
    assert esc["payload"]["summary"].startswith("[escalated]")
    sim_clock.advance(300 * S)
    svc.tick(sim_clock.timestamp_ns())
    svc.deliver_due(sim_clock.timestamp_ns())
    posts = receiver.slack_posts()
    assert len(posts) == 3
    assert "Still firing (1/3)" in posts[-1]["text"]
    svc.acknowledge("spread", by="alice")
    svc.deliver_due(sim_clock.timestamp_ns())
    assert [e["event_action"] for e in receiver.pd()] == ["trigger", "acknowledge"]
    assert "alice" in receiver.slack_posts()[-1]["blocks"][1]["text"]["text"]
    n = len(receiver.slack_posts())
    for _ in range(5):  # no more repeats once acknowledged
        sim_clock.advance(300 * S)
        svc.tick(sim_clock.timestamp_ns())
        svc.deliver_due(sim_clock.timestamp_ns())
    assert len(receiver.slack_posts()) == n
    svc.submit(crit(sim_clock, key="spread", resolve=True))
    svc.deliver_due(sim_clock.timestamp_ns())
    pd = receiver.pd()
    assert pd[-1]["event_action"] == "resolve"
    assert pd[-1]["dedup_key"] == "spread"
    assert pd[-1]["routing_key"] == ROUTING_KEY
    assert "Resolved" in receiver.slack_posts()[-1]["text"]


def test_resolve_waits_for_its_trigger(make_service: ServiceFactory, receiver: Receiver,
                                       sim_clock: SimClock) -> None:
    svc = make_service(env=secrets_env(receiver, webhook=False, bot=False))
    receiver.fail_next(1, "500", "/v2/enqueue")
    svc.submit(crit(sim_clock, key="k"))
    svc.deliver_due(sim_clock.timestamp_ns())
    svc.submit(crit(sim_clock, key="k", resolve=True))
    svc.deliver_due(sim_clock.timestamp_ns())  # the resolve must not overtake
    assert receiver.pd() == []
    drain(svc, sim_clock)
    assert [e["event_action"] for e in receiver.pd()] == ["trigger", "resolve"]


def test_flapping_sends_one_summary(make_service: ServiceFactory, receiver: Receiver,
                                   sim_clock: SimClock) -> None:
    svc = make_service(flap_window_s=60, flap_max_transitions=2)
    for i in range(8):
        svc.submit(crit(sim_clock, key="flap", resolve=i % 2 == 1))
        svc.deliver_due(sim_clock.timestamp_ns())
        sim_clock.advance(2 * S)
    before = len(receiver.slack_posts())
    assert before == 2  # open, resolve; then held
    sim_clock.advance(61 * S)
    svc.tick(sim_clock.timestamp_ns())
    svc.deliver_due(sim_clock.timestamp_ns())
    posts = receiver.slack_posts()
    assert len(posts) == 3
    assert "Flapping" in posts[-1]["text"]
    assert [e["event_action"] for e in receiver.pd()] == ["trigger", "resolve"]


def test_rate_limit_critical_passes(make_service: ServiceFactory, receiver: Receiver,
                                    sim_clock: SimClock) -> None:
    svc = make_service(env=secrets_env(receiver, pagerduty=False), max_per_minute=3)
    for i in range(6):
        svc.submit(crit(sim_clock, key=f"w{i}", sev=Severity.WARNING))
    for i in range(2):
        svc.submit(crit(sim_clock, key=f"c{i}"))
    svc.deliver_due(sim_clock.timestamp_ns())
    assert len(receiver.slack_posts()) == 5
    assert svc.stats().rate_limited == 3


def test_quiet_hours_digest(make_service: ServiceFactory, receiver: Receiver,
                            sim_clock: SimClock) -> None:
    svc = make_service(env=secrets_env(receiver, pagerduty=False),
                       quiet_hours_utc="22:00-07:00", escalate_after_s=36000)
    svc.submit(crit(sim_clock, key="w1", msg="spread wide", sev=Severity.WARNING))
    svc.submit(crit(sim_clock, key="w2", msg="venue slow", sev=Severity.WARNING))
    svc.submit(crit(sim_clock, key="c", msg="feed down"))
    svc.deliver_due(sim_clock.timestamp_ns())
    assert ["feed down" in p["text"] for p in receiver.slack_posts()] == [True]
    svc.acknowledge("c", "ops")
    sim_clock.advance((8 * 3600 + 50 * 60) * S)  # 07:03 UTC
    svc.tick(sim_clock.timestamp_ns())
    svc.deliver_due(sim_clock.timestamp_ns())
    digest = [p for p in receiver.slack_posts() if "digest" in p["text"]]
    assert len(digest) == 1
    body = digest[0]["blocks"][1]["text"]["text"]
    assert "spread wide" in body
    assert "venue slow" in body


def test_outbox_survives_restart(make_service: ServiceFactory, receiver: Receiver,
                                 sim_clock: SimClock, tmp_path: Path) -> None:
    home = tmp_path / "restart-home"
    first = make_service(home=home)
    alert = crit(sim_clock)
    first.submit(alert)
    assert first.stats().pending == 2
    first.close()  # never delivered
    assert receiver.requests == []
    second = make_service(home=home)
    second.submit(alert)  # the engine replays the same alert: not queued twice
    assert second.stats().pending == 2
    assert second.deliver_due(sim_clock.timestamp_ns()) == 2
    assert second.deliver_due(sim_clock.timestamp_ns() + 10 * S) == 0
    second.close()
    third = make_service(home=home)
    third.submit(alert)
    assert third.deliver_due(sim_clock.timestamp_ns()) == 0  # already sent: never twice
    assert len(receiver.pd()) == 1
    assert len(receiver.slack_posts()) == 1


def test_missing_env_disables_channel_with_one_warning(
        make_service: ServiceFactory, receiver: Receiver, sim_clock: SimClock,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="traider.engine.alerts"):
        svc = make_service(env={})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    for name in ("TRAIDER_SLACK_WEBHOOK_URL", "TRAIDER_SLACK_BOT_TOKEN",
                 "TRAIDER_PAGERDUTY_ROUTING_KEY"):
        assert name in text
    svc.submit(crit(sim_clock))
    assert svc.deliver_due(sim_clock.timestamp_ns()) == 0
    st = svc.stats()
    assert st.channels == ()
    assert set(st.disabled) == {"slack", "pagerduty"}
    assert st.pending == 0
    assert svc.send_file(Path(__file__), "t", "c") is False
    assert receiver.requests == []


def test_secrets_never_logged_or_stored(make_service: ServiceFactory, receiver: Receiver,
                                        sim_clock: SimClock,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    svc = make_service(env=secrets_env(receiver, bot=False), max_attempts=2)
    receiver.fail_next(1, "500")
    receiver.fail_next(1, "400")
    receiver.fail_next(4, "stall")
    receiver.stall_s = 1.0
    svc.submit(crit(sim_clock, key="a", details={"note": f"key={ROUTING_KEY}"}))
    svc.submit(crit(sim_clock, key="b"))
    drain(svc, sim_clock)
    svc.submit(crit(sim_clock, key="c", details={"leak": ROUTING_KEY}))
    drain(svc, sim_clock)
    stored = " ".join(f"{j.last_error} {j.payload}" for j in svc.outbox.jobs())
    stored += svc.stats().last_error
    for secret in SECRETS:
        assert secret not in caplog.text
        assert secret not in stored
    bodies = [r.body.decode() for r in receiver.matching("/v2/enqueue")]
    assert any("key=***" in b for b in bodies)
    for b in bodies:  # only the routing_key field itself carries it
        assert b.count(ROUTING_KEY) == 1


def test_send_file_uploads(make_service: ServiceFactory, receiver: Receiver,
                           sim_clock: SimClock, tmp_path: Path) -> None:
    png = tmp_path / "equity.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    svc = make_service(env=secrets_env(receiver, pagerduty=False))
    assert svc.send_file(png, "Daily report", "P&L +1.2%")
    assert svc.deliver_due(sim_clock.timestamp_ns()) == 1
    paths = [r.path for r in receiver.requests]
    assert paths == ["/api/conversations.list", "/api/files.getUploadURLExternal",
                     "/upload/v1/F0FILE1", "/api/files.completeUploadExternal"]
    (upload,) = receiver.matching("/upload/")
    assert upload.body.endswith(b"0" * 100)
    done: Any = receiver.matching("/api/files.completeUploadExternal")[0]
    fields = done.json or done.form
    assert fields["channel_id"] == CHANNEL_ID
    assert fields["initial_comment"] == "P&L +1.2%"
    assert "Daily report" in str(fields["files"])


def test_worker_thread_delivers(make_service: ServiceFactory, receiver: Receiver) -> None:
    svc = make_service(clock=LiveClock(), env=secrets_env(receiver, webhook=False, bot=False))
    svc.start()
    try:
        assert svc.worker_alive
        now = time.time_ns()
        svc.submit(Alert(now, now, Severity.CRITICAL, "engine", "kill switch engaged", {}))
        assert receiver.wait_for(lambda: len(receiver.pd()) == 1, timeout_s=10)
        assert receiver.wait_for(lambda: svc.stats().sent == 1, timeout_s=10)
    finally:
        svc.stop()
    assert not svc.worker_alive
    assert len(svc.submitted_to_request_ns) == 1
