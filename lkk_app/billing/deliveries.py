"""What the cabinet sends to billing, through the durable job queue
(:mod:`lkk_app.jobs.queue`, table ``billing_delivery``).

A delivery is added in the same transaction as the change it reports (a
contract bound or unbound now; readings next), with an idempotency key: the
job is added once per key, and billing answers the same key with the same
receipt, so a retry after a lost answer does not make a second notice.
Billing unavailable → retried with backoff; billing rejecting it → failed
(and logged).  ``python -m lkk_app.cli billing status`` shows the queue.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, col, func, select

from lkk_app.billing.gateway import BillingGateway, BillingRejected, BillingUnavailable
from lkk_app.jobs.queue import RETRY, Queue, Statuses, Worker
from lkk_app.models import NaiveUTC, QueueColumns

log = logging.getLogger("lkk.billing")

BINDING_NOTICE = "binding_notice"
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

    def __init__(self, gateway: BillingGateway, *, engine: sa.Engine, poll_interval: float = 5.0):
        self.gateway = gateway
        super().__init__(DELIVERIES, self._deliver, engine=engine, poll_interval=poll_interval,
                         label="billing deliveries")

    async def _deliver(self, pk: int) -> str:
        return await deliver_one(pk, self.gateway, self.engine)
