"""The panels of the main screen; each pulls its own snapshot on its own timer."""

from traider.tui.widgets.alerts_log import AlertsLog
from traider.tui.widgets.order_book import OrderBookWidget
from traider.tui.widgets.orders import OrdersTable
from traider.tui.widgets.pnl import PnlPanel
from traider.tui.widgets.positions import PositionsTable
from traider.tui.widgets.status_bar import StatusBar
from traider.tui.widgets.trades_tape import TradesTape

__all__ = [
    "AlertsLog",
    "OrderBookWidget",
    "OrdersTable",
    "PnlPanel",
    "PositionsTable",
    "StatusBar",
    "TradesTape",
]
