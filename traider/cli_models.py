"""`traider models …`: the model registry (list, approve, promote, rollback, retire).

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
    from traider.engine.models.registry import ModelRecord, ModelRegistry

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
