"""Historical stress scenarios found in dated daily data: the worst days, weeks and the
deepest drawdown of an anchor symbol, with every asset's path over the window.
Split from `stress.py`, which re-exports these names."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# --- dated daily closes ---------------------------------------------------------------------


@dataclass(frozen=True)
class DailyPanel:
    """Daily closes on a continuous calendar: row d is `dates[d]`, NaN where a symbol has
    no close that day. (`ReturnHistory` drops the dates, which scenarios need.)"""

    dates: tuple[str, ...]  # every day from the first to the last, ISO yyyy-mm-dd
    symbols: tuple[str, ...]
    closes: np.ndarray  # (D, N)
    source: str = ""

    @classmethod
    def from_series(cls, series: Mapping[str, Mapping[str, float]], source: str = "") -> DailyPanel:
        """From `{symbol: {date: close}}`."""
        days = sorted({d[:10] for closes in series.values() for d in closes})
        if not days:
            raise ValueError("no closes")
        first = dt.date.fromisoformat(days[0])
        count = (dt.date.fromisoformat(days[-1]) - first).days + 1
        dates = tuple((first + dt.timedelta(days=i)).isoformat() for i in range(count))
        symbols = tuple(sorted(series))
        closes = np.full((count, len(symbols)), np.nan)
        for j, s in enumerate(symbols):
            for d, close in series[s].items():
                if not (math.isfinite(close) and close > 0.0):
                    raise ValueError(f"{s} {d}: close must be finite and > 0, got {close!r}")
                closes[(dt.date.fromisoformat(d[:10]) - first).days, j] = close
        return cls(dates, symbols, closes, source)

    def column(self, symbol: str) -> np.ndarray:
        col: np.ndarray = self.closes[:, self.symbols.index(symbol)]
        return col

    def beta(self, symbol: str, to: str) -> float:
        """Beta of `symbol`'s daily returns to `to`'s, over the days both have returns."""
        if symbol == to:
            return 1.0
        a, b = _daily_returns(self.column(symbol)), _daily_returns(self.column(to))
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 3:
            return 1.0
        var = float(np.var(b[ok], ddof=1))
        return float(np.cov(a[ok], b[ok])[0, 1]) / var if var > 0.0 else 1.0


def load_daily_panel(path: Path, symbols: tuple[str, ...] | None = None) -> DailyPanel:
    """A long-format daily CSV (`date, symbol, close`, like the Bitstamp file) as a panel."""
    series: dict[str, dict[str, float]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if symbols is None or row["symbol"] in symbols:
                series.setdefault(row["symbol"], {})[row["date"][:10]] = float(row["close"])
    missing = [s for s in symbols or () if s not in series]
    if missing or not series:
        raise ValueError(f"{path}: no data for {', '.join(missing) or 'any symbol'}")
    return DailyPanel.from_series(series, f"file {path.name}")


def _daily_returns(closes: np.ndarray) -> np.ndarray:
    """r[d] = close[d] / close[d-1] - 1 for d ≥ 1 (NaN where either is missing); r[0] NaN."""
    r = np.full(closes.shape, np.nan)
    r[1:] = closes[1:] / closes[:-1] - 1.0
    return r


# --- finding the windows --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    kind: str  # "1-day", "5-day", "drawdown"
    start: str  # date of the close the window starts from
    end: str  # date of the close it ends on
    anchor: str
    anchor_return: float  # end close / start close - 1


def worst_windows(
    panel: DailyPanel, anchor: str = "BTC-USD", horizon_days: int = 1, count: int = 3
) -> list[Window]:
    """The `count` worst `horizon_days` returns of `anchor`, worst first, no two windows
    overlapping (a window spans the days after its start close up to its end close)."""
    if horizon_days < 1 or count < 0:
        raise ValueError("horizon_days must be >= 1 and count >= 0")
    c = panel.column(anchor)
    h = horizon_days
    if len(c) <= h:
        return []
    ret = c[h:] / c[:-h] - 1.0  # ret[i]: close i -> close i + h
    order = [int(i) for i in np.argsort(ret, kind="stable") if np.isfinite(ret[i])]
    taken: list[int] = []
    out: list[Window] = []
    for i in order:
        if len(out) >= count or ret[i] >= 0.0:
            break
        if any(abs(i - j) < h for j in taken):
            continue
        taken.append(i)
        kind = f"{h}-day"
        out.append(Window(kind, panel.dates[i], panel.dates[i + h], anchor, float(ret[i])))
    return out


def worst_drawdown_window(panel: DailyPanel, anchor: str = "BTC-USD") -> Window | None:
    """The anchor's deepest peak-to-trough fall (closes only): from the highest close before
    the trough to the trough. None if it never fell."""
    c = panel.column(anchor)
    idx = np.flatnonzero(np.isfinite(c))
    if len(idx) < 2:
        return None
    vals = c[idx]
    peaks = np.maximum.accumulate(vals)
    dd = vals / peaks - 1.0
    trough = int(np.argmin(dd))
    if dd[trough] >= 0.0:
        return None
    peak = int(np.argmax(vals[: trough + 1]))
    start, end = int(idx[peak]), int(idx[trough])
    return Window("drawdown", panel.dates[start], panel.dates[end], anchor, float(dd[trough]))


@dataclass(frozen=True)
class HistoricalScenario:
    name: str
    window: Window
    daily_returns: dict[str, np.ndarray]  # data symbol -> its returns day by day
    betas: dict[str, float]  # data symbol -> beta to the anchor (for a symbol without data)
    source: str

    @property
    def days(self) -> int:
        return len(self.daily_returns[self.window.anchor])

    def total_return(self, data_symbol: str) -> float | None:
        r = self.daily_returns.get(data_symbol)
        return None if r is None else float(np.prod(1.0 + r) - 1.0)


def _scenario(panel: DailyPanel, window: Window, name: str) -> HistoricalScenario:
    i0, i1 = panel.dates.index(window.start), panel.dates.index(window.end)
    daily: dict[str, np.ndarray] = {}
    betas: dict[str, float] = {}
    for s in panel.symbols:
        c = panel.column(s)[i0 : i1 + 1]
        betas[s] = panel.beta(s, window.anchor)
        if not (np.isfinite(c[0]) and np.isfinite(c[-1])):
            continue  # no data over this window: moves by beta (see _asset_paths)
        filled = c.copy()
        for k in range(1, len(filled)):  # a missing day inside the window: unchanged
            if not np.isfinite(filled[k]):
                filled[k] = filled[k - 1]
        daily[s] = filled[1:] / filled[:-1] - 1.0
    return HistoricalScenario(name, window, daily, betas, panel.source)


def historical_scenarios(
    panel: DailyPanel,
    anchor: str = "BTC-USD",
    one_day: int = 3,
    five_day: int = 3,
    drawdown: bool = True,
) -> list[HistoricalScenario]:
    """Scenarios found in the data: worst 1-day, worst 5-day, worst drawdown of `anchor`."""
    out: list[HistoricalScenario] = []
    tag = anchor.split("-")[0]
    for h, n in ((1, one_day), (5, five_day)):
        for k, w in enumerate(worst_windows(panel, anchor, h, n), start=1):
            out.append(_scenario(panel, w, f"{tag} worst {h}-day #{k} ({w.end})"))
    if drawdown:
        w_dd = worst_drawdown_window(panel, anchor)
        if w_dd is not None:
            out.append(_scenario(panel, w_dd, f"{tag} worst drawdown ({w_dd.start} → {w_dd.end})"))
    return out
