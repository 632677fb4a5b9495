"""Local control socket: how `traider kill` reaches a running engine at once.

A Unix socket at `$TRAIDER_HOME/control.sock`; one JSON line in, one JSON line out.
Commands: `{"cmd": "kill", "reason": ..., "flatten": bool}`, `{"cmd": "reset"}`,
`{"cmd": "ping"}`. Only the local user can reach it (the socket file is 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlServer:
    def __init__(self, home: Path, handler: Handler) -> None:
        self.path = home / SOCKET_NAME
        self._handler = handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            if ping(self.path.parent):
                raise RuntimeError(
                    f"another engine is already running with TRAIDER_HOME={self.path.parent}; "
                    "stop it or use another TRAIDER_HOME"
                )
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        os.chmod(self.path, 0o600)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
            try:
                request = json.loads(line)
                reply = (
                    self._handler(request)
                    if isinstance(request, dict)
                    else {"ok": False, "error": "request must be a JSON object"}
                )
            except ValueError:
                reply = {"ok": False, "error": "request is not JSON"}
            except Exception as exc:  # reply with the failure instead of dropping the client
                log.exception("control command failed")
                reply = {"ok": False, "error": repr(exc)}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        self.path.unlink(missing_ok=True)


def send(home: Path, request: dict[str, Any], timeout_s: float = 2.0) -> dict[str, Any] | None:
    """Blocking client for the CLI. None when no engine answers."""
    path = home / SOCKET_NAME
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        return reply if isinstance(reply, dict) else None
    except (OSError, ValueError):
        return None


def ping(home: Path) -> bool:
    reply = send(home, {"cmd": "ping"}, timeout_s=1.0)
    return bool(reply and reply.get("ok"))
