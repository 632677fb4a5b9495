"""`traider models status`: what the running engine's models are doing right now.

Asks the engine through its control socket (so it shows the live weights, predictions,
signals and retraining progress the TUI's models screen shows). Exit 0 when an engine
answered, 1 with one line on stderr when none runs on this `$TRAIDER_HOME`.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import typer

from traider.cli_models import ConfigOpt, JsonOpt, SetOpt, _fail, models_app


def _num(v: Any, digits: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "·" * (width - filled)


def _print(view: dict[str, Any]) -> None:
    if not view["enabled"]:
        typer.echo("models off ([models] enabled = false)")
        return
    if view["note"]:
        typer.echo(view["note"])
    if view["models"]:
        typer.echo(f"{'model':<20}{'state':<10}{'weight':>7} {'hit':>6} {'logloss':>8} "
                   f"{'age d':>6} {'expires d':>9}  predictions / note")  # fmt: skip
    for m in view["models"]:
        preds = " ".join(f"{s} {_num(p, 2)}" for s, p in m["predictions"].items())
        typer.echo(
            f"{m['model_id']:<20}{m['state']:<10}{m['weight']:>7.3f} {_num(m['hit_rate']):>6} "
            f"{_num(m['log_loss']):>8} {m['age_days']:>6.1f} {m['expires_in_days']:>9.1f}  "
            f"{preds or '-'}{'  ' + m['note'] if m['note'] else ''}"
        )
    for s in view["signals"]:
        fresh = "fresh" if s["fresh"] else "stale"
        typer.echo(f"signal {s['symbol']:<9} P(up) {s['prob_up']:.3f}  confidence "
                   f"{s['confidence']:.3f}  {fresh}")  # fmt: skip
    for r in view["retraining"]:
        state = "running" if not r["finished"] else ("ok" if r["ok"] else "FAILED")
        typer.echo(f"retrain {r['job_id']:<28} {r['stage']:<9} {_bar(r['fraction'])} "
                   f"{r['fraction']:>4.0%} {state}: {r['message']}")  # fmt: skip
    for c in view.get("candidates", []):
        acc = "n/a" if c["oos_accuracy"] is None else f"{c['oos_accuracy']:.3f}"
        todo = "approve" if c["state"] == "candidate" else "promote"
        typer.echo(f"waiting {c['model_id']:<20} {c['state']:<10} out-of-sample accuracy "
                   f"{acc}  next: traider models {todo} {c['model_id']} --by NAME")  # fmt: skip
    typer.echo(f"bars recorded: {view['bars']}  entries vetoed: {view.get('vetoes', 0)}")


@models_app.command("status")
def status_command(
    as_json: JsonOpt = False,
    watch: bool = typer.Option(False, "--watch", help="Refresh every second until Ctrl-C."),
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """The running engine's models: weights, predictions, signals, retraining progress."""
    from traider.cli import load_cli_config
    from traider.engine.control import send

    home = load_cli_config(config, set_).home
    while True:
        reply = send(home, {"cmd": "models"})
        if not reply or not reply.get("ok"):
            _fail(
                f"no engine answers on {home}; start one (traider tui / traider run), or "
                "see the registry with `traider models list`",
                1,
            )
        view = reply["models"]
        if as_json:
            typer.echo(json.dumps(view, sort_keys=True))
        else:
            _print(view)
        if not watch:
            return
        time.sleep(1.0)
        typer.echo("")
