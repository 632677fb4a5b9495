"""The alert policy on simulated time: dedup, flapping, rate limit, quiet hours, escalation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from traider.engine.alerts.config import AlertsConfig, parse_quiet_hours
from traider.engine.alerts.policy import AlertPolicy, dedup_key_for, normalise_message
from traider.engine.core.clock import NANOS_PER_SECOND
from traider.engine.core.events import Alert
from traider.engine.core.types import Severity

S = NANOS_PER_SECOND
T0 = 1_700_000_000 * S  # 2023-11-14 22:13:20 UTC
BOTH = frozenset({"slack", "pagerduty"})


def alert(sev: Severity = Severity.CRITICAL, msg: str = "feed down", src: str = "feed",
          key: str = "", resolve: bool = False, ts: int = T0) -> Alert:
    return Alert(ts, ts, sev, src, msg, {}, dedup_key=key, resolve=resolve)


def kinds(actions: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(a.channel, a.kind) for a in actions]


def test_dedup_key_normalises_numbers() -> None:
    a = alert(msg="loop lag 12 ms", src="monitor")
    b = alert(msg="loop lag 15.5 ms", src="monitor")
    c = alert(msg="loop lag 12 ms", src="other")
    assert normalise_message("Lag  12 ms") == "lag # ms"
    assert dedup_key_for(a) == dedup_key_for(b) != dedup_key_for(c)
    assert dedup_key_for(alert(key="explicit")) == "explicit"


def test_open_update_resolve() -> None:
    p = AlertPolicy(AlertsConfig(), BOTH)
    first = p.on_alert(alert(), T0)
    assert kinds(first) == [("slack", "message"), ("pagerduty", "trigger")]
    assert p.on_alert(alert(msg="feed down"), T0 + S) == []  # same incident: no new page
    assert p.incidents[dedup_key_for(alert())].count == 2
    done = p.on_alert(alert(resolve=True), T0 + 2 * S)
    assert sorted(kinds(done)) == [("pagerduty", "resolve"), ("slack", "message")]
    assert len({a.job_id for a in first + done}) == 4


def test_severity_routing_and_upgrade() -> None:
    p = AlertPolicy(AlertsConfig(), BOTH)
    assert p.on_alert(alert(Severity.INFO, key="i"), T0) == []  # TUI only
    assert kinds(p.on_alert(alert(Severity.WARNING, key="w"), T0)) == [("slack", "message")]
    up = p.on_alert(alert(Severity.CRITICAL, key="w"), T0 + S)
    assert kinds(up) == [("slack", "message"), ("pagerduty", "trigger")]
    assert up[1].payload["severity"] == "CRITICAL"


def test_same_alert_replayed_maps_to_same_job_ids() -> None:
    a = alert(ts=T0 + 5)
    ids1 = [x.job_id for x in AlertPolicy(AlertsConfig(), BOTH).on_alert(a, T0 + 9)]
    ids2 = [x.job_id for x in AlertPolicy(AlertsConfig(), BOTH).on_alert(a, T0 + 99)]
    assert ids1 == ids2


def test_repeats_and_ack_stop_them() -> None:
    cfg = AlertsConfig(repeat_after_s=300, max_repeats=2)
    p = AlertPolicy(cfg, BOTH)
    p.on_alert(alert(key="k"), T0)
    assert p.on_tick(T0 + 299 * S) == []
    r1 = p.on_tick(T0 + 300 * S)
    assert kinds(r1) == [("slack", "message")]
    assert r1[0].payload["event"] == "repeat"
    assert p.on_tick(T0 + 400 * S) == []
    assert len(p.on_tick(T0 + 600 * S)) == 1
    assert p.on_tick(T0 + 2000 * S) == []  # max_repeats reached
    p2 = AlertPolicy(cfg, BOTH)
    p2.on_alert(alert(key="k"), T0)
    ack = p2.on_acknowledge("k", "ops", T0 + 10 * S)
    assert sorted(kinds(ack)) == [("pagerduty", "acknowledge"), ("slack", "message")]
    assert p2.on_tick(T0 + 1000 * S) == []
    assert p2.on_acknowledge("k", "ops", T0 + 11 * S) == []  # once


def test_warning_escalates_to_page() -> None:
    p = AlertPolicy(AlertsConfig(escalate_after_s=600), BOTH)
    p.on_alert(alert(Severity.WARNING, key="w"), T0)
    assert p.on_tick(T0 + 599 * S) == []
    esc = p.on_tick(T0 + 600 * S)
    assert kinds(esc) == [("slack", "message"), ("pagerduty", "trigger")]
    assert esc[1].payload["event"] == "escalate"
    assert esc[1].payload["severity"] == "CRITICAL"
    assert p.on_tick(T0 + 601 * S) == []
    # an acknowledged warning does not escalate
    p2 = AlertPolicy(AlertsConfig(escalate_after_s=600), BOTH)
    p2.on_alert(alert(Severity.WARNING, key="w"), T0)
    p2.on_acknowledge("w", "ops", T0 + S)
    assert p2.on_tick(T0 + 700 * S) == []


def test_flapping_is_held_then_summarised() -> None:
    cfg = AlertsConfig(flap_window_s=120, flap_max_transitions=4)
    p = AlertPolicy(cfg, BOTH)
    sent = []
    t = T0
    for i in range(10):  # open/resolve every 5 s
        sent += p.on_alert(alert(key="f", resolve=i % 2 == 1), t)
        t += 5 * S
    # the first 4 transitions went out (2 opens, 2 resolves on 2 channels), then held
    assert len(sent) == 8
    assert p.on_tick(t + 60 * S) == []  # not yet stable for a whole window
    out = p.on_tick(t + 200 * S)
    assert [a.payload["event"] for a in out] == ["flap"]  # ended resolved: PD already resolved
    assert "stable now: resolved" in out[0].payload["note"]
    assert p.on_tick(t + 400 * S) == []


def test_flapping_ending_open_triggers_pagerduty() -> None:
    p = AlertPolicy(AlertsConfig(flap_window_s=60, flap_max_transitions=2), BOTH)
    p.on_alert(alert(key="f"), T0)
    p.on_alert(alert(key="f", resolve=True), T0 + S)
    assert p.on_alert(alert(key="f"), T0 + 2 * S) == []  # third transition: held
    out = p.on_tick(T0 + 100 * S)
    assert sorted(kinds(out)) == [("pagerduty", "trigger"), ("slack", "message")]


def test_rate_limit_drops_non_critical_but_not_critical() -> None:
    p = AlertPolicy(AlertsConfig(max_per_minute=3), frozenset({"slack"}))
    sent = [p.on_alert(alert(Severity.WARNING, key=f"w{i}"), T0 + i) for i in range(5)]
    assert sum(len(s) for s in sent) == 3
    crit = [p.on_alert(alert(Severity.CRITICAL, key=f"c{i}"), T0 + 10 + i) for i in range(3)]
    assert all(len(c) == 1 for c in crit)
    assert p.suppressed["slack"] == 2
    assert p.on_tick(T0 + 30 * S) == []  # window still full
    summary = p.on_tick(T0 + 61 * S)
    assert [a.payload["event"] for a in summary] == ["rate_limited"]
    assert "2 non-critical" in summary[0].payload["message"]


def test_quiet_hours_hold_non_critical_and_send_digest() -> None:
    assert parse_quiet_hours("22:00-07:00") == (22 * 60, 7 * 60)
    p = AlertPolicy(AlertsConfig(quiet_hours_utc="22:00-07:00"), BOTH)
    assert p.is_quiet(T0)  # 22:13 UTC
    assert p.on_alert(alert(Severity.WARNING, key="w1", msg="spread wide"), T0) == []
    assert p.on_alert(alert(Severity.WARNING, key="w2", msg="slow venue"), T0 + S) == []
    assert kinds(p.on_alert(alert(Severity.CRITICAL, key="c"), T0 + 2 * S)) == [
        ("slack", "message"), ("pagerduty", "trigger")]  # critical never held
    # acknowledged: no escalation or repeats, so only the digest is in play
    for k in ("w1", "w2", "c"):
        p.on_acknowledge(k, "ops", T0 + 3 * S)
    assert p.on_tick(T0 + 3600 * S) == []  # still quiet (23:13)
    morning = T0 + (8 * 3600 + 50 * 60) * S  # 07:03 UTC
    out = [a for a in p.on_tick(morning) if a.payload["event"] == "digest"]
    assert len(out) == 1
    assert "spread wide" in out[0].payload["message"]
    assert "slow venue" in out[0].payload["message"]
    assert all(a.payload["event"] != "digest" for a in p.on_tick(morning + S))


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9),
       st.text(alphabet="abcxyz ", min_size=1, max_size=12))
def test_dedup_key_ignores_numbers_property(a: int, b: int, word: str) -> None:
    assert dedup_key_for(alert(msg=f"{word} {a} ms")) == dedup_key_for(alert(msg=f"{word} {b} ms"))


@given(st.lists(st.sampled_from([Severity.INFO, Severity.WARNING, Severity.CRITICAL]),
                max_size=60))
def test_critical_is_never_rate_limited_property(sevs: list[Severity]) -> None:
    p = AlertPolicy(AlertsConfig(max_per_minute=2, info_channels=("slack",)),
                    frozenset({"slack"}))
    for i, sev in enumerate(sevs):
        out = p.on_alert(alert(sev, key=f"k{i}"), T0 + i)
        if sev is Severity.CRITICAL:
            assert len(out) == 1
