"""In-process message bus: publish/subscribe by event type.

Synchronous handlers run inline in publish order (the hot path pays no `await`); an event
published from inside a handler is queued and delivered after the current one, so every
subscriber sees events in the same order. Coroutine handlers get their own bounded queue
and task, so a slow async subscriber can never hold up the publisher (a full queue drops
the event for that subscriber only, counted and alerted). A handler that raises is
isolated: the error becomes an `Alert` event and the bus carries on. A synchronous handler
that takes longer than `slow_handler_ms` is named in a warning alert (at most once per
handler per minute), since on one loop a slow handler delays everything else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from traider.engine.core.clock import Clock
from traider.engine.core.events import Alert, Event
from traider.engine.core.types import Severity

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]
AsyncHandler = Callable[[Any], Awaitable[None]]


_SLOW_REPORT_EVERY_NS = 60 * 1_000_000_000


def _name(handler: object) -> str:
    return str(getattr(handler, "__qualname__", repr(handler)))


class _AsyncSubscriber:
    def __init__(self, handler: AsyncHandler, maxsize: int) -> None:
        self.handler = handler
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self.task: asyncio.Task[None] | None = None
        self.dropped = 0


class MessageBus:
    def __init__(
        self, clock: Clock, async_queue_size: int = 10_000, slow_handler_ms: float = 5.0
    ) -> None:
        self._clock = clock
        self._slow_ns = int(slow_handler_ms * 1_000_000)
        self._slow_reported: dict[str, int] = {}
        self.slow_handler_calls = 0
        self._handlers: dict[type[Event], list[Handler]] = {}
        self._catch_all: list[Handler] = []
        self._async: dict[type[Event], list[_AsyncSubscriber]] = {}
        self._async_queue_size = async_queue_size
        self._pending: deque[Event] = deque()
        self._dispatching = False
        self._resolved: dict[type[Event], list[Handler]] = {}
        self.published = 0
        self.handler_errors = 0

    # --- subscription ---------------------------------------------------------------------

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers.setdefault(event_type, []).append(handler)
        self._resolved.clear()

    def subscribe_all(self, handler: Callable[[Event], None]) -> None:
        """Every event, after the typed handlers (journal, recorders)."""
        self._catch_all.append(handler)
        self._resolved.clear()

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers.get(event_type, []).remove(handler)
        self._resolved.clear()

    def subscribe_async(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        """A coroutine handler fed from its own queue; needs a running loop."""
        sub = _AsyncSubscriber(handler, self._async_queue_size)
        sub.task = asyncio.get_running_loop().create_task(self._drain(sub))
        self._async.setdefault(event_type, []).append(sub)

    # --- publishing -----------------------------------------------------------------------

    @property
    def is_dispatching(self) -> bool:
        """True inside a handler: a publish now is queued, not delivered at once."""
        return self._dispatching

    def publish(self, event: Event) -> None:
        self._pending.append(event)
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._pending:
                self._dispatch(self._pending.popleft())
        finally:
            self._dispatching = False

    def _handlers_for(self, event_type: type[Event]) -> list[Handler]:
        handlers = self._resolved.get(event_type)
        if handlers is None:
            handlers = []
            for klass in event_type.__mro__:
                handlers.extend(self._handlers.get(klass, ()))
            handlers.extend(self._catch_all)
            self._resolved[event_type] = handlers
        return handlers

    def _dispatch(self, event: Event) -> None:
        self.published += 1
        perf = time.perf_counter_ns
        for handler in self._handlers_for(type(event)):
            start = perf()
            try:
                handler(event)
            except Exception as exc:  # a handler must never kill the bus
                self._report(handler, event, exc)
            elapsed = perf() - start
            if elapsed > self._slow_ns:
                self._report_slow(handler, event, elapsed)
        if self._async:
            for klass in type(event).__mro__:
                for sub in self._async.get(klass, ()):
                    try:
                        sub.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        sub.dropped += 1
                        if sub.dropped == 1 or sub.dropped % 1000 == 0:
                            self._warn(
                                f"async subscriber {_name(sub.handler)} is behind: "
                                f"{sub.dropped} events dropped"
                            )

    def _report_slow(self, handler: object, event: Event, elapsed_ns: int) -> None:
        self.slow_handler_calls += 1
        name = _name(handler)
        now = time.monotonic_ns()
        if now - self._slow_reported.get(name, -_SLOW_REPORT_EVERY_NS) < _SLOW_REPORT_EVERY_NS:
            return
        self._slow_reported[name] = now
        self._warn(f"slow handler {name} took {elapsed_ns / 1e6:.1f} ms on {type(event).__name__}")

    def _warn(self, message: str) -> None:
        now = self._clock.timestamp_ns()
        self.publish(Alert(now, now, Severity.WARNING, "bus", message))

    def _report(self, handler: object, event: Event, exc: Exception) -> None:
        self.handler_errors += 1
        name = _name(handler)
        log.exception("bus handler %s failed on %s", name, type(event).__name__)
        if isinstance(event, Alert) and event.source == "bus":
            return  # an alert handler failing on a bus alert would loop forever
        now = self._clock.timestamp_ns()
        self.publish(
            Alert(
                now,
                now,
                Severity.WARNING,
                "bus",
                f"handler {name} failed on {type(event).__name__}: {exc!r}",
            )
        )

    async def _drain(self, sub: _AsyncSubscriber) -> None:
        while True:
            event = await sub.queue.get()
            try:
                await sub.handler(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._report(sub.handler, event, exc)

    async def close(self) -> None:
        tasks = [s.task for subs in self._async.values() for s in subs if s.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._async.clear()
