"""Open orders: a keyed `DataTable` (by client order id) updated by cell diffs."""

from __future__ import annotations

from traider.engine.core.events import OrderSnapshot
from traider.engine.core.types import Side
from traider.tui.widgets.positions import Cell, KeyedTable, fmt_decimal, fmt_qty


class OrdersTable(KeyedTable):
    COLUMNS = (
        ("id", "Client id"),
        ("symbol", "Symbol"),
        ("side", "Side"),
        ("type", "Type"),
        ("qty", "Qty"),
        ("price", "Price"),
        ("filled", "Filled"),
        ("status", "Status"),
    )
    RIGHT = frozenset({"qty", "price", "filled"})

    def snapshot(self) -> dict[str, tuple[Cell, ...]]:
        return {o.client_order_id: order_cells(o) for o in self._engine.open_orders()}


def order_cells(o: OrderSnapshot) -> tuple[Cell, ...]:
    side_style = "#5fd75f" if o.side is Side.BUY else "#ff5f5f"
    return (
        (o.client_order_id, ""),
        (o.symbol, "bold"),
        (o.side.value, side_style),
        (o.order_type.value, ""),
        (fmt_qty(o.quantity), ""),
        (fmt_decimal(o.price), ""),
        (fmt_qty(o.filled_qty), "dim"),
        (o.status.value, ""),
    )
