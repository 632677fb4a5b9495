"""Walk-forward reports: markdown, JSON and chart on disk, and a verdict that calls an
impossible accuracy a leak and a chance-level one what it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from traider.engine.models.base import Dataset
from traider.engine.models.evaluation import EvaluationReport, evaluate, walk_forward_splits
from traider.engine.models.report import summarise, summary_table, write_report
from traider.engine.models.training import fit_predict_for
from traider.testing.datasets import random_walk


def _evaluate(dataset: Dataset, fit_predict: Any, n_trials: int = 1) -> EvaluationReport:
    n = len(dataset)
    folds = walk_forward_splits(dataset.ts_ns, dataset.ts_ns + 1, 3, train_min=n // 3)
    fwd = np.random.default_rng(0).normal(0.0, 0.01, n)
    return evaluate(fit_predict, dataset, folds, 40.0, 2.0, forward_returns=fwd,
                    n_trials=n_trials)  # fmt: skip


@pytest.fixture(scope="module")
def walk() -> Dataset:
    return random_walk(1500)


def test_write_report_writes_markdown_json_and_chart(walk: Dataset, tmp_path: Path) -> None:
    reports = {
        name: _evaluate(walk, fit_predict_for(name, walk.feature_names), n_trials=2)
        for name in ("momentum", "mean_reversion")
    }
    data = {"source": "random walk", "rows": len(walk), "start_ns": int(walk.ts_ns[0]),
            "end_ns": int(walk.ts_ns[-1]), "timeframes": ["1h"], "base": "1h",
            "horizon_bars": 1}  # fmt: skip
    files = write_report(tmp_path / "r", "eval-walk", title="walk", data=data, reports=reports)
    assert files.markdown == tmp_path / "r" / "eval-walk.md"
    assert files.chart is not None
    assert files.chart.stat().st_size > 5_000
    md = files.markdown.read_text()
    for text in ("# walk", "## Read this", "leakage", "momentum", "mean_reversion",
                 "majority", "buy_hold", "DSR", "random walk", "eval-walk.png"):  # fmt: skip
        assert text in md, text
    doc = json.loads(files.json.read_text())
    assert set(doc) >= {"title", "data", "chart", "markdown", "models", "generated_at_ns"}
    assert doc["data"]["source"] == "random walk"
    assert doc["chart_model"] == "mean_reversion"  # the last one by default
    summary = doc["models"]["momentum"]["summary"]
    assert set(summary) >= {"accuracy", "accuracy_ci", "baselines", "edge_vs_majority",
                            "log_loss", "pnl", "verdict"}  # fmt: skip
    assert set(summary["pnl"]) >= {"net", "buy_hold_net", "psr", "dsr", "sharpe_annualised"}
    assert summary["accuracy"] == reports["momentum"].pooled.accuracy
    assert doc["models"]["momentum"]["evaluation"]["settings"]["n_trials"] == 2


def test_a_chance_level_model_is_called_unskilled(walk: Dataset) -> None:
    s = summarise(_evaluate(walk, fit_predict_for("momentum", walk.feature_names)))
    lo, hi = s["accuracy_ci"]
    assert lo < 0.5 < hi
    assert any("No evidence of skill" in line or "majority" in line for line in s["verdict"])
    assert not any("SUSPICIOUS" in line for line in s["verdict"])


def test_an_impossible_accuracy_is_called_a_leak(walk: Dataset) -> None:
    # the label smuggled in as feature 0: what a look-ahead bug does
    leaky = Dataset(np.column_stack([walk.y, walk.X]).astype(np.float32), walk.y,
                    ("label", *walk.feature_names), walk.ts_ns)  # fmt: skip

    def fit_predict(X: Any, y: Any) -> Any:
        return lambda X_test: np.clip(X_test[:, 0], 0.0, 1.0)

    s = summarise(_evaluate(leaky, fit_predict))
    assert s["accuracy"] == 1.0
    assert "SUSPICIOUS" in s["verdict"][0]
    assert "leakage" in s["verdict"][0]


def test_summary_table_has_one_row_per_model(walk: Dataset) -> None:
    s = summarise(_evaluate(walk, fit_predict_for("momentum", walk.feature_names)))
    table = summary_table({"momentum": s, "again": s}).splitlines()
    assert len(table) == 3
    assert table[1].startswith("momentum")
    assert table[2].startswith("again")
    assert "DSR" in table[0]
