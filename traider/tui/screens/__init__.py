"""Screens pushed over the main layout."""

from traider.tui.screens.kill_switch import KillSwitchScreen
from traider.tui.screens.risk import RiskScreen

__all__ = ["KillSwitchScreen", "RiskScreen"]
