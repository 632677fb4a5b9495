"""Daily and weekly performance reports from the journal (read-only), with a P&L chart.

Window: `[end_ns − 1 day, end_ns)` for "daily", `[end_ns − 7 days, end_ns)` for "weekly"
(the CLI passes the midnight UTC after the last day reported).

Numbers come from the engine's `EquityRecorded` samples: the window opens at the last
sample before it (or, with none, at the first sample inside it, the periods before that
sample not counted) and closes at the last sample inside it. P&L = equity change;
realized and fees are the changes of the account's running totals; unrealized change =
P&L − realized + fees (equity = start + realized − fees + unrealized). Without equity
samples the equity numbers are None and realized / fees come from the fills. Ratios use
returns resampled to the last value per period (`performance.resample_last`): **hourly**
returns for a daily report, **daily** for a weekly one, annualised over a 365-day year;
None with fewer than two returns. The drawdown is measured on the raw samples. Win rate
and profit factor count the round trips closed in the window (per strategy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np

from traider.engine.analytics import performance as perf
from traider.engine.analytics.attribution import (
    Benchmark,
    JournalData,
    Marks,
    StrategyPnl,
    attribute,
    buy_and_hold,
    read_journal,
)
from traider.engine.analytics.chart import render_pnl_chart
from traider.engine.state.sqlite_store import SQLiteStore

__all__ = ["Period", "Report", "build_report", "send_report"]

Period = Literal["daily", "weekly"]
_SPAN_NS = {"daily": perf.NS_PER_DAY, "weekly": 7 * perf.NS_PER_DAY}
_RETURNS = {"daily": ("hourly", perf.NS_PER_HOUR, perf.HOURS_PER_YEAR),
            "weekly": ("daily", perf.NS_PER_DAY, perf.DAYS_PER_YEAR)}  # fmt: skip
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
NO_ACTIVITY = "no trading activity"


def _iso(ts_ns: int | None) -> str | None:
    if ts_ns is None:
        return None
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_CENT, ROUND_HALF_EVEN))


def _num(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


@dataclass(slots=True)
class Report:
    """One report; `to_json()` has stable keys, money as decimal strings (cents)."""

    period: Period
    start_ns: int
    end_ns: int
    activity: bool
    fills: int = 0
    equity_start: Decimal | None = None
    equity_end: Decimal | None = None
    pnl: Decimal | None = None
    total_return: float | None = None
    realized: Decimal = _ZERO
    unrealized_change: Decimal | None = None
    fees: Decimal = _ZERO
    notional: Decimal = _ZERO
    turnover: float | None = None
    round_trips: int = 0
    win_rate: float | None = None
    profit_factor: float | None = None
    returns_frequency: str = ""
    returns_count: int = 0
    risk_free: float = 0.0
    volatility: float | None = None
    annualised_return: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    calmar: float | None = None
    drawdown: perf.Drawdown = field(
        default_factory=lambda: perf.Drawdown(0.0, None, None, None, 0, None, None)
    )
    longest_underwater_ns: int = 0
    strategies: list[StrategyPnl] = field(default_factory=list)
    benchmark: Benchmark | None = None
    chart_path: Path | None = None

    @property
    def unattributed(self) -> Decimal | None:
        """Account P&L − Σ strategy P&L: marks differences (strategies are marked at fill
        prices, the account at the engine's marks) and strategies netting in one symbol."""
        if self.pnl is None:
            return None
        return self.pnl - sum((s.pnl for s in self.strategies), _ZERO)

    @property
    def label(self) -> str:
        last = datetime.fromtimestamp((self.end_ns - 1) // 1_000_000_000, UTC).date()
        if self.period == "daily":
            return last.isoformat()
        first = datetime.fromtimestamp(self.start_ns // 1_000_000_000, UTC).date()
        return f"{first.isoformat()}..{last.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        dd = self.drawdown
        bench = self.benchmark
        return {
            "period": self.period,
            "label": self.label,
            "start": _iso(self.start_ns),
            "end": _iso(self.end_ns),
            "activity": self.activity,
            "message": "" if self.activity else NO_ACTIVITY,
            "equity_start": _money(self.equity_start),
            "equity_end": _money(self.equity_end),
            "pnl": _money(self.pnl),
            "total_return": _num(self.total_return),
            "realized": _money(self.realized),
            "unrealized_change": _money(self.unrealized_change),
            "fees": _money(self.fees),
            "fills": self.fills,
            "round_trips": self.round_trips,
            "win_rate": _num(self.win_rate),
            "profit_factor": _num(self.profit_factor),
            "notional": _money(self.notional),
            "turnover": _num(self.turnover),
            "returns_frequency": self.returns_frequency,
            "returns_count": self.returns_count,
            "risk_free": self.risk_free,
            "volatility": _num(self.volatility),
            "annualised_return": _num(self.annualised_return),
            "sharpe": _num(self.sharpe),
            "sortino": _num(self.sortino),
            "calmar": _num(self.calmar),
            "max_drawdown": _num(dd.depth),
            "drawdown_peak": _iso(dd.peak_ns),
            "drawdown_trough": _iso(dd.trough_ns),
            "drawdown_recovery": _iso(dd.recovery_ns),
            "drawdown_duration_s": dd.duration_ns // 1_000_000_000,
            "longest_underwater_s": self.longest_underwater_ns // 1_000_000_000,
            "strategies": [
                {
                    "strategy_id": s.strategy_id,
                    "symbols": list(s.symbols),
                    "realized": _money(s.realized),
                    "fees": _money(s.fees),
                    "unrealized_change": _money(s.unrealized_change),
                    "pnl": _money(s.pnl),
                    "fills": s.fills,
                    "round_trips": s.round_trips,
                    "notional": _money(s.notional),
                }
                for s in self.strategies
            ],
            "unattributed_pnl": _money(self.unattributed),
            "benchmark": None
            if bench is None
            else {
                "symbols": list(bench.symbols),
                "price_source": bench.price_source,
                "pnl": _num(bench.pnl, 2),
                "total_return": _num(bench.total_return),
            },
            "chart_path": None if self.chart_path is None else str(self.chart_path),
        }

    def to_text(self) -> str:
        head = f"traider {self.period} report {self.label} (UTC)"
        if not self.activity:
            return f"{head}: {NO_ACTIVITY}"
        lines = [head]
        if self.pnl is not None:
            ret = "" if self.total_return is None else f" ({self.total_return:+.2%})"
            lines.append(
                f"equity {_fmt(self.equity_start)} → {_fmt(self.equity_end)}   "
                f"P&L {_fmt(self.pnl, sign=True)}{ret}"
            )
        lines.append(
            f"realized {_fmt(self.realized, sign=True)}   unrealized Δ "
            f"{_fmt(self.unrealized_change, sign=True)}   fees {_fmt(self.fees)}"
        )
        lines.append(
            f"fills {self.fills}   round trips {self.round_trips}   win rate "
            f"{_pct(self.win_rate)}   profit factor {_ratio(self.profit_factor)}   turnover "
            f"{_ratio(self.turnover)}x"
        )
        lines.append(
            f"sharpe {_ratio(self.sharpe)}   sortino {_ratio(self.sortino)}   calmar "
            f"{_ratio(self.calmar)}   vol {_pct(self.volatility)}   ({self.returns_count} "
            f"{self.returns_frequency} returns, 365-day year)"
        )
        dd = self.drawdown
        if dd.depth > 0:
            lines.append(
                f"max drawdown {-dd.depth:.2%} ({_iso(dd.peak_ns)} → {_iso(dd.trough_ns)}, "
                f"{_dur(dd.duration_ns)}{'' if dd.recovery_ns else ', not recovered'})"
            )
        else:
            lines.append("max drawdown 0.00%")
        if self.benchmark is not None:
            b = self.benchmark
            ret = "" if b.total_return is None else f" ({b.total_return:+.2%})"
            lines.append(f"buy & hold {','.join(b.symbols)}: {b.pnl:+,.2f}{ret}")
        if self.strategies:
            lines.append(
                f"{'strategy':<16}{'realized':>12}{'fees':>10}{'unreal Δ':>12}{'P&L':>12}"
                f"{'fills':>7}{'trips':>7}"
            )
            for s in self.strategies:
                lines.append(
                    f"{s.strategy_id[:16]:<16}{_fmt(s.realized, sign=True):>12}"
                    f"{_fmt(s.fees):>10}{_fmt(s.unrealized_change, sign=True):>12}"
                    f"{_fmt(s.pnl, sign=True):>12}{s.fills:>7}{s.round_trips:>7}"
                )
            if self.unattributed:
                lines.append(
                    f"{'unattributed':<16}{'':>44}{_fmt(self.unattributed, sign=True):>12}"
                )
        if self.chart_path is not None:
            lines.append(f"chart: {self.chart_path}")
        return "\n".join(lines)


def _fmt(value: Decimal | None, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    q = value.quantize(_CENT, ROUND_HALF_EVEN)
    return f"{q:+,.2f}" if sign else f"{q:,.2f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _dur(ns: int) -> str:
    minutes = ns // 60_000_000_000
    days, rest = divmod(minutes, 1440)
    return (f"{days}d " if days else "") + f"{rest // 60}h {rest % 60:02d}m"


def build_report(
    store_path: Path,
    period: Period,
    end_ns: int,
    out_dir: Path,
    *,
    risk_free: float = 0.0,
    marks: Marks | None = None,
) -> Report:
    """Read the journal at `store_path` (read-only) and build the report for the window
    ending at `end_ns`; the chart PNG goes to `out_dir` (created if needed). `marks`
    overrides the benchmark / unrealized price series (default: journal fill prices).
    A missing store file gives an empty report; `StoreUnavailable` if it cannot be read."""
    if period not in _SPAN_NS:
        raise ValueError(f"period must be 'daily' or 'weekly', got {period!r}")
    start_ns = end_ns - _SPAN_NS[period]
    data = JournalData()
    if store_path.exists():  # no store yet: nothing was traded (as `traider status` reads it)
        store = SQLiteStore.open_readonly(store_path)
        try:
            data = read_journal(store, until_ns=end_ns)
        finally:
            store.close()
    return report_from_journal(data, period, start_ns, end_ns, out_dir, risk_free, marks)


def report_from_journal(
    data: JournalData,
    period: Period,
    start_ns: int,
    end_ns: int,
    out_dir: Path,
    risk_free: float = 0.0,
    marks: Marks | None = None,
) -> Report:
    freq, step_ns, per_year = _RETURNS[period]
    inside = [f for f in data.fills if start_ns <= f.ts_event < end_ns]
    samples = [e for e in data.equity if start_ns <= e.ts_event < end_ns]
    report = Report(period, start_ns, end_ns, activity=bool(inside or samples))
    report.returns_frequency, report.risk_free = freq, risk_free
    if not report.activity:
        return report
    marks = marks or Marks.from_fills(data.fills)
    report.fills = len(inside)
    report.strategies = attribute(data, start_ns, end_ns, marks)
    report.realized = sum((s.realized for s in report.strategies), _ZERO)
    report.fees = sum((f.fee for f in inside), _ZERO)
    report.notional = perf.traded_notional(inside)
    trips = [t for s in report.strategies for t in s.trips]
    report.round_trips = len(trips)
    report.win_rate, report.profit_factor = perf.win_rate(trips), perf.profit_factor(trips)
    if not samples:
        return report
    before = [e for e in data.equity if e.ts_event < start_ns]
    base = before[-1] if before else samples[0]
    last = samples[-1]
    report.equity_start, report.equity_end = base.equity, last.equity
    report.pnl = last.equity - base.equity
    report.realized = last.realized - base.realized
    report.fees = last.fees - base.fees
    report.unrealized_change = report.pnl - report.realized + report.fees
    opening = [(start_ns, base)] if before else []  # the opening value, at the window start
    points = opening + [(e.ts_event, e) for e in samples]
    ts = np.array([t for t, _ in points], dtype=np.int64)
    equity = np.array([float(e.equity) for _, e in points])
    if np.all(equity > 0):
        _ratios(report, ts, equity, step_ns, per_year, risk_free, bool(before))
    report.turnover = perf.turnover(report.notional, float(np.mean(equity)))
    traded = {f.symbol for f in inside} or {s for st in report.strategies for s in st.symbols}
    report.benchmark = buy_and_hold(marks, traded, float(base.equity), int(ts[0]), ts)
    report.chart_path = out_dir / f"{report.period}-{report.label}.png"
    render_pnl_chart(report, ts, equity - float(base.equity), report.chart_path)
    return report


def _ratios(
    report: Report,
    ts: Any,
    equity: Any,
    step_ns: int,
    per_year: int,
    risk_free: float,
    carried_in: bool,
) -> None:
    if carried_in:  # the opening value is the last value of the period before the window
        rs_ts = ts.copy()
        rs_ts[0] = ts[0] - 1
        _, values = perf.resample_last(rs_ts, equity, step_ns, first_period_ns=int(rs_ts[0]))
    else:  # no earlier sample: the curve opens at its first sample, periods from there on
        _, values = perf.resample_last(ts, equity, step_ns)
        values = np.concatenate([equity[:1], values])
    returns = perf.simple_returns(values)
    report.returns_count = int(returns.size)
    report.total_return = perf.total_return(equity[[0, -1]])
    report.volatility = perf.volatility(returns, per_year)
    report.sharpe = perf.sharpe_ratio(returns, per_year, risk_free)
    report.sortino = perf.sortino_ratio(returns, per_year, risk_free)
    if returns.size >= 2:
        report.annualised_return = perf.annualised_return(
            report.total_return, int(returns.size), per_year
        )
    report.drawdown = perf.max_drawdown(ts, equity)
    report.longest_underwater_ns = perf.longest_underwater_ns(ts, equity)
    report.calmar = perf.calmar_ratio(report.annualised_return, report.drawdown.depth)


def send_report(report: Report, alert_service: Any) -> bool:
    """Queue the report for Slack through the alert service's durable outbox: the chart as
    a file upload with the text table as its comment (or just the text without a chart).
    False when Slack is not enabled (no secret in the environment)."""
    title = f"traider {report.period} report {report.label}"
    text = report.to_text()
    if report.chart_path is not None and report.chart_path.exists():
        return bool(alert_service.send_file(report.chart_path, title, f"```{text}```"))
    key = f"report:{report.period}:{report.label}"
    return bool(alert_service.send_message(key, title, f"```{text}```"))
