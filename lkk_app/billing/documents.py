"""«Документы»: a bound contract's documents from the read copy — filtered by
kind, period and status, by date, one page at a time — the ownership check of
one document, and «Запросить акт сверки» (a request queued to billing; the act
comes back with the documents, «готовится» first, then issued, and a letter
tells the one who asked).

Every function starts with the ownership check
(:func:`lkk_app.billing.binding.require_contract`): a document of another
organisation is «не найден», exactly like one that does not exist.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app.billing import binding, deliveries, store
from lkk_app.billing.binding import BindingError
from lkk_app.billing.pdf import printable
from lkk_app.billing.readings.rules import month_start
from lkk_app.billing.reconciliation import FAILED, QUEUED, SENT, ReconciliationRequest, reconciliation_key
from lkk_app.billing.types import Contract, Document, DocumentKind, DocumentStatus
from lkk_app.core import clock
from lkk_app.core.errors import Code, FieldErrors
from lkk_app.db import dialect_insert, rowcount, table_of

PAGE_MAX = 100
ZIP_MAX = 50
RECONCILIATION_MONTHS_MAX = 36  # the longest period of one акт сверки
RECONCILIATIONS_PER_DAY = 10  # per organisation: each one costs billing work

@dataclasses.dataclass(frozen=True, slots=True)
class Filter:
    """What the list shows: kinds, statuses, months from–to, the order."""

    kinds: tuple[DocumentKind, ...] = ()
    statuses: tuple[DocumentStatus, ...] = ()
    month_from: date | None = None
    month_to: date | None = None
    newest_first: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class DocumentsPage:
    contract: Contract
    documents: tuple[Document, ...]
    total: int
    offset: int
    limit: int
    requests: tuple[ReconciliationRequest, ...]  # acts asked for and not in the list yet
    as_of: datetime | None  # «Данные на …»
    billing_down: bool


# --------------------------------------------------------------------------- input

_MONTH_ISO = re.compile(r"(\d{4})-(\d{1,2})")
_MONTH_RU = re.compile(r"(\d{1,2})\.(\d{4})")


def parse_month(raw: object) -> date | None:
    """«2026-11» (a month field) or «11.2026» (typed) → 01.11.2026; ``""`` → None;
    anything else → ``ValueError``."""
    text = str(raw or "").strip()[:20]
    if not text:
        return None
    iso, ru = _MONTH_ISO.fullmatch(text), _MONTH_RU.fullmatch(text)
    year, month = (int(iso[1]), int(iso[2])) if iso else (int(ru[2]), int(ru[1])) if ru else (0, 0)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise ValueError(text)
    return date(year, month, 1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _months(raw_from: object, raw_to: object) -> tuple[date | None, date | None]:
    errors: dict[str, Code] = {}
    found: list[date | None] = []
    for field, raw in (("month_from", raw_from), ("month_to", raw_to)):
        try:
            found.append(parse_month(raw))
        except ValueError:
            errors[field] = Code("documents.month_invalid")
            found.append(None)
    start, end = found
    if not errors and start and end and start > end:
        errors["month_to"] = Code("documents.period_order")
    if errors:
        raise FieldErrors(errors)
    return start, end


def parse_filter(kind: object, status: object, month_from: object, month_to: object,
                 newest_first: bool = True) -> Filter:
    """The list's filter from the form (``""``: any); :class:`FieldErrors` for a bad field."""
    errors: dict[str, Code] = {}
    kinds: tuple[DocumentKind, ...] = ()
    statuses: tuple[DocumentStatus, ...] = ()
    if kind:
        try:
            kinds = (DocumentKind(str(kind)[:40]),)
        except ValueError:
            errors["kind"] = Code("documents.kind_invalid")
    if status:
        try:
            statuses = (DocumentStatus(str(status)[:40]),)
        except ValueError:
            errors["status"] = Code("documents.status_invalid")
    try:
        start, end = _months(month_from, month_to)
    except FieldErrors as bad:
        errors.update(bad.errors)
        start = end = None
    if errors:
        raise FieldErrors(errors)
    return Filter(kinds, statuses, start, end, bool(newest_first))


# --------------------------------------------------------------------------- ownership and the list


def require_document(db: Session, user_id: int, document_key: object) -> Document:
    """The document when its contract is bound to one of the user's organisations;
    otherwise :class:`BindingError` ``document.not_found``."""
    key = document_key if isinstance(document_key, str) and 0 < len(document_key) <= 40 else None
    doc = store.documents(db, [key]).get(key) if key else None
    if doc is None:
        raise BindingError("document.not_found")
    try:
        binding.require_contract(db, user_id, doc.contract_key)
    except BindingError:
        raise BindingError("document.not_found") from None
    return doc


def require_printable(db: Session, user_id: int, keys: Iterable[object]) -> list[Document]:
    """The user's documents with these keys (each checked), in the order given,
    each once; ``document.not_ready`` for one still being prepared; at most
    :data:`ZIP_MAX` (``documents.too_many``)."""
    wanted = list(dict.fromkeys(k for k in keys))
    if not wanted:
        raise BindingError("document.not_found")
    if len(wanted) > ZIP_MAX:
        raise BindingError("documents.too_many", {"max": ZIP_MAX})
    found = [require_document(db, user_id, key) for key in wanted]
    for doc in found:
        if not printable(doc):
            raise BindingError("document.not_ready")
    return found


def documents_page(db: Session, user_id: int, contract_key: object, shown: Filter, *, offset: int = 0,
                   limit: int = 20) -> DocumentsPage:
    """One page of the contract's documents under ``shown``, and the user's
    organisation's acts of reconciliation asked for and not in the copy yet."""
    _, contract = binding.require_bound_contract(db, user_id, contract_key)
    offset, limit = max(0, int(offset)), max(1, min(int(limit), PAGE_MAX))
    query = store.DocumentQuery(
        contract.key, kinds=tuple(k.value for k in shown.kinds), statuses=tuple(s.value for s in shown.statuses),
        period_from=shown.month_from, period_to=month_end(shown.month_to) if shown.month_to else None,
        newest_first=shown.newest_first, offset=offset, limit=limit)
    found, total = store.documents_page(db, query)
    return DocumentsPage(contract, tuple(found), total, offset, limit, tuple(waiting_requests(db, contract.key)),
                         store.data_as_of(db), store.last_error(db) is not None)


def waiting_requests(db: Session, contract_key: str) -> list[ReconciliationRequest]:
    """Requests for an акт сверки whose document the copy does not have yet
    (queued, sent) or that billing refused today, newest first."""
    rows = list(db.exec(select(ReconciliationRequest).where(
        ReconciliationRequest.contract_key == contract_key,
        col(ReconciliationRequest.status).in_([QUEUED, SENT, FAILED]))
        .order_by(col(ReconciliationRequest.id).desc()).limit(20)).all())
    have = store.documents(db, [r.document_key for r in rows if r.document_key])
    return [r for r in rows if r.document_key not in have]


# --------------------------------------------------------------------------- «Запросить акт сверки»


def request_reconciliation(db: Session, user_id: int, user_login: str, contract_key: object, month_from: object,
                           month_to: object, *, today: date) -> ReconciliationRequest:
    """Ask billing for an акт сверки over whole months ``month_from``…``month_to``
    (up to today): queued in this transaction, sent by the delivery worker.  The
    same request twice on one day is one request.  Flushes, does not commit."""
    bound, contract = binding.require_bound_contract(db, user_id, contract_key)
    start, end = _months(month_from, month_to)
    errors: dict[str, Code] = {}
    if start is None:
        errors["month_from"] = Code("documents.month_required")
    if end is None:
        errors["month_to"] = Code("documents.month_required")
    if start and end:
        if end > month_start(today):
            errors["month_to"] = Code("documents.period_future")
        elif (end.year - start.year) * 12 + end.month - start.month + 1 > RECONCILIATION_MONTHS_MAX:
            errors["month_from"] = Code("documents.period_too_long", {"months": RECONCILIATION_MONTHS_MAX})
        elif month_end(end) < contract.valid_from:
            errors["month_to"] = Code("documents.before_contract", {"date": contract.valid_from})
    if errors or start is None or end is None:
        raise FieldErrors(errors)
    period_from = max(start, contract.valid_from)
    period_to = min(month_end(end), today)
    existing = _same_request(db, contract.key, period_from, period_to, today)
    if existing is not None:
        return existing
    asked_today = db.exec(select(sa.func.count()).select_from(ReconciliationRequest).where(
        ReconciliationRequest.organisation_key == bound.organisation_key,
        ReconciliationRequest.requested_on == today)).one()
    if int(asked_today) >= RECONCILIATIONS_PER_DAY:
        raise BindingError("documents.reconciliation_limit", {"max": RECONCILIATIONS_PER_DAY})
    values = {"organisation_key": bound.organisation_key, "contract_key": contract.key, "period_from": period_from,
              "period_to": period_to, "requested_on": today, "requested_at": clock.utcnow(), "user_id": user_id,
              "user_login": user_login[:64], "status": QUEUED}
    added = rowcount(db.execute(dialect_insert(db, table_of(ReconciliationRequest)).values(values)
                                .on_conflict_do_nothing(index_elements=["contract_key", "period_from", "period_to",
                                                                        "requested_on"])))
    row = _same_request(db, contract.key, period_from, period_to, today)
    if row is None or row.id is None:  # pragma: no cover - the row was just written
        raise RuntimeError("the request was not stored")
    if added:  # the one that wrote it queues it (two at once: one delivery)
        deliveries.queue_reconciliation(db, request_id=row.id, idempotency_key=reconciliation_key(row))
    return row


def _same_request(db: Session, contract_key: str, start: date, end: date, on: date) -> ReconciliationRequest | None:
    return db.exec(select(ReconciliationRequest).where(
        ReconciliationRequest.contract_key == contract_key, ReconciliationRequest.period_from == start,
        ReconciliationRequest.period_to == end, ReconciliationRequest.requested_on == on)).first()
