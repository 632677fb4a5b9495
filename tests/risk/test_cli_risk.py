"""`traider risk var|backtest` through typer's CliRunner on the sub-app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from traider.cli_risk import parse_weights, risk_app

DATA = (
    Path(__file__).resolve().parents[2].parent / "shared/data/ohlcv/bitstamp_btc_eth_ltc_usd_1d.csv"
)
needs_data = pytest.mark.skipif(not DATA.is_file(), reason=f"{DATA} not present")
runner = CliRunner()


@needs_data
def test_backtest_on_real_data_prints_a_zone() -> None:
    result = runner.invoke(risk_app, ["backtest", "--data", str(DATA), "--method", "historical"])
    assert result.exit_code == 0, result.output
    assert "Basel zone (last 250 days):" in result.stdout
    assert any(z in result.stdout for z in ("green", "yellow", "red"))
    assert "Kupiec" in result.stdout
    assert "Christoffersen" in result.stdout


@needs_data
def test_backtest_json_keys() -> None:
    args = ["backtest", "--data", str(DATA), "--method", "filtered_historical", "--json"]
    result = runner.invoke(risk_app, [*args, "--symbol", "ETH-USD", "--confidence", "0.99"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["symbol"] == "ETH-USD"
    assert report["basel"]["zone"] in {"green", "yellow", "red"}
    assert report["basel"]["days"] == 250
    for key in ("kupiec", "christoffersen", "conditional_coverage"):
        assert set(report[key]) == {"lr", "p_value", "dof"}
    assert report["expected_exceptions"] == pytest.approx(report["days"] * 0.01)


@needs_data
def test_bad_method_exits_2_with_one_line() -> None:
    result = runner.invoke(risk_app, ["backtest", "--data", str(DATA), "--method", "vibes"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unknown method 'vibes'" in lines[0]
    assert "historical" in lines[0]
    assert result.stdout == ""


@needs_data
def test_var_side_by_side_with_components() -> None:
    weights = "BTC-USD=1000,ETH-USD=-500,LTC-USD=250"
    args = ["var", "--data", str(DATA), "--weights", weights, "--confidence", "0.99"]
    result = runner.invoke(risk_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {
        "source",
        "observations",
        "confidence",
        "horizon_days",
        "exposures",
        "methods",
        "components",
        "component_total",
    }
    methods = {m["method"]: m for m in report["methods"]}
    assert list(methods) == [
        "parametric",
        "cornish_fisher",
        "historical",
        "filtered_historical",
        "mc_normal",
        "mc_t",
    ]
    for m in methods.values():
        assert m["es"] >= m["var"] > 0
    comps = report["components"]
    assert [c["symbol"] for c in comps] == ["BTC-USD", "ETH-USD", "LTC-USD"]
    total = sum(c["component_var"] for c in comps)
    assert total == pytest.approx(methods["parametric"]["var"], rel=1e-9)
    text = runner.invoke(risk_app, args)
    assert text.exit_code == 0
    assert "cornish_fisher" in text.stdout
    assert "component VaR" in text.stdout


@needs_data
def test_var_horizon_json() -> None:
    args = ["var", "--data", str(DATA), "--weights", "BTC-USD=1000", "--horizon", "10"]
    result = runner.invoke(risk_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["horizon_days"] == 10


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--weights", "BTC-USD:1000"], "SYMBOL=AMOUNT"),
        (["--weights", "BTC-USD=abc"], "SYMBOL=AMOUNT"),
        (["--weights", "XRP-USD=100"], "no data for XRP-USD"),
        (["--weights", "BTC-USD=1", "--confidence", "1.5"], "--confidence"),
        (["--weights", "BTC-USD=1", "--horizon", "0"], "--horizon"),
    ],
)
@needs_data
def test_var_bad_input_exits_2(args: list[str], needle: str) -> None:
    result = runner.invoke(risk_app, ["var", "--data", str(DATA), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]


def test_missing_file_and_lone_options_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    cases = [
        ["backtest", "--data", str(missing), "--method", "historical"],
        ["var", "--data", str(missing), "--weights", "BTC-USD=1"],
        ["var", "--weights", "BTC-USD=1"],
    ]
    for args in cases:
        result = runner.invoke(risk_app, args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1


def test_short_history_names_the_fix(tmp_path: Path) -> None:
    csv = tmp_path / "short.csv"
    rows = "\n".join(f"2024-01-{d:02d},BTC-USD,{100 + d}" for d in range(1, 31))
    csv.write_text("date,symbol,close\n" + rows + "\n")
    result = runner.invoke(risk_app, ["backtest", "--data", str(csv), "--method", "parametric"])
    assert result.exit_code == 2
    assert "--window" in result.stderr


def test_var_live_portfolio_without_positions() -> None:
    result = runner.invoke(risk_app, ["var", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"].startswith("simulated")
    assert all(m["var"] == 0.0 for m in report["methods"])


def test_parse_weights() -> None:
    assert parse_weights("BTC-USD=1000, ETH-USD=-500") == {"BTC-USD": 1000.0, "ETH-USD": -500.0}
    for bad in ("", "BTC-USD", "=5", "BTC-USD=1,BTC-USD=2", "BTC-USD=inf"):
        with pytest.raises(ValueError, match="--weights"):
            parse_weights(bad)


def test_stress_command_finds_scenarios_in_the_real_data(tmp_path: Path) -> None:
    import traider.cli_stress  # noqa: F401  (registers the command)

    shared = Path(__file__).resolve().parents[2].parent / "shared"
    data = shared / "data/ohlcv/bitstamp_btc_eth_ltc_usd_1d.csv"
    if not data.exists():
        pytest.skip("shared data not present")
    result = CliRunner().invoke(
        risk_app, ["stress", "--data", str(data), "--weights", "BTC-USD=1000,ETH-USD=500",
                   "--json"],
        env={"TRAIDER_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    names = [s["name"] for s in report["scenarios"]]
    assert "BTC worst 1-day #1 (2015-01-14)" in names
    assert any("2018" in n for n in names)
    crash = next(s for s in report["scenarios"] if s["name"].startswith("BTC -20%"))
    assert crash["pnl_usd"] < -200  # a long 1500 USD portfolio loses in a -20% crash
    assert any("daily loss" in b for b in crash["breaks"])
