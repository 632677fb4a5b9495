"""Retraining requested by the live models (expiry, drift, schedule), run in the pool.

`RetrainRunner.request(slot, reason)` turns a live model into a job for the process pool
(`retrain.RetrainManager`, started on first use): the same model kind, feature timeframes
and horizon, on the bars the engine has (backfilled history plus live bars) of the symbol
it was trained on (or the first symbol). A request is ignored while a job for that model
runs, and repeats at most once per `retrain_every_h` (once a day when that is 0), so a
drifting model is not retrained on every check. With fewer than `min_retrain_bars` bars
the request waits (it is asked again at the next check).

`poll()` forwards the pool's `RetrainProgress` events and, when a job ends well,
registers its result as a *candidate* (by "scheduler": automation may register, only an
operator approves) and publishes `RetrainFinished` carrying the new model id, plus an
alert telling the operator what to do next.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traider.engine.core.events import Alert, Event, RetrainFinished, RetrainProgress
from traider.engine.core.types import Severity
from traider.engine.view import RetrainLine

if TYPE_CHECKING:
    import polars as pl

    from traider.engine.models.live import LiveModels
    from traider.engine.models.live_loader import ModelSlot

__all__ = ["RetrainRunner"]

log = logging.getLogger(__name__)

NS_PER_HOUR = 3_600 * 10**9
RETRY_FAILED_AFTER_NS = NS_PER_HOUR


class RetrainRunner:
    def __init__(self, owner: LiveModels, home: Path) -> None:
        self.owner = owner
        self.home = home
        self._manager: Any = None
        self._by_model: dict[str, str] = {}  # model name -> running job id
        self._last_request_ns: dict[str, int] = {}
        self._lines: OrderedDict[str, RetrainLine] = OrderedDict()

    def _pool(self) -> Any:
        if self._manager is None:
            from traider.engine.models.retrain import RetrainManager

            self._manager = RetrainManager(
                self.home, self.owner.config.retrain_workers, self.owner.clock.timestamp_ns
            )
        return self._manager

    def request(self, slot: ModelSlot, reason: str) -> str | None:
        """Submit a retrain of `slot`'s model; returns the job id, or None when it is
        already running, was requested too recently, or there are too few bars. Never
        raises: a registry reload or a drift check must go on regardless."""
        try:
            return self._request(slot, reason)
        except Exception:
            log.exception("retrain request for %s failed", slot.member)
            return None

    def _request(self, slot: ModelSlot, reason: str) -> str | None:
        cfg = self.owner.config
        name = slot.name  # one job per registry name
        now = self.owner.clock.timestamp_ns()
        if name in self._by_model or not slot.timeframes:
            return None
        every_h = cfg.retrain_every_h if cfg.retrain_every_h > 0 else 24.0
        last = self._last_request_ns.get(name)
        if last is not None and now - last < every_h * NS_PER_HOUR:
            return None
        symbol = str(slot.record.params.get("features", {}).get("symbol", ""))
        if symbol not in self.owner.symbols:
            symbol = self.owner.symbols[0]
        if self.owner.bars.count(symbol) < cfg.min_retrain_bars:
            return None
        from traider.engine.models.training import TrainSpec

        spec = TrainSpec(name, slot.timeframes, slot.horizon_bars)  # raises for a custom name
        job_id = str(self._pool().submit(spec, self._training_frame(slot, symbol), reason))
        self._by_model[name] = job_id
        self._last_request_ns[name] = now
        self._lines[job_id] = RetrainLine(job_id, name, "queued", 0.0, reason, reason, False, None)
        self._trim()
        return job_id

    def _training_frame(self, slot: ModelSlot, symbol: str) -> pl.DataFrame:
        """The bars to retrain on, with the inputs the model was trained with: the
        order-book `ms_` columns exist only on live bars (NaN on backfilled history), so
        for a model that never used them they are dropped, or training would discard
        every backfilled row and quietly add features the approved model never had."""
        frame = self.owner.bars.frame(symbol)
        used = slot.feature_names or (slot.profile.features if slot.profile else ())
        if any(f.startswith("ms_") for f in used):
            return frame
        return frame.drop([c for c in frame.columns if c.startswith("ms_")])

    def poll(self) -> list[Event]:
        if self._manager is None:
            return []
        out: list[Event] = []
        for ev in self._manager.poll():
            line = self._lines.get(ev.job_id)
            reason = line.reason if line is not None else ""
            if isinstance(ev, RetrainProgress):
                self._lines[ev.job_id] = RetrainLine(
                    ev.job_id, ev.model, ev.stage, ev.fraction, ev.message, reason, False, None
                )
                out.append(ev)
            elif isinstance(ev, RetrainFinished):
                out.extend(self._finished(ev, reason))
        return out

    def _finished(self, ev: RetrainFinished, reason: str) -> list[Event]:
        self._by_model.pop(ev.model, None)
        now = self.owner.clock.timestamp_ns()
        if not ev.ok:  # a failed job may be asked for again in an hour, not a week
            cfg = self.owner.config
            every_ns = (cfg.retrain_every_h if cfg.retrain_every_h > 0 else 24.0) * NS_PER_HOUR
            self._last_request_ns[ev.model] = int(now - every_ns + RETRY_FAILED_AFTER_NS)
        message, model_id, ok = ev.message, "", ev.ok
        if ok:
            try:
                from traider.engine.models.training import register_candidate

                registry = self.owner.registry
                record = register_candidate(registry, self._manager.result(ev.job_id), "scheduler")
                model_id = record.model_id
                message = (
                    f"{model_id} is a candidate: review its report, then "
                    f"`traider models approve {model_id} --by NAME` and `promote`"
                )
            except Exception as exc:  # trained but not registered: nothing trades on it
                ok, message = False, f"trained but not registered: {exc}"
        self._lines[ev.job_id] = RetrainLine(
            ev.job_id, ev.model, "done" if ok else "failed", 1.0, message, reason, True, ok
        )
        severity = Severity.INFO if ok else Severity.WARNING
        alert = Alert(now, now, severity, "models", f"retrain {ev.model}: {message}"[:500],
                      dedup_key=f"models:retrain:{ev.job_id}")  # fmt: skip
        return [replace(ev, ok=ok, model_id=model_id, message=message, reason=reason), alert]

    def lines(self) -> tuple[RetrainLine, ...]:
        return tuple(self._lines.values())

    def _trim(self) -> None:
        while len(self._lines) > 10:
            self._lines.popitem(last=False)

    def shutdown(self) -> None:
        if self._manager is not None:
            self._manager.shutdown(wait=False)
            self._manager = None
