"""VaR / ES: closed forms, hand computations, Monte Carlo convergence, decomposition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from traider.engine.risk import var as V

NORMAL_FACTORS = {0.95: (1.6449, 2.0627), 0.99: (2.3263, 2.6652)}


def standardized(n: int, seed: int = 0) -> np.ndarray:
    """Exactly mean 0, sample std (ddof=1) 1."""
    x = np.random.default_rng(seed).standard_normal(n)
    x -= x.mean()
    return x / x.std(ddof=1)


def fat_tailed(t: int = 500, n: int = 4, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(n, n)) * 0.3 + np.eye(n)
    return (rng.standard_t(3, size=(t, n)) * 0.01) @ mix.T + 0.0003


@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_parametric_normal_factors(confidence: float) -> None:
    sigma = 0.03
    returns = (sigma * standardized(1000))[:, None]
    res = V.parametric(np.array([1.0]), returns, confidence)
    var_factor, es_factor = NORMAL_FACTORS[confidence]
    assert res.var / sigma == pytest.approx(var_factor, abs=1e-4)
    assert res.es / sigma == pytest.approx(es_factor, abs=1e-4)


def test_parametric_uses_covariance_and_mean_and_sqrt_h() -> None:
    r = fat_tailed()
    w = np.array([1000.0, -400.0, 250.0, 50.0])
    cov = np.cov(r, rowvar=False, ddof=1)
    sigma_p = math.sqrt(w @ cov @ w)
    mu_p = float(r.mean(axis=0) @ w)
    z = 2.3263478740408408
    for h in (1, 10):
        res = V.parametric(w, r, 0.99, h)
        assert res.var == pytest.approx(z * sigma_p * math.sqrt(h) - mu_p * h, rel=1e-10)
        assert res.detail["sigma"] == pytest.approx(sigma_p * math.sqrt(h), rel=1e-12)


def test_cornish_fisher_by_hand() -> None:
    pnl = [0.012, -0.031, 0.004, 0.021, -0.008, 0.0, -0.054, 0.017, 0.009, -0.002, 0.033, -0.015]
    n = len(pnl)
    mean = sum(pnl) / n
    m2 = sum((x - mean) ** 2 for x in pnl) / n
    m3 = sum((x - mean) ** 3 for x in pnl) / n
    m4 = sum((x - mean) ** 4 for x in pnl) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in pnl) / (n - 1))
    s, k = m3 / m2**1.5, m4 / m2**2 - 3.0
    q = -1.6448536269514722  # Φ⁻¹(0.05)
    zcf = q + (q**2 - 1) * s / 6 + (q**3 - 3 * q) * k / 24 - (2 * q**3 - 5 * q) * s**2 / 36
    expected = -(mean + zcf * sd) * 2.0  # exposure 2.0
    res = V.cornish_fisher(np.array([2.0]), np.array(pnl)[:, None], 0.95)
    assert res.var == pytest.approx(expected, rel=1e-10)
    assert res.detail["skew"] == pytest.approx(s, rel=1e-10)
    assert res.detail["excess_kurtosis"] == pytest.approx(k, rel=1e-10)


def test_cornish_fisher_es_matches_quantile_average() -> None:
    """ES = average of the CF VaR over tail levels u ∈ (0, α): numeric check of the
    closed form."""
    r = fat_tailed(800, 1, seed=3)
    res = V.cornish_fisher(np.array([1.0]), r, 0.975)
    assert res.detail["monotone"]
    from scipy.special import ndtri

    mu, sd = res.detail["mean"], res.detail["sigma"]
    s, k = res.detail["skew"], res.detail["excess_kurtosis"]
    alpha = 0.025
    u = (np.arange(200_000) + 0.5) / 200_000 * alpha
    q = ndtri(u)
    zcf = q + (q**2 - 1) * s / 6 + (q**3 - 3 * q) * k / 24 - (2 * q**3 - 5 * q) * s**2 / 36
    assert res.es == pytest.approx(float(np.mean(-(mu + sd * zcf))), rel=2e-3)


def test_cornish_fisher_without_skew_or_kurtosis_is_parametric() -> None:
    base = standardized(400, seed=5)[:, None] * 0.02
    sym = np.concatenate([base, -base])  # skew 0
    res = V.cornish_fisher(np.array([1.0]), sym, 0.99)
    z = 2.3263478740408408
    k = res.detail["excess_kurtosis"]
    sd = res.detail["sigma"]
    assert res.detail["skew"] == pytest.approx(0.0, abs=1e-12)
    assert res.var == pytest.approx(sd * (z + (z**3 - 3 * z) * k / 24), rel=1e-9)


def test_historical_by_hand() -> None:
    pnl = np.array([3.0, -1.0, 2.0, -7.0, 0.5, -4.0, 1.0])  # T = 7
    res = V.historical(np.array([1.0]), pnl[:, None], 0.8)  # αT = 1.4 → k = 2
    assert res.detail["k"] == 2
    assert res.var == pytest.approx(4.0)  # 2nd worst loss
    assert res.es == pytest.approx(4.0 + (7.0 - 4.0) / 1.4)  # exact empirical ES
    # αT whole: mean of the k worst
    pnl10 = np.array([5.0, -2.0, 1.0, -9.0, 3.0, -3.0, 0.0, 2.0, -1.0, 4.0])
    res10 = V.historical(np.array([10.0]), pnl10[:, None], 0.8)  # k = 2
    assert res10.var == pytest.approx(30.0)
    assert res10.es == pytest.approx((90.0 + 30.0) / 2)


def test_historical_ceiling_ignores_float_noise() -> None:
    pnl = np.arange(100, dtype=float) - 50.0  # α T = (1 − 0.99)·100 = 1.0000000000000009
    res = V.historical(np.array([1.0]), pnl[:, None], 0.99)
    assert res.detail["k"] == 1
    assert res.var == pytest.approx(50.0)
    assert res.es == pytest.approx(50.0)


def test_historical_horizon_uses_overlapping_compounded_returns() -> None:
    r = np.array([0.01, -0.02, 0.03, -0.05, 0.02, 0.01, -0.01, 0.0, 0.04, -0.03])[:, None]
    res = V.historical(np.array([100.0]), r, 0.5, horizon_days=3)
    windows = [(1 + r[i, 0]) * (1 + r[i + 1, 0]) * (1 + r[i + 2, 0]) - 1 for i in range(8)]
    worst = sorted(100.0 * x for x in windows)
    assert res.detail["observations"] == 8
    assert res.var == pytest.approx(-worst[3])  # k = ⌈0.5·8⌉ = 4
    with pytest.raises(ValueError, match="overlapping 3-day"):
        V.historical(np.array([1.0]), r, 0.95, horizon_days=3)


def test_ewma_variance_matches_the_recursion() -> None:
    r = fat_tailed(300, 3, seed=4)
    forecast, today = V.ewma_variance(r, 0.94)
    v = (r * r).mean(axis=0)
    for t in range(r.shape[0]):
        np.testing.assert_allclose(forecast[t], v, rtol=1e-10)
        v = 0.94 * v + 0.06 * r[t] ** 2
    np.testing.assert_allclose(today, v, rtol=1e-10)


def test_filtered_historical_rescales_to_todays_vol() -> None:
    rng = np.random.default_rng(9)
    calm, wild = rng.standard_normal(400) * 0.01, rng.standard_normal(100) * 0.05
    r = np.concatenate([calm, wild])[:, None]
    fhs = V.filtered_historical(np.array([1.0]), r, 0.99)
    hist = V.historical(np.array([1.0]), r, 0.99)
    assert fhs.var > hist.var  # today's vol is the wild regime's
    scen = V.filtered_scenarios(r)
    _, today = V.ewma_variance(r)
    assert float(np.std(scen)) == pytest.approx(math.sqrt(today[0]), rel=0.25)


def test_monte_carlo_converges_to_parametric_on_normal_data() -> None:
    rng = np.random.default_rng(11)
    chol = np.linalg.cholesky(np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]]))
    r = rng.standard_normal((3000, 3)) @ chol.T * 0.02
    w = np.array([1000.0, 500.0, -300.0])
    for c in (0.95, 0.99):
        p = V.parametric(w, r, c, 5)
        mc = V.monte_carlo(w, r, c, 5)
        full = V.monte_carlo_full(w, r, c, 5)
        for res in (mc, full):
            assert res.var == pytest.approx(p.var, rel=0.02)
            assert res.es == pytest.approx(p.es, rel=0.03)
    # t with many degrees of freedom is nearly normal; with few, fatter at 99%
    assert V.monte_carlo(w, r, 0.99, dist="t", dof=200).var == pytest.approx(
        V.parametric(w, r, 0.99).var, rel=0.03
    )
    assert V.monte_carlo(w, r, 0.99, dist="t", dof=4).es > V.parametric(w, r, 0.99).es


def test_full_scenario_agrees_with_projection_for_t() -> None:
    r = fat_tailed(600, 5, seed=2)
    w = np.array([1.0, -2.0, 0.5, 1.5, 0.0]) * 1000
    proj = V.monte_carlo(w, r, 0.99, dist="t", dof=5)
    full = V.monte_carlo_full(w, r, 0.99, dist="t", dof=5, chunk_rows=10_000)
    assert full.var == pytest.approx(proj.var, rel=0.03)
    assert full.es == pytest.approx(proj.es, rel=0.05)


def test_full_scenario_pnl_fn_revalues_the_same_draws() -> None:
    r = fat_tailed(400, 3, seed=6)
    w = np.array([700.0, -200.0, 300.0])
    linear = V.monte_carlo_full(w, r, 0.95, paths=50_000, chunk_rows=8192)
    w32 = w.astype(np.float32)
    revalued = V.monte_carlo_full(
        w, r, 0.95, paths=50_000, chunk_rows=8192, pnl_fn=lambda x: x @ w32
    )
    assert revalued.var == pytest.approx(linear.var, rel=1e-4)
    # a non-linear book (short a put-like payoff on asset 0) loses more than linear
    short_put = V.monte_carlo_full(
        w, r, 0.95, paths=50_000, pnl_fn=lambda x: x @ w32 - 5e4 * np.maximum(-x[:, 0], 0)
    )
    assert short_put.var > linear.var


def test_engine_caches_without_changing_results() -> None:
    r = fat_tailed()
    w = np.array([1.0, 2.0, 3.0, 4.0])
    eng = V.VarEngine(paths=20_000, seed=3)
    first = eng.monte_carlo(w, r, 0.99, dist="t")
    again = eng.monte_carlo(w, r, 0.99, dist="t")
    fresh = V.VarEngine(paths=20_000, seed=3).monte_carlo(w, r, 0.99, dist="t")
    assert first.var == again.var == fresh.var
    assert first.es == again.es == fresh.es
    unseeded = V.VarEngine(paths=20_000, seed=None).monte_carlo(w, r, 0.99)
    assert unseeded.var == pytest.approx(V.parametric(w, r, 0.99).var, rel=0.05)


def test_component_var_sums_to_parametric_and_is_the_gradient() -> None:
    r = fat_tailed(700, 4, seed=8)
    w = np.array([1200.0, -500.0, 300.0, 800.0])
    for h in (1, 10):
        comp = V.component_var(w, r, 0.99, h)
        total = V.parametric(w, r, 0.99, h).var
        assert comp.var == pytest.approx(total, rel=1e-12)
        assert float(comp.component.sum()) == pytest.approx(total, rel=1e-12)
        eps = 1e-3
        for i in range(4):
            bumped = w.copy()
            bumped[i] += eps
            numeric = (V.parametric(bumped, r, 0.99, h).var - total) / eps
            assert comp.marginal[i] == pytest.approx(numeric, rel=1e-4, abs=1e-8)


def _es_at_least_var(results: list[V.VarResult]) -> None:
    for res in results:
        assert res.es >= res.var, res


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_es_is_at_least_var_for_every_method(seed: int, confidence: float) -> None:
    r = fat_tailed(400, 3, seed=seed)
    if seed % 2:
        r = np.abs(r) * (1 if seed % 3 else -1)  # one-sided: extreme skew
    w = np.array([1.0, -0.5, 2.0]) * 1000
    for h in (1, 5):
        results = V.all_methods(w, r, confidence, h)
        assert [x.method for x in results] == list(V.METHODS)
        _es_at_least_var(results)
    eng = V.VarEngine(paths=20_000)
    _es_at_least_var([eng.monte_carlo_full(w, r, confidence, 1, d) for d in ("normal", "t")])


def test_engine_method_dispatch_and_errors() -> None:
    r = fat_tailed()
    w = np.ones(4)
    eng = V.default_engine()
    for name in V.METHODS:
        assert eng.method(name, w, r, 0.95).method == name
    with pytest.raises(ValueError, match="unknown method"):
        eng.method("nope", w, r)
    with pytest.raises(ValueError, match="exposures"):
        V.parametric(np.ones(3), r)
    with pytest.raises(ValueError, match="confidence"):
        V.parametric(w, r, 1.5)
    with pytest.raises(ValueError, match="horizon"):
        V.parametric(w, r, 0.95, 0)
    with pytest.raises(ValueError, match="dof"):
        V.VarEngine(dof=2.0)


def test_zero_exposure_is_zero_risk() -> None:
    for res in V.all_methods(np.zeros(4), fat_tailed(), 0.99):
        assert res.var == 0.0
        assert res.es == 0.0
        assert math.copysign(1.0, res.var) == 1.0
