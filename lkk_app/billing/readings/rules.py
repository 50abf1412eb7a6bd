"""The pure rules of meter readings (README «Показания»): when readings are
accepted, and whether a value is valid — hard errors block, warnings must be
confirmed.  No database, no clock: every fact comes in as an argument, every
answer goes out as a :class:`~lkk_app.core.errors.Code`.

**When.**  A reading window is a span of days of month (``23-3``).  A window
that wraps (first day after the last) opens in the billing month and closes
in the next one; one that does not wrap lies wholly in the month after the
billing month (``1-31``: always open, for the month before).  The reading is
taken as of 00:00 of the 1st day after the billing month — or today, when it
is given before that.

**What.**  A value is a number ≥ 0 that fits the meter's capacity N.M.  Below
the previous value it is either a *rollover* (``new + 10^N − previous <
10^N / 2``: the counter went through zero) or a *reverse* reading (the
previous one was probably too high: a comment is required); both are asked,
never assumed.  Consumption = Δ × K + losses (a percentage of Δ × K and a
constant per month, shared between the zones in proportion to their energy).
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from lkk_app.billing.types import ReadingWindow as Window
from lkk_app.core.errors import Code

CENT = Decimal("0.01")
SPIKE_FACTOR = Decimal(3)
SPIKE_MIN_MONTHS = 3
COMMENT_MAX = 500
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_SPACES = dict.fromkeys(map(ord, " \u00a0\u2009\u202f\t"), None)

# Warnings (confirmed by the customer) and hard errors (block), by catalogue key.
ROLLOVER = "reading.rollover"
REVERSE = "reading.reverse"
SPIKE = "reading.spike"
IMPOSSIBLE = "reading.impossible"
ZERO = "reading.zero"
VERIFICATION = "reading.verification"
WARNINGS = (ROLLOVER, REVERSE, SPIKE, IMPOSSIBLE, ZERO, VERIFICATION)

FORMAT = "reading.format"
CAPACITY = "reading.capacity"
REGISTERS = "reading.registers"
INACTIVE = "reading.inactive"
REMOTE = "reading.remote"
COMMENT_REQUIRED = "reading.comment_required"
NOT_CONFIRMED = "reading.not_confirmed"


# --------------------------------------------------------------------------- when


def parse_window(text: str) -> Window:
    """``"23-3"`` → ``ReadingWindow(23, 3)``; ``ValueError`` for anything else."""
    first, sep, last = str(text).strip().partition("-")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit():
        raise ValueError("a window is two days of month: 23-3")
    return Window(int(first), int(last))


def month_start(day: date, months: int = 0) -> date:
    """The first day of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _day_of(month: date, day: int) -> date:
    return month.replace(day=min(day, calendar.monthrange(month.year, month.month)[1]))


@dataclasses.dataclass(frozen=True, slots=True)
class PeriodWindow:
    """The window of one billing month: readings for ``period`` (its 1st day)
    are accepted from ``opens`` to ``closes`` inclusive."""

    period: date
    opens: date
    closes: date

    def is_open(self, today: date) -> bool:
        return self.opens <= today <= self.closes


def window_of(period: date, window: Window) -> PeriodWindow:
    """The window for the billing month ``period``."""
    period = month_start(period)
    following = month_start(period, 1)
    if window.wraps:
        return PeriodWindow(period, _day_of(period, window.first_day), _day_of(following, window.last_day))
    return PeriodWindow(period, _day_of(following, window.first_day), _day_of(following, window.last_day))


def open_window(today: date, window: Window) -> PeriodWindow | None:
    """The window open today, if any (the latest billing month when two could be)."""
    for months in (0, -1, -2):
        candidate = window_of(month_start(today, months), window)
        if candidate.is_open(today):
            return candidate
    return None


def next_window(today: date, window: Window) -> PeriodWindow:
    """The first window that opens after ``today``."""
    for months in range(-1, 3):
        candidate = window_of(month_start(today, months), window)
        if candidate.opens > today:
            return candidate
    raise AssertionError("a window opens within three months")  # pragma: no cover


def reading_date(period: date, today: date) -> date:
    """As of when the reading of ``period`` is taken: 00:00 of the 1st of the
    next month, or today when given earlier."""
    return min(today, month_start(period, 1))


# --------------------------------------------------------------------------- what


def capacity_max(digits: int, decimals: int) -> Decimal:
    """The largest value a counter with N.M digits shows (6.2 → 999999.99)."""
    return Decimal(10) ** digits - Decimal(1).scaleb(-decimals)


def parse_value(text: object, digits: int, decimals: int) -> Decimal | Code | None:
    """The value typed for a register, with the counter's M decimals: ``None``
    when blank, a :class:`Code` (``reading.format``, ``reading.capacity``) when
    it is not a number ≥ 0 that fits the capacity N.M; a comma or a point,
    spaces between digits."""
    raw = str(text or "").translate(_SPACES).replace(",", ".")
    if raw == "":
        return None
    if not _NUMBER_RE.fullmatch(raw) or len(raw) > 40:
        return Code(FORMAT)
    whole, _, fraction = raw.partition(".")
    fraction = fraction.rstrip("0")
    if len(whole.lstrip("0")) > digits or len(fraction) > decimals:
        return Code(CAPACITY, digits=digits, decimals=decimals, max=capacity_max(digits, decimals))
    return Decimal(whole + ("." + fraction if fraction else "")).quantize(Decimal(1).scaleb(-decimals))


@dataclasses.dataclass(frozen=True, slots=True)
class RegisterFacts:
    """What the rules need to know of one register (a zone of a meter)."""

    key: str
    previous: Decimal | None  # the last accepted value before this reading
    previous_on: date | None
    average: Decimal | None = None  # mean monthly consumption of the last 12 months
    months: int = 0  # how many months the average is made of


@dataclasses.dataclass(frozen=True, slots=True)
class MeterFacts:
    """One meter at one point, as of the reading date."""

    key: str
    digits: int
    decimals: int
    coefficient: Decimal  # K = K_ТТ × K_ТН
    registers: tuple[RegisterFacts, ...]
    losses_percent: Decimal = Decimal(0)
    losses_kwh_month: Decimal = Decimal(0)
    max_power_kw: Decimal | None = None
    active: bool = True  # point active and this meter installed on the reading date
    remote: bool = False  # the point is read by an automated system
    verification_due: date | None = None  # the earliest next verification (meter, transformers)


@dataclasses.dataclass(frozen=True, slots=True)
class Warning:
    """A warning about ``target`` (a register or a meter key); the customer
    confirms it by sending back :attr:`token`."""

    target: str
    code: Code

    @property
    def token(self) -> str:
        return f"{self.code.key}:{self.target}"


@dataclasses.dataclass(frozen=True, slots=True)
class RegisterCheck:
    key: str
    value: Decimal | None
    previous: Decimal | None
    previous_on: date | None
    delta: Decimal | None = None  # counter units (a rollover counts through zero)
    energy: Decimal | None = None  # Δ × K
    losses: Decimal | None = None  # percentage and constant share, кВт·ч
    consumption: Decimal | None = None  # energy + losses, кВт·ч
    rollover: bool = False
    error: Code | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MeterCheck:
    key: str
    registers: tuple[RegisterCheck, ...]
    warnings: tuple[Warning, ...] = ()
    error: Code | None = None  # inactive, remote

    @property
    def given(self) -> bool:
        """Some value was typed for this meter."""
        return any(r.value is not None or r.error is not None for r in self.registers)

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.error is None for r in self.registers)

    @property
    def consumption(self) -> Decimal | None:
        values = [r.consumption for r in self.registers if r.consumption is not None]
        return sum(values, Decimal(0)) if len(values) == len(self.registers) else None


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def delta(previous: Decimal, value: Decimal, digits: int) -> tuple[Decimal, bool]:
    """Counter units between ``previous`` and ``value``, and whether that goes
    through zero: ``value < previous`` with ``value + 10^N − previous < 10^N / 2``."""
    if value >= previous:
        return value - previous, False
    span = Decimal(10) ** digits
    through_zero = value + span - previous
    if through_zero < span / 2:
        return through_zero, True
    return value - previous, False


def share_constant(energies: Sequence[Decimal], constant: Decimal) -> list[Decimal]:
    """The monthly constant losses shared between zones in proportion to their
    (positive) energy, in cents, summing exactly to ``constant``; all of it to
    the first zone when none has energy."""
    if not energies:
        return []
    positive = [max(e, Decimal(0)) for e in energies]
    total = sum(positive, Decimal(0))
    if total == 0 or constant == 0:
        return [constant if i == 0 else Decimal(0) for i in range(len(energies))]
    shares = [_cents(constant * p / total) for p in positive]
    largest = max(range(len(shares)), key=lambda i: positive[i])
    shares[largest] += constant - sum(shares, Decimal(0))
    return shares


def check_meter(meter: MeterFacts, typed: Mapping[str, object], *, as_of: date) -> MeterCheck:
    """Check the values typed for ``meter``'s registers (``typed``: register key
    → text or ``Decimal``; a missing key is a blank).  Hard errors are on the
    registers (format, capacity, a blank beside a value) and on the meter
    (inactive, remote-read); warnings are the meter's, each naming its target."""
    values: dict[str, Decimal | Code | None] = {}
    for reg in meter.registers:
        raw = typed.get(reg.key)
        text = format(raw, "f") if isinstance(raw, Decimal) else raw
        values[reg.key] = parse_value(text, meter.digits, meter.decimals)
    any_given = any(v is not None for v in values.values())
    if not any_given:
        return MeterCheck(meter.key, tuple(RegisterCheck(r.key, None, r.previous, r.previous_on)
                                           for r in meter.registers))
    meter_error = None
    if meter.remote:
        meter_error = Code(REMOTE)
    elif not meter.active:
        meter_error = Code(INACTIVE, date=as_of)

    partial: list[tuple[RegisterFacts, Decimal, Decimal | None, bool]] = []
    errors: dict[str, Code] = {}
    for reg in meter.registers:
        value = values[reg.key]
        if value is None:
            errors[reg.key] = Code(REGISTERS)
        elif isinstance(value, Code):
            errors[reg.key] = value
        else:
            step, rolled = (None, False) if reg.previous is None else delta(reg.previous, value, meter.digits)
            partial.append((reg, value, step, rolled))

    energies = [(step if step is not None else Decimal(0)) * meter.coefficient for _, _, step, _ in partial]
    constants = share_constant(energies, meter.losses_kwh_month)
    checks: dict[str, RegisterCheck] = {}
    warnings: list[Warning] = []
    for (reg, value, step, rolled), energy, constant in zip(partial, energies, constants, strict=True):
        if step is None:  # a first reading: nothing to compare with
            checks[reg.key] = RegisterCheck(reg.key, value, None, None)
            continue
        energy = _cents(energy)
        losses = _cents(energy * meter.losses_percent / 100) + constant
        consumption = energy + losses
        checks[reg.key] = RegisterCheck(reg.key, value, reg.previous, reg.previous_on, step, energy, losses,
                                        consumption, rolled)
        numbers = {"previous": reg.previous, "date": reg.previous_on, "value": value,
                   "consumption": consumption}
        if rolled:
            warnings.append(Warning(reg.key, Code(ROLLOVER, numbers)))
        elif step < 0:
            warnings.append(Warning(reg.key, Code(REVERSE, numbers)))
        elif step == 0:
            warnings.append(Warning(reg.key, Code(ZERO, numbers)))
        elif (reg.average is not None and reg.months >= SPIKE_MIN_MONTHS and reg.average > 0
              and consumption > SPIKE_FACTOR * reg.average):
            warnings.append(Warning(reg.key, Code(SPIKE, numbers, average=_cents(reg.average))))

    registers = tuple(
        RegisterCheck(r.key, None, r.previous, r.previous_on, error=errors[r.key]) if r.key in errors
        else checks[r.key]
        for r in meter.registers
    )
    if meter_error is None and not errors:
        total = sum((c.consumption for c in checks.values() if c.consumption is not None), Decimal(0))
        since = [c.previous_on for c in checks.values() if c.previous_on is not None]
        if meter.max_power_kw is not None and since:
            hours = max((as_of - min(since)).days, 1) * 24
            limit = meter.max_power_kw * hours
            if total > limit:
                warnings.append(Warning(meter.key, Code(IMPOSSIBLE, consumption=total, limit=limit,
                                                        power=meter.max_power_kw, hours=hours)))
        if meter.verification_due is not None and meter.verification_due <= as_of:
            warnings.append(Warning(meter.key, Code(VERIFICATION, date=meter.verification_due)))
    return MeterCheck(meter.key, registers, tuple(warnings), meter_error)


def unconfirmed(checks: Sequence[MeterCheck], confirmed: Sequence[str],
                comments: Mapping[str, str]) -> dict[str, Code]:
    """Target → the code of what is missing before the values may go: a
    warning not ticked (``reading.not_confirmed``), or a reverse reading ticked
    without a comment (``reading.comment_required``)."""
    ticked = set(confirmed)
    missing: dict[str, Code] = {}
    for check in checks:
        for warning in check.warnings:
            if warning.token not in ticked:
                missing.setdefault(warning.target, Code(NOT_CONFIRMED))
            elif warning.code.key == REVERSE and not str(comments.get(warning.target, "")).strip():
                missing.setdefault(warning.target, Code(COMMENT_REQUIRED))
    return missing


def average_consumption(monthly: Sequence[Decimal]) -> tuple[Decimal | None, int]:
    """The mean of up to the last 12 monthly consumptions (oldest first) and how many there were."""
    last = list(monthly)[-12:]
    if not last:
        return None, 0
    return sum(last, Decimal(0)) / len(last), len(last)
