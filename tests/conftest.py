"""Shared fixtures: every test gets its own TRAIDER_HOME so nothing collides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from traider.config import Config, load_config
from traider.engine.core.clock import NANOS_PER_MILLI, SimClock
from traider.engine.engine import Engine

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def traider_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TRAIDER_HOME", str(home))
    for name in list(__import__("os").environ):
        if name.startswith("TRAIDER__"):
            monkeypatch.delenv(name)
    return home


def make_config(**overrides: str) -> Config:
    return load_config(None, overrides, environ={})


def make_engine(clock: SimClock | None = None, **overrides: str) -> Engine:
    return Engine(make_config(**overrides), clock=clock or SimClock(), control_socket=False)


def run_steps(engine: Engine, clock: SimClock, seconds: float, step_ms: int = 50) -> None:
    for _ in range(int(seconds * 1000 / step_ms)):
        clock.advance(step_ms * NANOS_PER_MILLI)
        engine.step()
        if _ % 5 == 0:
            engine.check_risk()


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock()


@pytest.fixture
def engine(sim_clock: SimClock) -> Iterator[Engine]:
    eng = make_engine(sim_clock)
    eng.boot()
    yield eng
    eng.shutdown()
