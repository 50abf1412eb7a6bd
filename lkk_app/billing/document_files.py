"""The documents' PDF files: rendered from the cabinet's copy the first time
someone asks, stored (``lkk_document_file``) and given from there ever after —
a document does not change; should billing send a changed record, its PDF is
drawn again.  Several at once go as one .zip.

Rendering is CPU work: callers run these functions in the ``pdf`` pool
(:data:`lkk_app.cpu_pools.PDF`), never on the event loop.  Ownership is the
caller's: :func:`lkk_app.billing.documents.require_document` first.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session

from lkk_app.billing import money, store, wire
from lkk_app.billing.documents_tables import DocumentFile
from lkk_app.billing.pdf import PrintContext, render
from lkk_app.billing.types import Document, DocumentKind, DocumentStatus, Payment, PlanItemKind
from lkk_app.core import clock
from lkk_app.core.formatting import date_text
from lkk_app.db import dialect_insert, table_of
from lkk_app.i18n import label, t
from lkk_app.settings import BILLING_DEMO, Settings

MAX_ZIP = 50  # documents in one .zip


class DocumentMissing(LookupError):
    """The copy lacks something the document names (its contract or organisation)."""


def _record_hash(doc: Document) -> str:
    data = json.dumps(wire.encode(doc), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def file_name(doc: Document) -> str:
    """«Счёт-фактура № СФ 2611-1001 от 30.11.2026.pdf» (no character a file system refuses)."""
    name = t("documents.file_name", kind=label(doc.kind), number=doc.number, date=date_text(doc.issued_on))
    return "".join("-" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name)


def _plan_share(db: Session, doc: Document) -> PlanItemKind | None:
    for item in store.plan_items(db, doc.contract_key):
        if item.period == doc.period_from and item.due_on == doc.due_on and item.kind is not PlanItemKind.FINAL:
            return item.kind
    return None


def print_context(db: Session, doc: Document, settings: Settings) -> PrintContext:
    """What the document names, from the copy — only what its kind prints."""
    contract = store.contract(db, doc.contract_key)
    organisation = store.organisation(db, contract.organisation_key) if contract else None
    if contract is None or organisation is None:
        raise DocumentMissing(doc.key)
    points = {p.key: p.name for p in store.points_of(db, contract.key)}
    named = [*doc.related_keys, *([doc.replaces_key] if doc.replaces_key else [])]
    invoices: list[Document] = []
    payments: list[Payment] = []
    planned, purpose, share, basis = Decimal(0), "", None, None
    if doc.kind is DocumentKind.RECONCILIATION_ACT:  # the contract's sales and payments up to its end
        invoices = [d for d in store.documents_of(db, contract.key, kinds=[DocumentKind.VAT_INVOICE.value],
                                                  until=doc.period_to) if d.status is DocumentStatus.ISSUED]
        payments, _ = store.payments_of(db, contract_key=contract.key, paid_to=doc.period_to, limit=100_000)
    elif doc.kind is DocumentKind.VAT_INVOICE:  # the month's payments («К платёжно-расчётному документу»)
        payments, _ = store.payments_of(db, contract_key=contract.key, paid_from=doc.period_from - timedelta(days=31),
                                        paid_to=doc.period_to + timedelta(days=120))
    elif doc.kind is DocumentKind.INVOICE:  # what the month's plan invoices asked for already
        planned = sum((d.amount for d in store.documents_of(db, contract.key, kinds=[DocumentKind.PLAN_INVOICE.value],
                                                            period=doc.period_from)
                       if d.status is DocumentStatus.ISSUED), Decimal(0))
    elif doc.kind is DocumentKind.PLAN_INVOICE:
        share = _plan_share(db, doc)
        last = store.last_document(db, contract.key, DocumentKind.VAT_INVOICE.value, doc.period_from)
        basis = last.period_from if last else None
    if doc.kind in (DocumentKind.INVOICE, DocumentKind.PLAN_INVOICE):
        what = label(share or PlanItemKind.FINAL)
        purpose = money.purpose(contract.number, doc.period_from, what, doc.amount - planned, doc.vat_rate)
    return PrintContext(supplier=settings.supplier, organisation=organisation, contract=contract, points=points,
                        related=store.documents(db, named), replaced_by=store.replacement_of(db, doc.key),
                        invoices=invoices, payments=payments, purpose=purpose, planned=planned, plan_share=share,
                        basis_period=basis, demo=settings.billing_adapter == BILLING_DEMO)


def pdf_bytes(db: Session, doc: Document, settings: Settings) -> bytes:
    """The document's PDF: the stored one, or drawn now and stored (the first of
    two drawing it at once wins; both give the stored bytes).  Commits."""
    version = _record_hash(doc)
    row = db.get(DocumentFile, doc.key)
    if row is not None and row.record_sha256 == version:
        return row.content
    content = render(doc, print_context(db, doc, settings))
    values = {"document_key": doc.key, "record_sha256": version, "content": content, "size": len(content),
              "rendered_at": clock.utcnow()}
    statement = dialect_insert(db, table_of(DocumentFile)).values(values)
    if row is None:
        db.execute(statement.on_conflict_do_nothing(index_elements=["document_key"]))
    else:  # the record changed: the new drawing replaces the old
        db.execute(statement.on_conflict_do_update(index_elements=["document_key"], set_=values))
    db.commit()
    db.expire_all()
    stored = db.get(DocumentFile, doc.key)
    return stored.content if stored is not None else content


def zip_bytes(db: Session, docs: Sequence[Document], settings: Settings) -> bytes:
    """The documents' PDFs in one .zip (names made unique with « (2)» …)."""
    buffer = io.BytesIO()
    seen: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for doc in docs[:MAX_ZIP]:
            name = file_name(doc)
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name.removesuffix('.pdf')} ({seen[name]}).pdf"
            issued = doc.issued_on
            info = zipfile.ZipInfo(name, date_time=(max(issued.year, 1980), issued.month, issued.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, pdf_bytes(db, doc, settings))
    return buffer.getvalue()
