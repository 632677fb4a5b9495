"""Which registry models the engine may run, and loading them.

Only models in state *live* run: an operator approved and promoted them (`traider models
approve`, `promote`). A live model is still left out, with the reason shown on the screen
and in an alert, when:

* it is older than `[models] max_age_days` (expired: retraining is scheduled);
* its artifact is missing, unreadable, or does not match what the registry recorded;
* it was trained on bars of another length than the engine builds (the live bars are
  1 minute), or without a feature spec (trained before the spec was recorded);
* its label horizon differs from the other live models' (the Hedge weights compare
  losses on the same outcomes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from traider.engine.features.bars import timeframe_ns
from traider.engine.models.registry import ModelRecord
from traider.engine.models.tracking import NS_PER_DAY, TrainingProfile

__all__ = ["ModelSlot", "import_model_class", "import_model_library", "load_model", "slot_for"]


@dataclass
class ModelSlot:
    """One live registry model as the engine sees it."""

    record: ModelRecord
    state: str  # live | expired | failed | disabled
    note: str
    timeframes: tuple[str, ...] = ()
    horizon_bars: int = 1
    trained_at_ns: int = 0
    profile: TrainingProfile | None = None
    model: Any = None  # the loaded model, once `state == "live"`
    seq_len: int = 1  # rows of features per prediction (the LSTM wants a window)
    feature_names: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.record.name

    def age_days(self, now_ns: int) -> float:
        return (now_ns - self.trained_at_ns) / NS_PER_DAY


def import_model_library(kind: str) -> None:
    """Import the heavy library a model kind uses (the model modules import it lazily)."""
    if kind in ("xgboost", "random_forest"):
        import xgboost  # noqa: F401
    elif kind == "lstm":
        import torch  # noqa: F401


def import_model_class(kind: str) -> Any:
    """The model class for an artifact kind (importing xgboost or torch on first use)."""
    if kind == "xgboost":
        from traider.engine.models.xgb import XGBoostModel

        return XGBoostModel
    if kind == "random_forest":
        from traider.engine.models.forest import RandomForestModel

        return RandomForestModel
    if kind == "lstm":
        from traider.engine.models.lstm import LSTMModel

        return LSTMModel
    if kind in ("momentum", "mean_reversion"):
        from traider.engine.models import rules

        return rules.MomentumModel if kind == "momentum" else rules.MeanReversionModel
    raise ValueError(f"unknown model kind {kind!r}")


def slot_for(record: ModelRecord, now_ns: int, max_age_days: float, bar_ns: int) -> ModelSlot:
    """Judge a live record without loading it (cheap: no torch or xgboost import)."""
    metrics = record.metrics
    trained_at = int(metrics.get("trained_at_ns") or record.registered_at_ns)
    slot = ModelSlot(record, "live", "", trained_at_ns=trained_at)
    spec = record.params.get("features")
    if not isinstance(spec, dict) or not spec.get("timeframes"):
        slot.state, slot.note = "disabled", "no feature spec: retrain it with `traider train`"
        return slot
    slot.timeframes = tuple(str(t) for t in spec["timeframes"])
    slot.horizon_bars = int(spec.get("horizon_bars", 1))
    base = str(spec.get("base", slot.timeframes[0]))
    if timeframe_ns(base) != bar_ns:
        slot.state = "disabled"
        slot.note = f"trained on {base} bars; the engine's live bars are {bar_ns // 10**9}s"
        return slot
    profile = metrics.get("profile")
    if isinstance(profile, dict):
        slot.profile = TrainingProfile.from_dict(profile)
    age = slot.age_days(now_ns)
    if age > max_age_days:
        slot.state = "expired"
        slot.note = f"expired: trained {age:.1f} days ago, max age {max_age_days:g} days"
    return slot


def load_model(slot: ModelSlot) -> None:
    """Load the artifact into `slot.model`; on any problem the slot becomes `failed`."""
    rec = slot.record
    try:
        from traider.engine.models.base import read_artifact

        artifact = read_artifact(rec.artifact_path)
        if artifact.data_hash != rec.data_hash:
            raise ValueError(
                f"artifact data hash {artifact.data_hash[:12]} is not the registered "
                f"{rec.data_hash[:12]}: the file was replaced"
            )
        model = import_model_class(artifact.kind).from_artifact(artifact, name=rec.name)
    except Exception as exc:  # any broken artifact means: do not trade on it
        slot.state, slot.note = "failed", f"cannot load {rec.artifact_path}: {exc}"[:300]
        return
    slot.model = model
    slot.feature_names = tuple(model.feature_names)
    seq = getattr(model, "seq_len", 1)
    slot.seq_len = int(seq) if isinstance(seq, int) and seq > 0 else 1
