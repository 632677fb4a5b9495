"""PagerDuty delivery with `pagerduty.EventsApiV2Client` (Events API v2).

Events: `trigger` (payload summary <= 1024 chars, source, severity critical/warning/info,
timestamp ISO-8601, custom_details), `acknowledge` and `resolve`, all with the incident's
dedup key; the client adds `routing_key` and `event_action` and POSTs `/v2/enqueue`.

The client's internal retries are switched off so the outbox's backoff governs (it would
otherwise block the worker in `time.sleep`, and it retries HTTP 429 forever):
`max_network_attempts = 0` (a transport error raises at once), the retry table is
`{429: 1, 500: 1, 502: 1, 503: 1, 504: 1}` and `max_http_attempts = -1`, which makes the
client return the first error response (its "attempts exhausted" branch) instead of
sleeping; `send_event` then raises `HttpError` carrying the response. `timeout` is
`alerts.timeout_s`. The client's logger is the silenced SDK logger.

Classification: 429 (Retry-After honoured when sent), 5xx, malformed answers and network
errors -> retry; other 4xx (400 invalid event, 401/403 bad routing key, 404, 413) -> dead.
Error text is built here and redacted: the routing key never appears in it.
"""

from __future__ import annotations

import ssl
from typing import Any, cast

import pagerduty

from traider.engine.alerts.outbox import (
    SENT,
    Job,
    SendOutcome,
    parse_retry_after,
    redact,
    redact_obj,
)
from traider.engine.alerts.slack import SDK_LOG, iso_utc

SUMMARY_MAX = 1024
SEVERITY = {"CRITICAL": "critical", "WARNING": "warning", "INFO": "info"}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trigger_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `EventsApiV2Client.trigger` from a channel-neutral payload."""
    severity = str(payload.get("severity", "CRITICAL"))
    prefix = "[escalated] " if payload.get("event") == "escalate" else ""
    summary = f"{prefix}[{severity}] {payload.get('source', '')}: {payload.get('message', '')}"
    details: dict[str, Any] = {str(k): str(v) for k, v in (payload.get("details") or {}).items()}
    details["count"] = int(payload.get("count", 1) or 1)
    details["event"] = str(payload.get("event", "open"))
    if payload.get("note"):
        details["note"] = str(payload["note"])
    return {
        "summary": _clip(summary, SUMMARY_MAX),
        "source": str(payload.get("source") or "traider"),
        "dedup_key": str(payload["dedup_key"]),
        "severity": SEVERITY.get(severity, "critical"),
        "payload": {"timestamp": iso_utc(int(payload.get("ts_ns", 0))), "component": "traider"},
        "custom_details": details,
    }


class PagerDutySender:
    channel = "pagerduty"

    def __init__(self, *, routing_key: str, base_url: str, timeout_s: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._secrets = [routing_key]
        kw: dict[str, Any] = {}
        if ssl_context is not None:
            kw["verify"] = ssl_context
        client = pagerduty.EventsApiV2Client(routing_key, base_url=base_url or None, **kw)
        client.log = SDK_LOG
        client.timeout = cast(int, timeout_s)  # annotated int; httpx2 takes float seconds
        client.max_network_attempts = 0
        client.max_http_attempts = -1
        client.retry = {429: 1, 500: 1, 502: 1, 503: 1, 504: 1}
        self._client = client

    def close(self) -> None:
        self._client.close()

    def send(self, job: Job) -> SendOutcome:
        action = job.kind
        try:
            if action == "trigger":
                fields = self._scrub(trigger_fields({**job.payload, "dedup_key": job.dedup_key}))
                self._client.trigger(**fields)
            elif action in ("acknowledge", "resolve"):
                self._client.send_event(action, dedup_key=job.dedup_key)
            else:
                return SendOutcome("dead", f"pagerduty: unsupported job kind {action!r}")
        except pagerduty.HttpError as exc:
            return self._http_error(action, exc)
        except pagerduty.UrlError as exc:
            return SendOutcome("dead", self._clean(f"pagerduty {action}: bad base URL: {exc}"))
        except Exception as exc:  # pagerduty.Error (network), timeouts, anything else
            cause = exc.__cause__ or exc
            return SendOutcome("retry", self._clean(
                f"pagerduty {action}: {type(cause).__name__}: {cause}"))
        return SENT

    def _http_error(self, action: str, exc: pagerduty.HttpError) -> SendOutcome:
        resp = exc.response
        if resp is None:
            return SendOutcome("retry", self._clean(f"pagerduty {action}: {exc}"))
        status = int(resp.status_code)
        try:
            body = resp.text
        except Exception:  # a streaming or undecodable body
            body = ""
        what = self._clean(f"pagerduty {action}: HTTP {status} {_clip(body, 300)}".strip())
        if status == 429:
            return SendOutcome("retry", what, parse_retry_after(resp.headers.get("Retry-After")))
        if status >= 500 or status < 400:
            return SendOutcome("retry", what)
        hint = ("check the routing key in $TRAIDER_PAGERDUTY_ROUTING_KEY"
                if status in (401, 403, 404) else "the event was refused; not retried")
        return SendOutcome("dead", f"{what}: {hint}")

    def _clean(self, text: str) -> str:
        return _clip(redact(text, self._secrets), 500)

    def _scrub(self, value: Any) -> Any:
        """Remove our secrets from anything about to leave the process."""
        return redact_obj(value, self._secrets)
