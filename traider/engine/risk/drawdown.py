"""Drawdown control and volatility targeting: how much new risk the engine may add now.

`DrawdownController` is fed equity observations `(ts_ns, equity_usd)` in time order. It
keeps the peak equity seen and the trailing drawdown from it, `(peak - equity) / peak`,
and maps the drawdown onto tiers: at or beyond a tier's threshold new orders are scaled by
its factor (defaults: ≥5% → ×0.5, ≥10% → ×0.25, ≥15% → ×0, no new risk). Tiers follow
the drawdown both ways: recovering above a threshold restores the larger size.

Halts: the engine reports a daily-loss halt (`halt`) and its reset (`reset_halt`). While
halted the scale is 0; after the reset a cooldown of `cooldown_s` seconds keeps it at 0
(no re-entering straight into the market that just hit the limit). Leaving a ×0 drawdown
tier starts the same cooldown.

Every change of state (tier, halt, cooldown, peak rebase) comes back from the call that
caused it as a small frozen event, for the engine to journal. New highs are not events:
the peak follows from the journaled equity observations.

`vol_target_scale` is the volatility-targeting factor `min(cap, target / forecast)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from traider.engine.core.clock import NANOS_PER_SECOND

__all__ = [
    "DEFAULT_TIERS",
    "CooldownEnded",
    "DrawdownConfig",
    "DrawdownController",
    "DrawdownEvent",
    "DrawdownState",
    "DrawdownTier",
    "HaltEngaged",
    "HaltReset",
    "PeakRebased",
    "TierChanged",
    "tier_for",
    "vol_target_scale",
]


@dataclass(frozen=True, slots=True)
class DrawdownTier:
    drawdown_pct: float  # applies at or beyond this trailing drawdown (% of peak)
    size_scale: float  # multiplier on new order size; 0 = no new risk


DEFAULT_TIERS: tuple[DrawdownTier, ...] = (
    DrawdownTier(5.0, 0.5),
    DrawdownTier(10.0, 0.25),
    DrawdownTier(15.0, 0.0),
)


@dataclass(frozen=True)
class DrawdownConfig:
    tiers: tuple[DrawdownTier, ...] = DEFAULT_TIERS
    cooldown_s: float = 3600.0  # no new risk this long after a halt is reset

    def __post_init__(self) -> None:
        last_pct, last_scale = 0.0, 1.0
        for tier in self.tiers:
            if not (last_pct < tier.drawdown_pct <= 100.0):
                raise ValueError(f"tier thresholds must rise within (0, 100]: {self.tiers}")
            if not (0.0 <= tier.size_scale <= last_scale):
                raise ValueError(f"tier scales must fall within [0, 1]: {self.tiers}")
            last_pct, last_scale = tier.drawdown_pct, tier.size_scale
        if not (self.cooldown_s >= 0.0 and math.isfinite(self.cooldown_s)):
            raise ValueError(f"cooldown_s must be finite and >= 0, got {self.cooldown_s!r}")


def tier_for(drawdown: float, tiers: tuple[DrawdownTier, ...] = DEFAULT_TIERS) -> int:
    """Index + 1 of the deepest tier whose threshold `drawdown` (a fraction) reaches; 0 for
    none. The threshold is compared as `drawdown_pct / 100`, so 5 % of 100 is exactly tier 1."""
    level = 0
    for i, tier in enumerate(tiers):
        if drawdown >= tier.drawdown_pct / 100.0:
            level = i + 1
    return level


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrawdownEvent:
    ts_ns: int


@dataclass(frozen=True, slots=True)
class TierChanged(DrawdownEvent):
    previous_tier: int  # 0 = no tier
    tier: int
    size_scale: float
    drawdown_pct: float
    peak_equity_usd: float
    equity_usd: float


@dataclass(frozen=True, slots=True)
class HaltEngaged(DrawdownEvent):
    reason: str


@dataclass(frozen=True, slots=True)
class HaltReset(DrawdownEvent):
    reason: str  # what was halted: the daily-loss reason or the drawdown tier
    cooldown_until_ns: int


@dataclass(frozen=True, slots=True)
class CooldownEnded(DrawdownEvent):
    pass


@dataclass(frozen=True, slots=True)
class PeakRebased(DrawdownEvent):
    previous_peak_usd: float
    peak_usd: float


@dataclass(frozen=True, slots=True)
class DrawdownState:
    ts_ns: int
    peak_equity_usd: float
    equity_usd: float
    drawdown_pct: float
    tier: int
    halted: bool
    cooldown_until_ns: int | None
    size_scale: float


# --- the controller -------------------------------------------------------------------------


class DrawdownController:
    def __init__(self, config: DrawdownConfig | None = None) -> None:
        self.config = config or DrawdownConfig()
        self._last_ts: int | None = None  # latest time seen by any call
        self._observed = False
        self._peak = math.nan
        self._equity = math.nan
        self._tier = 0
        self._halt_reason: str | None = None
        self._cooldown_until: int | None = None
        self._cooldown_ns = round(self.config.cooldown_s * NANOS_PER_SECOND)

    # --- reads ----------------------------------------------------------------------------

    @property
    def peak_equity_usd(self) -> float:
        return self._peak

    @property
    def drawdown(self) -> float:
        """Trailing drawdown as a fraction of the peak (0 before any observation)."""
        return _drawdown(self._peak, self._equity) if self._observed else 0.0

    @property
    def tier(self) -> int:
        return self._tier

    @property
    def halted(self) -> bool:
        return self._halt_reason is not None

    def size_scale(self, ts_ns: int) -> float:
        """Factor on new order size at `ts_ns`: 0 while halted or cooling down, else the
        tier's factor (1 with no tier)."""
        if self._halt_reason is not None:
            return 0.0
        if self._cooldown_until is not None and ts_ns < self._cooldown_until:
            return 0.0
        return self._tier_scale(self._tier)

    def state(self, ts_ns: int) -> DrawdownState:
        return DrawdownState(
            ts_ns=ts_ns,
            peak_equity_usd=self._peak,
            equity_usd=self._equity,
            drawdown_pct=self.drawdown * 100.0,
            tier=self._tier,
            halted=self.halted,
            cooldown_until_ns=self._cooldown_until,
            size_scale=self.size_scale(ts_ns),
        )

    # --- inputs ---------------------------------------------------------------------------

    def observe(self, ts_ns: int, equity_usd: float) -> list[DrawdownEvent]:
        """One equity observation; the events it caused (often none)."""
        if not math.isfinite(equity_usd):
            raise ValueError(f"equity must be finite, got {equity_usd!r}")
        events = self._advance(ts_ns)
        if not self._observed or equity_usd > self._peak:
            self._peak = equity_usd
        self._observed = True
        self._equity = equity_usd
        events.extend(self._retier(ts_ns))
        return events

    def poll(self, ts_ns: int) -> list[DrawdownEvent]:
        """Advance time without an observation: reports a cooldown that has run out."""
        return self._advance(ts_ns)

    def halt(self, ts_ns: int, reason: str) -> list[DrawdownEvent]:
        """The engine halted new risk (e.g. the daily loss limit): scale 0 until reset."""
        events = self._advance(ts_ns)
        if self._halt_reason is None:
            self._halt_reason = reason
            self._cooldown_until = None
            events.append(HaltEngaged(ts_ns, reason))
        return events

    def reset_halt(self, ts_ns: int) -> list[DrawdownEvent]:
        """The halt was reset: the cooldown starts now."""
        events = self._advance(ts_ns)
        if self._halt_reason is not None:
            reason, self._halt_reason = self._halt_reason, None
            events.extend(self._start_cooldown(ts_ns, reason))
        return events

    def rebase_peak(self, ts_ns: int, peak_usd: float | None = None) -> list[DrawdownEvent]:
        """Reset the peak (to the last equity unless given), e.g. after a withdrawal."""
        events = self._advance(ts_ns)
        new_peak = self._equity if peak_usd is None else peak_usd
        if not math.isfinite(new_peak):
            raise ValueError("no equity observed yet and no peak given")
        previous = self._peak
        self._peak = new_peak
        if not self._observed:
            self._equity = new_peak
            self._observed = True
        events.append(PeakRebased(ts_ns, previous, new_peak))
        events.extend(self._retier(ts_ns))
        return events

    # --- internals ------------------------------------------------------------------------

    def _tier_scale(self, tier: int) -> float:
        return 1.0 if tier == 0 else self.config.tiers[tier - 1].size_scale

    def _advance(self, ts_ns: int) -> list[DrawdownEvent]:
        if self._last_ts is not None and ts_ns < self._last_ts:
            raise ValueError(f"time went backwards: {ts_ns} < {self._last_ts}")
        self._last_ts = ts_ns
        if self._cooldown_until is not None and ts_ns >= self._cooldown_until:
            self._cooldown_until = None
            return [CooldownEnded(ts_ns)]
        return []

    def _start_cooldown(self, ts_ns: int, reason: str) -> list[DrawdownEvent]:
        if self._cooldown_ns == 0:
            return [HaltReset(ts_ns, reason, ts_ns)]
        self._cooldown_until = ts_ns + self._cooldown_ns
        return [HaltReset(ts_ns, reason, self._cooldown_until)]

    def _retier(self, ts_ns: int) -> list[DrawdownEvent]:
        tiers = self.config.tiers
        new_tier = tier_for(self.drawdown, tiers)
        if new_tier == self._tier:
            return []
        previous = self._tier
        self._tier = new_tier
        dd = self.drawdown
        events: list[DrawdownEvent] = [
            TierChanged(
                ts_ns,
                previous,
                new_tier,
                self._tier_scale(new_tier),
                dd * 100.0,
                self._peak,
                self._equity,
            )
        ]
        if self._tier_scale(previous) == 0.0 and self._tier_scale(new_tier) > 0.0:
            pct = tiers[previous - 1].drawdown_pct
            events.extend(self._start_cooldown(ts_ns, f"drawdown tier {previous} (≥{pct:g}%)"))
        return events


def _drawdown(peak: float, equity: float) -> float:
    if peak > 0.0:
        return max(0.0, (peak - equity) / peak)
    return 0.0 if equity >= peak else 1.0


def vol_target_scale(forecast_daily_vol: float, target_daily_vol: float, cap: float = 2.0) -> float:
    """Volatility targeting: `min(cap, target / forecast)`. Scales size up when the market
    is calmer than the target and down when it is wilder; a zero forecast gives `cap`."""
    for name, value in (
        ("forecast_daily_vol", forecast_daily_vol),
        ("target_daily_vol", target_daily_vol),
        ("cap", cap),
    ):
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    if forecast_daily_vol == 0.0:
        return cap
    return min(cap, target_daily_vol / forecast_daily_vol)
