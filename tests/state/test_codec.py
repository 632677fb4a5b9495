"""Round trips of every event type through the journal codec."""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import traider.engine.core.events as events_module
from traider.engine.core.events import (
    Alert,
    BookSnapshot,
    Event,
    OrderFilled,
    PositionChanged,
    SubmitOrder,
)
from traider.engine.core.types import Liquidity, OrderType, Severity, Side
from traider.engine.state.codec import decode_event, encode_event, event_class, event_classes

TRICKY_DECIMALS = [
    Decimal("0.00000001"),
    Decimal("1E-8"),
    Decimal("-0"),
    Decimal("0"),
    Decimal("0E-12"),
    Decimal("1.10"),
    Decimal("1E+30"),
    Decimal("-123456789012345678901234567890.123456789012345678901234567890"),
    Decimal("65000.5"),
]


def _all_event_classes() -> list[type[Event]]:
    """Every concrete Event subclass defined in traider.engine.core.events."""
    out: dict[str, type[Event]] = {}
    stack = list(Event.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if (
            cls.__module__ == events_module.__name__
            and getattr(events_module, cls.__name__, None) is cls
        ):
            out[cls.__name__] = cls
    return [out[name] for name in sorted(out)]


EVENT_CLASSES = _all_event_classes()


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    if tp is str:
        return st.text()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers()
    if tp is float:
        return st.floats(allow_nan=False)  # infinities included; NaN != NaN
    if tp is Decimal:
        return st.one_of(
            st.sampled_from(TRICKY_DECIMALS),
            st.decimals(allow_nan=False, allow_infinity=False),
        )
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        return st.one_of(*[st.none() if a is type(None) else strategy_for(a) for a in args])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=5).map(tuple)
        return st.tuples(*[strategy_for(a) for a in args])
    if origin is dict:
        return st.dictionaries(strategy_for(args[0]), strategy_for(args[1]), max_size=4)
    raise TypeError(f"no strategy for {tp!r}")


def event_strategy(cls: type[Event]) -> st.SearchStrategy[Event]:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: strategy_for(hints[f.name]) for f in fields(cls)})


def assert_same_value(a: Any, b: Any, where: str) -> None:
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, Decimal):
        assert a.as_tuple() == b.as_tuple(), f"{where}: {a!r} != {b!r}"  # sign and exponent
    elif isinstance(a, float):
        assert repr(a) == repr(b), f"{where}: {a!r} != {b!r}"  # -0.0 vs 0.0
    elif isinstance(a, tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same_value(a[k], b[k], f"{where}[{k!r}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_identical(a: Event, b: Event) -> None:
    assert type(a) is type(b)
    for f in fields(a):  # includes compare=False fields such as Alert.details
        assert_same_value(getattr(a, f.name), getattr(b, f.name), f"{type(a).__name__}.{f.name}")


def test_every_event_class_is_known() -> None:
    assert len(EVENT_CLASSES) >= 20
    known = event_classes()
    for cls in EVENT_CLASSES:
        assert known[cls.__name__] is cls
        assert event_class(cls.__name__) is cls


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_every_event_type(cls: type[Event], data: st.DataObject) -> None:
    event = data.draw(event_strategy(cls))
    type_name, payload = encode_event(event)
    assert type_name == cls.__name__
    decoded = decode_event(type_name, payload)
    assert decoded == event
    assert_identical(decoded, event)
    assert encode_event(decoded) == (type_name, payload)
    json.loads(payload)  # strict JSON: no NaN/Infinity literals


@pytest.mark.parametrize("value", TRICKY_DECIMALS, ids=str)
def test_decimals_survive_exactly(value: Decimal) -> None:
    fill = OrderFilled(
        1, 2, "c", "v", "t", "BTCUSDT", Side.BUY, value, value, value, Liquidity.MAKER
    )
    decoded = decode_event(*encode_event(fill))
    assert isinstance(decoded, OrderFilled)
    for got in (decoded.quantity, decoded.price, decoded.fee):
        assert got.as_tuple() == value.as_tuple()
        assert str(got) == str(value)


def test_payload_is_compact_json_with_decimal_strings_and_enum_values() -> None:
    order = SubmitOrder(
        10, 11, "c1", "mm", "BTCUSDT", Side.SELL, OrderType.LIMIT, Decimal("0.00000001"), None
    )
    type_name, payload = encode_event(order)
    assert type_name == "SubmitOrder"
    assert " " not in payload
    obj = json.loads(payload)
    assert obj["quantity"] == "1E-8"
    assert obj["price"] is None
    assert obj["side"] == "SELL"
    assert obj["ts_event"] == 10
    decoded = decode_event(type_name, payload)
    assert isinstance(decoded, SubmitOrder)
    assert decoded.price is None
    assert decoded.side is Side.SELL


def test_book_levels_come_back_as_tuples() -> None:
    book = BookSnapshot(1, 2, "ETHUSDT", 7, ((3000.5, 1.25), (3000.0, 0.1)), ((3001.0, 2.0),))
    decoded = decode_event(*encode_event(book))
    assert isinstance(decoded, BookSnapshot)
    assert type(decoded.bids) is tuple
    assert all(type(level) is tuple for level in decoded.bids + decoded.asks)
    assert decoded == book


def test_non_finite_floats_round_trip_as_strict_json() -> None:
    book = BookSnapshot(1, 2, "X", 1, ((math.inf, -math.inf), (math.nan, -0.0)), ())
    type_name, payload = encode_event(book)
    json.loads(payload, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    decoded = decode_event(type_name, payload)
    assert isinstance(decoded, BookSnapshot)
    (a, b), (c, d) = decoded.bids
    assert a == math.inf
    assert b == -math.inf
    assert math.isnan(c)
    assert math.copysign(1.0, d) == -1.0


def test_alert_details_round_trip() -> None:
    alert = Alert(1, 2, Severity.CRITICAL, "risk", "limit", {"symbol": "BTCUSDT", "x": "1"})
    decoded = decode_event(*encode_event(alert))
    assert isinstance(decoded, Alert)
    assert decoded.details == {"symbol": "BTCUSDT", "x": "1"}


def test_unknown_type_name_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="unknown event type 'NoSuchEvent'"):
        decode_event("NoSuchEvent", "{}")
    with pytest.raises(ValueError, match="unknown event type 'Event'"):
        decode_event("Event", '{"ts_event":1,"ts_init":2}')


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"ts_event":1,"ts_init":2}', "missing field"),
        (
            '{"ts_event":1,"ts_init":2,"symbol":"X","quantity":"1","avg_price":"1",'
            '"realized_pnl":"0","bogus":1}',
            "unknown field 'bogus'",
        ),
        (
            '{"ts_event":1,"ts_init":2,"symbol":"X","quantity":"abc","avg_price":"1",'
            '"realized_pnl":"0"}',
            "invalid decimal",
        ),
        (
            '{"ts_event":1,"ts_init":2,"symbol":"X","quantity":1.5,"avg_price":"1",'
            '"realized_pnl":"0"}',
            "expected a decimal string",
        ),
        (
            '{"ts_event":"1","ts_init":2,"symbol":"X","quantity":"1","avg_price":"1",'
            '"realized_pnl":"0"}',
            "expected an integer",
        ),
    ],
)
def test_malformed_payloads_are_value_errors(payload: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_event("PositionChanged", payload)


def test_bad_enum_value_is_a_value_error() -> None:
    _, payload = encode_event(PositionChanged(1, 2, "X", Decimal(1), Decimal(1), Decimal(0)))
    alert_payload = json.dumps(
        {"ts_event": 1, "ts_init": 2, "severity": "APOCALYPSE", "source": "s", "message": "m"}
    )
    with pytest.raises(ValueError, match="not a valid Severity"):
        decode_event("Alert", alert_payload)
    assert isinstance(decode_event("PositionChanged", payload), PositionChanged)


def test_defaults_fill_fields_missing_from_old_payloads() -> None:
    payload = json.dumps(
        {"ts_event": 1, "ts_init": 2, "severity": "INFO", "source": "s", "message": "m"}
    )
    decoded = decode_event("Alert", payload)
    assert isinstance(decoded, Alert)
    assert decoded.details == {}


def test_float_in_a_decimal_field_is_refused() -> None:
    bad = PositionChanged(1, 2, "X", 0.1, Decimal(1), Decimal(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a Decimal"):
        encode_event(bad)


def test_event_classes_defined_later_are_discovered() -> None:
    @dataclass(frozen=True, slots=True)
    class LateTestEvent(Event):
        note: str
        amount: Decimal | None = None

    event = LateTestEvent(1, 2, "hello", Decimal("0.00000001"))
    decoded = decode_event(*encode_event(event))
    assert decoded == event
    assert type(decoded) is LateTestEvent
