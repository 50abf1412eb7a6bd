"""What the cabinet sends to billing, through the durable job queue
(:mod:`lkk_app.jobs.queue`, table ``billing_delivery``).

A delivery is added in the same transaction as the change it reports (a
contract bound or unbound, readings given), with an idempotency key: the
job is added once per key, and billing answers the same key with the same
receipt, so a retry after a lost answer does not make a second notice.
Billing unavailable → retried with backoff; billing rejecting it → failed
(and logged).  ``python -m lkk_app.cli billing status`` shows the queue.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, col, func, select

from lkk_app.billing import reconciliation
from lkk_app.billing.gateway import BillingGateway, BillingRejected, BillingUnavailable
from lkk_app.billing.readings import answers
from lkk_app.billing.types import ReadingsAck, ReadingsSubmission
from lkk_app.jobs.queue import RETRY, Queue, Statuses, Worker
from lkk_app.models import NaiveUTC, QueueColumns
from lkk_app.settings import Settings, get_settings

log = logging.getLogger("lkk.billing")

BINDING_NOTICE = "binding_notice"
READINGS = "readings"
RECONCILIATION = "reconciliation"
# A notice billing has not taken for this long is given up (and logged).
EXPIRES = timedelta(days=7)


class BillingDelivery(QueueColumns, table=True):
    """One notice to billing, waiting, delivered or given up."""

    __tablename__ = "billing_delivery"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    idempotency_key: str = Field(max_length=100, unique=True)
    payload_json: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    # QueueColumns; status: pending|running|done|failed
    created_at: datetime = Field(sa_type=NaiveUTC)
    finished_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    reference: str = Field(default="", max_length=100)  # billing's receipt


STATUSES = Statuses()
DELIVERIES = Queue(BillingDelivery, name="billing", items="billing deliveries", log=log,
                   statuses=STATUSES, default_expiry=EXPIRES)


def queue_binding_notice(session: Session, *, contract_key: str, bound: bool, event_id: str) -> BillingDelivery:
    """Tell billing that ``contract_key`` was bound (or unbound); ``event_id``
    names the change (the same change queued twice is one notice)."""
    key = f"{'bind' if bound else 'unbind'}:{contract_key}:{event_id}"[:100]
    row: BillingDelivery = DELIVERIES.add(session, kind=BINDING_NOTICE, idempotency_key=key,
                                          payload={"contract_key": contract_key, "bound": bound})
    return row


def _readings_key(submission_key: str) -> str:
    return f"readings:{submission_key}"[:100]


def queue_readings(session: Session, *, submission_id: int, idempotency_key: str) -> BillingDelivery:
    """Deliver a submission of readings (``lkk_reading_submission``); billing's answer
    sets its values accepted or rejected (:func:`lkk_app.billing.readings.answers.apply`)."""
    row: BillingDelivery = DELIVERIES.add(session, kind=READINGS, idempotency_key=_readings_key(idempotency_key),
                                          payload={"submission_id": submission_id})
    return row


def cancel_readings(session: Session, idempotency_key: str) -> bool:
    """Withdraw a submission's delivery before it starts; False once it has
    started or finished (billing may have the readings already)."""
    row = DELIVERIES.by_key(session, _readings_key(idempotency_key))
    return row is not None and DELIVERIES.cancel(session, row.id or 0, "replaced by a newer submission")


def queue_reconciliation(session: Session, *, request_id: int, idempotency_key: str) -> BillingDelivery:
    """Ask billing for an акт сверки (``lkk_reconciliation_request``); its answer names the act's document."""
    row: BillingDelivery = DELIVERIES.add(session, kind=RECONCILIATION, idempotency_key=idempotency_key[:100],
                                          payload={"request_id": request_id})
    return row


def pending_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(BillingDelivery).where(
        col(BillingDelivery.status).in_([STATUSES.pending, STATUSES.running]))).one())


def _load(engine: sa.Engine, pk: int) -> tuple[str, dict, str] | None:
    with Session(engine) as session:
        row = session.get(BillingDelivery, pk)
        if row is None:
            return None
        return row.kind, DELIVERIES.payload(row), row.idempotency_key


def _finish(engine: sa.Engine, pk: int, result: str, error: str, reference: str = "") -> str:
    with Session(engine, expire_on_commit=False) as session:
        if reference:
            session.execute(sa.update(BillingDelivery).where(col(BillingDelivery.id) == pk)
                            .values(reference=reference[:100]))
        outcome = DELIVERIES.finish(session, pk, result, error)
        session.commit()
        return outcome


async def deliver_one(pk: int, gateway: BillingGateway, engine: sa.Engine) -> str:
    """Send one claimed delivery; ``done``, ``retry`` or ``failed``."""
    job = await asyncio.to_thread(_load, engine, pk)
    if job is None:
        return STATUSES.failed
    kind, payload, key = job
    if kind == READINGS:
        return await _deliver_readings(pk, int(payload.get("submission_id", 0)), key, gateway, engine)
    if kind == RECONCILIATION:
        return await _deliver_reconciliation(pk, int(payload.get("request_id", 0)), key, gateway, engine)
    if kind != BINDING_NOTICE:
        return await asyncio.to_thread(_finish, engine, pk, STATUSES.failed, f"unknown kind {kind!r}")
    try:
        ack = await gateway.notify_binding(str(payload["contract_key"]), bool(payload["bound"]), key)
    except BillingUnavailable as exc:
        return await asyncio.to_thread(_finish, engine, pk, RETRY, f"billing unavailable: {exc.reason}")
    except BillingRejected as exc:
        log.warning("billing #%d: rejected (%s)", pk, exc.code)
        return await asyncio.to_thread(_finish, engine, pk, STATUSES.failed, f"rejected: {exc.code}")
    return await asyncio.to_thread(_finish, engine, pk, STATUSES.done, "", ack.reference)


class DeliveryWorker(Worker):
    """Claims and sends the deliveries to billing."""

    def __init__(self, gateway: BillingGateway, *, engine: sa.Engine, poll_interval: float = 5.0,
                 settings: Settings | None = None):
        self.gateway = gateway
        settings = settings or get_settings()
        super().__init__(DELIVERIES, self._deliver, engine=engine, poll_interval=poll_interval,
                         lease=timedelta(seconds=settings.job_lease_seconds), label="billing deliveries")

    async def _deliver(self, pk: int) -> str:
        return await deliver_one(pk, self.gateway, self.engine)


def _outgoing(engine: sa.Engine, submission_id: int) -> ReadingsSubmission | None:
    with Session(engine) as session:
        return answers.outgoing(session, submission_id)


def _answered(engine: sa.Engine, pk: int, submission_id: int, ack: ReadingsAck) -> str:
    """Billing's answer and the job's end, in one transaction."""
    with Session(engine, expire_on_commit=False) as session:
        answers.apply(session, submission_id, ack)
        session.execute(sa.update(BillingDelivery).where(col(BillingDelivery.id) == pk)
                        .values(reference=ack.reference[:100]))
        outcome = DELIVERIES.finish(session, pk, STATUSES.done)
        session.commit()
        return outcome


def _ended(engine: sa.Engine, pk: int, submission_id: int, result: str, error: str, reason: str) -> str:
    """The job's result; a submission whose delivery failed is rejected with ``reason``."""
    with Session(engine, expire_on_commit=False) as session:
        outcome = DELIVERIES.finish(session, pk, result, error)
        if outcome == STATUSES.failed:
            answers.give_up(session, submission_id, reason)
        session.commit()
        return outcome


async def _deliver_readings(pk: int, submission_id: int, key: str, gateway: BillingGateway,
                            engine: sa.Engine) -> str:
    submission = await asyncio.to_thread(_outgoing, engine, submission_id)
    if submission is None:  # replaced or answered meanwhile
        return await asyncio.to_thread(_finish, engine, pk, STATUSES.failed, "nothing to send")
    try:
        ack = await gateway.submit_readings(submission, key)
    except BillingUnavailable as exc:
        return await asyncio.to_thread(_ended, engine, pk, submission_id, RETRY,
                                       f"billing unavailable: {exc.reason}", answers.NOT_DELIVERED)
    except BillingRejected as exc:
        log.warning("billing #%d: readings rejected (%s)", pk, exc.code)
        return await asyncio.to_thread(_ended, engine, pk, submission_id, STATUSES.failed,
                                       f"rejected: {exc.code}", exc.code)
    return await asyncio.to_thread(_answered, engine, pk, submission_id, ack)


def _reconciliation(engine: sa.Engine, request_id: int) -> tuple[str, date, date] | None:
    with Session(engine) as session:
        row = reconciliation.outgoing_reconciliation(session, request_id)
        return None if row is None else (row.contract_key, row.period_from, row.period_to)


def _reconciliation_answered(engine: sa.Engine, pk: int, request_id: int, document_key: str) -> str:
    with Session(engine, expire_on_commit=False) as session:
        reconciliation.reconciliation_sent(session, request_id, document_key)
        session.execute(sa.update(BillingDelivery).where(col(BillingDelivery.id) == pk)
                        .values(reference=document_key[:100]))
        outcome = DELIVERIES.finish(session, pk, STATUSES.done)
        session.commit()
        return outcome


def _reconciliation_ended(engine: sa.Engine, pk: int, request_id: int, result: str, error: str) -> str:
    with Session(engine, expire_on_commit=False) as session:
        outcome = DELIVERIES.finish(session, pk, result, error)
        if outcome == STATUSES.failed:
            reconciliation.reconciliation_failed(session, request_id)
        session.commit()
        return outcome


async def _deliver_reconciliation(pk: int, request_id: int, key: str, gateway: BillingGateway,
                                  engine: sa.Engine) -> str:
    request = await asyncio.to_thread(_reconciliation, engine, request_id)
    if request is None:
        return await asyncio.to_thread(_finish, engine, pk, STATUSES.failed, "nothing to send")
    contract_key, period_from, period_to = request
    try:
        ack = await gateway.request_reconciliation(contract_key, period_from, period_to, key)
    except BillingUnavailable as exc:
        return await asyncio.to_thread(_reconciliation_ended, engine, pk, request_id, RETRY,
                                       f"billing unavailable: {exc.reason}")
    except BillingRejected as exc:
        log.warning("billing #%d: reconciliation rejected (%s)", pk, exc.code)
        return await asyncio.to_thread(_reconciliation_ended, engine, pk, request_id, STATUSES.failed,
                                       f"rejected: {exc.code}")
    return await asyncio.to_thread(_reconciliation_answered, engine, pk, request_id, ack.reference)
