"""The documents' PDFs (lkk_app/billing/pdf), read back with pypdf: the
счёт-фактура has every column of the form of ПП № 1137 and its totals, the
акт its lines per point and zone, the счёт the bank details and the purpose,
the акт сверки its balances; amounts in words; the Cyrillic fonts embedded;
the demo's watermark; the same document gives the same bytes."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pypdf
import pytest
from sqlmodel import Session

from lkk_app.billing import document_files, money, store
from lkk_app.billing.pdf import render
from lkk_app.billing.pdf.frame import words
from lkk_app.billing.types import Document, DocumentKind
from lkk_app.i18n import t
from lkk_app.settings import get_settings
from tests.fixtures.billing_world import DemoWorld

pytestmark = pytest.mark.asyncio


def text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def squeezed(value: str) -> str:
    """Without white space: table cells wrap their headings over several lines."""
    return re.sub(r"\s+", "", value)


def amount(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", " ").replace(".", ",")


def one(engine, contract: str, kind: DocumentKind, period: str) -> tuple[Document, bytes, object]:
    with Session(engine) as db:
        doc = next(d for d in store.documents_of(db, contract, kinds=[kind.value])
                   if f"{d.period_from:%Y-%m}" == period and d.replaces_key is None)
        ctx = document_files.print_context(db, doc, get_settings())
    return doc, render(doc, ctx), ctx


async def test_words_are_as_accountants_write_them():
    assert words(Decimal("1234.56")) == "Одна тысяча двести тридцать четыре рубля 56 копеек"
    assert words(Decimal("21")) == "Двадцать один рубль 00 копеек"
    assert words(Decimal("1000000.01")) == "Один миллион рублей 01 копейка"


async def test_the_vat_invoice_has_every_column_of_the_form_and_its_totals(demo_world: DemoWorld):
    doc, pdf, ctx = one(demo_world.engine, "ctr-1001", DocumentKind.VAT_INVOICE, "2026-10")
    found = text(pdf)
    flat = squeezed(found)
    for key in ("pdf.sf.col_n", "pdf.sf.col_code", "pdf.sf.col_name", "pdf.sf.col_kind_code", "pdf.sf.col_unit",
                "pdf.sf.col_unit_code", "pdf.sf.col_unit_name", "pdf.sf.col_qty", "pdf.sf.col_price",
                "pdf.sf.col_net", "pdf.sf.col_excise", "pdf.sf.col_rate", "pdf.sf.col_vat", "pdf.sf.col_gross",
                "pdf.sf.col_country", "pdf.sf.col_country_code", "pdf.sf.col_country_name",
                "pdf.sf.col_declaration", "pdf.sf.col_trace_unit", "pdf.sf.col_trace_qty", "pdf.sf.col_trace_cost"):
        assert squeezed(t(key)) in flat, key
    assert squeezed("А Б 1 1а 2 2а 3 4 5 6 7 8 9 10 10а 11 12 12а 13 14") in flat
    s = get_settings().supplier
    for needle in (f"СЧЁТ-ФАКТУРА № {doc.number} от 31.10.2026", f"ИНН/КПП продавца: {s.inn}/{s.kpp}",
                   "ИНН/КПП покупателя: 7701000001/770101001", "Российский рубль, 643", "Грузоотправитель",
                   "Документ об отгрузке", "Всего к оплате"):
        assert squeezed(needle) in flat, needle
    net = doc.amount - doc.vat
    for figure in (net, doc.vat, doc.amount):
        assert amount(figure) in found, figure
    for line in doc.lines:  # each line: quantity, price, cost without VAT, the kWh unit code 245
        assert amount(line.amount) in found
    assert found.count("245") >= len(doc.lines) and "22%" in found
    assert squeezed(words(doc.amount)) in flat
    assert squeezed(t("pdf.sf.head")) in flat and squeezed(t("pdf.sf.accountant")) in flat
    assert pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox.width > pypdf.PdfReader(
        io.BytesIO(pdf)).pages[0].mediabox.height  # landscape


async def test_the_act_lists_each_point_and_zone_and_names_its_invoice(demo_world: DemoWorld):
    doc, pdf, ctx = one(demo_world.engine, "ctr-1001", DocumentKind.TRANSFER_ACT, "2026-10")
    found = text(pdf)
    flat = squeezed(found)
    assert squeezed(f"АКТ ПРИЁМА-ПЕРЕДАЧИ ЭЛЕКТРИЧЕСКОЙ ЭНЕРГИИ (МОЩНОСТИ) № {doc.number}") in flat
    assert squeezed("по договору энергоснабжения № Д-1001") in flat
    assert len(doc.lines) == 4  # «Офис» and «Склад», day and night
    for line in doc.lines:
        assert amount(line.amount) in found
    assert {"Офис", "Склад"} <= set(re.findall(r"Офис|Склад", found))
    assert "день" in found and "ночь" in found
    assert squeezed(f"СФ 2610-1001 от 31.10.2026") in flat
    assert amount(doc.amount) in found and squeezed(words(doc.amount)) in flat
    assert "М. П." in found


async def test_the_bill_carries_the_bank_details_the_due_date_and_the_purpose(demo_world: DemoWorld):
    doc, pdf, ctx = one(demo_world.engine, "ctr-1001", DocumentKind.INVOICE, "2026-10")
    flat = squeezed(text(pdf))
    s = get_settings().supplier
    for needle in (s.bik, s.account, s.corr_account, f"ИНН {s.inn}", f"Счёт на оплату № {doc.number}",
                   "Оплатить до 18.11.2026", "Основание: договор № Д-1001"):
        assert squeezed(needle) in flat, needle
    # Д-1001 pays 30 % and 40 % in advance: the bill asks for the rest.
    assert ctx.planned > 0
    rest = doc.amount - ctx.planned
    assert squeezed(amount(rest)) in flat and squeezed(words(rest)) in flat
    assert squeezed(ctx.purpose) in flat
    assert ctx.purpose == money.purpose("Д-1001", doc.period_from, "окончательный расчёт", rest, Decimal(22))


async def test_the_plan_invoice_names_its_share_and_its_basis(demo_world: DemoWorld):
    doc, pdf, ctx = one(demo_world.engine, "ctr-2001", DocumentKind.PLAN_INVOICE, "2026-11")
    flat = squeezed(text(pdf))
    assert squeezed("Счёт на плановый платёж") in flat
    assert squeezed(f"Плановый платёж {'30' if doc.due_on.day == 10 else '40'} %") in flat
    assert squeezed("рассчитан от стоимости электрической энергии за октябрь 2026") in flat
    assert squeezed(words(doc.amount)) in flat and squeezed(amount(doc.vat)) in flat


async def test_the_reconciliation_act_balances_to_billings_figure(demo_world: DemoWorld):
    w = demo_world
    await w.gateway.request_reconciliation("ctr-1002", __import__("datetime").date(2026, 1, 1),
                                           __import__("datetime").date(2026, 11, 30), "act-test-1")
    from lkk_app.billing import sync

    assert (await sync.sync_all(w.engine, w.gateway)).ok
    with Session(w.engine) as db:
        act = store.documents_of(db, "ctr-1002", kinds=[DocumentKind.RECONCILIATION_ACT.value])[0]
        ctx = document_files.print_context(db, act, get_settings())
    flat = squeezed(text(render(act, ctx)))
    assert squeezed("АКТ СВЕРКИ ВЗАИМНЫХ РАСЧЁТОВ") in flat
    assert squeezed("за период с 01.01.2026 по 30.11.2026") in flat
    for needle in ("Сальдо начальное", "Обороты за период", "Сальдо конечное", "По данным"):
        assert squeezed(needle) in flat
    # Д-1002 owes: the act's closing balance is billing's debt on 30.11.2026.
    assert act.amount > 0
    assert squeezed(f"задолженность в пользу {get_settings().supplier.full_name} составляет "
                    f"{amount(act.amount)} руб.") in flat


async def test_fonts_are_embedded_the_demo_is_watermarked_and_bytes_repeat(demo_world: DemoWorld):
    doc, pdf, ctx = one(demo_world.engine, "ctr-1001", DocumentKind.VAT_INVOICE, "2026-10")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert len(fonts) >= 2
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor and "DejaVu" in str(font["/BaseFont"])
    assert "ДЕМО" in text(pdf) and ctx.demo
    assert render(doc, ctx) == pdf  # the same document, the same file
    import dataclasses

    real = render(doc, dataclasses.replace(ctx, demo=False))
    assert "ДЕМО" not in text(real) and squeezed(t("pdf.demo_note")) not in squeezed(text(real))
