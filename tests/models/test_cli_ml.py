"""`traider evaluate` on the real hourly BTC data and the simulated market, `traider train`
and `traider models retrain` into the registry, and the reports they write."""

from __future__ import annotations

import json
import os
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
    md = Path(report["report"])
    assert md == traider_home / "reports" / "evaluate-coinbase_btcusd_1h.md"
    assert "leakage" in md.read_text()
    assert set(json.loads(md.with_suffix(".json").read_text())["models"]) == set(report["models"])


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
    assert 0.40 < result["oos_accuracy"] < 0.60
    assert Path(result["report"]).is_file()
    assert Path(result["report"]).with_suffix(".png").is_file()
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


SIM = ["--sim", "BTC-USD", "--bars", "1500", "--seed", "3"]


def test_evaluate_on_the_simulated_market_writes_a_report(
    traider_home: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, [
        "evaluate", *SIM, "--models", "momentum,mean_reversion", "--splits", "3",
        "--out", str(tmp_path / "out"), "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout holds only the JSON; progress went to stderr
    assert "fold 3/3" in result.stderr
    assert report["data"] == "simulated market BTC-USD: 1500 1m bars, seed 3"
    md = Path(report["report"])
    assert md == tmp_path / "out" / "evaluate-sim-BTC-USD-1500-seed3.md"
    assert md.with_suffix(".json").is_file()
    assert md.with_suffix(".png").is_file()
    for body in report["models"].values():
        assert 0.40 < body["pooled"]["model"]["accuracy"] < 0.60  # a random walk
    text = CliRunner().invoke(app, ["evaluate", *SIM, "--models", "momentum", "--splits", "2"])
    assert text.exit_code == 0, text.output
    assert "== summary" in text.stdout
    assert "report: " in text.stdout


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_exactly_one_data_source(command: str, btc: Path) -> None:
    both = CliRunner().invoke(app, [command, "--data", str(btc), *SIM])
    assert both.exit_code == 2
    assert "exactly one of --data FILE or --sim SYMBOL" in both.stderr
    neither = CliRunner().invoke(app, [command])
    assert neither.exit_code == 2
    assert "exactly one of" in neither.stderr


def test_train_on_the_simulated_market_records_oos_metrics(traider_home: Path) -> None:
    runner = CliRunner()
    trained = runner.invoke(app, ["train", *SIM, "--model", "momentum", "--json"])
    assert trained.exit_code == 0, trained.output
    out = json.loads(trained.stdout)
    assert out["model_id"] == "momentum-1"
    assert Path(out["artifact"]) == traider_home / "models" / "momentum-1.json"
    assert Path(out["report"]) == traider_home / "reports" / "train-momentum-1.md"
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)["models"]
    params, metrics = listed[0]["params"], listed[0]["metrics"]
    assert params["features"] == {"timeframes": ["1m", "5m", "15m"], "base": "1m",
                                  "horizon_bars": 1}  # fmt: skip
    assert metrics["oos_accuracy"] == out["oos_accuracy"]
    assert {"oos_accuracy_ci", "profile", "trained_at_ns", "report", "rows"} <= set(metrics)
    assert "evaluate" in trained.stderr  # progress on stderr
    assert "artifact_sha256" in metrics  # the engine loads only this exact file
    # the operator sees the out-of-sample verdict where they decide
    approved = runner.invoke(app, ["models", "approve", "momentum-1", "--by", "alice"])
    assert approved.exit_code == 0, approved.output
    verdict = metrics["walk_forward"]["verdict"]
    assert verdict
    for line in verdict:
        assert f"out of sample: {line}" in approved.stderr


def test_train_refuses_timeframes_that_do_not_start_with_the_bars_own(traider_home: Path) -> None:
    result = CliRunner().invoke(app, ["train", *SIM, "--model", "momentum", "--timeframes", "5m"])
    assert result.exit_code == 2
    assert "list the bars' own timeframe first" in result.stderr


def test_models_retrain_registers_a_candidate_from_another_process(traider_home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["models", "retrain", "momentum", *SIM, "--by", "scheduler",
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["model_id"] == "momentum-1"
    assert out["state"] == "candidate"
    assert out["pid"] != os.getpid()  # trained in the pool's child, not here
    assert Path(out["report"]).is_file()
    assert Path(out["artifact"]).is_file()
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)["models"]
    assert listed[0]["history"][0]["by"] == "scheduler"
    assert listed[0]["metrics"]["oos_accuracy"] == out["oos_accuracy"]
    refused = runner.invoke(app, ["models", "approve", "momentum-1", "--by", "scheduler"])
    assert refused.exit_code != 0  # a scheduler may register, never approve


def test_models_retrain_exits_1_with_one_line_when_the_job_fails(traider_home: Path) -> None:
    result = CliRunner().invoke(app, ["models", "retrain", "momentum", "--sim", "BTC-USD",
                                      "--bars", "300"])  # fmt: skip
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("traider: retraining momentum failed:")
    assert "too few" in last


# --- --recording: bars with order-book aggregates from an L2 recording ----------------


@pytest.fixture(scope="module")
def short_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from traider.cli_replay import record_simulated

    path = tmp_path_factory.mktemp("rec") / "short.parquet"
    record_simulated(path, ("BTC-USD",), 150.0)  # 1 complete minute
    return path


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_short_recording_is_refused_saying_how_many_bars(
    command: str, short_recording: Path
) -> None:
    result = CliRunner().invoke(app, [command, "--recording", str(short_recording)])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.strip().splitlines() if not ln.startswith("[")]
    assert len(lines) == 1, result.stderr  # one line besides the replay's progress
    assert lines[0].startswith(f"traider: recording {short_recording} BTC-USD: 1 1m bars")
    need = 510 if command == "train" else 455  # 1m,5m warm-up + rows + horizon
    assert "too few bars: 1, but 1m,5m features, horizon 1 and" in lines[0]
    assert f"need at least {need}" in lines[0]


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_recording_is_a_third_exclusive_source(
    command: str, short_recording: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    csv = tmp_path / "bars.csv"
    csv.write_text("ts,open,high,low,close,volume\n")
    for other in (["--data", str(csv)], ["--sim", "BTC-USD"]):
        both = runner.invoke(app, [command, "--recording", str(short_recording), *other])
        assert both.exit_code == 2
        assert "exactly one of --data FILE or --sim SYMBOL, or --recording FILE" in both.stderr
    stray = runner.invoke(app, [command, "--sim", "BTC-USD", "--symbol", "ETH-USD"])
    assert stray.exit_code == 2
    assert "--symbol goes with --recording" in stray.stderr
    missing = runner.invoke(app, [command, "--recording", str(tmp_path / "nope.parquet")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    other_symbol = runner.invoke(app, [command, "--recording", str(short_recording),
                                       "--symbol", "ETH-USD"])  # fmt: skip
    assert other_symbol.exit_code == 2
    assert "no ETH-USD in it (it has BTC-USD)" in other_symbol.stderr


def test_bars_needed_is_exact_for_aligned_gap_free_bars() -> None:
    import numpy as np
    import polars as pl

    from traider.engine.models.training import (
        TEST_ROWS_PER_FOLD,
        TRAIN_MIN_ROWS,
        bars_needed,
        labelled_dataset,
    )

    rng = np.random.default_rng(1)
    for tfs, horizon, splits in [(("1m", "5m"), 1, 3), (("1m",), 2, 3), (("1m", "5m"), 1, 30)]:
        need = bars_needed(tfs, horizon, splits)
        for n, enough in ((need - 1, False), (need, True)):
            close = 100.0 * np.exp(np.cumsum(0.001 * rng.standard_normal(n)))
            bars = pl.DataFrame({"ts": np.arange(n, dtype=np.int64) * 60_000_000_000,
                                 "open": close, "high": close * 1.001, "low": close * 0.999,
                                 "close": close, "volume": np.ones(n)})  # fmt: skip
            rows = len(labelled_dataset(bars, tfs, horizon)[0])
            fits = rows - max(rows // 3, TRAIN_MIN_ROWS) >= splits * TEST_ROWS_PER_FOLD
            assert fits is enough, (tfs, horizon, splits, n, rows)


def test_train_on_a_recording_registers_microstructure_features(
    traider_home: Path, tmp_path: Path
) -> None:
    from traider.cli_replay import record_simulated

    path = tmp_path / "long.parquet"
    # 10 h of a slow market (3 events/s, 50 levels) records in ~1.5 s: 599 1m bars,
    # enough for the 510 that 1m,5m features and 3 folds need
    record_simulated(path, ("BTC-USD",), 10 * 3600.0, events_per_second=3.0,
                     levels_per_side=50, step_ms=1000)  # fmt: skip
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--recording", str(path), "--model", "xgboost",
                                  "--json"])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    out = json.loads(trained.stdout)
    assert out["model_id"] == "xgboost-1"
    assert "replaying long.parquet" in trained.stderr
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)["models"]
    features = listed[0]["metrics"]["profile"]["features"]
    assert {"ms_ofi", "ms_imbalance_5", "ms_spread_bps", "ms_microprice_dev_bps",
            "ms_trade_sign_imbalance", "ms_realized_vol"} <= set(features)  # fmt: skip
    assert "ret_1_5m" in features
    assert listed[0]["params"]["features"]["timeframes"] == ["1m", "5m"]
    assert json.loads(Path(out["artifact"]).read_text())["feature_names"] == features
    report = Path(out["report"]).read_text()
    assert f"recording {path} BTC-USD: 599 1m bars with order-book aggregates" in report
