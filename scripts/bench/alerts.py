"""Alert latency: `AlertService.submit()` of a CRITICAL alert to the PagerDuty request
arriving at a loopback HTTPS receiver, with the delivery worker thread running.

N alerts (distinct incidents), spaced --gap-ms apart; p50/p99/max. Baseline in the same
run, same receiver: a bare `pagerduty.EventsApiV2Client.trigger` (call to request arrival,
and the full round trip). Also the cost of `submit()` on the calling thread (what the
event loop pays). Goal: p99 < 1 s. One JSON line.

    .venv/bin/python scripts/bench/alerts.py [--n 200] [--gap-ms 20]
"""

from __future__ import annotations

import argparse
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pagerduty

from traider.engine.alerts.config import AlertsConfig
from traider.engine.alerts.service import AlertService
from traider.engine.core.clock import LiveClock
from traider.engine.core.events import Alert
from traider.engine.core.types import Severity

ROUTING_KEY = "BENCHROUTINGKEY00000000000000000"


class Arrivals:
    def __init__(self) -> None:
        self.times: dict[str, int] = {}
        self.cond = threading.Condition()

    def wait(self, key: str, timeout_s: float) -> int | None:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while key not in self.times:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.times[key]


def serve(arrivals: Arrivals, cert: Path, key: Path) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # one answer, no delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            t = time.perf_counter_ns()
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            dedup = body.get("dedup_key", "")
            with arrivals.cond:
                arrivals.times.setdefault(dedup, t)
                arrivals.cond.notify_all()
            raw = json.dumps({"status": "success", "message": "Event processed",
                              "dedup_key": dedup}).encode()
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}"


def summary_ms(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return {"p50": round(statistics.median(ms), 3), "p99": round(p99, 3),
            "max": round(ms[-1], 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--gap-ms", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        cert, key = d / "cert.pem", d / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                       capture_output=True)
        arrivals = Arrivals()
        server, url = serve(arrivals, cert, key)

        # baseline: the bare client, same receiver, same TLS
        client = pagerduty.EventsApiV2Client(
            ROUTING_KEY, base_url=url, verify=ssl.create_default_context(cafile=str(cert)))
        base_arrival: list[int] = []
        base_rtt: list[int] = []
        for i in range(args.n):
            dedup = f"base-{i}"
            t0 = time.perf_counter_ns()
            client.trigger(f"bench {i}", "bench", dedup_key=dedup)
            base_rtt.append(time.perf_counter_ns() - t0)
            base_arrival.append(arrivals.times[dedup] - t0)
            time.sleep(args.gap_ms / 1000)
        client.close()

        cfg = AlertsConfig(pagerduty_base_url=url, ca_bundle_file=str(cert),
                           critical_channels=("pagerduty",), warning_channels=(),
                           max_per_minute=10_000)
        svc = AlertService(cfg, d / "home", LiveClock(),
                           {"TRAIDER_PAGERDUTY_ROUTING_KEY": ROUTING_KEY})
        svc.start()
        lat: list[int] = []
        submit_cost: list[int] = []
        missing = 0
        try:
            for i in range(args.n):
                dedup = f"alert-{i}"
                now = time.time_ns()
                alert = Alert(now, now, Severity.CRITICAL, "bench", f"bench alert {i}", {},
                              dedup_key=dedup)
                t0 = time.perf_counter_ns()
                svc.submit(alert)
                submit_cost.append(time.perf_counter_ns() - t0)
                arrived = arrivals.wait(dedup, timeout_s=30.0)
                if arrived is None:
                    missing += 1
                else:
                    lat.append(arrived - t0)
                time.sleep(args.gap_ms / 1000)
        finally:
            svc.stop()
            stats = svc.stats()
            svc.close()
            server.shutdown()
    result = {
        "bench": "alerts",
        "n": args.n,
        "gap_ms": args.gap_ms,
        "submit_to_pd_request_ms": summary_ms(lat) if lat else None,
        "missing": missing,
        "submit_call_us": {k: round(v * 1000, 1) for k, v in summary_ms(submit_cost).items()},
        "baseline_trigger_to_request_ms": summary_ms(base_arrival),
        "baseline_trigger_roundtrip_ms": summary_ms(base_rtt),
        "sent": stats.sent,
        "dead": stats.dead,
        "goal_p99_ms": 1000,
        "ok": bool(lat) and missing == 0 and summary_ms(lat)["p99"] < 1000,
        "python": sys.version.split()[0],
    }
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
