"""Stoikov (2018) microprice, first-order correction, estimated online and causally.

The state of the book is the pair (imbalance bucket, spread bucket): the level-1 imbalance
I = qb / (qb + qa) in [0, 1] cut into `imbalance_buckets` equal buckets, and the spread in
ticks cut into `spread_buckets` buckets (1, 2, ..., n+ ticks; 3 buckets by default: 1, 2, 3+).
The label of a state observed at event n is the next mid change after n (the first later
event whose mid differs from the mid at n). The first-order adjustment is

    g(I, s) = E[M_next - M_n | I_n in bucket I, S_n in bucket s]

estimated as the sample mean per state, and microprice = mid + g(I, s). With `symmetrize`
(Stoikov's symmetry argument) every sample (I, s, dM) is also counted as (1 - I, s, -dM),
which halves the variance and makes g odd in the imbalance.

Causality: a state is labelled only when the next mid change has been observed, and the
table `g` changes only when `fit()` is called (the caller refits on a schedule), so an
estimate at time t depends only on events at or before t. Until `fit()` has seen at least
`min_samples` labelled samples, and for any cell with fewer than `min_cell_samples`,
`adjustment()` returns None and the caller falls back to the weighted mid.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MicropriceModel"]


class MicropriceModel:
    __slots__ = (
        "_counts",
        "_fitted",
        "_min_cell",
        "_min_samples",
        "_n_imb",
        "_n_labeled",
        "_n_spread",
        "_pending",
        "_pending_mid",
        "_sums",
        "_symmetrize",
        "_table",
        "_touched",
    )

    def __init__(
        self,
        *,
        imbalance_buckets: int = 10,
        spread_buckets: int = 3,
        min_samples: int = 1_000,
        min_cell_samples: int = 20,
        symmetrize: bool = True,
    ) -> None:
        if imbalance_buckets < 1 or spread_buckets < 1:
            raise ValueError("bucket counts must be >= 1")
        self._n_imb = imbalance_buckets
        self._n_spread = spread_buckets
        self._min_samples = min_samples
        self._min_cell = max(1, min_cell_samples)
        self._symmetrize = symmetrize
        n = imbalance_buckets * spread_buckets
        self._sums = [0.0] * n  # sum of labels per state (accumulating, not yet fitted)
        self._counts = [0] * n
        self._n_labeled = 0
        self._pending = [0] * n  # states seen since the mid last changed, not yet labelled
        self._touched: list[int] = []
        self._pending_mid: float | None = None
        self._table: list[float | None] = [None] * n
        self._fitted = False

    @property
    def n_states(self) -> int:
        return self._n_imb * self._n_spread

    @property
    def n_labeled(self) -> int:
        """Samples labelled so far (before symmetrisation)."""
        return self._n_labeled

    @property
    def fitted(self) -> bool:
        return self._fitted

    def state(self, qb: float, qa: float, spread_ticks: int) -> int:
        """Index of the state for level-1 sizes and the spread in ticks (>= 1)."""
        total = qb + qa
        imb = qb / total if total > 0.0 else 0.5
        nb = self._n_imb
        b = int(imb * nb)
        if b >= nb:
            b = nb - 1
        elif b < 0:
            b = 0
        s = spread_ticks if spread_ticks <= self._n_spread else self._n_spread
        if s < 1:
            s = 1
        return (s - 1) * nb + b

    # --- online accumulation -------------------------------------------------------------

    def observe_book(self, qb: float, qa: float, spread_ticks: int, mid: float) -> int:
        """Record the state after a book event (level-1 sizes, spread in ticks, mid) and, if
        the mid moved, label the states pending since the last move. Returns the state
        (= `state(qb, qa, spread_ticks)`)."""
        total = qb + qa
        nb = self._n_imb
        b = int(qb / total * nb) if total > 0.0 else nb // 2
        if b >= nb:
            b = nb - 1
        s = spread_ticks if spread_ticks <= self._n_spread else self._n_spread
        state = (s - 1) * nb + b if s >= 1 else b
        pmid = self._pending_mid
        if mid != pmid:
            if pmid is not None and self._touched:
                self._label(mid - pmid)
            self._pending_mid = mid
        pending = self._pending
        if pending[state] == 0:
            self._touched.append(state)
        pending[state] += 1
        return state

    def reset_pending(self) -> None:
        """Forget unlabelled states (the book was resynced: the next mid change is not theirs)."""
        pending = self._pending
        for s in self._touched:
            pending[s] = 0
        self._touched.clear()
        self._pending_mid = None

    def _label(self, dmid: float) -> None:
        pending = self._pending
        for s in self._touched:
            self._add(s, pending[s], dmid)
            pending[s] = 0
        self._touched.clear()

    def _add(self, s: int, count: int, dmid: float) -> None:
        self._sums[s] += count * dmid
        self._counts[s] += count
        self._n_labeled += count
        if self._symmetrize:
            nb = self._n_imb
            row, b = divmod(s, nb)
            m = row * nb + (nb - 1 - b)
            self._sums[m] -= count * dmid
            self._counts[m] += count

    # --- fitting -------------------------------------------------------------------------

    def fit(self, samples: Iterable[tuple[float, int, float]] | None = None) -> bool:
        """Refresh the table g from the accumulated samples, or replace them by `samples`:
        (imbalance in [0, 1], spread in ticks, next mid change). True if now fitted."""
        if samples is not None:
            n = self.n_states
            self._sums = [0.0] * n
            self._counts = [0] * n
            self._n_labeled = 0
            self.reset_pending()
            for imb, ticks, dmid in samples:
                self._add(self.state(imb, 1.0 - imb, ticks), 1, dmid)
        min_cell = self._min_cell
        self._table = [
            s / c if c >= min_cell else None for s, c in zip(self._sums, self._counts, strict=True)
        ]
        self._fitted = self._n_labeled >= self._min_samples
        return self._fitted

    def adjustment(self, state: int) -> float | None:
        """g for the state (price units), or None: not fitted yet or too few samples."""
        if not self._fitted:
            return None
        return self._table[state]

    def table(self) -> tuple[float | None, ...]:
        """The fitted g per state, spread bucket major: index = (ticks - 1) * n_imb + bucket."""
        return tuple(self._table)
