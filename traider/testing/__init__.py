"""Test doubles shared by the test suite and the benchmarks."""

from traider.testing.fake_engine import FakeEngine, KillSwitchCall

__all__ = ["FakeEngine", "KillSwitchCall"]
