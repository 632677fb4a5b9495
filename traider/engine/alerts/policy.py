"""What to send where, and when: pure decisions on an injected time, no I/O.

One incident per dedup key (`dedup_key_for`). `AlertPolicy` turns alerts, operator
acknowledgements and the passage of time into `Action`s (channel, kind, payload, a stable
job id); the service stores them in the outbox and the senders render and deliver them.

- open / update / resolve: the first alert of a key opens the incident and notifies the
  channels its severity routes to; identical alerts while open only count (no new page);
  a higher severity notifies the channels it adds; `resolve=True` closes it on the
  channels that were told it opened.
- flapping: more than `flap_max_transitions` opens/resolves inside `flap_window_s` holds
  the incident; once it has been stable for a whole window one summary goes out (and
  PagerDuty is brought to the final state).
- rate limit: at most `max_per_minute` notifications per channel in any 60 s; CRITICAL
  always passes; what was dropped is reported in one summary later.
- quiet hours: non-critical Slack notifications are held and sent as one digest after.
- repeats and escalation: see `config.py`.

Job ids: sha256 of channel, kind, key, the opening alert's `ts_event` and a per-incident
sequence number. The engine re-submitting the same alert after a restart therefore maps to
the same job ids, and the outbox's idempotent enqueue does not send it again.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from traider.engine.alerts.config import AlertsConfig, parse_quiet_hours
from traider.engine.core.clock import NANOS_PER_SECOND
from traider.engine.core.events import Alert
from traider.engine.core.types import Severity

_NUMBER = re.compile(r"[-+]?\d+(?:[.,:]\d+)*")
_SPACES = re.compile(r"\s+")
_MINUTE_NS = 60 * NANOS_PER_SECOND
_DIGEST_MAX_LINES = 40
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


def normalise_message(message: str) -> str:
    """Numbers become '#', whitespace collapses: "lag 12 ms" == "lag 15 ms"."""
    return _SPACES.sub(" ", _NUMBER.sub("#", message)).strip().lower()


def dedup_key_for(alert: Alert) -> str:
    """The incident key: the alert's own `dedup_key`, else a stable hash."""
    if alert.dedup_key:
        return alert.dedup_key
    raw = f"{alert.source}\x1f{normalise_message(alert.message)}".encode()
    return f"{alert.source}:{hashlib.sha256(raw).hexdigest()[:16]}"


def job_id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Action:
    """One delivery to make. `payload` is channel-neutral; the senders render it."""

    channel: str  # "slack" | "pagerduty"
    kind: str  # trigger | acknowledge | resolve | message | file
    dedup_key: str
    payload: dict[str, Any]
    job_id: str


@dataclass
class Incident:
    key: str
    severity: Severity
    source: str
    message: str
    details: dict[str, str]
    opened_event_ns: int  # ts_event of the opening alert: anchors the job ids
    opened_ns: int  # policy time it opened
    last_seen_ns: int
    count: int = 1
    is_open: bool = True
    acked_by: str = ""
    notified: set[str] = field(default_factory=set)  # channels told it is open
    repeats: int = 0
    last_notified_ns: int = 0
    escalated: bool = False
    transitions: deque[int] = field(default_factory=deque)
    held: bool = False  # flapping: notifications held until stable
    held_transitions: int = 0
    seq: int = 0


class AlertPolicy:
    """Incident state and the decisions; the caller serialises calls (not thread-safe)."""

    def __init__(self, config: AlertsConfig, enabled_channels: frozenset[str]) -> None:
        self.config = config
        self.enabled = enabled_channels if config.enabled else frozenset()
        self.incidents: dict[str, Incident] = {}
        self._quiet = parse_quiet_hours(config.quiet_hours_utc)
        self._sent: dict[str, deque[int]] = {c: deque() for c in ("slack", "pagerduty")}
        self.suppressed: dict[str, int] = {"slack": 0, "pagerduty": 0}
        self._suppressed_pending: dict[str, int] = {"slack": 0, "pagerduty": 0}
        self._digest: list[str] = []
        self._misc_seq = 0

    # --- helpers -----------------------------------------------------------------------

    def _routes(self, severity: Severity) -> list[str]:
        return [c for c in self.config.channels_for(severity.value) if c in self.enabled]

    def is_quiet(self, now_ns: int) -> bool:
        if self._quiet is None:
            return False
        minute = (now_ns // _MINUTE_NS) % (24 * 60)
        start, end = self._quiet
        return start <= minute < end if start < end else (minute >= start or minute < end)

    def _admit(self, channel: str, severity: Severity, now_ns: int) -> bool:
        window = self._sent[channel]
        while window and window[0] <= now_ns - _MINUTE_NS:
            window.popleft()
        if severity is not Severity.CRITICAL and len(window) >= self.config.max_per_minute:
            self.suppressed[channel] += 1
            self._suppressed_pending[channel] += 1
            return False
        window.append(now_ns)
        return True

    def _action(self, inc: Incident, channel: str, kind: str, event: str, now_ns: int,
                title: str, **extra: Any) -> Action:
        inc.seq += 1
        payload: dict[str, Any] = {
            "event": event,
            "title": title,
            "severity": inc.severity.value,
            "source": inc.source,
            "message": inc.message,
            "details": dict(inc.details),
            "dedup_key": inc.key,
            "ts_ns": now_ns,
            "count": inc.count,
            **extra,
        }
        jid = job_id(channel, kind, inc.key, inc.opened_event_ns, inc.seq)
        return Action(channel, kind, inc.key, payload, jid)

    def _misc(self, channel: str, kind: str, key: str, payload: dict[str, Any],
              now_ns: int) -> Action:
        self._misc_seq += 1
        return Action(channel, kind, key, payload, job_id(channel, kind, key, now_ns,
                                                          self._misc_seq))

    def _transition(self, inc: Incident, now_ns: int) -> None:
        """Record an open/resolve; decide whether the incident is flapping."""
        window_ns = int(self.config.flap_window_s * NANOS_PER_SECOND)
        inc.transitions.append(now_ns)
        while inc.transitions and inc.transitions[0] <= now_ns - window_ns:
            inc.transitions.popleft()
        if inc.held:
            inc.held_transitions += 1
        elif len(inc.transitions) > self.config.flap_max_transitions:
            inc.held = True
            inc.held_transitions = 1

    def _notify_open(self, inc: Incident, channels: list[str], event: str, title: str,
                     now_ns: int) -> list[Action]:
        out: list[Action] = []
        critical = inc.severity is Severity.CRITICAL
        for ch in channels:
            if ch == "slack" and not critical and self.is_quiet(now_ns):
                self._digest.append(f"{inc.severity.value} {inc.source}: {inc.message}")
                inc.notified.add(ch)
                continue
            if not self._admit(ch, inc.severity, now_ns):
                continue
            kind = "trigger" if ch == "pagerduty" else "message"
            out.append(self._action(inc, ch, kind, event, now_ns, title))
            inc.notified.add(ch)
        if out:
            inc.last_notified_ns = now_ns
        return out

    def _notify_resolve(self, inc: Incident, now_ns: int, title: str) -> list[Action]:
        out: list[Action] = []
        for ch in sorted(inc.notified):
            if ch == "slack" and inc.severity is not Severity.CRITICAL and self.is_quiet(now_ns):
                self._digest.append(f"RESOLVED {inc.source}: {inc.message}")
                continue
            kind = "resolve" if ch == "pagerduty" else "message"
            out.append(self._action(inc, ch, kind, "resolve", now_ns, title))
        inc.notified.clear()
        return out

    # --- inputs ------------------------------------------------------------------------

    def on_alert(self, alert: Alert, now_ns: int) -> list[Action]:
        key = dedup_key_for(alert)
        inc = self.incidents.get(key)
        if alert.resolve:
            if inc is None or not inc.is_open:
                return []
            inc.is_open = False
            inc.last_seen_ns = now_ns
            if alert.message:
                inc.message = alert.message
            self._transition(inc, now_ns)
            if inc.held:
                return []
            return self._notify_resolve(inc, now_ns, "Resolved")
        severity = Severity(alert.severity)
        if inc is not None and inc.is_open:
            inc.count += 1
            inc.last_seen_ns = now_ns
            inc.message = alert.message
            inc.details = dict(alert.details)
            if _RANK[severity] <= _RANK[inc.severity] or inc.held:
                inc.severity = max(inc.severity, severity, key=_RANK.__getitem__)
                return []  # the same incident: counted, not re-sent
            inc.severity = severity
            return self._notify_open(inc, self._routes(severity), "upgrade",
                                     f"Now {severity.value}", now_ns)
        if inc is None:
            inc = Incident(key, severity, alert.source, alert.message, dict(alert.details),
                           alert.ts_event, now_ns, now_ns)
            self.incidents[key] = inc
        else:  # reopened
            inc.severity, inc.source, inc.message = severity, alert.source, alert.message
            inc.details = dict(alert.details)
            inc.opened_event_ns, inc.opened_ns, inc.last_seen_ns = alert.ts_event, now_ns, now_ns
            inc.count, inc.is_open, inc.acked_by = 1, True, ""
            inc.repeats, inc.escalated = 0, False
        self._transition(inc, now_ns)
        if inc.held:
            return []
        return self._notify_open(inc, self._routes(severity), "open", severity.value, now_ns)

    def on_acknowledge(self, key: str, by: str, now_ns: int) -> list[Action]:
        inc = self.incidents.get(key)
        payload = {"event": "acknowledge", "title": "Acknowledged", "by": by,
                   "dedup_key": key, "ts_ns": now_ns}
        if inc is None:
            # unknown here (e.g. opened before a restart): PagerDuty may still have it open
            if "pagerduty" in self.enabled:
                return [self._misc("pagerduty", "acknowledge", key, payload, now_ns)]
            return []
        if inc.acked_by:
            return []
        inc.acked_by = by or "operator"
        out = []
        for ch in sorted(inc.notified):
            kind = "acknowledge" if ch == "pagerduty" else "message"
            out.append(self._action(inc, ch, kind, "acknowledge", now_ns, "Acknowledged",
                                    by=inc.acked_by))
        return out

    def on_message(self, key: str, payload: dict[str, Any], now_ns: int,
                   kind: str = "message") -> list[Action]:
        """A free-form Slack message or file (reports): not an incident, not rate limited."""
        if "slack" not in self.enabled:
            return []
        return [self._misc("slack", kind, key, payload, now_ns)]

    def on_tick(self, now_ns: int) -> list[Action]:
        cfg = self.config
        out: list[Action] = []
        window_ns = int(cfg.flap_window_s * NANOS_PER_SECOND)
        repeat_ns = int(cfg.repeat_after_s * NANOS_PER_SECOND)
        escalate_ns = int(cfg.escalate_after_s * NANOS_PER_SECOND)
        for key, inc in list(self.incidents.items()):
            if inc.held:
                if inc.transitions and now_ns - inc.transitions[-1] < window_ns:
                    continue
                out += self._release_flap(inc, now_ns)
            if not inc.is_open:
                if now_ns - inc.last_seen_ns > 2 * window_ns and not inc.held:
                    del self.incidents[key]  # nothing left to decide about it
                continue
            if inc.acked_by:
                continue
            if (inc.severity is Severity.WARNING and not inc.escalated
                    and now_ns - inc.opened_ns >= escalate_ns):
                inc.escalated = True
                inc.severity = Severity.CRITICAL
                out += self._notify_open(inc, self._routes(Severity.CRITICAL), "escalate",
                                         "Escalated to CRITICAL", now_ns)
                continue
            if (inc.severity is Severity.CRITICAL and inc.repeats < cfg.max_repeats
                    and "slack" in inc.notified and now_ns - inc.last_notified_ns >= repeat_ns):
                inc.repeats += 1
                inc.last_notified_ns = now_ns
                out.append(self._action(inc, "slack", "message", "repeat", now_ns,
                                        f"Still firing ({inc.repeats}/{cfg.max_repeats})",
                                        repeat=inc.repeats))
        out += self._flush_summaries(now_ns)
        return out

    def _release_flap(self, inc: Incident, now_ns: int) -> list[Action]:
        inc.held = False
        flaps, inc.held_transitions = inc.held_transitions, 0
        inc.transitions.clear()
        state = "open" if inc.is_open else "resolved"
        out: list[Action] = []
        routes = self._routes(inc.severity)
        note = (f"flapped {flaps} more time(s) within {self.config.flap_window_s:g}s; "
                f"stable now: {state}")
        if "slack" in routes:
            out.append(self._action(inc, "slack", "message", "flap", now_ns,
                                    f"Flapping ({state})", note=note))
            if inc.is_open:
                inc.notified.add("slack")
            else:
                inc.notified.discard("slack")
        if "pagerduty" in routes:
            if inc.is_open and "pagerduty" not in inc.notified:
                out.append(self._action(inc, "pagerduty", "trigger", "flap", now_ns,
                                        inc.severity.value, note=note))
                inc.notified.add("pagerduty")
            elif not inc.is_open and "pagerduty" in inc.notified:
                out.append(self._action(inc, "pagerduty", "resolve", "flap", now_ns,
                                        "Resolved", note=note))
                inc.notified.discard("pagerduty")
        if out:
            inc.last_notified_ns = now_ns
        return out

    def _flush_summaries(self, now_ns: int) -> list[Action]:
        out: list[Action] = []
        if self._digest and not self.is_quiet(now_ns) and "slack" in self.enabled:
            lines = self._digest[:_DIGEST_MAX_LINES]
            more = len(self._digest) - len(lines)
            if more:
                lines.append(f"... and {more} more")
            payload = {"event": "digest", "title": "Quiet-hours digest",
                       "severity": Severity.INFO.value, "source": "alerts",
                       "message": "\n".join(lines), "dedup_key": "digest", "ts_ns": now_ns,
                       "held": len(self._digest)}
            out.append(self._misc("slack", "message", "digest", payload, now_ns))
            self._digest = []
        dropped = self._suppressed_pending["slack"]
        if dropped and "slack" in self.enabled:
            window = self._sent["slack"]
            while window and window[0] <= now_ns - _MINUTE_NS:
                window.popleft()
            if len(window) < self.config.max_per_minute:
                window.append(now_ns)
                payload = {"event": "rate_limited", "title": "Alerts rate limited",
                           "severity": Severity.WARNING.value, "source": "alerts",
                           "message": f"{dropped} non-critical notification(s) dropped by the "
                                      f"rate limit ({self.config.max_per_minute}/min)",
                           "dedup_key": "rate-limit", "ts_ns": now_ns}
                out.append(self._misc("slack", "message", "rate-limit", payload, now_ns))
                self._suppressed_pending["slack"] = 0
        self._suppressed_pending["pagerduty"] = 0
        return out

    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.is_open]
