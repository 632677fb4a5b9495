"""`traider status`: what the store (and the kill-switch flag file) say, engine or not."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from traider.config import Config
from traider.engine.core.types import TradingMode


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def read_status(cfg: Config) -> dict[str, Any]:
    from traider.engine.control import ping
    from traider.engine.risk.killswitch import KillSwitchFlag
    from traider.engine.state.sqlite_store import SQLiteStore

    flag = KillSwitchFlag(cfg.home).read()
    kill: dict[str, Any] = {"engaged": False, "reason": None, "since": None}
    positions: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    fills = 0
    pnl: dict[str, Any] = {
        "cash": _s(Decimal(str(cfg.engine.starting_capital_usd))),
        "realized": "0",
        "fees": "0",
        "unrealized": None,
        "equity": None,
    }
    path = cfg.sqlite_path
    if path.exists():
        store = SQLiteStore.open_readonly(path)
        try:
            record = store.kill_switch()
            if record is not None and record.engaged:
                kill = {"engaged": True, "reason": record.reason or None, "since": record.since_ns}
            marks = json.loads(store.get_meta("marks") or "{}")
            unrealized = Decimal(0)
            market_value = Decimal(0)
            complete = True
            for p in store.load_positions():
                if not p.quantity and not p.realized_pnl:
                    continue
                mark = Decimal(marks[p.symbol]) if p.symbol in marks else None
                upnl = (p.quantity * (mark - p.avg_price)) if mark is not None else None
                if p.quantity and mark is None:
                    complete = False
                unrealized += upnl or 0
                market_value += p.quantity * mark if mark is not None else 0
                positions.append(
                    {
                        "symbol": p.symbol,
                        "quantity": _s(p.quantity),
                        "avg_price": _s(p.avg_price),
                        "mark_price": _s(mark),
                        "unrealized_pnl": _s(upnl),
                        "realized_pnl": _s(p.realized_pnl),
                    }
                )
            for o in store.load_orders(open_only=True):
                orders.append(
                    {
                        "client_order_id": o.client_order_id,
                        "symbol": o.symbol,
                        "side": o.side.value,
                        "type": o.order_type.value,
                        "quantity": _s(o.quantity),
                        "price": _s(o.price),
                        "status": o.status.value,
                        "filled_qty": _s(o.filled_qty),
                    }
                )
            fills = store.fill_count()
            account = store.load_account()
            if account is not None:
                pnl = {
                    "cash": _s(account.cash),
                    "realized": _s(account.realized_pnl),
                    "fees": _s(account.fees),
                    "unrealized": _s(unrealized.quantize(Decimal("0.0001"))) if complete else None,
                    "equity": _s((account.cash + market_value).quantize(Decimal("0.0001")))
                    if complete
                    else None,
                }
        finally:
            store.close()
    if flag is not None:  # the flag file wins: it is written even when the store is down
        kill = {"engaged": True, "reason": flag.reason or None, "since": flag.since_ns}
    return {
        "mode": TradingMode.PAPER.value if cfg.engine.mode == "paper" else cfg.engine.mode.upper(),
        "engine_running": ping(cfg.home),
        "store": str(path),
        "kill_switch": kill,
        "positions": positions,
        "open_orders": orders,
        "fills": fills,
        "pnl": pnl,
    }


def render_status(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    ks = report["kill_switch"]
    kill_text = (
        f"[bold white on red] KILL SWITCH ENGAGED [/] {ks['reason'] or ''}"
        if ks["engaged"]
        else "[green]kill switch off[/]"
    )
    running = "[green]running[/]" if report["engine_running"] else "[dim]not running[/]"
    console.print(f"[bold]{report['mode']}[/]  engine {running}  {kill_text}")
    console.print(f"store {report['store']}  fills {report['fills']}")
    pnl = report["pnl"]
    console.print(
        f"cash {pnl['cash']}  equity {pnl['equity'] or 'n/a'}  realized {pnl['realized']}  "
        f"unrealized {pnl['unrealized'] or 'n/a'}  fees {pnl['fees']}"
    )
    if report["positions"]:
        table = Table("symbol", "qty", "avg", "mark", "uPnL", "rPnL", title="positions")
        for p in report["positions"]:
            table.add_row(
                p["symbol"],
                p["quantity"],
                p["avg_price"],
                p["mark_price"] or "-",
                p["unrealized_pnl"] or "-",
                p["realized_pnl"],
            )
        console.print(table)
    if report["open_orders"]:
        table = Table("id", "symbol", "side", "qty", "price", "status", title="open orders")
        for o in report["open_orders"]:
            table.add_row(
                o["client_order_id"],
                o["symbol"],
                o["side"],
                o["quantity"],
                o["price"] or "MKT",
                o["status"],
            )
        console.print(table)
