"""A loopback HTTPS receiver standing in for Slack and PagerDuty, and service factories.

The receiver (threading http.server on 127.0.0.1, port 0, TLS with a throwaway self-signed
certificate: the PagerDuty client refuses http://) records every request and answers like
the real services. `fail_next(n, mode)` makes the next n requests answer 429 (with
Retry-After), 500, 400, a Slack API error, or stall past the client timeout.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from traider.engine.alerts.config import AlertsConfig
from traider.engine.alerts.service import AlertService
from traider.engine.core.clock import SimClock

WEBHOOK_SECRET = "T0SECRET/B0SECRET/webhooksecretXYZ123"
BOT_TOKEN = "xoxb-test-secret-token-123456"
ROUTING_KEY = "R0UTINGKEYSECRET0000000000000042"
CHANNEL_ID = "C0TEST1234"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    form: dict[str, str]
    status: int
    t_ns: int  # time.perf_counter_ns() at arrival


@dataclass
class Receiver:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    faults: list[tuple[str, str]] = field(default_factory=list)  # (mode, path prefix)
    stall_s: float = 2.0
    retry_after: str = "7"
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def fail_next(self, n: int, mode: str, path_prefix: str = "") -> None:
        """mode: "429", "500", "400", "stall", or "api:<slack error>" (200 ok:false)."""
        with self.lock:
            self.faults.extend([(mode, path_prefix)] * n)

    def take_fault(self, path: str) -> str:
        with self.lock:
            for i, (mode, prefix) in enumerate(self.faults):
                if path.startswith(prefix):
                    del self.faults[i]
                    return mode
        return ""

    def matching(self, prefix: str, status: int | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)
                    and (status is None or r.status == status)]

    def pd(self, ok_only: bool = True) -> list[dict[str, Any]]:
        return [r.json for r in self.matching("/v2/enqueue", 202 if ok_only else None)]

    def slack_posts(self) -> list[dict[str, Any]]:
        return [r.json for r in self.matching("/api/chat.postMessage", 200)
                if r.json and r.json.get("ok", True) is not False]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        with self.arrived:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(min(left, 0.02))  # also polls non-request state
        return True


def _make_handler(rec: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # one answer, no delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            ctype = "application/json" if not isinstance(body, bytes) else "text/plain"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            t_ns = time.perf_counter_ns()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urllib.parse.urlsplit(self.path).path
            parsed: Any = None
            form: dict[str, str] = {}
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                if b"=" in body and not path.startswith("/upload"):
                    form = dict(urllib.parse.parse_qsl(body.decode(errors="replace")))
            mode = rec.take_fault(path)
            status, answer, extra = self._route(path, parsed, form, mode)
            item = Recorded("POST", path, {k.lower(): v for k, v in self.headers.items()},
                            body, parsed, form, status if mode != "stall" else -1, t_ns)
            with rec.lock:
                rec.requests.append(item)
            with rec.arrived:
                rec.arrived.notify_all()
            if mode == "stall":
                rec.closing.wait(rec.stall_s)
            with contextlib.suppress(OSError):  # the client may have given up (stall)
                self._answer(status, answer, extra)

        def _route(self, path: str, parsed: Any, form: dict[str, str],
                   mode: str) -> tuple[int, Any, dict[str, str]]:
            slack_api = path.startswith("/api/")
            if mode == "429":
                body = {"ok": False, "error": "ratelimited"} if slack_api else \
                    {"status": "throttle", "message": "Requests are arriving too quickly"}
                return 429, body, {"Retry-After": rec.retry_after}
            if mode == "500":
                return 500, {"ok": False, "error": "internal_error", "status": "error"}, {}
            if mode == "400":
                if path.startswith("/hooks/"):
                    return 400, b"invalid_payload", {}
                return 400, {"status": "invalid event", "message": "Event object is invalid",
                             "errors": ["'payload' is missing or not an object"]}, {}
            if mode.startswith("api:"):
                return 200, {"ok": False, "error": mode[4:]}, {}
            if path == "/v2/enqueue":
                key = (parsed or {}).get("dedup_key") or "generated-key"
                return 202, {"status": "success", "message": "Event processed",
                             "dedup_key": key}, {}
            if path.startswith("/hooks/"):
                return 200, b"ok", {}
            if path == "/api/chat.postMessage":
                return 200, {"ok": True, "channel": CHANNEL_ID, "ts": "1700000000.000100",
                             "message": {"text": (parsed or {}).get("text", "")}}, {}
            if path == "/api/files.getUploadURLExternal":
                return 200, {"ok": True, "upload_url": f"{rec.url}/upload/v1/F0FILE1",
                             "file_id": "F0FILE1"}, {}
            if path.startswith("/upload/"):
                return 200, b"OK - 1234", {}
            if path == "/api/files.completeUploadExternal":
                return 200, {"ok": True, "files": [{"id": "F0FILE1", "title": "chart"}]}, {}
            if path == "/api/conversations.list":
                return 200, {"ok": True, "channels": [{"id": CHANNEL_ID,
                                                       "name": "trading-alerts"}],
                             "response_metadata": {"next_cursor": ""}}, {}
            return 404, {"ok": False, "error": "unknown_method"}, {}

    return Handler


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the receiver's throwaway certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def receiver(tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(rec))
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    rec.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield rec
    rec.closing.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def loopback_config(rec: Receiver, cert: Path, **overrides: Any) -> AlertsConfig:
    base = AlertsConfig(slack_base_url=f"{rec.url}/api/", pagerduty_base_url=rec.url,
                        ca_bundle_file=str(cert), timeout_s=0.5)
    return replace(base, **overrides)


def secrets_env(rec: Receiver, *, webhook: bool = True, bot: bool = True,
                pagerduty: bool = True) -> dict[str, str]:
    env: dict[str, str] = {}
    if webhook:
        env["TRAIDER_SLACK_WEBHOOK_URL"] = f"{rec.url}/hooks/{WEBHOOK_SECRET}"
    if bot:
        env["TRAIDER_SLACK_BOT_TOKEN"] = BOT_TOKEN
    if pagerduty:
        env["TRAIDER_PAGERDUTY_ROUTING_KEY"] = ROUTING_KEY
    return env


ServiceFactory = Callable[..., AlertService]


@pytest.fixture
def make_service(receiver: Receiver, tls_cert: tuple[Path, Path], tmp_path: Path,
                 sim_clock: SimClock) -> Iterator[ServiceFactory]:
    made: list[AlertService] = []

    def factory(env: dict[str, str] | None = None, home: Path | None = None,
                clock: Any = None, **overrides: Any) -> AlertService:
        import random

        svc = AlertService(loopback_config(receiver, tls_cert[0], **overrides),
                           home or tmp_path / "home", clock or sim_clock,
                           secrets_env(receiver) if env is None else env,
                           rng=random.Random(1))
        made.append(svc)
        return svc

    yield factory
    for svc in made:
        svc.close()
