"""Requests for an «Акт сверки взаиморасчётов» made in the cabinet
(``lkk_reconciliation_request``): what the delivery to billing and the letter «акт сверки готов» do with a
request (:mod:`lkk_app.billing.documents` makes them)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app.billing import store
from lkk_app.billing.documents_tables import FAILED, QUEUED, READY, SENT, ReconciliationRequest
from lkk_app.billing.types import Document, DocumentStatus
from lkk_app.core import clock


def reconciliation_key(row: ReconciliationRequest) -> str:
    """The request's idempotency key for billing: one act per contract, period and day."""
    return f"reco:{row.contract_key}:{row.period_from:%Y%m%d}:{row.period_to:%Y%m%d}:{row.requested_on:%Y%m%d}"


def outgoing_reconciliation(db: Session, request_id: int) -> ReconciliationRequest | None:
    row = db.get(ReconciliationRequest, request_id)
    return row if row is not None and row.status in (QUEUED, SENT) else None


def reconciliation_sent(db: Session, request_id: int, document_key: str) -> None:
    """Billing took the request; its act will be ``document_key``."""
    db.execute(sa.update(ReconciliationRequest).where(col(ReconciliationRequest.id) == request_id)
               .values(status=SENT, document_key=document_key[:40]))


def reconciliation_failed(db: Session, request_id: int) -> None:
    db.execute(sa.update(ReconciliationRequest).where(col(ReconciliationRequest.id) == request_id)
               .values(status=FAILED))


def acts_ready(db: Session) -> list[tuple[ReconciliationRequest, Document]]:
    """Requests whose act the copy now has issued, not told of yet."""
    rows = list(db.exec(select(ReconciliationRequest).where(
        ReconciliationRequest.status == SENT, col(ReconciliationRequest.notified_at).is_(None))).all())
    docs = store.documents(db, [r.document_key for r in rows if r.document_key])
    return [(r, docs[r.document_key]) for r in rows
            if r.document_key in docs and docs[r.document_key].status is DocumentStatus.ISSUED]


def mark_ready(db: Session, request_ids: Sequence[int]) -> None:
    if request_ids:
        db.execute(sa.update(ReconciliationRequest).where(col(ReconciliationRequest.id).in_(list(request_ids)))
                   .values(status=READY, notified_at=clock.utcnow()))
