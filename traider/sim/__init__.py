"""The simulated market: matching engines, a stochastic crowd order flow, and a façade."""

from traider.sim.market import SimulatedMarket
from traider.sim.matching import OrderBook

__all__ = ["OrderBook", "SimulatedMarket"]
