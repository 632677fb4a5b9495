"""One training pipeline for `traider train`, `traider models retrain` and the engine's
retraining: bars → features → purged walk-forward (the out-of-sample numbers a candidate
is judged on) → fit on every row → artifact, training profile and report.

`train_model` is a plain top-level function of picklable arguments because it runs in a
child process (`retrain.RetrainManager`); it never touches the store or the registry: the
caller registers the `TrainResult` (`register_candidate`). `TrainSpec` and `TrainResult`
convert to and from plain dicts, which is what crosses the process boundary.

Heavy libraries (polars, xgboost, torch, the evaluation code) are imported inside the
functions, so importing this module for `MODEL_NAMES` or the dataclasses stays cheap.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import polars as pl

    from traider.engine.models.base import Dataset
    from traider.engine.models.registry import ModelRecord, ModelRegistry

__all__ = [
    "MODEL_NAMES",
    "Progress",
    "TrainResult",
    "TrainSpec",
    "bars_needed",
    "fit_predict_for",
    "labelled_dataset",
    "load_bars",
    "make_model",
    "register_candidate",
    "train_model",
]

MODEL_NAMES = ("momentum", "mean_reversion", "xgboost", "random_forest", "lstm")
Progress = Callable[[str, float, str], None]  # (stage, fraction of the whole job, message)
FitPredict = Callable[[Any, Any], Callable[[Any], Any]]

_TF_RE = re.compile(r"^(\d+)([smhd])$")
# the walk-forward's first fold trains on max(rows // 3, TRAIN_MIN_ROWS) rows; each fold
# tests at least TEST_ROWS_PER_FOLD rows (`train_model`; `evaluate` asks for 1)
TRAIN_MIN_ROWS = 200
TEST_ROWS_PER_FOLD = 20
# shares of the job's progress bar outside the row-weighted evaluate + fit part
_FEATURES_DONE = 0.05
_FIT_DONE = 0.95


def _no_progress(stage: str, fraction: float, message: str) -> None:
    """Default `progress`: a named function, not a lambda, so `train_model`'s defaults
    stay picklable."""


@dataclass(frozen=True)
class TrainSpec:
    """What to train: the model, the feature timeframes (the first is the bars' own
    length, e.g. "1m" for the simulator's bars), the label horizon in bars, the number of
    walk-forward folds, and the costs the P&L is charged."""

    model: str
    timeframes: tuple[str, ...]
    horizon_bars: int = 1
    splits: int = 3
    fee_bps: float = 40.0
    spread_bps: float = 2.0

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}; use {', '.join(MODEL_NAMES)}")
        object.__setattr__(self, "timeframes", tuple(self.timeframes))
        if not self.timeframes:
            raise ValueError("no timeframes; give e.g. ('1m', '5m', '15m')")
        for tf in self.timeframes:
            if not _TF_RE.match(tf) or int(tf[:-1]) <= 0:
                raise ValueError(f"bad timeframe {tf!r} (expected e.g. '1m', '15m', '1h')")
        if self.horizon_bars < 1 or self.splits < 1:
            raise ValueError("horizon_bars and splits must be >= 1")
        if self.fee_bps < 0 or self.spread_bps < 0:
            raise ValueError("fee_bps and spread_bps must be >= 0")

    @property
    def base(self) -> str:
        return self.timeframes[0]

    @property
    def horizon(self) -> str:
        """The label horizon as a timeframe string: 3 bars of "5m" → "15m"."""
        m = _TF_RE.match(self.base)
        assert m is not None  # checked in __post_init__
        return f"{int(m.group(1)) * self.horizon_bars}{m.group(2)}"

    def features_params(self) -> dict[str, Any]:
        """How to rebuild the model's features: stored in the registry's params."""
        return {"timeframes": list(self.timeframes), "base": self.base,
                "horizon_bars": self.horizon_bars}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "timeframes": list(self.timeframes)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainSpec:
        return cls(
            model=str(doc["model"]),
            timeframes=tuple(str(t) for t in doc["timeframes"]),
            horizon_bars=int(doc.get("horizon_bars", 1)),
            splits=int(doc.get("splits", 3)),
            fee_bps=float(doc.get("fee_bps", 40.0)),
            spread_bps=float(doc.get("spread_bps", 2.0)),
        )


@dataclass(frozen=True)
class TrainResult:
    """A fitted, saved, not yet registered model. `params` are the artifact's params plus
    "features" (how to rebuild its inputs); `metrics` hold the out-of-sample numbers
    ("oos_accuracy", "oos_accuracy_ci", ...), "profile" (a `TrainingProfile` dict),
    "trained_at_ns" and "report" (the markdown report's path)."""

    model: str
    artifact_path: str
    params: dict[str, Any]
    metrics: dict[str, Any] = field(repr=False)
    data_start_ns: int
    data_end_ns: int
    data_hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainResult:
        return cls(
            model=str(doc["model"]),
            artifact_path=str(doc["artifact_path"]),
            params=dict(doc["params"]),
            metrics=dict(doc["metrics"]),
            data_start_ns=int(doc["data_start_ns"]),
            data_end_ns=int(doc["data_end_ns"]),
            data_hash=str(doc["data_hash"]),
        )


# --- data and models ---------------------------------------------------------------------


def load_bars(path: Path) -> pl.DataFrame:
    """OHLCV bars from a CSV (ts, open, high, low, close, volume or volume_base) or a
    parquet file (what `RetrainManager` hands its child)."""
    import polars as pl

    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
    else:
        df = pl.read_csv(path, try_parse_dates=True)
    return _with_volume(df)


def _with_volume(df: pl.DataFrame) -> pl.DataFrame:
    if "volume" not in df.columns and "volume_base" in df.columns:
        return df.rename({"volume_base": "volume"})
    return df


def _bar_spacing_ns(bars: pl.DataFrame) -> int | None:
    """The most common spacing of `ts` (gaps do not change it), None under 2 bars."""
    import numpy as np
    import polars as pl

    col = bars["ts"]
    t = (col.dt.epoch("ns") if isinstance(col.dtype, pl.Datetime) else col).to_numpy()
    diffs = np.diff(t.astype(np.int64))
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return int(values[np.argmax(counts)])


def labelled_dataset(
    bars: pl.DataFrame, timeframes: tuple[str, ...], horizon_bars: int
) -> tuple[Dataset, npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Features (base = `timeframes[0]`) and labels of `bars`, with the forward returns
    and label ends that the walk-forward needs. The first timeframe must be the bars' own
    length: features of "4h" computed from 1h rows would be mislabelled silently."""
    from traider.engine.features.bars import bar_features, make_labelled, timeframe_ns

    bars = _with_volume(bars)
    if "ts" not in bars.columns:
        raise ValueError("bars lack a ts column")
    spacing = _bar_spacing_ns(bars)
    base_ns = timeframe_ns(timeframes[0])
    if spacing is not None and spacing != base_ns:
        raise ValueError(
            f"the bars are {spacing // 1_000_000_000} s apart but the first timeframe "
            f"{timeframes[0]} is {base_ns // 1_000_000_000} s: list the bars' own "
            "timeframe first (e.g. 1h,4h for hourly bars, 1m,5m,15m for minute bars)"
        )
    features = bar_features(bars, timeframes=timeframes, base=timeframes[0])
    return make_labelled(features, horizon_bars)


def bars_needed(
    timeframes: tuple[str, ...],
    horizon_bars: int,
    splits: int,
    test_rows_per_fold: int = TEST_ROWS_PER_FOLD,
) -> int:
    """The fewest gap-free bars (of `timeframes[0]`) from which the walk-forward can get
    enough rows: the features' warm-up (at best: the data starts on every timeframe's
    boundary), the training and test rows, and the label horizon (the last rows have no
    label). A lower bound: a partial first higher bar, gaps or rows with a NaN input
    (a bar without microstructure samples) need more."""
    from traider.engine.features.bars import WARMUP_BARS, timeframe_ns

    base = timeframe_ns(timeframes[0])
    warmup = max(WARMUP_BARS * (timeframe_ns(tf) // base) for tf in timeframes) - 1
    test = splits * test_rows_per_fold
    rows = TRAIN_MIN_ROWS + test
    while rows - max(rows // 3, TRAIN_MIN_ROWS) < test:
        rows += 1
    return warmup + rows + horizon_bars


def model_class(kind: str) -> Any:
    """The model class for a kind (one of MODEL_NAMES); xgboost and torch load when the
    class first uses them."""
    if kind in ("momentum", "mean_reversion"):
        from traider.engine.models import rules

        return rules.MomentumModel if kind == "momentum" else rules.MeanReversionModel
    if kind == "xgboost":
        from traider.engine.models.xgb import XGBoostModel

        return XGBoostModel
    if kind == "random_forest":
        from traider.engine.models.forest import RandomForestModel

        return RandomForestModel
    if kind == "lstm":
        from traider.engine.models.lstm import LSTMModel

        return LSTMModel
    raise ValueError(f"unknown model {kind!r}; use {', '.join(MODEL_NAMES)}")


def make_model(name: str, horizon: str = "1h", threads: int = 0) -> Any:
    """A fresh, unfitted model. `threads` bounds xgboost's threads (0: all cores)."""
    cls = model_class(name)
    if name in ("xgboost", "random_forest"):
        return cls(horizon, batch_threads=threads)
    return cls(horizon)


def fit_predict_for(
    name: str, feature_names: tuple[str, ...], horizon: str = "1h", threads: int = 0
) -> FitPredict:
    """`evaluation.evaluate`'s fit_predict for one model: fit a fresh model on the fold's
    training rows, return its batch predictor."""

    def fit_predict(X: Any, y: Any) -> Callable[[Any], Any]:
        import numpy as np

        from traider.engine.models.base import Dataset

        model = make_model(name, horizon, threads)
        ts = np.arange(len(y), dtype=np.int64)  # models ignore ts; the order is what counts
        model.fit(Dataset(X=X, y=y, feature_names=feature_names, ts_ns=ts))
        predict: Callable[[Any], Any] = model.predict_batch
        return predict

    return fit_predict


def _free_path(directory: Path, stem: str, suffix: str) -> Path:
    """`directory/stem.suffix`, or `stem-2`, `stem-3`, …: never overwrite an artifact,
    since a registered model's file must not change under it."""
    path = directory / f"{stem}{suffix}"
    n = 2
    while path.exists():
        path = directory / f"{stem}-{n}{suffix}"
        n += 1
    return path


# --- the pipeline --------------------------------------------------------------------------


def train_model(
    spec: TrainSpec,
    bars: pl.DataFrame,
    out_dir: Path,
    version_hint: str,
    progress: Progress = _no_progress,
    *,
    report_dir: Path | None = None,
    source: str = "bars",
    threads: int = 0,
) -> TrainResult:
    """Walk-forward out-of-sample metrics first, then the fit on every row; saves the
    artifact to `out_dir/models/{model}-{version_hint}.json` and the report to
    `report_dir` (default `out_dir/reports`) as `train-{model}-{version_hint}.*`.
    `source` names the data in the report; `threads` bounds xgboost (0: all cores)."""
    import numpy as np

    from traider.engine.models.evaluation import evaluate, walk_forward_splits
    from traider.engine.models.report import summarise, write_report
    from traider.engine.models.tracking import TrainingProfile

    progress("features", 0.0, f"building {','.join(spec.timeframes)} features from "
                              f"{bars.height} bars")  # fmt: skip
    dataset, forward_returns, label_end = labelled_dataset(bars, spec.timeframes, spec.horizon_bars)
    n = len(dataset)
    train_min = max(n // 3, TRAIN_MIN_ROWS)
    if n - train_min < spec.splits * TEST_ROWS_PER_FOLD:
        raise ValueError(
            f"only {n} usable rows after the features' warm-up: too few for {spec.splits} "
            f"walk-forward folds after {train_min} training rows; give more bars"
        )
    folds = walk_forward_splits(dataset.ts_ns, label_end, spec.splits, train_min=train_min)
    # progress over evaluate + fit is weighted by rows trained on, the cost that grows
    total_rows = sum(int(train.size) for train, _ in folds) + n
    span = _FIT_DONE - _FEATURES_DONE
    done_rows = 0

    def at(rows: int) -> float:
        return _FEATURES_DONE + span * rows / total_rows

    progress("features", _FEATURES_DONE, f"{n} labelled rows, {dataset.n_features} features")
    fit_fold = fit_predict_for(spec.model, dataset.feature_names, spec.horizon, threads)
    fold_no = 0

    def fit_predict_with_progress(X: Any, y: Any) -> Callable[[Any], Any]:
        nonlocal fold_no, done_rows
        test_rows = int(folds[fold_no][1].size)
        fold_no += 1
        progress("evaluate", at(done_rows), f"fold {fold_no}/{len(folds)}: training on "
                                            f"{len(y)} rows, testing {test_rows}")  # fmt: skip
        predictor = fit_fold(X, y)
        done_rows += len(y)
        return predictor

    evaluation = evaluate(
        fit_predict_with_progress, dataset, folds, spec.fee_bps, spec.spread_bps,
        forward_returns=forward_returns,
    )  # fmt: skip
    pooled = evaluation.pooled
    progress("fit", at(done_rows), f"fitting {spec.model} on all {n} rows "
                                   f"(out-of-sample accuracy {pooled.accuracy:.3f})")  # fmt: skip
    model = make_model(spec.model, spec.horizon, threads)
    if spec.model == "lstm":
        fit_start = done_rows

        def on_epoch(epoch: int, epochs: int, val_loss: float) -> None:
            progress("fit", at(fit_start + n * epoch // epochs),
                     f"epoch {epoch}/{epochs}: validation loss {val_loss:.4f}")  # fmt: skip

        model.fit(dataset, on_epoch=on_epoch)
    else:
        model.fit(dataset)
    trained_at_ns = time.time_ns()
    in_sample = float(np.mean((model.predict_batch(dataset.X) > 0.5) == (dataset.y == 1)))
    progress("save", _FIT_DONE, "saving the artifact and the report")
    models_dir = out_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    path = _free_path(models_dir, f"{spec.model}-{version_hint}", ".json")
    artifact = model.save(path)
    profile = TrainingProfile.from_matrix(
        dataset.X, dataset.feature_names, training_accuracy=pooled.accuracy
    )
    data = {
        "source": source, "rows": n, "start_ns": int(dataset.ts_ns[0]),
        "end_ns": int(dataset.ts_ns[-1]), **spec.features_params(),
    }  # fmt: skip
    files = write_report(
        report_dir or out_dir / "reports", f"train-{path.stem}",
        title=f"train {spec.model} ({path.stem})", data=data,
        reports={spec.model: evaluation}, chart_model=spec.model,
        notes=[f"in-sample accuracy {in_sample:.3f} after the final fit on all rows: "
               "optimistic by construction, not evidence"],
    )  # fmt: skip
    metrics = {
        "oos_accuracy": pooled.accuracy,
        "oos_accuracy_ci": [pooled.accuracy_low, pooled.accuracy_high],
        "oos_log_loss": pooled.log_loss,
        "oos_brier": pooled.brier,
        "oos_rows": pooled.n,
        "folds": len(folds),
        "walk_forward": summarise(evaluation),
        "in_sample_accuracy": in_sample,
        "rows": n,
        "trained_at_ns": trained_at_ns,
        "profile": profile.to_dict(),
        "report": str(files.markdown),
    }
    lo, hi = pooled.accuracy_low, pooled.accuracy_high
    progress("done", 1.0, f"{spec.model}: out-of-sample accuracy {pooled.accuracy:.3f} "
                          f"[{lo:.3f}, {hi:.3f}] over {pooled.n} rows")  # fmt: skip
    return TrainResult(
        model=spec.model,
        artifact_path=str(artifact.path or path),
        params={**artifact.params, "features": spec.features_params()},
        metrics=metrics,
        data_start_ns=int(dataset.ts_ns[0]),
        data_end_ns=int(dataset.ts_ns[-1]),
        data_hash=artifact.data_hash,
    )


def register_candidate(registry: ModelRegistry, result: TrainResult, by: str) -> ModelRecord:
    """Register `result` as a candidate under its model's name (only an operator can
    approve it afterwards). The artifact file's sha256 is recorded with it: the engine
    refuses to load a file that no longer matches."""
    from traider.engine.models.base import file_sha256

    digest = file_sha256(result.artifact_path)
    return registry.register(
        result.model,
        params=result.params,
        data_start_ns=result.data_start_ns,
        data_end_ns=result.data_end_ns,
        data_hash=result.data_hash,
        metrics={**result.metrics, "artifact_sha256": digest},
        artifact_path=result.artifact_path,
        by=by,
    )
