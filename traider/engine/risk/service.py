"""Portfolio risk inside the engine.

Two speeds. Pre-trade (`check`, `size_scale`) runs on the loop for every order and must
cost microseconds: 1-day parametric VaR on the EWMA covariance (RiskMetrics: zero mean,
normal; the same covariance every other limit uses), same-direction correlation pairs,
and the drawdown controller's size scale. The periodic refresh (`refresh`) runs in a
worker thread: VaR/ES by every method, component VaR, stress scenarios.

Why parametric for the limit: it is the only method whose change for a candidate order is
an O(N²) formula, it is the convention RiskMetrics limits use, and on this history its
number sits between historical and Cornish-Fisher (the risk panel shows all of them side
by side, so a method that disagrees is visible).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from traider.config import RiskConfig
from traider.engine.risk.correlation import (
    EwmaCovariance,
    candidate_breaches,
    cluster_exposures,
    correlation_breaches,
    correlation_clusters,
    cov_to_corr,
)
from traider.engine.risk.drawdown import (
    DrawdownConfig,
    DrawdownController,
    DrawdownEvent,
    DrawdownState,
    DrawdownTier,
    vol_target_scale,
)
from traider.engine.risk.history import ReturnHistory
from traider.engine.risk.stress import HistoricalScenario, Levels, StressLimits, run_stress
from traider.engine.risk.var import VarEngine
from traider.engine.view import LimitUse, StressLine, VarLine

PROXIES = {"SOL-USD": "LTC-USD"}  # when a history has no column for the symbol


@dataclass(frozen=True)
class RiskRefresh:
    """One refresh's numbers, ready for the screen and the status command."""

    var: tuple[VarLine, ...]
    component_var: dict[str, float]
    stress: tuple[StressLine, ...]
    limits: tuple[LimitUse, ...]
    breaches: tuple[str, ...]
    clusters: tuple[str, ...]


def align_history(history: ReturnHistory, symbols: Sequence[str]) -> np.ndarray:
    """Columns of `history` in `symbols` order, through PROXIES where needed."""
    index = {s: i for i, s in enumerate(history.symbols)}
    cols = []
    for symbol in symbols:
        source = symbol if symbol in index else PROXIES.get(symbol, "")
        if source not in index:
            have = ", ".join(history.symbols)
            raise ValueError(f"risk history ({history.source}) has no {symbol}; it has {have}")
        cols.append(index[source])
    return np.ascontiguousarray(history.returns[:, cols])


class RiskService:
    def __init__(
        self,
        config: RiskConfig,
        symbols: Sequence[str],
        capital_usd: float,
        history: ReturnHistory,
        scenarios: Sequence[HistoricalScenario] = (),
        seed: int = 7,
    ) -> None:
        self.config = config
        self.symbols = tuple(symbols)
        self.capital_usd = capital_usd
        self.history = history
        self.returns = align_history(history, self.symbols)
        self.scenarios = tuple(scenarios)
        ewma = EwmaCovariance.from_returns(self.returns, config.ewma_lambda)
        self.covariance = ewma.covariance()
        self.correlation = cov_to_corr(self.covariance)
        self.daily_vol = np.sqrt(np.diag(self.covariance))
        self._cov_rows = [list(map(float, row)) for row in self.covariance]  # pure-Python math
        self._z = NormalDist().inv_cdf(config.var_confidence)
        self.var_limit_usd = capital_usd * config.var_limit_pct / 100
        self.combined_limit_usd = capital_usd * config.max_correlated_combined_pct / 100
        tiers = tuple(
            DrawdownTier(p, s)
            for p, s in zip(config.drawdown_tiers_pct, config.drawdown_tier_scales, strict=True)
        )
        self.drawdown = DrawdownController(DrawdownConfig(tiers, config.halt_cooldown_s))
        self.var_engine = VarEngine(paths=config.mc_paths, seed=seed)
        self._lock = threading.Lock()  # the refresh thread reads what the loop may rebase

    # --- pre-trade (on the loop, every order) ----------------------------------------------

    def parametric_var(self, exposures: Sequence[float]) -> float:
        """1-day VaR in USD at the configured confidence: z·sqrt(wᵀΣw)."""
        total = 0.0
        for i, wi in enumerate(exposures):
            if wi:
                row = self._cov_rows[i]
                total += wi * sum(row[j] * wj for j, wj in enumerate(exposures) if wj)
        return self._z * math.sqrt(max(total, 0.0))

    def check(
        self, exposures: Mapping[str, float], symbol: str, delta_usd: float, ts_ns: int
    ) -> str | None:
        """Reason to deny an order that changes `symbol` by `delta_usd`, or None."""
        before = exposures.get(symbol, 0.0)
        if abs(before + delta_usd) <= abs(before):
            return None  # reduces risk in that symbol: always allowed
        scale = self.drawdown.size_scale(ts_ns)
        if scale <= 0.0:
            state = self.drawdown.state(ts_ns)
            return f"drawdown control: no new risk ({_describe_state(state)})"
        now = [exposures.get(s, 0.0) for s in self.symbols]
        after = list(now)
        after[self.symbols.index(symbol)] += delta_usd
        var_before, var_after = self.parametric_var(now), self.parametric_var(after)
        if var_after > self.var_limit_usd and var_after > var_before:
            pct = self.config.var_confidence * 100
            return (
                f"VaR limit: {pct:.0f}% 1-day VaR would be {var_after:.2f} USD "
                f"> {self.var_limit_usd:.2f} USD ({self.config.var_limit_pct:g}% of capital)"
            )
        breaches = candidate_breaches(
            self.correlation,
            self.symbols,
            exposures,
            symbol,
            delta_usd,
            self.config.max_pairwise_correlation,
            self.combined_limit_usd,
        )
        if breaches:
            return f"correlation limit: {breaches[0].describe()}"
        return None

    def size_scales(self, symbol: str, ts_ns: int) -> tuple[float, float]:
        """(volatility target, drawdown tier) multipliers on a new order's size; the
        volatility target is capped at 1: it cuts size in wild markets, never adds."""
        vol = float(self.daily_vol[self.symbols.index(symbol)])
        target = self.config.target_daily_vol_pct / 100
        return vol_target_scale(vol, target, cap=1.0), self.drawdown.size_scale(ts_ns)

    # --- drawdown inputs -------------------------------------------------------------------

    def observe_equity(self, ts_ns: int, equity_usd: float) -> list[DrawdownEvent]:
        with self._lock:
            return self.drawdown.observe(ts_ns, equity_usd)

    def halt(self, ts_ns: int, reason: str) -> list[DrawdownEvent]:
        with self._lock:
            return self.drawdown.halt(ts_ns, reason)

    def reset_halt(self, ts_ns: int) -> list[DrawdownEvent]:
        with self._lock:
            return self.drawdown.reset_halt(ts_ns)

    # --- periodic refresh (worker thread) --------------------------------------------------

    def refresh(
        self,
        exposures: Mapping[str, float],
        books: Mapping[str, tuple[Levels, Levels]] | None,
        equity_usd: float,
        day_pnl_usd: float,
        ts_ns: int,
    ) -> RiskRefresh:
        w = np.array([exposures.get(s, 0.0) for s in self.symbols])
        conf = self.config.var_confidence
        results = self.var_engine.all_methods(w, self.returns, conf, 1)
        var_lines = tuple(VarLine(r.method, float(r.var), float(r.es)) for r in results)
        component: dict[str, float] = {}
        if np.any(w):
            from traider.engine.risk.var import component_var

            comp = component_var(w, self.returns, conf, 1)
            component = {s: float(c) for s, c in zip(self.symbols, comp.component, strict=True)}
        with self._lock:
            state = self.drawdown.state(ts_ns)
        limits = StressLimits.from_risk_config(
            self.config,
            self.capital_usd,
            equity_usd=equity_usd,
            peak_equity_usd=state.peak_equity_usd or equity_usd,
            drawdown_tiers=self.drawdown.config.tiers,
        )
        scenarios = run_stress(
            exposures, self.history_for_stress(), books, limits, historical=self.scenarios
        )
        stress = tuple(StressLine(s.name, s.pnl_usd, tuple(s.breaks)) for s in scenarios)
        loss_limit = self.capital_usd * self.config.daily_loss_limit_pct / 100
        uses = [
            LimitUse(
                f"VaR {conf * 100:.0f}% 1d", self.parametric_var(list(w)), self.var_limit_usd, "USD"
            ),
            LimitUse("daily loss", abs(min(day_pnl_usd, 0.0)), loss_limit, "USD"),
        ]
        first_tier = self.drawdown.config.tiers[0].drawdown_pct if self.drawdown.config.tiers else 0
        if first_tier:
            uses.append(LimitUse("drawdown", state.drawdown_pct, first_tier, "%"))
        cap = max(equity_usd, 0.0) * self.config.max_position_pct_of_capital / 100
        for symbol in self.symbols:
            uses.append(LimitUse(f"{symbol} size", abs(exposures.get(symbol, 0.0)), cap, "USD"))
        breaches = correlation_breaches(
            self.correlation,
            self.symbols,
            exposures,
            self.config.max_pairwise_correlation,
            self.combined_limit_usd,
        )
        return RiskRefresh(
            var_lines,
            component,
            stress,
            tuple(uses),
            tuple(b.describe() for b in breaches),
            self.cluster_lines(exposures),
        )

    def cluster_lines(self, exposures: Mapping[str, float]) -> tuple[str, ...]:
        """Groups of assets linked by |rho| above the limit, and what the book holds in each."""
        groups = correlation_clusters(
            self.correlation, self.symbols, self.config.max_pairwise_correlation
        )
        return tuple(
            f"{' + '.join(c.symbols)}: net {c.net_usd:,.2f} USD, gross {c.gross_usd:,.2f} USD"
            for c in cluster_exposures([g for g in groups if len(g) > 1], exposures)
        )

    def history_for_stress(self) -> ReturnHistory:
        return ReturnHistory(self.symbols, self.returns, self.history.source)


def _describe_state(state: DrawdownState) -> str:
    if state.halted:
        return "halted"
    if state.cooldown_until_ns is not None:
        return "cooling down after a halt"
    return f"drawdown {state.drawdown_pct:.1f}% in tier {state.tier}"
