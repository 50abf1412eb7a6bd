"""Pure rules of contract binding: the form's fields, masking the e-mail of
record, the limits and the code's life.  No database, no billing."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta

from stdnum.ru import inn as stdnum_inn

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=15)
RESEND_AFTER = timedelta(seconds=60)
MAX_WRONG_CODES = 5
LIMIT_WINDOW = timedelta(hours=24)  # of the request limits (auth.ratelimit buckets)
REQUESTS_PER_CONTRACT = 3
REQUESTS_PER_USER = 10
CURATOR_CODE_LIFETIME = timedelta(days=30)
# A request without an e-mail of record waits this long for a curator's code.
CURATOR_WAIT = timedelta(hours=24)
NUMBER_MAX = 40

_KPP_RE = re.compile(r"\d{4}[\dA-Z]{2}\d{3}")
_SPACES_RE = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True, slots=True)
class Lookup:
    """A checked «Привязать договор» form: what billing is asked for."""

    inn: str
    kpp: str | None  # None for an entrepreneur (12-digit ИНН)
    number: str


def needs_kpp(inn: str) -> bool:
    """A company (10-digit ИНН) has a КПП; an entrepreneur (12 digits) has none."""
    return len(_digits_only(inn)) != 12


def _digits_only(value: str) -> str:
    return _SPACES_RE.sub("", value or "")


def check_lookup(inn: str, kpp: str, number: str) -> tuple[Lookup | None, dict[str, str]]:
    """The form as a :class:`Lookup`, or the error codes per field
    (``binding.inn_*``, ``binding.kpp_*``, ``binding.number_*``)."""
    errors: dict[str, str] = {}
    inn = _digits_only(inn)
    kpp_value: str | None = _digits_only(kpp).upper()
    number = _SPACES_RE.sub(" ", (number or "").strip())
    if not inn:
        errors["inn"] = "binding.inn_required"
    elif not inn.isascii() or not inn.isdigit() or len(inn) not in (10, 12):
        errors["inn"] = "binding.inn_length"
    elif not stdnum_inn.is_valid(inn):
        errors["inn"] = "binding.inn_checksum"
    if inn and len(inn) == 12:
        kpp_value = None  # not asked for an entrepreneur
    elif not kpp_value:
        errors["kpp"] = "binding.kpp_required"
    elif not kpp_value.isascii() or not _KPP_RE.fullmatch(kpp_value):
        errors["kpp"] = "binding.kpp_format"
    if not number:
        errors["number"] = "binding.number_required"
    elif len(number) > NUMBER_MAX or not number.isprintable():
        errors["number"] = "binding.number_format"
    if errors:
        return None, errors
    return Lookup(inn=inn, kpp=kpp_value, number=number), {}


def mask_email(address: str) -> str:
    """``energo@romashka-demo.example`` → ``e***@romashka-demo.example``."""
    local, _, domain = address.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def can_resend(sent_at: datetime | None, now: datetime) -> datetime | None:
    """``None`` when a new code may be sent now, otherwise the moment it may."""
    if sent_at is None or now - sent_at >= RESEND_AFTER:
        return None
    return sent_at + RESEND_AFTER
