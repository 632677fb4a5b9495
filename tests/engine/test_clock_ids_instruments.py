from __future__ import annotations

from decimal import Decimal

import pytest

from traider.engine.core.clock import LiveClock, SimClock
from traider.engine.core.ids import ClientOrderIdGenerator, parse_client_order_id
from traider.engine.core.instruments import DEFAULT_INSTRUMENTS, instrument_for


def test_sim_clock_moves_only_forward() -> None:
    clock = SimClock(start_ns=1_000)
    assert clock.timestamp_ns() == 1_000
    assert clock.advance(500) == 1_500
    clock.set_time(2_000)
    assert clock.monotonic_ns() == 2_000
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set_time(1_999)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)


def test_live_clock_reads_real_time() -> None:
    clock = LiveClock()
    a, b = clock.monotonic_ns(), clock.monotonic_ns()
    assert b >= a
    assert clock.timestamp_ns() > 1_700_000_000 * 10**9


def test_client_order_ids_are_deterministic_and_resume_after_the_journal() -> None:
    gen = ClientOrderIdGenerator(epoch=3)
    assert [gen.next_id("imb"), gen.next_id("imb"), gen.next_id("mm")] == [
        "3-imb-1", "3-imb-2", "3-mm-1"]
    restarted = ClientOrderIdGenerator(epoch=3)
    for seen in ("3-imb-1", "3-imb-2", "3-mm-1", "2-imb-99"):  # older epoch: ignored
        restarted.observe(seen)
    assert restarted.next_id("imb") == "3-imb-3"
    assert restarted.next_id("mm") == "3-mm-2"
    assert parse_client_order_id("3-imb-17") == (3, "imb", 17)
    with pytest.raises(ValueError, match="not a traider client order id"):
        parse_client_order_id("abc")
    with pytest.raises(ValueError, match="strategy id"):
        gen.next_id("bad-id")


def test_instrument_rounding() -> None:
    btc = DEFAULT_INSTRUMENTS["BTC-USD"]
    assert btc.round_price(Decimal("90000.005")) == Decimal("90000.00")  # half-even
    assert btc.round_price(Decimal("90000.015")) == Decimal("90000.02")
    assert btc.round_qty_down(Decimal("0.123456789")) == Decimal("0.12345678")
    assert btc.price_from_float(90000.1234) == Decimal("90000.12")
    assert btc.is_price_on_tick(Decimal("1.01"))
    assert not btc.is_price_on_tick(Decimal("1.011"))
    with pytest.raises(ValueError, match="known symbols"):
        instrument_for("DOGE-USD")
