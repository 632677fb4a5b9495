"""The headless daemon: start the engine, run until a duration or a signal, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Any

from traider.engine.engine import Engine


async def run_headless(engine: Engine, duration_s: float | None) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    await engine.start()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration_s)
    finally:
        pnl = engine.pnl()
        await engine.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    status = engine.status()
    return {
        "seconds": time.monotonic() - started,
        "fills": status.fills,
        "orders_denied": engine.orders.denied,
        "pnl": {
            "cash": str(pnl.cash),
            "equity": str(pnl.equity),
            "realized": str(pnl.realized),
            "unrealized": str(pnl.unrealized),
            "fees": str(pnl.fees),
            "day_pnl": str(pnl.day_pnl),
        },
        "kill_switch": {
            "engaged": status.kill_switch.engaged,
            "reason": status.kill_switch.reason or None,
            "since": status.kill_switch.since_ns,
        },
    }
