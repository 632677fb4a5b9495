"""Market features computed from the order book and trades (strictly causal)."""

from traider.engine.features.microprice import MicropriceModel
from traider.engine.features.microstructure import FeatureVector, MicrostructureFeatures

__all__ = ["FeatureVector", "MicropriceModel", "MicrostructureFeatures"]
