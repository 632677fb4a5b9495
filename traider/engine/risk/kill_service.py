"""The kill switch at work: halt at once, cancel everything, optionally flatten, persist.

Halting is a `threading.Event`: the order path reads it before every order, and a small
watcher thread sets it as soon as `traider kill` writes the flag file, even while the
event loop is busy. Cancelling and flattening then run on the loop. Persistence is the
flag file first (no database needed), then the store; either failing raises an alert,
never an exception, because the switch must engage whatever else is broken.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Protocol

from traider.engine.core.clock import Clock
from traider.engine.core.events import Alert, Event, KillSwitchEngaged, KillSwitchReset
from traider.engine.core.types import Severity
from traider.engine.risk.killswitch import DISENGAGED, KillSwitchFlag, KillSwitchState
from traider.engine.state.store import KillSwitchRecord, Store, StoreUnavailable
from traider.engine.view import KillSwitchView

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.1


class _Orders(Protocol):
    def cancel_all(self, reason: str) -> int: ...


class KillSwitchHost(Protocol):
    @property
    def clock(self) -> Clock: ...

    @property
    def store(self) -> Store: ...

    @property
    def orders(self) -> Any: ...

    def flatten(self) -> int: ...

    def publish(self, event: Event) -> None: ...


class KillSwitchService:
    def __init__(self, host: KillSwitchHost, home: Path) -> None:
        self._host = host
        self.flag = KillSwitchFlag(home)
        self.state: KillSwitchState = DISENGAGED
        self._halt = threading.Event()
        self._watcher: threading.Thread | None = None
        self._stop_watch = threading.Event()

    def is_engaged(self) -> bool:
        return self._halt.is_set()

    # --- engage / reset --------------------------------------------------------------------

    def engage(self, reason: str, *, source: str, flatten: bool) -> None:
        self._halt.set()  # first: no order passes risk from here on
        now = self._host.clock.timestamp_ns()
        first = not self.state.engaged
        if first:
            self.state = KillSwitchState(True, reason, source, now, flatten)
            self._persist(self.state)
        cancelled = self._host.orders.cancel_all("kill switch")
        flattened = self._host.flatten() if flatten else 0
        if first:
            self._host.publish(KillSwitchEngaged(now, now, reason, source, flatten))
            self._alert(
                Severity.CRITICAL,
                f"KILL SWITCH ENGAGED by {source}: {reason} "
                f"({cancelled} orders cancelled{', flattening' if flatten else ''})",
            )
        elif flatten:
            self._alert(Severity.CRITICAL, f"kill switch: flattening {flattened} positions")

    def reset(self, *, source: str) -> None:
        self.flag.clear()
        try:
            self._host.store.set_kill_switch(KillSwitchRecord(False, "", source, None, False))
            now = self._host.clock.timestamp_ns()
            self._host.store.append(KillSwitchReset(now, now, source))
        except StoreUnavailable as exc:
            self._alert(Severity.CRITICAL, f"kill switch reset not saved in the store: {exc}")
        was = self.state.engaged
        self.state = DISENGAGED
        self._halt.clear()
        if was:
            now = self._host.clock.timestamp_ns()
            self._host.publish(KillSwitchReset(now, now, source))
            self._alert(Severity.WARNING, f"kill switch reset by {source}")

    def _persist(self, state: KillSwitchState) -> None:
        try:
            self.flag.write(state)
        except OSError as exc:
            self._alert(Severity.CRITICAL, f"kill switch flag file not written: {exc}")
        try:
            record = KillSwitchRecord(
                True, state.reason, state.source, state.since_ns, state.flatten
            )
            self._host.store.set_kill_switch(record)
            ts = state.since_ns or 0
            self._host.store.append(
                KillSwitchEngaged(ts, ts, state.reason, state.source, state.flatten)
            )
        except StoreUnavailable as exc:
            self._alert(Severity.CRITICAL, f"kill switch not saved in the store: {exc}")

    def _alert(self, severity: Severity, message: str) -> None:
        now = self._host.clock.timestamp_ns()
        self._host.publish(Alert(now, now, severity, "kill_switch", message))

    # --- restore and outside requests ------------------------------------------------------

    def restore(self, store: Store) -> None:
        """Engaged if either the flag file or the store says so (fail closed)."""
        from_file = self.flag.read()
        from_store: KillSwitchState | None = None
        try:
            record = store.kill_switch()
            if record is not None and record.engaged:
                from_store = KillSwitchState(
                    True, record.reason, record.source, record.since_ns, record.flatten
                )
        except StoreUnavailable as exc:
            log.error("kill switch state unreadable from the store: %s", exc)
        state = from_file or from_store
        if state is not None:
            self.state = state
            self._halt.set()
            if from_file is None:
                try:
                    self.flag.write(state)
                except OSError:
                    log.exception("could not rewrite the kill-switch flag file")

    def poll(self) -> None:
        """Called on the loop: finish engaging when the flag file appeared."""
        if self.state.engaged or not self.flag.path.exists():  # a stat, not an open
            return
        from_file = self.flag.read()
        if from_file is not None:
            self.engage(
                from_file.reason or "flag file",
                source=from_file.source or "cli",
                flatten=from_file.flatten,
            )

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        if cmd == "ping":
            return {"ok": True}
        if cmd == "kill":
            self.engage(
                str(request.get("reason") or "operator via CLI"),
                source=str(request.get("source") or "cli"),
                flatten=bool(request.get("flatten", False)),
            )
            return {"ok": True, "kill_switch": self.state.to_json()}
        if cmd == "reset":
            self.reset(source=str(request.get("source") or "cli"))
            return {"ok": True, "kill_switch": self.state.to_json()}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def view(self) -> KillSwitchView:
        s = self.state
        engaged = s.engaged or self._halt.is_set()
        return KillSwitchView(engaged, s.reason, s.since_ns, s.source)

    # --- watcher thread --------------------------------------------------------------------

    def start_watcher(self) -> None:
        if self._watcher is not None:
            return
        self._stop_watch.clear()
        self._watcher = threading.Thread(target=self._watch, name="kill-switch-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop_watch.wait(WATCH_INTERVAL_S):
            if not self._halt.is_set() and self.flag.path.exists():
                self._halt.set()

    def stop_watcher(self) -> None:
        self._stop_watch.set()
        if self._watcher is not None:
            self._watcher.join(timeout=1)
            self._watcher = None
