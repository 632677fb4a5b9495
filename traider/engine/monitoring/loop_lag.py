"""Event-loop lag: how late a short sleep wakes up. A busy loop shows it first."""

from __future__ import annotations

import asyncio
import time
from collections import deque

SAMPLE_INTERVAL_S = 0.01


class LoopLagMonitor:
    def __init__(self, window: int = 1000) -> None:
        self.samples_ms: deque[float] = deque(maxlen=window)

    async def run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(SAMPLE_INTERVAL_S)
            lag = time.perf_counter() - start - SAMPLE_INTERVAL_S
            self.samples_ms.append(max(lag, 0.0) * 1000)

    def p99_ms(self) -> float:
        return percentile(list(self.samples_ms), 99)

    def p50_ms(self) -> float:
        return percentile(list(self.samples_ms), 50)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; 0.0 for no samples."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
