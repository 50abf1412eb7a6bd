"""The catalogue of user-visible strings, one module per area.

Russian is the only language for now; ``t(key, **kw)`` is the single way code
gets a text, so another language is a second set of dictionaries later.  The
domain speaks in codes (:class:`lkk_app.core.errors.Code`); the edge turns
them into words with :func:`message` and :func:`messages`.

``tests/unit/test_catalogue.py`` fails when a key used in ``lkk_app/`` is
missing here or a key here is used nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Protocol

from lkk_app.core import formatting
from lkk_app.core.errors import Code, FieldErrors
from lkk_app.i18n import (
    billing,
    cli,
    common,
    documents,
    errors,
    login,
    mail,
    profile,
    readings,
    recovery,
    register,
    support,
)

AREAS: tuple[ModuleType, ...] = (common, login, register, recovery, profile, support, mail, errors, cli, billing,
                                 readings, documents)


def _merge(areas: Iterable[ModuleType]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for area in areas:
        for key, text in area.RU.items():
            if key in merged:
                raise RuntimeError(f"catalogue key {key!r} is in two areas")
            merged[key] = text
    return merged


RU: dict[str, str] = _merge(AREAS)

_CATALOGUES = {"ru": RU}


def t(key: str, lang: str = "ru", **kwargs: object) -> str:
    return _text(key, lang, kwargs)


def _text(key: str, lang: str, params: Mapping[str, object]) -> str:
    text = _CATALOGUES.get(lang, RU).get(key) or RU[key]
    return text.format(**params) if params else text


class _Labelled(Protocol):
    @property
    def label_key(self) -> str: ...


def label(value: _Labelled) -> str:
    """The words of a billing code (``ContractStatus.ACTIVE`` → «действует»)."""
    return t(value.label_key)


def wait_text(wait: timedelta | int | float) -> str:
    """A wait in words: «2 мин 5 с», «40 с» (at least one second)."""
    seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
    minutes, seconds = divmod(max(int(-(-seconds // 1)), 1), 60)
    if minutes:
        return t("login.wait_min_sec", minutes=minutes, seconds=seconds)
    return t("login.wait_sec", seconds=seconds)


def _value(value: object) -> object:
    if isinstance(value, Code):
        return message(value)
    if isinstance(value, timedelta):
        return wait_text(value)
    if isinstance(value, Decimal):  # «1 234,56»
        return formatting.number(value)
    if isinstance(value, date):  # «01.12.2026»
        return formatting.date_text(value)
    return value


def message(code: Code | None) -> str:
    """The text of a domain code (``""`` for ``None``)."""
    if code is None:
        return ""
    return _text(code.key, "ru", {name: _value(value) for name, value in code.params.items()})


def messages(errors: FieldErrors | Mapping[str, Code]) -> dict[str, str]:
    """Field → text, for a form."""
    if isinstance(errors, FieldErrors):
        errors = errors.errors
    return {field: message(code) for field, code in errors.items()}
