"""A background task that fails pages and, where it protects capital, fails closed."""

from __future__ import annotations

import asyncio

from traider.engine.core.types import Severity
from traider.engine.engine import Engine
from traider.testing.engine import make_config


class RiskMonitorBreaks(Engine):
    def check_risk(self) -> None:
        raise RuntimeError("marks unavailable")


async def test_a_failing_risk_monitor_halts_trading_and_pages() -> None:
    engine = RiskMonitorBreaks(make_config(), control_socket=False)
    await engine.start()
    try:
        for _ in range(40):  # the monitor runs every 250 ms
            await asyncio.sleep(0.1)
            if engine.kill.is_engaged():
                break
        view = engine.status().kill_switch
        assert view.engaged
        assert view.source == "engine"
        assert "risk monitor failed" in view.reason
        critical = [a for a in engine.alerts(100) if a.severity is Severity.CRITICAL]
        assert any(a.dedup_key == "task-failed:risk monitor" for a in critical)
        assert engine.status().running  # the engine itself keeps running, halted
    finally:
        await engine.stop()
