"""`traider health` and `traider alerts ack`: the operations commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from traider.cli import JsonOpt, app, fail, load_cli_config

alerts_app = typer.Typer(
    help="Alert incidents: acknowledge to stop repeats and escalation.", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")

LEVEL_STYLE = {"OK": "green", "WARN": "yellow", "CRIT": "bold red"}


def _offline_report(home: Path, sqlite_path: Path, crit_mb: float) -> dict[str, Any]:
    """No engine answered: what can be checked from here, and the engine itself as CRIT."""
    from traider.engine.monitoring.health import disk_free_mb

    free = disk_free_mb(home)
    checks: list[dict[str, Any]] = [
        {
            "name": "engine",
            "level": "CRIT",
            "detail": "not running (no control socket "
            "answered); start it with `traider run` or `traider tui`",
            "value": None,
        }
    ]
    checks.append(
        {
            "name": "disk",
            "level": "OK" if free is None or free >= crit_mb else "CRIT",
            "detail": f"{free:.0f} MB free under {home}" if free is not None else "not measured",
            "value": free,
        }
    )
    checks.append(
        {"name": "store", "level": "OK", "detail": f"{sqlite_path} (not open)", "value": None}
    )
    return {"level": "CRIT", "checks": checks, "ts_ns": None}


@app.command()
def health(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config.toml.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config override.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Health checks of the running engine (feeds, venue, store, loop lag, disk, alerts...).
    Exits 1 when any check is CRIT (and when no engine is running)."""
    from traider.engine.control import send

    cfg = load_cli_config(config, set_)
    reply = send(cfg.home, {"cmd": "health"})
    report = (
        reply["health"]
        if reply and reply.get("ok")
        else _offline_report(cfg.home, cfg.sqlite_path, cfg.monitoring.disk_free_crit_mb)
    )
    if as_json:
        typer.echo(json.dumps(report))
    else:
        from rich.console import Console

        console = Console()
        level = report["level"]
        console.print(f"health [{LEVEL_STYLE.get(level, '')}]{level}[/]")
        for check in report["checks"]:
            lv = check["level"]
            console.print(
                f"  [{LEVEL_STYLE.get(lv, '')}]{lv:<4}[/] {check['name']:<14} {check['detail']}"
            )
    if report["level"] == "CRIT":
        crit = [c["name"] for c in report["checks"] if c["level"] == "CRIT"]
        fail(f"health CRIT: {', '.join(crit)}", 1)


@alerts_app.command("ack")
def ack(
    dedup_key: Annotated[str, typer.Argument(help="The incident's dedup key (in the alert).")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config.toml.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config override.")] = None,
) -> None:
    """Acknowledge an incident: stops repeats and escalation, acknowledges in PagerDuty."""
    from traider.engine.control import send

    cfg = load_cli_config(config, set_)
    reply = send(cfg.home, {"cmd": "ack", "dedup_key": dedup_key, "by": "cli"})
    if reply is None:
        fail("no running engine answered; acknowledge from the engine's host", 1)
    if not reply.get("ok"):
        fail(str(reply.get("error", "acknowledge failed")), 1)
    typer.echo(f"acknowledged {dedup_key}")
