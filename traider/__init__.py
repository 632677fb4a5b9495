"""traider: a terminal trading workstation over an asyncio trading engine."""

__version__ = "0.1.0"
