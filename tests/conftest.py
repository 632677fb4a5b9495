"""Shared fixtures: every test gets its own TRAIDER_HOME so nothing collides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from traider.engine.core.clock import SimClock
from traider.engine.engine import Engine
from traider.testing.engine import make_engine

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def traider_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TRAIDER_HOME", str(home))
    for name in list(__import__("os").environ):
        if name.startswith("TRAIDER__"):
            monkeypatch.delenv(name)
    # engines the tests start never bind the monitoring port a real instance may hold
    monkeypatch.setenv("TRAIDER__MONITORING__HTTP_PORT", "0")
    return home


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock()


@pytest.fixture
def engine(sim_clock: SimClock) -> Iterator[Engine]:
    eng = make_engine(sim_clock)
    eng.boot()
    yield eng
    eng.shutdown()
