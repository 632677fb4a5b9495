"""The model registry: which trained models exist and which one of each name trades.

A model is registered as a *candidate*; an operator *approves* it, then *promotes* it to
*live* (the previous live model of that name goes back to *approved*); *rollback* makes the
previous live version live again; *retire* takes a model out for good. The allowed moves
are the table `TRANSITIONS` (live → approved is a model replaced by a promote or rollback;
retired is final).

Persistence is append-only: every change is a `ModelRegistered` or `ModelStateChanged`
event, and the registry's state is the fold of them, so the history of who moved what when
is never lost. Until those events live in `traider.engine.core.events` (and so in the
journal codec) they are stored as JSON in the store's meta table: "models:log" holds the
count and "models:log:{n}" the n-th event; "model:{id}" is a derived snapshot of each record
for other readers. Every change reloads the log inside a store transaction first, so two
processes (the engine and `traider models promote`) cannot make conflicting moves.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from traider.engine.core.events import ModelRegistered, ModelStateChanged
from traider.engine.state.store import Store

__all__ = [
    "AUTOMATED_ACTORS",
    "TRANSITIONS",
    "IllegalTransition",
    "ModelRecord",
    "ModelRegistered",
    "ModelRegistry",
    "ModelState",
    "ModelStateChanged",
    "RegistryError",
    "Transition",
    "UnknownModel",
]


class ModelState(StrEnum):
    CANDIDATE = "candidate"
    APPROVED = "approved"
    LIVE = "live"
    RETIRED = "retired"


TRANSITIONS: Mapping[ModelState, frozenset[ModelState]] = {
    ModelState.CANDIDATE: frozenset({ModelState.APPROVED, ModelState.RETIRED}),
    ModelState.APPROVED: frozenset({ModelState.LIVE, ModelState.RETIRED}),
    ModelState.LIVE: frozenset({ModelState.APPROVED, ModelState.RETIRED}),
    ModelState.RETIRED: frozenset(),
}

# `by` names of processes: they may register and retire, never approve/promote/roll back
AUTOMATED_ACTORS = frozenset({"system", "engine", "trainer", "scheduler", "auto", "cron"})

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LOG_COUNT = "models:log"


class RegistryError(ValueError):
    """A registry request that cannot be done; the message is one line naming the fix."""


class UnknownModel(RegistryError):
    """No model with that id or name."""


class IllegalTransition(RegistryError):
    """The move is not in `TRANSITIONS` (or not allowed by the operation's rule)."""


# --- events (to move into traider.engine.core.events as `Event` subclasses) ---------------


RegistryEvent = ModelRegistered | ModelStateChanged
_EVENT_TYPES = ("ModelRegistered", "ModelStateChanged")


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    state: ModelState
    by: str
    at_ns: int
    action: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ModelRecord:
    model_id: str
    name: str
    version: int
    params_json: str
    data_start_ns: int
    data_end_ns: int
    data_hash: str
    metrics_json: str
    artifact_path: str
    state: ModelState
    history: tuple[Transition, ...]

    @property
    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.params_json)
        return out

    @property
    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.metrics_json)
        return out

    @property
    def registered_at_ns(self) -> int:
        return self.history[0].at_ns

    def to_dict(self) -> dict[str, Any]:
        """Stable keys for `--json` and the meta snapshot."""
        return {
            "model_id": self.model_id,
            "name": self.name,
            "version": self.version,
            "state": self.state.value,
            "params": self.params,
            "data_start_ns": self.data_start_ns,
            "data_end_ns": self.data_end_ns,
            "data_hash": self.data_hash,
            "metrics": self.metrics,
            "artifact_path": self.artifact_path,
            "history": [{**asdict(t), "state": t.state.value} for t in self.history],
        }


_COPIED = frozenset(f.name for f in fields(ModelRegistered)) - {"ts_event", "ts_init", "by"}


def _check_actor(by: str, action: str, operator: bool) -> str:
    who = by.strip() if isinstance(by, str) else ""
    if not who:
        raise RegistryError(f"{action} needs --by NAME: the operator doing it")
    if operator and who.lower() in AUTOMATED_ACTORS:
        raise RegistryError(
            f"{action} needs a human operator, not {who!r}; pass your own name with --by"
        )
    return who


class ModelRegistry:
    """Registered models and their states, persisted in `store` (see module docstring)."""

    def __init__(self, store: Store, clock: Callable[[], int] = time.time_ns) -> None:
        self.store = store
        self.clock = clock
        self._reset()
        self.refresh()

    def _reset(self) -> None:
        self._records: dict[str, ModelRecord] = {}
        self._live_stack: dict[str, list[str]] = {}  # name -> ids in order made live
        self._seen = 0  # journal id of the last registry event applied
        self._scan_from = 0  # every journal id at or below is known to hold no news
        self._wrote = False

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """A store transaction on the latest state; if it fails after this object applied
        its own events, they were rolled back, so the in-memory state is reloaded."""
        self._wrote = False
        try:
            with self.store.transaction():
                self.refresh()
                yield
        except BaseException:  # allowed: resynchronise on any exit, then re-raise
            if self._wrote:
                self._reset()
                self.refresh()
            raise

    # --- the event log (the seam to switch to store.append / store.journal) -------------

    def refresh(self) -> None:
        """Apply registry events journaled since the last look (by this or another
        process), in journal order."""
        # The read starts after the last journal id already scanned, not the last registry
        # event: otherwise every refresh would re-scan all the order events journaled
        # since (the engine refreshes once a second). Ids commit in order (one writer at a
        # time), so everything at or below `floor` is visible to the query that follows.
        floor = self.store.last_journal_id()
        start = max(self._seen, self._scan_from)
        for journal_id, ev in self.store.journal(after_id=start, types=_EVENT_TYPES):
            if isinstance(ev, ModelRegistered | ModelStateChanged):
                self._apply(ev)
            self._seen = journal_id
        self._scan_from = max(start, floor, self._seen)

    def _write(self, events: Iterable[RegistryEvent]) -> None:
        """Inside the caller's transaction: journal the events and apply them."""
        for ev in events:
            self._seen = self.store.append(ev)
            self._wrote = True
            self._apply(ev)

    def _apply(self, ev: RegistryEvent) -> None:
        if isinstance(ev, ModelRegistered):
            same = {f.name: getattr(ev, f.name) for f in fields(ModelRecord) if f.name in _COPIED}
            first = Transition(ModelState.CANDIDATE, ev.by, ev.ts_event, "register")
            self._records[ev.model_id] = ModelRecord(
                **same, state=ModelState.CANDIDATE, history=(first,)
            )
            return
        to, rec = ModelState(ev.to_state), self._records[ev.model_id]
        step = Transition(to, ev.by, ev.ts_event, ev.action, ev.reason)
        self._records[ev.model_id] = replace(rec, state=to, history=(*rec.history, step))
        stack = self._live_stack.setdefault(ev.name, [])
        if to is ModelState.LIVE and ev.action == "rollback" and ev.model_id in stack:
            del stack[stack.index(ev.model_id) + 1 :]
        elif to is ModelState.LIVE:
            if ev.model_id in stack:
                stack.remove(ev.model_id)
            stack.append(ev.model_id)
        elif to is ModelState.RETIRED and ev.model_id in stack:
            stack.remove(ev.model_id)

    # --- reading ------------------------------------------------------------------------

    @property
    def journal_position(self) -> int:
        """The journal id of the last registry event applied: changes when anything did."""
        return self._seen

    def get(self, model_id: str) -> ModelRecord:
        try:
            return self._records[model_id]
        except KeyError:
            known = ", ".join(sorted(self._records)) or "none registered"
            raise UnknownModel(f"no model {model_id!r} (known: {known})") from None

    def records(self, name: str | None = None) -> list[ModelRecord]:
        recs = [r for r in self._records.values() if name is None or r.name == name]
        return sorted(recs, key=lambda r: (r.name, r.version))

    def live(self, name: str) -> ModelRecord | None:
        return next((r for r in self.records(name) if r.state is ModelState.LIVE), None)

    # --- changes ------------------------------------------------------------------------

    def register(
        self,
        name: str,
        *,
        params: Mapping[str, Any],
        data_start_ns: int,
        data_end_ns: int,
        data_hash: str,
        metrics: Mapping[str, Any],
        artifact_path: str,
        by: str = "trainer",
    ) -> ModelRecord:
        """Add a candidate; its id is "{name}-{version}", versions counting from 1."""
        if not _NAME_RE.match(name):
            raise RegistryError(
                f"model name {name!r}: use letters, digits, '_', '.', '-' (e.g. xgb)"
            )
        if data_end_ns < data_start_ns:
            raise RegistryError("data window ends before it starts")
        who = _check_actor(by, "register", operator=False)
        params_json = json.dumps(dict(params), sort_keys=True)
        data = (data_start_ns, data_end_ns, data_hash, json.dumps(dict(metrics), sort_keys=True))
        with self._tx():
            version = 1 + max((r.version for r in self.records(name)), default=0)
            now = self.clock()
            ev = ModelRegistered(
                now, now, f"{name}-{version}", name, version, params_json, *data, artifact_path, who
            )
            self._write([ev])
        return self._records[ev.model_id]

    def _change(
        self, rec: ModelRecord, to: ModelState, action: str, by: str, reason: str = ""
    ) -> ModelStateChanged:
        if to not in TRANSITIONS[rec.state]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[rec.state])) or "nothing"
            raise IllegalTransition(
                f"{rec.model_id} is {rec.state.value}: cannot {action} it "
                f"({rec.state.value} → {to.value}; allowed from {rec.state.value}: {allowed})"
            )
        now = self.clock()
        return ModelStateChanged(
            now, now, rec.model_id, rec.name, rec.state.value, to.value, action, by, reason
        )

    def approve(self, model_id: str, by: str) -> ModelRecord:
        """An operator approves a candidate for promotion."""
        who = _check_actor(by, "approve", operator=True)
        with self._tx():
            rec = self.get(model_id)
            if rec.state is not ModelState.CANDIDATE:
                raise IllegalTransition(
                    f"{model_id} is {rec.state.value}: only a candidate can be approved"
                )
            self._write([self._change(rec, ModelState.APPROVED, "approve", who)])
        return self.get(model_id)

    def promote(self, model_id: str, by: str) -> ModelRecord:
        """Make an approved model live; the live model of the same name goes back to
        approved (recorded as a "demote")."""
        who = _check_actor(by, "promote", operator=True)
        with self._tx():
            rec = self.get(model_id)
            events = []
            current = self.live(rec.name)
            if rec.state is ModelState.APPROVED and current is not None:
                why = f"replaced by {model_id}"
                events.append(self._change(current, ModelState.APPROVED, "demote", who, why))
            reason = f"replaces {current.model_id}" if current is not None else ""
            events.append(self._change(rec, ModelState.LIVE, "promote", who, reason))
            self._write(events)
        return self.get(model_id)

    def rollback(self, name: str, by: str) -> ModelRecord:
        """Make the version that was live before the current one live again; the current
        one goes back to approved. Repeated rollbacks walk further back."""
        who = _check_actor(by, "rollback", operator=True)
        with self._tx():
            if not self.records(name):
                raise UnknownModel(f"no model named {name!r}")
            current = self.live(name)
            stack = self._live_stack.get(name, [])
            earlier = [m for m in stack if current is None or m != current.model_id]
            approved = [self._records[m] for m in earlier]
            approved = [r for r in approved if r.state is ModelState.APPROVED]
            target = approved[-1] if approved else None
            if target is None:
                raise IllegalTransition(
                    f"{name}: no earlier live version to roll back to "
                    "(it was never replaced, or the earlier ones are retired)"
                )
            events = []
            if current is not None:
                why = f"rolled back to {target.model_id}"
                events.append(self._change(current, ModelState.APPROVED, "rollback", who, why))
            why = f"rollback from {current.model_id if current is not None else 'none live'}"
            events.append(self._change(target, ModelState.LIVE, "rollback", who, why))
            self._write(events)
        return self.get(target.model_id)

    def retire(self, model_id: str, by: str, reason: str = "") -> ModelRecord:
        """Take a model out for good (from any state but retired)."""
        who = _check_actor(by, "retire", operator=False)
        with self._tx():
            rec = self.get(model_id)
            self._write([self._change(rec, ModelState.RETIRED, "retire", who, reason)])
        return self.get(model_id)
