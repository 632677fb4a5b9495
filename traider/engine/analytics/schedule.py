"""When the daemon builds and sends its reports: each UTC day for the day before, and on
the configured weekday for the seven days before. What was sent is remembered in the
store (`meta`), so a restart neither skips nor repeats a report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NS = 1_000_000_000
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ReportsConfig:
    enabled: bool = True  # build reports on schedule (the headless daemon and the TUI)
    daily: bool = True
    weekly: bool = True
    weekly_on: str = "monday"  # the day the weekly report (the 7 days before) is sent
    send_to_slack: bool = True  # through the alert outbox, when Slack is configured

    def __post_init__(self) -> None:
        if self.weekly_on not in WEEKDAYS:
            raise ValueError(
                f"reports.weekly_on {self.weekly_on!r}: use one of {', '.join(WEEKDAYS)}"
            )


@dataclass(frozen=True, slots=True)
class DueReport:
    period: str  # "daily" | "weekly"
    end_ns: int  # UTC midnight that closes the window
    label: str  # the last day reported, YYYY-MM-DD

    @property
    def meta_key(self) -> str:
        return f"report:{self.period}:last"


def due_reports(
    now_ns: int, config: ReportsConfig, last_sent: dict[str, str | None]
) -> list[DueReport]:
    """Reports whose window has closed and that were not sent yet (`last_sent` maps the
    period to the label of the last one sent)."""
    if not config.enabled:
        return []
    today = datetime.fromtimestamp(now_ns / NS, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    end_ns = int(today.timestamp()) * NS
    label = (today - timedelta(days=1)).strftime("%Y-%m-%d")
    out = []
    if config.daily and last_sent.get("daily") != label:
        out.append(DueReport("daily", end_ns, label))
    is_weekly_day = WEEKDAYS[today.weekday()] == config.weekly_on
    if config.weekly and is_weekly_day and last_sent.get("weekly") != label:
        out.append(DueReport("weekly", end_ns, label))
    return out
