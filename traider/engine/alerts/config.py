"""`[alerts]`: where alerts go (Slack, PagerDuty), how often, and how delivery retries.

Secrets are never in the config file: it names the ENVIRONMENT VARIABLES that hold them
(`slack_webhook_url_env`, ...). A channel whose variable is unset is disabled with one
warning at start-up; nothing crashes.

Routing by severity: `info_channels=()` means INFO stays on the TUI (the engine's alerts
log shows every alert anyway), WARNING goes to Slack, CRITICAL to Slack and PagerDuty.

Escalation (chosen policy): a WARNING incident that is still open and unacknowledged
`escalate_after_s` after it opened is promoted to CRITICAL: it pages (PagerDuty trigger
with severity "critical", summary prefixed "[escalated]") and Slack says so. From then on it
is treated as any critical. An unacknowledged CRITICAL is re-notified on Slack every
`repeat_after_s`, at most `max_repeats` times (PagerDuty is not re-triggered: an open
PagerDuty incident with the same dedup key does not page again, its own escalation policy
does that). `acknowledge` stops both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHANNELS = ("slack", "pagerduty")
_QUIET_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """"22:00-07:00" -> (start, end) in minutes after midnight UTC; "" -> None."""
    text = text.strip()
    if not text:
        return None
    m = _QUIET_RE.match(text)
    if m is None:
        raise ValueError(f'alerts.quiet_hours_utc: expected "HH:MM-HH:MM" (UTC), got {text!r}')
    start = int(m.group(1)) * 60 + int(m.group(2))
    end = int(m.group(3)) * 60 + int(m.group(4))
    if start == end:
        raise ValueError("alerts.quiet_hours_utc: start and end must differ")
    return start, end


@dataclass(frozen=True)
class AlertsConfig:
    enabled: bool = True  # false: nothing leaves the process (the TUI still shows alerts)
    # names of the environment variables holding secrets (never the secrets themselves)
    slack_webhook_url_env: str = "TRAIDER_SLACK_WEBHOOK_URL"  # incoming webhook: messages
    slack_bot_token_env: str = "TRAIDER_SLACK_BOT_TOKEN"  # noqa: S105  (a variable name)
    slack_channel: str = "#trading-alerts"  # bot token only; a channel ID (C...) is best
    pagerduty_routing_key_env: str = "TRAIDER_PAGERDUTY_ROUTING_KEY"  # Events API v2 key
    # "" = the services' real endpoints (https://slack.com/api/, https://events.pagerduty.com)
    slack_base_url: str = ""
    pagerduty_base_url: str = ""  # must be https:// (the PagerDuty client refuses http)
    ca_bundle_file: str = ""  # extra CA bundle (PEM) to trust; "" = system/certifi defaults
    # severity routing: channel names from ("slack", "pagerduty")
    info_channels: tuple[str, ...] = ()
    warning_channels: tuple[str, ...] = ("slack",)
    critical_channels: tuple[str, ...] = ("slack", "pagerduty")
    # escalation (see the module docstring)
    repeat_after_s: float = 300.0  # re-notify an unacknowledged critical on Slack
    escalate_after_s: float = 600.0  # a warning open and unacked this long pages as critical
    max_repeats: int = 3
    # flap suppression: more than this many opens/resolves of one incident within the
    # window holds it; one summary is sent once it has been stable for a whole window
    flap_window_s: float = 120.0
    flap_max_transitions: int = 4
    # rate limit per channel; critical always passes (still deduplicated); what is dropped
    # is counted and reported in one summary message when the window has room again
    max_per_minute: int = 20
    # non-critical Slack during these UTC hours is held and sent as one digest afterwards;
    # critical is never held. "" = no quiet hours. Example: "22:00-07:00"
    quiet_hours_utc: str = ""
    # delivery: exponential backoff with jitter; Retry-After on 429 is honoured
    timeout_s: float = 5.0
    max_attempts: int = 10  # then the job is dead-lettered with its last error
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    worker_poll_s: float = 0.25  # worker wake-up period; submit() wakes it at once

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("info_channels", "warning_channels", "critical_channels"):
            unknown = [c for c in getattr(self, name) if c not in CHANNELS]
            if unknown:
                problems.append(f"alerts.{name}: unknown channel(s) {unknown}; use {CHANNELS}")
        positive = (
            "repeat_after_s", "escalate_after_s", "flap_window_s", "timeout_s",
            "backoff_initial_s", "backoff_max_s", "worker_poll_s",
        )
        problems += [f"alerts.{n} must be > 0" for n in positive if getattr(self, n) <= 0]
        if self.max_repeats < 0:
            problems.append("alerts.max_repeats must be >= 0")
        if self.flap_max_transitions < 2:
            problems.append("alerts.flap_max_transitions must be >= 2")
        if self.max_per_minute < 1:
            problems.append("alerts.max_per_minute must be >= 1")
        if self.max_attempts < 1:
            problems.append("alerts.max_attempts must be >= 1")
        if self.backoff_max_s < self.backoff_initial_s:
            problems.append("alerts.backoff_max_s must be >= backoff_initial_s")
        if self.pagerduty_base_url and not self.pagerduty_base_url.startswith("https://"):
            problems.append("alerts.pagerduty_base_url must start with https://")
        try:
            parse_quiet_hours(self.quiet_hours_utc)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))

    def channels_for(self, severity: str) -> tuple[str, ...]:
        """Channels for a Severity value ("INFO", "WARNING", "CRITICAL")."""
        if severity == "CRITICAL":
            return self.critical_channels
        if severity == "WARNING":
            return self.warning_channels
        return self.info_channels
