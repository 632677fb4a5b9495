"""Benchmark: what the TUI costs the process and the event loop it shares with the engine.

Runs the fake engine's book at 20 updates a second for `--seconds`, first alone (baseline),
then with `TraiderApp` running headless at 160x50 on the same loop. Each phase measures the
process CPU share (process_time delta / wall delta) and event-loop lag (a task sleeping
10 ms and recording the overshoot, p50/p99/max). Also measures the import time of the TUI
and the time from `TraiderApp(...)` to the first frame. Headless Textual skips writing to a
terminal, so the app here also serializes every screen update to ANSI (and throws it away)
to keep that cost in the number. Prints ONE JSON line.

    .venv/bin/python scripts/bench/tui.py [--seconds 10] [--hz 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from traider.testing import FakeEngine

PROBE_S = 0.010


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


async def ticker(engine: FakeEngine, hz: float, stop: asyncio.Event) -> None:
    period = 1 / hz
    nxt = time.perf_counter()
    while not stop.is_set():
        engine.tick()
        nxt += period
        await asyncio.sleep(max(0.0, nxt - time.perf_counter()))


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(PROBE_S)
        samples.append((time.perf_counter() - t0 - PROBE_S) * 1000)


async def measure(engine: FakeEngine, seconds: float, hz: float) -> dict[str, Any]:
    stop = asyncio.Event()
    samples: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ticks0 = engine.ticks
    tasks = [
        asyncio.create_task(ticker(engine, hz, stop)),
        asyncio.create_task(lag_probe(samples, stop)),
    ]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "cpu_share": round(cpu / wall, 4),
        "lag_p50_ms": round(percentile(samples, 0.50), 3),
        "lag_p99_ms": round(percentile(samples, 0.99), 3),
        "lag_max_ms": round(max(samples, default=float("nan")), 3),
        "lag_mean_ms": round(statistics.fmean(samples), 3) if samples else None,
        "book_updates_per_s": round((engine.ticks - ticks0) / wall, 1),
    }


async def run_app(seconds: float, hz: float, size: tuple[int, int]) -> dict[str, Any]:
    t_import = time.perf_counter()
    from rich.console import Console
    from textual.screen import Screen

    from traider.tui import TraiderApp
    from traider.tui.widgets import OrderBookWidget

    import_s = time.perf_counter() - t_import

    class BenchApp(TraiderApp):
        """Serializes each update like a real terminal would, into a byte counter."""

        bytes_out = 0

        def _display(self, screen: Screen[Any], renderable: Any) -> None:
            render = getattr(renderable, "render_segments", None)
            if render is not None:
                console: Console = self.console
                self.bytes_out += len(render(console))
            super()._display(screen, renderable)

    engine = FakeEngine()
    app = BenchApp(engine)
    async with app.run_test(headless=True, size=size) as pilot:
        while app.first_frame_at is None:
            await pilot.pause(0.005)
        await pilot.pause(0.5)  # let the first polls and the engine start settle
        book = app.query_one("#book", OrderBookWidget)
        frames0, lines0, bytes0 = book.frames, book.lines_repainted, app.bytes_out
        result = await measure(engine, seconds, hz)
        result["book_frames_per_s"] = round((book.frames - frames0) / seconds, 1)
        result["book_lines_per_frame"] = round(
            (book.lines_repainted - lines0) / max(1, book.frames - frames0), 1
        )
        result["ansi_kib_per_s"] = round((app.bytes_out - bytes0) / 1024 / seconds, 1)
    startup = app.startup_s
    result["first_frame_ms"] = round(startup * 1000, 1) if startup is not None else None
    result["import_tui_ms"] = round(import_s * 1000, 1)
    result["engine_started"] = engine.start_calls == 1
    result["engine_stopped"] = engine.stop_calls == 1
    return result


async def probe_only(seconds: float) -> dict[str, Any]:
    stop = asyncio.Event()
    samples: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    task = asyncio.create_task(lag_probe(samples, stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "cpu_share": round(cpu / wall, 4),
        "lag_p50_ms": round(percentile(samples, 0.50), 3),
        "lag_p99_ms": round(percentile(samples, 0.99), 3),
        "lag_max_ms": round(max(samples, default=float("nan")), 3),
    }


async def real_engine(seconds: float, size: tuple[int, int], with_app: bool) -> dict[str, Any]:
    """The paper engine on the simulated market (~450 book deltas/s), alone or under the
    TUI, each in its own TRAIDER_HOME."""
    import os
    import tempfile

    from traider.config import load_config
    from traider.engine.engine import Engine
    from traider.tui import TraiderApp

    with tempfile.TemporaryDirectory(prefix="traider-bench-") as home:
        os.environ["TRAIDER_HOME"] = home
        cfg = load_config(None, {}, environ={})
        engine = Engine(cfg, control_socket=False)
        if not with_app:
            await engine.start()
            await asyncio.sleep(0.5)
            result = await probe_only(seconds)
            await engine.stop()
            return result
        app = TraiderApp(engine, cfg.tui)
        async with app.run_test(headless=True, size=size) as pilot:
            await pilot.pause(1.0)
            result = await probe_only(seconds)
        return result


async def main_async(
    seconds: float, hz: float, size: tuple[int, int], real: bool
) -> dict[str, Any]:
    baseline = await measure(FakeEngine(), seconds, hz)
    tui = await run_app(seconds, hz, size)
    import textual

    extra: dict[str, Any] = {}
    if real:
        alone = await real_engine(seconds, size, with_app=False)
        under = await real_engine(seconds, size, with_app=True)
        extra = {"real_engine_alone": alone, "real_engine_with_tui": under}

    return {
        "bench": "tui",
        "seconds": seconds,
        "book_hz": hz,
        "size": f"{size[0]}x{size[1]}",
        "first_frame_ms": tui.pop("first_frame_ms"),
        "import_tui_ms": tui.pop("import_tui_ms"),
        "baseline": baseline,
        "tui": tui,
        "cpu_share_added": round(tui["cpu_share"] - baseline["cpu_share"], 4),
        "python": platform.python_version(),
        "textual": textual.__version__,
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hz", type=float, default=20.0, help="book updates a second")
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=50)
    parser.add_argument("--real", action="store_true",
                        help="also measure the paper engine alone and under the TUI")
    args = parser.parse_args()
    out = asyncio.run(main_async(args.seconds, args.hz, (args.width, args.height), args.real))
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
