"""Kill switch state and its persistence.

Engaging is an in-memory flag flip first (every order path checks it), then persisted in
two places: a small flag file under $TRAIDER_HOME (works when the database does not) and
the store. It counts as engaged if either says so: fail closed. Only an explicit reset
(`traider kill --reset`) clears it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

FLAG_FILE_NAME = "KILL_SWITCH"


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""
    source: str = ""
    since_ns: int | None = None
    flatten: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "engaged": self.engaged,
            "reason": self.reason or None,
            "source": self.source or None,
            "since": self.since_ns,
            "flatten": self.flatten,
        }


DISENGAGED = KillSwitchState(engaged=False)


class KillSwitchFlag:
    """The file half of the persistence: atomic writes, readable without the store."""

    def __init__(self, home: Path) -> None:
        self.path = home / FLAG_FILE_NAME

    def read(self) -> KillSwitchState | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
            return KillSwitchState(
                engaged=True,
                reason=str(data.get("reason", "")),
                source=str(data.get("source", "")),
                since_ns=int(data["since_ns"]) if data.get("since_ns") is not None else None,
                flatten=bool(data.get("flatten", False)),
            )
        except (ValueError, KeyError, TypeError, AttributeError):  # e.g. `null` or `[]`
            # a damaged flag file still means someone engaged the switch
            return KillSwitchState(engaged=True, reason="kill-switch flag file unreadable")

    def write(self, state: KillSwitchState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        payload = {
            "reason": state.reason,
            "source": state.source,
            "since_ns": state.since_ns,
            "flatten": state.flatten,
        }
        with open(tmp, "w") as fh:
            fh.write(json.dumps(payload))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def mtime_ns(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
