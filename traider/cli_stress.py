"""`traider risk stress`: historical and hypothetical scenarios on a portfolio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from traider.cli_risk import DataOpt, JsonOpt, _fail, _fmt, parse_weights, risk_app


@risk_app.command("stress")
def stress_command(
    data: DataOpt = None,
    weights: Annotated[
        str | None,
        typer.Option(
            help="Signed USD exposure per symbol, e.g. BTC-USD=1000,ETH-USD=500. "
            "Default: the live portfolio from the store."
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config.toml.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config override.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """P&L per scenario and the limits each would break. Historical scenarios (the worst
    days, weeks and drawdown) are found in --data (or risk.history_file); hypothetical
    shocks: BTC -20% with correlations 1, ETH -30%, spreads x5 and depth /5."""
    from traider.cli import load_cli_config
    from traider.engine.risk.history import ReturnHistory, load_daily_closes
    from traider.engine.risk.live import live_portfolio, risk_history
    from traider.engine.risk.service import align_history
    from traider.engine.risk.stress import (
        StressLimits,
        historical_scenarios,
        load_daily_panel,
        run_stress,
    )

    cfg = load_cli_config(config, set_)
    try:
        if weights is not None:
            exposures = parse_weights(weights)
        else:
            exposures, _ = live_portfolio(cfg)
        if data is not None:
            if not data.is_file():
                _fail(f"--data {data}: no such file; pass a daily closes CSV", 2)
            history = load_daily_closes(data)
            scenarios = historical_scenarios(load_daily_panel(data))
        else:
            history, scenarios = risk_history(cfg)
        symbols = tuple(exposures)
        aligned = ReturnHistory(symbols, align_history(history, symbols), history.source)
    except ValueError as exc:
        _fail(str(exc), 2)
    capital = cfg.engine.starting_capital_usd
    limits = StressLimits.from_risk_config(cfg.risk, capital)
    results = run_stress(exposures, aligned, None, limits, historical=scenarios)
    rows: list[dict[str, Any]] = [
        {
            "name": r.name,
            "kind": r.kind,
            "description": r.description,
            "pnl_usd": r.pnl_usd,
            "per_asset": r.per_asset,
            "breaks": list(r.breaks),
        }
        for r in results
    ]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "source": history.source,
                    "exposures": exposures,
                    "capital_usd": capital,
                    "scenarios": rows,
                }
            )
        )
        return
    gross = sum(abs(v) for v in exposures.values())
    typer.echo(
        f"stress on gross exposure {_fmt(gross)} USD, capital {_fmt(capital)}; {history.source}"
    )
    typer.echo(f"{'scenario':<40}{'P&L USD':>14}  breaks")
    for r in rows:
        typer.echo(f"{r['name'][:40]:<40}{_fmt(r['pnl_usd']):>14}  {', '.join(r['breaks']) or '-'}")
    if not scenarios:
        typer.echo("no historical scenarios: pass --data FILE or set risk.history_file")
