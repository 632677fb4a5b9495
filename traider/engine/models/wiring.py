"""Building the engine's `LiveModels`, with the bar-history backfill for its market.

On the simulated market the history comes from the simulator's own price process
(`traider.sim.bars`), ending now at the market's current mid, as a live venue adapter
would fetch past candles from the exchange. Without that backfill a model whose features
reach back 50 bars of 15 minutes would wait 12.5 hours before its first prediction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from traider.engine.models.live import LiveModels
from traider.engine.view import ModelsView

if TYPE_CHECKING:
    from traider.engine.engine import Engine

__all__ = ["EngineModelsMixin", "build_live_models"]


class EngineModelsMixin:
    """The engine's `EngineView` methods for the models (kept here: engine.py is full)."""

    live_models: LiveModels

    def models(self) -> ModelsView:
        return self.live_models.view()

    def approve_model(self, model_id: str, by: str) -> str:
        return self.live_models.approve(model_id, by)


def build_live_models(engine: Engine) -> LiveModels:
    symbols = engine.symbols

    def backfill(n_bars: int, end_ns: int, prices: dict[str, float]) -> dict[str, pl.DataFrame]:
        from traider.sim.bars import simulated_bars

        ends = {s: prices.get(s) or engine.market.mid(s) for s in symbols}
        seed = engine.config.sim.seed + 1  # not the live market's own stream
        every_s = engine.config.models.bar_seconds
        return simulated_bars(
            symbols, n_bars, every_s=every_s, end_ns=end_ns, seed=seed, end_prices=ends
        )

    return LiveModels(
        engine.config.models,
        symbols,
        engine.clock,
        engine.publish,
        engine.store,
        engine.home,
        bar_s=engine.config.models.bar_seconds,
        backfill=backfill,
        book_features=engine.features,
    )
