"""Event <-> (type name, compact JSON) for the journal.

Every concrete `Event` subclass is found by walking `Event.__subclasses__()`; the field
converters are built once per class from its dataclass type hints:

* `Decimal` is written as its string (`Decimal("0.00000001")` -> `"1E-8"`), so the exact
  value *and* exponent come back; a `float` handed to a `Decimal` field is refused rather
  than silently turned into a binary approximation.
* enums are written by value and restored as the enum member.
* tuples (e.g. book levels `tuple[tuple[float, float], ...]`) come back as tuples.
* floats are written by `repr`, which round-trips exactly; non-finite floats (which strict
  JSON cannot hold) are written as the strings "NaN", "Infinity", "-Infinity".
* `X | None` and `dict[str, str]` are supported.

The payload is a JSON object keyed by field name, so a field added later with a default
can still read old journals. Unknown type names and malformed payloads raise `ValueError`.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

import traider.engine.core.events as _events_module  # noqa: F401  (registers the events)
from traider.engine.core.events import Event

__all__ = [
    "decode_event",
    "encode_event",
    "event_class",
    "event_classes",
]

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_loads = json.loads


# --- per-type converters -----------------------------------------------------------------


def _dec_str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


def _dec_int(v: Any) -> int:
    if type(v) is not int:
        raise ValueError(f"expected an integer, got {v!r}")
    return v


def _dec_bool(v: Any) -> bool:
    if type(v) is not bool:
        raise ValueError(f"expected a boolean, got {v!r}")
    return v


def _enc_float(v: Any) -> Any:
    # Non-finite floats are not JSON; only they take the slow path.
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v).replace("inf", "Infinity").replace("nan", "NaN")
    return v


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _dec_float(v: Any) -> float:
    if isinstance(v, str):
        try:
            return _NON_FINITE[v]
        except KeyError:
            raise ValueError(f"expected a number, got {v!r}") from None
    if type(v) is bool or not isinstance(v, int | float):
        raise ValueError(f"expected a number, got {v!r}")
    return float(v)


def _enc_decimal(v: Any) -> str:
    if isinstance(v, Decimal):
        return str(v)
    if type(v) is int:
        return str(v)
    raise TypeError(f"expected a Decimal, got {type(v).__name__} {v!r}")


def _dec_decimal(v: Any) -> Decimal:
    if not isinstance(v, str):
        raise ValueError(f"expected a decimal string, got {v!r}")
    try:
        return Decimal(v)
    except InvalidOperation:
        raise ValueError(f"invalid decimal {v!r}") from None


def _converters(tp: Any, where: str) -> tuple[Encoder | None, Decoder]:
    """(encoder or None when the value is already JSON-ready, decoder) for a type hint."""
    if tp is str:
        return None, _dec_str
    if tp is bool:
        return None, _dec_bool
    if tp is int:
        return None, _dec_int
    if tp is float:
        return _enc_float, _dec_float
    if tp is Decimal:
        return _enc_decimal, _dec_decimal
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum_converters(tp)

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and len(args) == 2:
            return _optional_converters(*_converters(inner[0], where))
    elif origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _var_tuple_converters(*_converters(args[0], where))
        if args and Ellipsis not in args:
            return _fixed_tuple_converters([_converters(a, where) for a in args])
    elif origin is dict and len(args) == 2 and args[0] is str:
        return _dict_converters(*_converters(args[1], where))
    raise TypeError(f"event codec: unsupported field type {tp!r} in {where}")


def _enum_converters(tp: type[Enum]) -> tuple[Encoder, Decoder]:
    members = {m.value: m for m in tp}

    def enc(v: Any) -> Any:
        if isinstance(v, tp):
            return v.value
        try:
            return tp(v).value
        except ValueError:
            raise TypeError(f"{v!r} is not a valid {tp.__name__}") from None

    def dec(v: Any) -> Enum:
        try:
            return members[v]
        except (KeyError, TypeError):
            raise ValueError(f"{v!r} is not a valid {tp.__name__}") from None

    return enc, dec


def _optional_converters(enc: Encoder | None, dec: Decoder) -> tuple[Encoder | None, Decoder]:
    def dec_opt(v: Any) -> Any:
        return None if v is None else dec(v)

    if enc is None:
        return None, dec_opt

    def enc_opt(v: Any) -> Any:
        return None if v is None else enc(v)

    return enc_opt, dec_opt


def _var_tuple_converters(enc: Encoder | None, dec: Decoder) -> tuple[Encoder | None, Decoder]:
    def dec_tuple(v: Any) -> tuple[Any, ...]:
        if not isinstance(v, list):
            raise ValueError(f"expected an array, got {v!r}")
        return tuple([dec(x) for x in v])

    if enc is None:
        return None, dec_tuple

    def enc_tuple(v: Any) -> list[Any]:
        return [enc(x) for x in v]

    return enc_tuple, dec_tuple


def _fixed_tuple_converters(
    parts: list[tuple[Encoder | None, Decoder]],
) -> tuple[Encoder | None, Decoder]:
    decs = [d for _, d in parts]
    n = len(parts)

    def dec_tuple(v: Any) -> tuple[Any, ...]:
        if not isinstance(v, list) or len(v) != n:
            raise ValueError(f"expected an array of {n}, got {v!r}")
        return tuple([d(x) for d, x in zip(decs, v, strict=True)])

    if all(e is None for e, _ in parts):
        return None, dec_tuple
    encs = [e for e, _ in parts]

    def enc_tuple(v: Any) -> list[Any]:
        return [x if e is None else e(x) for e, x in zip(encs, v, strict=True)]

    return enc_tuple, dec_tuple


def _dict_converters(enc: Encoder | None, dec: Decoder) -> tuple[Encoder | None, Decoder]:
    def dec_dict(v: Any) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise ValueError(f"expected an object, got {v!r}")
        return {k: dec(x) for k, x in v.items()}

    def enc_dict(v: Any) -> dict[str, Any]:
        if enc is None:
            return dict(v)
        return {k: enc(x) for k, x in v.items()}

    return enc_dict, dec_dict


# --- per-class specs ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    cls: type[Event]
    name: str
    encoders: tuple[tuple[str, Encoder | None], ...]
    decoders: dict[str, Decoder]
    required: frozenset[str]


def _build_spec(cls: type[Event]) -> _Spec:
    hints = typing.get_type_hints(cls)
    where = cls.__name__
    encoders: list[tuple[str, Encoder | None]] = []
    decoders: dict[str, Decoder] = {}
    required: set[str] = set()
    for f in fields(cls):
        enc, dec = _converters(hints[f.name], f"{where}.{f.name}")
        encoders.append((f.name, enc))
        decoders[f.name] = dec
        if f.default is MISSING and f.default_factory is MISSING:
            required.add(f.name)
    return _Spec(cls, where, tuple(encoders), decoders, frozenset(required))


def _pick(classes: list[type[Event]]) -> type[Event] | None:
    """The class for a type name, or None when it is ambiguous.

    `@dataclass(slots=True)` replaces the class it decorates, and the discarded original
    lingers in `__subclasses__()` until garbage-collected: prefer the class its module
    exposes, then the slotted one.
    """
    if len(classes) == 1:
        return classes[0]
    exposed: list[type[Event]] = [
        c for c in classes if getattr(sys.modules.get(c.__module__), c.__qualname__, None) is c
    ]
    if len(exposed) == 1:
        return exposed[0]
    if len({(c.__module__, c.__qualname__) for c in classes}) == 1:
        slotted = [c for c in classes if "__slots__" in vars(c)]
        if len(slotted) == 1:
            return slotted[0]
    return None


class _Registry:
    """Type name -> class, found by walking the subclass tree; specs built lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, type[Event] | None] = {}  # None: ambiguous name
        self._specs_by_cls: dict[type[Event], _Spec] = {}
        self._specs_by_name: dict[str, _Spec] = {}
        self.refresh()

    def refresh(self) -> None:
        candidates: dict[str, list[type[Event]]] = {}
        stack = list(Event.__subclasses__())
        seen: set[type[Event]] = set()
        while stack:
            cls = stack.pop()
            if cls in seen:
                continue
            seen.add(cls)
            stack.extend(cls.__subclasses__())
            candidates.setdefault(cls.__name__, []).append(cls)
        found = {name: _pick(classes) for name, classes in candidates.items()}
        with self._lock:
            self._by_name = found

    def classes(self) -> dict[str, type[Event]]:
        return {n: c for n, c in self._by_name.items() if c is not None}

    def cls_for_name(self, name: str) -> type[Event]:
        if name not in self._by_name:
            self.refresh()
        if name not in self._by_name:
            raise ValueError(f"unknown event type {name!r}: no Event subclass has that name")
        cls = self._by_name[name]
        if cls is None:
            raise ValueError(f"ambiguous event type {name!r}: several Event subclasses share it")
        return cls

    def spec_for_cls(self, cls: type[Event]) -> _Spec:
        spec = self._specs_by_cls.get(cls)
        if spec is None:
            if self.cls_for_name(cls.__name__) is not cls:
                raise ValueError(f"event type {cls.__name__!r} is shadowed by another class")
            spec = _build_spec(cls)
            with self._lock:
                self._specs_by_cls[cls] = spec
                self._specs_by_name[spec.name] = spec
        return spec

    def spec_for_name(self, name: str) -> _Spec:
        spec = self._specs_by_name.get(name)
        if spec is None:
            spec = self.spec_for_cls(self.cls_for_name(name))
        return spec


_REGISTRY = _Registry()


def event_classes() -> dict[str, type[Event]]:
    """All known concrete event classes by type name (re-scans the subclass tree)."""
    _REGISTRY.refresh()
    return _REGISTRY.classes()


def event_class(type_name: str) -> type[Event]:
    """The class journaled under `type_name`; `ValueError` when there is none."""
    return _REGISTRY.cls_for_name(type_name)


# --- public API --------------------------------------------------------------------------


def encode_event(event: Event) -> tuple[str, str]:
    """(type name, compact JSON payload). `TypeError` for a value the type cannot hold."""
    spec = _REGISTRY.spec_for_cls(type(event))
    obj: dict[str, Any] = {}
    for name, enc in spec.encoders:
        value = getattr(event, name)
        obj[name] = value if enc is None else enc(value)
    return spec.name, _dumps(obj)


def decode_event(type_name: str, payload: str) -> Event:
    """The event `encode_event` produced; `ValueError` for unknown types or bad payloads."""
    spec = _REGISTRY.spec_for_name(type_name)
    try:
        obj = _loads(payload)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"{type_name}: payload is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{type_name}: payload must be a JSON object, got {payload[:80]!r}")
    decoders = spec.decoders
    kwargs: dict[str, Any] = {}
    for name, raw in obj.items():
        dec = decoders.get(name)
        if dec is None:
            raise ValueError(f"{type_name}: unknown field {name!r}")
        try:
            kwargs[name] = dec(raw)
        except ValueError as exc:
            raise ValueError(f"{type_name}.{name}: {exc}") from None
    if not spec.required <= kwargs.keys():
        missing = sorted(spec.required - kwargs.keys())
        raise ValueError(f"{type_name}: missing field(s) {', '.join(missing)}")
    return spec.cls(**kwargs)
