"""Walk-forward reports on disk: `{stem}.md` for people, `{stem}.json` for programs (the
same numbers, stable keys) and `{stem}.png` (cumulative P&L after costs against
buy-and-hold, `EvaluationReport.plot`).

`traider evaluate`, `traider train` and every retraining job write one, so a candidate in
the registry always points at the evidence it was judged on. The "read this" section
says in words what the numbers allow one to conclude: mostly, on real next-bar data,
that there is no edge after costs; and that an accuracy far above 55-60% is a leak, not
a discovery.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from traider.engine.models.evaluation import BASELINES, EvaluationReport

__all__ = ["LEAK_ACCURACY", "ReportFiles", "summarise", "summary_table", "write_report"]

# the CI's lower end above this, on next-bar direction of a real market, is a leak
LEAK_ACCURACY = 0.60
# a DSR below this does not reject "no skill" at the usual 5% level
DSR_SIGNIFICANT = 0.95


@dataclass(frozen=True, slots=True)
class ReportFiles:
    markdown: Path
    json: Path
    chart: Path | None  # None when the evaluation had no P&L to plot

    def as_dict(self) -> dict[str, str | None]:
        return {
            "markdown": str(self.markdown),
            "json": str(self.json),
            "chart": None if self.chart is None else str(self.chart),
        }


def summarise(report: EvaluationReport) -> dict[str, Any]:
    """The headline numbers of one model's walk-forward, flat enough for a table and the
    registry's metrics: pooled accuracy with its CI, the baselines' accuracy, and the
    P&L after costs against buy-and-hold (None without forward returns)."""
    m = report.pooled
    baselines = {b: report.pooled_baselines[b].accuracy for b in BASELINES}
    out: dict[str, Any] = {
        "n": m.n,
        "accuracy": m.accuracy,
        "accuracy_ci": [m.accuracy_low, m.accuracy_high],
        "balanced_accuracy": m.balanced_accuracy,
        "log_loss": m.log_loss,
        "brier": m.brier,
        "baselines": baselines,
        "edge_vs_majority": m.accuracy - baselines["majority"],
        "pnl": None,
    }
    if report.pnl is not None:
        d = report.pnl.as_dict()
        strat, hold = d["strategy"], d["buy_hold"]
        out["pnl"] = {
            "net": strat["total_return"],
            "gross": strat["gross_return"],
            "costs": strat["costs"],
            "position_changes": strat["position_changes"],
            "exposure": strat["exposure"],
            "sharpe_annualised": strat["sharpe_annualised"],
            "psr": strat["psr"],
            "dsr": strat["dsr"],
            "n_trials": d["n_trials"],
            "buy_hold_net": hold["total_return"],
            "buy_hold_sharpe_annualised": hold["sharpe_annualised"],
        }
    out["verdict"] = _verdict(out)
    return out


def _verdict(s: Mapping[str, Any]) -> list[str]:
    """One sentence per judgement, from the summary's numbers only."""
    lo, hi = s["accuracy_ci"]
    majority = s["baselines"]["majority"]
    lines: list[str] = []
    if lo > LEAK_ACCURACY:
        lines.append(
            f"SUSPICIOUS: even the low end of the accuracy CI ({lo:.3f}) is above "
            f"{LEAK_ACCURACY:.2f}; next-bar direction is not that predictable, so look for "
            "leakage (features that see the future, overlapping labels) before trusting it."
        )
    elif lo <= majority <= hi:
        lines.append(
            f"No evidence of skill: the accuracy CI [{lo:.3f}, {hi:.3f}] contains the "
            f"majority baseline ({majority:.3f})."
        )
    elif s["accuracy"] > majority:
        lines.append(
            f"Beats the majority baseline by {100 * (s['accuracy'] - majority):.1f} points "
            "(its CI excludes it); check the P&L before calling that an edge."
        )
    else:
        lines.append(f"Worse than always predicting the majority class ({majority:.3f}).")
    pnl = s["pnl"]
    if pnl is None:
        return lines
    net, hold = pnl["net"], pnl["buy_hold_net"]
    if pnl["position_changes"] == 0:
        lines.append(f"Never trades (always flat): no P&L (buy-and-hold {hold:+.4f}).")
    elif net <= 0:
        lines.append(f"Loses after costs: {net:+.4f} (buy-and-hold {hold:+.4f}).")
    elif net < hold:
        lines.append(f"Makes {net:+.4f} after costs, less than buy-and-hold ({hold:+.4f}).")
    else:
        lines.append(f"Makes {net:+.4f} after costs, more than buy-and-hold ({hold:+.4f}).")
    dsr = pnl["dsr"]
    if dsr is not None and net > 0:
        significant = "significant" if dsr >= DSR_SIGNIFICANT else "not significant"
        lines.append(
            f"Deflated Sharpe {dsr:.3f} over {pnl['n_trials']} trial(s): {significant} "
            f"at {DSR_SIGNIFICANT:.2f}."
        )
    return lines


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None or not math.isfinite(v) else format(v, fmt)


def summary_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """A fixed-width table of `summarise` outputs, one row per model."""
    head = (f"{'model':<16}{'n':>7}{'acc':>7}{'95% CI':>16}{'major':>7}{'persist':>8}"
            f"{'logloss':>9}{'net P&L':>9}{'B&H':>9}{'SR/yr':>9}{'PSR':>7}{'DSR':>7}")  # fmt: skip
    lines = [head]
    for name, s in summaries.items():
        lo, hi = s["accuracy_ci"]
        pnl = s["pnl"] or {}
        lines.append(
            f"{name:<16}{s['n']:>7}{s['accuracy']:>7.3f}{f'[{lo:.3f},{hi:.3f}]':>16}"
            f"{s['baselines']['majority']:>7.3f}{s['baselines']['persistence']:>8.3f}"
            f"{s['log_loss']:>9.4f}{_num(pnl.get('net'), '+.4f'):>9}"
            f"{_num(pnl.get('buy_hold_net'), '+.4f'):>9}"
            f"{_num(pnl.get('sharpe_annualised'), '.2f'):>9}"
            f"{_num(pnl.get('psr'), '.3f'):>7}{_num(pnl.get('dsr'), '.3f'):>7}"
        )
    return "\n".join(lines)


def _utc(ns: int | None) -> str:
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


_READ_THIS = (
    "Accuracy is next-bar direction on walk-forward test blocks the model never trained "
    "on (purged, so no training label overlaps a test bar). On real markets an honest "
    "model lands around 50-55%; **next-bar accuracy far above 55-60% on real data means "
    "leakage**, not skill: features computed with future bars, labels that overlap "
    "training, or a data error. A simulated random walk (`--sim`) has no edge to find, "
    "so ~50% is the right answer there and anything else is a bug or noise. Compare with "
    "the baselines: a model that does not beat *majority* (always the more common "
    "direction of its training data) has learned nothing useful. Accuracy is not money: "
    "the P&L trades long/flat on the model's calls and pays the fee and half the spread "
    "on every position change, which usually eats a small edge; the DSR discounts the "
    "Sharpe ratio for the number of models tried, and only a DSR near 1 is evidence."
)


def _data_notes(report: EvaluationReport) -> list[str]:
    """What the baselines say about the data itself (the same for every model)."""
    persistence = report.pooled_baselines["persistence"]
    lo, hi = persistence.accuracy_low, persistence.accuracy_high
    if lo <= 0.5 <= hi:
        return []
    kind = "reverses" if hi < 0.5 else "continues"
    return [
        f"The data: the persistence baseline scores {persistence.accuracy:.3f} [{lo:.3f}, "
        f"{hi:.3f}], so the next bar {kind} the last one's direction more often than "
        "chance (for a reversal, often bid-ask bounce). A model can learn that much; "
        "whether it pays for the costs is what the P&L column says."
    ]


def _markdown(
    title: str,
    data: Mapping[str, Any],
    reports: Mapping[str, EvaluationReport],
    summaries: Mapping[str, Mapping[str, Any]],
    chart: Path | None,
    notes: Sequence[str],
) -> str:
    first = next(iter(reports.values()))
    settings = first.settings
    window = f"{_utc(data.get('start_ns'))} → {_utc(data.get('end_ns'))}"
    label = f"direction {data.get('horizon_bars', 1)} bar(s) of {data.get('base', '?')} ahead"
    rows = [
        ("source", data.get("source", "-")),
        ("rows (labelled)", data.get("rows", "-")),
        ("window (bar open)", window),
        ("timeframes", ", ".join(data.get("timeframes", [])) or "-"),
        ("label", label),
        ("walk-forward folds", len(first.folds)),
        ("costs", f"fee {settings['fee_bps']} bps + half of a {settings['spread_bps']} bps "
                  "spread per unit of position change"),
        ("trials (for the DSR)", settings["n_trials"]),
    ]  # fmt: skip
    out = [f"# {title}", "", "## Data", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    out += ["", "## Summary (pooled out-of-sample)", "", "```", summary_table(summaries), "```"]
    out += ["", "## Read this", "", _READ_THIS, ""]
    for name, s in summaries.items():
        out.append(f"- **{name}**: " + " ".join(s["verdict"]))
    out += [f"- {n}" for n in [*_data_notes(first), *notes]]
    if chart is not None:
        out += ["", "## Cumulative P&L after costs vs buy-and-hold", "", f"![P&L]({chart.name})"]
    out += ["", "## Per model: folds, baselines, P&L", ""]
    for name, report in reports.items():
        out += [f"### {name}", "", "```", report.to_table(), "```", ""]
    return "\n".join(out)


def write_report(
    out_dir: Path,
    stem: str,
    *,
    title: str,
    data: Mapping[str, Any],
    reports: Mapping[str, EvaluationReport],
    chart_model: str | None = None,
    notes: Sequence[str] = (),
) -> ReportFiles:
    """Write `{out_dir}/{stem}.md`, `.json` and `.png`. `data` describes the input
    (source, rows, start_ns, end_ns, timeframes, base, horizon_bars); the chart plots
    `chart_model` (default: the last report, e.g. the ensemble)."""
    if not reports:
        raise ValueError("no evaluation reports to write")
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = {name: summarise(r) for name, r in reports.items()}
    plotted = reports[chart_model] if chart_model is not None else list(reports.values())[-1]
    chart = plotted.plot(out_dir / f"{stem}.png") if plotted.pnl is not None else None
    md = out_dir / f"{stem}.md"
    js = out_dir / f"{stem}.json"
    doc = {
        "title": title,
        "generated_at_ns": time.time_ns(),
        "data": dict(data),
        "chart": None if chart is None else str(chart),
        "chart_model": chart_model or list(reports)[-1],
        "markdown": str(md),
        "notes": list(notes),
        "models": {
            name: {"summary": summaries[name], "evaluation": r.as_dict()}
            for name, r in reports.items()
        },
    }
    _write_text(js, json.dumps(doc, sort_keys=True, indent=2))
    _write_text(md, _markdown(title, data, reports, summaries, chart, notes))
    return ReportFiles(md, js, chart)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")  # readers never see half a report
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
