"""`traider kill`: reach the engine by every path that works, fail closed.

Order of work: the flag file (needs only the filesystem), then the store (may be down),
then the running engine over the control socket (may not be running). The engine also
watches the flag file, so it halts even if the socket cannot be reached.
"""

from __future__ import annotations

import time
from typing import Any

from traider.config import Config


def engage(cfg: Config, *, reason: str, flatten: bool) -> dict[str, Any]:
    from traider.engine.control import send
    from traider.engine.risk.killswitch import KillSwitchFlag, KillSwitchState

    now = time.time_ns()  # allowed: the CLI process has no engine clock
    state = KillSwitchState(True, reason, "cli", now, flatten)
    notes: list[str] = []
    flag_ok = True
    try:
        KillSwitchFlag(cfg.home).write(state)
    except OSError as exc:
        flag_ok = False
        notes.append(f"flag file not written ({exc})")
    store_ok = _write_store(cfg, state, notes)
    reply = send(cfg.home, {"cmd": "kill", "reason": reason, "flatten": flatten, "source": "cli"})
    engine_reached = bool(reply and reply.get("ok"))
    ok = flag_ok or store_ok or engine_reached
    if engine_reached:
        message = "kill switch ENGAGED: running engine halted, open orders cancelled"
        if flatten:
            message += ", positions flattening"
    elif ok:
        message = "kill switch ENGAGED (no running engine answered; it will start halted)"
    else:
        message = "kill switch could NOT be persisted or delivered: " + "; ".join(notes)
    if notes and ok:
        message += " [" + "; ".join(notes) + "]"
    return {
        "ok": ok,
        "engaged": ok,
        "engine_reached": engine_reached,
        "flag_file": flag_ok,
        "store": store_ok,
        "message": message,
    }


def release(cfg: Config) -> dict[str, Any]:
    from traider.engine.control import send
    from traider.engine.risk.killswitch import KillSwitchFlag, KillSwitchState

    reply = send(cfg.home, {"cmd": "reset", "source": "cli"})
    engine_reached = bool(reply and reply.get("ok"))
    notes: list[str] = []
    try:
        KillSwitchFlag(cfg.home).clear()
        flag_ok = True
    except OSError as exc:
        flag_ok = False
        notes.append(f"flag file not removed ({exc})")
    store_ok = _write_store(cfg, KillSwitchState(False, "", "cli"), notes)
    ok = flag_ok and (store_ok or not cfg.sqlite_path.exists())
    message = "kill switch reset" + (" (running engine resumed)" if engine_reached else "")
    if not ok:
        message = "kill switch NOT fully reset: " + "; ".join(notes)
    return {
        "ok": ok,
        "engaged": not ok,
        "engine_reached": engine_reached,
        "flag_file": flag_ok,
        "store": store_ok,
        "message": message,
    }


def _write_store(cfg: Config, state: Any, notes: list[str]) -> bool:
    from traider.engine.core.events import KillSwitchEngaged, KillSwitchReset
    from traider.engine.state.sqlite_store import SQLiteStore
    from traider.engine.state.store import KillSwitchRecord, StoreUnavailable

    try:
        store = SQLiteStore(cfg.sqlite_path)
    except StoreUnavailable as exc:
        notes.append(f"store not updated ({exc})")
        return False
    try:
        with store.transaction():
            store.set_kill_switch(
                KillSwitchRecord(
                    state.engaged, state.reason, state.source, state.since_ns, state.flatten
                )
            )
            ts = state.since_ns or time.time_ns()  # allowed: CLI process
            event = (
                KillSwitchEngaged(ts, ts, state.reason, "cli", state.flatten)
                if state.engaged
                else KillSwitchReset(ts, ts, "cli")
            )
            store.append(event)
        return True
    except StoreUnavailable as exc:
        notes.append(f"store not updated ({exc})")
        return False
    finally:
        store.close()
