"""JSON form of the billing records (docs/billing-api.yaml), both directions.

Decimals travel as strings (``"120.00"``), dates as ``YYYY-MM-DD``, moments as
``YYYY-MM-DDTHH:MM:SSZ`` (UTC), enums as their codes, tuples as arrays, nested
records as objects.  :func:`decode` raises :class:`WireError` on anything else.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from lkk_app.billing.types import Labelled

T = TypeVar("T")
_DECIMAL_RE = re.compile(r"-?\d{1,15}(\.\d{1,6})?")


def encode(value: Any) -> Any:
    """A record (or a value inside one) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Labelled):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


Converter = Callable[[Any], Any]


def decode(cls: type[T], data: Any) -> T:
    """``data`` (parsed JSON) as a ``cls`` record."""
    try:
        return typing.cast(T, _converter(typing.cast(Any, cls))(data))
    except WireError as exc:
        raise WireError(f"{cls.__name__}{exc.where}: {exc.problem}") from None


class WireError(ValueError):
    """A JSON value does not have the shape of the record: ``problem`` at ``where``
    (a path such as ``.meters[2].serial``)."""

    def __init__(self, problem: str, where: str = ""):
        self.problem, self.where = problem, where
        super().__init__(f"{where}: {problem}" if where else problem)

    def inside(self, step: str) -> WireError:
        return WireError(self.problem, step + self.where)


@functools.cache
def _converter(tp: Any) -> Converter:
    """The function that turns JSON data into a value of ``tp`` (made once per
    type: a copy of billing data holds tens of thousands of records)."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        inner = _converter(next(a for a in typing.get_args(tp) if a is not type(None)))
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        item = _converter(typing.get_args(tp)[0])

        def array(data: Any) -> Any:
            if not isinstance(data, list):
                raise WireError("expected an array")
            values = []
            for i, v in enumerate(data):
                try:
                    values.append(item(v))
                except WireError as exc:
                    raise exc.inside(f"[{i}]") from None
            return tuple(values)

        return array
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _record_converter(tp)
    if isinstance(tp, type) and issubclass(tp, Labelled):
        return _labelled_converter(tp)
    simple = {Decimal: _decimal, datetime: _datetime, date: _date, bool: _bool, int: _int, str: _str}
    if tp in simple:
        return simple[tp]
    raise TypeError(f"no wire form for {tp!r}")  # pragma: no cover - a coding error


def _record_converter(cls: type) -> Converter:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, _converter(hints[f.name]),
               f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)
              for f in dataclasses.fields(cls)]

    def record(data: Any) -> Any:
        if not isinstance(data, dict):
            raise WireError("expected an object")
        kwargs: dict[str, Any] = {}
        for name, convert, optional in fields:
            if name not in data:
                if optional:
                    continue
                raise WireError("missing", f".{name}")
            try:
                kwargs[name] = convert(data[name])
            except WireError as exc:
                raise exc.inside(f".{name}") from None
        try:
            return cls(**kwargs)
        except ValueError as exc:  # a record that checks its own values
            raise WireError(str(exc)) from None

    return record


def _labelled_converter(tp: type[Labelled]) -> Converter:
    members = {m.value: m for m in tp}

    def labelled(data: Any) -> Labelled:
        member = members.get(data) if isinstance(data, str) else None
        if member is None:
            raise WireError(f"unknown code {data!r}"[:80])
        return member

    return labelled


def _decimal(data: Any) -> Decimal:
    if not isinstance(data, str) or not _DECIMAL_RE.fullmatch(data):
        raise WireError("expected a decimal string")
    try:
        return Decimal(data)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid ones
        raise WireError("expected a decimal string") from None


def _datetime(data: Any) -> datetime:
    if not isinstance(data, str) or not data.endswith("Z"):
        raise WireError("expected a UTC time ending in Z")
    try:
        return datetime.fromisoformat(data[:-1]).replace(tzinfo=None)
    except ValueError:
        raise WireError("expected a UTC time") from None


def _date(data: Any) -> date:
    if not isinstance(data, str) or len(data) != 10:
        raise WireError("expected a date")
    try:
        return date.fromisoformat(data)
    except ValueError:
        raise WireError("expected a date") from None


def _bool(data: Any) -> bool:
    if not isinstance(data, bool):
        raise WireError("expected true or false")
    return data


def _int(data: Any) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise WireError("expected a whole number")
    return data


def _str(data: Any) -> str:
    if not isinstance(data, str):
        raise WireError("expected a string")
    return data
