"""Slack delivery with slack_sdk: Block Kit messages and report file uploads.

Messages go through the bot token (`WebClient.chat_postMessage` to `slack_channel`) when
one is set, else through the incoming webhook (`WebhookClient.send`). Files need the bot
token (`files_upload_v2`, which needs a channel ID: taken from `slack_channel` when it is
one, else learned from the last `chat.postMessage` answer, else looked up with
`conversations.list`); with only a webhook the file's comment and name are posted instead.

Every message has the `text` fallback and `blocks`: a header (severity emoji and title), a
section with the message (plus a fields section for details) and a context line with the
source, the dedup key and the UTC time.

The SDK's own retry handlers are switched off (`retry_handlers=[]`): the outbox's backoff
governs. Its logger is a silenced one: slack_sdk logs request URLs at DEBUG, and the
webhook URL is a secret. Classification: HTTP 429 / `ratelimited` -> retry after
Retry-After; 5xx, Slack's transient errors, timeouts and connection errors -> retry with
backoff; other 4xx and API errors (`invalid_auth`, `channel_not_found`, ...) -> dead.
"""

from __future__ import annotations

import logging
import re
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from traider.engine.alerts.outbox import (
    SENT,
    Job,
    SendOutcome,
    parse_retry_after,
    redact,
    redact_obj,
)

SDK_LOG = logging.getLogger("traider.engine.alerts.sdk")
SDK_LOG.setLevel(logging.CRITICAL + 10)  # never emits: SDK debug lines carry URLs/secrets
SDK_LOG.propagate = False

log = logging.getLogger(__name__)

_EMOJI = {"CRITICAL": ":rotating_light:", "WARNING": ":warning:", "INFO": ":information_source:"}
_EVENT_EMOJI = {
    "resolve": ":white_check_mark:",
    "acknowledge": ":eyes:",
    "repeat": ":repeat:",
    "escalate": ":arrow_double_up:",
    "upgrade": ":arrow_double_up:",
    "flap": ":ocean:",
    "digest": ":crescent_moon:",
    "rate_limited": ":no_entry_sign:",
    "file": ":bar_chart:",
}
_TRANSIENT_API_ERRORS = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
})
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_HINTS = {
    "invalid_auth": "check the bot token in $TRAIDER_SLACK_BOT_TOKEN",
    "not_authed": "check the bot token in $TRAIDER_SLACK_BOT_TOKEN",
    "token_revoked": "the bot token was revoked; install the app again",
    "channel_not_found": "check alerts.slack_channel (prefer the channel ID)",
    "not_in_channel": "invite the bot to alerts.slack_channel",
    "missing_scope": "the bot needs chat:write and files:write (and channels:read)",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def iso_utc(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).isoformat(timespec="milliseconds")


def build_message(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(text fallback, Block Kit blocks) for a channel-neutral payload."""
    severity = str(payload.get("severity", "INFO"))
    event = str(payload.get("event", "open"))
    emoji = _EVENT_EMOJI.get(event, _EMOJI.get(severity, ""))
    source = str(payload.get("source", ""))
    title = str(payload.get("title", severity))
    message = str(payload.get("message", ""))
    extra = [str(payload[k]) for k in ("note",) if payload.get(k)]
    if payload.get("by"):
        extra.append(f"by {payload['by']}")
    if int(payload.get("count", 1) or 1) > 1:
        extra.append(f"seen {payload['count']} times")
    body = "\n".join([message, *(f"_{e}_" for e in extra)]) or " "
    header = _clip(f"{emoji} {title}: {source}" if source else f"{emoji} {title}", 150)
    key = str(payload.get("dedup_key", ""))
    when = iso_utc(int(payload.get("ts_ns", 0)))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, 3000)}},
    ]
    details = payload.get("details") or {}
    if details:
        fields = [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{v}", 2000)}
                  for k, v in list(details.items())[:10]]
        blocks.append({"type": "section", "fields": fields})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": _clip(f"source `{source}` · key `{key}` · {when}", 3000)},
    ]})
    text = _clip(f"{emoji} [{severity}] {title}: {source}: {message}", 3000)
    return text, blocks


class SlackSender:
    channel = "slack"

    def __init__(self, *, webhook_url: str, bot_token: str, channel: str, base_url: str,
                 timeout_s: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._secrets = [s for s in (webhook_url, bot_token) if s]
        self._channel = channel
        self._channel_id = channel if _CHANNEL_ID.match(channel) else ""
        timeout = cast(int, timeout_s)  # annotated int; urllib takes float seconds
        self._web: WebClient | None = None
        self._hook: WebhookClient | None = None
        if bot_token:
            kw: dict[str, Any] = {"base_url": base_url} if base_url else {}
            self._web = WebClient(token=bot_token, timeout=timeout, ssl=ssl_context,
                                  logger=SDK_LOG, retry_handlers=[], **kw)
        if webhook_url:
            self._hook = WebhookClient(webhook_url, timeout=timeout, ssl=ssl_context,
                                       logger=SDK_LOG, retry_handlers=[])

    @property
    def can_upload(self) -> bool:
        return self._web is not None

    def send(self, job: Job) -> SendOutcome:
        try:
            if job.kind == "file":
                return self._send_file(job.payload)
            return self._send_message(job.payload)
        except SlackApiError as exc:
            return self._api_error(exc)
        except Exception as exc:  # timeouts, refused connections, bad JSON, ...
            return SendOutcome("retry", self._clean(f"slack: {type(exc).__name__}: {exc}"))

    def _clean(self, text: str) -> str:
        return _clip(redact(text, self._secrets), 500)

    def _send_message(self, payload: dict[str, Any]) -> SendOutcome:
        text, blocks = build_message(payload)
        text, blocks = self._scrub(text), self._scrub(blocks)
        if self._web is not None:
            resp = self._web.chat_postMessage(channel=self._channel, text=text, blocks=blocks)
            channel_id = resp.get("channel")
            if isinstance(channel_id, str) and channel_id:
                self._channel_id = channel_id
            return SENT
        if self._hook is None:
            return SendOutcome("dead", "slack: no webhook URL or bot token configured")
        hook = self._hook.send(text=text, blocks=blocks)
        status = hook.status_code
        if 200 <= status < 300:
            return SENT
        body = self._clean(str(hook.body))
        if status == 429:
            after = parse_retry_after(hook.headers.get("Retry-After")
                                      or hook.headers.get("retry-after"))
            return SendOutcome("retry", f"slack webhook: HTTP 429 {body}", after)
        if status >= 500:
            return SendOutcome("retry", f"slack webhook: HTTP {status} {body}")
        return SendOutcome("dead", f"slack webhook: HTTP {status} {body}: the webhook URL or "
                                   "payload was refused; check $TRAIDER_SLACK_WEBHOOK_URL")

    def _send_file(self, payload: dict[str, Any]) -> SendOutcome:
        path = Path(str(payload["path"]))
        title = str(payload.get("title") or path.name)
        comment = self._scrub(str(payload.get("comment") or ""))
        if self._web is None:
            note = f"{comment}\n_(report `{path.name}` not attached: file uploads need a bot " \
                   "token)_"
            return self._send_message({**payload, "event": "file", "title": title,
                                       "message": note.strip(), "severity": "INFO"})
        if not path.is_file():
            return SendOutcome("dead", f"slack file: {path} does not exist")
        channel_id = self._channel_id or self._lookup_channel_id()
        if not channel_id:
            return SendOutcome("dead", f"slack file: channel {self._channel!r} not found; set "
                                       "alerts.slack_channel to the channel ID (C...)")
        self._web.files_upload_v2(channel=channel_id, file=str(path), filename=path.name,
                                  title=title, initial_comment=comment or None)
        return SENT

    def _lookup_channel_id(self) -> str:
        assert self._web is not None
        name = self._channel.lstrip("#")
        cursor: str | None = None
        for _ in range(20):
            resp = self._web.conversations_list(types="public_channel,private_channel",
                                                exclude_archived=True, limit=1000,
                                                cursor=cursor)
            for ch in resp.get("channels") or []:
                if isinstance(ch, dict) and ch.get("name") == name:
                    self._channel_id = str(ch.get("id", ""))
                    return self._channel_id
            meta = resp.get("response_metadata") or {}
            cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
            if not cursor:
                break
        return ""

    def _api_error(self, exc: SlackApiError) -> SendOutcome:
        resp = exc.response
        status = int(getattr(resp, "status_code", 0) or 0)
        data = getattr(resp, "data", None)
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        headers = getattr(resp, "headers", None) or {}
        what = self._clean(f"slack API: HTTP {status} {error}".strip())
        if status == 429 or error == "ratelimited":
            after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            return SendOutcome("retry", what, after)
        if status >= 500 or error in _TRANSIENT_API_ERRORS:
            return SendOutcome("retry", what)
        hint = _HINTS.get(error, "a configuration problem; not retried")
        return SendOutcome("dead", f"{what}: {hint}")

    def _scrub(self, value: Any) -> Any:
        """Remove our secrets from anything about to leave the process."""
        return redact_obj(value, self._secrets)
