"""`AlertService`: alerts in, Slack and PagerDuty out, through the durable outbox.

    service = AlertService(config.alerts, config.home, clock)
    service.start()                 # the delivery worker thread
    service.submit(alert)           # from anywhere, the event loop included: no network
    service.acknowledge(key, "me")  # operator ack: stops repeats, acks on PagerDuty
    service.send_file(png, "Daily report", "P&L +1.2%")
    service.stats()                 # for the health checks
    service.close()                 # stops the worker, closes alerts.db

`submit` is a policy decision plus one short SQLite transaction (tens of microseconds);
all network I/O happens in `deliver_due`, which the worker thread calls (tests call it
directly with simulated time). The worker wakes at once on submit, else every
`worker_poll_s`.
"""

from __future__ import annotations

import logging
import os
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from traider.engine.alerts.config import AlertsConfig
from traider.engine.alerts.outbox import (
    ALERTS_DB_NAME,
    Job,
    NewJob,
    Outbox,
    OutboxError,
    SendOutcome,
    redact,
    redact_obj,
)
from traider.engine.alerts.pagerduty import PagerDutySender
from traider.engine.alerts.policy import Action, AlertPolicy, Incident
from traider.engine.alerts.slack import SlackSender
from traider.engine.core.clock import NANOS_PER_SECOND, Clock
from traider.engine.core.events import Alert

log = logging.getLogger(__name__)

_LATENCY_SAMPLES = 10_000
_PRUNE_EVERY_NS = 3600 * NANOS_PER_SECOND


class Sender(Protocol):
    channel: str

    def send(self, job: Job) -> SendOutcome: ...


@dataclass(frozen=True, slots=True)
class AlertStats:
    pending: int
    sent: int
    dead: int
    oldest_pending_age_s: float | None
    last_error: str
    channels: tuple[str, ...]  # enabled delivery channels
    disabled: dict[str, str] = field(default_factory=dict)  # channel -> what to set
    open_incidents: int = 0
    rate_limited: int = 0  # notifications dropped by the rate limit, all channels
    enqueue_failures: int = 0
    worker_alive: bool = False


class AlertService:
    def __init__(
        self,
        config: AlertsConfig,
        home: Path,
        clock: Clock,
        environ: Mapping[str, str] | None = None,
        *,
        rng: random.Random | None = None,
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self._rng = rng or random.Random()  # jitter, not security
        env = os.environ if environ is None else environ
        self.disabled: dict[str, str] = {}
        self._secrets: list[str] = []
        self._senders: dict[str, Sender] = dict(senders) if senders is not None else \
            self._build_senders(env)
        self.policy = AlertPolicy(config, frozenset(self._senders))
        self.outbox = Outbox(Path(home) / ALERTS_DB_NAME)
        self._lock = threading.Lock()  # policy + enqueue order
        self._deliver_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0: dict[str, int] = {}  # job_id -> perf_counter_ns at submit
        self._latency: deque[int] = deque(maxlen=_LATENCY_SAMPLES)
        self._enqueue_failures = 0
        self._last_prune_ns = 0

    def _build_senders(self, env: Mapping[str, str]) -> dict[str, Sender]:
        cfg = self.config
        if not cfg.enabled:
            return {}
        wanted = {*cfg.info_channels, *cfg.warning_channels, *cfg.critical_channels}
        ctx = ssl.create_default_context(cafile=cfg.ca_bundle_file) if cfg.ca_bundle_file \
            else None
        senders: dict[str, Sender] = {}
        hook = env.get(cfg.slack_webhook_url_env, "").strip()
        token = env.get(cfg.slack_bot_token_env, "").strip()
        key = env.get(cfg.pagerduty_routing_key_env, "").strip()
        self._secrets = [s for s in (hook, token, key) if s]
        if hook or token:
            senders["slack"] = SlackSender(webhook_url=hook, bot_token=token,
                                           channel=cfg.slack_channel,
                                           base_url=cfg.slack_base_url,
                                           timeout_s=cfg.timeout_s, ssl_context=ctx)
        elif "slack" in wanted:
            self.disabled["slack"] = (f"set {cfg.slack_webhook_url_env} (incoming webhook) "
                                      f"or {cfg.slack_bot_token_env} (bot token)")
        if key:
            senders["pagerduty"] = PagerDutySender(routing_key=key,
                                                   base_url=cfg.pagerduty_base_url,
                                                   timeout_s=cfg.timeout_s, ssl_context=ctx)
        elif "pagerduty" in wanted:
            self.disabled["pagerduty"] = f"set {cfg.pagerduty_routing_key_env}"
        if self.disabled:
            log.warning("alerts: channel(s) disabled, secrets not in the environment: %s",
                        "; ".join(f"{c}: {what}" for c, what in self.disabled.items()))
        return senders

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(sorted(self._senders))

    # --- inputs (any thread; never network) ---------------------------------------------

    def submit(self, alert: Alert) -> None:
        t0 = time.perf_counter_ns()
        try:
            with self._lock:
                now = self.clock.timestamp_ns()
                self._enqueue(self.policy.on_alert(alert, now), now, t0)
            self._wake.set()  # outside the lock: the worker wakes to a free policy
        except Exception:
            self._enqueue_failures += 1
            log.exception("alerts: could not queue %s alert from %s", alert.severity,
                          alert.source)

    def acknowledge(self, dedup_key: str, by: str) -> None:
        t0 = time.perf_counter_ns()
        try:
            with self._lock:
                now = self.clock.timestamp_ns()
                self._enqueue(self.policy.on_acknowledge(dedup_key, by, now), now, t0)
            self._wake.set()
        except Exception:
            self._enqueue_failures += 1
            log.exception("alerts: could not queue the acknowledgement of %s", dedup_key)

    def send_file(self, path: Path | str, title: str, comment: str = "") -> bool:
        """Queue a Slack upload (report charts); False when Slack is not enabled."""
        p = Path(path).resolve()
        try:
            with self._lock:
                now = self.clock.timestamp_ns()
                payload: dict[str, Any] = {"event": "file", "path": str(p), "title": title,
                                           "comment": comment, "ts_ns": now}
                actions = self.policy.on_message(f"file:{p.name}", payload, now, kind="file")
                self._enqueue(actions, now, time.perf_counter_ns())
            self._wake.set()
        except Exception:
            self._enqueue_failures += 1
            log.exception("alerts: could not queue the upload of %s", p.name)
            return False
        return bool(actions)

    def send_message(self, key: str, title: str, text: str) -> bool:
        """Queue a plain Slack message (a report without a chart); False when Slack is off."""
        try:
            with self._lock:
                now = self.clock.timestamp_ns()
                payload: dict[str, Any] = {"event": "message", "title": title, "message": text,
                                           "severity": "INFO", "ts_ns": now, "dedup_key": key}
                actions = self.policy.on_message(key, payload, now)
                self._enqueue(actions, now, time.perf_counter_ns())
            self._wake.set()
        except Exception:
            self._enqueue_failures += 1
            log.exception("alerts: could not queue the message %s", key)
            return False
        return bool(actions)

    def tick(self, now_ns: int | None = None) -> None:
        """Repeats, escalations, flap summaries, digests: enqueue what is due by now."""
        with self._lock:
            now = self.clock.timestamp_ns() if now_ns is None else now_ns
            self._enqueue(self.policy.on_tick(now), now, time.perf_counter_ns())
        if now - self._last_prune_ns > _PRUNE_EVERY_NS:
            self._last_prune_ns = now
            self.outbox.prune(now)

    def _enqueue(self, actions: Sequence[Action], now: int, t0: int) -> None:
        if not actions:
            return
        # secrets are scrubbed before anything is stored (alert details could carry one)
        self.outbox.enqueue([NewJob(a.job_id, a.channel, a.kind, a.dedup_key,
                                    redact_obj(a.payload, self._secrets)) for a in actions], now)
        for a in actions:
            self._t0[a.job_id] = t0
        if len(self._t0) > _LATENCY_SAMPLES:
            self._t0.clear()

    # --- delivery (the worker thread, or tests) ------------------------------------------

    def deliver_due(self, now_ns: int | None = None) -> int:
        """Send every job due by `now_ns`; returns how many were delivered."""
        sent = 0
        with self._deliver_lock:
            for _ in range(50):  # each round may unblock the next job of a key
                now = self.clock.timestamp_ns() if now_ns is None else now_ns
                jobs = self.outbox.due(now)
                if not jobs:
                    break
                for job in jobs:
                    sent += self._deliver(job, now)
        return sent

    def _deliver(self, job: Job, now: int) -> int:
        sender = self._senders.get(job.channel)
        if sender is None:
            outcome = SendOutcome("retry", f"{job.channel}: channel disabled: "
                                           f"{self.disabled.get(job.channel, 'not configured')}")
        else:
            t0 = self._t0.pop(job.job_id, None)
            if t0 is not None:
                self._latency.append(time.perf_counter_ns() - t0)
            try:
                outcome = sender.send(job)
            except Exception as exc:  # a sender bug must not kill the worker
                outcome = SendOutcome("retry", f"{job.channel}: {type(exc).__name__}: {exc}")
        error = redact(outcome.error, self._secrets)
        if outcome.status == "sent":
            self.outbox.mark_sent(job.seq, now)
            return 1
        attempts = job.attempts + 1
        if outcome.status == "dead" or attempts >= self.config.max_attempts:
            if outcome.status != "dead":
                error = f"gave up after {attempts} attempts: {error}"
            self.outbox.mark_dead(job.seq, error)
            log.error("alerts: %s %s for %s dead-lettered: %s", job.channel, job.kind,
                      job.dedup_key, error)
            return 0
        delay_s = outcome.retry_after_s if outcome.retry_after_s is not None \
            else self.backoff_s(attempts)
        self.outbox.mark_retry(job.seq, now + int(delay_s * NANOS_PER_SECOND), error)
        log.info("alerts: %s %s for %s: attempt %d failed, retry in %.1fs: %s", job.channel,
                 job.kind, job.dedup_key, attempts, delay_s, error)
        return 0

    def backoff_s(self, attempts: int) -> float:
        """Exponential backoff with equal jitter: [d/2, d], d = initial * 2^(n-1) <= max."""
        cfg = self.config
        base = min(cfg.backoff_max_s, cfg.backoff_initial_s * 2.0 ** min(attempts - 1, 30))
        return base * (0.5 + 0.5 * self._rng.random())

    # --- worker thread -----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alerts-worker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poll = self.config.worker_poll_s
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.tick()
                self.deliver_due()
                failures = 0
            except Exception:
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.exception("alerts: delivery worker error (%d in a row)", failures)
            self._wake.wait(poll)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def close(self) -> None:
        self.stop()
        for sender in self._senders.values():
            closer = getattr(sender, "close", None)
            if callable(closer):
                closer()
        self.outbox.close()

    # --- reading -----------------------------------------------------------------------

    def stats(self) -> AlertStats:
        try:
            s = self.outbox.stats()
        except OutboxError as exc:
            return AlertStats(0, 0, 0, None, str(exc), self.channels, dict(self.disabled),
                              enqueue_failures=self._enqueue_failures,
                              worker_alive=self.worker_alive)
        now = self.clock.timestamp_ns()
        age = None if s.oldest_pending_created_ns is None else \
            max(0.0, (now - s.oldest_pending_created_ns) / NANOS_PER_SECOND)
        with self._lock:
            open_count = len(self.policy.open_incidents())
            limited = sum(self.policy.suppressed.values())
        return AlertStats(s.pending, s.sent, s.dead, age, s.last_error, self.channels,
                          dict(self.disabled), open_count, limited, self._enqueue_failures,
                          self.worker_alive)

    @property
    def worker_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def submitted_to_request_ns(self) -> list[int]:
        """Samples: submit() (or ack/tick) to the start of the delivery request, ns."""
        return list(self._latency)

    def incident(self, dedup_key: str) -> Incident | None:
        with self._lock:
            return self.policy.incidents.get(dedup_key)
