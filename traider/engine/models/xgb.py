"""Gradient-boosted trees: `XGBoostModel` (xgboost.XGBClassifier, binary:logistic).

Modest defaults (200 trees of depth 3, learning rate 0.05, row subsample 0.8, histogram
trees, fixed seed) so the model fits the weak signal of bar features without memorising
the noise. After fitting, the model is rebuilt from its artifact (the booster's JSON
model), so a fitted and a reloaded model predict bit-identically. `predict_batch` calls
`Booster.inplace_predict` (no DMatrix) with `batch_threads` threads. `predict` on one
vector does not: `inplace_predict` on a (1, k) array costs ~300 µs (xgboost's per-call
setup), so it runs the same trees through `trees.CompiledTrees` (numpy, tens of µs; equal
to `inplace_predict` to float32 rounding). xgboost is imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

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
from traider.engine.models.trees import CompiledTrees

if TYPE_CHECKING:
    import xgboost

__all__ = ["XGBoostModel"]


class XGBoostModel(ArtifactMixin):
    """`Model` over xgboost.XGBClassifier. `params` are passed to the estimator."""

    kind: ClassVar[str] = "xgboost"
    defaults: ClassVar[dict[str, Any]] = {
        "n_estimators": 200,
        "max_depth": 3,
        "learning_rate": 0.05,
        "subsample": 0.8,
        "tree_method": "hist",
        "random_state": 7,
    }

    def __init__(
        self,
        horizon: str = "1h",
        *,
        name: str | None = None,
        batch_threads: int = 0,
        **params: Any,
    ) -> None:
        self._horizon = horizon
        self._name = name or self.kind
        self._params: dict[str, Any] = {**self.defaults, **params}
        self._batch_threads = batch_threads  # 0: xgboost's default (all cores)
        self._booster: xgboost.Booster | None = None
        self._trees: CompiledTrees | None = None
        self._artifact: ModelArtifact | None = None
        self._feature_names: tuple[str, ...] = ()
        self._k = 0

    # --- Model protocol -------------------------------------------------------------
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
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def _make_estimator(self) -> Any:
        import xgboost

        return xgboost.XGBClassifier(
            objective="binary:logistic", n_jobs=self._batch_threads or None, **self._params
        )

    def fit(self, dataset: Dataset) -> ModelArtifact:
        if len(dataset) == 0:
            raise ValueError("empty dataset")
        est = self._make_estimator()
        est.fit(dataset.X, dataset.y)
        booster = est.get_booster()
        raw = bytes(booster.save_raw(raw_format="json"))
        art = ModelArtifact(
            kind=self.kind,
            params=dict(self._params),
            feature_names=dataset.feature_names,
            data_hash=dataset.hash(),
            model=raw,
            horizon=self._horizon,
            n_train=len(dataset),
        )
        self._install(art)
        return art

    def predict(self, features: npt.NDArray[Any]) -> Prediction:
        trees = self._trees
        if trees is None:
            raise RuntimeError(f"{self._name} is not fitted")
        x = check_vector(features, self._k)
        return Prediction.from_prob(trees.prob(x[0]), self._horizon)

    def predict_batch(self, X: npt.NDArray[Any]) -> F64Array:
        booster = self._require()
        x = check_matrix(X, self._k)
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        if self._batch_threads != 1:
            booster.set_param({"nthread": self._batch_threads})
        try:
            p = booster.inplace_predict(x)
        finally:
            if self._batch_threads != 1:
                booster.set_param({"nthread": 1})
        return np.asarray(p, dtype=np.float64).reshape(-1)

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact, *, name: str | None = None) -> Self:
        cls.check_kind(artifact)
        model = cls(artifact.horizon, name=name, **artifact.params)
        model._install(artifact)
        return model

    # --- internals --------------------------------------------------------------------
    def _install(self, art: ModelArtifact) -> None:
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(bytearray(art.model))
        booster.set_param({"nthread": 1})
        self._booster = booster
        self._trees = CompiledTrees(art.model)
        self._artifact = art
        self._feature_names = art.feature_names
        self._k = len(art.feature_names)

    def _require(self) -> xgboost.Booster:
        if self._booster is None:
            raise RuntimeError(f"{self._name} is not fitted")
        return self._booster
