"""`traider risk …`: Value at Risk and VaR backtests. numpy/scipy load inside the commands,
so `traider --help` stays instant.

Exit codes as in traider.cli: 0 ok; 1 the operation failed; 2 bad usage (unknown method or
symbol, malformed --weights, missing file), one line on stderr naming the fix.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from traider.engine.risk.history import ReturnHistory

CONVENTION = (
    "Historical VaR (and every simulated sample) is the k-th worst P&L, k = ⌈αT⌉ with "
    "α = 1 − confidence (riskfolio's VaR_Hist; no interpolation); ES is the empirical "
    "distribution's expected shortfall."
)
METHOD_NAMES = "parametric, cornish_fisher, historical, filtered_historical, mc_normal, mc_t"

risk_app = typer.Typer(
    help="Value at Risk / Expected Shortfall and VaR backtests. Loss is positive. " + CONVENTION,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output with stable keys.")]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Daily closes CSV: long format date,symbol,close (e.g. "
        "shared/data/ohlcv/bitstamp_btc_eth_ltc_usd_1d.csv) or ts,close.",
    ),
]
ConfidenceOpt = Annotated[float, typer.Option(help="Confidence level, e.g. 0.95 or 0.99.")]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"traider: {message}", err=True)
    raise typer.Exit(code)


def _check_confidence(confidence: float) -> None:
    if not (0.5 <= confidence < 1.0):
        _fail(f"--confidence {confidence}: use a level in [0.5, 1), e.g. 0.95 or 0.99", 2)


def parse_weights(text: str) -> dict[str, float]:
    """'BTC-USD=1000,ETH-USD=-500' → {'BTC-USD': 1000.0, 'ETH-USD': -500.0}."""
    out: dict[str, float] = {}
    example = "use SYMBOL=AMOUNT pairs, e.g. --weights BTC-USD=1000,ETH-USD=-500"
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        symbol, sep, amount = item.partition("=")
        symbol = symbol.strip()
        try:
            value = float(amount)
        except ValueError:
            value = math.nan
        if not sep or not symbol or not math.isfinite(value):
            raise ValueError(f"--weights: {item!r} is not SYMBOL=AMOUNT; {example}")
        if symbol in out:
            raise ValueError(f"--weights: {symbol} appears twice; {example}")
        out[symbol] = value
    if not out:
        raise ValueError(f"--weights is empty; {example}")
    return out


def _load_history(path: Path, symbols: tuple[str, ...]) -> ReturnHistory:
    from traider.engine.risk.history import load_daily_closes

    if not path.is_file():
        _fail(f"--data {path}: no such file; pass a daily closes CSV", 2)
    try:
        return load_daily_closes(path, symbols)
    except ValueError as exc:
        _fail(str(exc), 2)
    except (KeyError, OSError, UnicodeDecodeError) as exc:
        _fail(f"--data {path}: not a daily closes CSV (date,symbol,close or ts,close): {exc}", 2)


def _live(config: Path | None, overrides: list[str] | None) -> tuple[dict[str, float], Any]:
    from traider.cli import load_cli_config
    from traider.engine.risk.live import live_portfolio

    exposures, history = live_portfolio(load_cli_config(config, overrides))
    return dict(exposures), history


def _fmt(x: float) -> str:
    return f"{x:,.2f}"


@risk_app.command("var")
def var_command(
    data: DataOpt = None,
    weights: Annotated[
        str | None,
        typer.Option(
            help="Signed USD exposure per symbol in --data, e.g. BTC-USD=1000,ETH-USD=-500."
        ),
    ] = None,
    confidence: ConfidenceOpt = 0.95,
    horizon: Annotated[
        int,
        typer.Option(
            help="Horizon in days. Parametric/Monte Carlo scale by √h (i.i.d. days); "
            "Cornish–Fisher by i.i.d. cumulants; historical methods use overlapping h-day "
            "returns."
        ),
    ] = 1,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="config.toml (live portfolio only).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Config override (live portfolio only).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """VaR and ES by every method side by side, plus parametric component VaR per asset.
    Without --data/--weights it values the live portfolio (history simulated in paper
    mode). Historical VaR is the ⌈αT⌉-th worst P&L (no interpolation)."""
    import numpy as np

    from traider.engine.risk.var import all_methods, component_var

    _check_confidence(confidence)
    if horizon < 1:
        _fail(f"--horizon {horizon}: use a whole number of days ≥ 1", 2)
    if (data is None) != (weights is None):
        _fail("--data and --weights go together, e.g. --data FILE --weights BTC-USD=1000", 2)
    if data is not None and weights is not None:
        try:
            by_symbol = parse_weights(weights)
        except ValueError as exc:
            _fail(str(exc), 2)
        history = _load_history(data, tuple(by_symbol))
    else:
        by_symbol, history = _live(config, set_)
        missing = [s for s in by_symbol if s not in history.symbols]
        if missing:
            _fail(f"no return history for {', '.join(missing)}", 1)
    symbols = tuple(by_symbol)
    if not symbols:
        report: dict[str, Any] = {"source": history.source, "exposures": {}, "methods": []}
        typer.echo(json.dumps(report) if as_json else "no open positions: VaR is 0")
        return
    cols = [history.symbols.index(s) for s in symbols]
    returns = history.returns[:, cols]
    exposures = np.array([by_symbol[s] for s in symbols])
    try:
        results = all_methods(exposures, returns, confidence, horizon)
        comp = component_var(exposures, returns, confidence, horizon)
    except ValueError as exc:
        _fail(str(exc), 2)
    total = comp.var
    components = [
        {
            "symbol": s,
            "exposure": float(exposures[i]),
            "marginal_var": float(comp.marginal[i]),
            "component_var": float(comp.component[i]),
            "share": float(comp.component[i] / total) if total else 0.0,
        }
        for i, s in enumerate(symbols)
    ]
    if as_json:
        report = {
            "source": history.source,
            "observations": int(returns.shape[0]),
            "confidence": confidence,
            "horizon_days": horizon,
            "exposures": {s: float(by_symbol[s]) for s in symbols},
            "methods": [
                {"method": r.method, "var": r.var, "es": r.es, "detail": r.detail} for r in results
            ],
            "components": components,
            "component_total": total,
        }
        typer.echo(json.dumps(report))
        return
    gross = float(np.abs(exposures).sum())
    typer.echo(
        f"VaR / ES at {confidence:.1%}, {horizon}-day horizon, loss positive (USD); "
        f"{history.source}, {returns.shape[0]} daily returns"
    )
    typer.echo(f"gross exposure {_fmt(gross)}, net {_fmt(float(exposures.sum()))}")
    typer.echo(f"{'method':<22}{'VaR':>14}{'ES':>14}")
    for r in results:
        typer.echo(f"{r.method:<22}{_fmt(r.var):>14}{_fmt(r.es):>14}")
    typer.echo("component VaR (parametric, Euler; components sum to the parametric VaR)")
    typer.echo(f"{'symbol':<12}{'exposure':>14}{'marginal':>10}{'component':>14}{'share':>8}")
    for i, s in enumerate(symbols):
        share = comp.component[i] / total if total else 0.0
        typer.echo(
            f"{s:<12}{_fmt(float(exposures[i])):>14}{comp.marginal[i]:>10.4f}"
            f"{_fmt(float(comp.component[i])):>14}{share:>8.1%}"
        )
    typer.echo(f"{'total':<12}{'':>14}{'':>10}{_fmt(total):>14}")
    typer.echo(CONVENTION)


@risk_app.command("backtest")
def backtest_command(
    data: Annotated[Path, typer.Option("--data", help="Daily closes CSV (see `risk var`).")],
    method: Annotated[str, typer.Option(help=f"One of: {METHOD_NAMES}.")],
    symbol: Annotated[str, typer.Option(help="Series to test (a long position).")] = "BTC-USD",
    confidence: ConfidenceOpt = 0.99,
    window: Annotated[int, typer.Option(help="Days of history behind each forecast.")] = 250,
    as_json: JsonOpt = False,
) -> None:
    """Rolling one-day VaR backtest: each day's VaR from the previous --window days only;
    exceptions (loss > VaR), Kupiec, Christoffersen, conditional coverage, and the Basel
    traffic-light zone of the last 250 days."""
    from traider.engine.risk.backtest import backtest
    from traider.engine.risk.var import METHODS

    if method not in METHODS:
        _fail(f"unknown method {method!r}; use one of: {METHOD_NAMES}", 2)
    _check_confidence(confidence)
    if window < 3:
        _fail(f"--window {window}: use at least 3 days (250 is the Basel choice)", 2)
    history = _load_history(data, (symbol,))
    try:
        rep = backtest(history.returns[:, 0], method, window, confidence)
    except ValueError as exc:
        _fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps({"symbol": symbol, "source": history.source, **rep.to_json()}))
        return
    rate = rep.exceptions / rep.days
    typer.echo(
        f"{method} VaR {confidence:.1%}, window {window}: {symbol} from {history.source}, "
        f"{rep.days} forecasts"
    )
    typer.echo(
        f"exceptions {rep.exceptions} (rate {rate:.2%}), expected {rep.expected_exceptions:.1f}"
    )
    for label, lr in (
        ("Kupiec POF", rep.kupiec),
        ("Christoffersen independence", rep.christoffersen),
        ("conditional coverage", rep.conditional_coverage),
    ):
        typer.echo(f"{label:<30}LR {lr.statistic:>8.3f}  p {lr.p_value:.4f}  (χ²({lr.dof}))")
    typer.echo(
        f"Basel zone (last {rep.basel_days} days): {rep.basel_zone} "
        f"({rep.basel_exceptions} exceptions)"
    )
