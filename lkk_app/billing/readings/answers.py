"""Billing's answer to a submission of readings, recorded: each value
accepted (with billing's consumption) or rejected (with its code), the
submission accepted, rejected or partly accepted; or the whole submission
rejected when billing refused it or it could not be delivered in time.

Called by the delivery worker (:mod:`lkk_app.billing.deliveries`) in its own
transaction; a submission replaced meanwhile is left as it is.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app.billing.readings import tables
from lkk_app.billing.types import (
    ReadingEntry,
    ReadingsAck,
    ReadingSource,
    ReadingsSubmission,
    ReadingStatus,
)
from lkk_app.core import clock
from lkk_app.db import rowcount

NOT_DELIVERED = "readings.not_delivered"


def outgoing(db: Session, submission_id: int) -> ReadingsSubmission | None:
    """What to send for a submission still waiting (``None`` once replaced or answered)."""
    sub = db.get(tables.ReadingSubmission, submission_id)
    if sub is None or sub.status != tables.SUBMITTED:
        return None
    values = db.exec(select(tables.ReadingValue).where(tables.ReadingValue.submission_id == submission_id)
                     .order_by(col(tables.ReadingValue.id))).all()
    return ReadingsSubmission(sub.contract_key, sub.as_of, ReadingSource(sub.source), tuple(
        ReadingEntry(v.register_key, v.value, tuple(v.confirmed or ()), v.comment) for v in values))


def apply(db: Session, submission_id: int, ack: ReadingsAck, now: datetime | None = None) -> str | None:
    """Record billing's answer; the submission's new status (``None`` when it was not waiting)."""
    sub = db.get(tables.ReadingSubmission, submission_id)
    if sub is None or sub.status != tables.SUBMITTED:
        return None
    results = {r.register_key: r for r in ack.results}
    values = db.exec(select(tables.ReadingValue).where(tables.ReadingValue.submission_id == submission_id)).all()
    statuses = set()
    for value in values:
        result = results.get(value.register_key)
        if result is not None and result.status is ReadingStatus.ACCEPTED:
            value.status, value.reason = tables.ACCEPTED, None
            value.billing_consumption = result.consumption_kwh
        else:
            value.status = tables.REJECTED
            value.reason = (result.reason if result is not None else None) or "reading.not_answered"
        statuses.add(value.status)
        db.add(value)
    sub.status = (tables.ACCEPTED if statuses == {tables.ACCEPTED} else
                  tables.REJECTED if tables.ACCEPTED not in statuses else tables.PARTLY)
    sub.reference = ack.reference[:100]
    sub.answered_at = now or clock.utcnow()
    db.add(sub)
    db.flush()
    return sub.status


def give_up(db: Session, submission_id: int, reason: str, now: datetime | None = None) -> bool:
    """Billing refused the whole submission (``reason``: its code) or it could
    not be delivered: every value is rejected.  False when it was not waiting."""
    changed = db.execute(sa.update(tables.ReadingSubmission).where(
        col(tables.ReadingSubmission.id) == submission_id, col(tables.ReadingSubmission.status) == tables.SUBMITTED)
        .values(status=tables.REJECTED, answered_at=now or clock.utcnow()))
    if not rowcount(changed):
        return False
    db.execute(sa.update(tables.ReadingValue).where(col(tables.ReadingValue.submission_id) == submission_id)
               .values(status=tables.REJECTED, reason=reason[:64]))
    db.flush()
    return True
