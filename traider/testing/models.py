"""Making a live model in an engine's registry, as an operator would, for tests."""

from __future__ import annotations

from typing import Any

from traider.engine.engine import Engine
from traider.engine.features.bars import bar_features, make_dataset
from traider.engine.models.base import file_sha256
from traider.engine.models.registry import ModelRegistry
from traider.engine.models.rules import MomentumModel
from traider.engine.models.tracking import TrainingProfile
from traider.sim.bars import simulated_bars

__all__ = ["register_live"]


def register_live(
    engine: Engine,
    kind: type[Any] = MomentumModel,
    *,
    timeframes: tuple[str, ...] = ("1m", "5m"),
    base: str = "1m",
    trained_at_ns: int | None = None,
    promote: bool = True,
    profile_shift: float = 0.0,
    horizon_bars: int = 1,
) -> str:
    """Fit a rule model on simulated bars, register it, and (by default) approve and
    promote it by "alice"; returns its model id. `profile_shift` moves the recorded
    training profile away from the data (to provoke drift)."""
    every_s = 3600 if base == "1h" else 60
    bars = simulated_bars(["BTC-USD"], 800, seed=11, every_s=every_s)["BTC-USD"]
    data = make_dataset(bar_features(bars, timeframes), 1)
    model = kind()
    model.fit(data)
    registry = ModelRegistry(engine.store)
    version = 1 + len(registry.records(model.name))
    path = engine.home / "models" / f"{model.name}-{version}.json"
    artifact = model.save(path)
    profile = TrainingProfile.from_matrix(
        data.X + profile_shift, data.feature_names, training_accuracy=0.52
    )
    feature_spec = {"timeframes": list(timeframes), "base": base, "horizon_bars": horizon_bars}
    rec = registry.register(
        model.name,
        params={**artifact.params, "features": feature_spec},
        data_start_ns=int(data.ts_ns[0]),
        data_end_ns=int(data.ts_ns[-1]),
        data_hash=artifact.data_hash,
        metrics={
            "oos_accuracy": 0.52,
            "profile": profile.to_dict(),
            "trained_at_ns": trained_at_ns or engine.clock.timestamp_ns(),
            "artifact_sha256": file_sha256(path),
        },
        artifact_path=str(path),
    )
    if promote:
        registry.approve(rec.model_id, by="alice")
        registry.promote(rec.model_id, by="alice")
    return rec.model_id
