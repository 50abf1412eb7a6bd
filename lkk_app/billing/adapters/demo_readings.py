"""How the demo billing takes readings from the cabinet: it checks each entry
against what it knows (the register, the meter installed at a point of the
contract on that day, the point not read remotely, no accepted reading of that
register for that day or later, the value fitting the counter, a value below
the previous one confirmed as a rollover or a reverse reading), accepts what
passes with its consumption (Δ × K + losses, the rules the cabinet shows) and
rejects the rest with a code.  The answer is kept per idempotency key.

Runs inside :class:`~lkk_app.billing.adapters.demo.DemoBilling`'s session (sync).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app.billing import wire
from lkk_app.billing.adapters import demo_money
from lkk_app.billing.adapters.demo_data import log_change
from lkk_app.billing.adapters.demo_tables import (
    DemoContract,
    DemoInstallation,
    DemoMeter,
    DemoPoint,
    DemoReading,
    DemoReadingBatch,
    DemoRegister,
    DemoTransformer,
)
from lkk_app.billing.gateway import BillingRejected, BillingUnavailable
from lkk_app.billing.readings import rules
from lkk_app.billing.readings.rules import month_start
from lkk_app.billing.types import (
    ChangeKind,
    EntryResult,
    Reading,
    ReadingsAck,
    ReadingSource,
    ReadingsSubmission,
    ReadingStatus,
)

MAX_ENTRIES = 5000

# Codes billing rejects an entry with (catalogue: lkk_app/i18n/readings.py).
UNKNOWN_REGISTER = "reading.unknown_register"
METER_REMOVED = "reading.meter_removed"
DUPLICATE = "reading.duplicate"
FUTURE = "reading.future"
UNCONFIRMED = "reading.unconfirmed"


def reading_record(row: DemoReading) -> Reading:
    return Reading(key=row.key, register_key=row.register_key, meter_key=row.meter_key, point_key=row.point_key,
                   as_of=row.as_of, value=row.value, source=ReadingSource(row.source),
                   status=ReadingStatus.ACCEPTED, consumption_kwh=row.consumption_kwh,
                   confirmed_warnings=tuple(row.confirmed or ()))


def _body_hash(submission: ReadingsSubmission) -> str:
    text = json.dumps(wire.encode(submission), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _batch(db: Session, key: str) -> DemoReadingBatch | None:
    return db.exec(select(DemoReadingBatch).where(DemoReadingBatch.idempotency_key == key)).first()


def _ack(batch: DemoReadingBatch) -> ReadingsAck:
    return ReadingsAck(idempotency_key=batch.idempotency_key, reference=batch.reference,
                       received_at=batch.received_at,
                       results=tuple(wire.decode(EntryResult, r) for r in batch.results))


def _installed(db: Session, meter_key: str, contract_key: str, on: date) -> tuple[DemoInstallation, DemoPoint] | None:
    """The meter's installation at a point of this contract on ``on``."""
    hit = db.exec(
        select(DemoInstallation, DemoPoint)
        .join(DemoPoint, col(DemoPoint.key) == col(DemoInstallation.point_key))
        .where(DemoInstallation.meter_key == meter_key, DemoPoint.contract_key == contract_key,
               col(DemoInstallation.installed_on) <= on,
               sa.or_(col(DemoInstallation.removed_on).is_(None), col(DemoInstallation.removed_on) > on))
    ).first()
    return None if hit is None else (hit[0], hit[1])


def _previous(db: Session, register_key: str, on: date,
              installation: DemoInstallation) -> tuple[Decimal | None, date | None]:
    """The last accepted value before ``on`` since the installation, else the initial one."""
    row = db.exec(select(DemoReading).where(
        DemoReading.register_key == register_key, col(DemoReading.as_of) < on,
        col(DemoReading.as_of) >= installation.installed_on).order_by(col(DemoReading.as_of).desc())).first()
    if row is not None:
        return row.value, row.as_of
    initial = installation.initial.get(register_key)
    return (Decimal(initial), installation.installed_on) if initial is not None else (None, None)


def _coefficient(db: Session, meter_key: str) -> Decimal:
    k = Decimal(1)
    for kind in ("current", "voltage"):
        first = db.exec(select(DemoTransformer).where(DemoTransformer.meter_key == meter_key,
                                                      DemoTransformer.kind == kind)
                        .order_by(col(DemoTransformer.key))).first()
        if first is not None:
            k *= Decimal(first.primary) / Decimal(first.secondary)
    return k


def take(db: Session, submission: ReadingsSubmission, idempotency_key: str, now: datetime) -> ReadingsAck:
    """Billing's answer to ``submission`` (see the module's description)."""
    body_hash = _body_hash(submission)
    existing = _batch(db, idempotency_key)
    if existing is not None:
        if existing.body_hash != body_hash or existing.contract_key != submission.contract_key:
            raise BillingRejected("idempotency.conflict")
        return _ack(existing)
    if db.get(DemoContract, submission.contract_key) is None:
        raise BillingRejected("contract.not_found", {"contract": submission.contract_key[:40]})
    results = _check_and_store(db, submission, now)
    batch = DemoReadingBatch(idempotency_key=idempotency_key, contract_key=submission.contract_key,
                             body_hash=body_hash, reference="", received_at=now.replace(microsecond=0),
                             results=[wire.encode(r) for r in results])
    try:
        with db.begin_nested():
            db.add(batch)
            db.flush()
            batch.reference = f"R-{batch.id:08d}"
            db.flush()
    except sa.exc.IntegrityError:  # the same key at the same moment: the other one answers
        raise BillingUnavailable("conflict") from None
    if submission.as_of.day == 1 and any(r.status is ReadingStatus.ACCEPTED for r in results):
        # The month's readings may all be in now: close it (its documents are issued).
        contract = db.get(DemoContract, submission.contract_key)
        if contract is not None:
            period = month_start(submission.as_of, -1)
            demo_money.close_period(db, demo_money.Ledger.load(db, contract), period,
                                    log=functools.partial(log_change, db))
            db.flush()
    return _ack(batch)


def _check_and_store(db: Session, submission: ReadingsSubmission, now: datetime) -> list[EntryResult]:
    on = submission.as_of
    rejected: dict[str, str] = {}
    by_meter: dict[str, list[Any]] = defaultdict(list)
    for entry in submission.entries:
        register = db.get(DemoRegister, entry.register_key)
        if register is None:
            rejected[entry.register_key] = UNKNOWN_REGISTER
        elif on > now.date():
            rejected[entry.register_key] = FUTURE
        else:
            by_meter[register.meter_key].append(entry)
    accepted: dict[str, tuple[Decimal | None, str]] = {}
    for meter_key, entries in by_meter.items():
        accepted.update(_take_meter(db, submission, meter_key, entries, rejected))
    results = []
    for entry in submission.entries:
        key = entry.register_key
        if key in accepted:
            consumption, reading_key = accepted[key]
            results.append(EntryResult(key, ReadingStatus.ACCEPTED, None, consumption, reading_key))
        else:
            results.append(EntryResult(key, ReadingStatus.REJECTED, rejected.get(key, rules.REGISTERS)))
    return results


def _take_meter(db: Session, submission: ReadingsSubmission, meter_key: str, entries: list[Any],
                rejected: dict[str, str]) -> dict[str, tuple[Decimal | None, str]]:
    on = submission.as_of

    def refuse(code: str) -> dict[str, tuple[Decimal | None, str]]:
        for entry in entries:
            rejected[entry.register_key] = code
        return {}

    found = _installed(db, meter_key, submission.contract_key, on)
    if found is None:
        return refuse(METER_REMOVED)
    installation, point = found
    if point.remote:
        return refuse(rules.REMOTE)
    if point.active_from > on or (point.active_to is not None and point.active_to < on):
        return refuse(rules.INACTIVE)
    meter = db.get(DemoMeter, meter_key)
    registers = db.exec(select(DemoRegister).where(DemoRegister.meter_key == meter_key)
                        .order_by(col(DemoRegister.tariff))).all()
    if meter is None or {e.register_key for e in entries} != {r.key for r in registers}:
        return refuse(rules.REGISTERS)
    keys = [r.key for r in registers]
    later = db.exec(select(DemoReading.key).where(col(DemoReading.register_key).in_(keys),
                                                  col(DemoReading.as_of) >= on)).first()
    if later is not None:
        return refuse(DUPLICATE)
    facts = []
    for key in keys:
        previous, since = _previous(db, key, on, installation)
        facts.append(rules.RegisterFacts(key, previous, since))
    check = rules.check_meter(rules.MeterFacts(
        key=meter_key, digits=meter.digits, decimals=meter.decimals, coefficient=_coefficient(db, meter_key),
        registers=tuple(facts), losses_percent=point.losses_percent, losses_kwh_month=point.losses_kwh_month),
        {e.register_key: e.value for e in entries}, as_of=on)
    if any(r.error is not None for r in check.registers):
        return refuse(next(r.error.key for r in check.registers if r.error is not None))
    confirmed = {e.register_key: set(e.confirmed_warnings) for e in entries}
    for reg in check.registers:
        if reg.delta is not None and reg.delta < 0 and rules.REVERSE not in confirmed[reg.key]:
            return refuse(UNCONFIRMED)
        if reg.rollover and rules.ROLLOVER not in confirmed[reg.key]:
            return refuse(UNCONFIRMED)
    taken: dict[str, tuple[Decimal | None, str]] = {}
    source = submission.source.value
    by_key = {e.register_key: e for e in entries}
    for reg in check.registers:
        entry = by_key[reg.key]
        key = f"{reg.key}-{on:%Y%m%d}"
        db.add(DemoReading(key=key, register_key=reg.key, meter_key=meter_key, point_key=point.key, as_of=on,
                           value=entry.value, source=source, consumption_kwh=reg.consumption,
                           confirmed=list(entry.confirmed_warnings), comment=entry.comment[:500]))
        db.flush()
        log_change(db, ChangeKind.READINGS, key)
        taken[reg.key] = (reg.consumption, key)
    return taken


def remove_meter(db: Session, meter_key: str, on: date) -> None:
    """Take a meter off its point "in billing" on ``on`` (tests, demos): readings
    of it as of that day or later are rejected from then on."""
    rows = db.exec(select(DemoInstallation).where(DemoInstallation.meter_key == meter_key,
                                                  col(DemoInstallation.removed_on).is_(None))).all()
    if not rows:
        raise KeyError(meter_key)
    for row in rows:
        row.removed_on = on
        db.add(row)
        log_change(db, ChangeKind.INSTALLATIONS, row.key)
    db.flush()
