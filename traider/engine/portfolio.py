"""Positions, cash and P&L in exact Decimal.

Cash moves by exactly `qty × price` and the quantized fee of each fill. A position keeps
its cost basis (the exact sum paid for what is still held); closing part of it releases a
proportional share of that basis, rounded to 1e-12 USD, and the difference to the sale
proceeds is realized P&L. So cash + Σ cost basis + Σ realized is conserved to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from traider.engine.core.events import OrderFilled
from traider.engine.core.instruments import QUOTE_QUANTUM, Instrument
from traider.engine.view import PnlView, PositionView

_BASIS_QUANTUM = Decimal("1e-12")
ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    symbol: str
    quantity: Decimal = ZERO  # signed: + long, - short
    cost_basis: Decimal = ZERO  # signed: what the open quantity cost
    realized_pnl: Decimal = ZERO

    @property
    def avg_price(self) -> Decimal:
        return self.cost_basis / self.quantity if self.quantity else ZERO

    def apply_fill(self, signed_qty: Decimal, price: Decimal) -> Decimal:
        """Returns the realized P&L of this fill (before fees)."""
        qty = self.quantity
        if qty == 0 or (qty > 0) == (signed_qty > 0):
            self.quantity = qty + signed_qty
            self.cost_basis += signed_qty * price
            return ZERO
        closing = min(abs(signed_qty), abs(qty))
        released = (self.cost_basis * closing / abs(qty)).quantize(_BASIS_QUANTUM, ROUND_HALF_EVEN)
        # long closing: proceeds - basis; short closing: basis - cost to buy back
        proceeds = closing * price * (1 if qty > 0 else -1)
        realized = proceeds - released
        self.cost_basis -= released
        self.quantity = qty + signed_qty
        self.realized_pnl += realized
        opening = abs(signed_qty) - closing
        if self.quantity == 0:
            self.cost_basis = ZERO
        elif opening > 0:  # flipped through zero: the remainder opens at the fill price
            self.cost_basis = (opening if signed_qty > 0 else -opening) * price
        return realized


class Portfolio:
    def __init__(self, instruments: dict[str, Instrument], starting_cash: Decimal) -> None:
        self.instruments = instruments
        self.starting_cash = starting_cash
        self.cash = starting_cash
        self.fees = ZERO
        self.positions: dict[str, Position] = {s: Position(s) for s in instruments}
        self.marks: dict[str, Decimal] = {}
        self.fill_count = 0
        self.day = ""
        self.day_start_equity = starting_cash

    def apply_fill(self, fill: OrderFilled) -> Position:
        position = self.positions[fill.symbol]
        signed = fill.quantity if fill.side.sign > 0 else -fill.quantity
        position.apply_fill(signed, fill.price)
        self.cash -= signed * fill.price + fill.fee
        self.fees += fill.fee
        self.fill_count += 1
        return position

    def mark(self, symbol: str, price: Decimal) -> None:
        self.marks[symbol] = price

    def unrealized(self, symbol: str) -> Decimal:
        p = self.positions[symbol]
        mark = self.marks.get(symbol)
        if not p.quantity or mark is None:
            return ZERO
        return p.quantity * mark - p.cost_basis

    def exposure(self, symbol: str) -> Decimal:
        """Absolute market value of the position at the mark (at cost if no mark yet)."""
        p = self.positions[symbol]
        mark = self.marks.get(symbol)
        return abs(p.quantity * mark) if mark is not None else abs(p.cost_basis)

    def equity(self) -> Decimal:
        total = self.cash
        for symbol, p in self.positions.items():
            mark = self.marks.get(symbol)
            total += p.quantity * mark if mark is not None else p.cost_basis
        return total

    @property
    def realized(self) -> Decimal:
        return sum((p.realized_pnl for p in self.positions.values()), ZERO)

    def roll_day(self, day: str) -> bool:
        """Start a new trading day (UTC) at the current equity; True if it rolled."""
        if day == self.day:
            return False
        self.day = day
        self.day_start_equity = self.equity()
        return True

    def day_pnl(self) -> Decimal:
        return self.equity() - self.day_start_equity

    # --- read-only views ------------------------------------------------------------------

    def position_views(self) -> list[PositionView]:
        views = []
        for symbol, p in self.positions.items():
            if not p.quantity and not p.realized_pnl:
                continue
            inst = self.instruments[symbol]
            views.append(
                PositionView(
                    symbol=symbol,
                    quantity=p.quantity,
                    avg_price=inst.round_price(p.avg_price) if p.quantity else ZERO,
                    mark_price=self.marks.get(symbol),
                    unrealized_pnl=_q(self.unrealized(symbol)),
                    realized_pnl=_q(p.realized_pnl),
                )
            )
        return views

    def pnl_view(self) -> PnlView:
        unrealized = sum((self.unrealized(s) for s in self.positions), ZERO)
        return PnlView(
            cash=_q(self.cash),
            equity=_q(self.equity()),
            realized=_q(self.realized),
            unrealized=_q(unrealized),
            fees=_q(self.fees),
            day_pnl=_q(self.day_pnl()),
        )


def _q(amount: Decimal) -> Decimal:
    return amount.quantize(QUOTE_QUANTUM, ROUND_HALF_EVEN)
