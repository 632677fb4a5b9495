"""Replaying recordings through the real engine, and the recorded market's fill model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from traider.cli_replay import record_simulated
from traider.engine.core.clock import SimClock
from traider.engine.core.events import (
    BookDelta,
    BookSnapshot,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
    TradeTick,
)
from traider.engine.core.instruments import instrument_for
from traider.engine.core.types import BookSide, Liquidity, OrderType, Side, TimeInForce
from traider.engine.marketdata.bitstamp import convert_bitstamp
from traider.replay import RecordedMarket, replay
from traider.testing.engine import make_config

BOOK_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/book"
ORDERS = BOOK_DATA / "bitstamp_btcusd_2026-05-02_orders.csv.gz"
TRADES = BOOK_DATA / "bitstamp_btcusd_2026-05-02_trades.csv"
T0 = 1_700_000_000_000_000_000


def _market(events: list[Event]) -> tuple[RecordedMarket, SimClock]:
    clock = SimClock(T0)
    return RecordedMarket(events, [instrument_for("BTC-USD")], clock), clock


def _order(
    cid: str,
    side: Side,
    qty: str,
    price: str | None,
    *,
    tif: TimeInForce = TimeInForce.GTC,
    post_only: bool = False,
) -> SubmitOrder:
    return SubmitOrder(
        T0,
        T0,
        cid,
        "test",
        "BTC-USD",
        side,
        OrderType.MARKET if price is None else OrderType.LIMIT,
        Decimal(qty),
        None if price is None else Decimal(price),
        tif,
        post_only,
    )


SNAP = BookSnapshot(T0, T0, "BTC-USD", 0, ((100.0, 1.0), (99.0, 2.0)), ((101.0, 0.5), (102.0, 1.0)))


def test_taker_walks_recorded_depth_without_changing_it() -> None:
    market, _ = _market([SNAP])
    events = market.submit(_order("a", Side.BUY, "1", "102"))
    assert isinstance(events[0], OrderAccepted)
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert [(f.price, f.quantity) for f in fills] == [
        (Decimal("101.00"), Decimal("0.5")),
        (Decimal("102.00"), Decimal("0.5")),
    ]
    assert all(f.liquidity is Liquidity.TAKER for f in fills)
    assert market.snapshot("BTC-USD").asks == SNAP.asks  # the recording is not changed
    # the liquidity we took is not there twice until the recording updates the level
    again = market.submit(_order("b", Side.BUY, "1", "101", tif=TimeInForce.IOC))
    assert not any(isinstance(e, OrderFilled) for e in again)
    assert isinstance(again[-1], OrderCanceled)


def test_resting_order_fills_only_on_a_trade_through_its_price() -> None:
    trades: list[Event] = [
        SNAP,
        TradeTick(T0 + 10, T0 + 10, "BTC-USD", 1, 100.5, 1.0, Side.SELL),  # at our price
        TradeTick(T0 + 20, T0 + 20, "BTC-USD", 2, 100.0, 0.3, Side.BUY),  # wrong aggressor
        TradeTick(T0 + 30, T0 + 30, "BTC-USD", 3, 100.0, 0.3, Side.SELL),  # through: fills
        BookDelta(T0 + 40, T0 + 40, "BTC-USD", 1, BookSide.BID, 100.0, 0.0),
    ]
    market, clock = _market(trades)
    events = market.submit(_order("a", Side.BUY, "0.5", "100.5"))
    assert [type(e) for e in events] == [OrderAccepted]  # rests: below the best ask
    assert market.open_orders() == [("a", events[0].venue_order_id, Decimal("0.5"))]
    out = market.advance(T0 + 25)
    assert not any(isinstance(e, OrderFilled) for e in out)
    clock.set_time(T0 + 30)
    out = market.advance(T0 + 30)
    fills = [e for e in out if isinstance(e, OrderFilled)]
    assert len(fills) == 1
    assert fills[0].price == Decimal("100.5")
    assert fills[0].quantity == Decimal("0.3")
    assert fills[0].liquidity is Liquidity.MAKER
    assert market.open_orders()[0][2] == Decimal("0.2")
    assert market.cancel("a")[0] == OrderCanceled(T0 + 30, T0 + 30, "a", "canceled")
    assert market.cancel("a") == []
    out = market.advance(T0 + 100)
    assert out[-1].seq == 1
    assert market.exhausted


def test_rejections() -> None:
    market, _ = _market([SNAP])
    assert isinstance(
        market.submit(_order("p", Side.BUY, "1", "101", post_only=True))[0], OrderRejected
    )
    assert isinstance(market.submit(_order("q", Side.BUY, "1", "100.001"))[0], OrderRejected)
    assert isinstance(market.submit(_order("q2", Side.BUY, "0", "100"))[0], OrderRejected)
    market.submit(_order("r", Side.BUY, "1", "99"))
    assert isinstance(market.submit(_order("r", Side.BUY, "1", "99"))[0], OrderRejected)


@pytest.fixture(scope="module")
def sim_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "sim.parquet"
    record_simulated(path, ("BTC-USD", "ETH-USD"), 180.0)
    return path


def test_replay_simulated_recording_deterministic(sim_recording: Path) -> None:
    first = replay(sim_recording, make_config())
    second = replay(sim_recording, make_config())
    assert first.events > 50_000
    assert first.books_stale == {}
    assert first.journal_ok
    assert first.orders > 0
    assert first.fill_ids == second.fill_ids
    assert (first.realized_pnl, first.fees, first.equity) == (
        second.realized_pnl,
        second.fees,
        second.equity,
    )


def test_replay_paced(sim_recording: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.parquet"
    record_simulated(short, ("BTC-USD",), 2.0)
    result = replay(short, make_config(), speed=4.0)
    assert result.seconds >= 0.4  # 2 s of market at 4x takes about 0.5 s
    assert result.journal_ok


@pytest.mark.skipif(not ORDERS.is_file(), reason="shared Bitstamp capture not present")
def test_replay_real_bitstamp_capture_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "bitstamp.parquet"
    convert_bitstamp(ORDERS, TRADES, path)
    engines = []
    result = replay(path, make_config(), on_engine=engines.append)
    engine = engines[0]
    assert engine.config.strategy.enabled
    assert engine.symbols == ("BTC-USD",)
    assert result.events == 118_382
    assert result.books_stale == {}  # the engine's book never went stale
    assert result.resyncs == 0
    assert result.journal_ok
    assert result.filled_orders <= result.orders
    assert result.orders > 0
    again = replay(path, make_config())
    assert again.fill_ids == result.fill_ids
    assert again.realized_pnl == result.realized_pnl


def test_cli_record_and_replay(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    import traider.cli_replay  # noqa: F401  (registers the commands)
    from traider.cli import app

    runner = CliRunner()
    out = tmp_path / "cli.parquet"
    res = runner.invoke(
        app, ["record", "--symbols", "BTC-USD,ETH-USD", "--seconds", "5", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "recorded" in res.output
    res = runner.invoke(app, ["replay", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["events"] > 100
    assert summary["journal_ok"] is True
    res = runner.invoke(app, ["replay", str(tmp_path / "missing.parquet")])
    assert res.exit_code == 2
