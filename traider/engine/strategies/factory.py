"""Which strategy the engine runs (`[strategy] name`)."""

from __future__ import annotations

from collections.abc import Mapping

from traider.config import StrategyConfig
from traider.engine.features.microstructure import MicrostructureFeatures
from traider.engine.strategies.base import Strategy


def build_strategy(
    config: StrategyConfig,
    symbols: tuple[str, ...],
    features: Mapping[str, MicrostructureFeatures],
) -> Strategy:
    if config.name == "orderflow":
        from traider.engine.strategies.orderflow import OrderFlowParams, OrderFlowStrategy

        params = OrderFlowParams(
            evaluate_every_ms=config.evaluate_every_ms,
            ofi_weight_bps=config.ofi_weight_bps,
            margin_bps=config.margin_bps,
            order_notional_usd=config.order_notional_usd,
            max_holding_s=config.max_holding_s,
        )
        return OrderFlowStrategy(params, symbols, features)
    if config.name == "random":
        from traider.engine.strategies.random_baseline import RandomStrategy

        return RandomStrategy(
            symbols,
            order_notional_usd=config.order_notional_usd,
            max_holding_s=config.max_holding_s,
        )
    from traider.engine.strategies.imbalance import ImbalanceStrategy

    return ImbalanceStrategy(config, symbols)
