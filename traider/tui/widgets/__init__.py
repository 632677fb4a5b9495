"""The panels of the main and risk screens; each pulls its own snapshot on its own timer."""

from traider.tui.widgets.alerts_log import AlertsLog
from traider.tui.widgets.correlation_heatmap import CorrelationHeatmap
from traider.tui.widgets.denials import DenialsLog
from traider.tui.widgets.limit_bars import LimitBars
from traider.tui.widgets.order_book import OrderBookWidget
from traider.tui.widgets.orders import OrdersTable
from traider.tui.widgets.pnl import PnlPanel
from traider.tui.widgets.positions import PositionsTable
from traider.tui.widgets.status_bar import StatusBar
from traider.tui.widgets.stress_table import StressTable
from traider.tui.widgets.trades_tape import TradesTape
from traider.tui.widgets.var_table import VarTable

__all__ = [
    "AlertsLog",
    "CorrelationHeatmap",
    "DenialsLog",
    "LimitBars",
    "OrderBookWidget",
    "OrdersTable",
    "PnlPanel",
    "PositionsTable",
    "StatusBar",
    "StressTable",
    "TradesTape",
    "VarTable",
]
