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
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from lkk_app.billing.types import Labelled

T = TypeVar("T")
_DECIMAL_RE = re.compile(r"-?\d{1,15}(\.\d{1,6})?")


class WireError(ValueError):
    """A JSON value does not have the shape of the record."""


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


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(cls: type[T], data: Any) -> T:
    """``data`` (parsed JSON) as a ``cls`` record."""
    return typing.cast(T, _decode(cls, data, cls.__name__))


def _decode(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        return _decode(options[0], data, where)
    if origin is tuple:
        if not isinstance(data, list):
            raise WireError(f"{where}: expected an array")
        item = typing.get_args(tp)[0]
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(data))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise WireError(f"{where}: expected an object")
        hints = _hints(tp)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(tp):
            if f.name not in data:
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                    continue
                raise WireError(f"{where}.{f.name}: missing")
            kwargs[f.name] = _decode(hints[f.name], data[f.name], f"{where}.{f.name}")
        try:
            return tp(**kwargs)
        except ValueError as exc:  # a record that checks its own values
            raise WireError(f"{where}: {exc}") from None
    if isinstance(tp, type) and issubclass(tp, Labelled):
        try:
            return tp(data)
        except ValueError:
            raise WireError(f"{where}: unknown code {data!r}") from None
    if tp is Decimal:
        if not isinstance(data, str) or not _DECIMAL_RE.fullmatch(data):
            raise WireError(f"{where}: expected a decimal string")
        try:
            return Decimal(data)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid ones
            raise WireError(f"{where}: expected a decimal string") from None
    if tp is datetime:
        if not isinstance(data, str) or not data.endswith("Z"):
            raise WireError(f"{where}: expected a UTC time ending in Z")
        try:
            return datetime.fromisoformat(data[:-1]).replace(tzinfo=None)
        except ValueError:
            raise WireError(f"{where}: expected a UTC time") from None
    if tp is date:
        if not isinstance(data, str) or len(data) != 10:
            raise WireError(f"{where}: expected a date")
        try:
            return date.fromisoformat(data)
        except ValueError:
            raise WireError(f"{where}: expected a date") from None
    if tp is bool:
        if not isinstance(data, bool):
            raise WireError(f"{where}: expected true or false")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise WireError(f"{where}: expected a whole number")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise WireError(f"{where}: expected a string")
        return data
    raise TypeError(f"{where}: no wire form for {tp!r}")  # pragma: no cover - a coding error

