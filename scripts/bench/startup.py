"""Startup: wall time from launching `traider tui` to its first rendered frame.

The TUI runs in a real pseudo-terminal (160x50); the first frame is the moment the status
bar's "PAPER" badge reaches the terminal. Measured with a fresh TRAIDER_HOME (the store is
created) and with an existing one. Baselines in the same run: a bare
`python -c pass` and `traider --help`. Median of --runs launches each. One JSON line.

    .venv/bin/python scripts/bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def time_command(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def time_first_frame(home: str, timeout_s: float = 20.0) -> float:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = {**os.environ, "TRAIDER_HOME": home, "TERM": "xterm-256color", "COLUMNS": "160",
           "LINES": "50"}
    start = time.perf_counter()
    proc = subprocess.Popen([str(VENV_BIN / "traider"), "tui"], stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    seen = b""
    elapsed = float("nan")
    try:
        while time.perf_counter() - start < timeout_s:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen = (seen + chunk)[-65536:]
            if b"PAPER" in seen:
                elapsed = time.perf_counter() - start
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return elapsed


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    python_s = [time_command([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    help_s = [time_command([str(VENV_BIN / "traider"), "--help"]) for _ in range(args.runs)]
    frame_s = []  # a fresh TRAIDER_HOME each time: the store is created (first run)
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="traider-startup-") as home:
            frame_s.append(time_first_frame(home))
    again_s = []  # the same TRAIDER_HOME: the everyday start
    with tempfile.TemporaryDirectory(prefix="traider-startup-") as home:
        time_first_frame(home)
        again_s = [time_first_frame(home) for _ in range(args.runs)]
    print(json.dumps({
        "bench": "startup", "runs": args.runs,
        "tui_first_frame_s": {"median": round(statistics.median(frame_s), 3),
                              "max": round(max(frame_s), 3)},
        "tui_first_frame_existing_home_s": {"median": round(statistics.median(again_s), 3),
                                            "max": round(max(again_s), 3)},
        "pandas_in_venv": _has("pandas"),
        "baseline_python_pass_s": round(statistics.median(python_s), 3),
        "baseline_traider_help_s": round(statistics.median(help_s), 3),
        "target_s": 1.5,
    }))


if __name__ == "__main__":
    main()
