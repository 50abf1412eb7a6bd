"""The documents' layouts: «Счёт-фактура» in the form of ПП РФ № 1137 (landscape,
every column of the form), «Акт приёма-передачи электрической энергии» with its
lines per point and zone, «Счёт на оплату» and «Счёт на плановый платёж» with
the bank details and the payment purpose, «Акт сверки взаимных расчётов» with
both parties' halves.  Each takes the document and a :class:`PrintContext`
(what else it names: the parties, the contract, the points, the related
documents, the payments) and draws on a :class:`DocumentPdf`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from fpdf import FontFace

from lkk_app.billing.money import rate_text
from lkk_app.billing.pdf.frame import FAMILY, DocumentPdf, day, money, price, quantity, words
from lkk_app.billing.types import (
    Contract,
    Document,
    DocumentKind,
    DocumentStatus,
    Organisation,
    Payment,
    PlanItemKind,
)
from lkk_app.core.formatting import month_text
from lkk_app.i18n import label, t
from lkk_app.settings import Requisites

UNIT_CODE = "245"  # ОКЕИ: киловатт-час


@dataclasses.dataclass(frozen=True)
class PrintContext:
    """What a document names besides itself, as the cabinet's copy has it."""

    supplier: Requisites
    organisation: Organisation
    contract: Contract
    points: Mapping[str, str]  # point key → name
    related: Mapping[str, Document]  # the documents it names (акт ↔ счёт-фактура, the replaced one …)
    replaced_by: Document | None = None  # a reversed document's new version
    invoices: Sequence[Document] = ()  # the contract's счета-фактуры (an акт сверки)
    payments: Sequence[Payment] = ()  # the contract's payments (an акт сверки, a счёт-фактура's month)
    purpose: str = ""  # a счёт's payment purpose line
    planned: Decimal = Decimal(0)  # a final счёт: what the month's plan invoices asked for already
    plan_share: PlanItemKind | None = None  # a plan invoice's share
    basis_period: date | None = None  # the month a plan invoice is sized on
    demo: bool = False


def _inn_kpp(inn: str, kpp: str | None) -> str:
    return f"{inn}/{kpp}" if kpp else inn


def _party(name: str, inn: str, kpp: str | None, address: str) -> str:
    """«ООО «Ромашка», ИНН 7701000001, КПП 770101001, 127000, г. Москва, …» (no КПП for an ИП)."""
    if kpp:
        return t("pdf.party", name=name, inn=inn, kpp=kpp, address=address)
    return t("pdf.party_no_kpp", name=name, inn=inn, address=address)


def _buyer(ctx: PrintContext) -> str:
    return ctx.organisation.name


def _contract_ref(ctx: PrintContext) -> str:
    c = ctx.contract
    return t("pdf.contract_ref", kind=label(c.kind), number=c.number, date=day(c.signed_on))


def _status_notes(pdf: DocumentPdf, doc: Document, ctx: PrintContext) -> None:
    if doc.status is DocumentStatus.REVERSED:
        new = ctx.replaced_by
        pdf.line_text(t("pdf.reversed", number=new.number, date=day(new.issued_on)) if new is not None
                      else t("pdf.reversed_plain"), bold=True, after=1)
    old = ctx.related.get(doc.replaces_key or "")
    if old is not None:
        pdf.line_text(t("pdf.replaces", number=old.number, date=day(old.issued_on)), size=8, after=1)


def _zone(line_zone: object) -> str:
    return label(line_zone)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- счёт-фактура


# Widths of the form's columns in mm (А, Б, 1, 1а, 2, 2а, 3 … 14): 277 mm, a landscape A4 page.
_SF_WIDTHS = (6, 10, 48, 9, 8, 10, 16, 13, 19, 11, 11, 17, 19, 9, 10, 16, 8, 10, 13, 14)
# The form's headings: (text, colspan, rowspan) in the first row; the second row
# holds the parts of the grouped columns (unit, country, unit of traceability).
_SF_GROUPS = {"pdf.sf.col_unit", "pdf.sf.col_country", "pdf.sf.col_trace_unit"}
_SF_TOP = ("pdf.sf.col_n", "pdf.sf.col_code", "pdf.sf.col_name", "pdf.sf.col_kind_code", "pdf.sf.col_unit",
           "pdf.sf.col_qty", "pdf.sf.col_price", "pdf.sf.col_net", "pdf.sf.col_excise", "pdf.sf.col_rate",
           "pdf.sf.col_vat", "pdf.sf.col_gross", "pdf.sf.col_country", "pdf.sf.col_declaration",
           "pdf.sf.col_trace_unit", "pdf.sf.col_trace_qty", "pdf.sf.col_trace_cost")
_SF_SECOND = ("pdf.sf.col_unit_code", "pdf.sf.col_unit_name", "pdf.sf.col_country_code",
              "pdf.sf.col_country_name", "pdf.sf.col_unit_code", "pdf.sf.col_unit_name")
_SF_ALIGN = "CCLCCCRRRCCRRCCCCCCC"


def _sf_table(pdf: DocumentPdf, rows: list[list[str]]) -> None:
    """The form's table: two rows of headings, the row of column numbers, the lines, «Всего к оплате»."""
    pdf.set_font(FAMILY, size=6)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(col_widths=_SF_WIDTHS, width=sum(_SF_WIDTHS), align="L", line_height=2.6, num_heading_rows=3,
                   headings_style=FontFace(emphasis="BOLD", size_pt=5.5), text_align="CENTER",
                   padding=0.6) as table:
        top = table.row()
        for key in _SF_TOP:
            grouped = key in _SF_GROUPS
            top.cell(t(key), colspan=2 if grouped else 1, rowspan=1 if grouped else 2, align="C")
        second = table.row()
        for key in _SF_SECOND:
            second.cell(t(key), align="C")
        numbers = table.row()
        for value in t("pdf.sf.numbers").split("|"):
            numbers.cell(value, align="C")
        for n, values in enumerate(rows):
            row = table.row()
            for i, value in enumerate(values):
                row.cell(value, align=_SF_ALIGN[i], style=bold if n == len(rows) - 1 else None)
    pdf.set_font(FAMILY, size=9)


def vat_invoice(pdf: DocumentPdf, doc: Document, ctx: PrintContext) -> None:
    s, org = ctx.supplier, ctx.organisation
    pdf.line_text(t("pdf.sf.form"), size=6.5, align="R", after=1)
    pdf.line_text(t("pdf.sf.title", number=doc.number, date=day(doc.issued_on)) + "   (1)", size=11, bold=True)
    pdf.line_text(t("pdf.sf.correction") + "   (1а)", size=8, after=1)
    act = next((d for k, d in ctx.related.items() if k in doc.related_keys
                and d.kind is DocumentKind.TRANSFER_ACT), None)
    month = [p for p in ctx.payments if any(a.period == doc.period_from for a in p.allocations)]
    paid = ", ".join(t("pdf.number_date", number=p.order_number, date=day(p.paid_on)) for p in month) or t(
        "pdf.number_date", number=t("pdf.dash"), date=t("pdf.dash"))
    header = [
        (t("pdf.sf.seller", value=s.full_name), "(2)"),
        (t("pdf.sf.seller_address", value=s.address), "(2а)"),
        (t("pdf.sf.seller_inn", value=_inn_kpp(s.inn, s.kpp)), "(2б)"),
        (t("pdf.sf.shipper"), "(3)"),
        (t("pdf.sf.consignee", value=f"{org.name}, {org.legal_address}"), "(4)"),
        (t("pdf.sf.payment_doc", value=paid), "(5)"),
        (t("pdf.sf.shipping_doc", lines=str(len(doc.lines) or 1), number=act.number if act else "—",
           date=day(act.issued_on) if act else "—"), "(5а)"),
        (t("pdf.sf.buyer", value=org.name), "(6)"),
        (t("pdf.sf.buyer_address", value=org.legal_address), "(6а)"),
        (t("pdf.sf.buyer_inn", value=_inn_kpp(org.inn, org.kpp)), "(6б)"),
        (t("pdf.sf.currency"), "(7)"),
        (t("pdf.sf.contract_id"), "(8)"),
    ]
    for text, mark in header:
        pdf.line_text(f"{text}   {mark}", size=7.5, height=3.6)
    pdf.ln(1)
    _status_notes(pdf, doc, ctx)
    rate = f"{rate_text(doc.vat_rate)}%"
    month_name = month_text(doc.period_from)
    rows: list[list[str]] = []
    vat_left = doc.vat
    for n, line in enumerate(doc.lines, start=1):
        # The VAT of each line, the last one taking the rounding so that the column sums to the total.
        line_vat = vat_left if n == len(doc.lines) else (line.amount * doc.vat_rate / 100).quantize(Decimal("0.01"))
        vat_left -= line_vat
        name = t("pdf.energy_line", month=month_name, point=ctx.points.get(line.point_key, line.point_key),
                 zone=_zone(line.zone))
        rows.append([str(n), "—", name, "—", UNIT_CODE, t("pdf.kwh"), quantity(line.energy_kwh), price(line.price),
                     money(line.amount), t("pdf.sf.no_excise"), rate, money(line_vat),
                     money(line.amount + line_vat), "—", "—", "—", "—", "—", "—", "—"])
    net = doc.amount - doc.vat
    rows.append(["", "", t("pdf.sf.total"), "", "", "", "", "", money(net), "X", "", money(doc.vat),
                 money(doc.amount), "", "", "", "", "", "", ""])
    _sf_table(pdf, rows)
    pdf.ln(1)
    pdf.line_text(t("pdf.in_words", words=words(doc.amount)), size=8, after=2)
    pdf.signatures([t("pdf.sf.head"), t("pdf.sf.accountant"), t("pdf.sf.entrepreneur"), t("pdf.sf.ogrnip")],
                   size=7)


# --------------------------------------------------------------------------- акт приёма-передачи


def transfer_act(pdf: DocumentPdf, doc: Document, ctx: PrintContext) -> None:
    pdf.line_text(t("pdf.act.title", number=doc.number, date=day(doc.issued_on)), size=11, bold=True,
                  align="C")
    pdf.line_text(t("pdf.act.period", month=month_text(doc.period_from)) + ", " + _contract_ref(ctx), size=9,
                  align="C", after=3)
    _status_notes(pdf, doc, ctx)
    pdf.line_text(t("pdf.act.parties", supplier=ctx.supplier.full_name, buyer=_buyer(ctx)), size=9, after=2)
    rows = [["№", t("pdf.act.col_point"), t("pdf.act.col_zone"), t("pdf.act.col_energy"), t("pdf.act.col_price"),
             t("pdf.act.col_amount")]]
    for n, line in enumerate(doc.lines, start=1):
        rows.append([str(n), ctx.points.get(line.point_key, line.point_key), _zone(line.zone),
                     quantity(line.energy_kwh), price(line.price), money(line.amount)])
    net = doc.amount - doc.vat
    rate = rate_text(doc.vat_rate)
    rows.append(["", t("pdf.total"), "", quantity(doc.energy_kwh or Decimal(0)), "", money(net)])
    rows.append(["", t("pdf.vat_line", rate=rate), "", "", "", money(doc.vat)])
    rows.append(["", t("pdf.total_with_vat"), "", "", "", money(doc.amount)])
    pdf.grid((8, 72, 22, 28, 30, 30), rows, size=8, align=["C", "L", "C", "R", "R", "R"], bold_last=True)
    pdf.ln(2)
    pdf.line_text(t("pdf.in_words", words=words(doc.amount)), size=9, after=1)
    invoice = next((d for k, d in ctx.related.items() if k in doc.related_keys
                    and d.kind is DocumentKind.VAT_INVOICE), None)
    if invoice is not None:
        pdf.line_text(t("pdf.act.invoice", number=invoice.number, date=day(invoice.issued_on)), size=9)
    pdf.line_text(t("pdf.act.no_claims"), size=9, after=2)
    pdf.signatures([t("pdf.act.supplier_sign", party=ctx.supplier.full_name),
                    t("pdf.act.buyer_sign", party=_buyer(ctx))], stamp=True)


# --------------------------------------------------------------------------- счета


def _bank_block(pdf: DocumentPdf, s: Requisites) -> None:
    rows = [
        [s.bank, t("pdf.bill.bik"), s.bik],
        [t("pdf.bill.bank"), t("pdf.bill.account"), s.corr_account],
        [f"{t('pdf.bill.inn', value=s.inn)}    {t('pdf.bill.kpp', value=s.kpp)}", t("pdf.bill.account"), s.account],
        [f"{s.full_name}\n{t('pdf.bill.recipient')}", "", ""],
    ]
    pdf.grid((112, 18, 60), rows, size=8, headings=0, align=["L", "L", "L"])
    pdf.ln(3)


def invoice(pdf: DocumentPdf, doc: Document, ctx: PrintContext) -> None:
    s, org = ctx.supplier, ctx.organisation
    plan = doc.kind is DocumentKind.PLAN_INVOICE
    _bank_block(pdf, s)
    title = "pdf.bill.plan_title" if plan else "pdf.bill.title"
    pdf.line_text(t(title, number=doc.number, date=day(doc.issued_on)), size=13, bold=True, after=2)
    pdf.line_text(t("pdf.bill.supplier", value=_party(s.full_name, s.inn, s.kpp, s.address)), size=9)
    pdf.line_text(t("pdf.bill.buyer", value=_party(org.name, org.inn, org.kpp, org.legal_address)), size=9)
    pdf.line_text(t("pdf.bill.basis", number=ctx.contract.number, date=day(ctx.contract.signed_on)), size=9,
                  after=2)
    _status_notes(pdf, doc, ctx)
    month_name = month_text(doc.period_from)
    rows = [[t("pdf.bill.col_n"), t("pdf.bill.col_item"), t("pdf.bill.col_qty"), t("pdf.bill.col_unit"),
             t("pdf.bill.col_price"), t("pdf.bill.col_amount")]]
    rate = rate_text(doc.vat_rate)
    if plan:
        share = label(ctx.plan_share) if ctx.plan_share is not None else label(DocumentKind.PLAN_INVOICE)
        rows.append(["1", t("pdf.bill.plan_line", share=share[:1].upper() + share[1:], month=month_name), "1",
                     t("pdf.dash"), money(doc.amount), money(doc.amount)])
        rows.append(["", t("pdf.total"), "", "", "", money(doc.amount)])
        rows.append(["", t("pdf.vat_included", rate=rate), "", "", "", money(doc.vat)])
        count = 1
    else:
        for n, line in enumerate(doc.lines, start=1):
            rows.append([str(n), t("pdf.energy_line", month=month_name,
                                   point=ctx.points.get(line.point_key, line.point_key), zone=_zone(line.zone)),
                         quantity(line.energy_kwh), t("pdf.kwh"), price(line.price), money(line.amount)])
        rows.append(["", t("pdf.total"), "", "", "", money(doc.amount - doc.vat)])
        rows.append(["", t("pdf.vat_line", rate=rate), "", "", "", money(doc.vat)])
        count = len(doc.lines)
    rows.append(["", t("pdf.total_with_vat") if ctx.planned else t("pdf.to_pay"), "", "", "", money(doc.amount)])
    if ctx.planned:  # the month's plan invoices were due already: the rest is the final payment
        rows.append(["", t("pdf.bill.planned"), "", "", "", money(ctx.planned)])
        rows.append(["", t("pdf.bill.final"), "", "", "", money(doc.amount - ctx.planned)])
    pdf.grid((8, 92, 24, 14, 24, 28), rows, size=8, align=["C", "L", "R", "C", "R", "R"], bold_last=True)
    pdf.ln(2)
    due = doc.amount - ctx.planned
    pdf.line_text(t("pdf.bill.items", count=str(count), amount=money(due)), size=9)
    pdf.line_text(words(due), size=9, bold=True, after=2)
    if doc.due_on is not None:
        pdf.line_text(t("pdf.bill.due", date=day(doc.due_on)), size=9, bold=True)
    if ctx.purpose:
        pdf.line_text(t("pdf.bill.purpose", value=ctx.purpose), size=9)
    if plan:
        basis = (t("pdf.bill.plan_note", month=month_text(ctx.basis_period)) if ctx.basis_period
                 else t("pdf.bill.plan_basis"))
        pdf.line_text(basis, size=8)
    pdf.signatures([t("pdf.bill.head"), t("pdf.bill.accountant")])


# --------------------------------------------------------------------------- акт сверки


def _entries(ctx: PrintContext, start: date, end: date) -> tuple[Decimal, list[tuple[date, str, Decimal, Decimal]]]:
    """The opening balance (+ owed to the supplier) and the period's entries:
    (date, what, debit, credit), by date."""
    opening = sum((d.amount for d in ctx.invoices if d.issued_on < start), Decimal(0))
    opening -= sum((p.amount for p in ctx.payments if p.paid_on < start), Decimal(0))
    entries = [(d.issued_on, t("pdf.reco.invoice", number=d.number), d.amount, Decimal(0))
               for d in ctx.invoices if start <= d.issued_on <= end]
    entries += [(p.paid_on, t("pdf.reco.payment", number=p.order_number), Decimal(0), p.amount)
                for p in ctx.payments if start <= p.paid_on <= end]
    return opening, sorted(entries, key=lambda e: (e[0], e[1]))


def _side(value: Decimal) -> tuple[str, str]:
    return (money(value), "") if value >= 0 else ("", money(-value))


def reconciliation_act(pdf: DocumentPdf, doc: Document, ctx: PrintContext) -> None:
    start, end = doc.period_from, doc.period_to
    s = ctx.supplier
    pdf.line_text(t("pdf.reco.title", number=doc.number), size=11, bold=True, align="C")
    pdf.line_text(t("pdf.reco.period", start=day(start), end=day(end)), size=9, align="C")
    pdf.line_text(t("pdf.reco.between", supplier=s.full_name, buyer=_buyer(ctx), contract=_contract_ref(ctx)),
                  size=9, align="C", after=2)
    pdf.line_text(t("pdf.reco.intro"), size=8, after=2)
    opening, entries = _entries(ctx, start, end)
    debit = sum((e[2] for e in entries), Decimal(0))
    credit = sum((e[3] for e in entries), Decimal(0))
    closing = opening + debit - credit
    by_supplier = t("pdf.reco.by", party=s.full_name)
    by_buyer = t("pdf.reco.by", party=_buyer(ctx))
    head = [[by_supplier, "", "", "", by_buyer, "", "", ""],
            [t("pdf.reco.col_date"), t("pdf.reco.col_doc"), t("pdf.reco.col_debit"), t("pdf.reco.col_credit")] * 2]
    rows = [*head, ["", t("pdf.reco.opening"), *_side(opening), "", "", "", ""]]
    for when, what, d, c in entries:
        rows.append([day(when), what, money(d) if d else "", money(c) if c else "", "", "", "", ""])
    rows.append(["", t("pdf.reco.turnover"), money(debit), money(credit), "", "", "", ""])
    rows.append(["", t("pdf.reco.closing"), *_side(closing), "", "", "", ""])
    pdf.set_font("DejaVu", size=7)
    with pdf.table(col_widths=(16, 44, 19, 19, 16, 40, 18, 18), width=190, align="L", line_height=3.4,
                   num_heading_rows=2, text_align="LEFT", padding=0.8) as table:
        for n, values in enumerate(rows):
            row = table.row()
            if n == 0:
                row.cell(values[0], colspan=4, align="C")
                row.cell(values[4], colspan=4, align="C")
                continue
            for i, value in enumerate(values):
                row.cell(value, align="C" if n == 1 else ("R" if i in (2, 3, 6, 7) else "L"))
    pdf.ln(3)
    on = day(end)
    if closing > 0:
        text = t("pdf.reco.debt", supplier=s.full_name, date=on, amount=money(closing), words=words(closing))
    elif closing < 0:
        text = t("pdf.reco.overpaid", supplier=s.full_name, buyer=_buyer(ctx), date=on, amount=money(-closing),
                 words=words(-closing))
    else:
        text = t("pdf.reco.even", supplier=s.full_name, date=on)
    pdf.line_text(text, size=9, bold=True, after=2)
    pdf.signatures([t("pdf.reco.supplier_side", party=s.full_name), t("pdf.reco.supplier_side", party=_buyer(ctx))],
                   stamp=True)


# --------------------------------------------------------------------------- dispatch

LAYOUTS = {
    DocumentKind.VAT_INVOICE: (vat_invoice, True),
    DocumentKind.TRANSFER_ACT: (transfer_act, False),
    DocumentKind.INVOICE: (invoice, False),
    DocumentKind.PLAN_INVOICE: (invoice, False),
    DocumentKind.RECONCILIATION_ACT: (reconciliation_act, False),
}


def printable(doc: Document) -> bool:
    """Whether the cabinet can print this document (a kind it has a layout for,
    not still being prepared)."""
    return doc.kind in LAYOUTS and doc.status is not DocumentStatus.PREPARING


def render(doc: Document, ctx: PrintContext) -> bytes:
    """The document's PDF."""
    draw, landscape = LAYOUTS[doc.kind]
    title = t("pdf.title_of", kind=label(doc.kind), number=doc.number, date=day(doc.issued_on))
    pdf = DocumentPdf(landscape=landscape, demo=ctx.demo, title=title, issued_on=doc.issued_on,
                      author=ctx.supplier.full_name)
    draw(pdf, doc, ctx)
    return bytes(pdf.output())
