"""Rolling model metrics, PSI, drift reports and retrain triggers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from traider.engine.models.tracking import (
    NS_PER_DAY,
    ModelMetrics,
    PerformanceTracker,
    TrainingProfile,
    drift_report,
    psi,
    should_retrain,
)

# (prob_up, outcome, realised return, weight)
OBS = [
    (0.8, 1, 0.01, 0.5),  # call up, right
    (0.3, 1, 0.02, 1.0),  # call down, wrong
    (0.5, 0, -0.01, 1.0),  # no call
    (0.4, 0, -0.03, 2.0),  # call down, right
]


def test_metrics_match_hand_computation() -> None:
    tracker = PerformanceTracker(window=10)
    for p, y, r, w in OBS:
        tracker.record("xgb", p, y, r, w)
    m = tracker.metrics("xgb")
    assert m.n == 4
    assert m.calls == 3
    assert m.hit_rate == pytest.approx(2 / 3)
    ll = -(math.log(0.8) + math.log(0.3) + math.log(0.5) + math.log(0.6)) / 4
    assert m.log_loss == pytest.approx(ll)
    assert m.brier == pytest.approx((0.04 + 0.49 + 0.25 + 0.16) / 4)
    assert m.pnl_contribution == pytest.approx(0.5 * 0.01 - 0.02 + 0.0 + 2 * 0.03)


def test_metrics_are_rolling_over_the_window() -> None:
    tracker = PerformanceTracker(window=3)
    for p, y, r, w in OBS:
        tracker.record("xgb", p, y, r, w)
    m = tracker.metrics("xgb")
    assert m.n == 3  # the first observation fell out
    assert m.hit_rate == pytest.approx(1 / 2)
    assert m.brier == pytest.approx((0.49 + 0.25 + 0.16) / 3)
    assert tracker.models() == ["xgb"]


def test_unknown_model_has_empty_metrics_and_bad_input_raises() -> None:
    tracker = PerformanceTracker()
    assert tracker.metrics("none") == ModelMetrics("none", 0, 0, None, None, None, 0.0)
    with pytest.raises(ValueError, match="prob_up"):
        tracker.record("m", 1.5, 1)
    with pytest.raises(ValueError, match="outcome"):
        tracker.record("m", 0.5, 3)


def test_psi_matches_hand_computation() -> None:
    expected = np.arange(100.0)  # quartile edges 24.75, 49.5, 74.25: 25% in each bin
    actual = np.concatenate(
        [np.full(10, 10.0), np.full(20, 30.0), np.full(30, 60.0), np.full(40, 90.0)]
    )
    shares = [0.1, 0.2, 0.3, 0.4]
    hand = sum((a - 0.25) * math.log(a / 0.25) for a in shares)
    assert psi(expected, actual, bins=4) == pytest.approx(hand)


def test_psi_on_known_distributions() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, 50_000)
    assert psi(train, rng.normal(0, 1, 20_000)) < 0.01  # same distribution
    assert psi(train, rng.normal(0.1, 1, 20_000)) < 0.1  # small shift
    assert psi(train, rng.normal(1.0, 1, 20_000)) > 0.5  # one-sigma shift
    assert psi(train, rng.normal(0, 2, 20_000)) > 0.2  # doubled volatility


def test_psi_with_empty_bins_stays_finite() -> None:
    value = psi(np.arange(100.0), np.full(50, 1000.0), bins=4)
    assert math.isfinite(value)
    assert value > 1.0


def _profile(rng: np.random.Generator, accuracy: float | None = 0.6) -> TrainingProfile:
    x = np.column_stack([rng.normal(0, 1, 5000), rng.exponential(1.0, 5000)])
    return TrainingProfile.from_matrix(x, ["ret", "spread"], training_accuracy=accuracy)


def test_drift_report_names_the_drifted_feature() -> None:
    rng = np.random.default_rng(1)
    profile = _profile(rng)
    recent = np.column_stack([rng.normal(0, 1, 2000), rng.exponential(3.0, 2000)])
    report = drift_report(profile, recent)
    assert report.drifted
    assert report.drifted_features == ("spread",)
    assert not report.accuracy_decay
    assert len(report.reasons) == 1
    assert report.reasons[0].startswith("feature spread: PSI")
    psis = {f.feature: f.psi for f in report.features}
    assert psis["ret"] < 0.05 < 0.2 < psis["spread"]


def test_no_drift_on_the_same_distribution() -> None:
    rng = np.random.default_rng(2)
    profile = _profile(rng)
    recent = np.column_stack([rng.normal(0, 1, 2000), rng.exponential(1.0, 2000)])
    report = drift_report(profile, recent)
    assert not report.drifted
    assert report.reasons == ()


def _metrics(hit_rate: float, calls: int) -> ModelMetrics:
    return ModelMetrics("m", calls, calls, hit_rate, 0.69, 0.25, 0.0)


def test_accuracy_decay_flag() -> None:
    profile = _profile(np.random.default_rng(3), accuracy=0.60)
    decayed = drift_report(profile, metrics=_metrics(0.52, 200), accuracy_drop=0.05)
    assert decayed.drifted
    assert decayed.accuracy_decay
    assert decayed.rolling_accuracy == 0.52
    assert decayed.training_accuracy == 0.60
    assert "below training" in decayed.reasons[0]
    # within the tolerance, too few calls to judge, or no training accuracy: no flag
    assert not drift_report(profile, metrics=_metrics(0.56, 200)).drifted
    assert not drift_report(profile, metrics=_metrics(0.40, 10)).drifted
    no_acc = _profile(np.random.default_rng(3), accuracy=None)
    assert not drift_report(no_acc, metrics=_metrics(0.40, 200)).drifted


def test_profile_rejects_wrong_shapes() -> None:
    profile = _profile(np.random.default_rng(4))
    with pytest.raises(ValueError, match="2 features"):
        profile.psi(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="features"):
        TrainingProfile.from_matrix(np.zeros((10, 2)), ["a"])


def test_should_retrain_on_expiry_and_drift() -> None:
    trained = 1_700_000_000 * 10**9
    week = 7 * NS_PER_DAY
    assert should_retrain(trained + 6 * NS_PER_DAY, trained, week) is None
    reason = should_retrain(trained + 8 * NS_PER_DAY, trained, week)
    assert reason is not None
    assert reason.startswith("expired: trained 8.0 days ago")
    profile = _profile(np.random.default_rng(5))
    drifted = drift_report(profile, metrics=_metrics(0.40, 200))
    reason = should_retrain(trained + NS_PER_DAY, trained, week, drifted)
    assert reason is not None
    assert reason.startswith("drift: accuracy")
