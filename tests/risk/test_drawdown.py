from __future__ import annotations

import dataclasses

import pytest

from traider.engine.core.clock import NANOS_PER_SECOND
from traider.engine.risk.drawdown import (
    CooldownEnded,
    DrawdownConfig,
    DrawdownController,
    DrawdownTier,
    HaltEngaged,
    HaltReset,
    PeakRebased,
    TierChanged,
    tier_for,
    vol_target_scale,
)

T0 = 1_700_000_000 * NANOS_PER_SECOND
S = NANOS_PER_SECOND


def test_peak_tracks_the_highest_equity() -> None:
    dd = DrawdownController()
    assert dd.observe(T0, 100.0) == []
    dd.observe(T0 + S, 120.0)
    dd.observe(T0 + 2 * S, 110.0)
    assert dd.peak_equity_usd == 120.0
    assert dd.drawdown == pytest.approx(10.0 / 120.0)
    dd.observe(T0 + 3 * S, 125.0)
    assert dd.peak_equity_usd == 125.0
    assert dd.drawdown == 0.0


def test_tiers_at_their_boundaries() -> None:
    dd = DrawdownController()
    dd.observe(T0, 100.0)
    assert dd.observe(T0 + 1, 95.0000001) == []
    assert dd.size_scale(T0 + 1) == 1.0
    (ev,) = dd.observe(T0 + 2, 95.0)  # exactly 5%
    assert isinstance(ev, TierChanged)
    assert (ev.previous_tier, ev.tier, ev.size_scale) == (0, 1, 0.5)
    assert (ev.peak_equity_usd, ev.equity_usd, ev.drawdown_pct) == (100.0, 95.0, 5.0)
    assert dd.size_scale(T0 + 2) == 0.5
    assert dd.observe(T0 + 3, 90.0000001) == []
    (ev,) = dd.observe(T0 + 4, 90.0)
    assert isinstance(ev, TierChanged)
    assert (ev.tier, dd.size_scale(T0 + 4)) == (2, 0.25)
    (ev,) = dd.observe(T0 + 5, 85.0)
    assert isinstance(ev, TierChanged)
    assert (ev.tier, ev.size_scale, dd.size_scale(T0 + 5)) == (3, 0.0, 0.0)
    # a deeper fall within the same tier is no event
    assert dd.observe(T0 + 6, 50.0) == []


def test_tier_boundaries_with_a_non_round_peak() -> None:
    dd = DrawdownController()
    dd.observe(T0, 110.0)
    (ev,) = dd.observe(T0 + 1, 104.5)  # 5.5 / 110 is exactly 5%
    assert isinstance(ev, TierChanged)
    assert ev.tier == 1
    assert tier_for(0.0499999) == 0
    assert tier_for(0.05) == 1
    assert tier_for(0.15) == 3
    assert tier_for(1.0) == 3


def test_recovery_restores_size_and_leaving_the_halt_tier_cools_down() -> None:
    dd = DrawdownController(DrawdownConfig(cooldown_s=600.0))
    dd.observe(T0, 100.0)
    dd.observe(T0 + S, 84.0)
    assert dd.size_scale(T0 + S) == 0.0
    events = dd.observe(T0 + 2 * S, 91.0)
    assert [type(e) for e in events] == [TierChanged, HaltReset]
    assert isinstance(events[1], HaltReset)
    assert events[1].cooldown_until_ns == T0 + 602 * S
    assert dd.tier == 1
    assert dd.size_scale(T0 + 602 * S - 1) == 0.0
    assert dd.size_scale(T0 + 602 * S) == 0.5
    assert dd.poll(T0 + 602 * S) == [CooldownEnded(T0 + 602 * S)]
    (ev,) = dd.observe(T0 + 603 * S, 99.0)
    assert isinstance(ev, TierChanged)
    assert (ev.tier, dd.size_scale(T0 + 603 * S)) == (0, 1.0)


def test_daily_loss_halt_then_cooldown_timing() -> None:
    dd = DrawdownController(DrawdownConfig(cooldown_s=3600.0))
    dd.observe(T0, 1000.0)
    assert dd.halt(T0 + 10 * S, "daily loss limit") == [
        HaltEngaged(T0 + 10 * S, "daily loss limit")
    ]
    assert dd.halt(T0 + 11 * S, "again") == []  # already halted
    assert dd.halted
    assert dd.size_scale(T0 + 10 * S) == 0.0
    assert dd.size_scale(T0 + 10_000 * S) == 0.0  # no expiry while halted
    reset_at = T0 + 100 * S
    until = reset_at + 3600 * S
    assert dd.reset_halt(reset_at) == [HaltReset(reset_at, "daily loss limit", until)]
    assert not dd.state(reset_at).halted
    assert dd.size_scale(until - 1) == 0.0
    assert dd.state(until - 1).cooldown_until_ns == until
    assert dd.observe(until - 1, 1000.0) == []
    assert dd.observe(until, 1000.0) == [CooldownEnded(until)]
    assert dd.size_scale(until) == 1.0
    assert dd.state(until).cooldown_until_ns is None
    assert dd.reset_halt(until + 1) == []  # nothing to reset


def test_zero_cooldown_resumes_at_once() -> None:
    dd = DrawdownController(DrawdownConfig(cooldown_s=0.0))
    dd.observe(T0, 1.0)
    dd.halt(T0, "x")
    assert dd.reset_halt(T0 + 1) == [HaltReset(T0 + 1, "x", T0 + 1)]
    assert dd.size_scale(T0 + 1) == 1.0


def test_events_are_frozen_and_time_is_ordered() -> None:
    dd = DrawdownController()
    (ev,) = dd.halt(T0, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.ts_ns = 0  # type: ignore[misc]
    with pytest.raises(ValueError, match="backwards"):
        dd.observe(T0 - 1, 100.0)
    with pytest.raises(ValueError):
        dd.observe(T0, float("nan"))


def test_rebase_peak() -> None:
    dd = DrawdownController()
    dd.observe(T0, 100.0)
    dd.observe(T0 + 1, 80.0)
    events = dd.rebase_peak(T0 + 2)
    assert events[0] == PeakRebased(T0 + 2, 100.0, 80.0)
    assert isinstance(events[1], TierChanged)
    assert events[1].tier == 0
    assert dd.drawdown == 0.0


def test_state_snapshot() -> None:
    dd = DrawdownController()
    dd.observe(T0, 200.0)
    dd.observe(T0 + 1, 180.0)
    st = dd.state(T0 + 1)
    assert (st.peak_equity_usd, st.equity_usd, st.tier, st.size_scale) == (200.0, 180.0, 2, 0.25)
    assert st.drawdown_pct == pytest.approx(10.0)


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        DrawdownConfig(tiers=(DrawdownTier(10.0, 0.5), DrawdownTier(5.0, 0.25)))
    with pytest.raises(ValueError):
        DrawdownConfig(tiers=(DrawdownTier(5.0, 0.5), DrawdownTier(10.0, 0.75)))
    with pytest.raises(ValueError):
        DrawdownConfig(cooldown_s=-1.0)
    custom = DrawdownConfig(tiers=(DrawdownTier(2.0, 0.8),))
    dd = DrawdownController(custom)
    dd.observe(T0, 100.0)
    dd.observe(T0 + 1, 98.0)
    assert dd.size_scale(T0 + 1) == 0.8


def test_vol_target_scale() -> None:
    assert vol_target_scale(0.04, 0.02) == 0.5
    assert vol_target_scale(0.01, 0.02) == 2.0
    assert vol_target_scale(0.005, 0.02) == 2.0  # capped
    assert vol_target_scale(0.005, 0.02, cap=3.0) == 3.0
    assert vol_target_scale(0.0, 0.02) == 2.0
    assert vol_target_scale(0.02, 0.0) == 0.0
    with pytest.raises(ValueError):
        vol_target_scale(-0.01, 0.02)
    with pytest.raises(ValueError):
        vol_target_scale(float("nan"), 0.02)
