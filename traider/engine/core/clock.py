"""The one source of time. Live reads the wall clock; tests and replay drive a simulated one."""

from __future__ import annotations

import time
from typing import Protocol

NANOS_PER_SECOND = 1_000_000_000
NANOS_PER_MILLI = 1_000_000


class Clock(Protocol):
    def timestamp_ns(self) -> int:
        """UNIX time in integer nanoseconds."""
        ...

    def monotonic_ns(self) -> int:
        """A never-decreasing reading for measuring durations."""
        ...


class LiveClock:
    """Wall-clock time; the only place the process reads it."""

    def timestamp_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class SimClock:
    """Time that moves only when told to: replay, backtests and tests."""

    def __init__(self, start_ns: int = 1_700_000_000 * NANOS_PER_SECOND) -> None:
        self._now_ns = start_ns

    def timestamp_ns(self) -> int:
        return self._now_ns

    def monotonic_ns(self) -> int:
        return self._now_ns

    def set_time(self, ts_ns: int) -> None:
        if ts_ns < self._now_ns:
            raise ValueError(f"simulated time cannot go back: {ts_ns} < {self._now_ns}")
        self._now_ns = ts_ns

    def advance(self, delta_ns: int) -> int:
        if delta_ns < 0:
            raise ValueError("simulated time cannot go back")
        self._now_ns += delta_ns
        return self._now_ns
