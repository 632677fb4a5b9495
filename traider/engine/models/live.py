"""The live models: bars → features → predictions → ensemble signal, inside the engine.

Every `bar_s` seconds each symbol completes a bar (`BarBook`, from the engine's trades,
with the bar's microstructure aggregates sampled once a second from the engine's book
features). Once a second the service

1. reads the registry (a promote, rollback or retire from the CLI takes effect before
   the next prediction, never after it; the libraries a newly live model needs are
   imported on a worker thread first);
2. drops models past their maximum age;
3. for each completed bar: resolves the predictions made `horizon_bars` bars ago (each
   model's log-loss moves its Hedge weight; the tracker records hit rate, log-loss, Brier
   and P&L contribution; outcomes are used only after they happened), builds the causal
   bar features (on a worker thread in the running engine), asks each model in use for
   P(up) through `ModelRunner` (a model that raises becomes `SignalFailed` + an alert and
   the others carry on) and publishes `EnsembleUpdated`.

Inside the service a model is known by its registry id ("xgboost-3"): weights, tracker
and pending outcomes of one version never carry over to the next (see `live_loader`).

Strategies read the result through `size_multiplier(symbol, side)`: models never send
orders, they scale or veto an entry a strategy proposed (see `ModelsConfig`). A signal is
used only while it is within its horizon *and* was made by exactly the models in use now.

Every `drift_check_every_bars` bars it checks drift (feature PSI against the training
profile, hit rate against the out-of-sample accuracy) and the retraining schedule, and
asks again for the retraining of expired models; a due retrain goes to the process pool
(`RetrainRunner`) and its result is registered as a *candidate* for an operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from traider.engine.core.clock import Clock
from traider.engine.core.events import Alert, EnsembleUpdated, Event, TradeTick
from traider.engine.core.types import Severity, Side
from traider.engine.models.config import ModelsConfig
from traider.engine.models.live_bars import BarBook
from traider.engine.models.live_loader import ModelSlot, judge_records
from traider.engine.models.live_retrain import RetrainRunner
from traider.engine.models.live_view import build_view
from traider.engine.models.tracking import PerformanceTracker, drift_report
from traider.engine.state.store import Store
from traider.engine.view import ModelsView

if TYPE_CHECKING:
    from traider.engine.features.microstructure import FeatureVector

__all__ = ["LiveModels"]

log = logging.getLogger(__name__)

NS = 1_000_000_000
FUTURE_TRADE_TOLERANCE_NS = 5 * NS  # a trade stamped later than this ahead is bad data
Backfill = Callable[[int, int, dict[str, float]], dict[str, pl.DataFrame]]
FeatureSource = Callable[[str], "FeatureVector | None"]


@dataclass(slots=True)
class _Pending:
    due_end_ns: int  # the outcome is known when the bar ending here is complete
    close: float  # the close the prediction was made at
    probs: dict[str, float]  # member id -> prob_up, only the models that answered
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
        book_features: FeatureSource | None = None,
    ) -> None:
        from traider.engine.features.bar_micro import MicroBarSampler

        self.config = config
        self.symbols = symbols
        self.clock = clock
        self.publish = publish
        self.store = store
        self.bar_ns = bar_s * NS
        keep = config.history_bars
        self.bars = BarBook(symbols, self.bar_ns, keep, max_gap_bars=keep)
        self.micro = MicroBarSampler(symbols, self.bar_ns)
        self.book_features = book_features
        self.backfill = backfill
        self.slots: dict[str, ModelSlot] = {}  # by registry name: one live version each
        self.tracker = PerformanceTracker(window=500)
        self.retrain = RetrainRunner(self, home)
        self._registry: Any = None
        self._runner: Any = None
        self._ensemble: Any = None
        self._pending: dict[str, deque[_Pending]] = {s: deque() for s in symbols}
        self._latest: dict[str, EnsembleUpdated] = {}
        self._recent_rows: dict[str, deque[np.ndarray]] = {}  # by member id
        self._bars_since_check = 0
        self._registry_seen = -1
        self._backfilled = False
        self._alerted: set[str] = set()
        self.bad_trades = 0
        self._loop_alert_after_ns = 0
        self._vetoed: set[tuple[str, int]] = set()  # (symbol, signal ts): counted once
        self._in_use: frozenset[str] = frozenset()  # member ids of the models in use
        self._horizon_bars = 1
        self.vetoes = 0
        self.version = 0

    # --- lifecycle -------------------------------------------------------------------

    def boot(self) -> None:
        """Read the registry and load the live models (imports torch/xgboost only when a
        live model needs them; the engine warms them on a thread first)."""
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
        from traider.engine.models.registry import ModelRegistry
        from traider.engine.state.sqlite_store import SQLiteStore

        try:
            store = SQLiteStore.open_readonly(db_path)
        except Exception:  # boot reports it
            return
        try:
            _import_libraries(ModelRegistry(store).records())
        except Exception:  # boot reports it
            log.debug("warm imports failed", exc_info=True)
        finally:
            store.close()

    def _registry_moved(self) -> bool:
        """Read registry events journaled since the last look (cheap: an indexed query)."""
        if self._registry is None:
            return False
        try:
            self._registry.refresh()
        except Exception as exc:  # keep the models we have; say so once
            self._alert_once("registry-refresh", Severity.WARNING, f"registry: {exc}")
            return False
        return bool(self._registry.journal_position != self._registry_seen)

    def _reload(self) -> None:
        """Rebuild the slots from the registry; the ensemble only when the set of models
        in use changed (its learnt weights survive unrelated registry events)."""
        from traider.engine.models.ensemble import HedgeEnsemble
        from traider.engine.models.registry import ModelState
        from traider.engine.models.runner import ModelRunner

        now = self.clock.timestamp_ns()
        live_records = [r for r in self._registry.records() if r.state is ModelState.LIVE]
        slots = judge_records(live_records, self.slots, now, self.config.max_age_days, self.bar_ns)
        self._registry_seen = self._registry.journal_position
        for slot in slots.values():
            if slot.state != "live":
                self._alert_once(
                    f"{slot.member}:{slot.state}",
                    Severity.WARNING,
                    f"model {slot.member} not used: {slot.note}",
                )
        self.slots = slots
        if slots:
            self._seed_history()  # also for expired models: their retrain needs bars
        members = [s.member for s in slots.values() if s.state == "live"]
        # read on every sizing request: kept here rather than rebuilt from the slots
        self._in_use = frozenset(members)
        self._horizon_bars = next(
            (s.horizon_bars for s in slots.values() if s.state == "live"), 1
        )
        current = list(self._ensemble.model_names) if self._ensemble is not None else []
        if members != current:
            if members:
                weights = self._ensemble.weights() if self._ensemble is not None else {}
                ens = HedgeEnsemble(members, self.config.ensemble_eta, self.config.ensemble_floor)
                ens.carry_over({m: w for m, w in weights.items() if m in members})
                by_member = {s.member: s for s in slots.values()}
                models = [by_member[m].model for m in members]
                self._ensemble = ens
                self._runner = ModelRunner(models, ens, self.clock, self.publish)
            else:
                self._ensemble = self._runner = None
            self._forget_outgoing(set(members))
        for slot in slots.values():
            if slot.state == "expired":
                self.retrain.request(slot, slot.note)
        self.version += 1

    def _forget_outgoing(self, members: set[str]) -> None:
        """Signals made by another set of models are not used; outcomes of models that
        left are not learnt from."""
        self._latest.clear()
        for symbol, pending in self._pending.items():
            kept: deque[_Pending] = deque()
            for p in pending:
                probs = {m: v for m, v in p.probs.items() if m in members}
                if probs:
                    kept.append(_Pending(p.due_end_ns, p.close, probs, p.weights))
            self._pending[symbol] = kept
        for member in list(self._recent_rows):
            if member not in members:
                del self._recent_rows[member]

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
        if trade.ts_event > self.clock.timestamp_ns() + FUTURE_TRADE_TOLERANCE_NS:
            # one bad timestamp would otherwise roll the bars days ahead and silence
            # this symbol's models until real time caught up
            self.bad_trades += 1
            self._alert_once(
                f"future-trade:{trade.symbol}",
                Severity.WARNING,
                f"{trade.symbol}: trade stamped in the future ignored by the models",
            )
            return
        self.bars.on_trade(trade.symbol, trade.ts_event, trade.price, trade.size)

    def _sample_books(self) -> None:
        if self.book_features is None:
            return
        for symbol in self.symbols:
            vector = self.book_features(symbol)
            if vector is not None:
                self.micro.sample(symbol, vector)

    def _close_bars(self, now: int) -> dict[str, list[Any]]:
        closed = self.bars.close_until(now)
        for symbol, new in closed.items():
            for bar in new:
                bar.micro = self.micro.take(symbol, bar.start_ns)
        return closed

    def process(self, now_ns: int | None = None) -> int:
        """One tick, synchronously (tests, replay): registry, expiry, bars, predictions;
        returns the number of bars completed."""
        if self._registry_moved():
            self._reload()
        closed = self._begin_tick(self.clock.timestamp_ns() if now_ns is None else now_ns)
        for symbol, new in closed.items():
            if self._resolve_bars(symbol, new):
                inputs = self._feature_inputs(self.bars.frame(symbol))
                self._predict(symbol, inputs, new[-1].start_ns + self.bar_ns, new[-1].close)
        return self._end_tick(closed)

    async def run(self, interval_s: float = 1.0) -> None:
        """The engine's task: `process`, with imports and features off the loop."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self._tick()
            except Exception as exc:  # the models are optional: trading goes on without
                log.exception("live models failed")
                now = self.clock.timestamp_ns()
                if now >= self._loop_alert_after_ns:  # again every 10 min while it lasts
                    self._loop_alert_after_ns = now + 600 * NS
                    self._alert(Severity.WARNING, "models-loop", f"live models failed: {exc}")

    async def _tick(self) -> None:
        if self._registry_moved():
            try:
                await asyncio.to_thread(_import_libraries, self._registry.records())
            except Exception:  # broken library: that model fails to load in `_reload`
                log.warning("importing a live model's library failed", exc_info=True)
            self._reload()
        closed = self._begin_tick(self.clock.timestamp_ns())
        for symbol, new in closed.items():
            runner = self._runner
            if self._resolve_bars(symbol, new):
                inputs = await asyncio.to_thread(self._feature_inputs, self.bars.frame(symbol))
                if runner is self._runner:  # the models did not change while it ran
                    end = new[-1].start_ns + self.bar_ns
                    self._predict(symbol, inputs, end, new[-1].close)
        self._end_tick(closed)

    def _begin_tick(self, now: int) -> dict[str, list[Any]]:
        """Expiry first (before any prediction), then the books' sample and the bars
        that completed."""
        self._expire(now)
        self._sample_books()
        return self._close_bars(now)

    def _resolve_bars(self, symbol: str, new: list[Any]) -> bool:
        """Resolve the outcomes the new bars decide; True when there are models to ask."""
        self._resolve(symbol, new[-1].start_ns + self.bar_ns, [b.close for b in new])
        return self._runner is not None

    def _end_tick(self, closed: dict[str, list[Any]]) -> int:
        n = sum(len(v) for v in closed.values())
        self._housekeeping(n)
        return n

    def stop(self) -> None:
        self.retrain.shutdown()

    # --- the per-bar work ------------------------------------------------------------

    def _live_slots(self) -> list[ModelSlot]:
        return [s for s in self.slots.values() if s.state == "live"]

    def _feature_inputs(self, frame: pl.DataFrame) -> dict[str, np.ndarray | None]:
        """Per model in use (by member id): its feature vector (or window for sequence
        models) from the latest completed bar, None while the features warm up."""
        from traider.engine.features.bars import bar_features, timeframe_label, timeframe_ns

        slots = self._live_slots()
        if not slots or frame.height < 2:
            return {}
        tfs = sorted({t for s in slots for t in s.timeframes}, key=timeframe_ns)
        feats = bar_features(frame, timeframes=tuple(tfs), base=timeframe_label(self.bar_ns))
        out: dict[str, np.ndarray | None] = {}
        for s in slots:
            if not all(c in feats.columns for c in s.feature_names):
                out[s.member] = None
                continue
            rows = feats.select(s.feature_names).tail(s.seq_len).to_numpy().astype(np.float32)
            ok = rows.shape[0] == s.seq_len and bool(np.isfinite(rows).all())
            out[s.member] = (rows[-1] if s.seq_len == 1 else rows) if ok else None
        return out

    def _predict(
        self, symbol: str, inputs: dict[str, np.ndarray | None], bar_end_ns: int, close: float
    ) -> None:
        """Predict from the features of the bar that ended at `bar_end_ns` (closing at
        `close`); the outcome is due `horizon_bars` bars later."""
        runner = self._runner
        if runner is None or not any(v is not None for v in inputs.values()):
            return
        update = runner.run(symbol, inputs)
        self._latest[symbol] = update
        probs = {m: float(p.prob_up) for m, p in runner.last_predictions.items() if p is not None}
        keep = max(500, self.config.psi_min_rows)
        for member, x in inputs.items():
            if x is not None:
                row = x if x.ndim == 1 else x[-1]
                self._recent_rows.setdefault(member, deque(maxlen=keep)).append(row)
        if probs:
            due = bar_end_ns + self._horizon_bars * self.bar_ns
            self._pending[symbol].append(_Pending(due, close, probs, self._ensemble.weights()))
        self.version += 1

    def _resolve(self, symbol: str, end_ns: int, closes: list[float]) -> None:
        """Outcomes of predictions whose horizon ended by `end_ns` (the newest bar's end)."""
        from traider.engine.models.base import Prediction

        pending = self._pending[symbol]
        while pending and pending[0].due_end_ns <= end_ns:
            p = pending.popleft()
            back = (end_ns - p.due_end_ns) // self.bar_ns  # the bar that ended at due
            if back >= len(closes):
                continue  # fell out of this batch (a long pause): not judged
            close = closes[-1 - back]
            outcome = int(close > p.close)
            ret = close / p.close - 1.0
            if self._ensemble is not None:
                members = self._ensemble.model_names
                known = {m: Prediction.from_prob(v, "") for m, v in p.probs.items()
                         if m in members}  # fmt: skip
                self._ensemble.update(known, outcome)
            for member, prob in p.probs.items():
                self.tracker.record(member, prob, outcome, ret, p.weights.get(member, 0.0))
            self.version += 1

    def _housekeeping(self, new_bars: int) -> None:
        if self._registry is None:
            return
        self._bars_since_check += new_bars
        for ev in self.retrain.poll():
            self.publish(ev)
            self.version += 1
        if self._bars_since_check >= self.config.drift_check_every_bars:
            self._bars_since_check = 0
            self._check_models(self.clock.timestamp_ns())

    def _expire(self, now: int) -> None:
        """Before any prediction: a model past its maximum age leaves the ensemble."""
        expired = False
        for slot in self._live_slots():
            if slot.age_days(now) > self.config.max_age_days:
                slot.model = None  # `_reload` judges it again: expired, alert, retrain
                expired = True
        if expired:
            self._reload()

    def _check_models(self, now: int) -> None:
        for slot in self.slots.values():
            if slot.state == "expired":  # asked again: the first ask may have lacked bars
                self.retrain.request(slot, slot.note)
        for slot in self._live_slots():
            try:
                self._check_one(slot, now)
            except Exception as exc:  # one model's check must not skip the others
                log.exception("model check failed for %s", slot.member)
                self._alert_once(f"check:{slot.member}", Severity.WARNING,
                                 f"model {slot.member} check failed: {exc}")  # fmt: skip
        self.version += 1

    def _check_one(self, slot: ModelSlot, now: int) -> None:
        cfg = self.config
        age = slot.age_days(now)
        if cfg.retrain_every_h > 0 and age * 24 > cfg.retrain_every_h:
            self.retrain.request(slot, f"schedule: every {cfg.retrain_every_h:g} h")
        if slot.profile is None:
            return
        rows = self._recent_rows.get(slot.member)
        # PSI over 10 bins needs a few hundred rows: with ~50 an empty bin alone scores
        # ~0.7, so a healthy model would be called drifted
        enough = rows is not None and len(rows) >= cfg.psi_min_rows
        recent = np.vstack(list(rows)) if enough and rows else None
        report = drift_report(
            slot.profile,
            recent,
            self.tracker.metrics(slot.member),
            psi_threshold=cfg.psi_threshold,
            accuracy_drop=cfg.accuracy_drop,
        )
        slot.note = "drift: " + "; ".join(report.reasons) if report.drifted else ""
        if report.drifted:
            self._alert_once(
                f"drift:{slot.member}",
                Severity.WARNING,
                f"model {slot.member} drifted: {'; '.join(report.reasons)}"[:400],
            )
            if cfg.retrain_on_drift:
                self.retrain.request(slot, slot.note)

    # --- reading ---------------------------------------------------------------------

    @property
    def registry(self) -> Any:
        """The model registry (None before boot, or when it could not be read)."""
        return self._registry

    def weights(self) -> dict[str, float]:
        return self._ensemble.weights() if self._ensemble is not None else {}

    def latest(self) -> dict[str, EnsembleUpdated]:
        return dict(self._latest)

    def signal(self, symbol: str, now_ns: int | None = None) -> EnsembleUpdated | None:
        """The latest combined signal while it is within its horizon and was made by
        exactly the models in use now, else None."""
        update = self._latest.get(symbol)
        if update is None or self._runner is None or frozenset(update.models) != self._in_use:
            return None
        now = self.clock.timestamp_ns() if now_ns is None else now_ns
        return update if now < update.ts_event + self._horizon_bars * self.bar_ns else None

    def size_multiplier(self, symbol: str, side: Side) -> float:
        """What the models do to an entry's size: 1.0 without a usable signal (trading
        goes on without models), 0.0 when they say the entry's direction is unlikely
        (P < veto_prob; `vetoes` counts each signal that vetoed a symbol's entries once),
        otherwise 2·P capped at `max_size_multiplier` (P = 0.5 → 1.0)."""
        sig = self.signal(symbol)
        if sig is None:
            return 1.0
        p = sig.prob_up if side is Side.BUY else 1.0 - sig.prob_up
        if p < self.config.veto_prob:
            key = (symbol, sig.ts_event)
            if key not in self._vetoed:  # strategies ask again on every book update
                self._vetoed.add(key)
                if len(self._vetoed) > 10_000:
                    self._vetoed.clear()
                self.vetoes += 1
                self.version += 1  # the screen shows the count
            return 0.0
        return min(self.config.max_size_multiplier, 2.0 * p)

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
        return build_view(self)

    # --- alerts ----------------------------------------------------------------------

    def _alert(self, severity: Severity, key: str, message: str) -> None:
        now = self.clock.timestamp_ns()
        self.publish(Alert(now, now, severity, "models", message[:500], dedup_key=f"models:{key}"))

    def _alert_once(self, key: str, severity: Severity, message: str) -> None:
        if key not in self._alerted:
            self._alerted.add(key)
            self._alert(severity, key, message)


def _import_libraries(records: Any) -> None:
    """Import what the live records need (on a worker thread: xgboost ~1 s, torch more)."""
    from traider.engine.models.live_loader import import_model_library
    from traider.engine.models.registry import ModelState

    for rec in records:
        if rec.state is ModelState.LIVE:
            import_model_library(rec.name)  # names are kinds (`traider train`)
