"""HedgeEnsemble (multiplicative weights + floor) and StackingMetaModel."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import pytest

from traider.engine.models.base import Prediction
from traider.engine.models.ensemble import HedgeEnsemble, StackingMetaModel, log_loss


@dataclass(frozen=True)
class P:
    prob_up: float


def _call(right: bool, y: int, strength: float = 0.7) -> P:
    """A prediction with `strength` confidence in the right (or wrong) direction."""
    up = (y == 1) == right
    return P(strength if up else 1.0 - strength)


def test_log_loss_matches_hand_values() -> None:
    assert log_loss(0.8, 1) == pytest.approx(-math.log(0.8))
    assert log_loss(0.8, 0) == pytest.approx(-math.log(0.2))
    assert log_loss(1.0, 0) == pytest.approx(-math.log(1e-6))  # clipped, finite


def test_combine_is_weighted_mean_with_contributions() -> None:
    ens = HedgeEnsemble(["a", "b"])
    p, conf, contrib = ens.combine({"a": P(0.8), "b": P(0.4)})
    assert p == pytest.approx(0.6)
    assert conf == pytest.approx(0.2)
    assert contrib == pytest.approx({"a": 0.4, "b": 0.2})
    assert sum(contrib.values()) == pytest.approx(p)


def test_single_update_matches_hand_computation() -> None:
    ens = HedgeEnsemble(["a", "b"], eta=1.0, floor=0.02)
    ens.update({"a": P(0.8), "b": P(0.4)}, 1)
    wa, wb = 0.5 * 0.8, 0.5 * 0.4  # exp(-loss) = p for y = 1
    a, b = wa / (wa + wb), wb / (wa + wb)
    k = 2
    expected = {"a": (1 - k * 0.02) * a + 0.02, "b": (1 - k * 0.02) * b + 0.02}
    assert ens.weights() == pytest.approx(expected)
    assert sum(ens.weights().values()) == pytest.approx(1.0)


def test_weights_follow_the_model_that_is_right_and_cross_back() -> None:
    rng = random.Random(7)
    ens = HedgeEnsemble(["a", "b"], eta=0.5, floor=0.02)
    history: list[float] = []
    for t in range(600):
        y = rng.randint(0, 1)
        a_right = rng.random() < (0.8 if t < 300 else 0.2)
        b_right = rng.random() < (0.2 if t < 300 else 0.8)
        ens.update({"a": _call(a_right, y), "b": _call(b_right, y)}, y)
        history.append(ens.weights()["a"])
    assert sum(history[200:300]) / 100 > 0.9  # a was right in the first half
    assert sum(history[500:]) / 100 < 0.1  # b in the second
    crossing = next(t for t in range(300, 600) if history[t] < 0.5)
    assert crossing < 330  # it switched within a few dozen outcomes


def test_floor_keeps_a_losing_model_recoverable() -> None:
    floored = HedgeEnsemble(["a", "b"], eta=1.0, floor=0.02)
    unfloored = HedgeEnsemble(["a", "b"], eta=1.0, floor=0.0)
    for ens in (floored, unfloored):
        for _ in range(500):  # b is confidently wrong for a long time
            ens.update({"a": P(0.9), "b": P(0.1)}, 1)
    assert floored.weights()["b"] >= 0.02
    assert unfloored.weights()["b"] < 1e-100
    for ens in (floored, unfloored):
        for _ in range(10):  # now b is right
            ens.update({"a": P(0.9), "b": P(0.1)}, 0)
    assert floored.weights()["b"] > 0.9
    assert unfloored.weights()["b"] < 0.01


def test_none_prediction_is_skipped_and_weights_renormalised() -> None:
    ens = HedgeEnsemble(["a", "b", "c"], floor=0.0)
    p, conf, contrib = ens.combine({"a": P(0.9), "b": None, "c": P(0.5)})
    assert p == pytest.approx(0.7)
    assert conf == pytest.approx(0.4)
    assert set(contrib) == {"a", "c"}
    before = ens.weights()["b"]
    ens.update({"a": P(0.9), "b": None, "c": P(0.5)}, 1)
    w = ens.weights()
    assert w["b"] == pytest.approx(before)  # a sleeping model keeps its weight
    assert w["a"] > w["c"]
    assert sum(w.values()) == pytest.approx(1.0)


def test_nan_prediction_counts_as_failed_and_all_failed_is_neutral() -> None:
    ens = HedgeEnsemble(["a", "b"])
    p, _, contrib = ens.combine({"a": P(math.nan), "b": P(0.6)})
    assert p == pytest.approx(0.6)
    assert set(contrib) == {"b"}
    assert ens.combine({"a": None, "b": None}) == (0.5, 0.0, {})
    ens.update({"a": None, "b": None}, 1)
    assert ens.updates == 0


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="floor"):
        HedgeEnsemble(["a", "b"], floor=0.5)
    with pytest.raises(ValueError, match="duplicate"):
        HedgeEnsemble(["a", "a"])
    ens = HedgeEnsemble(["a"])
    with pytest.raises(ValueError, match="unknown model"):
        ens.combine({"z": P(0.5)})
    with pytest.raises(ValueError, match="outcome"):
        ens.update({"a": P(0.5)}, 2)


def test_state_round_trips_through_json() -> None:
    ens = HedgeEnsemble(["a", "b"], eta=0.3, floor=0.01, window=10)
    ens.update({"a": P(0.7), "b": P(0.2)}, 1)
    back = HedgeEnsemble.from_json(ens.to_json())
    assert back.weights() == pytest.approx(ens.weights())
    assert (back.eta, back.floor, back.window, back.updates) == (0.3, 0.01, 10, 1)


def test_recent_loss_averages_the_window() -> None:
    ens = HedgeEnsemble(["a", "b"], window=2)
    for p in (0.9, 0.5, 0.8):
        ens.update({"a": P(p), "b": None}, 1)
    losses = ens.recent_loss()
    assert losses["a"] == pytest.approx((-math.log(0.5) - math.log(0.8)) / 2)
    assert losses["b"] is None


def _stack_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    informative = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.15, n), 0.01, 0.99)
    noise = rng.uniform(0.05, 0.95, n)
    return np.column_stack([informative, noise]), y


def test_stacking_trusts_the_informative_model() -> None:
    x, y = _stack_data(2000, 1)
    meta = StackingMetaModel(l2=1.0).fit(x, y)
    assert meta.coef is not None
    assert meta.coef[0] > 1.0
    assert abs(meta.coef[1]) < 0.2
    x_test, y_test = _stack_data(1000, 2)
    p = meta.predict_proba(x_test)
    assert np.mean((p > 0.5) == (y_test == 1)) > 0.8
    ll_meta = -np.mean(y_test * np.log(p) + (1 - y_test) * np.log(1 - p))
    assert ll_meta < np.log(2)


def test_stacking_l2_shrinks_towards_the_base_rate() -> None:
    x, y = _stack_data(500, 3)
    loose = StackingMetaModel(l2=0.0).fit(x, y)
    tight = StackingMetaModel(l2=1e4).fit(x, y)
    assert loose.coef is not None
    assert tight.coef is not None
    assert np.abs(tight.coef).sum() < 0.1 * np.abs(loose.coef).sum()
    assert tight.predict_proba(x).std() < 0.05


def test_stacking_rejects_bad_input() -> None:
    meta = StackingMetaModel()
    with pytest.raises(RuntimeError, match="before fit"):
        meta.predict_proba([[0.5, 0.5]])
    with pytest.raises(ValueError, match="0/1"):
        meta.fit([[0.5, 0.5]], [2])
    meta.fit([[0.6, 0.5], [0.4, 0.5]], [1, 0])
    with pytest.raises(ValueError, match="fitted on 2"):
        meta.predict_proba([[0.5]])


def test_carry_over_keeps_learnt_weights_and_gives_a_newcomer_an_equal_share() -> None:
    ens = HedgeEnsemble(["a", "b", "c"], floor=0.0)
    ens.carry_over({"a": 0.6, "b": 0.2, "gone": 0.2})  # c is new: raw share 1/3
    w = ens.weights()
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["a"] == pytest.approx(0.6 / (0.6 + 0.2 + 1 / 3))
    assert w["a"] / w["b"] == pytest.approx(3.0)
    floored = HedgeEnsemble(["a", "b"], floor=0.05)
    floored.carry_over({"a": 1.0, "b": 0.0})
    assert floored.weights()["b"] >= 0.05


def test_zero_weights_without_a_floor_do_not_divide_by_zero() -> None:
    ens = HedgeEnsemble(["a", "b"], floor=0.0)
    ens.carry_over({"a": 1.0, "b": 0.0})
    ens.update({"b": Prediction(0.9, 0.8, "1m")}, 1)  # only the zero-weight model answered
    assert ens.weights() == {"a": 1.0, "b": 0.0}
