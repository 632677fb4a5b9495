"""`traider models …`: the model registry (list, approve, promote, rollback, retire) and
`retrain` (a training job in a background process, registered as a candidate).

Exit codes as in traider.cli: 0 ok; 1 the move is not allowed (e.g. promoting a candidate
that was never approved); 2 bad usage (unknown model, no or non-human --by, bad config);
3 the store is unavailable. Errors are one line on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    import polars as pl

    from traider.engine.models.registry import ModelRecord, ModelRegistry
    from traider.engine.models.training import TrainResult, TrainSpec

models_app = typer.Typer(
    help="Model registry: candidate → approved (by an operator) → live → retired.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output with stable keys.")]
ByOpt = Annotated[str, typer.Option("--by", help="Your name: the operator making the change.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="config.toml (default: $TRAIDER_HOME/config.toml)."),
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Config override, e.g. store.sqlite_path=…")
]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"traider: {message}", err=True)
    raise typer.Exit(code)


def _db_path(config: Path | None, overrides: list[str] | None) -> Path:
    from traider.cli import load_cli_config

    return load_cli_config(config, overrides).sqlite_path


@contextmanager
def _registry(
    config: Path | None, overrides: list[str] | None, readonly: bool = False
) -> Iterator[ModelRegistry | None]:
    """The registry on the configured store (None: read-only and no database yet)."""
    from traider.engine.models.registry import ModelRegistry, RegistryError
    from traider.engine.state.sqlite_store import SQLiteStore
    from traider.engine.state.store import StoreUnavailable

    path = _db_path(config, overrides)
    if readonly and not path.is_file():
        yield None
        return
    try:
        store = SQLiteStore.open_readonly(path) if readonly else SQLiteStore(path)
    except StoreUnavailable as exc:
        _fail(f"store unavailable: {exc}", 3)
    try:
        yield ModelRegistry(store)
    except StoreUnavailable as exc:
        _fail(f"store unavailable: {exc}", 3)
    except RegistryError as exc:
        _fail(str(exc), 2)
    finally:
        store.close()


def _ts(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _echo_record(rec: ModelRecord, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rec.to_dict(), sort_keys=True))
        return
    last = rec.history[-1]
    why = f" ({last.reason})" if last.reason else ""
    typer.echo(f"{rec.model_id}: {last.action} → {rec.state.value} by {last.by}{why}")
    if last.action in ("approve", "promote"):
        # the out-of-sample verdict, where the trainer recorded one, right where the
        # operator decides: "No evidence of skill ..." must not go unread
        walk_forward = rec.metrics.get("walk_forward")
        verdict = walk_forward.get("verdict", []) if isinstance(walk_forward, dict) else []
        for line in verdict:
            typer.echo(f"  out of sample: {line}", err=True)


def _change(
    action: Callable[[ModelRegistry], ModelRecord],
    config: Path | None,
    overrides: list[str] | None,
    as_json: bool,
) -> None:
    from traider.engine.models.registry import IllegalTransition, UnknownModel

    with _registry(config, overrides) as reg:
        assert reg is not None
        try:
            rec = action(reg)
        except UnknownModel as exc:
            _fail(str(exc), 2)
        except IllegalTransition as exc:
            _fail(str(exc), 1)
    _echo_record(rec, as_json)


@models_app.command("list")
def list_command(
    name: Annotated[str | None, typer.Option(help="Only models of this name.")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Registered models with their state, data window and last change."""
    with _registry(config, set_, readonly=True) as reg:
        records = [] if reg is None else reg.records(name)
    if as_json:
        typer.echo(json.dumps({"models": [r.to_dict() for r in records]}, sort_keys=True))
        return
    if not records:
        typer.echo("no models registered")
        return
    typer.echo(f"{'id':<20}{'state':<10}{'data window (UTC)':<36}last change")
    for r in records:
        last = r.history[-1]
        window = f"{_ts(r.data_start_ns)} → {_ts(r.data_end_ns)}"
        typer.echo(
            f"{r.model_id:<20}{r.state.value:<10}{window:<36}"
            f"{last.action} by {last.by} at {_ts(last.at_ns)}"
        )


@models_app.command("approve")
def approve_command(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="e.g. xgb-3")],
    by: ByOpt = "",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Approve a candidate (operators only)."""
    _change(lambda reg: reg.approve(model_id, by), config, set_, as_json)


@models_app.command("promote")
def promote_command(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="e.g. xgb-3")],
    by: ByOpt = "",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Make an approved model live; the live one of the same name goes back to approved."""
    _change(lambda reg: reg.promote(model_id, by), config, set_, as_json)


@models_app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name, e.g. xgb")],
    by: ByOpt = "",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Make the previously live version of NAME live again."""
    _change(lambda reg: reg.rollback(name, by), config, set_, as_json)


@models_app.command("retire")
def retire_command(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="e.g. xgb-3")],
    by: ByOpt = "",
    reason: Annotated[str, typer.Option(help="Why, kept in the history.")] = "",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Take a model out of use for good."""
    _change(lambda reg: reg.retire(model_id, by, reason), config, set_, as_json)


@models_app.command("retrain")
def retrain_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model, e.g. xgboost")],
    data: Annotated[
        Path | None, typer.Option("--data", help="OHLCV CSV: ts, open, high, low, close, volume.")
    ] = None,
    sim: Annotated[
        str | None, typer.Option("--sim", metavar="SYMBOL", help="The simulated market's bars.")
    ] = None,
    bars: Annotated[int, typer.Option("--bars", help="With --sim: how many 1m bars.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="With --sim: the random seed.")] = 7,
    timeframes: Annotated[
        str | None, typer.Option(help="Feature timeframes, the bars' own first.")
    ] = None,
    horizon: Annotated[int, typer.Option(help="Label horizon in bars.")] = 1,
    splits: Annotated[int, typer.Option(help="Walk-forward folds for the OOS numbers.")] = 3,
    by: Annotated[str, typer.Option("--by", help="Who asked (recorded).")] = "trainer",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Retrain NAME in a background process (as the engine does) and register the result
    as a candidate; progress on stderr. Exit 1 if the job failed."""
    from traider.cli import load_cli_config
    from traider.cli_ml import load_cli_bars
    from traider.engine.models.training import MODEL_NAMES, TrainSpec, register_candidate

    if name not in MODEL_NAMES:
        _fail(f"unknown model {name!r}; use {', '.join(MODEL_NAMES)}", 2)
    home = load_cli_config(config, set_).home
    source = load_cli_bars(data, sim, bars, seed, timeframes)
    try:
        spec = TrainSpec(name, source.timeframes, horizon, splits)
    except ValueError as exc:
        _fail(str(exc), 2)
    with _registry(config, set_) as reg:  # opened first: fail fast if the store is down
        assert reg is not None
        job_id, result = _run_retrain(home, spec, source.frame)
        rec = register_candidate(reg, result, by)
    m = result.metrics
    payload = {
        "model_id": rec.model_id,
        "state": rec.state.value,
        "job_id": job_id,
        "artifact": result.artifact_path,
        "oos_accuracy": m["oos_accuracy"],
        "oos_accuracy_ci": m["oos_accuracy_ci"],
        "in_sample_accuracy": m["in_sample_accuracy"],
        "report": m["report"],
        "pid": m.get("pid"),
    }
    if as_json:
        typer.echo(json.dumps(payload, sort_keys=True))
        return
    lo, hi = m["oos_accuracy_ci"]
    typer.echo(
        f"{rec.model_id} registered as {rec.state.value} by {by} ({result.artifact_path}); "
        f"out-of-sample accuracy {m['oos_accuracy']:.3f} [{lo:.3f}, {hi:.3f}]\n"
        f"report: {m['report']}"
    )


def _run_retrain(home: Path, spec: TrainSpec, frame: pl.DataFrame) -> tuple[str, TrainResult]:
    """The job through `RetrainManager` (the engine's path: a spawned, niced process),
    with a progress bar on stderr; exits 1 with the job's one-line error if it failed."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from traider.engine.core.events import RetrainFinished
    from traider.engine.models.retrain import RetrainError, RetrainManager

    manager = RetrainManager(home)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
    )
    finished: RetrainFinished | None = None
    try:
        job_id = manager.submit(spec, frame, reason="operator")
        with Progress(*columns, console=Console(stderr=True)) as bar:
            task = bar.add_task(f"{spec.model} {job_id}", total=1.0, message="queued")
            while finished is None:
                for ev in manager.poll():
                    if isinstance(ev, RetrainFinished):
                        finished = ev
                    else:
                        bar.update(task, completed=ev.fraction, message=f"{ev.stage}: {ev.message}")
                time.sleep(0.1)
    except RetrainError as exc:
        _fail(str(exc), 1)
    finally:
        manager.shutdown()
    result = manager.result(job_id)
    if not finished.ok or result is None:
        _fail(f"retraining {spec.model} failed: {finished.message}", 1)
    return job_id, result
