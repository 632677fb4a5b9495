"""Value at Risk and Expected Shortfall for a linear portfolio.

Conventions (every method):

* Inputs: `exposures`, shape (N,), the signed currency amount held in each asset (long
  positive, short negative), and `returns`, shape (T, N), simple daily returns, oldest
  first. A scenario `r` (N,) makes a P&L of `r @ exposures`; the portfolio is linear.
* Loss is positive: VaR and ES are currency amounts a loss must exceed / averages over.
  `confidence` c is e.g. 0.95 or 0.99, α = 1 − c; `horizon_days` h ≥ 1.
* The mean is included: VaR = −(the α-quantile of P&L), not a demeaned figure.
* Sample statistics use ddof=1 for variance/covariance; skewness and excess kurtosis are
  the moment ratios m3/m2^1.5 and m4/m2² − 3 (scipy.stats' default, bias=True).

Historical quantile convention (historical, filtered historical, every Monte Carlo
sample): with M P&L observations, VaR is minus the k-th worst P&L, k = ⌈αM⌉ (the lower
α-quantile of the empirical distribution, the inverse of its CDF; riskfolio's `VaR_Hist`),
not numpy's interpolated `quantile`. ES is the exact expected shortfall of that empirical
distribution (Acerbi–Tasche; riskfolio's `CVaR_Hist`): ES = VaR + Σ max(L − VaR, 0)/(αM),
which is the mean of the k worst losses when αM is a whole number. αM is rounded to 9
decimals before the ceiling so float noise (1 − 0.99 = 0.01000000000000001) cannot push k
up by one. Why: the VaR is a loss that actually happened (no interpolation between two
days), it matches riskfolio and the Basel "observed loss" reading, and the same estimator
serves Monte Carlo, so methods differ only by their scenarios.

Horizon (h days):

* parametric normal and Monte Carlo (normal, Student-t): mean × h, scale × √h, which
  assumes i.i.d. daily returns. For the t this is the usual square-root-of-time
  approximation (a sum of i.i.d. t variables is not exactly t).
* Cornish–Fisher: cumulants of a sum of h i.i.d. days: mean × h, σ × √h, skew / √h,
  excess kurtosis / h.
* historical and filtered historical: overlapping h-day compounded returns (T − h + 1
  windows, not independent, so the estimate is noisier than the count suggests); refused
  (ValueError) when there are fewer than 1/α windows.

Method names (stable, used by the CLI and JSON): parametric, cornish_fisher, historical,
filtered_historical, mc_normal, mc_t. `monte_carlo_full` (full scenario generation) is
kept for stress and non-linear use; it is not part of `all_methods`.

scipy.special is imported at module import: this module is not imported at TUI startup.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.special as sc
from threadpoolctl import ThreadpoolController

from traider.engine.risk.var_stats import (
    RISKMETRICS_LAMBDA,
    _ceil_k,
    _cf_moments,
    _horizon_returns,
    _norm_pdf,
    _require_windows,
    empirical_var_es,
    ewma_variance,
)

METHODS: tuple[str, ...] = (
    "parametric",
    "cornish_fisher",
    "historical",
    "filtered_historical",
    "mc_normal",
    "mc_t",
)
DEFAULT_PATHS = 100_000
DEFAULT_SEED = 7
DEFAULT_DOF = 5.0
CHUNK_ROWS = 65_536
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class VarResult:
    method: str
    confidence: float
    horizon_days: int
    var: float  # currency, loss positive
    es: float  # currency, loss positive, ≥ var
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:  # plain floats, and no -0.0 in the output
        object.__setattr__(self, "var", float(self.var) + 0.0)
        object.__setattr__(self, "es", float(self.es) + 0.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ComponentVar:
    """Parametric (normal) Euler decomposition; `component` sums to `var`."""

    var: float
    marginal: np.ndarray  # ∂VaR/∂exposure_i: currency of VaR per currency of exposure
    component: np.ndarray  # exposure_i × marginal_i, currency


# --------------------------------------------------------------------------- helpers

_controller: ThreadpoolController | None = None


def _one_blas_thread() -> Any:
    """`threadpool_limits(1)` with the library scan done once: a fresh `threadpool_limits`
    costs ~0.27 ms per call here, a cached controller's `limit` ~8 µs."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1)


def _check(
    exposures: np.ndarray, returns: np.ndarray, confidence: float, horizon_days: int
) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(exposures, dtype=np.float64).reshape(-1)
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2:
        raise ValueError(f"returns must be (T, N); got shape {r.shape}")
    if r.shape[1] != w.shape[0]:
        raise ValueError(f"{w.shape[0]} exposures for {r.shape[1]} assets in returns")
    if r.shape[0] < 3:
        raise ValueError(f"need at least 3 returns; have {r.shape[0]}")
    if not (np.isfinite(r).all() and np.isfinite(w).all()):
        raise ValueError("returns and exposures must be finite (no NaN or inf)")
    if not (0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.99); got {confidence}")
    if int(horizon_days) != horizon_days or horizon_days < 1:
        raise ValueError(f"horizon must be a whole number of days ≥ 1; got {horizon_days}")
    return w, r


def _parametric(
    w: np.ndarray, r: np.ndarray, pnl: np.ndarray, confidence: float, h: int
) -> VarResult:
    alpha = 1.0 - confidence
    z = float(sc.ndtri(confidence))
    mu = float(pnl.mean()) * h
    sigma = math.sqrt(float(pnl.var(ddof=1)) * h)  # = sqrt(h · wᵀΣw), Σ the sample cov
    var = z * sigma - mu
    es = sigma * _norm_pdf(z) / alpha - mu
    return VarResult("parametric", confidence, h, var, es, {"mean": mu, "sigma": sigma, "z": z})


def parametric(
    exposures: np.ndarray, returns: np.ndarray, confidence: float = 0.95, horizon_days: int = 1
) -> VarResult:
    """Normal VaR = zσ − μ, ES = σφ(z)/(1−c) − μ with σ² = h·wᵀΣw, μ = h·wᵀμ̂.

    wᵀΣw is computed as the sample variance of the P&L series r @ w, which equals it
    exactly for the sample covariance Σ (ddof=1); no N×N matrix is needed."""
    w, r = _check(exposures, returns, confidence, horizon_days)
    return _parametric(w, r, r @ w, confidence, horizon_days)


def component_var(
    exposures: np.ndarray, returns: np.ndarray, confidence: float = 0.95, horizon_days: int = 1
) -> ComponentVar:
    """Parametric marginal and component VaR (Euler).

    marginal_i = z√h·(Σw)_i/σ_p − h·μ̂_i, component_i = w_i·marginal_i; the components sum
    to the parametric VaR (z√h·σ_p − h·wᵀμ̂). Σw is computed as cov(r_i, P&L)."""
    w, r = _check(exposures, returns, confidence, horizon_days)
    h = horizon_days
    z = float(sc.ndtri(confidence))
    pnl = r @ w
    t = r.shape[0]
    mu = r.mean(axis=0)
    pnl_c = pnl - pnl.mean()
    sigma_w = (r - mu).T @ pnl_c / (t - 1)  # Σw
    sigma_p = math.sqrt(max(float(pnl_c @ pnl_c) / (t - 1), 0.0))
    slope = z * math.sqrt(h) / sigma_p if sigma_p > 0.0 else 0.0
    marginal = slope * sigma_w - h * mu
    component = w * marginal
    return ComponentVar(float(component.sum()), marginal, component)


def _cornish_fisher(pnl: np.ndarray, confidence: float, h: int) -> VarResult:
    alpha = 1.0 - confidence
    mu1, sd1, skew1, kurt1 = _cf_moments(pnl)
    mu, sd = mu1 * h, sd1 * math.sqrt(h)
    s, k = skew1 / math.sqrt(h), kurt1 / h
    q = float(sc.ndtri(alpha))  # lower-tail normal quantile (negative)
    q2, q3 = q * q, q * q * q
    zcf = q + (q2 - 1.0) * s / 6.0 + (q3 - 3.0 * q) * k / 24.0 - (2.0 * q3 - 5.0 * q) * s * s / 36.0
    var = -(mu + sd * zcf)
    # ES: E[p(Z) | Z < q] for the CF polynomial p, from the normal's partial moments
    # I1 = ∫z φ = −φ(q), I2 = ∫z² φ = α − qφ(q), I3 = ∫z³ φ = −(q² + 2)φ(q).
    phi = _norm_pdf(q)
    i1, i2, i3 = -phi, alpha - q * phi, -(q2 + 2.0) * phi
    tail = (
        i1
        + s / 6.0 * (i2 - alpha)
        + k / 24.0 * (i3 - 3.0 * i1)
        - s * s / 36.0 * (2.0 * i3 - 5.0 * i1)
    ) / alpha
    es = -(mu + sd * tail)
    # the expansion is a valid quantile function only where p'(z) > 0 over the tail
    zs = np.linspace(-6.0, q, 32)
    dp = (
        1.0 + zs * s / 3.0 + (3.0 * zs * zs - 3.0) * k / 24.0 - (6.0 * zs * zs - 5.0) * s * s / 36.0
    )
    detail = dict(mean=mu, sigma=sd, skew=s, excess_kurtosis=k, z_cf=zcf)
    detail.update(monotone=bool(np.all(dp > 0.0)), es_clamped=es < var)
    return VarResult("cornish_fisher", confidence, h, var, max(es, var), detail)


def cornish_fisher(
    exposures: np.ndarray, returns: np.ndarray, confidence: float = 0.95, horizon_days: int = 1
) -> VarResult:
    """Modified VaR: the normal quantile corrected for the P&L series' skew S and excess
    kurtosis K, z_cf = q + (q²−1)S/6 + (q³−3q)K/24 − (2q³−5q)S²/36 with q = Φ⁻¹(α);
    VaR = −(μ + σ·z_cf). ES is E[loss | Z < q] under the same expansion (closed form).
    `detail["monotone"]` is False when the expansion bends back in the tail (extreme
    skew/kurtosis); ES is then clamped to ≥ VaR and `es_clamped` says so."""
    w, r = _check(exposures, returns, confidence, horizon_days)
    return _cornish_fisher(r @ w, confidence, horizon_days)


def _historical(
    r: np.ndarray, w: np.ndarray, confidence: float, h: int, name: str, **extra: Any
) -> VarResult:
    rh = _horizon_returns(r, h)
    _require_windows(rh.shape[0], 1.0 - confidence, h, name)
    var, es, k = empirical_var_es(rh @ w, confidence)
    detail = {"observations": rh.shape[0], "k": k, "overlapping": h > 1, **extra}
    return VarResult(name, confidence, h, var, es, detail)


def historical(
    exposures: np.ndarray, returns: np.ndarray, confidence: float = 0.95, horizon_days: int = 1
) -> VarResult:
    """Full revaluation over past days (h > 1: overlapping h-day returns); the k-th worst
    P&L with k = ⌈αM⌉ (module docstring)."""
    w, r = _check(exposures, returns, confidence, horizon_days)
    return _historical(r, w, confidence, horizon_days, "historical")


def filtered_scenarios(r: np.ndarray, lam: float = RISKMETRICS_LAMBDA) -> np.ndarray:
    """Each asset's returns divided by that day's EWMA vol forecast, times today's vol
    (Hull–White). An asset with zero vol keeps zero returns."""
    forecast, today = ewma_variance(r, lam)
    vol = np.sqrt(forecast)
    z = np.divide(r, vol, out=np.zeros_like(r), where=vol > 0.0)
    out: np.ndarray = z * np.sqrt(today)
    return out


def filtered_historical(
    exposures: np.ndarray,
    returns: np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
    lam: float = RISKMETRICS_LAMBDA,
) -> VarResult:
    """Filtered historical simulation: devolatilize each asset's returns by its EWMA vol
    (RiskMetrics λ = 0.94), re-scale by today's vol, then historical VaR/ES on those
    scenarios (h > 1: overlapping h-day compounding of the re-scaled returns, i.e. today's
    vol held flat, as the EWMA forecast is)."""
    w, r = _check(exposures, returns, confidence, horizon_days)
    scenarios = filtered_scenarios(r, lam)
    return _historical(scenarios, w, confidence, horizon_days, "filtered_historical", lam=lam)


def _t_scale(dof: float) -> float:
    if dof <= 2.0:
        raise ValueError(f"Student-t needs dof > 2 for a finite covariance; got {dof}")
    return math.sqrt((dof - 2.0) / dof)


def _cov_factor(r: np.ndarray) -> np.ndarray:
    """A matrix L with L Lᵀ = Σ (sample covariance): Cholesky, or the eigen-factor with
    negative eigenvalues clipped when Σ is singular (more assets than days, duplicates)."""
    cov = np.atleast_2d(np.cov(r, rowvar=False, ddof=1))
    try:
        factor: np.ndarray = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        factor = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return factor


class VarEngine:
    """Repeated VaR refreshes with preallocated Monte Carlo buffers.

    Monte Carlo on a linear portfolio draws the portfolio's 1-D standardized return: the
    P&L is μ_p + s·X with X standard normal (or Student-t) and s = √h·σ_p (t: scaled by
    √((ν−2)/ν) so its variance is σ_p²). With a fixed seed the draws are the same on every
    call, so the engine keeps, per (distribution, dof, paths, seed, k), the k-th smallest
    draw and the sum of the k smallest; a refresh is then an affine map, with results
    identical to redrawing. seed=None draws fresh each call. Hot calls run with BLAS
    limited to one thread (`_one_blas_thread`; two-thread OpenBLAS stalled small matrix
    calls for ~24 ms here). Thread-safe (one lock)."""

    def __init__(
        self,
        paths: int = DEFAULT_PATHS,
        seed: int | None = DEFAULT_SEED,
        dof: float = DEFAULT_DOF,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        if paths < 100:
            raise ValueError(f"Monte Carlo needs at least 100 paths; got {paths}")
        _t_scale(dof)
        self.paths = paths
        self.seed = seed
        self.dof = dof
        self.chunk_rows = chunk_rows
        self._draws = np.empty(paths)
        self._tails: dict[tuple[str, float, int, int, int], tuple[float, float]] = {}
        self._chunk: np.ndarray | None = None
        self._chunk_aux = np.empty(chunk_rows, dtype=np.float32)
        self._pnl = np.empty(paths, dtype=np.float32)
        self._lock = threading.Lock()

    # -- 1-D projection ------------------------------------------------------------
    def _tail(self, dist: str, alpha: float) -> tuple[float, float, int]:
        k = _ceil_k(alpha, self.paths)
        key = (dist, self.dof if dist == "t" else 0.0, self.paths, self.seed or 0, k)
        hit = self._tails.get(key) if self.seed is not None else None
        if hit is None:
            rng = np.random.default_rng(self.seed)
            if dist == "normal":
                rng.standard_normal(out=self._draws)
            else:
                self._draws[:] = rng.standard_t(self.dof, size=self.paths)
            worst = np.partition(self._draws, k - 1)[:k]
            hit = (float(worst[k - 1]), float(worst.sum()))
            if self.seed is not None:
                self._tails[key] = hit
        return hit[0], hit[1], k

    def _mc(self, pnl: np.ndarray, confidence: float, h: int, dist: str) -> VarResult:
        alpha = 1.0 - confidence
        mu = float(pnl.mean()) * h
        sigma = math.sqrt(float(pnl.var(ddof=1)) * h)
        scale = sigma * (_t_scale(self.dof) if dist == "t" else 1.0)
        xk, xsum, k = self._tail(dist, alpha)
        var = -(mu + scale * xk)
        # ES = VaR + Σ(L_i − VaR)/(α n) over the k worst, as in empirical_var_es
        es = var + (-(k * mu + scale * xsum) - k * var) / (alpha * self.paths)
        detail = self._mc_detail(dist, projection=True)
        name = "mc_normal" if dist == "normal" else "mc_t"
        return VarResult(name, confidence, h, var, max(es, var), detail)

    def monte_carlo(
        self,
        exposures: np.ndarray,
        returns: np.ndarray,
        confidence: float = 0.95,
        horizon_days: int = 1,
        dist: str = "normal",
    ) -> VarResult:
        if dist not in ("normal", "t"):
            raise ValueError(f"unknown distribution {dist!r}; use normal or t")
        w, r = _check(exposures, returns, confidence, horizon_days)
        with self._lock, _one_blas_thread():
            return self._mc(r @ w, confidence, horizon_days, dist)

    # -- full scenarios ------------------------------------------------------------
    def monte_carlo_full(
        self,
        exposures: np.ndarray,
        returns: np.ndarray,
        confidence: float = 0.95,
        horizon_days: int = 1,
        dist: str = "normal",
        pnl_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> VarResult:
        """Full scenario generation: per 64k-row chunk, Z (rows × N, float32) from its own
        child of SeedSequence(seed) (deterministic for a seed); asset returns are
        μh + √h·Z Lᵀ (t: Z/√(W/ν)·√((ν−2)/ν), one W per path). A linear P&L is computed as
        Z @ (Lᵀw) without forming the returns; `pnl_fn(asset_returns) -> pnl` (rows × N →
        rows) revalues non-linear books from the full matrix. Memory: one chunk buffer
        plus a float32 P&L per path."""
        if dist not in ("normal", "t"):
            raise ValueError(f"unknown distribution {dist!r}; use normal or t")
        w, r = _check(exposures, returns, confidence, horizon_days)
        h = horizon_days
        with self._lock, _one_blas_thread():
            n = r.shape[1]
            factor = _cov_factor(r) * math.sqrt(h)
            mu = r.mean(axis=0) * h
            if dist == "t":
                factor = factor * _t_scale(self.dof)
            rows = self.chunk_rows
            if self._chunk is None or self._chunk.shape[1] != n:
                self._chunk = np.empty((rows, n), dtype=np.float32)
            chunk, aux = self._chunk, self._chunk_aux
            pnl = self._pnl
            v = (factor.T @ w).astype(np.float32)
            mu_p = float(mu @ w)
            factor_t = factor.T.astype(np.float32)
            mu32 = mu.astype(np.float32)
            n_chunks = -(-self.paths // rows)
            seeds = np.random.SeedSequence(self.seed).spawn(n_chunks)
            for i, ss in enumerate(seeds):
                start = i * rows
                m = min(rows, self.paths - start)
                rng = np.random.default_rng(ss)
                z = chunk[:m]
                rng.standard_normal(out=z, dtype=np.float32)
                out = pnl[start : start + m]
                if pnl_fn is None:
                    np.matmul(z, v, out=out)
                    if dist == "t":
                        out *= self._inv_chi(rng, aux[:m])
                    out += mu_p
                else:
                    x = z @ factor_t
                    if dist == "t":
                        x *= self._inv_chi(rng, aux[:m])[:, None]
                    x += mu32
                    out[:] = pnl_fn(x)
            var, es, _ = empirical_var_es(pnl, confidence, in_place=True)
        detail = self._mc_detail(dist, projection=False, chunk_rows=rows)
        return VarResult(f"mc_full_{dist}", confidence, h, var, es, detail)

    def _mc_detail(self, dist: str, **extra: Any) -> dict[str, Any]:
        detail: dict[str, Any] = {"paths": self.paths, "seed": self.seed, **extra}
        return {**detail, "dof": self.dof} if dist == "t" else detail

    def _inv_chi(self, rng: np.random.Generator, buf: np.ndarray) -> np.ndarray:
        """√(ν/W), W ~ χ²(ν) = 2·Gamma(ν/2), in a float32 buffer."""
        rng.standard_gamma(self.dof / 2.0, out=buf, dtype=np.float32)
        buf *= np.float32(2.0 / self.dof)
        np.sqrt(buf, out=buf)
        np.reciprocal(buf, out=buf)
        return buf

    # -- one refresh ---------------------------------------------------------------
    def all_methods(
        self,
        exposures: np.ndarray,
        returns: np.ndarray,
        confidence: float = 0.95,
        horizon_days: int = 1,
    ) -> list[VarResult]:
        """Every method in METHODS order, sharing the P&L series."""
        w, r = _check(exposures, returns, confidence, horizon_days)
        h = horizon_days
        with self._lock, _one_blas_thread():
            pnl = r @ w
            return [
                _parametric(w, r, pnl, confidence, h),
                _cornish_fisher(pnl, confidence, h),
                _historical(r, w, confidence, h, "historical"),
                _historical(
                    filtered_scenarios(r),
                    w,
                    confidence,
                    h,
                    "filtered_historical",
                    lam=RISKMETRICS_LAMBDA,
                ),
                self._mc(pnl, confidence, h, "normal"),
                self._mc(pnl, confidence, h, "t"),
            ]

    def method(
        self,
        name: str,
        exposures: np.ndarray,
        returns: np.ndarray,
        confidence: float = 0.95,
        horizon_days: int = 1,
    ) -> VarResult:
        """One method by its METHODS name."""
        if name == "mc_normal":
            return self.monte_carlo(exposures, returns, confidence, horizon_days, "normal")
        if name == "mc_t":
            return self.monte_carlo(exposures, returns, confidence, horizon_days, "t")
        fn = _PURE.get(name)
        if fn is None:
            raise ValueError(f"unknown method {name!r}; use one of: {', '.join(METHODS)}")
        with self._lock, _one_blas_thread():
            return fn(exposures, returns, confidence, horizon_days)


_PURE: dict[str, Callable[[np.ndarray, np.ndarray, float, int], VarResult]] = {
    "parametric": parametric,
    "cornish_fisher": cornish_fisher,
    "historical": historical,
    "filtered_historical": filtered_historical,
}

_default_engine: VarEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> VarEngine:
    """The shared engine (100k paths, seed 7, t with 5 dof)."""
    global _default_engine
    with _default_lock:
        if _default_engine is None:
            _default_engine = VarEngine()
        return _default_engine


def monte_carlo(
    exposures: np.ndarray,
    returns: np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
    dist: str = "normal",
    dof: float = DEFAULT_DOF,
    paths: int = DEFAULT_PATHS,
    seed: int | None = DEFAULT_SEED,
) -> VarResult:
    """1-D projection Monte Carlo (see VarEngine)."""
    engine = VarEngine(paths, seed, dof)
    return engine.monte_carlo(exposures, returns, confidence, horizon_days, dist)


def monte_carlo_full(
    exposures: np.ndarray,
    returns: np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
    dist: str = "normal",
    dof: float = DEFAULT_DOF,
    paths: int = DEFAULT_PATHS,
    seed: int | None = DEFAULT_SEED,
    chunk_rows: int = CHUNK_ROWS,
    pnl_fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> VarResult:
    """Full-scenario Monte Carlo from the covariance's Cholesky factor (see
    VarEngine.monte_carlo_full)."""
    engine = VarEngine(paths, seed, dof, chunk_rows)
    return engine.monte_carlo_full(exposures, returns, confidence, horizon_days, dist, pnl_fn)


def all_methods(
    exposures: np.ndarray,
    returns: np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
) -> list[VarResult]:
    """Every method (METHODS order) on the shared default engine."""
    return default_engine().all_methods(exposures, returns, confidence, horizon_days)
