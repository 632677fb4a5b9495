"""Deterministic client order ids: `{epoch}-{strategy}-{seq}`.

The same engine state always produces the same next id, so after a crash or a failover
reconciliation can match venue orders to journaled intents by id.
"""

from __future__ import annotations

import re

_ID_RE = re.compile(r"^(?P<epoch>\d+)-(?P<strategy>[A-Za-z0-9_]+)-(?P<seq>\d+)$")


def format_client_order_id(epoch: int, strategy_id: str, seq: int) -> str:
    return f"{epoch}-{strategy_id}-{seq}"


def parse_client_order_id(client_order_id: str) -> tuple[int, str, int]:
    match = _ID_RE.match(client_order_id)
    if match is None:
        raise ValueError(f"not a traider client order id: {client_order_id!r}")
    return int(match["epoch"]), match["strategy"], int(match["seq"])


class ClientOrderIdGenerator:
    """Sequence per (epoch, strategy); `observe` moves it past ids seen in the journal."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self._next_seq: dict[str, int] = {}

    def next_id(self, strategy_id: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]+", strategy_id):
            raise ValueError(f"strategy id must be [A-Za-z0-9_]+: {strategy_id!r}")
        seq = self._next_seq.get(strategy_id, 1)
        self._next_seq[strategy_id] = seq + 1
        return format_client_order_id(self.epoch, strategy_id, seq)

    def observe(self, client_order_id: str) -> None:
        epoch, strategy_id, seq = parse_client_order_id(client_order_id)
        if epoch == self.epoch and seq >= self._next_seq.get(strategy_id, 1):
            self._next_seq[strategy_id] = seq + 1
