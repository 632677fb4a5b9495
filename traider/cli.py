"""The `traider` command. Heavy modules are imported inside commands so `--help` is instant.

Exit codes: 0 ok; 1 the operation failed (one line on stderr says why); 2 bad usage or
bad config; 3 the store is unavailable.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from traider.config import Config

app = typer.Typer(
    name="traider",
    help="Terminal trading workstation. With no config it paper-trades the built-in "
    "simulated market, storing everything under $TRAIDER_HOME (default ~/.traider).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect and validate configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _register_subcommands() -> None:
    import traider.cli_stress
    from traider.cli_risk import risk_app  # numpy/scipy load inside its commands

    app.add_typer(risk_app, name="risk")
    from traider.cli_report import report_app

    app.add_typer(report_app, name="report")
    import traider.cli_ml
    import traider.cli_models_status
    import traider.cli_ops
    import traider.cli_replay  # noqa: F401  (adds `record`, `replay`, `record-bitstamp`)
    from traider.cli_models import models_app

    app.add_typer(models_app, name="models")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="config.toml to use (default: $TRAIDER_HOME/config.toml if present)."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override one setting, e.g. --set risk.daily_loss_limit_pct=1.5 (repeatable)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output with stable keys.")]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"traider: {message}", err=True)
    raise typer.Exit(code)


def load_cli_config(config: Path | None, overrides: list[str] | None) -> Config:
    """Config from --config and --set, exiting with code 2 and one line on a problem."""
    from traider.config import ConfigError, load_config

    parsed: dict[str, str] = {}
    for item in overrides or []:
        if "=" not in item:
            fail(f"--set {item}: use section.key=value, e.g. risk.daily_loss_limit_pct=1.5", 2)
        key, value = item.split("=", 1)
        parsed[key.strip()] = value.strip()
    try:
        return load_config(config, parsed)
    except ConfigError as exc:
        fail(str(exc), 2)


def _build_engine(cfg: Config) -> Any:
    from traider.engine.engine import Engine
    from traider.engine.state.store import StoreUnavailable

    if cfg.engine.mode != "paper":
        fail(
            "live mode is not available yet: it arms only after the live-trading safety "
            'checks exist; use engine.mode = "paper"',
            2,
        )
    try:
        return Engine(cfg)
    except StoreUnavailable as exc:
        fail(f"store unavailable: {exc}", 3)


def _log_to_file(home: Path) -> None:
    import logging

    (home / "logs").mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(home / "logs" / "traider.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@app.command()
def tui(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Open the trading screen (paper mode on the simulated market by default)."""
    cfg = load_cli_config(config, set_)
    _log_to_file(cfg.home)  # the screen owns the terminal: log lines go to a file
    engine = _build_engine(cfg)
    from traider.tui.app import TraiderApp

    TraiderApp(
        engine,
        cfg.tui,
        risk_refresh_hz=cfg.tui.risk_refresh_hz,
        correlation_limit=cfg.risk.max_pairwise_correlation,
    ).run()


@app.command()
def run(
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: until SIGINT/SIGTERM)."),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the engine headless. SIGINT/SIGTERM stop it cleanly: open orders are cancelled."""
    import asyncio

    from traider.daemon import run_headless

    if duration is not None and duration <= 0:
        fail("--duration must be > 0 seconds", 2)
    cfg = load_cli_config(config, set_)
    engine = _build_engine(cfg)
    try:
        summary = asyncio.run(run_headless(engine, duration))
    except RuntimeError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"stopped after {summary['seconds']:.1f} s: {summary['fills']} fills, "
            f"equity {summary['pnl']['equity']} USD, day P&L {summary['pnl']['day_pnl']} USD, "
            f"kill switch {'ENGAGED' if summary['kill_switch']['engaged'] else 'off'}"
        )


@app.command()
def status(config: ConfigOpt = None, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Positions, open orders, P&L and the kill switch, read from the store."""
    from traider.status import read_status

    cfg = load_cli_config(config, set_)
    try:
        report = read_status(cfg)
    except Exception as exc:
        from traider.engine.state.store import StoreUnavailable

        if isinstance(exc, StoreUnavailable):
            fail(f"store unavailable: {exc}", 3)
        raise
    if as_json:
        typer.echo(json.dumps(report))
        return
    from traider.status import render_status

    render_status(report)


@app.command()
def kill(
    flatten: Annotated[bool, typer.Option("--flatten", help="Also close every position.")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Disengage the kill switch.")] = False,
    reason: Annotated[str, typer.Option(help="Why (journaled and shown).")] = "operator via CLI",
    config: ConfigOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Engage the kill switch: halt new orders, cancel all open orders (and --flatten).

    Works with or without a running engine, and when the database is down: the switch is
    written to a flag file under $TRAIDER_HOME first. It stays engaged until --reset.
    """
    from traider.killcmd import engage, release

    if flatten and reset:
        fail("--flatten and --reset cannot be used together", 2)
    cfg = load_cli_config(config, set_)
    result = release(cfg) if reset else engage(cfg, reason=reason, flatten=flatten)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(result["message"])
    if not result["ok"]:
        typer.echo(f"traider: {result['message']}", err=True)
        raise typer.Exit(1)


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="The config.toml to validate.")],
    as_json: JsonOpt = False,
) -> None:
    """Validate a config file: unknown keys and bad values are named with the fix."""
    from traider.config import ConfigError, load_config

    try:
        load_config(file, environ={})
    except ConfigError as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": str(exc)}))
        fail(str(exc), 2)
    typer.echo(json.dumps({"ok": True, "file": str(file)}) if as_json else f"{file}: ok")


@config_app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the effective configuration (defaults, file, env and --set merged) as JSON."""
    from traider.config import config_as_dict

    typer.echo(json.dumps(config_as_dict(load_cli_config(config, set_)), indent=2))


_register_subcommands()


def main() -> None:
    import logging

    # warnings from inside the engine read like the CLI's own errors: one prefixed line
    logging.basicConfig(level=logging.WARNING, format="traider: %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
