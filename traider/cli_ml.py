"""`traider evaluate` and `traider train`: models on bar features, judged honestly.

`evaluate` runs a purged walk-forward over OHLCV bars (a file, `--data`, the simulated
market, `--sim`, or an L2 recording, `--recording`, whose bars also carry per-bar
order-book aggregates, the `ms_*` features of `bar_micro.py`) for each model and for the
Hedge ensemble of them (weights updated online, after each outcome, never ahead of it),
and prints accuracy with its confidence interval, log-loss and Brier against naive
baselines, and a long/flat P&L after fees and spread with Sharpe, PSR and DSR (the DSR
counts every model tried as a trial). `train` runs the same walk-forward for one model
(its out-of-sample numbers), fits it on every row and registers it as a *candidate*: only
an operator approves it (`traider models approve`). Both write a report (markdown, JSON,
chart) under `$TRAIDER_HOME/reports/`. Progress goes to stderr, so `--json` output on
stdout stays clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from traider.cli import JsonOpt, app, fail, load_cli_config
from traider.engine.models.training import MODEL_NAMES

if TYPE_CHECKING:
    import numpy.typing as npt
    import polars as pl

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="OHLCV CSV: ts, open, high, low, close, volume_base."),
]
SimOpt = Annotated[
    str | None,
    typer.Option("--sim", metavar="SYMBOL", help="Use the simulated market's bars (1m)."),
]
BarsOpt = Annotated[int, typer.Option("--bars", help="With --sim: how many 1m bars.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="With --sim: the random seed.")]
TimeframesOpt = Annotated[
    str | None,
    typer.Option(help="Feature timeframes, the bars' own first (default 1h,4h; 1m,5m,15m "
                 "with --sim; 1m,5m with --recording)."),
]  # fmt: skip
RecordingOpt = Annotated[
    Path | None,
    typer.Option("--recording", help="L2 recording (.parquet, e.g. from `traider record`): "
                 "bars with order-book aggregates (ms_* features)."),
]  # fmt: skip
SymbolOpt = Annotated[
    str | None,
    typer.Option("--symbol", help="With --recording: the symbol (default: its first)."),
]
OutOpt = Annotated[Path | None, typer.Option(help="Report dir (default $TRAIDER_HOME/reports).")]
FILE_TIMEFRAMES = ("1h", "4h")
SIM_TIMEFRAMES = ("1m", "5m", "15m")  # the simulator's bars are 1m
RECORDING_TIMEFRAMES = ("1m", "5m")  # recordings are hours long, not weeks
SIM_BARS = 20_000


@dataclass(frozen=True)
class CliBars:
    """Bars chosen by --data or --sim: the frame, a description for the report, a file
    name stem, and the timeframes (the default depends on the source)."""

    frame: pl.DataFrame
    source: str
    stem: str
    timeframes: tuple[str, ...]


def load_cli_bars(
    data: Path | None, sim: str | None, n_bars: int, seed: int, timeframes: str | None
) -> CliBars:
    """Exactly one of --data / --sim; exits 2 with one line otherwise."""
    if (data is None) == (sim is None):
        fail("give exactly one of --data FILE or --sim SYMBOL", 2)
    tfs = tuple(t.strip() for t in (timeframes or "").split(",") if t.strip())
    if sim is not None:
        from traider.sim.bars import simulated_bars

        if n_bars < 200:
            fail(f"--bars {n_bars}: need at least 200 bars (default {SIM_BARS})", 2)
        frame = simulated_bars([sim], n_bars, seed=seed)[sim]
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", sim)
        source = f"simulated market {sim}: {n_bars} 1m bars, seed {seed}"
        return CliBars(frame, source, f"sim-{safe}-{n_bars}-seed{seed}", tfs or SIM_TIMEFRAMES)
    assert data is not None
    import polars as pl

    from traider.engine.models.training import load_bars

    if not data.is_file():
        fail(f"--data {data}: no such file; pass an OHLCV CSV", 2)
    try:
        frame = load_bars(data)
    except (pl.exceptions.PolarsError, OSError) as exc:
        fail(f"--data {data}: cannot read it ({exc})", 2)
    return CliBars(frame, str(data), data.stem, tfs or FILE_TIMEFRAMES)


def load_cli_source(
    data: Path | None,
    sim: str | None,
    recording: Path | None,
    symbol: str | None,
    n_bars: int,
    seed: int,
    timeframes: str | None,
    *,
    horizon: int,
    splits: int,
    test_rows_per_fold: int,
) -> CliBars:
    """`load_cli_bars` with a third source, --recording; exactly one of the three. A
    recording too short for the walk-forward is refused before any work, saying how many
    bars it has and how many are needed (exit 2, one line)."""
    if sum(x is not None for x in (data, sim, recording)) != 1:
        fail("give exactly one of --data FILE or --sim SYMBOL, or --recording FILE", 2)
    if recording is None:
        if symbol is not None:
            fail("--symbol goes with --recording (--sim names its own symbol)", 2)
        return load_cli_bars(data, sim, n_bars, seed, timeframes)
    source = _recording_bars(recording, symbol, timeframes)
    from traider.engine.models.training import bars_needed

    have = source.frame.height
    need = bars_needed(source.timeframes, horizon, splits, test_rows_per_fold)
    if have < need:
        fail(f"{source.source}: too few bars: {have}, but {','.join(source.timeframes)} "
             f"features, horizon {horizon} and {splits} walk-forward folds need at least "
             f"{need}; record longer", 2)  # fmt: skip
    return source


def _recording_bars(path: Path, symbol: str | None, timeframes: str | None) -> CliBars:
    """Bars of the first timeframe's length, with microstructure aggregates, replayed
    from an L2 recording (progress on stderr: long recordings take a while)."""
    from traider.engine.features.bar_micro import micro_bars_from_recording
    from traider.engine.features.bars import timeframe_ns
    from traider.engine.marketdata.recording import recording_info

    if not path.is_file():
        fail(f"--recording {path}: no such file; make one with `traider record`", 2)
    tfs = tuple(t.strip() for t in (timeframes or "").split(",") if t.strip())
    tfs = tfs or RECORDING_TIMEFRAMES
    try:
        every_s = timeframe_ns(tfs[0]) // 1_000_000_000
        symbols = recording_info(path)["symbols"]
        if not symbols:
            raise ValueError("the recording is empty")
        name = symbol or symbols[0]
        if name not in symbols:
            raise ValueError(f"no {name} in it (it has {', '.join(symbols)})")

        def progress(fraction: float, message: str) -> None:
            typer.echo(f"[{fraction:4.0%}] replaying {path.name}: {message}", err=True)

        frame = micro_bars_from_recording(path, every_s, symbols=[name], progress=progress)[name]
    except (ValueError, OSError) as exc:  # pyarrow's errors on a bad file are ValueErrors
        fail(f"--recording {path}: {exc}", 2)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    source = f"recording {path} {name}: {frame.height} {tfs[0]} bars with order-book aggregates"
    return CliBars(frame, source, f"rec-{path.stem}-{safe}", tfs)


def _load(bars: CliBars, horizon: int) -> tuple[Any, Any, Any]:
    import polars as pl

    from traider.engine.models.training import labelled_dataset

    try:
        return labelled_dataset(bars.frame, bars.timeframes, horizon)
    except (pl.exceptions.PolarsError, KeyError, TypeError, ValueError) as exc:
        fail(f"{bars.source}: cannot build features ({exc})", 2)


def _check_model(name: str, option: str) -> None:
    if name not in MODEL_NAMES:
        fail(f"{option}: unknown model {name!r}; use {', '.join(MODEL_NAMES)}", 2)


def _ensemble_fit_predict(
    names: list[str],
    feature_names: tuple[str, ...],
    y_all: npt.NDArray[Any],
    index_of: Callable[[Any], Any],
) -> Callable[[Any, Any], Callable[[Any], Any]]:
    """Fit every model on the fold; predict the test rows in time order, updating the
    Hedge weights with each outcome only after that row was predicted."""
    from traider.engine.models.training import fit_predict_for

    def fit_predict(X: Any, y: Any) -> Callable[[Any], Any]:
        import numpy as np

        from traider.engine.models.base import Prediction
        from traider.engine.models.ensemble import HedgeEnsemble

        predictors = {n: fit_predict_for(n, feature_names)(X, y) for n in names}

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


def _with_fold_progress(
    name: str, n_folds: int, fit_predict: Callable[[Any, Any], Callable[[Any], Any]]
) -> Callable[[Any, Any], Callable[[Any], Any]]:
    """`fit_predict` that says "name: fold k/N" on stderr as each fold starts training."""
    fold = 0

    def counted(X: Any, y: Any) -> Callable[[Any], Any]:
        nonlocal fold
        fold += 1
        typer.echo(f"  {name}: fold {fold}/{n_folds} (training on {len(y)} rows)", err=True)
        return fit_predict(X, y)

    return counted


@app.command()
def evaluate(
    data: DataOpt = None,
    sim: SimOpt = None,
    recording: RecordingOpt = None,
    symbol: SymbolOpt = None,
    bars: BarsOpt = SIM_BARS,
    seed: SeedOpt = 7,
    models: Annotated[str, typer.Option(help="Comma-separated: " + ", ".join(MODEL_NAMES))] = (
        "momentum,mean_reversion,xgboost,random_forest"
    ),
    splits: Annotated[int, typer.Option(help="Walk-forward test blocks.")] = 5,
    horizon: Annotated[int, typer.Option(help="Label horizon in bars.")] = 1,
    timeframes: TimeframesOpt = None,
    fee_bps: Annotated[float, typer.Option(help="Fee per position change, bps.")] = 40.0,
    spread_bps: Annotated[float, typer.Option(help="Full spread, bps (half is paid).")] = 2.0,
    out: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Purged walk-forward evaluation of each model and of their ensemble, with baselines,
    confidence intervals and P&L after costs; writes a report. Next-bar accuracy far
    above 55% on real data almost always means leakage: treat it as a bug to hunt."""
    import numpy as np

    from traider.engine.models.evaluation import evaluate as run_eval
    from traider.engine.models.evaluation import walk_forward_splits
    from traider.engine.models.report import summarise, summary_table, write_report
    from traider.engine.models.training import TRAIN_MIN_ROWS, fit_predict_for

    names = [m.strip() for m in models.split(",") if m.strip()]
    for name in names:
        _check_model(name, "--models")  # before any work
    if splits < 2:
        fail("--splits must be >= 2", 2)
    source = load_cli_source(data, sim, recording, symbol, bars, seed, timeframes,
                             horizon=horizon, splits=splits, test_rows_per_fold=1)  # fmt: skip
    dataset, fwd, label_end = _load(source, horizon)
    n = len(dataset.y)
    try:
        train_min = max(n // 3, TRAIN_MIN_ROWS)
        folds = walk_forward_splits(dataset.ts_ns, label_end, splits, train_min=train_min)
    except ValueError as exc:
        fail(f"{source.source}: {exc}", 2)
    row_of = {x.tobytes(): i for i, x in enumerate(dataset.X)}

    def index_of(X_test: Any) -> Any:
        return np.array([row_of[x.tobytes()] for x in X_test])

    fnames = dataset.feature_names
    candidates: list[tuple[str, Any]] = [(n_, fit_predict_for(n_, fnames)) for n_ in names]
    candidates.append(("ensemble", _ensemble_fit_predict(names, fnames, dataset.y, index_of)))
    trials = len(candidates)
    reports = {}
    for name, fit_predict in candidates:
        typer.echo(f"evaluating {name} ({len(folds)} folds)...", err=True)
        reports[name] = run_eval(
            _with_fold_progress(name, len(folds), fit_predict), dataset, folds, fee_bps,
            spread_bps, forward_returns=fwd, n_trials=trials,
        )  # fmt: skip
    out_dir = out or load_cli_config(None, None).home / "reports"
    described = {
        "source": source.source, "rows": n, "start_ns": int(dataset.ts_ns[0]),
        "end_ns": int(dataset.ts_ns[-1]), "timeframes": list(source.timeframes),
        "base": source.timeframes[0], "horizon_bars": horizon,
    }  # fmt: skip
    files = write_report(
        out_dir, f"evaluate-{source.stem}", title=f"evaluate: {source.source}",
        data=described, reports=reports, chart_model="ensemble",
    )  # fmt: skip
    if as_json:
        payload = {name: r.as_dict() for name, r in reports.items()}
        typer.echo(
            json.dumps(
                {
                    "data": source.source,
                    "rows": n,
                    "folds": len(folds),
                    "trials": trials,
                    "chart": str(files.chart),
                    "report": str(files.markdown),
                    "models": payload,
                }
            )
        )
        return
    for name, report in reports.items():
        typer.echo(f"\n== {name}\n{report.to_table()}")
    typer.echo("\n== summary\n" + summary_table({k: summarise(r) for k, r in reports.items()}))
    typer.echo(f"\nchart (ensemble vs buy-and-hold): {files.chart}")
    typer.echo(f"report: {files.markdown}")


def _stderr_progress(stage: str, fraction: float, message: str) -> None:
    typer.echo(f"[{fraction:4.0%}] {stage}: {message}", err=True)


@app.command()
def train(
    data: DataOpt = None,
    sim: SimOpt = None,
    recording: RecordingOpt = None,
    symbol: SymbolOpt = None,
    bars: BarsOpt = SIM_BARS,
    seed: SeedOpt = 7,
    model: Annotated[str, typer.Option(help="One of: " + ", ".join(MODEL_NAMES))] = "xgboost",
    horizon: Annotated[int, typer.Option(help="Label horizon in bars.")] = 1,
    timeframes: TimeframesOpt = None,
    splits: Annotated[int, typer.Option(help="Walk-forward folds for the OOS numbers.")] = 3,
    fee_bps: Annotated[float, typer.Option(help="Fee per position change, bps.")] = 40.0,
    spread_bps: Annotated[float, typer.Option(help="Full spread, bps (half is paid).")] = 2.0,
    by: Annotated[str, typer.Option(help="Who trained it (recorded).")] = "trainer",
    out: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk-forward out-of-sample metrics, then a fit on every row; registers the model
    as a candidate (not tradeable until an operator approves and promotes it) and writes
    a report."""
    from traider.engine.models.registry import ModelRegistry, RegistryError
    from traider.engine.models.report import summary_table
    from traider.engine.models.training import (
        TEST_ROWS_PER_FOLD,
        TrainSpec,
        register_candidate,
        train_model,
    )
    from traider.engine.state.sqlite_store import SQLiteStore
    from traider.engine.state.store import StoreUnavailable

    _check_model(model, "--model")
    cfg = load_cli_config(None, None)
    source = load_cli_source(data, sim, recording, symbol, bars, seed, timeframes, horizon=horizon,
                             splits=splits, test_rows_per_fold=TEST_ROWS_PER_FOLD)  # fmt: skip
    try:
        spec = TrainSpec(model, source.timeframes, horizon, splits, fee_bps, spread_bps)
    except ValueError as exc:
        fail(str(exc), 2)
    try:  # the store first: no point training for minutes to find it unavailable
        store = SQLiteStore(cfg.sqlite_path)
    except StoreUnavailable as exc:
        fail(f"store unavailable: {exc}", 3)
    try:
        registry = ModelRegistry(store)
        version = 1 + len(registry.records(model))
        try:
            result = train_model(
                spec, source.frame, cfg.home, str(version), _stderr_progress,
                report_dir=out, source=source.source,
            )  # fmt: skip
        except ValueError as exc:
            fail(f"{source.source}: {exc}", 2)
        try:
            record = register_candidate(registry, result, by)
        except RegistryError as exc:
            fail(str(exc), 2)
    finally:
        store.close()
    m = result.metrics
    payload = {
        "model_id": record.model_id,
        "state": record.state.value,
        "artifact": result.artifact_path,
        "in_sample_accuracy": m["in_sample_accuracy"],
        "oos_accuracy": m["oos_accuracy"],
        "oos_accuracy_ci": m["oos_accuracy_ci"],
        "report": m["report"],
    }
    if as_json:
        typer.echo(json.dumps(payload))
        return
    typer.echo(summary_table({f"{model} (OOS)": m["walk_forward"]}))
    typer.echo(
        f"\n{record.model_id} registered as {record.state.value} ({result.artifact_path}); "
        f"in-sample accuracy {m['in_sample_accuracy']:.3f} (optimistic by construction; "
        f"the out-of-sample row above is the one to judge)\nreport: {m['report']}"
    )
