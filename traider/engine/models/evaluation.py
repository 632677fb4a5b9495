"""Walk-forward evaluation of a direction model: purged / embargoed splits, per-fold and
pooled scores against naive baselines, and a costed P&L of trading the model's calls.

Splits (López de Prado, *Advances in Financial Machine Learning*, ch. 7)
-----------------------------------------------------------------------
Samples are in time order; sample ``i`` is known at ``ts_ns[i]`` and its label depends on
prices up to ``label_end_ns[i]`` (the label window ``[ts, label_end]``). The first
``train_min`` samples only ever train; the rest is cut into ``n_splits`` contiguous test
blocks that cover the tail. Each block's **test window** is ``[ts of its first sample,
latest label_end of its samples]``.

* **Purge**: a training sample whose label window overlaps the test window (closed
  intervals: ``ts_i ≤ test_end`` and ``label_end_i ≥ test_start``) is dropped, since its
  label was formed from prices the test period also sees.
* **Embargo**: with ``train_after_test=True`` (purged k-fold: every non-test sample is a
  training candidate), samples *starting* within ``embargo_ns`` after the test window
  (``test_end < ts_i ≤ test_end + embargo_ns``) are dropped too, against serial
  correlation leaking the test period into the features of what follows it.

The default is a pure forward walk with an expanding window: training is every sample
before the test block, so the embargo can never bite (nothing after the test trains) and
the purge is what matters: with next-bar labels it drops the last training sample, whose
label ends where the test block starts.

P&L
---
See :func:`~traider.engine.models.evaluation_stats.simulate_pnl`: long/flat by default
(spot; ``allow_short=True`` for ±1), a unit notional, the next bar's simple return, and
``fee + half spread`` charged on every unit of position change. The test blocks are traded
as one continuous series, starting flat. Buy-and-hold is long on every test bar and pays
the entry once. The Sharpe ratios are per bar and annualised with the bar spacing
(365-day years); PSR is against ``SR* = 0`` and DSR against the expected best of
``n_trials`` unskilled trials.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from traider.engine.models.evaluation_stats import (
    ClassMetrics,
    PnLPath,
    class_metrics,
    deflated_sharpe_ratio,
    majority_baseline,
    persistence_baseline,
    probabilistic_sharpe_ratio,
    random_baseline,
    sharpe,
    simulate_pnl,
)

__all__ = [
    "BASELINES",
    "DatasetLike",
    "EvaluationReport",
    "FitPredict",
    "FoldReport",
    "PnLReport",
    "evaluate",
    "walk_forward_splits",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Split = tuple[IntArray, IntArray]
# fit on (train X, train y), return a predictor of prob_up for new rows of X
FitPredict = Callable[[npt.NDArray[Any], IntArray], Callable[[npt.NDArray[Any]], npt.ArrayLike]]

BASELINES = ("majority", "persistence", "random")
NS_PER_YEAR = 365 * 24 * 3_600 * 1_000_000_000


class DatasetLike(Protocol):
    """What :func:`evaluate` reads of a dataset (``traider.engine.models.base.Dataset``)."""

    @property
    def X(self) -> npt.NDArray[Any]: ...
    @property
    def y(self) -> npt.NDArray[Any]: ...
    @property
    def ts_ns(self) -> npt.NDArray[Any]: ...


def walk_forward_splits(
    ts_ns: npt.ArrayLike,
    label_end_ns: npt.ArrayLike,
    n_splits: int,
    train_min: int,
    embargo_ns: int = 0,
    *,
    train_after_test: bool = False,
) -> list[Split]:
    """``[(train_idx, test_idx), ...]`` in time order: purged (and embargoed) walk-forward
    folds over samples sorted by ``ts_ns`` (see the module docstring)."""
    ts = np.asarray(ts_ns, dtype=np.int64).ravel()
    end = np.asarray(label_end_ns, dtype=np.int64).ravel()
    n = ts.size
    if end.size != n:
        raise ValueError("ts_ns and label_end_ns differ in length")
    if n and (np.any(np.diff(ts) < 0) or np.any(end < ts)):
        raise ValueError("ts_ns must be non-decreasing and label_end_ns >= ts_ns")
    if n_splits < 1 or train_min < 1 or embargo_ns < 0:
        raise ValueError("need n_splits >= 1, train_min >= 1, embargo_ns >= 0")
    if n - train_min < n_splits:
        raise ValueError(f"{n} samples leave fewer than {n_splits} test samples")
    splits: list[Split] = []
    for test in np.array_split(np.arange(train_min, n, dtype=np.int64), n_splits):
        a, b = int(test[0]), int(test[-1]) + 1
        start, stop = int(ts[a]), int(end[a:b].max())
        cand = np.arange(a, dtype=np.int64)
        if train_after_test:
            cand = np.concatenate([cand, np.arange(b, n, dtype=np.int64)])
        # purging against [start, stop + embargo] is the purge plus the embargo: a
        # later sample overlaps the extended window iff it starts within the embargo
        drop = (ts[cand] <= stop + embargo_ns) & (end[cand] >= start)
        splits.append((cand[~drop], test))
    return splits


@dataclass(frozen=True, slots=True)
class FoldReport:
    fold: int
    n_train: int
    train_start_ns: int
    train_end_ns: int
    test_start_ns: int
    test_end_ns: int
    model: ClassMetrics
    baselines: dict[str, ClassMetrics]

    def as_dict(self) -> dict[str, Any]:
        return {
            "fold": self.fold,
            "n_train": self.n_train,
            "n_test": self.model.n,
            "train_start_ns": self.train_start_ns,
            "train_end_ns": self.train_end_ns,
            "test_start_ns": self.test_start_ns,
            "test_end_ns": self.test_end_ns,
            "model": self.model.as_dict(),
            "baselines": {k: self.baselines[k].as_dict() for k in BASELINES},
        }


@dataclass(frozen=True, slots=True)
class PnLReport:
    """The traded test bars; returns are fractions of the unit notional."""

    ts_ns: IntArray = field(repr=False)
    strategy: PnLPath = field(repr=False)
    buy_hold: PnLPath = field(repr=False)
    periods_per_year: float
    n_trials: int
    sr_benchmark: float  # SR* of the DSR, per bar
    psr: float | None
    dsr: float | None

    def _side(self, path: PnLPath) -> dict[str, Any]:
        net = path.net
        return {
            "total_return": float(net.sum()),
            "gross_return": float(path.gross.sum()),
            "costs": float(path.cost.sum()),
            "position_changes": path.n_changes,
            "exposure": float(np.abs(path.position).mean()) if net.size else 0.0,
            "sharpe": sharpe(net),
            "sharpe_annualised": sharpe(net, self.periods_per_year),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_bars": int(self.ts_ns.size),
            "periods_per_year": self.periods_per_year,
            "strategy": self._side(self.strategy) | {"psr": self.psr, "dsr": self.dsr},
            "buy_hold": self._side(self.buy_hold)
            | {"psr": probabilistic_sharpe_ratio(self.buy_hold.net)},
            "n_trials": self.n_trials,
            "dsr_sr_benchmark": self.sr_benchmark,
        }


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    folds: list[FoldReport]
    pooled: ClassMetrics
    pooled_baselines: dict[str, ClassMetrics]
    pnl: PnLReport | None
    settings: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "settings": dict(self.settings),
            "folds": [f.as_dict() for f in self.folds],
            "pooled": {
                "model": self.pooled.as_dict(),
                "baselines": {k: self.pooled_baselines[k].as_dict() for k in BASELINES},
            },
            "pnl": None if self.pnl is None else self.pnl.as_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, indent=2)

    def to_table(self) -> str:
        base_head = " ".join(f"{b[:5]:>6}" for b in BASELINES)
        lines = [
            "walk-forward folds (baseline columns: accuracy)",
            f"{'fold':>4} {'train':>7} {'test period (UTC)':<34}{_HEAD}  {base_head}",
        ]
        for f in self.folds:
            period = f"{_fmt_ts(f.test_start_ns)} .. {_fmt_ts(f.test_end_ns)}"
            base = " ".join(f"{f.baselines[b].accuracy:6.3f}" for b in BASELINES)
            lines.append(f"{f.fold:>4} {f.n_train:>7} {period:<34}{_row(f.model)}  {base}")
        lines += ["", "pooled test samples", f"{'':<12}{_HEAD}"]
        for name, m in [("model", self.pooled), *self.pooled_baselines.items()]:
            lines.append(f"{name:<12}{_row(m)}")
        if self.pnl is not None:
            d = self.pnl.as_dict()
            lines += ["", _pnl_header(self.settings)]
            lines.append(f"{'':<14}{'net':>9}{'gross':>9}{'costs':>9}{'changes':>8}"
                         f"{'expo':>6}{'SR/bar':>8}{'SR/yr':>7}{'PSR':>6}{'DSR':>6}")  # fmt: skip
            for name in ("strategy", "buy_hold"):
                s = d[name]
                lines.append(
                    f"{name:<14}{s['total_return']:>9.4f}{s['gross_return']:>9.4f}"
                    f"{s['costs']:>9.4f}{s['position_changes']:>8}{s['exposure']:>6.2f}"
                    f"{_num(s['sharpe'], 4, 8)}{_num(s['sharpe_annualised'], 2, 7)}"
                    f"{_num(s['psr'], 3, 6)}{_num(s.get('dsr'), 3, 6)}"
                )
            lines.append(f"DSR: {d['n_trials']} trial(s), SR* = {d['dsr_sr_benchmark']:.4f}/bar")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Cumulative P&L of the strategy vs buy-and-hold over the test bars, as a PNG.
        matplotlib's object API on the Agg canvas (no pyplot), imported only here."""
        if self.pnl is None:
            raise ValueError("no P&L: evaluate() was given no forward_returns")
        import matplotlib.dates as mdates
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        times = mdates.date2num(self.pnl.ts_ns.astype("datetime64[ns]"))  # type: ignore[no-untyped-call]
        fig = Figure(figsize=(10, 4.5), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(times, np.cumsum(self.pnl.strategy.net), label="strategy (net of costs)")
        ax.plot(times, np.cumsum(self.pnl.buy_hold.net), label="buy & hold", ls="--", c="gray")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.xaxis_date(tz=UTC)
        ax.set_title("walk-forward test bars: cumulative return on a unit notional")
        ax.set(xlabel="time (UTC)", ylabel="cumulative return")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out, format="png")
        return out


def _fmt_ts(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _num(v: float | None, digits: int, width: int) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.{digits}f}"


_HEAD = f"{'n':>6} {'acc':>6} {'95% CI':>15} {'bal':>6} {'logloss':>8} {'brier':>6}"


def _row(m: ClassMetrics) -> str:
    ci = f"[{m.accuracy_low:.3f},{m.accuracy_high:.3f}]"
    return (f"{m.n:>6} {m.accuracy:6.3f} {ci:>15} {m.balanced_accuracy:6.3f} "
            f"{m.log_loss:8.4f} {m.brier:6.4f}")  # fmt: skip


def _pnl_header(s: dict[str, Any]) -> str:
    side = "long/short" if s["allow_short"] else "long/flat"
    return (f"P&L ({side}, band {s['band']}, fee {s['fee_bps']} bps + half spread "
            f"{s['spread_bps']}/2 bps per unit of position change)")  # fmt: skip


def _metrics(y: npt.ArrayLike, p: npt.ArrayLike, h: npt.ArrayLike | None, c: float) -> ClassMetrics:
    m = class_metrics(y, p, h, c)
    if m is None:
        raise ValueError("a fold has no test samples")
    return m


def evaluate(
    fit_predict: FitPredict,
    dataset: DatasetLike,
    splits: Sequence[Split],
    fee_bps: float,
    spread_bps: float,
    *,
    forward_returns: npt.ArrayLike | None = None,
    band: float = 0.0,
    allow_short: bool = False,
    n_trials: int = 1,
    sr_trials_variance: float | None = None,
    periods_per_year: float | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> EvaluationReport:
    """Fit on each fold's training rows, predict ``prob_up`` on its test rows, and score.

    ``forward_returns[i]`` is the simple return that sample ``i``'s label is the direction
    of (the next bar's); without it there is no P&L section. ``n_trials`` is how many
    model / parameter variants were tried before this one (for the DSR);
    ``sr_trials_variance`` the variance of their per-bar Sharpe ratios (default: the
    null variance ``1/(n−1)``). ``periods_per_year`` defaults to a 365-day year over the
    median spacing of the test bars.
    """
    X = np.asarray(dataset.X)  # dtype kept: the model layer uses float32
    y = np.asarray(dataset.y, dtype=np.int64).ravel()
    ts = np.asarray(dataset.ts_ns, dtype=np.int64).ravel()
    if not (len(X) == y.size == ts.size) or not splits:
        raise ValueError("X, y and ts_ns differ in length, or there are no splits")
    folds: list[FoldReport] = []
    keys = ["y", "p", *(b + s for b in BASELINES for s in ("_h", "_p"))]
    pooled: dict[str, list[npt.NDArray[Any]]] = {key: [] for key in keys}
    for k, (train, test) in enumerate(splits):
        if train.size == 0 or test.size == 0 or int(test[0]) < 1:
            raise ValueError(f"fold {k}: empty train/test, or a test set at sample 0")
        predict = fit_predict(X[train], y[train])
        prob = np.asarray(predict(X[test]), dtype=np.float64).ravel()
        if prob.size != test.size or not np.all((prob >= 0.0) & (prob <= 1.0)):
            raise ValueError(f"fold {k}: predictor must return one prob_up in [0, 1] per row")
        yt = y[test]
        base = {
            "majority": majority_baseline(y[train], test.size),
            "persistence": persistence_baseline(y[test - 1], y[train]),
            "random": random_baseline(test.size, seed + k),
        }
        folds.append(FoldReport(
            k, int(train.size), int(ts[train].min()), int(ts[train].max()),
            int(ts[test].min()), int(ts[test].max()), _metrics(yt, prob, None, confidence),
            {b: _metrics(yt, p, h, confidence) for b, (h, p) in base.items()},
        ))  # fmt: skip
        pooled["y"].append(yt)
        pooled["p"].append(prob)
        for b, (h, p) in base.items():
            pooled[b + "_h"].append(h)
            pooled[b + "_p"].append(p)
    cat: dict[str, npt.NDArray[Any]] = {key: np.concatenate(v) for key, v in pooled.items()}
    settings: dict[str, Any] = {
        "fee_bps": fee_bps, "spread_bps": spread_bps, "band": band,
        "allow_short": allow_short, "n_trials": n_trials, "n_splits": len(splits),
        "confidence": confidence, "seed": seed, "periods_per_year": periods_per_year,
        "sr_trials_variance": sr_trials_variance,
    }  # fmt: skip
    pnl = None
    if forward_returns is not None:
        fwd = np.asarray(forward_returns, dtype=np.float64).ravel()
        if fwd.size != y.size:
            raise ValueError("forward_returns must have one return per sample")
        pnl = _pnl(splits, cat["p"], fwd, ts, settings)
    return EvaluationReport(
        folds,
        _metrics(cat["y"], cat["p"], None, confidence),
        {b: _metrics(cat["y"], cat[b + "_p"], cat[b + "_h"], confidence) for b in BASELINES},
        pnl,
        settings,
    )


def _pnl(splits: Sequence[Split], prob: FloatArray, fwd: FloatArray, ts: IntArray,
         s: dict[str, Any]) -> PnLReport:  # fmt: skip
    idx = np.concatenate([test for _, test in splits])
    order = np.argsort(idx, kind="stable")
    idx, prob = idx[order], prob[order]
    if np.any(np.diff(idx) == 0):
        raise ValueError("test sets overlap: a bar cannot be traded twice")
    r = fwd[idx]
    if not np.all(np.isfinite(r)):
        raise ValueError("forward_returns of test samples must be finite")
    strat = simulate_pnl(prob, r, s["fee_bps"], s["spread_bps"], s["band"], s["allow_short"])
    hold = simulate_pnl(np.ones_like(r), r, s["fee_bps"], s["spread_bps"])
    periods_per_year = s["periods_per_year"]
    if periods_per_year is None:
        step = float(np.median(np.diff(ts[idx]))) if idx.size > 1 else 0.0
        periods_per_year = NS_PER_YEAR / step if step > 0 else 1.0
    dsr, sr_star = deflated_sharpe_ratio(strat.net, s["n_trials"], s["sr_trials_variance"])
    psr = probabilistic_sharpe_ratio(strat.net)
    return PnLReport(ts[idx], strat, hold, periods_per_year, s["n_trials"], sr_star, psr, dsr)
