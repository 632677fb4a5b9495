"""The cumulative P&L chart of a report (matplotlib, imported only when a chart is drawn)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from traider.engine.analytics.reports import Report

__all__ = ["render_pnl_chart"]


def render_pnl_chart(report: Report, ts: Any, pnl: Any, path: Path) -> None:
    """Cumulative P&L (and the benchmark's) against UTC time, as a PNG. Uses matplotlib's
    object API on the Agg canvas: no pyplot, no global backend switch, thread-safe."""
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path.parent.mkdir(parents=True, exist_ok=True)
    to_num = mdates.date2num
    times = to_num(np.asarray(ts, dtype="datetime64[ns]"))  # type: ignore[no-untyped-call]
    start = float(to_num(np.datetime64(report.start_ns, "ns")))  # type: ignore[no-untyped-call]
    end = float(to_num(np.datetime64(report.end_ns, "ns")))  # type: ignore[no-untyped-call]
    fig = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(times, pnl, label="account P&L", color="tab:blue", drawstyle="steps-post")
    bench = report.benchmark
    if bench is not None:
        label = f"buy & hold {', '.join(bench.symbols)} ({bench.price_source.split(',')[0]})"
        bench_pnl = bench.value - bench.start_value
        ax.plot(times, bench_pnl, label=label, color="tab:gray", ls="--", drawstyle="steps-post")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_title(f"traider {report.period} cumulative P&L, {report.label} (UTC)")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("cumulative P&L (USD)")
    ax.set_xlim(start, end)
    ax.xaxis_date(tz=UTC)
    locator: mdates.DateLocator
    if report.period == "daily":
        locator = mdates.HourLocator(byhour=range(0, 24, 3), tz=UTC)  # type: ignore[no-untyped-call]
        fmt = "%H:%M"
    else:
        locator = mdates.DayLocator(tz=UTC)  # type: ignore[no-untyped-call]
        fmt = "%m-%d"
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=UTC))  # type: ignore[no-untyped-call]
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, format="png")
