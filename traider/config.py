"""Configuration: `config.toml` into frozen dataclasses that refuse nonsense.

Precedence, lowest first: built-in defaults, the TOML file, `TRAIDER__SECTION__KEY`
environment variables, `--set section.key=value` on the command line. Unknown keys and
ill-typed values raise `ConfigError` naming the key, where it came from and the fix.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

ENV_PREFIX = "TRAIDER__"


class ConfigError(ValueError):
    """A config problem; str() is one line naming the key, the source and the fix."""


def traider_home() -> Path:
    """Where everything traider writes lives: `$TRAIDER_HOME`, default `~/.traider`."""
    return Path(os.environ.get("TRAIDER_HOME") or Path.home() / ".traider").expanduser()


@dataclass(frozen=True)
class EngineConfig:
    mode: str = "paper"  # paper | live (live refuses to start until the live issue lands)
    symbols: tuple[str, ...] = ("BTC-USD", "ETH-USD", "SOL-USD")
    starting_capital_usd: float = 5000.0
    quote_currency: str = "USD"
    epoch: int = 1  # bumped by failover; part of every client order id
    # your venue fee tier, in basis points of notional (Coinbase Advanced entry tier by
    # default); the paper venue charges these and strategies' thresholds must clear them
    maker_fee_bps: float = 40.0
    taker_fee_bps: float = 60.0
    spot: bool = True  # a spot venue: sells never exceed what is held (no shorting)


@dataclass(frozen=True)
class StoreConfig:
    backend: str = "sqlite"
    sqlite_path: str = ""  # empty: $TRAIDER_HOME/traider.db


@dataclass(frozen=True)
class RiskConfig:
    max_position_pct_of_capital: float = 20.0
    daily_loss_limit_pct: float = 2.0  # breach engages the kill switch
    max_order_notional_usd: float = 500.0
    price_band_bps: float = 200.0  # limit price must be within this of mid
    max_orders_per_second: float = 5.0
    order_rate_burst: int = 10
    var_limit_pct: float = 1.0  # 1-day VaR at var_confidence, % of capital, pre-trade
    var_confidence: float = 0.95
    var_history_days: int = 365  # daily returns behind VaR and correlation
    history_file: str = ""  # daily closes CSV (date,symbol,close); empty: simulated history
    mc_paths: int = 100_000
    ewma_lambda: float = 0.94  # RiskMetrics decay for volatility and correlation
    max_pairwise_correlation: float = 0.7
    max_correlated_combined_pct: float = 20.0  # same-direction pairs above the max |rho|
    drawdown_tiers_pct: tuple[float, ...] = (5.0, 10.0, 15.0)  # trailing drawdown from peak
    drawdown_tier_scales: tuple[float, ...] = (0.5, 0.25, 0.0)  # order size multiplier
    target_daily_vol_pct: float = 3.0  # volatility targeting: size x target / forecast
    halt_cooldown_s: float = 300.0  # no new risk this long after a halt is reset
    risk_refresh_s: float = 1.0  # VaR, correlation and stress refresh (off the loop)
    stale_feed_after_ms: int = 2000


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    step_interval_ms: int = 50  # how often the simulated market advances in real time
    levels_per_side: int = 300
    events_per_second: float = 150.0  # order-flow events per symbol, like the real capture


@dataclass(frozen=True)
class StrategyConfig:
    name: str = "imbalance"  # imbalance | orderflow | random (a baseline)
    enabled: bool = True
    order_notional_usd: float = 150.0
    imbalance_levels: int = 5
    entry_imbalance: float = 0.2  # depth imbalance that joins the bid (maker)
    aggressive_imbalance: float = 0.5  # depth imbalance that takes the offer (taker)
    edge_over_fees_bps: float = 5.0  # expected move must clear fees + spread by this
    max_holding_s: float = 30.0
    cooldown_s: float = 2.0
    # orderflow: edge_bps = microprice deviation + ofi_weight_bps x tanh(OFI / its scale)
    ofi_weight_bps: float = 2.0
    margin_bps: float = 2.0  # required beyond fees and spread
    evaluate_every_ms: int = 100


@dataclass(frozen=True)
class TuiConfig:
    book_depth: int = 15
    book_refresh_hz: float = 10.0
    tables_refresh_hz: float = 2.0
    risk_refresh_hz: float = 1.0  # the risk screen's panels
    # remap keys by binding id: ["kill_switch=ctrl+x", "risk_screen=f2"]; ids are shown
    # in the README (kill_switch, risk_screen, models_screen, quit, prev_symbol,
    # next_symbol, help)
    keymap: tuple[str, ...] = ()
    operator: str = ""  # who approves models from the screen; "" = the OS user name


from traider.engine.alerts.config import AlertsConfig  # noqa: E402  (plain dataclasses)
from traider.engine.analytics.schedule import ReportsConfig  # noqa: E402
from traider.engine.models.config import ModelsConfig  # noqa: E402
from traider.engine.monitoring.config import MonitoringConfig  # noqa: E402


@dataclass(frozen=True)
class Config:
    engine: EngineConfig = field(default_factory=EngineConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    tui: TuiConfig = field(default_factory=TuiConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)

    @property
    def home(self) -> Path:
        return traider_home()

    @property
    def sqlite_path(self) -> Path:
        return (
            Path(self.store.sqlite_path).expanduser()
            if self.store.sqlite_path
            else (self.home / "traider.db")
        )


_SECTIONS: dict[str, type[Any]] = {
    f.name: f.type if isinstance(f.type, type) else get_type_hints(Config)[f.name]
    for f in dataclasses.fields(Config)
}


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], where)
    if origin is tuple:
        (item,) = {a for a in get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list of {item.__name__}, got {value!r}")
        return tuple(_coerce(v, item, where) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise ConfigError(f"{where}: unsupported type {hint!r}")


def _parse_scalar(text: str) -> Any:
    """An env or --set value: parsed as TOML when it can be, else kept as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _merge(raw: dict[str, dict[str, Any]], section: str, key: str, value: Any, src: str) -> None:
    raw.setdefault(section, {})[key] = (value, src)


def _validate(cfg: Config) -> None:
    r, e = cfg.risk, cfg.engine
    checks: list[tuple[bool, str]] = [
        (e.mode in ("paper", "live"), 'engine.mode must be "paper" or "live"'),
        (bool(e.symbols), "engine.symbols must name at least one symbol"),
        (e.starting_capital_usd > 0, "engine.starting_capital_usd must be > 0"),
        (
            0 <= e.maker_fee_bps < 1000 and 0 <= e.taker_fee_bps < 1000,
            "engine.maker_fee_bps and engine.taker_fee_bps must be in [0, 1000)",
        ),
        (
            cfg.strategy.name in ("imbalance", "orderflow", "random"),
            'strategy.name must be "imbalance", "orderflow" or "random"',
        ),
        (cfg.store.backend == "sqlite", 'store.backend must be "sqlite" (postgres: twin issue)'),
        (0 < r.max_position_pct_of_capital <= 100, "risk.max_position_pct_of_capital in (0, 100]"),
        (0 < r.daily_loss_limit_pct <= 100, "risk.daily_loss_limit_pct must be in (0, 100]"),
        (r.max_order_notional_usd > 0, "risk.max_order_notional_usd must be > 0"),
        (r.price_band_bps > 0, "risk.price_band_bps must be > 0"),
        (r.max_orders_per_second > 0, "risk.max_orders_per_second must be > 0"),
        (0 < r.var_confidence < 1, "risk.var_confidence must be between 0 and 1"),
        (0 < r.max_pairwise_correlation <= 1, "risk.max_pairwise_correlation in (0, 1]"),
        (r.var_limit_pct > 0, "risk.var_limit_pct must be > 0"),
        (r.var_history_days >= 30, "risk.var_history_days must be >= 30"),
        (r.mc_paths >= 1000, "risk.mc_paths must be >= 1000"),
        (0 < r.ewma_lambda < 1, "risk.ewma_lambda must be between 0 and 1"),
        (r.max_correlated_combined_pct >= 0, "risk.max_correlated_combined_pct must be >= 0"),
        (
            len(r.drawdown_tiers_pct) == len(r.drawdown_tier_scales)
            and list(r.drawdown_tiers_pct) == sorted(r.drawdown_tiers_pct)
            and all(0 <= x <= 1 for x in r.drawdown_tier_scales),
            "risk.drawdown_tiers_pct must be ascending and match drawdown_tier_scales (0..1)",
        ),
        (r.target_daily_vol_pct > 0, "risk.target_daily_vol_pct must be > 0"),
        (r.halt_cooldown_s >= 0, "risk.halt_cooldown_s must be >= 0"),
        (r.risk_refresh_s > 0, "risk.risk_refresh_s must be > 0"),
        (cfg.sim.step_interval_ms > 0, "sim.step_interval_ms must be > 0"),
        (cfg.sim.levels_per_side >= 10, "sim.levels_per_side must be >= 10"),
        (cfg.tui.book_refresh_hz > 0, "tui.book_refresh_hz must be > 0"),
        (cfg.tui.risk_refresh_hz > 0, "tui.risk_refresh_hz must be > 0"),
        (
            all(
                "=" in k and k.split("=", 1)[0].strip() and k.split("=", 1)[1].strip()
                for k in cfg.tui.keymap
            ),
            'tui.keymap entries must be binding_id=keys, e.g. "kill_switch=ctrl+x"',
        ),
    ]
    checks.extend((False, problem) for problem in cfg.monitoring.problems())
    checks.extend((False, problem) for problem in cfg.models.problems())
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    from traider.engine.core.instruments import DEFAULT_INSTRUMENTS

    for symbol in e.symbols:
        if symbol not in DEFAULT_INSTRUMENTS:
            known = ", ".join(DEFAULT_INSTRUMENTS)
            raise ConfigError(f"engine.symbols: unknown symbol {symbol!r}; use one of {known}")


def load_config(
    path: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the config. `path=None` uses `$TRAIDER_HOME/config.toml` when it exists."""
    environ = os.environ if environ is None else environ
    raw: dict[str, dict[str, Any]] = {}
    if path is None:
        candidate = traider_home() / "config.toml"
        path = candidate if candidate.exists() else None
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file; check the path") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from None
        for section, body in data.items():
            if not isinstance(body, dict):
                raise ConfigError(f"{path}: top-level key {section!r} must be a [section] table")
            for key, value in body.items():
                _merge(raw, section, key, value, str(path))
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX):
            parts = name[len(ENV_PREFIX) :].lower().split("__")
            if len(parts) != 2:
                raise ConfigError(
                    f"env {name}: use TRAIDER__SECTION__KEY, "
                    "e.g. TRAIDER__RISK__DAILY_LOSS_LIMIT_PCT"
                )
            _merge(raw, parts[0], parts[1], _parse_scalar(value), f"env {name}")
    for dotted, value in (overrides or {}).items():
        if dotted.count(".") != 1:
            raise ConfigError(
                f"--set {dotted}: use section.key=value, e.g. risk.daily_loss_limit_pct=1.5"
            )
        section, key = dotted.split(".")
        _merge(raw, section, key, _parse_scalar(value), f"--set {dotted}")

    built: dict[str, Any] = {}
    for section, entries in raw.items():
        klass = _SECTIONS.get(section)
        if klass is None:
            src = next(iter(entries.values()))[1]
            raise ConfigError(
                f"{src}: unknown section [{section}]; known sections: {', '.join(_SECTIONS)}"
            )
        hints = get_type_hints(klass)
        values: dict[str, Any] = {}
        for key, (value, src) in entries.items():
            if key not in hints:
                known = ", ".join(hints)
                raise ConfigError(
                    f"{src}: unknown key {section}.{key}; remove it or use one of: {known}"
                )
            values[key] = _coerce(value, hints[key], f"{src}: {section}.{key}")
        try:
            built[section] = klass(**values)
        except ValueError as exc:  # a section's own validation (e.g. [alerts])
            src = next(iter(entries.values()))[1]
            raise ConfigError(f"{src}: {exc}") from None
    cfg = Config(**built)
    try:
        _validate(cfg)
    except ConfigError as exc:
        where = str(path) if path is not None else "config"
        raise ConfigError(f"{where}: {exc}") from None
    return cfg


def config_as_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
