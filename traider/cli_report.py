"""`traider report daily|weekly`: performance reports read from the journal.

The report reads `$TRAIDER_HOME/traider.db` (or `store.sqlite_path`) read-only, so it can
run next to a live engine; the chart PNG goes to `$TRAIDER_HOME/reports/`. numpy and
matplotlib load inside the commands, so `traider --help` stays instant.

Exit codes as in traider.cli: 0 ok (also when there was no trading activity); 2 bad usage
(malformed --end, bad config); 3 the store cannot be read. Errors are one line on stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from traider.engine.analytics.reports import Period

report_app = typer.Typer(
    help="Daily / weekly performance reports (P&L, Sharpe, Sortino, Calmar, drawdown, "
    "per-strategy P&L, a P&L chart) from the journal. Crypto trades 365 days a year.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EndOpt = Annotated[
    str | None,
    typer.Option(
        "--end", help="Last UTC day in the report, YYYY-MM-DD (default: today, UTC, so far)."
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Machine-readable output with stable keys (and chart path).")
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="config.toml to use (default: $TRAIDER_HOME/config.toml if present)."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one setting, e.g. --set store.sqlite_path=/tmp/t.db."),
]
RiskFreeOpt = Annotated[
    float, typer.Option("--risk-free", help="Annual risk-free rate for Sharpe/Sortino, e.g. 0.04.")
]
SendOpt = Annotated[
    bool, typer.Option("--send", help="Also send it to Slack (chart and table; needs the token).")
]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"traider: {message}", err=True)
    raise typer.Exit(code)


def end_of_day_ns(end: str | None, today: date | None = None) -> int:
    """`--end` (the last day reported) → the UTC midnight after it, in ns."""
    if end is None:
        day = today or datetime.now(UTC).date()  # allowed: the CLI's default date
    else:
        try:
            day = date.fromisoformat(end)
        except ValueError:
            _fail(f"--end {end!r}: use a UTC date as YYYY-MM-DD, e.g. --end 2024-05-01", 2)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return int(midnight.timestamp()) * 1_000_000_000


def _send(report: Any, cfg: Any) -> str:
    """Deliver the report to Slack now (through the same outbox the engine uses)."""
    import time

    from traider.engine.alerts.outbox import OutboxError
    from traider.engine.alerts.service import AlertService
    from traider.engine.analytics.reports import send_report
    from traider.engine.core.clock import LiveClock

    try:
        service = AlertService(cfg.alerts, cfg.home, LiveClock())
    except OutboxError as exc:
        _fail(f"alert outbox unavailable: {exc}", 1)
    try:
        if not send_report(report, service):
            _fail("Slack is not configured: set TRAIDER_SLACK_BOT_TOKEN (or the webhook URL)", 1)
        deadline = time.monotonic() + 30
        while service.stats().pending and time.monotonic() < deadline:
            service.deliver_due(None)
            time.sleep(0.2)  # allowed: a CLI waiting on its own delivery, bounded above
        stats = service.stats()
        if stats.pending:
            return f"queued for Slack ({stats.pending} pending; the engine will retry)"
        return "sent to Slack" if not stats.last_error else f"Slack: {stats.last_error}"
    finally:
        service.close()


def _run(
    period: Period,
    end: str | None,
    as_json: bool,
    config: Path | None,
    set_: list[str] | None,
    risk_free: float,
    send: bool = False,
) -> None:
    from traider.cli import load_cli_config
    from traider.engine.analytics.reports import build_report
    from traider.engine.state.store import StoreUnavailable

    end_ns = end_of_day_ns(end)
    if not -1.0 < risk_free < 10.0:
        _fail(f"--risk-free {risk_free}: use an annual rate as a fraction, e.g. 0.04", 2)
    cfg = load_cli_config(config, set_)
    try:
        report = build_report(
            cfg.sqlite_path, period, end_ns, cfg.home / "reports", risk_free=risk_free
        )
    except StoreUnavailable as exc:
        _fail(f"store unavailable: {exc}", 3)
    except OSError as exc:
        _fail(f"cannot write the chart under {cfg.home / 'reports'}: {exc}", 1)
    typer.echo(json.dumps(report.to_json()) if as_json else report.to_text())
    if send:
        typer.echo(_send(report, cfg), err=as_json)


@report_app.command("daily")
def daily_command(
    end: EndOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    risk_free: RiskFreeOpt = 0.0,
    send: SendOpt = False,
) -> None:
    """One UTC day: P&L, realized / unrealized, fees, ratios over hourly returns, max
    drawdown, per-strategy table and a cumulative P&L chart."""
    _run("daily", end, as_json, config, set_, risk_free, send)


@report_app.command("weekly")
def weekly_command(
    end: EndOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    risk_free: RiskFreeOpt = 0.0,
    send: SendOpt = False,
) -> None:
    """Seven UTC days ending with --end: as `daily`, with ratios over daily returns."""
    _run("weekly", end, as_json, config, set_, risk_free, send)
