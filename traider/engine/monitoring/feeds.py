"""Feed watch: a symbol whose book is stale or silent past the threshold opens an incident
(one CRITICAL alert with a stable dedup key) and closes it when data flows again."""

from __future__ import annotations

from dataclasses import dataclass

from traider.engine.core.clock import NANOS_PER_MILLI


@dataclass(frozen=True, slots=True)
class FeedIncident:
    symbol: str
    opened: bool  # True: went bad; False: recovered
    detail: str

    @property
    def dedup_key(self) -> str:
        return f"feed-stale:{self.symbol}"


class FeedWatch:
    def __init__(self, stale_after_ms: int) -> None:
        self.stale_after_ns = stale_after_ms * NANOS_PER_MILLI
        self._open: set[str] = set()

    def check(
        self, now_ns: int, symbol: str, last_update_ns: int | None, stale_reason: str
    ) -> FeedIncident | None:
        """Feed state for one symbol; an incident only when it changes."""
        if stale_reason:
            bad, detail = True, f"{symbol} book stale: {stale_reason}"
        elif last_update_ns is None:
            bad, detail = False, ""  # never had data: start-up, not an outage
        else:
            age = now_ns - last_update_ns
            bad = age > self.stale_after_ns
            detail = f"{symbol} feed silent for {age / 1e9:.1f} s" if bad else ""
        if bad and symbol not in self._open:
            self._open.add(symbol)
            return FeedIncident(symbol, True, detail)
        if not bad and symbol in self._open:
            self._open.discard(symbol)
            return FeedIncident(symbol, False, f"{symbol} feed recovered")
        return None
