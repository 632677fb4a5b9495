"""Building a paper engine on a simulated clock, for tests, benchmarks and replays."""

from __future__ import annotations

from traider.config import Config, load_config
from traider.engine.core.clock import NANOS_PER_MILLI, SimClock
from traider.engine.engine import Engine


def make_config(**overrides: str) -> Config:
    """Defaults plus `section.key=value` overrides; ignores the environment and home file."""
    return load_config(None, overrides, environ={})


def make_engine(clock: SimClock | None = None, **overrides: str) -> Engine:
    return Engine(make_config(**overrides), clock=clock or SimClock(), control_socket=False)


def run_steps(engine: Engine, clock: SimClock, seconds: float, step_ms: int = 50) -> None:
    """Advance the simulated market like the live loop would, risk checks every 250 ms."""
    for i in range(int(seconds * 1000 / step_ms)):
        clock.advance(step_ms * NANOS_PER_MILLI)
        engine.step()
        if i % 5 == 0:
            engine.check_risk()
