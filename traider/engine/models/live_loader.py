"""Which registry models the engine may run, and loading them.

Only models in state *live* run: an operator approved and promoted them (`traider models
approve`, `promote`). A live model is still left out, with the reason shown on the screen
and in an alert, when:

* it is older than `[models] max_age_days` (expired: retraining is scheduled);
* its artifact is missing or unreadable, its file's sha256 is not the one recorded at
  registration (`metrics["artifact_sha256"]`; a record without it is refused too), or it
  holds another kind of model than the registry name says;
* its registry record is malformed (each record is judged on its own: one bad record
  never stops the others from loading or a retired model from leaving);
* it was trained on bars of another length than the engine builds (the live bars are
  1 minute), or without a feature spec (trained before the spec was recorded);
* its label horizon differs from the other live models' (the Hedge weights compare
  losses on the same outcomes): models already running keep their place, then the oldest
  registration wins.

Inside the engine a model is known by its registry id ("xgboost-3"), not its name: the
ensemble weights, the tracker and the pending outcomes of one version never carry over
to the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traider.engine.features.bars import timeframe_ns
from traider.engine.models.registry import ModelRecord
from traider.engine.models.tracking import NS_PER_DAY, TrainingProfile

__all__ = ["ModelSlot", "import_model_library", "judge_records", "load_model", "slot_for"]


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

    @property
    def member(self) -> str:
        """The id the ensemble, tracker and events use: the registry id."""
        return self.record.model_id

    def age_days(self, now_ns: int) -> float:
        return (now_ns - self.trained_at_ns) / NS_PER_DAY


def import_model_library(kind: str) -> None:
    """Import the heavy library a model kind uses (the model modules import it lazily)."""
    if kind in ("xgboost", "random_forest"):
        import xgboost  # noqa: F401
    elif kind == "lstm":
        import torch  # noqa: F401


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
        from traider.engine.models.base import ModelArtifact
        from traider.engine.models.training import MODEL_NAMES, model_class

        recorded = rec.metrics.get("artifact_sha256")
        if not isinstance(recorded, str) or not recorded:
            raise ValueError("no artifact sha256 recorded at registration: train it again")
        data = Path(rec.artifact_path).read_bytes()  # hashed and parsed: the same bytes
        actual = hashlib.sha256(data).hexdigest()
        if actual != recorded:
            raise ValueError(
                f"file sha256 {actual[:12]} is not the registered {recorded[:12]}: "
                "the file was replaced or edited"
            )
        artifact = ModelArtifact.from_json(data.decode("utf-8"), rec.artifact_path)
        if rec.name in MODEL_NAMES and artifact.kind != rec.name:
            raise ValueError(f"it holds a {artifact.kind!r} model, not {rec.name!r}")
        if artifact.data_hash != rec.data_hash:
            raise ValueError("its training-data hash is not the registered one")
        model = model_class(artifact.kind).from_artifact(artifact, name=rec.model_id)
    except Exception as exc:  # any broken artifact means: do not trade on it
        slot.state, slot.note = "failed", f"cannot load {rec.artifact_path}: {exc}"[:300]
        return
    slot.model = model
    slot.feature_names = tuple(model.feature_names)
    seq = getattr(model, "seq_len", 1)
    slot.seq_len = int(seq) if isinstance(seq, int) and seq > 0 else 1


def judge_records(
    records: Iterable[ModelRecord],
    old: Mapping[str, ModelSlot],
    now_ns: int,
    max_age_days: float,
    bar_ns: int,
) -> dict[str, ModelSlot]:
    """The slots for the registry's live records (by name). A slot already running the
    same version is kept as it is; every other record is judged and loaded afresh, each
    on its own (a malformed record becomes a `failed` slot, it stops nothing else)."""
    # who is running is read before any slot is touched: kept slots are reset below
    running = {s.member for s in old.values() if s.state == "live"}
    slots: dict[str, ModelSlot] = {}
    for rec in records:
        prev = old.get(rec.name)
        if prev is not None and prev.member == rec.model_id and prev.model is not None:
            prev.state, prev.note = "live", ""  # re-judged below against the others
            slots[rec.name] = prev
            continue
        try:
            slot = slot_for(rec, now_ns, max_age_days, bar_ns)
        except Exception as exc:  # a malformed record: refuse it, judge the rest
            slot = ModelSlot(rec, "failed", f"malformed registry record: {exc}"[:300])
        if slot.state == "live":
            load_model(slot)
        slots[rec.name] = slot
    live = sorted(
        (s for s in slots.values() if s.state == "live"),
        key=lambda s: (s.member not in running, s.record.registered_at_ns, s.member),
    )
    if live:  # one label horizon per ensemble: the weights compare the same outcomes
        horizon = live[0].horizon_bars
        for s in live[1:]:
            if s.horizon_bars != horizon:
                s.state = "disabled"
                s.note = f"horizon {s.horizon_bars} bars; the models in use predict {horizon}"
    return slots
