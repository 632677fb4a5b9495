"""Rule models with one fitted parameter: `MomentumModel` and `MeanReversionModel`.

Both read a single feature column and squash it with a logistic function,
prob_up = 1 / (1 + exp(-a · s)), where the signal s is

* momentum: the recent return scaled by its training standard deviation, s = r / sd(r)
  (not centred: the sign of the return is the signal), so a rising market predicts up;
* mean reversion: minus the z-score of the distance to a moving average,
  s = -(d - mean(d)) / sd(d), so a close far above its average predicts down.

The strength a >= 0 is chosen on a 1-D grid (`grid`, default 0 to 4 in steps of 0.05) to
maximise the mean log-likelihood of the training labels; a = 0 (prob_up = 0.5, confidence
0) is what a feature without signal gets. The column defaults to the first feature named
`ret_1_*` (momentum) or `dist_ma20_bps_*` (mean reversion) from `features.bars`, or is
given by name. The artifact's model is the parameters as JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from traider.engine.models.base import (
    ArtifactMixin,
    Dataset,
    F64Array,
    ModelArtifact,
    Prediction,
    check_matrix,
    check_vector,
)

__all__ = ["MeanReversionModel", "MomentumModel"]

_EPS = 1e-9
DEFAULT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(81))


class _OneFeatureLogistic(ArtifactMixin):
    kind: ClassVar[str] = ""
    feature_prefix: ClassVar[str] = ""
    centred: ClassVar[bool] = False
    direction: ClassVar[float] = 1.0  # +1: signal follows the feature, -1: against it

    def __init__(
        self,
        horizon: str = "1h",
        *,
        name: str | None = None,
        feature: str | None = None,
        grid: tuple[float, ...] = DEFAULT_GRID,
    ) -> None:
        if not grid or min(grid) < 0:
            raise ValueError("grid must be non-empty and non-negative")
        self._horizon = horizon
        self._name = name or self.kind
        self._feature = feature
        self._grid = tuple(float(g) for g in grid)
        self._artifact: ModelArtifact | None = None
        self._feature_names: tuple[str, ...] = ()
        self._k = 0
        self._idx = -1
        self._mu = 0.0
        self._scale = 1.0  # direction * strength / sd, applied to (x - mu)

    @property
    def name(self) -> str:
        return self._name

    @property
    def horizon(self) -> str:
        return self._horizon

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._feature_names

    @property
    def strength(self) -> float:
        return float(self.artifact().params["strength"])

    def _column(self, names: tuple[str, ...]) -> int:
        if self._feature is not None:
            if self._feature not in names:
                raise ValueError(f"{self._name}: feature {self._feature!r} not in the dataset")
            return names.index(self._feature)
        for i, n in enumerate(names):
            if n.startswith(self.feature_prefix):
                return i
        raise ValueError(f"{self._name}: no feature named {self.feature_prefix}* in the dataset")

    def fit(self, dataset: Dataset) -> ModelArtifact:
        if len(dataset) == 0:
            raise ValueError("empty dataset")
        idx = self._column(dataset.feature_names)
        x = dataset.X[:, idx].astype(np.float64)
        if not np.isfinite(x).all():
            raise ValueError(f"{self._name}: non-finite values in the feature column")
        y = dataset.y.astype(np.float64)
        mu = float(x.mean()) if self.centred else 0.0
        sd = float(np.sqrt(np.mean((x - mu) ** 2)))
        s = self.direction * (x - mu) / (sd if sd > _EPS else 1.0)
        best_a, best_ll = 0.0, -math.inf
        for a in self._grid:
            ll = _log_likelihood(a * s, y)
            if ll > best_ll + 1e-12:
                best_a, best_ll = a, ll
        params = {
            "feature": dataset.feature_names[idx],
            "grid": list(self._grid),
            "mu": mu,
            "sd": sd,
            "strength": best_a,
            "train_log_likelihood": best_ll,
        }
        art = ModelArtifact(
            kind=self.kind,
            params=params,
            feature_names=dataset.feature_names,
            data_hash=dataset.hash(),
            model=json.dumps(params, sort_keys=True).encode(),
            horizon=self._horizon,
            n_train=len(dataset),
        )
        self._install(art)
        return art

    def predict(self, features: npt.NDArray[Any]) -> Prediction:
        if self._artifact is None:
            raise RuntimeError(f"{self._name} is not fitted")
        x = float(check_vector(features, self._k)[0, self._idx])
        z = self._scale * (x - self._mu)
        # numerically safe logistic
        if z >= 0:
            p = 1.0 / (1.0 + math.exp(-z))
        else:
            e = math.exp(z)
            p = e / (1.0 + e)
        return Prediction.from_prob(p, self._horizon)

    def predict_batch(self, X: npt.NDArray[Any]) -> F64Array:
        if self._artifact is None:
            raise RuntimeError(f"{self._name} is not fitted")
        x = check_matrix(X, self._k)[:, self._idx].astype(np.float64)
        z = self._scale * (x - self._mu)
        out: F64Array = 0.5 * (1.0 + np.tanh(0.5 * z))  # = logistic(z), overflow-free
        return out

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact, *, name: str | None = None) -> Self:
        cls.check_kind(artifact)
        p = artifact.params
        model = cls(artifact.horizon, name=name, feature=str(p["feature"]), grid=tuple(p["grid"]))
        model._install(artifact)
        return model

    def _install(self, art: ModelArtifact) -> None:
        p = json.loads(art.model)
        self._feature_names = art.feature_names
        self._k = len(art.feature_names)
        self._idx = art.feature_names.index(str(p["feature"]))
        self._mu = float(p["mu"])
        sd = float(p["sd"])
        self._scale = self.direction * float(p["strength"]) / (sd if sd > _EPS else 1.0)
        self._artifact = art


def _log_likelihood(z: F64Array, y: F64Array) -> float:
    # log p = -log(1 + e^-z), log(1 - p) = -log(1 + e^z)
    ll = -(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z))
    return float(ll.mean())


class MomentumModel(_OneFeatureLogistic):
    """prob_up rises with the recent return (default column `ret_1_*`)."""

    kind: ClassVar[str] = "momentum"
    feature_prefix: ClassVar[str] = "ret_1_"
    centred: ClassVar[bool] = False
    direction: ClassVar[float] = 1.0


class MeanReversionModel(_OneFeatureLogistic):
    """prob_up falls with the z-score of the distance to a moving average (default column
    `dist_ma20_bps_*`): opposite to the deviation."""

    kind: ClassVar[str] = "mean_reversion"
    feature_prefix: ClassVar[str] = "dist_ma20_bps_"
    centred: ClassVar[bool] = True
    direction: ClassVar[float] = -1.0
