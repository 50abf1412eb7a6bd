"""«Показания»: the readings form of a contract, checking what was typed, and
submitting it — stored at once with who, when, the values, the warnings
confirmed and an idempotency key, then delivered to billing through the job
queue (:mod:`lkk_app.billing.deliveries`), whose answer sets each value
«Принято» or «Отклонено».

The form's facts come from the read copy: the contract's points and the
meters installed there on the reading day, each register's last accepted
value (billing's, or one accepted here and not yet copied, or the initial
value of a meter installed since) and the average of its last 12 months.
The rules are :mod:`lkk_app.billing.readings.rules`; the server decides.

Only a member with the right to give readings (the administrator now) may
submit; anyone of the organisation may look.  Every function starts with the
ownership check of the contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app.billing import binding, deliveries, metering, store
from lkk_app.billing.readings import receipts, rules, tables
from lkk_app.billing.readings.excel import FileRow
from lkk_app.billing.readings.rules import MeterCheck, PeriodWindow
from lkk_app.billing.types import (
    Contract,
    Installation,
    Meter,
    MeteringPoint,
    Reading,
    ReadingSource,
    ReadingWindow,
)
from lkk_app.core import clock
from lkk_app.core.errors import Code, DomainError
from lkk_app.settings import Settings, get_settings

KEY_MAX = 64
HISTORY = 13  # months of billing's readings the form looks at



class ReadingsRefused(DomainError):
    """Nothing was submitted.  ``errors``: target (a register or meter key, or
    ``""`` for the form) → the code of why; ``checks``: what the rules said of
    each meter given (consumption, warnings), for the page to show."""

    def __init__(self, errors: Mapping[str, Code], checks: Sequence[MeterCheck] = ()):
        self.errors = dict(errors)
        self.checks = tuple(checks)
        super().__init__("; ".join(f"{k or 'form'}: {c}" for k, c in self.errors.items()))


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """A meter of the form: where it stands and what the rules need to know."""

    point: MeteringPoint
    meter: Meter
    installation: Installation
    facts: rules.MeterFacts
    received: tuple[Reading, ...] = ()  # a remote-read point's latest values


@dataclasses.dataclass(frozen=True, slots=True)
class GivenValue:
    register_key: str
    meter_key: str
    value: Decimal
    status: str
    reason: str | None
    consumption: Decimal | None
    comment: str
    confirmed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Given:
    """A submission of this billing month, as the status list shows it."""

    id: int
    created_at: datetime
    user_login: str
    source: ReadingSource
    status: str
    reference: str
    values: tuple[GivenValue, ...]  # none kept for a replaced submission
    count: int  # how many values it gave


@dataclasses.dataclass(frozen=True, slots=True)
class ReadingsForm:
    contract: Contract
    organisation_key: str
    window: PeriodWindow | None  # open today
    upcoming: PeriodWindow  # the next one to open
    as_of: date | None  # the day the readings are taken as of (window open)
    slots: tuple[Slot, ...]  # meters read by the customer
    remote: tuple[Slot, ...]  # meters of remote-read points
    given: tuple[Given, ...]  # this month's submissions, newest first
    may_submit: bool
    data_as_of: datetime | None
    billing_down: bool

    @property
    def live(self) -> dict[str, GivenValue]:
        """Register → its value waiting for billing or accepted this month."""
        return {v.register_key: v for g in self.given for v in g.values if v.status in tables.LIVE}

    @property
    def pending(self) -> Given | None:
        """The submission billing has not answered yet (it may be replaced)."""
        return next((g for g in self.given if g.status == tables.SUBMITTED), None)

    def slot_of(self, register_key: str) -> Slot | None:
        return next((s for s in self.slots if any(r.key == register_key for r in s.meter.registers)), None)


@dataclasses.dataclass(frozen=True, slots=True)
class Submitted:
    submission_id: int
    values: int
    replaced: bool
    again: bool = False  # the same form sent twice: the first submission stands
    form: ReadingsForm | None = None  # the form as it is now (with this submission)


# --------------------------------------------------------------------------- the form


def window_setting(contract: Contract, settings: Settings) -> ReadingWindow:
    return contract.reading_window or ReadingWindow(*settings.readings_window)


def load_form(db: Session, user_id: int, contract_key: object, *, today: date,
              settings: Settings | None = None) -> ReadingsForm:
    """The readings form of a contract of the user's organisation."""
    settings = settings or get_settings()
    bound, contract = binding.require_bound_contract(db, user_id, contract_key)
    window_days = window_setting(contract, settings)
    window = rules.open_window(today, window_days)
    as_of = rules.reading_date(window.period, today) if window else None
    day = as_of or today
    points = [p for p in store.points_of(db, contract.key) if metering.point_active(p, day)]
    placed = [(v.point, inst, meter) for v in metering.views(db, points, day)
              if (inst := v.installation) is not None and (meter := v.meter) is not None]
    since = rules.month_start(day, -HISTORY)
    registers = [r.key for _, _, meter in placed for r in meter.registers]
    history = store.register_history(db, registers, since)
    own = _own_accepted(db, registers, since)
    received = _by_register(store.readings_of(
        db, [r.key for point, _, meter in placed if point.remote for r in meter.registers], since))
    slots: list[Slot] = []
    remote: list[Slot] = []
    for point, installation, meter in placed:
        facts = _facts(point, installation, meter, history, own, day)
        latest = tuple(max(received[r.key], key=lambda reading: reading.as_of)
                       for r in meter.registers if received.get(r.key)) if point.remote else ()
        slot = Slot(point, meter, installation, facts, latest)
        (remote if point.remote else slots).append(slot)
    given = _given(db, contract.key, window.period) if window else ()
    return ReadingsForm(
        contract=contract, organisation_key=bound.organisation_key, window=window,
        upcoming=rules.next_window(today, window_days), as_of=as_of, slots=tuple(slots), remote=tuple(remote),
        given=given,
        may_submit=binding.has_right(db, user_id, bound.organisation_key, binding.RIGHT_READINGS),
        data_as_of=store.data_as_of(db), billing_down=store.last_error(db) is not None)


def _by_register(rows: Iterable[Reading]) -> dict[str, list[Reading]]:
    """``rows`` by register, in the order given."""
    grouped: dict[str, list[Reading]] = {}
    for row in rows:
        grouped.setdefault(row.register_key, []).append(row)
    return grouped


def _own_accepted(db: Session, registers: Sequence[str], since: date) -> dict[str, list[store.RegisterReading]]:
    """Values accepted by billing that were given here (until the copy has them too)."""
    found: dict[str, list[store.RegisterReading]] = {}
    for start in range(0, len(registers), 900):
        value_columns = (col(tables.ReadingValue.register_key), col(tables.ReadingValue.as_of),
                         col(tables.ReadingValue.value), col(tables.ReadingValue.billing_consumption))
        rows = db.exec(select(*value_columns).where(
            col(tables.ReadingValue.register_key).in_(list(registers[start:start + 900])),
            tables.ReadingValue.status == tables.ACCEPTED, col(tables.ReadingValue.as_of) >= since)).all()
        for register, as_of, value, consumption in rows:
            found.setdefault(register, []).append(store.RegisterReading(as_of, value, consumption))
    return found


def _facts(point: MeteringPoint, installation: Installation, meter: Meter,
           history: Mapping[str, Sequence[store.RegisterReading]], own: Mapping[str, Sequence[store.RegisterReading]],
           day: date) -> rules.MeterFacts:
    since = installation.installed_on
    initial = {v.register_key: v.value for v in installation.initial}
    facts = []
    for register in meter.registers:
        known: dict[date, tuple[Decimal, Decimal | None]] = {}
        for reading in (*history.get(register.key, ()), *own.get(register.key, ())):
            if since <= reading.as_of < day:
                known.setdefault(reading.as_of, (reading.value, reading.consumption))
        previous: Decimal | None
        previous_on: date | None
        if known:
            last = max(known)
            previous, previous_on = known[last][0], last
        else:
            previous, previous_on = initial.get(register.key), (since if register.key in initial else None)
        monthly = [c for _, (_, c) in sorted(known.items()) if c is not None]
        average, months = rules.average_consumption(monthly)
        facts.append(rules.RegisterFacts(register.key, previous, previous_on, average, months))
    return rules.MeterFacts(
        key=meter.key, digits=meter.digits, decimals=meter.decimals, coefficient=meter.coefficient,
        registers=tuple(facts), losses_percent=point.losses_percent, losses_kwh_month=point.losses_kwh_month,
        max_power_kw=point.max_power_kw, active=metering.point_active(point, day), remote=point.remote,
        verification_due=metering.verification_due(meter))


def _given(db: Session, contract_key: str, period: date) -> tuple[Given, ...]:
    subs = db.exec(select(tables.ReadingSubmission).where(
        tables.ReadingSubmission.contract_key == contract_key, tables.ReadingSubmission.period == period)
        .order_by(col(tables.ReadingSubmission.id).desc())).all()
    if not subs:
        return ()
    counts = dict(db.exec(select(tables.ReadingValue.submission_id, sa.func.count()).where(
        col(tables.ReadingValue.submission_id).in_([s.id for s in subs]))
        .group_by(col(tables.ReadingValue.submission_id))).all())
    # The values of what still counts (a replaced submission's are only counted).
    shown = [s.id for s in subs if s.status != tables.REPLACED]
    columns = (col(tables.ReadingValue.submission_id), col(tables.ReadingValue.register_key),
               col(tables.ReadingValue.meter_key), col(tables.ReadingValue.value), col(tables.ReadingValue.status),
               col(tables.ReadingValue.reason), col(tables.ReadingValue.billing_consumption),
               col(tables.ReadingValue.consumption), col(tables.ReadingValue.comment),
               col(tables.ReadingValue.confirmed))
    by_sub: dict[int, list[GivenValue]] = {}
    if shown:
        for sub_id, register, meter, value, status, reason, billed, consumption, comment, confirmed in db.execute(
                sa.select(*columns).where(col(tables.ReadingValue.submission_id).in_(shown))
                .order_by(col(tables.ReadingValue.id))).all():
            by_sub.setdefault(sub_id, []).append(GivenValue(
                register, meter, value, status, reason, billed if billed is not None else consumption, comment,
                tuple(confirmed or ())))
    return tuple(Given(s.id or 0, s.created_at, s.user_login, ReadingSource(s.source), s.status, s.reference,
                       tuple(by_sub.get(s.id or 0, ())), int(counts.get(s.id or 0, 0))) for s in subs)


# --------------------------------------------------------------------------- checking


def check(form: ReadingsForm, typed: Mapping[str, object]) -> list[MeterCheck]:
    """What the rules say of the values typed (register key → text) for each meter
    of the form; the consumption and warnings of each (nothing is stored)."""
    as_of = form.as_of or form.upcoming.opens
    return [rules.check_meter(slot.facts, typed, as_of=as_of) for slot in form.slots]


def refusals(form: ReadingsForm, typed: Mapping[str, object], checks: Sequence[MeterCheck],
              base_id: int | None) -> dict[str, Code]:
    """The hard errors of a submission: the rules', and the month's state."""
    errors: dict[str, Code] = {}
    known = {r.key for s in form.slots for r in s.meter.registers}
    remote = {r.key for s in form.remote for r in s.meter.registers}
    for key, text in typed.items():
        if key in remote and str(text or "").strip():
            errors[key] = Code(rules.REMOTE)
        elif key not in known and key not in remote:
            errors[""] = Code("readings.unknown_register")
    live = form.live
    pending = form.pending
    for check_ in checks:
        if check_.error is not None:
            errors[check_.key] = check_.error
        for reg in check_.registers:
            if reg.error is not None:
                errors[reg.key] = reg.error
            elif reg.value is not None and reg.key in live:
                value = live[reg.key]
                if value.status == tables.ACCEPTED:
                    errors[reg.key] = Code("reading.duplicate")
                elif pending is None or base_id != pending.id:
                    errors[""] = Code("readings.changed_meanwhile")
    if not any(c.given for c in checks) and not errors:
        errors[""] = Code("readings.nothing_given")
    if pending is not None and base_id not in (None, 0, pending.id):
        errors[""] = Code("readings.changed_meanwhile")
    return errors


# --------------------------------------------------------------------------- submitting


def submit(db: Session, *, user_id: int, user_login: str, contract_key: object, typed: Mapping[str, object],
           confirmed: Sequence[str] = (), comments: Mapping[str, str] | None = None, idempotency_key: str,
           base_id: int | None = None, source: ReadingSource = ReadingSource.CUSTOMER_FORM, today: date,
           settings: Settings | None = None, now: datetime | None = None) -> Submitted:
    """Store a submission and queue its delivery and receipt; or raise
    :class:`ReadingsRefused` (nothing stored) / :class:`BindingError`.

    ``base_id`` is the pending submission the form was showing (``None`` when
    none): only it may be replaced — a submission made meanwhile elsewhere
    (another tab, another person) is not overwritten.  The same
    ``idempotency_key`` sent again returns the first submission."""
    settings = settings or get_settings()
    bound = binding.require_contract(db, user_id, contract_key)
    key = str(idempotency_key or "")
    if not 16 <= len(key) <= KEY_MAX or not key.isascii():
        raise ReadingsRefused({"": Code("readings.stale_form")})
    again = db.exec(select(tables.ReadingSubmission).where(tables.ReadingSubmission.idempotency_key == key)).first()
    if again is not None:
        if again.contract_key != bound.contract_key or again.user_id != user_id:
            raise ReadingsRefused({"": Code("readings.stale_form")})
        count = len(db.exec(select(tables.ReadingValue.id).where(tables.ReadingValue.submission_id == again.id)).all())
        return Submitted(again.id or 0, count, again.replaces_id is not None, again=True)
    binding.require_right(db, user_id, bound.contract_key, binding.RIGHT_READINGS)
    form = load_form(db, user_id, bound.contract_key, today=today, settings=settings)
    if form.window is None or form.as_of is None:
        raise ReadingsRefused({"": Code("readings.closed", opens=form.upcoming.opens)})
    comments = {k: str(v or "").strip()[:rules.COMMENT_MAX] for k, v in (comments or {}).items()}
    checks = check(form, typed)
    errors = refusals(form, typed, checks, base_id)
    if not errors:
        errors = rules.unconfirmed([c for c in checks if c.given], confirmed, comments)
    if errors:
        raise ReadingsRefused(errors, [c for c in checks if c.given])
    now = now or clock.utcnow()
    pending = form.pending
    replaced = pending is not None and base_id == pending.id
    if replaced and pending is not None:
        _replace(db, pending.id)
    tokens = set(confirmed)
    submission = tables.ReadingSubmission(
        idempotency_key=key, organisation_key=form.organisation_key, contract_key=form.contract.key,
        period=form.window.period, as_of=form.as_of, source=source.value, user_id=user_id, user_login=user_login,
        created_at=now, status=tables.SUBMITTED, replaces_id=pending.id if replaced and pending else None)
    values: list[dict[str, object]] = []  # rows of lkk_reading_value (thousands: one INSERT)
    for slot, check_ in zip(form.slots, checks, strict=True):
        if not check_.given:
            continue
        warned: dict[str, list[str]] = {w.target: [] for w in check_.warnings}
        for w in check_.warnings:
            if w.token in tokens:
                warned[w.target].append(w.code.key)
        for reg in check_.registers:
            if reg.value is None:  # pragma: no cover - a given meter without errors has every value
                continue
            values.append({
                "register_key": reg.key, "meter_key": slot.meter.key, "point_key": slot.point.key,
                "period": form.window.period, "as_of": form.as_of, "value": reg.value, "previous": reg.previous,
                "previous_on": reg.previous_on, "consumption": reg.consumption,
                "confirmed": warned.get(reg.key, []) + warned.get(slot.meter.key, []),
                "comment": comments.get(reg.key, ""), "status": tables.SUBMITTED, "reason": None,
                "billing_consumption": None})
    try:
        with db.begin_nested():
            db.add(submission)
            db.flush()
            db.execute(sa.insert(tables.ReadingValue), [{**v, "submission_id": submission.id} for v in values])
    except sa.exc.IntegrityError:  # the same form, or the same month, at the same moment elsewhere
        raise ReadingsRefused({"": Code("readings.changed_meanwhile")}) from None
    deliveries.queue_readings(db, submission_id=submission.id or 0, idempotency_key=key)
    receipts.queue_receipts(db, submission, values, form, settings=settings)
    now_form = dataclasses.replace(form, given=_given(db, form.contract.key, form.window.period))
    return Submitted(submission.id or 0, len(values), replaced, form=now_form)



def _replace(db: Session, submission_id: int) -> None:
    """Withdraw a pending submission: its delivery must not have started."""
    old = db.get(tables.ReadingSubmission, submission_id)
    if old is None or old.status != tables.SUBMITTED or not deliveries.cancel_readings(db, old.idempotency_key):
        raise ReadingsRefused({"": Code("readings.in_progress")})
    db.execute(sa.update(tables.ReadingSubmission).where(col(tables.ReadingSubmission.id) == submission_id)
               .values(status=tables.REPLACED))
    db.execute(sa.update(tables.ReadingValue).where(col(tables.ReadingValue.submission_id) == submission_id)
               .values(status=tables.REPLACED))
    db.flush()


# --------------------------------------------------------------------------- a file


@dataclasses.dataclass(frozen=True, slots=True)
class FileCheck:
    """An uploaded template checked row by row (nothing stored): the values and
    comments it gives, the error of each bad row (by its number in the sheet),
    and what the rules said of each meter."""

    typed: dict[str, str]
    comments: dict[str, str]
    row_errors: dict[int, Code]
    errors: dict[str, Code]  # by register or meter key, and "" for the file
    checks: tuple[MeterCheck, ...]

    @property
    def ok(self) -> bool:
        return not self.row_errors and not self.errors


def check_file(form: ReadingsForm, rows: Sequence[FileRow], base_id: int | None = None) -> FileCheck:
    """The rows of a file through the same rules as the form."""
    known = {r.key for s in form.slots for r in s.meter.registers}
    remote = {r.key for s in form.remote for r in s.meter.registers}
    typed: dict[str, str] = {}
    comments: dict[str, str] = {}
    row_errors: dict[int, Code] = {}
    seen: set[str] = set()
    for row in rows:
        if row.register_key in seen:
            row_errors[row.number] = Code("excel.duplicate_row")
        elif row.register_key in remote:
            if row.value:
                row_errors[row.number] = Code(rules.REMOTE)
        elif row.register_key not in known:
            row_errors[row.number] = Code("excel.unknown_row")
        else:
            typed[row.register_key] = row.value
            if row.comment:
                comments[row.register_key] = row.comment[:rules.COMMENT_MAX]
        seen.add(row.register_key)
    checks = check(form, typed)
    errors = refusals(form, typed, checks, base_id) if form.window else {"": Code(
        "readings.closed", opens=form.upcoming.opens)}
    return FileCheck(typed, comments, row_errors, errors, tuple(c for c in checks if c.given))
