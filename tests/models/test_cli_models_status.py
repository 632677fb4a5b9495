"""`traider models status`: the running engine's models, or one clear line without one."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from traider.cli import app
from traider.engine.view import ModelsView, models_view_dict
from traider.testing.fake_engine import FakeEngine


def _view_with_a_failed_prediction() -> ModelsView:
    view = FakeEngine.models_view
    first = replace(view.models[0], predictions=(("BTC-USD", math.nan), ("ETH-USD", 0.48)))
    return replace(view, models=(first, *view.models[1:]))


def test_without_an_engine_it_says_so_in_one_line(traider_home: Path) -> None:
    result = CliRunner().invoke(app, ["models", "status"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no engine answers" in lines[0]
    assert "traider models list" in lines[0]


def test_json_is_strict_and_keyed(traider_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = models_view_dict(_view_with_a_failed_prediction())
    sent: list[dict[str, Any]] = []

    def fake_send(home: Path, request: dict[str, Any], timeout_s: float = 2.0) -> dict[str, Any]:
        sent.append(request)
        return {"ok": True, "models": payload}

    monkeypatch.setattr("traider.engine.control.send", fake_send)
    result = CliRunner().invoke(app, ["models", "status", "--json"])
    assert result.exit_code == 0, result.output
    assert sent == [{"cmd": "models"}]
    doc = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    assert set(doc) == {
        "version", "enabled", "models", "signals", "retraining", "bars", "note", "candidates",
        "vetoes",
    }
    xgb = doc["models"][0]
    assert xgb["model_id"] == "xgboost-2"
    assert xgb["predictions"] == {"BTC-USD": None, "ETH-USD": 0.48}
    assert doc["retraining"][0]["message"] == "epoch 4/10"


def test_text_shows_weights_signals_and_progress(
    traider_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = models_view_dict(FakeEngine.models_view)
    reply = {"ok": True, "models": payload}
    monkeypatch.setattr("traider.engine.control.send", lambda home, req, timeout_s=2.0: reply)
    out = CliRunner().invoke(app, ["models", "status"]).stdout
    assert "xgboost-2" in out
    assert "0.550" in out
    assert "expired: trained 31.0 days ago" in out
    assert "signal BTC-USD" in out
    assert "fresh" in out
    assert "epoch 4/10" in out
    assert "40%" in out
    assert "waiting xgboost-3" in out
    assert "traider models approve xgboost-3" in out
    assert "traider models promote lstm-2" in out
