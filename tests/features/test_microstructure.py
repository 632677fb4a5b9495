from __future__ import annotations

import math
import random
from dataclasses import astuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traider.engine.core.events import BookDelta, BookSnapshot, TradeTick
from traider.engine.core.types import BookSide, Side
from traider.engine.features import FeatureVector, MicropriceModel, MicrostructureFeatures
from traider.engine.marketdata.book import L2Book

SYM = "BTC-USD"
BID, ASK = BookSide.BID, BookSide.ASK
S = 1_000_000_000  # one second in ns


class Feed:
    """A book plus features, fed event by event with explicit times."""

    def __init__(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]], **kw):
        kw.setdefault("window_ns", 10 * S)
        self.book = L2Book(SYM)
        self.f = MicrostructureFeatures(SYM, **kw)
        self.seq = 0
        self.trade_id = 0
        self.book.apply_snapshot(BookSnapshot(0, 0, SYM, 0, tuple(bids), tuple(asks)))
        self.f.on_book(self.book, 0)

    def delta(self, side: BookSide, price: float, size: float, ts: int = 0) -> FeatureVector:
        self.seq += 1
        assert self.book.apply_delta(BookDelta(ts, ts, SYM, self.seq, side, price, size))
        self.f.on_book(self.book, ts)
        return self.f.vector()

    def trade(self, side: Side, size: float, price: float = 100.0, ts: int = 0) -> FeatureVector:
        self.trade_id += 1
        self.f.on_trade(TradeTick(ts, ts, SYM, self.trade_id, price, size, side))
        return self.f.vector()

    def shift(self, delta: float, ts: int = 0) -> None:
        """Move the whole 1-level book (one bid, one ask) by `delta` without crossing."""
        bb, ba = self.book.best_bid(), self.book.best_ask()
        assert bb is not None
        assert ba is not None
        (pb, qb), (pa, qa) = bb, ba
        if delta > 0:
            self.delta(ASK, pa + delta, qa, ts)
            self.delta(ASK, pa, 0.0, ts)
            self.delta(BID, pb + delta, qb, ts)
            self.delta(BID, pb, 0.0, ts)
        else:
            self.delta(BID, pb + delta, qb, ts)
            self.delta(BID, pb, 0.0, ts)
            self.delta(ASK, pa + delta, qa, ts)
            self.delta(ASK, pa, 0.0, ts)


def cks(prev: tuple[float, float, float, float], cur: tuple[float, float, float, float]) -> float:
    """The CKS formula, written literally: (bid px, bid qty, ask px, ask qty) before/after."""
    pb0, qb0, pa0, qa0 = prev
    pb1, qb1, pa1, qa1 = cur
    return (pb1 >= pb0) * qb1 - (pb1 <= pb0) * qb0 - (pa1 <= pa0) * qa1 + (pa1 >= pa0) * qa0


# --- OFI -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bid_move", "ask_move", "expected"),
    [
        # before: bid 100 x 2, ask 102 x 3; after: bid (100+bid_move) x 5, ask (102+ask_move) x 7
        (+1, +1, 5 + 3),  # bid up: +qb_n; ask up: +qa_n-1
        (+1, 0, 5 - 7 + 3),  # ask same: -qa_n + qa_n-1
        (+1, -1, 5 - 7),  # ask down: -qa_n
        (0, +1, 5 - 2 + 3),  # bid same: qb_n - qb_n-1
        (0, 0, 5 - 2 - 7 + 3),
        (0, -1, 5 - 2 - 7),
        (-1, +1, -2 + 3),  # bid down: -qb_n-1
        (-1, 0, -2 - 7 + 3),
        (-1, -1, -2 - 7),
    ],
)
def test_cks_formula_nine_cases(bid_move: int, ask_move: int, expected: float) -> None:
    assert cks((100, 2, 102, 3), (100 + bid_move, 5, 102 + ask_move, 7)) == expected


def test_ofi_each_indicator_through_the_book() -> None:
    feed = Feed([(100.0, 2.0), (99.0, 4.0)], [(102.0, 3.0), (103.0, 6.0)])
    assert feed.delta(BID, 101.0, 5.0).ofi == 5.0  # bid price up: + new size
    assert feed.delta(BID, 101.0, 7.0).ofi == 2.0  # same bid price: size 5 -> 7
    assert feed.delta(BID, 101.0, 1.0).ofi == -6.0  # same bid price: size 7 -> 1
    assert feed.delta(BID, 101.0, 0.0).ofi == -1.0  # bid price down (101 -> 100): - old size
    assert feed.delta(ASK, 101.5, 4.0).ofi == -4.0  # ask price down: - new size
    assert feed.delta(ASK, 101.5, 1.0).ofi == 3.0  # same ask price: size 4 -> 1
    assert feed.delta(ASK, 101.5, 9.0).ofi == -8.0  # same ask price: size 1 -> 9
    assert feed.delta(ASK, 101.5, 0.0).ofi == 9.0  # ask price up (101.5 -> 102): + old size
    v = feed.delta(ASK, 110.0, 1.0)  # deep level: top of book unchanged
    assert v.ofi == 0.0
    assert v.ofi_window == pytest.approx(5 + 2 - 6 - 1 - 4 + 3 - 8 + 9)


def test_mlofi_two_levels_and_window() -> None:
    feed = Feed([(100.0, 2.0), (99.0, 4.0)], [(101.0, 3.0), (102.0, 5.0)], levels=2)
    # delete the best bid: level 1 bid 100x2 -> 99x4 (down: -2); level 2 99x4 -> none (-4)
    v = feed.delta(BID, 100.0, 0.0, ts=1 * S)
    assert v.mlofi == (-2.0, -4.0)
    assert v.ofi == -2.0
    # a better ask 100.5x1: level 1 101x3 -> 100.5x1 (down: -1); level 2 102x5 -> 101x3 (-3)
    v = feed.delta(ASK, 100.5, 1.0, ts=2 * S)
    assert v.ofi == -1.0
    assert v.mlofi == (-3.0, -7.0)
    assert v.ofi_window == -3.0
    # level 2 bid appears again (98x6: + 6); level 1 unchanged
    v = feed.delta(BID, 98.0, 6.0, ts=3 * S)
    assert v.ofi == 0.0
    assert v.mlofi == (-3.0, -1.0)
    # window (t - 10 s, t]: at t = 11 s the event at 1 s has left, the one at 2 s not yet
    v = feed.delta(ASK, 150.0, 1.0, ts=11 * S)
    assert v.mlofi == pytest.approx((-1.0, 3.0))
    v = feed.delta(ASK, 150.0, 0.0, ts=12 * S + S // 2)  # only the 3 s event remains
    assert v.mlofi == pytest.approx((0.0, 6.0))
    assert v.ofi_window == 0.0


def test_a_snapshot_is_one_more_observation_and_stale_resets_the_baseline() -> None:
    feed = Feed([(100.0, 2.0)], [(101.0, 3.0)])
    feed.book.apply_snapshot(BookSnapshot(0, 0, SYM, 50, ((105.0, 9.0),), ((106.0, 9.0),)))
    feed.f.on_book(feed.book, 0)
    assert feed.f.vector().ofi == 9.0 + 3.0  # bid up: + new 9; ask up: + old 3
    feed.book.mark_stale("feed down")
    feed.f.on_book(feed.book, 0)
    assert not feed.f.vector().valid
    feed.book.apply_snapshot(BookSnapshot(0, 0, SYM, 90, ((95.0, 1.0),), ((96.0, 1.0),)))
    feed.f.on_book(feed.book, 0)
    v = feed.f.vector()
    assert v.valid
    assert v.ofi == 0.0  # no baseline across the stale period
    assert v.mid == 95.5
    feed.seq = 90
    assert feed.delta(BID, 95.0, 10.0).ofi == 9.0


# --- book shape ----------------------------------------------------------------------------


def test_depth_imbalance_spread_mid_and_weighted_mid() -> None:
    bids = [(100.0 - i, float(i + 1)) for i in range(12)]  # sizes 1..12
    asks = [(101.0 + i, 2.0) for i in range(12)]
    v = Feed(bids, asks).f.vector()
    assert v.valid
    assert v.depth_imbalance_1 == pytest.approx((1 - 2) / (1 + 2))
    assert v.depth_imbalance_5 == pytest.approx((15 - 10) / (15 + 10))
    assert v.depth_imbalance_10 == pytest.approx((55 - 20) / (55 + 20))
    assert v.mid == 100.5
    assert v.spread_bps == pytest.approx(1.0 / 100.5 * 1e4)
    assert v.weighted_mid == pytest.approx((1 * 101 + 2 * 100) / 3)


def test_spread_bps_and_weighted_mid_simple() -> None:
    v = Feed([(99.0, 3.0)], [(101.0, 1.0)]).f.vector()
    assert v.spread_bps == pytest.approx(200.0)
    assert v.weighted_mid == pytest.approx((3 * 101 + 1 * 99) / 4)
    assert v.depth_imbalance_10 == pytest.approx(0.5)  # missing levels count as empty


def test_impact_walks_the_asks() -> None:
    feed = Feed(
        [(99.0, 5.0)],
        [(101.0, 1.0), (102.0, 2.0), (104.0, 1.0)],
        impact_sizes=(2.0, 0.5, 3.5, 10.0),
    )
    v = feed.f.vector()  # mid 100
    assert v.impact_bps == pytest.approx(
        (
            (101.5 / 100 - 1) * 1e4,  # 1@101 + 1@102
            100.0,  # 0.5@101
            200.0,  # 1@101 + 2@102 + 0.5@104 = 357 / 3.5 = 102
            330.0,  # only 4 visible: 1@101 + 2@102 + 1@104 + 6 more at the deepest, 104
        )
    )
    # a change below the walked depth matters only for the size that reaches it
    v = feed.delta(ASK, 105.0, 10.0)
    assert v.impact_bps[0] == pytest.approx(150.0)
    assert v.impact_bps[3] == pytest.approx(390.0)  # (101 + 204 + 104 + 6 * 105) / 10 = 103.9
    v = feed.delta(ASK, 101.0, 3.0)  # deeper first level: 2 units all at 101
    assert v.impact_bps[0] == pytest.approx(100.0)


def test_one_sided_book_is_not_valid_and_finite() -> None:
    feed = Feed([(99.0, 3.0)], [(101.0, 1.0)])
    v = feed.delta(ASK, 101.0, 0.0)
    assert not v.valid
    assert v.mid == 0.0
    assert all(math.isfinite(x) for x in _floats(v))


# --- trades ------------------------------------------------------------------------------


def test_kyle_lambda_recovers_a_known_slope() -> None:
    feed = Feed([(100.0, 1.0)], [(101.0, 1.0)], kyle_window=50)
    lam = 0.25
    signed = [1.0, -2.0, 3.0, 0.5, -1.0, 2.0, -4.0, 1.5]
    for x in signed:
        feed.trade(Side.BUY if x > 0 else Side.SELL, abs(x))
        feed.shift(lam * x)  # the book reacts to the trade: mid moves by lam * x
    v = feed.trade(Side.BUY, 1.0)  # closes the last sample
    assert v.kyle_lambda == pytest.approx(lam)


def test_kyle_lambda_aggregates_trades_until_the_book_moves() -> None:
    feed = Feed([(100.0, 1.0)], [(101.0, 1.0)])
    for x in (1.0, -2.0, 4.0):
        # two trades with no book update between them form one sample of x
        feed.trade(Side.BUY if x > 0 else Side.SELL, abs(x) / 2)
        feed.trade(Side.BUY if x > 0 else Side.SELL, abs(x) / 2)
        feed.shift(0.5 * x + 0.25)  # slope 0.5, intercept 0.25
    assert feed.trade(Side.SELL, 1.0).kyle_lambda == pytest.approx(0.5)
    assert Feed([(100.0, 1.0)], [(101.0, 1.0)]).f.vector().kyle_lambda == 0.0


def test_trade_sign_imbalance_over_the_window() -> None:
    feed = Feed([(100.0, 1.0)], [(101.0, 1.0)], window_ns=10 * S)
    assert feed.f.vector().trade_sign_imbalance == 0.0
    feed.trade(Side.BUY, 1.0, ts=1 * S)
    feed.trade(Side.BUY, 5.0, ts=2 * S)
    feed.trade(Side.SELL, 9.0, ts=3 * S)
    v = feed.trade(Side.BUY, 0.1, ts=4 * S)
    assert v.trade_sign_imbalance == pytest.approx((3 - 1) / 4)
    v = feed.trade(Side.SELL, 1.0, ts=12 * S)  # the 1 s and 2 s trades left the window
    assert v.trade_sign_imbalance == pytest.approx((1 - 2) / 3)
    feed.trade(Side.BUY, 1.0, ts=12 * S)  # now 2 buys and 2 sells
    other = TradeTick(12 * S, 12 * S, "ETH-USD", 99, 1.0, 1.0, Side.BUY)
    feed.f.on_trade(other)  # another symbol's trade is ignored
    assert feed.f.vector().trade_sign_imbalance == pytest.approx(0.0)
    v = feed.delta(BID, 90.0, 1.0, ts=30 * S)
    assert v.trade_sign_imbalance == 0.0


def test_realized_vol_simple_series_and_window() -> None:
    # books that move the mid in single deltas: bid fixed at 99, the ask alone moves
    feed = Feed([(99.0, 1.0)], [(101.0, 1.0)], vol_window_ns=10 * S)  # mid 100
    feed.delta(ASK, 103.0, 1.0, ts=1 * S)  # still 101 best: no change
    feed.delta(ASK, 101.0, 0.0, ts=2 * S)  # mid 101
    v = feed.delta(ASK, 100.0, 1.0, ts=4 * S)  # mid 99.5
    r1, r2 = math.log(101 / 100), math.log(99.5 / 101)
    assert v.realized_vol == pytest.approx(math.sqrt((r1**2 + r2**2) / 4.0))
    v = feed.delta(BID, 10.0, 1.0, ts=13 * S)  # window (3 s, 13 s]: only r2, T = 10 s
    assert v.realized_vol == pytest.approx(math.sqrt(r2**2 / 10.0))
    v = feed.delta(BID, 11.0, 1.0, ts=20 * S)
    assert v.realized_vol == 0.0


# --- microprice ----------------------------------------------------------------------------


def test_microprice_model_fit_from_samples() -> None:
    m = MicropriceModel(
        imbalance_buckets=2, spread_buckets=1, min_samples=1, min_cell_samples=1, symmetrize=False
    )
    assert m.adjustment(0) is None
    assert m.fit([(0.8, 1, 0.5), (0.9, 1, 0.3), (0.2, 1, -0.1)])
    assert m.adjustment(m.state(0.8, 0.2, 1)) == pytest.approx(0.4)
    assert m.adjustment(m.state(0.2, 0.8, 1)) == pytest.approx(-0.1)
    sym = MicropriceModel(imbalance_buckets=2, spread_buckets=1, min_samples=1, min_cell_samples=1)
    sym.fit([(0.8, 1, 0.5), (0.9, 1, 0.3), (0.2, 1, -0.1)])
    assert sym.table() == pytest.approx((-0.3, 0.3))  # (0.5 + 0.3 + 0.1) / 3, mirrored


def test_microprice_model_labels_with_the_next_mid_change() -> None:
    m = MicropriceModel(
        imbalance_buckets=2, spread_buckets=3, min_samples=3, min_cell_samples=1, symmetrize=False
    )
    s_hi = m.observe_book(3.0, 1.0, 1, 100.0)  # I = 0.75, 1 tick
    assert m.observe_book(3.0, 1.0, 1, 100.0) == s_hi
    s_lo = m.observe_book(1.0, 3.0, 2, 100.0)  # I = 0.25, 2 ticks
    assert m.n_labeled == 0
    m.observe_book(1.0, 1.0, 1, 100.5)  # the mid moves: the three pending states get +0.5
    assert m.n_labeled == 3
    assert m.fit()
    assert m.adjustment(s_hi) == pytest.approx(0.5)
    assert m.adjustment(s_lo) == pytest.approx(0.5)
    assert m.adjustment(m.state(1.0, 3.0, 7)) is None  # 3+ ticks: no data
    assert m.state(1.0, 3.0, 7) == m.state(1.0, 3.0, 3)


def test_microprice_falls_back_to_weighted_mid_then_uses_the_fit() -> None:
    model = MicropriceModel(
        imbalance_buckets=2, spread_buckets=1, min_samples=4, min_cell_samples=1
    )
    feed = Feed([(100.0, 3.0)], [(101.0, 1.0)], microprice_model=model, microprice_refit_every=1)
    v = feed.f.vector()
    assert not v.microprice_fitted
    assert v.microprice == v.weighted_mid == pytest.approx((3 * 101 + 100) / 4)
    # bid-heavy book, then the mid ticks up: repeat until the model has 4 samples
    for _ in range(2):
        feed.shift(1.0)
        feed.shift(-1.0)
    v = feed.delta(BID, 100.0, 3.0)  # same book shape (I = 0.75): no change, refit
    assert model.fitted
    assert v.microprice_fitted
    g = model.adjustment(model.state(3.0, 1.0, 1))
    assert g is not None
    assert v.microprice == pytest.approx(v.mid + g)
    assert v.microprice_dev_bps == pytest.approx(g / v.mid * 1e4)


# --- causality and robustness ---------------------------------------------------------------


def _random_events(rng: random.Random, n: int, t0: int, seq0: int) -> list[tuple[str, object]]:
    """Deltas around a fixed pivot (never crossing) and trades, ~1 ms apart."""
    out: list[tuple[str, object]] = []
    t, seq = t0, seq0
    for _ in range(n):
        t += rng.randint(0, 2_000_000)
        if rng.random() < 0.2:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            out.append(("trade", TradeTick(t, t, SYM, seq, 100.0, rng.uniform(0.01, 3), side)))
            continue
        seq += 1
        k = min(int(rng.expovariate(0.3)) + 1, 15)
        size = 0.0 if rng.random() < 0.3 else round(rng.uniform(0.1, 5.0), 2)
        if rng.random() < 0.5:
            out.append(("book", BookDelta(t, t, SYM, seq, BID, 100.0 - 0.5 * k, size)))
        else:
            out.append(("book", BookDelta(t, t, SYM, seq, ASK, 100.0 + 0.5 * k, size)))
    return out


def _run(
    events: list[tuple[str, object]], observe: list[bool] | None = None
) -> list[FeatureVector]:
    """Vectors after each event; with `observe`, on_book only where it is True."""
    book = L2Book(SYM)
    book.apply_snapshot(
        BookSnapshot(
            0,
            0,
            SYM,
            0,
            tuple((100.0 - 0.5 * k, 1.0) for k in range(1, 16)),
            tuple((100.0 + 0.5 * k, 1.0) for k in range(1, 16)),
        )
    )
    model = MicropriceModel(min_samples=20, min_cell_samples=2)
    f = MicrostructureFeatures(
        SYM,
        levels=5,
        window_ns=50_000_000,
        vol_window_ns=200_000_000,
        kyle_window=10,
        microprice_model=model,
        microprice_refit_every=25,
    )
    f.on_book(book, 0)
    out = []
    for i, (kind, ev) in enumerate(events):
        if kind == "trade":
            assert isinstance(ev, TradeTick)
            f.on_trade(ev)
        else:
            assert isinstance(ev, BookDelta)
            book.apply_delta(ev)
            if observe is None or observe[i]:
                f.on_book(book, ev.ts_event)
        out.append(f.vector())
    return out


def test_causality_changing_the_future_never_changes_the_past() -> None:
    rng = random.Random(11)
    events = _random_events(rng, 1500, 0, 0)
    base = _run(events)
    assert any(v.microprice_fitted for v in base)
    assert any(v.kyle_lambda != 0.0 for v in base)
    for cut in (0, 300, 900, 1400):
        last = events[cut][1]
        assert isinstance(last, BookDelta | TradeTick)
        seqs = [e.seq for _, e in events[: cut + 1] if isinstance(e, BookDelta)]
        seq = max(seqs, default=0)
        future = _random_events(random.Random(cut + 1000), 400, last.ts_event, seq)
        changed = _run(events[: cut + 1] + future)
        assert changed[: cut + 1] == base[: cut + 1]
        assert changed[cut + 1 :] != base[cut + 1 : cut + 1 + len(future)]


@pytest.mark.parametrize("batched", [False, True])
def test_ofi_mlofi_and_impact_match_a_brute_force_reference(batched: bool) -> None:
    """e_n between consecutive observations (after every delta, or after random batches of
    deltas) against the CKS formula written literally on `L2Book.top`, and impact against a
    plain walk of all asks."""
    rng = random.Random(5)
    events = [e for e in _random_events(rng, 2000, 0, 0) if e[0] == "book"]
    for i, (_, ev) in enumerate(events):  # renumber: trades were dropped
        assert isinstance(ev, BookDelta)
        events[i] = (
            "book",
            BookDelta(ev.ts_event, ev.ts_init, SYM, i + 1, ev.side, ev.price, ev.size),
        )
    observe = [not batched or rng.random() < 0.4 for _ in events]
    vectors = _run(events, observe)
    book = L2Book(SYM)
    book.apply_snapshot(
        BookSnapshot(
            0,
            0,
            SYM,
            0,
            tuple((100.0 - 0.5 * k, 1.0) for k in range(1, 16)),
            tuple((100.0 + 0.5 * k, 1.0) for k in range(1, 16)),
        )
    )
    prev = _levels(book, 5)
    history: list[tuple[int, list[float]]] = []
    for (_, ev), v, seen in zip(events, vectors, observe, strict=True):
        assert isinstance(ev, BookDelta)
        book.apply_delta(ev)
        if not seen:
            continue
        cur = _levels(book, 5)
        e = [cks(p, c) for p, c in zip(prev, cur, strict=True)]
        prev = cur
        history.append((ev.ts_event, e))
        window = [x for ts, x in history if ts > ev.ts_event - 50_000_000]
        assert v.ofi == pytest.approx(e[0], abs=1e-9)
        assert v.mlofi == pytest.approx([sum(x[m] for x in window) for m in range(5)], abs=1e-9)
        if v.valid:
            mid = book.mid()
            assert mid is not None
            ref = [(_walk(book, q) / mid - 1) * 1e4 for q in (1.0, 5.0, 10.0)]
            assert v.impact_bps == pytest.approx(ref, abs=1e-9)


def _levels(book: L2Book, n: int) -> list[tuple[float, float, float, float]]:
    bids, asks = book.top(n)
    bids += [(0.0, 0.0)] * (n - len(bids))
    asks += [(math.inf, 0.0)] * (n - len(asks))
    return [(pb, qb, pa, qa) for (pb, qb), (pa, qa) in zip(bids, asks, strict=True)]


def _walk(book: L2Book, q: float) -> float:
    _, asks = book.top(10_000)
    left, cost = q, 0.0
    for price, size in asks:
        take = min(size, left)
        cost += take * price
        left -= take
        if left <= 1e-12:
            break
    cost += max(left, 0.0) * asks[-1][0]
    return cost / q


def _floats(v: FeatureVector) -> list[float]:
    out: list[float] = []
    for x in astuple(v):
        if isinstance(x, tuple):
            out.extend(x)
        elif isinstance(x, float | int) and not isinstance(x, bool):
            out.append(float(x))
    return out


_price_ticks = st.integers(min_value=1, max_value=40)
_size = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    bid_levels=st.lists(st.tuples(_price_ticks, _size), max_size=15),
    ask_levels=st.lists(st.tuples(_price_ticks, _size), max_size=15),
    updates=st.lists(
        st.tuples(st.booleans(), _price_ticks, _size, st.integers(0, 10**9), st.booleans()),
        max_size=40,
    ),
    tick=st.sampled_from([0.01, 1.0, 1e-8, 1e4]),
)
def test_features_never_raise_and_stay_finite(
    bid_levels: list[tuple[int, float]],
    ask_levels: list[tuple[int, float]],
    updates: list[tuple[bool, int, float, int, bool]],
    tick: float,
) -> None:
    pivot = 1000.0 * tick
    book = L2Book(SYM)
    book.apply_snapshot(
        BookSnapshot(
            0,
            0,
            SYM,
            0,
            tuple((pivot - k * tick, q) for k, q in bid_levels),
            tuple((pivot + k * tick, q) for k, q in ask_levels),
        )
    )
    f = MicrostructureFeatures(
        SYM,
        levels=3,
        window_ns=10**8,
        impact_sizes=(0.5, 1e3),
        kyle_window=3,
        microprice_model=MicropriceModel(min_samples=1, min_cell_samples=1),
        microprice_refit_every=2,
    )
    f.on_book(book, 0)
    ts, seq, tid = 0, 0, 0
    for is_bid, k, q, dt, trade in updates:
        ts += dt
        if trade:
            tid += 1
            side = Side.BUY if is_bid else Side.SELL
            f.on_trade(TradeTick(ts, ts, SYM, tid, pivot, q + 1e-9, side))
        else:
            seq += 1
            price = pivot - k * tick if is_bid else pivot + k * tick
            book.apply_delta(BookDelta(ts, ts, SYM, seq, BID if is_bid else ASK, price, q))
            f.on_book(book, ts)
        v = f.vector()
        assert all(math.isfinite(x) for x in _floats(v)), v
        assert -1.0 <= v.trade_sign_imbalance <= 1.0
        for di in (v.depth_imbalance_1, v.depth_imbalance_5, v.depth_imbalance_10):
            assert -1.0 <= di <= 1.0
        assert v.realized_vol >= 0.0
        assert len(v.mlofi) == 3
        assert len(v.impact_bps) == 2
