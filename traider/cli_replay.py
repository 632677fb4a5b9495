"""`traider record`, `traider replay` and `traider record-bitstamp`: market-data recordings.

Registered on the main app when imported (`import traider.cli_replay` in
`traider.cli._register_subcommands`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from traider.cli import ConfigOpt, JsonOpt, SetOpt, app, fail, load_cli_config


def record_simulated(
    out: Path,
    symbols: tuple[str, ...],
    seconds: float,
    *,
    seed: int = 7,
    levels_per_side: int = 300,
    events_per_second: float = 150.0,
    step_ms: int = 50,
    max_deltas: int | None = None,
) -> dict[str, Any]:
    """Record the built-in simulated market's feed for `seconds` of simulated time (or
    until `max_deltas` book deltas): a snapshot per symbol, then every delta and trade."""
    from traider.engine.core.clock import NANOS_PER_MILLI, SimClock
    from traider.engine.core.events import BookDelta
    from traider.engine.core.instruments import instrument_for
    from traider.engine.marketdata.recording import Recorder
    from traider.sim.market import SimulatedMarket

    if seconds <= 0:
        raise ValueError("seconds must be positive")
    clock = SimClock()
    market = SimulatedMarket(
        [instrument_for(s) for s in symbols],
        clock,
        seed,
        levels_per_side=levels_per_side,
        events_per_second=events_per_second,
    )
    start = clock.timestamp_ns()
    end = start + int(seconds * 1e9)
    deltas = 0
    with Recorder(out) as rec:
        for s in symbols:
            rec.record(market.snapshot(s))
        while clock.timestamp_ns() < end:
            clock.set_time(min(end, clock.timestamp_ns() + step_ms * NANOS_PER_MILLI))
            events = market.advance(clock.timestamp_ns())
            for e in events:
                rec.record(e)
                if type(e) is BookDelta:
                    deltas += 1
            if max_deltas is not None and deltas >= max_deltas:
                break
        events_n = rec.events
    return {
        "out": str(out),
        "symbols": list(symbols),
        "sim_seconds": round((clock.timestamp_ns() - start) / 1e9, 3),
        "events": events_n,
        "deltas": deltas,
        "bytes": out.stat().st_size,
    }


@app.command("record")
def record_command(
    out: Annotated[Path, typer.Option("--out", help="The recording to write (.parquet).")],
    symbols: Annotated[
        str, typer.Option(help="Comma-separated symbols, e.g. BTC-USD,ETH-USD.")
    ] = "BTC-USD",
    seconds: Annotated[float, typer.Option(help="Simulated seconds to record.")] = 60.0,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the built-in simulated market's feed (book snapshot, deltas, trades) to a
    Parquet recording, on a simulated clock: N seconds of market time take far less."""
    cfg = load_cli_config(config, set_)
    names = tuple(s.strip() for s in symbols.split(",") if s.strip())
    if not names:
        fail("--symbols: name at least one symbol, e.g. BTC-USD", 2)
    try:
        summary = record_simulated(
            out,
            names,
            seconds,
            seed=cfg.sim.seed,
            levels_per_side=cfg.sim.levels_per_side,
            events_per_second=cfg.sim.events_per_second,
        )
    except (ValueError, OSError) as exc:
        fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"recorded {summary['events']:,} events ({summary['deltas']:,} deltas, "
            f"{summary['sim_seconds']:.0f} s of {', '.join(names)}) to {out} "
            f"({summary['bytes'] / 1e6:.1f} MB)"
        )


@app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(help="A recording (.parquet).")],
    speed: Annotated[
        float | None,
        typer.Option(help="Pace at this multiple of real time (default: as fast as possible)."),
    ] = None,
    strategy: Annotated[
        bool, typer.Option("--strategy/--no-strategy", help="Run the configured strategy.")
    ] = True,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay a recording through the full paper engine (books, strategy, risk, paper
    fills against the recording) on a simulated clock; the live journal is not touched."""
    from traider.replay import replay

    if not file.is_file():
        fail(f"{file}: no such recording", 2)
    cfg = load_cli_config(config, [*(set_ or []), f"strategy.enabled={str(strategy).lower()}"])
    try:
        result = replay(file, cfg, speed=speed)
    except (ValueError, OSError) as exc:
        fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    typer.echo(
        f"{result.events:,} events ({result.sim_seconds:,.0f} s recorded) in "
        f"{result.seconds:.2f} s: {result.events_per_s:,.0f} events/s"
    )
    typer.echo(
        f"orders {result.orders}, fills {result.fills}, denied {result.denied}; "
        f"realized P&L {result.realized_pnl:.2f} USD, fees {result.fees:.2f} USD, "
        f"equity {result.equity:.2f} USD"
    )
    if result.books_stale:
        for symbol, reason in result.books_stale.items():
            typer.echo(f"{symbol} book stale at the end: {reason}")
    if not result.journal_ok:
        fail("journal inconsistent: a fill without its order", 1)


@app.command("record-bitstamp")
def record_bitstamp_command(
    out: Annotated[Path, typer.Option("--out", help="The recording to write (.parquet).")],
    orders: Annotated[
        Path, typer.Option("--orders", help="Bitstamp live_orders capture (orders.csv[.gz]).")
    ],
    trades: Annotated[
        Path | None, typer.Option("--trades", help="Bitstamp live_trades capture (trades.csv).")
    ] = None,
    symbol: Annotated[str, typer.Option(help="Symbol to record it as.")] = "BTC-USD",
    as_json: JsonOpt = False,
) -> None:
    """Convert a Bitstamp L3 order capture (+ trades) to an L2 recording."""
    from traider.engine.marketdata.bitstamp import convert_bitstamp

    for path in (orders, trades):
        if path is not None and not path.is_file():
            fail(f"{path}: no such file", 2)
    try:
        stats = convert_bitstamp(orders, trades, out, symbol=symbol)
    except (ValueError, OSError) as exc:
        fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps({"out": str(out), **stats.to_dict()}))
        return
    mix = stats.mix_pct()
    typer.echo(
        f"{stats.deltas:,} deltas and {stats.trades} trades to {out}; level events "
        f"insert/update/delete {mix['insert']}/{mix['update']}/{mix['delete']} %; "
        f"snapshot levels {stats.snapshot_bid_levels:,} bid / {stats.snapshot_ask_levels:,} ask"
    )
    typer.echo(
        f"dropped: {stats.dropped_nonpositive_price} price <= 0, "
        f"{stats.dropped_placeholder_price} placeholder 999999999, "
        f"{stats.unknown_order} rows of unknown orders; held back {stats.held_back:,} "
        f"crossing orders, {stats.out_of_band} far from the market"
    )
