from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.engine.risk.sizing import (
    position_headroom_usd,
    size_order,
    size_order_explained,
    var_headroom_notional_usd,
)


def test_formula() -> None:
    assert size_order(1000.0, 0.5, 1.2, 0.5, {}) == pytest.approx(300.0)
    res = size_order_explained(1000.0, 0.5, 1.2, 0.5, {"position": 1e9})
    assert res.binding == "formula"
    assert res.raw_usd == pytest.approx(300.0)


def test_caps_bind() -> None:
    res = size_order_explained(1000.0, 1.0, 1.0, 1.0, {"position": 400.0, "var": 250.0})
    assert (res.notional_usd, res.binding, res.raw_usd) == (250.0, "var", 1000.0)
    assert size_order(1000.0, 1.0, 1.0, 1.0, {"position": -50.0}) == 0.0


def test_zero_confidence_or_halt_gives_zero() -> None:
    assert size_order(1000.0, 0.0, 1.5, 1.0, {"position": 500.0}) == 0.0
    assert size_order(1000.0, 0.9, 1.5, 0.0, {"position": 500.0}) == 0.0


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        size_order(1000.0, 1.2, 1.0, 1.0, {})
    with pytest.raises(ValueError):
        size_order(1000.0, -0.1, 1.0, 1.0, {})
    with pytest.raises(ValueError):
        size_order(1000.0, float("nan"), 1.0, 1.0, {})
    with pytest.raises(ValueError):
        size_order(1000.0, 0.5, -1.0, 1.0, {})
    with pytest.raises(ValueError):
        size_order(1000.0, 0.5, 1.0, 1.0, {"var": float("nan")})


money = st.floats(0.0, 1e7, allow_nan=False)
scale = st.floats(0.0, 3.0, allow_nan=False)
conf = st.floats(0.0, 1.0, allow_nan=False)
caps = st.dictionaries(
    st.sampled_from(["position", "var", "order"]),
    st.floats(-1e6, 1e7, allow_nan=False) | st.just(math.inf),
)


@given(money, conf, scale, scale, caps)
def test_never_exceeds_any_cap(
    base: float, c: float, vol: float, dd: float, limits: dict[str, float]
) -> None:
    n = size_order(base, c, vol, dd, limits)
    assert 0.0 <= n <= base * c * vol * dd
    for headroom in limits.values():
        assert n <= max(headroom, 0.0)


@given(money, conf, conf, scale, scale, caps)
def test_non_decreasing_in_confidence(
    base: float, c1: float, c2: float, vol: float, dd: float, limits: dict[str, float]
) -> None:
    lo, hi = sorted((c1, c2))
    assert size_order(base, lo, vol, dd, limits) <= size_order(base, hi, vol, dd, limits)


def test_position_headroom() -> None:
    assert position_headroom_usd(2000.0, 1500.0, +1) == 500.0
    assert position_headroom_usd(2000.0, 1500.0, -1) == 3500.0  # close, then go short
    assert position_headroom_usd(2000.0, 2500.0, +1) == 0.0
    assert position_headroom_usd(2000.0, -500.0, -1) == 1500.0
    with pytest.raises(ValueError):
        position_headroom_usd(2000.0, 0.0, 0)


def test_var_headroom() -> None:
    assert var_headroom_notional_usd(1000.0, 600.0, 0.04) == pytest.approx(10_000.0)
    assert var_headroom_notional_usd(1000.0, 1200.0, 0.04) == 0.0
    assert var_headroom_notional_usd(1000.0, 600.0, -0.01) == math.inf
    with pytest.raises(ValueError):
        var_headroom_notional_usd(math.nan, 600.0, 0.04)
