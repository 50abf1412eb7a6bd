"""Billing records: labels, derived values and the wire form."""

from __future__ import annotations

import inspect
from datetime import date, datetime
from decimal import Decimal

import pytest

from lkk_app import i18n
from lkk_app.billing import types as records
from lkk_app.billing import wire
from lkk_app.billing.types import (
    Direction,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Labelled,
    Meter,
    MeterConnection,
    PlanItem,
    PlanItemKind,
    Register,
    Transformer,
    TransformerKind,
    Zone,
)

ENUMS = [c for _, c in inspect.getmembers(records, inspect.isclass)
         if issubclass(c, Labelled) and c is not Labelled]


@pytest.mark.parametrize("enum_type", ENUMS, ids=lambda c: c.__name__)
def test_every_code_is_ascii_and_has_a_label(enum_type):
    assert enum_type.area() not in {e.area() for e in ENUMS if e is not enum_type}
    family = {key for key in i18n.RU if key.startswith(enum_type.area() + ".")}
    assert family == {m.label_key for m in enum_type}
    for member in enum_type:
        assert member.value.isascii() and member.value == member.value.lower()
        assert i18n.label(member).strip() and i18n.label(member) != member.value


def test_labels_read_as_the_manual_writes_them():
    assert i18n.label(records.VoltageLevel.SN2) == "СН-II"
    assert i18n.label(DocumentKind.VAT_INVOICE) == "Счёт-фактура"
    assert i18n.label(DocumentStatus.REVERSED) == "сторнирован"


def _transformer(kind: TransformerKind, primary: int, secondary: int) -> Transformer:
    return Transformer("s", kind, primary, secondary, "0,5S", date(2020, 1, 1), date(2028, 1, 1))


def test_the_coefficient_is_ct_times_vt_once_not_per_phase():
    reg = (Register("r", Zone.TOTAL, Direction.IMPORT_ACTIVE, 1),)
    meter = Meter("m", "1", "M", "0,5S", 6, 2, date(2020, 1, 1), 12, date(2032, 1, 1),
                  MeterConnection.CT_VT, reg,
                  tuple(_transformer(TransformerKind.CURRENT, 200, 5) for _ in range(3))
                  + (_transformer(TransformerKind.VOLTAGE, 10000, 100),))
    assert meter.coefficient == Decimal(4000)
    assert meter.transformers[0].ratio_text == "200/5"
    direct = Meter("m", "1", "M", "1,0", 6, 2, date(2020, 1, 1), 16, date(2036, 1, 1),
                   MeterConnection.DIRECT, reg)
    assert direct.coefficient == 1


def test_plan_item_remaining_never_goes_below_zero():
    item = PlanItem("p", "c", date(2026, 11, 1), PlanItemKind.FIRST, date(2026, 11, 10),
                    Decimal("3000.00"), Decimal("1000.50"))
    assert item.remaining == Decimal("1999.50")
    assert PlanItem("p", "c", date(2026, 11, 1), PlanItemKind.FINAL, date(2026, 12, 18),
                    Decimal(10), Decimal(15)).remaining == 0


def test_every_record_survives_the_wire_form():
    doc = Document(
        key="d", contract_key="c", kind=DocumentKind.VAT_INVOICE, number="СФ-1", issued_on=date(2026, 11, 30),
        period_from=date(2026, 11, 1), period_to=date(2026, 11, 30), amount=Decimal("12200.00"),
        vat=Decimal("2200.00"), vat_rate=Decimal(22), energy_kwh=Decimal("1234.567"), due_on=None,
        status=DocumentStatus.ISSUED,
        lines=(DocumentLine("p", Zone.NIGHT, Decimal("1234.567"), Decimal("8.10"), Decimal("10000.00")),),
        related_keys=("a",),
    )
    data = wire.encode(doc)
    assert data["amount"] == "12200.00" and data["kind"] == "vat_invoice" and data["due_on"] is None
    assert wire.decode(Document, data) == doc
    ack = records.Ack("k", "N-1", datetime(2026, 11, 20, 9, 30, 15, 999))
    assert wire.encode(ack)["received_at"] == "2026-11-20T09:30:15Z"


@pytest.mark.parametrize("field,value", [("amount", 12200.0), ("amount", "1e3"), ("kind", "bill"),
                                         ("issued_on", "30.11.2026"), ("lines", {}), ("number", 1)])
def test_a_wrong_wire_value_is_refused(field, value):
    data = wire.encode(Document(
        key="d", contract_key="c", kind=DocumentKind.INVOICE, number="1", issued_on=date(2026, 11, 30),
        period_from=date(2026, 11, 1), period_to=date(2026, 11, 30), amount=Decimal(1), vat=Decimal(0),
        vat_rate=Decimal(22), energy_kwh=None, due_on=None, status=DocumentStatus.ISSUED))
    data[field] = value
    with pytest.raises(wire.WireError):
        wire.decode(Document, data)


@pytest.mark.parametrize("days", [(0, 3), (23, 32)])
def test_a_reading_window_outside_the_month_is_refused_on_the_wire(days):
    with pytest.raises(ValueError):
        records.ReadingWindow(*days)
    with pytest.raises(wire.WireError):
        wire.decode(records.ReadingWindow, {"first_day": days[0], "last_day": days[1]})
