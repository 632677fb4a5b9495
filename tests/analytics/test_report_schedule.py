from __future__ import annotations

from datetime import UTC, datetime

import pytest

from traider.engine.analytics.schedule import ReportsConfig, due_reports


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1_000_000_000


def test_daily_once_per_day_and_weekly_on_its_day() -> None:
    cfg = ReportsConfig()
    tuesday = ns("2026-11-24T00:05:00")
    due = due_reports(tuesday, cfg, {})
    assert [(d.period, d.label) for d in due] == [("daily", "2026-11-23")]
    assert due[0].end_ns == ns("2026-11-24T00:00:00")
    assert due_reports(tuesday, cfg, {"daily": "2026-11-23"}) == []
    monday = ns("2026-11-30T09:00:00")
    due = due_reports(monday, cfg, {"daily": "2026-11-28"})
    assert [(d.period, d.label) for d in due] == [("daily", "2026-11-29"), ("weekly", "2026-11-29")]
    assert due_reports(monday, cfg, {"daily": "2026-11-29", "weekly": "2026-11-29"}) == []


def test_disabled_and_bad_weekday() -> None:
    assert due_reports(ns("2026-11-30T09:00:00"), ReportsConfig(enabled=False), {}) == []
    with pytest.raises(ValueError, match=r"reports\.weekly_on"):
        ReportsConfig(weekly_on="funday")
