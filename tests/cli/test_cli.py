"""The `traider` command as a user runs it: real processes, real store, real socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from traider.engine.control import ping
from traider.engine.core.events import KillSwitchEngaged, SubmitOrder
from traider.engine.state.sqlite_store import SQLiteStore

TRAIDER = [sys.executable, "-m", "traider"]


def traider(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAIDER, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def status(home: Path) -> dict[str, Any]:
    result = traider("status", "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def wait_for_engine(home: Path, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("engine exited early: " + (home.parent / "engine.log").read_text())
        if ping(home):
            return
        time.sleep(0.1)
    raise AssertionError("engine did not open its control socket")


def test_help_explains_itself() -> None:
    result = traider("--help")
    assert result.returncode == 0
    for command in ("tui", "run", "status", "kill", "config"):
        assert command in result.stdout


def test_config_check_names_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\ndaily_loss_limt_pct = 3\n")
    result = traider("config", "check", str(bad))
    assert result.returncode == 2
    assert "risk.daily_loss_limt_pct" in result.stderr
    assert str(bad) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    wrong_type = tmp_path / "type.toml"
    wrong_type.write_text('[engine]\nstarting_capital_usd = "lots"\n')
    result = traider("config", "check", str(wrong_type))
    assert result.returncode == 2
    assert "engine.starting_capital_usd" in result.stderr

    good = tmp_path / "good.toml"
    good.write_text("[risk]\ndaily_loss_limit_pct = 1.5\n")
    assert traider("config", "check", str(good)).returncode == 0


def test_shipped_config_toml_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[2] / "config.toml"
    result = traider("config", "check", str(shipped))
    assert result.returncode == 0, result.stderr


def test_run_on_defaults_fills_into_the_store(traider_home: Path) -> None:
    result = traider("run", "--duration", "5", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["fills"] > 0
    report = status(traider_home)
    assert report["mode"] == "PAPER"
    assert report["fills"] == summary["fills"]
    assert report["open_orders"] == []  # clean shutdown cancelled them
    assert set(report) >= {"mode", "kill_switch", "positions", "open_orders", "fills", "pnl"}
    assert set(report["kill_switch"]) == {"engaged", "reason", "since"}
    assert report["kill_switch"]["engaged"] is False


def test_kill_reaches_a_running_engine_and_persists(traider_home: Path) -> None:
    log = traider_home.parent / "engine.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen([*TRAIDER, "run", "--duration", "60"], stdout=sink,
                                stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_engine(traider_home, proc)
        time.sleep(3)  # let it trade
        result = traider("kill", "--json", "--reason", "test halt")
        assert result.returncode == 0, result.stderr
        reply = json.loads(result.stdout)
        assert reply["engine_reached"] is True
        time.sleep(2)  # the engine keeps running, halted
        report = status(traider_home)
        assert report["engine_running"] is True
        assert report["kill_switch"]["engaged"] is True
        assert report["kill_switch"]["reason"] == "test halt"
        assert report["open_orders"] == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    store = SQLiteStore(traider_home / "traider.db")
    journal = [e for _, e in store.journal()]
    kill_at = next(i for i, e in enumerate(journal) if isinstance(e, KillSwitchEngaged))
    assert not [e for e in journal[kill_at:] if isinstance(e, SubmitOrder)]

    # a new engine starts halted; only --reset releases it
    again = traider("run", "--duration", "2", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["kill_switch"]["engaged"] is True
    assert traider("kill", "--reset").returncode == 0
    assert status(traider_home)["kill_switch"]["engaged"] is False


def test_kill_without_engine_or_database(traider_home: Path) -> None:
    # the store path is unusable (a directory), the engine is not running
    os.makedirs(traider_home / "traider.db")
    result = traider("kill", "--json")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["flag_file"] is True
    assert reply["store"] is False
    assert reply["engine_reached"] is False
    assert (traider_home / "KILL_SWITCH").exists()


def test_a_second_engine_on_the_same_home_refuses_to_start(traider_home: Path) -> None:
    log = traider_home.parent / "engine.log"
    with open(log, "w") as sink:
        first = subprocess.Popen([*TRAIDER, "run", "--duration", "30"], stdout=sink,
                                 stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_engine(traider_home, first)
        second = traider("run", "--duration", "2")
        assert second.returncode == 1
        assert "another engine is already running" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        store = SQLiteStore(traider_home / "traider.db")
        ids = [e.client_order_id for _, e in store.journal() if isinstance(e, SubmitOrder)]
        assert len(ids) == len(set(ids))
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)


def test_health_reports_a_running_engine_and_fails_without_one(traider_home: Path) -> None:
    offline = traider("health", "--json")
    assert offline.returncode == 1
    assert json.loads(offline.stdout)["level"] == "CRIT"
    assert offline.stderr.strip() == "traider: health CRIT: engine"
    log = traider_home.parent / "engine.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen([*TRAIDER, "run", "--duration", "30",
                                 "--set", "monitoring.http_port=0"],
                                stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_engine(traider_home, proc)
        deadline = time.monotonic() + 15  # wait for a health round with feeds flowing
        while True:
            online = traider("health", "--json")
            report = json.loads(online.stdout)
            if online.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert online.returncode == 0, online.stdout
        assert report["level"] in ("OK", "WARN")
        names = {c["name"] for c in report["checks"]}
        assert {"feed:BTC-USD", "store", "loop_lag", "disk", "kill_switch"} <= names
        assert traider("kill", "--reason", "health test").returncode == 0
        deadline = time.monotonic() + 15  # health is re-evaluated once a second
        while True:
            halted = json.loads(traider("health", "--json").stdout)
            kill = next(c for c in halted["checks"] if c["name"] == "kill_switch")
            if kill["level"] == "WARN" or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert kill["level"] == "WARN"
        assert "health test" in kill["detail"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
