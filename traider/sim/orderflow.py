"""The stochastic order flow behind the simulated book.

- `RandomStream` hands out uniforms and normals from blocks drawn from one seeded
  `numpy.random.Generator` (cheap per draw, deterministic, no global state).
- `FairPriceProcess` moves a latent fair price per symbol on a fixed time grid:
  correlated shocks (calibration.DAILY_RETURN_CORRELATION), GARCH(1,1)-like variance
  (volatility clustering) and market-wide bursts of higher volatility.
- `CrowdFlow` is the background crowd of one symbol: it inserts, resizes and deletes
  price levels around the fair price, sends market orders, and crosses the spread when
  the fair price has moved through the book, so the book follows the fair price.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from traider.sim import calibration as cal
from traider.sim.matching import OrderBook

_NS = 1_000_000_000


class RandomStream:
    """Uniforms in [0, 1) and standard normals, drawn in blocks."""

    __slots__ = ("_block", "_ni", "_normals", "_rng", "_ui", "_uniforms")

    def __init__(self, rng: np.random.Generator, block: int = 4096) -> None:
        self._rng = rng
        self._block = block
        self._uniforms: list[float] = []
        self._normals: list[float] = []
        self._ui = 0
        self._ni = 0

    def uniform(self) -> float:
        i = self._ui
        if i >= len(self._uniforms):
            self._uniforms = self._rng.random(self._block).tolist()
            i = 0
        self._ui = i + 1
        return self._uniforms[i]

    def normal(self) -> float:
        i = self._ni
        if i >= len(self._normals):
            self._normals = self._rng.standard_normal(self._block).tolist()
            i = 0
        self._ni = i + 1
        return self._normals[i]

    def exponential(self) -> float:
        """Exponential with mean 1."""
        return -math.log(1.0 - self.uniform())


class FairPriceProcess:
    """Latent fair prices of several symbols, stepped on a fixed grid of `step_ns`."""

    def __init__(
        self,
        symbols: Sequence[str],
        rnd: RandomStream,
        start_ns: int,
        step_ns: int = 250_000_000,
        prices: Sequence[float] | None = None,
        daily_vols: Sequence[float] | None = None,
        correlation: list[list[float]] | None = None,
    ) -> None:
        if step_ns <= 0:
            raise ValueError("step_ns must be positive")
        self.symbols = tuple(symbols)
        n = len(self.symbols)
        self._rnd = rnd
        self.step_ns = step_ns
        self.t_ns = start_ns  # time of the last step
        start = prices if prices is not None else [cal.start_price(s) for s in symbols]
        vols = daily_vols if daily_vols is not None else [cal.daily_vol(s) for s in symbols]
        corr = correlation if correlation is not None else cal.correlation_matrix(self.symbols)
        if len(start) != n or len(vols) != n or len(corr) != n:
            raise ValueError("prices, vols and correlation must match the symbols")
        self._chol = cal.cholesky(corr)
        self.log_prices = [math.log(p) for p in start]
        self.prices = [float(p) for p in start]

        dt = step_ns / _NS
        self._dt = dt
        burst_share = cal.BURST_MEAN_S / (cal.BURST_MEAN_S + cal.BURST_EVERY_S)
        self._m2_extra = cal.BURST_VOL_MULT**2 - 1.0
        mean_m2 = 1.0 + self._m2_extra * burst_share
        self._burst_p = 1.0 - math.exp(-dt / cal.BURST_EVERY_S)
        self.burst_until_ns = start_ns
        # GARCH(1,1) per step: h' = w + a·h·z² + b·h, persistence a + b = exp(-dt/tau).
        persistence = math.exp(-dt / cal.GARCH_TAU_S)
        r = cal.GARCH_VAR_OF_VAR
        a = math.sqrt(r * (1.0 - persistence**2) / (2.0 * (1.0 + r)))
        self._a = min(a, persistence)
        self._b = persistence - self._a
        self._long_var = [v * v / cal.SECONDS_PER_DAY * dt / mean_m2 for v in vols]
        self._w = [lv * (1.0 - persistence) for lv in self._long_var]
        self.variance = list(self._long_var)  # per-step variance before bursts

    def in_burst(self, t_ns: int) -> bool:
        return t_ns < self.burst_until_ns

    def step(self) -> None:
        """Advance one grid step."""
        rnd = self._rnd
        t0 = self.t_ns
        t1 = t0 + self.step_ns
        if t0 >= self.burst_until_ns and rnd.uniform() < self._burst_p:
            self.burst_until_ns = t0 + int(rnd.exponential() * cal.BURST_MEAN_S * _NS) + 1
        overlap = min(self.burst_until_ns, t1) - t0
        m2 = 1.0 + self._m2_extra * overlap / self.step_ns if overlap > 0 else 1.0
        chol = self._chol
        n = len(chol)
        e = [rnd.normal() for _ in range(n)]
        a, b = self._a, self._b
        logs, var, w = self.log_prices, self.variance, self._w
        for i in range(n):
            row = chol[i]
            z = 0.0
            for k in range(i + 1):
                z += row[k] * e[k]
            h = var[i]
            hm = h * m2
            logs[i] += math.sqrt(hm) * z - 0.5 * hm
            var[i] = w[i] + a * h * z * z + b * h
            self.prices[i] = math.exp(logs[i])
        self.t_ns = t1


class CrowdFlow:
    """The background crowd of one symbol, acting on its `OrderBook` one event at a time."""

    # Event mix, tuned so the *emitted level deltas* come out near the Bitstamp 39/21/39.
    P_MARKET = 0.002
    P_UPDATE = 0.21
    # When an insert would cross (fair price moved through the book), the stale quote on
    # the other side is usually canceled rather than hit.
    P_CANCEL_STALE = 0.85

    def __init__(
        self, book: OrderBook, rnd: RandomStream, levels_per_side: int, start_price: float
    ) -> None:
        if levels_per_side < 1:
            raise ValueError("levels_per_side must be at least 1")
        self.book = book
        self.rnd = rnd
        self.target = levels_per_side
        self._band = max(3.0, 0.1 * levels_per_side)
        self._tick = book.tick_float
        self._lots_per_unit = 1.0 / book.lot_float
        self._level_mu = math.log(cal.LEVEL_NOTIONAL_MEDIAN / start_price)
        self._market_mu = math.log(cal.MARKET_NOTIONAL_MEDIAN / start_price)

    # --- helpers -----------------------------------------------------------------------

    def _geometry(self, fair_ticks: float) -> tuple[float, float]:
        """(half spread, depth) in ticks."""
        half = max(0.5, cal.HALF_SPREAD_FRAC * fair_ticks)
        depth = max(cal.DEPTH_FRAC * fair_ticks, cal.MIN_TICKS_PER_LEVEL * self.target)
        return half, depth

    def _lots(self, mu: float, sd: float) -> int:
        size = math.exp(mu + sd * self.rnd.normal())
        return max(1, int(size * self._lots_per_unit))

    def _insert_tick(self, is_bid: bool, fair_ticks: float, half: float, depth: float) -> int:
        u = self.rnd.uniform()
        d = half + depth * u * u
        if is_bid:
            return max(1, math.floor(fair_ticks - d))
        return max(1, math.ceil(fair_ticks + d))

    def seed(self, fair_price: float) -> None:
        """Fill both sides with `levels_per_side` levels (before any market data)."""
        book = self.book
        fair_ticks = fair_price / self._tick
        half, depth = self._geometry(fair_ticks)
        for is_bid in (True, False):
            side = book.side(is_bid)
            tries = 0
            while len(side) < self.target and tries < 50 * self.target:
                tries += 1
                tick = self._insert_tick(is_bid, fair_ticks, half, depth)
                if tick in side.levels or book.would_cross(is_bid, tick):
                    continue
                book.crowd_add(is_bid, tick, self._lots(self._level_mu, cal.LEVEL_NOTIONAL_LOG_SD))
        book.changes.clear()

    # --- one event ---------------------------------------------------------------------

    def on_event(self, fair_price: float) -> None:
        rnd = self.rnd
        u = rnd.uniform()
        if u < self.P_MARKET:
            self._market_order(fair_price)
            return
        is_bid = rnd.uniform() < 0.5
        side = self.book.side(is_bid)
        n = len(side)
        if u < self.P_MARKET + self.P_UPDATE and n:
            self._update(is_bid)
            return
        p_insert = 0.5 + 0.5 * (self.target - n) / self._band
        if n == 0 or rnd.uniform() < p_insert:
            self._insert(is_bid, fair_price)
        else:
            self._delete(is_bid, fair_price)

    def _insert(self, is_bid: bool, fair_price: float) -> None:
        book = self.book
        fair_ticks = fair_price / self._tick
        half, depth = self._geometry(fair_ticks)
        levels = book.side(is_bid).levels
        lots = self._lots(self._level_mu, cal.LEVEL_NOTIONAL_LOG_SD)
        tick = self._insert_tick(is_bid, fair_ticks, half, depth)
        if tick in levels:
            tick = self._insert_tick(is_bid, fair_ticks, half, depth)
            # Where every tick is taken (coarse ticks, dense top), go one deeper at a time.
            step = -1 if is_bid else 1
            while tick in levels and tick > 1:
                tick += step
        if book.would_cross(is_bid, tick):
            # The fair price has moved through the book: pull the stale opposite quote,
            # or now and then hit it with a marketable limit order.
            stale = book.best_ask() if is_bid else book.best_bid()
            if (
                stale is not None
                and self.rnd.uniform() < self.P_CANCEL_STALE
                and book.crowd_reduce(not is_bid, stale, None)
            ):
                return
            book.crowd_limit(is_bid, tick, lots)
        else:
            book.crowd_add(is_bid, tick, lots)

    def _delete(self, is_bid: bool, fair_price: float) -> None:
        book = self.book
        side = book.side(is_bid)
        n = len(side)
        worst = side.worst()
        fair_ticks = fair_price / self._tick
        _, depth = self._geometry(fair_ticks)
        if worst is not None and abs(worst - fair_ticks) > 1.25 * depth:
            tick = worst  # stale far level left behind by a price move
        else:
            tick = side.nth(int(n * self.rnd.uniform()))
        book.crowd_reduce(is_bid, tick, None)

    def _update(self, is_bid: bool) -> None:
        book = self.book
        side = book.side(is_bid)
        u = self.rnd.uniform()
        tick = side.nth(int(len(side) * u * u))  # updates cluster near the top
        crowd = book.crowd_lots(is_bid, tick)
        if crowd > 1 and self.rnd.uniform() < 0.5:
            cut = max(1, int(crowd * (0.2 + 0.6 * self.rnd.uniform())))
            book.crowd_reduce(is_bid, tick, min(cut, crowd - 1))
        else:
            add = self._lots(self._level_mu - 0.7, cal.LEVEL_NOTIONAL_LOG_SD)
            book.crowd_add(is_bid, tick, add)

    def _market_order(self, fair_price: float) -> None:
        book = self.book
        bid, ask = book.best_bid(), book.best_ask()
        fair_ticks = fair_price / self._tick
        if bid is not None and ask is not None:
            lean = (fair_ticks - 0.5 * (bid + ask)) / max(1.0, ask - bid)
            p_buy = 0.5 + 0.4 * math.tanh(lean)
        else:
            p_buy = 0.5
        is_buy = self.rnd.uniform() < p_buy
        book.place_market(is_buy, self._lots(self._market_mu, cal.MARKET_NOTIONAL_LOG_SD))
