"""Every PromQL expression in the Grafana dashboard and the Prometheus rules names metrics
and labels that `EngineMetrics` really exports: renaming a metric fails this test."""

from __future__ import annotations

import importlib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from traider.engine.core.bus import MessageBus
from traider.engine.core.clock import SimClock
from traider.engine.core.events import (
    Alert,
    BookResynced,
    BookStale,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from traider.engine.core.types import Liquidity, Severity, Side
from traider.engine.monitoring.metrics import EngineMetrics, MetricsRecorder, MetricsSnapshot

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "traider.json"
RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
SCRAPE = REPO / "deploy" / "prometheus" / "prometheus.yml"
T = 1_700_000_000_000_000_000

# series Prometheus adds itself, and labels it attaches to every scraped sample
BUILTIN_METRICS = {"up"}
BUILTIN_LABELS = {"job", "instance", "__name__"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset",
            "group_left", "group_right", "inf", "nan"}  # fmt: skip
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")


def exported() -> tuple[set[str], set[str]]:
    """(sample names, label names) after one observation of everything."""
    metrics = EngineMetrics()
    bus = MessageBus(SimClock())
    MetricsRecorder(bus, metrics, symbol_of=lambda _: "BTC-USD")
    bus.publish(OrderSubmitted(T, T, "c1"))
    bus.publish(OrderDenied(T, T, "c2", "BTC-USD", "order rate limit: more than 5/s"))
    bus.publish(OrderRejected(T, T, "c1", "post only would cross"))
    bus.publish(
        OrderFilled(
            ts_event=T,
            ts_init=T,
            client_order_id="c1",
            venue_order_id="v1",
            trade_id="t1",
            symbol="BTC-USD",
            side=Side.BUY,
            quantity=Decimal("0.01"),
            price=Decimal("50000"),
            fee=Decimal("0.1"),
            liquidity=Liquidity.MAKER,
        )
    )
    bus.publish(Alert(T, T, Severity.CRITICAL, "store", "store write failed: disk full"))
    bus.publish(BookStale(T, T, "BTC-USD", "gap"))
    bus.publish(BookResynced(T, T, "BTC-USD", 1))
    metrics.book_to_strategy_seconds.observe(2e-5)
    metrics.order_submit_to_wire_seconds.observe(3e-4)
    metrics.update_snapshot(
        MetricsSnapshot(
            equity_usd=5000.0,
            exposure_usd=(("BTC-USD", 100.0),),
            var_usd=(("parametric", 10.0),),
            kill_switch_engaged=True,
            health_level=1,
        )
    )
    names: set[str] = set()
    labels: set[str] = set()
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            names.add(sample.name)
            labels.update(sample.labels)
    return names, labels


def strip_promql(expr: str) -> tuple[str, set[str]]:
    """The expression without strings, label matchers, ranges and grouping clauses, and
    the label names those matchers and clauses use."""
    labels: set[str] = set()
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    for matchers in re.findall(r"\{([^}]*)\}", text):
        labels.update(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    for _, group in GROUPING.findall(text):
        labels.update(x.strip() for x in group.split(",") if x.strip())
    text = GROUPING.sub(" ", text)
    return text, labels


def metric_names(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) that a PromQL expression refers to."""
    m = re.fullmatch(r"\s*label_values\(\s*([a-zA-Z_:][\w:]*)[^,]*,\s*(\w+)\s*\)\s*", expr)
    if m:  # a Grafana template query, not PromQL
        return {m.group(1)}, {m.group(2)}
    text, labels = strip_promql(expr)
    names = {n for n in IDENT.findall(text) if n.lower() not in KEYWORDS}
    return names, labels


def walk(node: Any) -> list[str]:
    """Every PromQL expression in a Grafana dashboard: panel targets (also in nested row
    panels) and templating queries."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            is_query = key == "query" and isinstance(value, str) and "(" in value
            if (key == "expr" and isinstance(value, str)) or is_query:
                out.append(value)
            else:
                out.extend(walk(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(walk(item))
    return out


def dashboard_exprs() -> list[str]:
    return walk(json.loads(DASHBOARD.read_text()))


def rule_exprs() -> list[str]:
    text = RULES.read_text()
    exprs = [e.strip() for e in re.findall(r"^\s*expr:\s*(.+)$", text, re.M)]
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:  # PyYAML is optional: the line scan above is the contract
        return exprs
    doc = yaml.safe_load(text)
    parsed = [r["expr"] for g in doc["groups"] for r in g["rules"]]
    assert [str(e).strip() for e in parsed] == exprs, "keep each rule's expr on one line"
    assert all("alert" in r and "labels" in r for g in doc["groups"] for r in g["rules"])
    return exprs


def test_the_parser_finds_metric_names_and_labels() -> None:
    names, labels = metric_names(
        'histogram_quantile(0.99, sum by (le) (rate(traider_x_bucket{symbol=~"$symbol"}'
        "[$__rate_interval]))) / on(job) group_left up > 0.5 unless max(traider_y)"
    )
    assert names == {"traider_x_bucket", "up", "traider_y"}
    assert labels == {"le", "symbol", "job"}
    assert metric_names("label_values(traider_exposure_usd, symbol)") == (
        {"traider_exposure_usd"},
        {"symbol"},
    )


@pytest.mark.parametrize(
    ("source", "exprs"),
    [("grafana", dashboard_exprs), ("rules", rule_exprs)],
)
def test_every_expression_uses_exported_metrics(source: str, exprs: Any) -> None:
    names, labels = exported()
    found = exprs()
    assert len(found) >= 8, f"{source}: expected a real set of expressions"
    for expr in found:
        used, used_labels = metric_names(expr)
        assert used, f"{source}: no metric in {expr!r}"
        unknown = used - names - BUILTIN_METRICS
        assert not unknown, f"{source}: {sorted(unknown)} not exported; in {expr!r}"
        bad_labels = used_labels - labels - BUILTIN_LABELS
        assert not bad_labels, f"{source}: labels {sorted(bad_labels)} unknown; in {expr!r}"


def test_the_dashboard_covers_what_the_engine_exports() -> None:
    used: set[str] = set()
    for expr in dashboard_exprs():
        used |= metric_names(expr)[0]
    names, _ = exported()
    families = {re.sub(r"_(bucket|count|sum|created)$", "", n) for n in names}
    missing = {f for f in families if not any(u == f or u.startswith(f + "_") for u in used)}
    assert not missing, f"exported but on no panel: {sorted(missing)}"


def test_a_renamed_metric_would_fail() -> None:
    names, _ = exported()
    used, _ = metric_names("sum(rate(traider_fill_total[5m]))")
    assert used - names == {"traider_fill_total"}


def test_prometheus_scrapes_the_engine_port() -> None:
    text = SCRAPE.read_text()
    assert "job_name: traider" in text
    assert '"127.0.0.1:9464"' in text
    assert "alerts.yml" in text
