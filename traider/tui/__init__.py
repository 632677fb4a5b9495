"""The Textual screen over the engine: `TraiderApp(engine, tui_config)`."""

from traider.tui.app import TraiderApp

__all__ = ["TraiderApp"]
