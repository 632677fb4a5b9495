"""EWMA covariance and correlation, and the pairwise-correlation limit.

**Estimator.** RiskMetrics: zero-mean daily returns, exponentially weighted with decay
λ (0.94 by default), the newest return weighing most. With weights λ^(T-1-t) on the
returns r_0 … r_{T-1} the covariance is the weighted mean of the outer products

    Σ_T = Σ_t λ^(T-1-t) r_t r_tᵀ / Σ_t λ^(T-1-t)

The normalising sum makes it well defined from the first return with no arbitrary seed
matrix; after a few hundred returns (λ^250 ≈ 2e-7) it is the textbook recursion
Σ_T = λ Σ_{T-1} + (1-λ) r r ᵀ. `EwmaCovariance` keeps the numerator and the weight sum,
so one new return vector updates it in O(N²) and gives exactly the batch answer.

**Limit.** The seed semantic (`RiskConfig.max_pairwise_correlation` = 0.7) is "no two
positions more than 0.7 correlated in the same direction". "Same direction" is read as
*same direction of risk*: two longs (or two shorts) with ρ > max, or a long and a short
with ρ < -max — pairs whose losses come together. A long and a short with ρ > max (or two
longs with ρ < -max) hedge each other and never breach. For crypto, whose correlations are
all positive, this is exactly "two positions on the same side with |ρ| > max". A breach
also needs the pair's combined |exposure| to exceed `max_combined_usd` (0: any such pair).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "RISKMETRICS_LAMBDA",
    "Breach",
    "ClusterExposure",
    "EwmaCovariance",
    "candidate_breaches",
    "cluster_exposures",
    "correlation_breaches",
    "correlation_clusters",
    "cov_to_corr",
    "ewma_covariance",
]

RISKMETRICS_LAMBDA = 0.94


def _check_lambda(lam: float) -> None:
    if not 0.0 < lam < 1.0:
        raise ValueError(f"EWMA decay must be in (0, 1), got {lam!r}")


class EwmaCovariance:
    """Incremental EWMA covariance of N return series (see the module doc)."""

    __slots__ = ("_count", "_lam", "_n", "_numerator", "_weight")

    def __init__(self, n: int, lam: float = RISKMETRICS_LAMBDA) -> None:
        _check_lambda(lam)
        if n <= 0:
            raise ValueError(f"need at least one series, got {n}")
        self._n = n
        self._lam = lam
        self._numerator = np.zeros((n, n))
        self._weight = 0.0
        self._count = 0

    @classmethod
    def from_returns(cls, returns: np.ndarray, lam: float = RISKMETRICS_LAMBDA) -> EwmaCovariance:
        """Batch form over a (T, N) matrix, oldest first; equal to T calls of `update`."""
        r = _as_matrix(returns)
        est = cls(r.shape[1], lam)
        t = r.shape[0]
        if t:
            w = lam ** np.arange(t - 1, -1, -1, dtype=float)
            est._numerator = (r * w[:, None]).T @ r
            est._weight = float(w.sum())
            est._count = t
        return est

    @property
    def n(self) -> int:
        return self._n

    @property
    def lam(self) -> float:
        return self._lam

    @property
    def count(self) -> int:
        """How many return vectors it has seen."""
        return self._count

    def update(self, r: np.ndarray | Sequence[float]) -> None:
        """Add one return vector (the newest): O(N²)."""
        v = np.asarray(r, dtype=float)
        if v.shape != (self._n,):
            raise ValueError(f"expected a return vector of shape ({self._n},), got {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError(f"non-finite return in {v!r}")
        self._numerator *= self._lam
        self._numerator += np.outer(v, v)
        self._weight = self._lam * self._weight + 1.0
        self._count += 1

    def covariance(self) -> np.ndarray:
        if self._count == 0:
            raise ValueError("no returns yet")
        cov: np.ndarray = self._numerator / self._weight
        return cov

    def volatility(self) -> np.ndarray:
        """Per-series EWMA volatility (same period as the returns, e.g. daily)."""
        vol: np.ndarray = np.sqrt(np.diag(self.covariance()))
        return vol

    def correlation(self) -> np.ndarray:
        return cov_to_corr(self.covariance())


def ewma_covariance(returns: np.ndarray, lam: float = RISKMETRICS_LAMBDA) -> np.ndarray:
    """EWMA covariance of a (T, N) return matrix, oldest first (T ≥ 1)."""
    return EwmaCovariance.from_returns(returns, lam).covariance()


def cov_to_corr(cov: np.ndarray) -> np.ndarray:
    """Correlation from covariance; a zero-variance series gets ρ = 0 with every other."""
    c = np.asarray(cov, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"covariance must be square, got shape {c.shape}")
    sd = np.sqrt(np.clip(np.diag(c), 0.0, None))
    inv = np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 0.0)
    corr: np.ndarray = np.clip(c * inv[:, None] * inv[None, :], -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    return corr


def _as_matrix(returns: np.ndarray) -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    if r.ndim != 2:
        raise ValueError(f"returns must be a (T, N) matrix, got shape {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError("returns contain non-finite values")
    return r


# --- the pairwise limit ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breach:
    symbol_a: str
    symbol_b: str
    correlation: float
    exposure_a_usd: float  # signed: + long, - short
    exposure_b_usd: float
    max_abs_corr: float

    @property
    def combined_usd(self) -> float:
        return abs(self.exposure_a_usd) + abs(self.exposure_b_usd)

    def describe(self) -> str:
        return (
            f"{self.symbol_a} {_side(self.exposure_a_usd)} {abs(self.exposure_a_usd):,.2f} and "
            f"{self.symbol_b} {_side(self.exposure_b_usd)} {abs(self.exposure_b_usd):,.2f} USD "
            f"add risk with ρ={self.correlation:+.2f} (|ρ| > {self.max_abs_corr:g})"
        )


def _side(exposure: float) -> str:
    return "long" if exposure > 0 else "short"


def _index(symbols: Sequence[str], corr: np.ndarray) -> dict[str, int]:
    if corr.shape != (len(symbols), len(symbols)):
        raise ValueError(f"correlation shape {corr.shape} does not match {len(symbols)} symbols")
    return {s: i for i, s in enumerate(symbols)}


def _risk_aligned(rho: float, ea: float, eb: float, max_abs_corr: float) -> bool:
    """Both positions lose together: same side and ρ > max, or opposite sides and ρ < -max."""
    if ea == 0.0 or eb == 0.0 or abs(rho) <= max_abs_corr:
        return False
    return (ea > 0.0) == (eb > 0.0) if rho > 0.0 else (ea > 0.0) != (eb > 0.0)


def correlation_breaches(
    corr: np.ndarray,
    symbols: Sequence[str],
    exposures: Mapping[str, float],
    max_abs_corr: float = 0.7,
    max_combined_usd: float = 0.0,
) -> list[Breach]:
    """Pairs of positions (signed USD exposures) whose risks add with |ρ| > `max_abs_corr`
    (strictly) and whose combined |exposure| > `max_combined_usd` (strictly)."""
    c = np.asarray(corr, dtype=float)
    index = _index(symbols, c)
    held = [(s, float(e)) for s, e in exposures.items() if e != 0.0]
    unknown = [s for s, _ in held if s not in index]
    if unknown:
        raise ValueError(f"no correlation for {', '.join(unknown)}")
    held.sort(key=lambda item: index[item[0]])
    out: list[Breach] = []
    for i, (sa, ea) in enumerate(held):
        for sb, eb in held[i + 1 :]:
            rho = float(c[index[sa], index[sb]])
            if _risk_aligned(rho, ea, eb, max_abs_corr) and abs(ea) + abs(eb) > max_combined_usd:
                out.append(Breach(sa, sb, rho, ea, eb, max_abs_corr))
    return out


def candidate_breaches(
    corr: np.ndarray,
    symbols: Sequence[str],
    exposures: Mapping[str, float],
    symbol: str,
    delta_usd: float,
    max_abs_corr: float = 0.7,
    max_combined_usd: float = 0.0,
) -> list[Breach]:
    """Breaches a candidate order (signed USD change `delta_usd` in `symbol`) would add or
    worsen: the pairs with `symbol` that breach afterwards, when the order grows |exposure|
    in `symbol` or flips its side. An order that only shrinks the position adds none."""
    before = float(exposures.get(symbol, 0.0))
    after = before + float(delta_usd)
    if abs(after) <= abs(before) and (after == 0.0 or (after > 0.0) == (before > 0.0)):
        return []  # reduces the position without flipping it
    new = dict(exposures)
    new[symbol] = after
    return [
        b
        for b in correlation_breaches(corr, symbols, new, max_abs_corr, max_combined_usd)
        if symbol in (b.symbol_a, b.symbol_b)
    ]


# --- clusters -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterExposure:
    symbols: tuple[str, ...]
    net_usd: float  # Σ signed exposure
    gross_usd: float  # Σ |exposure|


def correlation_clusters(
    corr: np.ndarray, symbols: Sequence[str], threshold: float = 0.7
) -> list[tuple[str, ...]]:
    """Connected components of the graph with an edge where |ρ| > `threshold`: assets that
    move together directly or through a chain. Largest first, then by name; singletons too."""
    c = np.asarray(corr, dtype=float)
    _index(symbols, c)
    n = len(symbols)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if abs(c[i, j]) > threshold:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[str]] = {}
    for i, s in enumerate(symbols):
        groups.setdefault(find(i), []).append(s)
    clusters = [tuple(sorted(g)) for g in groups.values()]
    clusters.sort(key=lambda g: (-len(g), g))
    return clusters


def cluster_exposures(
    clusters: Sequence[tuple[str, ...]], exposures: Mapping[str, float]
) -> list[ClusterExposure]:
    """Net and gross USD exposure of each cluster (symbols without a position count 0)."""
    out = []
    for cluster in clusters:
        values = [float(exposures.get(s, 0.0)) for s in cluster]
        out.append(ClusterExposure(tuple(cluster), sum(values), sum(abs(v) for v in values)))
    return out
