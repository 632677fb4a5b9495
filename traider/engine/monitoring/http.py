"""The monitoring endpoint: `/healthz`, `/readyz` and `/metrics` on a daemon thread.

It runs on `http.server.ThreadingHTTPServer` in its own thread, never on the engine's event
loop, so a scrape cannot delay trading and a stuck loop cannot hide from `/healthz`. The
callables it is given run on that thread: they must only read values the loop hands over
(the latest `HealthReport`, a `MetricsSnapshot`, a heartbeat timestamp).

* `/healthz`: 200 while `live()` is true (the process is up and its loop responsive), 503
  otherwise. Liveness: restart me when it fails.
* `/readyz`: 200 while the latest report is not CRIT, else 503; the body is the report as
  JSON either way. Readiness: do not rely on me while it fails.
* `/metrics`: the engine's registry in Prometheus text format.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from traider.engine.monitoring.health import HealthReport
from traider.engine.monitoring.metrics import EngineMetrics

log = logging.getLogger(__name__)

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


class LoopHeartbeat:
    """Liveness of an event loop: `run()` beats on the loop; calling the heartbeat (from
    any thread) says whether the last beat is recent. Pass it as `live=`."""

    def __init__(self, max_silence_s: float = 5.0, interval_s: float = 0.5) -> None:
        self.max_silence_s = max_silence_s
        self.interval_s = interval_s
        self._last: float | None = None

    def beat(self) -> None:
        self._last = time.monotonic()

    async def run(self) -> None:
        while True:
            self.beat()
            await asyncio.sleep(self.interval_s)

    def __call__(self) -> bool:
        last = self._last
        return last is not None and time.monotonic() - last <= self.max_silence_s


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "traider-monitoring"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            if path == "/healthz":
                self._healthz()
            elif path == "/readyz":
                self._readyz()
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, self.server.owner.metrics.exposition())
            else:
                self._send(404, TEXT, b"not found: try /healthz, /readyz or /metrics\n")
        except Exception as exc:  # a failing callable is a 500, never a dead server
            log.exception("monitoring request %s failed", path)
            self._send(500, TEXT, f"error: {exc!r}\n".encode())

    def _healthz(self) -> None:
        if self.server.owner.live():
            self._send(200, TEXT, b"ok\n")
        else:
            self._send(503, TEXT, b"not live: event loop unresponsive\n")

    def _readyz(self) -> None:
        try:
            report = self.server.owner.health()
        except Exception as exc:
            body = json.dumps({"level": "CRIT", "checks": [], "error": repr(exc)})
            self._send(503, JSON, body.encode())
            return
        self._send(200 if report.ready else 503, JSON, report.to_json().encode())

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("monitoring %s - " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: MonitoringServer


class MonitoringServer:
    """Serves health and metrics on `host:port` (port 0 picks a free one: see `.port`)."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Callable[[], HealthReport],
        metrics: EngineMetrics,
        live: Callable[[], bool],
    ) -> None:
        self.host = host
        self._requested_port = port
        self.health = health
        self.metrics = metrics
        self.live = live
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Bind and serve on a daemon thread; raises OSError when the port is taken."""
        if self._server is not None:
            return
        server = _Server((self.host, self._requested_port), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"monitoring-http:{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("monitoring on %s (/healthz /readyz /metrics)", self.url)

    def stop(self) -> None:
        """Stop serving and close the socket. Idempotent; blocks up to a second."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=1.0)
        self._server = None
        self._thread = None
