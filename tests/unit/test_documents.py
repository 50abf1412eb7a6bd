"""«Документы» in the domain (lkk_app/billing/documents.py, document_files.py),
on the demo billing's world of 07.12.2026: the list with its filters, order and
pages; ownership — another organisation's document is «не найден»; the PDF
drawn once and stored; the .zip; «Запросить акт сверки» from the request to
billing's act, issued, and the letter to whoever asked."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import pytest
from sqlmodel import Session, func, select

from lkk_app.billing import deliveries, document_files, documents, notifications, store, sync
from lkk_app.billing.binding import BindingError
from lkk_app.billing.documents_tables import DocumentFile, ReconciliationRequest
from lkk_app.billing.types import DocumentKind, DocumentStatus
from lkk_app.core.errors import FieldErrors
from lkk_app.models import OutboxMessage
from lkk_app.settings import get_settings
from tests.fixtures.billing_world import TODAY

pytestmark = pytest.mark.asyncio


@pytest.fixture
def world(two_organisations):
    return two_organisations


def _page(engine, user, shown: documents.Filter = documents.Filter(), contract: object = "ctr-1001", **kw):
    with Session(engine) as db:
        return documents.documents_page(db, user.id, contract, shown, **kw)


async def test_the_list_filters_orders_and_pages(world):
    w, ann, _ = world
    everything = _page(w.engine, ann, limit=100)
    assert everything.contract.number == "Д-1001" and everything.total > 100
    dates = [d.issued_on for d in everything.documents]
    assert dates == sorted(dates, reverse=True)
    oldest = _page(w.engine, ann, documents.Filter(newest_first=False))
    assert [d.issued_on for d in oldest.documents] == sorted(d.issued_on for d in oldest.documents)
    assert oldest.documents[0].issued_on < everything.documents[-1].issued_on
    # Pages of 20 do not overlap and add up.
    first, second = _page(w.engine, ann, limit=20), _page(w.engine, ann, offset=20, limit=20)
    assert not {d.key for d in first.documents} & {d.key for d in second.documents}
    assert first.total == second.total == everything.total
    # Kind, status and period.
    invoices = _page(w.engine, ann, documents.parse_filter("vat_invoice", "", "", ""), limit=100)
    assert {d.kind for d in invoices.documents} == {DocumentKind.VAT_INVOICE} and invoices.total >= 20
    reversed_ = _page(w.engine, ann, documents.parse_filter("", "reversed", "", ""))
    assert [d.status for d in reversed_.documents] == [DocumentStatus.REVERSED]
    august = _page(w.engine, ann, documents.parse_filter("", "", "2026-08", "08.2026"), limit=100)
    assert august.total == len(august.documents) > 0
    assert all(d.period_from <= date(2026, 8, 31) and d.period_to >= date(2026, 8, 1) for d in august.documents)
    assert {d.kind for d in august.documents} >= {DocumentKind.VAT_INVOICE, DocumentKind.TRANSFER_ACT,
                                                  DocumentKind.INVOICE}
    # The reversed счёт-фактура of August and its replacement are both there.
    assert sorted(d.status.value for d in august.documents if d.kind is DocumentKind.VAT_INVOICE) == [
        "issued", "reversed"]


@pytest.mark.parametrize(("kind", "status", "start", "end", "codes"), [
    ("receipt", "", "", "", {"kind": "documents.kind_invalid"}),
    ("", "lost", "", "", {"status": "documents.status_invalid"}),
    ("", "", "2026-13", "", {"month_from": "documents.month_invalid"}),
    ("", "", "", "ноябрь", {"month_to": "documents.month_invalid"}),
    ("", "", "2026-09", "2026-08", {"month_to": "documents.period_order"}),
])
async def test_a_bad_filter_is_refused_field_by_field(kind, status, start, end, codes):
    with pytest.raises(FieldErrors) as caught:
        documents.parse_filter(kind, status, start, end)
    assert caught.value.codes() == codes


async def test_another_organisations_document_is_not_found(world):
    w, ann, eve = world
    theirs = _page(w.engine, ann, limit=1).documents[0]
    with Session(w.engine) as db:
        assert documents.require_document(db, ann.id, theirs.key) == theirs
        for key in (theirs.key, "doc-nothing", "", None, 42, "x" * 41):
            with pytest.raises(BindingError) as caught:
                documents.require_document(db, eve.id, key)
            assert caught.value.code == "document.not_found"
    with pytest.raises(BindingError) as caught:
        _page(w.engine, eve, contract="ctr-1001")
    assert caught.value.code == "contract.not_found"


async def test_a_pdf_is_drawn_once_and_given_from_the_store(world):
    w, ann, _ = world
    settings = get_settings()
    with Session(w.engine) as db:
        doc = documents.require_printable(db, ann.id, [_page(w.engine, ann, limit=1).documents[0].key])[0]
        first = document_files.pdf_bytes(db, doc, settings)
        stored = db.get(DocumentFile, doc.key)
        assert first.startswith(b"%PDF-") and stored is not None and stored.size == len(first)
        drawn_at = stored.rendered_at
        assert document_files.pdf_bytes(db, doc, settings) == first
        assert db.get(DocumentFile, doc.key).rendered_at == drawn_at
        assert db.exec(select(func.count()).select_from(DocumentFile)).one() == 1
        # Billing sends a changed record: the PDF follows it.
        changed = document_files.pdf_bytes(db, type(doc)(**{**{f: getattr(doc, f) for f in doc.__slots__},
                                                            "number": doc.number + "-И"}), settings)
        assert changed != first and db.exec(select(func.count()).select_from(DocumentFile)).one() == 1


async def test_several_documents_go_as_one_zip_with_their_russian_names(world):
    w, ann, _ = world
    page = _page(w.engine, ann, documents.parse_filter("", "", "2026-10", "2026-10"), limit=10)
    keys = [d.key for d in page.documents]
    with Session(w.engine) as db:
        docs = documents.require_printable(db, ann.id, keys)
        archive = zipfile.ZipFile(io.BytesIO(document_files.zip_bytes(db, docs, get_settings())))
    names = archive.namelist()
    assert len(names) == len(keys) == len(set(names))
    assert "Счёт-фактура № СФ 2610-1001 от 31.10.2026.pdf" in names
    assert all(archive.read(n).startswith(b"%PDF-") for n in names)
    with Session(w.engine) as db, pytest.raises(BindingError) as caught:
        documents.require_printable(db, ann.id, [f"k{n}" for n in range(documents.ZIP_MAX + 1)])
    assert caught.value.code == "documents.too_many"


@pytest.mark.parametrize(("start", "end", "codes"), [
    ("", "2026-11", {"month_from": "documents.month_required"}),
    ("2026-11", "2027-01", {"month_to": "documents.period_future"}),
    ("2023-01", "2026-11", {"month_from": "documents.period_too_long"}),
    ("2020-01", "2020-03", {"month_to": "documents.before_contract"}),
    ("2026-11", "2026-01", {"month_to": "documents.period_order"}),
])
async def test_a_bad_period_of_an_act_is_refused(world, start, end, codes):
    w, ann, _ = world
    with Session(w.engine) as db, pytest.raises(FieldErrors) as caught:
        documents.request_reconciliation(db, ann.id, "ann", "ctr-1001", start, end, today=TODAY)
    assert caught.value.codes() == codes


async def test_an_act_of_reconciliation_from_the_request_to_the_letter(world, frozen_clock):
    w, ann, eve = world
    with Session(w.engine) as db:
        with pytest.raises(BindingError):
            documents.request_reconciliation(db, eve.id, "eve", "ctr-1001", "2026-01", "2026-11", today=TODAY)
        row = documents.request_reconciliation(db, ann.id, "ann", "ctr-1001", "2026-01", "2026-11", today=TODAY)
        again = documents.request_reconciliation(db, ann.id, "ann", "ctr-1001", "2026-01", "2026-11", today=TODAY)
        db.commit()
        assert again.id == row.id and (row.period_from, row.period_to) == (date(2026, 1, 1), date(2026, 11, 30))
        queued = db.exec(select(deliveries.BillingDelivery).where(
            deliveries.BillingDelivery.kind == deliveries.RECONCILIATION)).all()
        assert len(queued) == 1
        assert [r.period_to for r in documents.waiting_requests(db, "ctr-1001")] == [date(2026, 11, 30)]
    assert await deliveries.deliver_one(queued[0].id, w.gateway, w.engine) == deliveries.STATUSES.done
    with Session(w.engine) as db:
        sent = db.get(ReconciliationRequest, row.id)
        assert sent.status == "sent" and sent.document_key
    # The act comes with the documents: «готовится» first …
    assert (await sync.sync_all(w.engine, w.gateway)).ok
    with Session(w.engine) as db:
        act = store.documents(db, [sent.document_key])[sent.document_key]
        assert act.status is DocumentStatus.PREPARING and documents.waiting_requests(db, "ctr-1001") == []
        with pytest.raises(BindingError) as caught:
            documents.require_printable(db, ann.id, [act.key])
        assert caught.value.code == "document.not_ready"
        assert notifications.acts_ready(db, settings=get_settings()) == 0
    # … then issued, and the letter goes to ann, once.
    frozen_clock.now = w.now + timedelta(seconds=10)  # the demo billing prepares an act in seconds
    assert (await sync.sync_all(w.engine, w.gateway)).ok
    with Session(w.engine) as db:
        assert store.documents(db, [act.key])[act.key].status is DocumentStatus.ISSUED
        assert notifications.acts_ready(db, settings=get_settings()) == 1
        db.commit()
        assert notifications.acts_ready(db, settings=get_settings()) == 0
        letters = db.exec(select(OutboxMessage).where(OutboxMessage.template == "reconciliation_ready")).all()
        assert [m.recipient for m in letters] == ["ann@example.org"]
        assert db.get(ReconciliationRequest, row.id).status == "ready"
        pdf = document_files.pdf_bytes(db, documents.require_printable(db, ann.id, [act.key])[0], get_settings())
        assert pdf.startswith(b"%PDF-")


async def test_an_organisation_asks_for_at_most_ten_acts_a_day(world):
    w, ann, _ = world
    with Session(w.engine) as db:
        for month in range(1, documents.RECONCILIATIONS_PER_DAY + 1):
            documents.request_reconciliation(db, ann.id, "ann", "ctr-1001", f"2026-{month:02d}", "2026-11",
                                             today=TODAY)
        with pytest.raises(BindingError) as caught:
            documents.request_reconciliation(db, ann.id, "ann", "ctr-1002", "2026-11", "2026-11", today=TODAY)
        assert caught.value.code == "documents.reconciliation_limit"
        # The same request again is no new one and passes.
        documents.request_reconciliation(db, ann.id, "ann", "ctr-1001", "2026-01", "2026-11", today=TODAY)
        documents.request_reconciliation(db, ann.id, "ann", "ctr-1002", "2026-11", "2026-11",
                                         today=TODAY + timedelta(days=1))
