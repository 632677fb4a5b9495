"""Instrument definitions: increments and minimums every order is quantized to."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str  # "BTC-USD"
    base: str
    quote: str
    tick_size: Decimal  # price increment
    lot_size: Decimal  # quantity increment
    min_notional: Decimal  # in quote currency
    maker_fee_rate: Decimal  # fraction of notional, e.g. 0.004
    taker_fee_rate: Decimal

    def round_price(self, price: Decimal) -> Decimal:
        return (price / self.tick_size).to_integral_value(ROUND_HALF_EVEN) * self.tick_size

    def round_qty_down(self, qty: Decimal) -> Decimal:
        return (qty / self.lot_size).to_integral_value(ROUND_DOWN) * self.lot_size

    def quantize_quote(self, amount: Decimal) -> Decimal:
        """Cash amounts (fees, P&L) to a hundredth of a cent."""
        return amount.quantize(QUOTE_QUANTUM, ROUND_HALF_EVEN)

    def price_from_float(self, price: float) -> Decimal:
        return self.round_price(Decimal(repr(price)))

    def is_price_on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def is_qty_on_lot(self, qty: Decimal) -> bool:
        return qty % self.lot_size == 0


QUOTE_QUANTUM = Decimal("0.0001")

def _coinbase_usd_pair(base: str) -> Instrument:
    """Coinbase Advanced Trade increments for a USD pair; fee rates of its entry tier."""
    return Instrument(
        symbol=f"{base}-USD",
        base=base,
        quote="USD",
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.00000001"),
        min_notional=Decimal("1"),
        maker_fee_rate=Decimal("0.004"),
        taker_fee_rate=Decimal("0.006"),
    )


DEFAULT_INSTRUMENTS: dict[str, Instrument] = {
    i.symbol: i for i in (_coinbase_usd_pair(base) for base in ("BTC", "ETH", "SOL"))
}


def with_fee_tier(instrument: Instrument, maker_bps: float, taker_bps: float) -> Instrument:
    """The instrument at the operator's fee tier (basis points of notional)."""
    from dataclasses import replace

    return replace(
        instrument,
        maker_fee_rate=Decimal(repr(maker_bps)) / 10_000,
        taker_fee_rate=Decimal(repr(taker_bps)) / 10_000,
    )


def instrument_for(symbol: str) -> Instrument:
    try:
        return DEFAULT_INSTRUMENTS[symbol]
    except KeyError:
        known = ", ".join(sorted(DEFAULT_INSTRUMENTS))
        raise ValueError(f"unknown symbol {symbol!r}; known symbols: {known}") from None
