"""Stress tests: what the book would lose in historical crashes and hypothetical shocks, and
which limits that loss would break.

**Historical scenarios** are found by the code in real daily data (`DailyPanel`, loaded
from the long-format daily CSVs): the `n` worst 1-day and worst 5-day anchor (BTC) returns,
non-overlapping, and the anchor's worst peak-to-trough drawdown. Each replays every
asset's own daily returns over that window (buy and hold: quantities fixed, so USD
exposure moves with the price). Windows are on the calendar: an h-day return needs closes
h days apart, so a hole in the data (Bitstamp has none from 2019-03-20 to 03-31) is never
mistaken for one day.

**Mapping portfolio symbols to data.** A symbol present in the data stands for itself;
otherwise its proxy (`DATA_PROXIES`: SOL-USD → LTC-USD, a liquid large-cap alt, as in the
simulator's calibration); otherwise the anchor itself. An asset with no closes over a
window (ETH and LTC start in 2017, so not in the 2015 crash) moves by its beta to the
anchor, measured on the common daily returns in the data, applied day by day. Every
substitution is spelled out in the scenario's description.

**Hypothetical shocks** use the covariance of a `ReturnHistory` (sample covariance of its
daily returns, long-run rather than EWMA: stress is about the bad regime, not today's):

* BTC -20%, correlations 1: BTC's move is z = -20% / σ_BTC of its own σ, and every asset
  moves z of its own σ: r_i = z σ_i.
* ETH -30%: every asset moves its beta to ETH times -30%: r_i = β_i (-30%),
  β_i = cov(i, ETH) / var(ETH).
* spreads ×k, depth ÷k (k = 5): the cost of closing every position at once, walking its
  book (best-first `(price, size)` levels, e.g. `L2Book.top(n)`) with every size ÷k and
  the touch spread ×k around mid (each bid moves down, each ask up, by (k-1) half-spreads:
  the book behind the touch keeps its shape). Cost is against the mid mark; what the
  levels cannot absorb is charged at the last level's price and reported.

A move never takes a price below zero (returns are clipped at -100%).

**Breaks** (`StressLimits`, the `RiskConfig` limits in USD): the daily loss limit (for a
multi-day window: its worst single day), the VaR limit (a scenario loss beyond the 1-day
VaR budget), the per-asset position cap against the equity left after the move, and the
drawdown tier the deepest point of the scenario would reach.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from traider.config import RiskConfig
from traider.engine.risk.drawdown import DEFAULT_TIERS, DrawdownTier, tier_for
from traider.engine.risk.history import ReturnHistory
from traider.engine.risk.stress_scenarios import (
    DailyPanel,
    HistoricalScenario,
    Window,
    historical_scenarios,
    load_daily_panel,
    worst_drawdown_window,
    worst_windows,
)

__all__ = [
    "DATA_PROXIES",
    "DailyPanel",
    "HistoricalScenario",
    "LiquidationCost",
    "ScenarioResult",
    "StressLimits",
    "Window",
    "historical_scenarios",
    "liquidation_cost",
    "load_daily_panel",
    "run_stress",
    "worst_drawdown_window",
    "worst_windows",
]

DATA_PROXIES: dict[str, str] = {"SOL-USD": "LTC-USD"}  # as traider.sim.calibration

Levels = Sequence[tuple[float, float]]  # (price, size), best first


# --- liquidation against a stressed book ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiquidationCost:
    cost_usd: float  # versus the mid mark, ≥ 0
    filled_qty: float
    unfilled_qty: float  # beyond the book's levels: charged at the last level's price
    mid: float


def liquidation_cost(
    quantity: float,
    bids: Levels,
    asks: Levels,
    spread_mult: float = 5.0,
    depth_div: float = 5.0,
) -> LiquidationCost:
    """Cost of closing a signed `quantity` (long > 0 sells into the bids) at once against
    the book with sizes ÷ `depth_div` and the touch spread × `spread_mult` around mid."""
    if not bids or not asks:
        raise ValueError("liquidation needs a two-sided book")
    if spread_mult < 1.0 or depth_div <= 0.0:
        raise ValueError("spread_mult must be >= 1 and depth_div > 0")
    best_bid, best_ask = bids[0][0], asks[0][0]
    mid = (best_bid + best_ask) / 2.0
    widen = (spread_mult - 1.0) * (best_ask - best_bid) / 2.0
    if quantity > 0.0:
        levels = [(max(0.0, p - widen), s / depth_div) for p, s in bids]
    else:
        levels = [(p + widen, s / depth_div) for p, s in asks]
    left = abs(quantity)
    cost = 0.0
    price = mid
    for price, size in levels:
        take = min(left, size)
        cost += take * abs(mid - price)
        left -= take
        if left <= 0.0:
            break
    unfilled = max(left, 0.0)
    cost += unfilled * abs(mid - price)
    return LiquidationCost(cost, abs(quantity) - unfilled, unfilled, mid)


# --- limits and results ---------------------------------------------------------------------


@dataclass(frozen=True)
class StressLimits:
    capital_usd: float  # the base of the loss and VaR limits (PreTradeRisk: starting cash)
    daily_loss_limit_pct: float = 2.0
    var_limit_pct: float = 1.0
    max_position_pct_of_capital: float = 20.0  # of equity, as PreTradeRisk applies it
    drawdown_tiers: tuple[DrawdownTier, ...] = DEFAULT_TIERS
    equity_usd: float | None = None  # now; None: capital
    peak_equity_usd: float | None = None  # for the drawdown tiers; None: the equity now

    @classmethod
    def from_risk_config(
        cls,
        risk: RiskConfig,
        capital_usd: float,
        equity_usd: float | None = None,
        peak_equity_usd: float | None = None,
        drawdown_tiers: tuple[DrawdownTier, ...] = DEFAULT_TIERS,
    ) -> StressLimits:
        return cls(
            capital_usd=capital_usd,
            daily_loss_limit_pct=risk.daily_loss_limit_pct,
            var_limit_pct=risk.var_limit_pct,
            max_position_pct_of_capital=risk.max_position_pct_of_capital,
            drawdown_tiers=drawdown_tiers,
            equity_usd=equity_usd,
            peak_equity_usd=peak_equity_usd,
        )

    @property
    def equity(self) -> float:
        return self.capital_usd if self.equity_usd is None else self.equity_usd

    @property
    def peak(self) -> float:
        return max(self.equity, self.peak_equity_usd or self.equity)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    description: str
    pnl_usd: float
    per_asset: dict[str, float]  # portfolio symbol -> P&L
    breaks: list[str]
    kind: str = "historical"  # "historical", "hypothetical", "liquidity"
    returns: dict[str, float] = field(default_factory=dict)  # symbol -> move applied
    worst_day_pnl_usd: float = 0.0  # the worst single day (= pnl for one-step scenarios)
    worst_pnl_usd: float = 0.0  # the deepest point along the path


def _breaks(
    limits: StressLimits,
    pnl: float,
    worst_day: float,
    worst_point: float,
    after: Mapping[str, float],
    days: int,
) -> list[str]:
    out: list[str] = []
    cap = limits.capital_usd
    loss_limit = cap * limits.daily_loss_limit_pct / 100.0
    if -worst_day >= loss_limit > 0.0 or (loss_limit == 0.0 and worst_day < 0.0):
        when = "in one day" if days <= 1 else "on its worst day"
        out.append(
            f"daily loss limit: loses {-worst_day:,.2f} USD {when} >= "
            f"{limits.daily_loss_limit_pct:g}% of capital ({loss_limit:,.2f}): kill switch"
        )
    var_limit = cap * limits.var_limit_pct / 100.0
    if -pnl > var_limit:
        span = "" if days <= 1 else f" over {days} days"
        out.append(
            f"VaR limit: loses {-pnl:,.2f} USD{span} > the 1-day VaR budget "
            f"{var_limit:,.2f} ({limits.var_limit_pct:g}% of capital)"
        )
    equity_after = limits.equity + pnl
    pos_cap = max(equity_after, 0.0) * limits.max_position_pct_of_capital / 100.0
    for symbol, value in after.items():
        if abs(value) > pos_cap:
            out.append(
                f"position limit: {symbol} {abs(value):,.2f} USD after the move > "
                f"{limits.max_position_pct_of_capital:g}% of equity left ({pos_cap:,.2f})"
            )
    peak = limits.peak
    tiers = limits.drawdown_tiers
    if peak > 0.0:
        now = tier_for((peak - limits.equity) / peak, tiers)
        deepest = (peak - (limits.equity + worst_point)) / peak
        reached = tier_for(deepest, tiers)
        if reached > now:
            t = tiers[reached - 1]
            effect = "no new risk" if t.size_scale == 0.0 else f"new orders ×{t.size_scale:g}"
            out.append(
                f"drawdown tier {reached}: {deepest * 100:.1f}% from the peak "
                f"(≥{t.drawdown_pct:g}%): {effect}"
            )
    return out


def _resolve(symbol: str, available: Sequence[str], anchor: str) -> tuple[str, str]:
    """(data symbol, note) for a portfolio symbol; note is "" when it stands for itself."""
    if symbol in available:
        return symbol, ""
    proxy = DATA_PROXIES.get(symbol)
    if proxy is not None and proxy in available:
        return proxy, f"{symbol} as {proxy} (proxy)"
    return anchor, f"{symbol}: no data, moves as {anchor}"


def _asset_paths(sc: HistoricalScenario, data_symbol: str) -> tuple[np.ndarray, str]:
    """Daily returns of one data symbol over the scenario, and a note if substituted."""
    r = sc.daily_returns.get(data_symbol)
    if r is not None:
        return r, ""
    beta = sc.betas.get(data_symbol, 1.0)
    anchor = sc.daily_returns[sc.window.anchor]
    note = f"{data_symbol} no data then: {sc.window.anchor} daily × β {beta:.2f}"
    return np.maximum(beta * anchor, -1.0), note


def _historical(
    sc: HistoricalScenario, exposures: Mapping[str, float], limits: StressLimits
) -> ScenarioResult:
    anchor = sc.window.anchor
    available = tuple(sc.betas)
    notes: list[str] = []
    values = np.zeros(sc.days + 1)  # portfolio P&L path, day 0 = now
    per_asset: dict[str, float] = {}
    returns: dict[str, float] = {}
    after: dict[str, float] = {}
    for symbol, e in exposures.items():
        data_symbol, note = _resolve(symbol, available, anchor)
        daily, note2 = _asset_paths(sc, data_symbol)
        notes.extend(n for n in (note, note2) if n and n not in notes)
        growth = np.concatenate(([1.0], np.cumprod(1.0 + daily)))
        values += e * (growth - 1.0)
        returns[symbol] = float(growth[-1] - 1.0)
        per_asset[symbol] = float(e * (growth[-1] - 1.0))
        after[symbol] = float(e * growth[-1])
    pnl = float(values[-1])
    worst_day = float(np.min(np.diff(values))) if sc.days else 0.0
    worst_point = float(np.min(values))
    w = sc.window
    span = f"{sc.days} day{'s' if sc.days != 1 else ''}"
    if w.kind == "drawdown":
        span += ", peak to trough"
    desc = f"{anchor} {w.anchor_return:+.1%} from the close of {w.start} to {w.end}"
    desc += f" ({span}; {sc.source})"
    if notes:
        desc += "; " + "; ".join(notes)
    return ScenarioResult(
        sc.name,
        desc,
        pnl,
        per_asset,
        _breaks(limits, pnl, worst_day, worst_point, after, sc.days),
        "historical",
        returns,
        worst_day,
        worst_point,
    )


def _one_step(
    name: str,
    description: str,
    moves: Mapping[str, float],
    exposures: Mapping[str, float],
    limits: StressLimits,
) -> ScenarioResult:
    per_asset = {s: e * moves[s] for s, e in exposures.items()}
    after = {s: e * (1.0 + moves[s]) for s, e in exposures.items()}
    pnl = sum(per_asset.values())
    return ScenarioResult(
        name,
        description,
        pnl,
        per_asset,
        _breaks(limits, pnl, pnl, min(pnl, 0.0), after, 1),
        "hypothetical",
        dict(moves),
        pnl,
        min(pnl, 0.0),
    )


def _covariance(history: ReturnHistory) -> np.ndarray:
    r = np.asarray(history.returns, dtype=float)
    if r.ndim != 2 or r.shape[0] < 3 or r.shape[1] != len(history.symbols):
        raise ValueError("history needs a (T >= 3, N) return matrix matching its symbols")
    cov: np.ndarray = np.atleast_2d(np.cov(r, rowvar=False))
    return cov


def _hypothetical(
    exposures: Mapping[str, float],
    history: ReturnHistory,
    limits: StressLimits,
    btc_shock: float,
    eth_shock: float,
) -> list[ScenarioResult]:
    cov = _covariance(history)
    syms = history.symbols
    out: list[ScenarioResult] = []
    btc, eth = "BTC-USD", "ETH-USD"
    if btc in syms:
        ib = syms.index(btc)
        sd_b = math.sqrt(cov[ib, ib])
        z = btc_shock / sd_b
        moves: dict[str, float] = {}
        notes: list[str] = []
        for s in exposures:
            data_symbol, note = _resolve(s, syms, btc)
            j = syms.index(data_symbol)
            moves[s] = max(-1.0, z * math.sqrt(cov[j, j]))
            if note:
                notes.append(note)
        desc = (
            f"BTC-USD {btc_shock:+.0%} = {z:+.2f} of its daily σ ({sd_b:.2%}); with every "
            f"correlation 1, each asset moves {z:+.2f} of its own σ ({history.source})"
        )
        out.append(
            _one_step(
                f"BTC {btc_shock:+.0%}, ρ=1", "; ".join([desc, *notes]), moves, exposures, limits
            )
        )
    if eth in syms:
        ie = syms.index(eth)
        var_e = cov[ie, ie]
        moves = {}
        notes = []
        for s in exposures:
            data_symbol, note = _resolve(s, syms, btc if btc in syms else eth)
            j = syms.index(data_symbol)
            beta = cov[j, ie] / var_e if var_e > 0.0 else 0.0
            moves[s] = max(-1.0, float(beta) * eth_shock)
            notes.append(f"{s} β {beta:.2f}" + (f" ({note})" if note else ""))
        desc = (
            f"ETH-USD {eth_shock:+.0%}; every asset moves its beta to ETH × {eth_shock:+.0%} "
            f"({history.source}): " + ", ".join(notes)
        )
        out.append(_one_step(f"ETH {eth_shock:+.0%}, β moves", desc, moves, exposures, limits))
    return out


def _liquidity(
    exposures: Mapping[str, float],
    books: Mapping[str, tuple[Levels, Levels]],
    limits: StressLimits,
    factor: float,
) -> ScenarioResult:
    per_asset: dict[str, float] = {}
    notes: list[str] = []
    extra: list[str] = []
    for symbol, e in exposures.items():
        if e == 0.0:
            per_asset[symbol] = 0.0
            continue
        book = books.get(symbol)
        if book is None or not book[0] or not book[1]:
            notes.append(f"{symbol}: no two-sided book, not costed")
            per_asset[symbol] = 0.0
            continue
        bids, asks = book
        mid = (bids[0][0] + asks[0][0]) / 2.0
        lc = liquidation_cost(e / mid, bids, asks, factor, factor)
        per_asset[symbol] = -lc.cost_usd
        if lc.unfilled_qty > 0.0:
            extra.append(
                f"book exhausted: {symbol} {lc.unfilled_qty:g} of {abs(e / mid):g} beyond the "
                f"{'bid' if e > 0 else 'ask'} levels given (charged at the last level)"
            )
    pnl = sum(per_asset.values())
    desc = (
        f"close every position at once: book sizes ÷{factor:g}, touch spread ×{factor:g} "
        "around mid; cost against the mid mark"
    )
    if notes:
        desc += "; " + "; ".join(notes)
    breaks = extra + _breaks(limits, pnl, pnl, pnl, {}, 1)
    return ScenarioResult(
        f"Liquidity: spreads ×{factor:g}, depth ÷{factor:g}",
        desc,
        pnl,
        per_asset,
        breaks,
        "liquidity",
        {},
        pnl,
        pnl,
    )


def run_stress(
    exposures: Mapping[str, float],
    history: ReturnHistory,
    books: Mapping[str, tuple[Levels, Levels]] | None,
    limits: StressLimits,
    *,
    historical: Sequence[HistoricalScenario] = (),
    btc_shock: float = -0.20,
    eth_shock: float = -0.30,
    liquidity_factor: float = 5.0,
) -> list[ScenarioResult]:
    """Every scenario against signed USD `exposures` (+ long, - short) by portfolio symbol.

    `historical`: scenarios from `historical_scenarios(load_daily_panel(...))` (found once,
    reused). `history`: the return history behind the hypothetical shocks. `books`: top
    levels per symbol for the liquidity scenario (skipped when None).
    """
    bad = [s for s, e in exposures.items() if not math.isfinite(e)]
    if bad:
        raise ValueError(f"non-finite exposure for {', '.join(bad)}")
    results = [_historical(sc, exposures, limits) for sc in historical]
    results.extend(_hypothetical(exposures, history, limits, btc_shock, eth_shock))
    if books is not None:
        results.append(_liquidity(exposures, books, limits, liquidity_factor))
    return results
