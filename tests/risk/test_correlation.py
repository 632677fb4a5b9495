from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traider.engine.risk.correlation import (
    EwmaCovariance,
    candidate_breaches,
    cluster_exposures,
    correlation_breaches,
    correlation_clusters,
    cov_to_corr,
    ewma_covariance,
)

SYMS = ("BTC-USD", "ETH-USD", "SOL-USD")


def _returns(t: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(n, n))
    return rng.normal(scale=0.03, size=(t, n)) @ mix / n


def _hand_rolled(r: np.ndarray, lam: float) -> list[list[float]]:
    t, n = len(r), len(r[0])
    out = [[0.0] * n for _ in range(n)]
    total = 0.0
    for k in range(t):
        w = lam ** (t - 1 - k)
        total += w
        for i in range(n):
            for j in range(n):
                out[i][j] += w * r[k][i] * r[k][j]
    return [[v / total for v in row] for row in out]


def test_ewma_matches_a_hand_rolled_loop() -> None:
    r = _returns(60, 3, seed=1)
    expected = np.array(_hand_rolled(r.tolist(), 0.94))
    np.testing.assert_allclose(ewma_covariance(r), expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(ewma_covariance(r, lam=0.8), _hand_rolled(r.tolist(), 0.8))


def test_ewma_is_the_riskmetrics_recursion_on_a_long_history() -> None:
    r = _returns(1500, 2, seed=2)
    s = np.outer(r[0], r[0])
    for row in r[1:]:
        s = 0.94 * s + 0.06 * np.outer(row, row)
    np.testing.assert_allclose(ewma_covariance(r), s, rtol=1e-10)


def test_single_return_gives_its_outer_product() -> None:
    r = np.array([[0.02, -0.01]])
    np.testing.assert_allclose(ewma_covariance(r), [[4e-4, -2e-4], [-2e-4, 1e-4]])


@settings(max_examples=40, deadline=None)
@given(
    t=st.integers(1, 80),
    n=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    lam=st.floats(0.5, 0.99),
)
def test_incremental_update_equals_batch(t: int, n: int, seed: int, lam: float) -> None:
    r = _returns(t, n, seed)
    est = EwmaCovariance(n, lam)
    for row in r:
        est.update(row)
    batch = EwmaCovariance.from_returns(r, lam)
    assert est.count == batch.count == t
    np.testing.assert_allclose(est.covariance(), batch.covariance(), rtol=1e-9, atol=1e-18)
    np.testing.assert_allclose(est.correlation(), batch.correlation(), atol=1e-9)
    np.testing.assert_allclose(est.volatility() ** 2, np.diag(batch.covariance()), rtol=1e-9)


def test_update_continues_a_batch_estimate() -> None:
    r = _returns(100, 3, seed=3)
    est = EwmaCovariance.from_returns(r[:70])
    for row in r[70:]:
        est.update(row)
    np.testing.assert_allclose(est.covariance(), ewma_covariance(r), rtol=1e-12)


def test_estimator_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        EwmaCovariance(2, lam=1.0)
    est = EwmaCovariance(2)
    with pytest.raises(ValueError):
        est.covariance()
    with pytest.raises(ValueError):
        est.update([0.1, float("nan")])
    with pytest.raises(ValueError):
        est.update([0.1, 0.2, 0.3])


def test_cov_to_corr_handles_a_flat_series() -> None:
    corr = cov_to_corr(np.array([[4.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(corr, [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _corr(ab: float, ac: float = 0.0, bc: float = 0.0) -> np.ndarray:
    return np.array([[1.0, ab, ac], [ab, 1.0, bc], [ac, bc, 1.0]])


def test_same_direction_pair_breaches_opposite_does_not() -> None:
    corr = _corr(0.85)
    longs = correlation_breaches(corr, SYMS, {"BTC-USD": 1000.0, "ETH-USD": 500.0})
    assert [(b.symbol_a, b.symbol_b) for b in longs] == [("BTC-USD", "ETH-USD")]
    assert longs[0].combined_usd == 1500.0
    assert longs[0].correlation == 0.85
    shorts = correlation_breaches(corr, SYMS, {"BTC-USD": -1000.0, "ETH-USD": -500.0})
    assert len(shorts) == 1
    hedged = correlation_breaches(corr, SYMS, {"BTC-USD": 1000.0, "ETH-USD": -500.0})
    assert hedged == []


def test_negative_correlation_reverses_which_pairs_add_risk() -> None:
    corr = _corr(-0.85)
    assert correlation_breaches(corr, SYMS, {"BTC-USD": 1000.0, "ETH-USD": 500.0}) == []
    assert len(correlation_breaches(corr, SYMS, {"BTC-USD": 1000.0, "ETH-USD": -500.0})) == 1


def test_correlation_threshold_is_strict() -> None:
    exposures = {"BTC-USD": 1000.0, "ETH-USD": 500.0}
    assert correlation_breaches(_corr(0.7), SYMS, exposures, max_abs_corr=0.7) == []
    assert len(correlation_breaches(_corr(0.7000001), SYMS, exposures, max_abs_corr=0.7)) == 1
    assert correlation_breaches(_corr(0.69), SYMS, exposures) == []


def test_combined_size_threshold_is_strict() -> None:
    exposures = {"BTC-USD": 1000.0, "ETH-USD": -500.0, "SOL-USD": -250.0}
    corr = _corr(0.1, 0.1, 0.9)
    assert correlation_breaches(corr, SYMS, exposures, max_combined_usd=750.0) == []
    hit = correlation_breaches(corr, SYMS, exposures, max_combined_usd=749.99)
    assert [(b.symbol_a, b.symbol_b) for b in hit] == [("ETH-USD", "SOL-USD")]
    assert "ρ=+0.90" in hit[0].describe()


def test_flat_positions_and_unknown_symbols() -> None:
    corr = _corr(0.9)
    assert correlation_breaches(corr, SYMS, {"BTC-USD": 1000.0, "ETH-USD": 0.0}) == []
    with pytest.raises(ValueError, match="DOGE"):
        correlation_breaches(corr, SYMS, {"BTC-USD": 1.0, "DOGE-USD": 1.0})
    with pytest.raises(ValueError):
        correlation_breaches(np.eye(2), SYMS, {})


def test_candidate_order_breaches() -> None:
    corr = _corr(0.9, 0.8, 0.75)
    held = {"BTC-USD": 1000.0}
    new = candidate_breaches(corr, SYMS, held, "ETH-USD", 400.0)
    assert [(b.symbol_a, b.symbol_b) for b in new] == [("BTC-USD", "ETH-USD")]
    # selling ETH from flat opens a short: a hedge against the long BTC
    assert candidate_breaches(corr, SYMS, held, "ETH-USD", -400.0) == []
    # the BTC/ETH pair already breaches; adding SOL breaches with both, not repeating BTC/ETH
    both = {"BTC-USD": 1000.0, "ETH-USD": 500.0}
    sol = candidate_breaches(corr, SYMS, both, "SOL-USD", 100.0)
    assert {(b.symbol_a, b.symbol_b) for b in sol} == {
        ("BTC-USD", "SOL-USD"),
        ("ETH-USD", "SOL-USD"),
    }
    # shrinking a position adds nothing; growing it worsens the existing pair
    assert candidate_breaches(corr, SYMS, both, "ETH-USD", -200.0) == []
    assert len(candidate_breaches(corr, SYMS, both, "ETH-USD", 200.0)) == 1
    # flipping ETH to short turns it into a hedge
    assert candidate_breaches(corr, SYMS, both, "ETH-USD", -900.0) == []


def test_clusters_are_connected_components() -> None:
    syms = ("A", "B", "C", "D")
    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = 0.8
    corr[1, 2] = corr[2, 1] = -0.75  # |ρ| counts
    corr[0, 2] = corr[2, 0] = 0.5  # A-C joined only through B
    corr[2, 3] = corr[3, 2] = 0.7  # at the threshold: not an edge
    clusters = correlation_clusters(corr, syms, threshold=0.7)
    assert clusters == [("A", "B", "C"), ("D",)]
    exp = cluster_exposures(clusters, {"A": 100.0, "C": -40.0, "D": 10.0})
    assert (exp[0].net_usd, exp[0].gross_usd) == (60.0, 140.0)
    assert (exp[1].net_usd, exp[1].gross_usd) == (10.0, 10.0)


def test_real_crypto_correlations_cluster_together() -> None:
    """Synthetic one-factor returns with high loadings: one cluster, every pair breaches."""
    rng = np.random.default_rng(5)
    factor = rng.normal(scale=0.04, size=500)
    r = np.column_stack([factor + rng.normal(scale=0.01, size=500) for _ in SYMS])
    corr = EwmaCovariance.from_returns(r).correlation()
    assert correlation_clusters(corr, SYMS) == [tuple(sorted(SYMS))]
    assert len(correlation_breaches(corr, SYMS, dict.fromkeys(SYMS, 100.0))) == 3
