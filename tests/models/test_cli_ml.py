"""`traider evaluate` on the real hourly BTC data and `traider train` into the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from traider.cli import app

BTC_1H = Path(__file__).resolve().parents[2].parent / "shared/data/ohlcv/coinbase_btcusd_1h.csv"


@pytest.fixture
def btc() -> Path:
    if not BTC_1H.exists():
        pytest.skip("shared data not present")
    return BTC_1H


def test_evaluate_is_honest_about_real_hourly_data(btc: Path, traider_home: Path) -> None:
    result = CliRunner().invoke(app, [
        "evaluate", "--data", str(btc), "--models", "momentum,mean_reversion",
        "--timeframes", "1h", "--splits", "3", "--json",
    ])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["models"]) == {"momentum", "mean_reversion", "ensemble"}
    assert report["trials"] == 3
    for name, body in report["models"].items():
        acc = body["pooled"]["model"]["accuracy"]
        # next-bar direction on real hourly data is near chance; far above means leakage
        assert 0.40 < acc < 0.60, (name, acc)
    assert Path(report["chart"]).stat().st_size > 5_000


def test_train_registers_a_candidate_that_only_an_operator_approves(
    btc: Path, traider_home: Path
) -> None:
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--data", str(btc), "--model", "momentum",
                                  "--timeframes", "1h", "--json"])
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)
    assert result["state"] == "candidate"
    assert Path(result["artifact"]).exists()
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    assert [m["model_id"] for m in listed["models"]] == [result["model_id"]]
    refused = runner.invoke(app, ["models", "approve", result["model_id"], "--by", "trainer"])
    assert refused.exit_code != 0  # automated names may not approve
    approved = runner.invoke(app, ["models", "approve", result["model_id"], "--by", "alice"])
    assert approved.exit_code == 0, approved.output


def test_unknown_model_is_named(btc: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--data", str(btc), "--models", "oracle"])
    assert result.exit_code == 2
    assert "oracle" in result.output
