"""Random forest: `RandomForestModel` over xgboost.XGBRFClassifier.

Why xgboost's random-forest mode and not scikit-learn's RandomForestClassifier: it is the
dependency the boosted model already needs (no scikit-learn/joblib in the install), its
artifact is the same booster JSON (one loader, bit-identical reloads, same
`inplace_predict` hot path, see xgb.py), and its histogram trees fit tens of thousands of
rows in well under a second. XGBRF grows `n_estimators` trees in parallel in one boosting
round (learning rate 1), each on a row subsample (`subsample`) and a column subsample per
split (`colsample_bynode`), and averages them: a forest, not a boosted ensemble. Deeper
trees than the boosted model's, since averaging, not shrinkage, controls the variance;
`min_child_weight` keeps leaves from fitting a handful of noisy rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

from traider.engine.models.xgb import XGBoostModel

__all__ = ["RandomForestModel"]


class RandomForestModel(XGBoostModel):
    kind: ClassVar[str] = "random_forest"
    defaults: ClassVar[dict[str, Any]] = {
        "n_estimators": 200,
        "max_depth": 6,
        "subsample": 0.8,
        "colsample_bynode": 0.8,
        "min_child_weight": 5.0,
        "tree_method": "hist",
        "random_state": 7,
    }

    def _make_estimator(self) -> Any:
        import xgboost

        return xgboost.XGBRFClassifier(
            objective="binary:logistic", n_jobs=self._batch_threads or None, **self._params
        )
