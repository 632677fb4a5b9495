"""Screens pushed over the main layout."""

from traider.tui.screens.kill_switch import KillSwitchScreen

__all__ = ["KillSwitchScreen"]
