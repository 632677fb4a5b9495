"""Market data: L2 order books kept in step with the bus."""

from traider.engine.marketdata.book import L2Book
from traider.engine.marketdata.manager import BookManager

__all__ = ["BookManager", "L2Book"]
