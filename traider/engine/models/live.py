"""The live models: bars → features → predictions → ensemble signal, inside the engine.

Every `bar_s` seconds each symbol completes a bar (`BarBook`, from the engine's trades).
For each completed bar the service

1. resolves the predictions made `horizon_bars` bars ago: each model's log-loss moves
   the Hedge weights, and the tracker records hit rate, log-loss, Brier and P&L
   contribution (outcomes are used only after they happened: never ahead);
2. builds the causal bar features (`features.bars.bar_features`, polars; in the running
   engine on a worker thread, so the event loop is not held for those milliseconds);
3. asks each in-use model for P(up) through `ModelRunner` (a model that raises becomes
   `SignalFailed` + an alert and the others carry on) and publishes `EnsembleUpdated`.

Strategies read the result through `size_multiplier(symbol, side)`: models never send
orders, they scale or veto an entry a strategy proposed (see `ModelsConfig`).

Every `drift_check_every_bars` bars (and when the registry changes) it checks expiry and
drift (feature PSI against the training profile, hit rate against the out-of-sample
training accuracy) and the retraining schedule; a due retrain goes to the process pool
(`RetrainRunner`), and its result is registered as a *candidate* for an operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from traider.engine.core.clock import Clock
from traider.engine.core.events import Alert, EnsembleUpdated, Event, TradeTick
from traider.engine.core.types import Severity, Side
from traider.engine.models.config import ModelsConfig
from traider.engine.models.live_bars import BarBook
from traider.engine.models.live_loader import ModelSlot, load_model, slot_for
from traider.engine.models.live_retrain import RetrainRunner
from traider.engine.models.tracking import PerformanceTracker, drift_report
from traider.engine.state.store import Store
from traider.engine.view import EMPTY_MODELS, CandidateLine, ModelLine, ModelsView, SignalLine

__all__ = ["LiveModels"]

log = logging.getLogger(__name__)

NS = 1_000_000_000
Backfill = Callable[[int, int, dict[str, float]], dict[str, pl.DataFrame]]


@dataclass(slots=True)
class _Pending:
    due_end_ns: int  # the outcome is known when the bar ending here is complete
    close: float  # the close the prediction was made at
    probs: dict[str, float]  # model -> prob_up, only the models that answered
    weights: dict[str, float]


class LiveModels:
    def __init__(
        self,
        config: ModelsConfig,
        symbols: tuple[str, ...],
        clock: Clock,
        publish: Callable[[Event], None],
        store: Store,
        home: Path,
        *,
        bar_s: int = 60,
        backfill: Backfill | None = None,
    ) -> None:
        self.config = config
        self.symbols = symbols
        self.clock = clock
        self.publish = publish
        self.store = store
        self.bar_ns = bar_s * NS
        self.bars = BarBook(symbols, self.bar_ns, config.history_bars)
        self.backfill = backfill
        self.slots: dict[str, ModelSlot] = {}
        self.tracker = PerformanceTracker(window=500)
        self.retrain = RetrainRunner(self, home)
        self._registry: Any = None
        self._runner: Any = None
        self._ensemble: Any = None
        self._pending: dict[str, deque[_Pending]] = {s: deque() for s in symbols}
        self._latest: dict[str, EnsembleUpdated] = {}
        self._recent_rows: dict[str, deque[np.ndarray]] = {}
        self._bars_since_check = 0
        self._registry_seen = -1
        self._backfilled = False
        self._alerted: set[str] = set()
        self.vetoes = 0
        self.version = 0

    # --- lifecycle -------------------------------------------------------------------

    def boot(self) -> None:
        """Read the registry and load the live models (imports torch/xgboost only when a
        live model needs them)."""
        if not self.config.enabled:
            return
        from traider.engine.models.registry import ModelRegistry

        try:
            self._registry = ModelRegistry(self.store)
        except Exception as exc:  # no registry: trade without models, visibly
            self._alert(Severity.WARNING, "registry", f"model registry unreadable: {exc}")
            return
        self._reload()

    def warm_imports(self, db_path: Path) -> None:
        """On a worker thread before `boot`: import the libraries the live models need
        (xgboost alone takes ~1 s), so boot on the event loop does not freeze the screen.
        Reads the registry through its own read-only connection; any problem is left for
        `boot` to meet and report."""
        if not self.config.enabled or not db_path.is_file():
            return
        from traider.engine.models.live_loader import import_model_library
        from traider.engine.models.registry import ModelRegistry, ModelState
        from traider.engine.state.sqlite_store import SQLiteStore

        try:
            store = SQLiteStore.open_readonly(db_path)
        except Exception:  # boot reports it
            return
        try:
            for rec in ModelRegistry(store).records():
                if rec.state is ModelState.LIVE:
                    import_model_library(rec.name)  # names are kinds (`traider train`)
        except Exception:  # boot reports it
            log.debug("warm imports failed", exc_info=True)
        finally:
            store.close()

    def _reload(self) -> None:
        from traider.engine.models.ensemble import HedgeEnsemble
        from traider.engine.models.registry import ModelState
        from traider.engine.models.runner import ModelRunner

        now = self.clock.timestamp_ns()
        old = self.slots
        slots: dict[str, ModelSlot] = {}
        for rec in self._registry.records():
            if rec.state is not ModelState.LIVE:
                continue
            prev = old.get(rec.name)
            if prev is not None and prev.record.model_id == rec.model_id and prev.model:
                slots[rec.name] = prev
                continue
            slot = slot_for(rec, now, self.config.max_age_days, self.bar_ns)
            if slot.state == "live":
                load_model(slot)
            slots[rec.name] = slot
        in_use = [s for s in slots.values() if s.state == "live"]
        if in_use:  # one label horizon per ensemble: the weights compare the same outcomes
            horizon = in_use[0].horizon_bars
            for s in in_use[1:]:
                if s.horizon_bars != horizon:
                    s.state = "disabled"
                    s.note = f"horizon {s.horizon_bars} bars; the others use {horizon}"
        for slot in slots.values():
            if slot.state != "live":
                self._alert_once(
                    f"{slot.record.model_id}:{slot.state}",
                    Severity.WARNING,
                    f"model {slot.record.model_id} not used: {slot.note}",
                )
                if slot.state == "expired":
                    self.retrain.request(slot, slot.note)
        self.slots = slots
        names = [s.name for s in slots.values() if s.state == "live"]
        if names:
            weights = self._ensemble.weights() if self._ensemble is not None else {}
            ens = HedgeEnsemble(names, self.config.ensemble_eta, self.config.ensemble_floor)
            # keep what was learnt about the same model versions; a new version starts fresh
            ens.carry_over({n: w for n, w in weights.items()
                            if n in old and n in slots and old[n].record.model_id
                            == slots[n].record.model_id})  # fmt: skip
            self._ensemble = ens
            models = [slots[n].model for n in names]
            self._runner = ModelRunner(models, ens, self.clock, self.publish)
            self._seed_history()
        else:
            self._ensemble = self._runner = None
        self._registry_seen = self._registry.journal_position
        self.version += 1

    def _seed_history(self) -> None:
        if self._backfilled or self.backfill is None:
            return
        self._backfilled = True
        now = self.clock.timestamp_ns()
        prices = {s: p for s in self.symbols if (p := self.bars.last_close(s)) is not None}
        try:
            frames = self.backfill(self.config.history_bars, now - now % self.bar_ns, prices)
        except Exception as exc:  # models then warm up from live bars only
            self._alert(Severity.WARNING, "backfill", f"bar history backfill failed: {exc}")
            return
        for sym, frame in frames.items():
            if sym in self.symbols:
                self.bars.seed(sym, frame)

    # --- inputs ----------------------------------------------------------------------

    def on_trade(self, trade: TradeTick) -> None:
        self.bars.on_trade(trade.symbol, trade.ts_event, trade.price, trade.size)

    def process(self, now_ns: int | None = None) -> int:
        """Complete due bars and act on them synchronously (tests, replay); returns the
        number of bars completed."""
        now = self.clock.timestamp_ns() if now_ns is None else now_ns
        self._expire(now)
        closed = self.bars.close_until(now)
        for symbol, new in closed.items():
            self._resolve(symbol, new[-1].start_ns + self.bar_ns, [b.close for b in new])
            if self._runner is not None:
                inputs = self._feature_inputs(self.bars.frame(symbol))
                self._predict(symbol, inputs, new[-1].start_ns + self.bar_ns)
        self._housekeeping(sum(len(v) for v in closed.values()))
        return sum(len(v) for v in closed.values())

    async def run(self, interval_s: float = 1.0) -> None:
        """The engine's task: the same as `process`, with features built off the loop."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                now = self.clock.timestamp_ns()
                self._expire(now)
                closed = self.bars.close_until(now)
                for symbol, new in closed.items():
                    self._resolve(symbol, new[-1].start_ns + self.bar_ns, [b.close for b in new])
                    if self._runner is not None:
                        frame = self.bars.frame(symbol)
                        inputs = await asyncio.to_thread(self._feature_inputs, frame)
                        self._predict(symbol, inputs, new[-1].start_ns + self.bar_ns)
                self._housekeeping(sum(len(v) for v in closed.values()))
            except Exception as exc:  # the models are optional: trading goes on without
                log.exception("live models failed")
                self._alert_once("models-loop", Severity.WARNING, f"live models failed: {exc}")

    def stop(self) -> None:
        self.retrain.shutdown()

    # --- the per-bar work ------------------------------------------------------------

    def _feature_inputs(self, frame: pl.DataFrame) -> dict[str, np.ndarray | None]:
        """Per in-use model: its feature vector (or window for sequence models) from the
        latest completed bar, None while the features are still warming up."""
        from traider.engine.features.bars import bar_features

        slots = [s for s in self.slots.values() if s.state == "live"]
        if not slots or frame.height < 2:
            return {}
        tfs = sorted({t for s in slots for t in s.timeframes}, key=_tf_key)
        base = _tf_label(self.bar_ns)
        feats = bar_features(frame, timeframes=tuple(tfs), base=base)
        out: dict[str, np.ndarray | None] = {}
        for s in slots:
            if not all(c in feats.columns for c in s.feature_names):
                out[s.name] = None
                continue
            rows = feats.select(s.feature_names).tail(s.seq_len).to_numpy().astype(np.float32)
            ok = rows.shape[0] == s.seq_len and bool(np.isfinite(rows).all())
            out[s.name] = (rows[-1] if s.seq_len == 1 else rows) if ok else None
        return out

    def _predict(
        self, symbol: str, inputs: dict[str, np.ndarray | None], bar_end_ns: int
    ) -> None:
        """Predict from the features of the bar that ended at `bar_end_ns`; the outcome
        is due `horizon_bars` bars later."""
        runner = self._runner
        if runner is None or not any(v is not None for v in inputs.values()):
            return
        update = runner.run(symbol, inputs)
        self._latest[symbol] = update
        close = self.bars.last_close(symbol)
        probs = {
            n: float(p.prob_up) for n, p in runner.last_predictions.items() if p is not None
        }
        for name, x in inputs.items():
            if x is not None:
                row = x if x.ndim == 1 else x[-1]
                keep = max(500, self.config.psi_min_rows)
                self._recent_rows.setdefault(name, deque(maxlen=keep)).append(row)
        if close is not None and probs:
            horizon = self._live_slots()[0].horizon_bars
            due = bar_end_ns + horizon * self.bar_ns
            self._pending[symbol].append(_Pending(due, close, probs, self._ensemble.weights()))
        self.version += 1

    def _resolve(self, symbol: str, end_ns: int, closes: list[float]) -> None:
        """Outcomes of predictions whose horizon ended by `end_ns` (the newest bar's end)."""
        pending = self._pending[symbol]
        while pending and pending[0].due_end_ns <= end_ns:
            p = pending.popleft()
            # the close of the bar that ended at due_end_ns
            back = (end_ns - p.due_end_ns) // self.bar_ns
            if back >= len(closes):
                continue  # fell out of this batch (a long pause): not judged
            close = closes[-1 - back]
            outcome = int(close > p.close)
            ret = close / p.close - 1.0
            from traider.engine.models.base import Prediction

            preds = {n: Prediction.from_prob(v, "") for n, v in p.probs.items()}
            if self._ensemble is not None:
                known = {n: v for n, v in preds.items() if n in self._ensemble.model_names}
                self._ensemble.update(known, outcome)
            for name, prob in p.probs.items():
                self.tracker.record(name, prob, outcome, ret, p.weights.get(name, 0.0))
            self.version += 1

    def _live_slots(self) -> list[ModelSlot]:
        return [s for s in self.slots.values() if s.state == "live"]

    def _housekeeping(self, new_bars: int) -> None:
        if self._registry is None:
            return
        self._bars_since_check += new_bars
        for ev in self.retrain.poll():
            self.publish(ev)
            self.version += 1
        registry_moved = False
        if new_bars:
            try:
                self._registry.refresh()
                registry_moved = self._registry.journal_position != self._registry_seen
            except Exception as exc:  # keep the models we have; say so once
                self._alert_once("registry-refresh", Severity.WARNING, f"registry: {exc}")
        if registry_moved:
            self._reload()
        if registry_moved or self._bars_since_check >= self.config.drift_check_every_bars:
            self._bars_since_check = 0
            self._check_models(self.clock.timestamp_ns())

    def _expire(self, now: int) -> None:
        """Before any prediction: a model past its maximum age leaves the ensemble."""
        if self._runner is None:
            return
        expired = False
        for slot in self._live_slots():
            if slot.age_days(now) > self.config.max_age_days:
                slot.model = None  # `_reload` judges it again: expired, alert, retrain
                expired = True
        if expired:
            self._reload()

    def _check_models(self, now: int) -> None:
        cfg = self.config
        for slot in self._live_slots():
            age = slot.age_days(now)
            if cfg.retrain_every_h > 0 and age * 24 > cfg.retrain_every_h:
                self.retrain.request(slot, f"schedule: every {cfg.retrain_every_h:g} h")
            if slot.profile is None:
                continue
            rows = self._recent_rows.get(slot.name)
            # PSI over 10 bins needs a few hundred rows: with ~50 an empty bin alone
            # scores ~0.7, so a healthy model would be called drifted
            enough = rows is not None and len(rows) >= cfg.psi_min_rows
            recent = np.vstack(list(rows)) if enough and rows else None
            report = drift_report(
                slot.profile,
                recent,
                self.tracker.metrics(slot.name),
                psi_threshold=cfg.psi_threshold,
                accuracy_drop=cfg.accuracy_drop,
            )
            slot.note = "drift: " + "; ".join(report.reasons) if report.drifted else ""
            if report.drifted:
                self._alert_once(
                    f"drift:{slot.record.model_id}",
                    Severity.WARNING,
                    f"model {slot.record.model_id} drifted: {'; '.join(report.reasons)}"[:400],
                )
                if cfg.retrain_on_drift:
                    self.retrain.request(slot, slot.note)
        self.version += 1

    # --- reading ---------------------------------------------------------------------

    @property
    def registry(self) -> Any:
        """The model registry (None before boot, or when it could not be read)."""
        return self._registry

    def signal(self, symbol: str, now_ns: int | None = None) -> EnsembleUpdated | None:
        """The latest combined signal while it is within its horizon, else None."""
        update = self._latest.get(symbol)
        if update is None or self._runner is None:
            return None
        now = self.clock.timestamp_ns() if now_ns is None else now_ns
        live = self._live_slots()
        horizon = live[0].horizon_bars if live else 1
        return update if now < update.ts_event + horizon * self.bar_ns else None

    def size_multiplier(self, symbol: str, side: Side) -> float:
        """What the models do to an entry's size: 1.0 without a fresh signal (trading
        goes on without models), 0.0 when they say the entry's direction is unlikely
        (P < veto_prob), otherwise 2·P capped at `max_size_multiplier` (P = 0.5 → 1.0)."""
        sig = self.signal(symbol)
        if sig is None:
            return 1.0
        p = sig.prob_up if side is Side.BUY else 1.0 - sig.prob_up
        if p < self.config.veto_prob:
            self.vetoes += 1
            return 0.0
        return min(self.config.max_size_multiplier, 2.0 * p)

    def candidates(self, limit: int = 10) -> tuple[CandidateLine, ...]:
        """Models waiting for an operator (candidate or approved), newest first."""
        from traider.engine.models.registry import ModelState

        if self._registry is None:
            return ()
        waiting = [
            r
            for r in self._registry.records()
            if r.state in (ModelState.CANDIDATE, ModelState.APPROVED)
        ]
        waiting.sort(key=lambda r: r.history[-1].at_ns, reverse=True)
        out = []
        for r in waiting[:limit]:
            m = r.metrics
            acc, ci = m.get("oos_accuracy"), m.get("oos_accuracy_ci")
            out.append(
                CandidateLine(
                    r.model_id,
                    r.name,
                    r.state.value,
                    float(acc) if isinstance(acc, int | float) else None,
                    (float(ci[0]), float(ci[1])) if isinstance(ci, list) and len(ci) == 2 else None,
                    r.history[0].by,
                    r.registered_at_ns,
                    str(m.get("report") or ""),
                )
            )
        return tuple(out)

    def approve(self, model_id: str, by: str) -> str:
        """An operator approves a candidate (journaled with who and when); it trades only
        once promoted. Raises ValueError (one line) when that is not allowed."""
        if self._registry is None:
            raise ValueError("the model registry is not available (models off or unreadable)")
        record = self._registry.approve(model_id, by)
        self.version += 1
        who = record.history[-1].by
        self._alert(
            Severity.INFO, f"approved:{model_id}", f"{model_id} approved by {who} in the TUI"
        )
        return (
            f"{model_id} approved by {who}; it trades once promoted: "
            f"traider models promote {model_id} --by {who}"
        )

    def view(self) -> ModelsView:
        if not self.config.enabled:
            return EMPTY_MODELS
        now = self.clock.timestamp_ns()
        weights = self._ensemble.weights() if self._ensemble is not None else {}
        lines = []
        for slot in self.slots.values():
            m = self.tracker.metrics(slot.name)
            preds = tuple(
                (sym, u.predictions[u.models.index(slot.name)])
                for sym, u in sorted(self._latest.items())
                if slot.name in u.models
            )
            age = slot.age_days(now)
            lines.append(
                ModelLine(
                    slot.record.model_id,
                    slot.name,
                    slot.state,
                    float(weights.get(slot.name, 0.0)) if slot.state == "live" else 0.0,
                    preds,
                    m.hit_rate,
                    m.log_loss,
                    m.brier,
                    m.pnl_contribution,
                    age,
                    self.config.max_age_days - age,
                    slot.note,
                )
            )
        signals = tuple(
            SignalLine(sym, u.prob_up, u.confidence, u.ts_event, self.signal(sym, now) is not None)
            for sym, u in sorted(self._latest.items())
        )
        note = ""
        if not self.slots:
            note = "no live model: train, approve and promote one (traider models --help)"
        elif not self._live_slots():
            note = "no model in use: see each model's note"
        return ModelsView(
            self.version,
            True,
            tuple(lines),
            signals,
            self.retrain.lines(),
            self.bars.completed,
            note,
            self.candidates(),
        )

    # --- alerts ----------------------------------------------------------------------

    def _alert(self, severity: Severity, key: str, message: str) -> None:
        now = self.clock.timestamp_ns()
        self.publish(Alert(now, now, severity, "models", message[:500], dedup_key=f"models:{key}"))

    def _alert_once(self, key: str, severity: Severity, message: str) -> None:
        if key not in self._alerted:
            self._alerted.add(key)
            self._alert(severity, key, message)


def _tf_key(tf: str) -> int:
    from traider.engine.features.bars import timeframe_ns

    return timeframe_ns(tf)


def _tf_label(ns: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if ns % (size * NS) == 0:
            return f"{ns // (size * NS)}{unit}"
    return f"{ns // NS}s"

