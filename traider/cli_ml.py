"""`traider evaluate` and `traider train`: models on bar features, judged honestly.

`evaluate` runs a purged walk-forward over an OHLCV file for each model and for the
Hedge ensemble of them (weights updated online, after each outcome, never ahead of it),
and prints accuracy with its confidence interval, log-loss and Brier against naive
baselines, and a long/flat P&L after fees and spread with Sharpe, PSR and DSR (the DSR
counts every model tried as a trial). `train` fits one model on the whole file and
registers it as a *candidate*: only an operator approves it (`traider models approve`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from traider.cli import JsonOpt, app, fail, load_cli_config

if TYPE_CHECKING:
    import numpy.typing as npt

MODEL_NAMES = ("momentum", "mean_reversion", "xgboost", "random_forest", "lstm")
DataArg = Annotated[
    Path, typer.Option("--data", help="OHLCV CSV: ts, open, high, low, close, volume_base.")
]


def _model(name: str) -> Any:
    from traider.engine.models.forest import RandomForestModel
    from traider.engine.models.lstm import LSTMModel
    from traider.engine.models.rules import MeanReversionModel, MomentumModel
    from traider.engine.models.xgb import XGBoostModel

    makers: dict[str, Callable[[], Any]] = {
        "momentum": MomentumModel,
        "mean_reversion": MeanReversionModel,
        "xgboost": XGBoostModel,
        "random_forest": RandomForestModel,
        "lstm": LSTMModel,
    }
    if name not in makers:
        fail(f"--models: unknown model {name!r}; use {', '.join(MODEL_NAMES)}", 2)
    return makers[name]()


def _load(data: Path, timeframes: str, horizon: int) -> tuple[Any, Any, Any]:
    import polars as pl

    from traider.engine.features.bars import bar_features, make_labelled

    if not data.is_file():
        fail(f"--data {data}: no such file; pass an OHLCV CSV", 2)
    try:
        df = pl.read_csv(data, try_parse_dates=True)
        if "volume" not in df.columns and "volume_base" in df.columns:
            df = df.rename({"volume_base": "volume"})
        features = bar_features(df, timeframes=tuple(timeframes.split(",")))
        return make_labelled(features, horizon)
    except (pl.exceptions.PolarsError, KeyError, TypeError, ValueError) as exc:
        fail(f"--data {data}: cannot build features ({exc})", 2)


def _fit_predict(
    name: str, feature_names: tuple[str, ...]
) -> Callable[[Any, Any], Callable[[Any], Any]]:
    def fit_predict(X: Any, y: Any) -> Callable[[Any], Any]:
        import numpy as np

        from traider.engine.models.base import Dataset

        model = _model(name)
        ts = np.arange(len(y), dtype=np.int64)
        model.fit(Dataset(X=X, y=y, feature_names=feature_names, ts_ns=ts))
        return lambda X_test: model.predict_batch(X_test)

    return fit_predict


def _ensemble_fit_predict(
    names: list[str],
    feature_names: tuple[str, ...],
    y_all: npt.NDArray[Any],
    index_of: Callable[[Any], Any],
) -> Callable[[Any, Any], Callable[[Any], Any]]:
    """Fit every model on the fold; predict the test rows in time order, updating the
    Hedge weights with each outcome only after that row was predicted."""

    def fit_predict(X: Any, y: Any) -> Callable[[Any], Any]:
        import numpy as np

        from traider.engine.models.base import Prediction
        from traider.engine.models.ensemble import HedgeEnsemble

        predictors = {n: _fit_predict(n, feature_names)(X, y) for n in names}

        def predict(X_test: Any) -> Any:
            probs = {n: np.asarray(p(X_test), dtype=float) for n, p in predictors.items()}
            outcomes = y_all[index_of(X_test)]
            hedge = HedgeEnsemble(names)
            out = np.empty(len(X_test))
            for i in range(len(X_test)):
                preds = {n: Prediction.from_prob(float(probs[n][i]), "1h") for n in names}
                out[i] = hedge.combine(preds)[0]
                hedge.update(preds, int(outcomes[i]))  # after the prediction: causal
            return out

        return predict

    return fit_predict


@app.command()
def evaluate(
    data: DataArg,
    models: Annotated[str, typer.Option(help="Comma-separated: " + ", ".join(MODEL_NAMES))] = (
        "momentum,mean_reversion,xgboost,random_forest"
    ),
    splits: Annotated[int, typer.Option(help="Walk-forward test blocks.")] = 5,
    horizon: Annotated[int, typer.Option(help="Label horizon in bars.")] = 1,
    timeframes: Annotated[str, typer.Option(help="Feature timeframes, e.g. 1h,4h.")] = "1h,4h",
    fee_bps: Annotated[float, typer.Option(help="Fee per position change, bps.")] = 40.0,
    spread_bps: Annotated[float, typer.Option(help="Full spread, bps (half is paid).")] = 2.0,
    out: Annotated[
        Path | None, typer.Option(help="Report dir (default $TRAIDER_HOME/reports).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Purged walk-forward evaluation of each model and of their ensemble, with baselines,
    confidence intervals and P&L after costs. Next-bar accuracy far above 55% on real
    data almost always means leakage: treat it as a bug to hunt."""
    import numpy as np

    from traider.engine.models.evaluation import evaluate as run_eval
    from traider.engine.models.evaluation import walk_forward_splits

    names = [m.strip() for m in models.split(",") if m.strip()]
    for name in names:
        _model(name)  # validates the name before any work
    if splits < 2:
        fail("--splits must be >= 2", 2)
    dataset, fwd, label_end = _load(data, timeframes, horizon)
    n = len(dataset.y)
    folds = walk_forward_splits(dataset.ts_ns, label_end, splits, train_min=max(n // 3, 200))
    row_of = {x.tobytes(): i for i, x in enumerate(dataset.X)}

    def index_of(X_test: Any) -> Any:
        return np.array([row_of[x.tobytes()] for x in X_test])

    fnames = dataset.feature_names
    candidates: list[tuple[str, Any]] = [(n_, _fit_predict(n_, fnames)) for n_ in names]
    candidates.append(("ensemble", _ensemble_fit_predict(names, fnames, dataset.y, index_of)))
    trials = len(candidates)
    reports = {}
    for name, fit_predict in candidates:
        typer.echo(f"evaluating {name}...", err=True)
        reports[name] = run_eval(
            fit_predict, dataset, folds, fee_bps, spread_bps, forward_returns=fwd, n_trials=trials
        )
    out_dir = out or load_cli_config(None, None).home / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = out_dir / f"evaluate-{data.stem}.png"
    reports["ensemble"].plot(chart)
    if as_json:
        payload = {name: r.as_dict() for name, r in reports.items()}
        typer.echo(
            json.dumps(
                {
                    "data": str(data),
                    "rows": n,
                    "folds": len(folds),
                    "trials": trials,
                    "chart": str(chart),
                    "models": payload,
                }
            )
        )
        return
    for name, report in reports.items():
        typer.echo(f"\n== {name}\n{report.to_table()}")
    typer.echo(f"\nchart (ensemble vs buy-and-hold): {chart}")


@app.command()
def train(
    data: DataArg,
    model: Annotated[str, typer.Option(help="One of: " + ", ".join(MODEL_NAMES))] = "xgboost",
    horizon: Annotated[int, typer.Option(help="Label horizon in bars.")] = 1,
    timeframes: Annotated[str, typer.Option(help="Feature timeframes, e.g. 1h,4h.")] = "1h,4h",
    by: Annotated[str, typer.Option(help="Who trained it (recorded).")] = "trainer",
    as_json: JsonOpt = False,
) -> None:
    """Fit a model on the whole file and register it as a candidate (not tradeable until
    an operator approves and promotes it)."""
    import numpy as np

    from traider.engine.models.registry import ModelRegistry
    from traider.engine.state.sqlite_store import SQLiteStore
    from traider.engine.state.store import StoreUnavailable

    cfg = load_cli_config(None, None)
    dataset, _, _ = _load(data, timeframes, horizon)
    typer.echo(f"training {model} on {len(dataset.y)} rows...", err=True)
    instance = _model(model)
    instance.fit(dataset)
    in_sample = float(np.mean((instance.predict_batch(dataset.X) > 0.5) == (dataset.y == 1)))
    try:
        store = SQLiteStore(cfg.sqlite_path)
    except StoreUnavailable as exc:
        fail(f"store unavailable: {exc}", 3)
    try:
        registry = ModelRegistry(store)
        version = 1 + sum(1 for r in registry.records(model))
        path = cfg.home / "models" / f"{model}-{version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        artifact = instance.save(path)
        record = registry.register(
            model,
            params=artifact.params,
            data_start_ns=int(dataset.ts_ns[0]),
            data_end_ns=int(dataset.ts_ns[-1]),
            data_hash=artifact.data_hash,
            metrics={"in_sample_accuracy": in_sample, "rows": len(dataset.y)},
            artifact_path=str(path),
            by=by,
        )
    finally:
        store.close()
    result = {
        "model_id": record.model_id,
        "state": record.state.value,
        "artifact": str(path),
        "in_sample_accuracy": in_sample,
    }
    typer.echo(
        json.dumps(result)
        if as_json
        else f"{record.model_id} registered as {record.state.value} ({path}); in-sample "
        f"accuracy {in_sample:.3f} (optimistic by construction: run `traider evaluate`)"
    )
