"""Model settings: the `[models]` section of config.toml.

The engine runs only models that the registry says are *live* (an operator approved and
promoted them) and that are younger than `max_age_days`; an expired model is dropped from
the ensemble with an alert, and a retraining job is scheduled. Models only ever scale an
entry that a strategy proposed: `max_size_multiplier` 1.0 means they can shrink or veto an
entry, never enlarge it beyond what the strategy and the risk desk chose.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelsConfig:
    enabled: bool = True  # run the live models (when any is live in the registry)
    bar_seconds: int = 60  # live bar length; a model must be trained on bars this long
    max_age_days: float = 30.0  # older models are expired: not used, retraining scheduled
    retrain_every_h: float = 168.0  # scheduled retraining (0: only on drift or expiry)
    retrain_on_drift: bool = True
    retrain_workers: int = 1  # processes in the retraining pool
    min_retrain_bars: int = 500  # bars recorded before a retrain may run
    veto_prob: float = 0.35  # P(the entry's direction) below this: the entry is vetoed
    max_size_multiplier: float = 1.0  # models may scale entries by at most this
    ensemble_eta: float = 1.0  # Hedge learning rate
    ensemble_floor: float = 0.02  # least weight a model keeps, so it can recover
    psi_threshold: float = 0.2  # feature PSI above this is drift
    psi_min_rows: int = 250  # live feature rows before PSI is judged (fewer: noise)
    accuracy_drop: float = 0.05  # rolling hit rate this far below training is drift
    drift_check_every_bars: int = 60
    history_bars: int = 2000  # bars kept in memory per symbol for features and drift

    def problems(self) -> list[str]:
        """What is wrong with these settings, one line each naming the key."""
        out: list[str] = []
        if not 1 <= self.bar_seconds <= 86_400:
            out.append("models.bar_seconds must be between 1 and 86400")
        if self.max_age_days <= 0:
            out.append("models.max_age_days must be > 0")
        if self.retrain_every_h < 0:
            out.append("models.retrain_every_h must be >= 0 (0: no scheduled retraining)")
        if not 1 <= self.retrain_workers <= 8:
            out.append("models.retrain_workers must be between 1 and 8")
        if self.min_retrain_bars < 100:
            out.append("models.min_retrain_bars must be >= 100")
        if not 0.0 <= self.veto_prob < 0.5:
            out.append("models.veto_prob must be in [0, 0.5)")
        if not 0.0 < self.max_size_multiplier <= 3.0:
            out.append("models.max_size_multiplier must be in (0, 3]")
        if self.ensemble_eta <= 0:
            out.append("models.ensemble_eta must be > 0")
        if not 0.0 < self.ensemble_floor < 0.2:
            out.append("models.ensemble_floor must be in (0, 0.2): a model needs a way back")
        if self.psi_threshold <= 0:
            out.append("models.psi_threshold must be > 0")
        if self.psi_min_rows < 20:
            out.append("models.psi_min_rows must be >= 20")
        if not 0.0 < self.accuracy_drop < 0.5:
            out.append("models.accuracy_drop must be in (0, 0.5)")
        if self.drift_check_every_bars < 1:
            out.append("models.drift_check_every_bars must be >= 1")
        if self.history_bars < 200:
            out.append("models.history_bars must be >= 200")
        return out
