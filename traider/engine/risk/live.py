"""The live portfolio as the risk tools see it: USD exposure per symbol and the return
history behind it. Read from the store, so it works while an engine runs or not."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from traider.config import Config
from traider.engine.risk.history import ReturnHistory, simulated_daily_returns

if TYPE_CHECKING:
    from traider.engine.risk.stress import HistoricalScenario


def paper_history(cfg: Config) -> ReturnHistory:
    """Paper mode's market has no past: its history comes from the same calibrated
    process, seeded by the sim seed, so the numbers are reproducible."""
    return simulated_daily_returns(
        tuple(cfg.engine.symbols), days=cfg.risk.var_history_days, seed=cfg.sim.seed
    )


def risk_history(cfg: Config) -> tuple[ReturnHistory, list[HistoricalScenario]]:
    """The history behind VaR and correlation, and the historical stress scenarios.

    With `risk.history_file` set: the last `var_history_days` returns of that file, and the
    worst days, weeks and drawdown the code finds in it. Otherwise the simulated history
    and no historical scenarios (a simulated past has no crashes worth naming)."""
    path_text = cfg.risk.history_file
    if not path_text:
        return paper_history(cfg), []
    from traider.engine.risk.history import load_daily_closes
    from traider.engine.risk.stress import historical_scenarios, load_daily_panel

    path = Path(path_text).expanduser()
    if not path.exists():
        raise ValueError(f"risk.history_file {path}: no such file; fix the path or leave it empty")
    full = load_daily_closes(path)
    recent = ReturnHistory(full.symbols, full.returns[-cfg.risk.var_history_days :], full.source)
    return recent, historical_scenarios(load_daily_panel(path))


def live_portfolio(cfg: Config) -> tuple[dict[str, float], ReturnHistory]:
    """(exposure in USD by symbol, signed, valued at the last saved marks; history)."""
    from traider.engine.state.sqlite_store import SQLiteStore

    exposures = {symbol: 0.0 for symbol in cfg.engine.symbols}
    if cfg.sqlite_path.exists():
        store = SQLiteStore.open_readonly(cfg.sqlite_path)
        try:
            marks = json.loads(store.get_meta("marks") or "{}")
            for p in store.load_positions():
                if p.symbol in exposures and p.quantity:
                    mark = Decimal(marks[p.symbol]) if p.symbol in marks else p.avg_price
                    exposures[p.symbol] = float(p.quantity * mark)
        finally:
            store.close()
    return exposures, risk_history(cfg)[0]
