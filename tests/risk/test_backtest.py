"""VaR backtests: Kupiec, Christoffersen, Basel zones, causality of the rolling forecast."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from traider.engine.risk import backtest as B
from traider.engine.risk.var import METHODS


def chi2_1_sf(x: float) -> float:
    return math.erfc(math.sqrt(x / 2.0))


def chi2_2_sf(x: float) -> float:
    return math.exp(-x / 2.0)


def test_kupiec_worked_example() -> None:
    # 250 days at 99%, 5 exceptions
    n, x, p = 250, 5, 0.01
    phat = x / n
    lr = -2 * ((n - x) * math.log(1 - p) + x * math.log(p)) + 2 * (
        (n - x) * math.log(1 - phat) + x * math.log(phat)
    )
    res = B.kupiec(x, n, 0.99)
    assert lr == pytest.approx(1.9568, abs=1e-4)  # the textbook value
    assert res.statistic == pytest.approx(lr, rel=1e-12)
    assert res.p_value == pytest.approx(chi2_1_sf(lr), rel=1e-9)


def test_kupiec_no_exceptions_and_exact_rate() -> None:
    res = B.kupiec(0, 500, 0.99)
    assert res.statistic == pytest.approx(-2 * 500 * math.log(0.99), rel=1e-12)
    assert B.kupiec(5, 500, 0.99).statistic == pytest.approx(0.0, abs=1e-12)
    assert B.kupiec(5, 500, 0.99).p_value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="exceptions"):
        B.kupiec(6, 5, 0.99)


def test_christoffersen_worked_example() -> None:
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    # pairs: count by hand
    n00, n01, n10, n11 = 0, 0, 0, 0
    for a, b in itertools.pairwise(hits.tolist()):
        if not a and not b:
            n00 += 1
        elif not a and b:
            n01 += 1
        elif a and not b:
            n10 += 1
        else:
            n11 += 1
    assert (n00, n01, n10, n11) == (10, 3, 3, 3)
    assert B.transition_counts(hits) == (n00, n01, n10, n11)
    pi0, pi1, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / 19
    ll_null = (n00 + n10) * math.log(1 - pi) + (n01 + n11) * math.log(pi)
    ll_alt = (
        n00 * math.log(1 - pi0)
        + n01 * math.log(pi0)
        + n10 * math.log(1 - pi1)
        + n11 * math.log(pi1)
    )
    lr = -2 * (ll_null - ll_alt)
    res = B.christoffersen(hits)
    assert res.statistic == pytest.approx(lr, rel=1e-12)
    assert res.p_value == pytest.approx(chi2_1_sf(lr), rel=1e-9)
    cc = B.conditional_coverage(hits, 0.95)
    assert int(hits.sum()) == 6
    pof = B.kupiec(6, 20, 0.95)
    assert cc.statistic == pytest.approx(pof.statistic + lr, rel=1e-12)
    assert cc.p_value == pytest.approx(chi2_2_sf(cc.statistic), rel=1e-9)
    assert cc.dof == 2


def test_christoffersen_without_consecutive_information() -> None:
    assert B.christoffersen(np.zeros(50, dtype=bool)).statistic == 0.0
    last_only = np.zeros(50, dtype=bool)
    last_only[-1] = True  # n10 = n11 = 0: π1 undefined, its terms vanish
    res = B.christoffersen(last_only)
    assert math.isfinite(res.statistic)
    assert res.statistic == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("exceptions", "zone"),
    [(0, "green"), (4, "green"), (5, "yellow"), (9, "yellow"), (10, "red"), (25, "red")],
)
def test_basel_zones_at_the_boundaries(exceptions: int, zone: str) -> None:
    assert B.basel_zone(exceptions) == zone
    assert B.basel_zone(exceptions, 250, 0.99) == zone


def sample_returns(t: int = 700, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vol = 0.02 * np.exp(np.cumsum(rng.normal(0, 0.05, t)))
    return rng.standard_t(4, t) * vol


@pytest.mark.parametrize("method", METHODS)
def test_backtest_is_causal(method: str) -> None:
    r = sample_returns(260)
    window, t = 120, 200
    base = B.rolling_var(r, method, window, 0.99)
    changed = r.copy()
    changed[t:] = np.random.default_rng(99).standard_normal(r.shape[0] - t) * 0.5
    after = B.rolling_var(changed, method, window, 0.99)
    # forecast i is for day window + i and uses days i … window + i − 1
    upto = t - window + 1  # forecasts for days ≤ t
    np.testing.assert_array_equal(base[:upto], after[:upto])
    assert not np.array_equal(base[upto:], after[upto:])


def test_rolling_forecast_uses_exactly_the_previous_window() -> None:
    from traider.engine.risk.var import historical

    r = sample_returns(300)
    forecasts = B.rolling_var(r, "historical", 100, 0.99)
    assert forecasts.shape == (200,)
    for i in (0, 57, 199):
        past = r[i : 100 + i][:, None]
        assert forecasts[i] == historical(np.ones(1), past, 0.99).var


def test_backtest_report_counts() -> None:
    r = sample_returns(900)
    rep = B.backtest(r, "parametric", 250, 0.99)
    assert rep.days == 650
    hits = -r[250:] > rep.forecasts
    assert rep.exceptions == int(hits.sum())
    np.testing.assert_array_equal(rep.hits, hits)
    assert rep.expected_exceptions == pytest.approx(6.5)
    assert rep.basel_days == 250
    assert rep.basel_exceptions == int(hits[-250:].sum())
    assert rep.basel_zone == B.basel_zone(rep.basel_exceptions)
    assert rep.kupiec.statistic == B.kupiec(rep.exceptions, 650, 0.99).statistic
    js = rep.to_json()
    assert set(js) == {
        "method",
        "confidence",
        "window",
        "days",
        "exceptions",
        "expected_exceptions",
        "exception_rate",
        "kupiec",
        "christoffersen",
        "conditional_coverage",
        "basel",
    }


def test_backtest_bad_input() -> None:
    r = sample_returns(300)
    with pytest.raises(ValueError, match="unknown method"):
        B.backtest(r, "astrology")
    with pytest.raises(ValueError, match="window"):
        B.backtest(r, "historical", window=300)
    with pytest.raises(ValueError, match="1-D"):
        B.backtest(np.ones((10, 2)), "historical")
