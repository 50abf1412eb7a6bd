"""«Расчёты» in the domain (lkk_app/billing/settlements.py) on the demo billing's
world of 07.12.2026: Д-1002's debt with its overdue plan and the next payment's
purpose line, Д-1001 paid ahead, the consumption of 24 months that matches the
счета-фактуры, the unidentified payment seen by «Ромашка» only, and ownership."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from lkk_app.billing import settlements, store
from lkk_app.billing.binding import BindingError
from lkk_app.billing.types import DocumentStatus, PlanItemKind, Zone
from lkk_app.settings import get_settings
from tests.fixtures.billing_world import TODAY

pytestmark = pytest.mark.asyncio


@pytest.fixture
def world(two_organisations):
    return two_organisations


def _of(engine, user, contract: str, **kw) -> settlements.Settlements:
    with Session(engine) as db:
        return settlements.settlements(db, user.id, contract, today=TODAY, supplier=get_settings().supplier, **kw)


async def test_a_contract_in_debt_shows_what_is_overdue_and_what_to_pay_next(world):
    w, ann, _ = world
    s = _of(w.engine, ann, "ctr-1002")
    assert s.balance is not None and s.balance.debt > 0 and s.balance.penalty > 0
    overdue = [r for r in s.plan if r.overdue]
    assert overdue and all(r.item.due_on < TODAY and r.item.remaining > 0 for r in overdue)
    assert s.overdue == sum((r.item.remaining for r in overdue), Decimal(0)) > 0
    assert [r.item.due_on for r in s.plan] == sorted(r.item.due_on for r in s.plan)
    # The next payment is the earliest overdue one, with its purpose line.
    nxt = s.next_due
    assert nxt is not None and nxt.overdue and nxt.item == overdue[0].item and nxt.amount == nxt.item.remaining
    assert nxt.purpose.startswith("Оплата за электроэнергию по договору Д-1002 за ")
    assert "НДС 22 %" in nxt.purpose and len(nxt.purpose) <= 210
    assert s.supplier.bik == get_settings().supplier.bik


async def test_a_contract_paid_on_time_owes_only_what_is_not_due(world):
    w, ann, _ = world
    s = _of(w.engine, ann, "ctr-1001")
    # Owed: December's plan invoices, issued on the 1st and not due yet; nothing overdue.
    december = [r.item for r in s.plan if r.item.period == date(2026, 12, 1)]
    assert s.balance is not None and s.balance.debt == sum((i.amount for i in december), Decimal(0)) > 0
    assert s.overdue == 0 and not any(r.overdue for r in s.plan)
    # December's plan invoices are open: 30 % by the 10th first.
    assert s.next_due is not None and s.next_due.item.kind is PlanItemKind.FIRST
    assert s.next_due.item.due_on == date(2026, 12, 10)
    assert s.payments_total > 20 and len(s.payments) == 20
    assert all(p.contract_key == "ctr-1001" for p in s.payments)
    dates = [p.paid_on for p in s.payments]
    assert dates == sorted(dates, reverse=True)
    assert _of(w.engine, ann, "ctr-1001", offset=20).payments[0] not in s.payments


async def test_the_consumption_is_24_months_of_the_invoices_by_point_and_zone(world):
    w, ann, _ = world
    s = _of(w.engine, ann, "ctr-1001")
    assert len(s.consumption) == 24
    assert s.consumption[0].period == date(2024, 12, 1) and s.consumption[-1].period == date(2026, 11, 1)
    with Session(w.engine) as db:
        invoices = {d.period_from: d for d in store.documents_of(db, "ctr-1001", kinds=["vat_invoice"])
                    if d.status is DocumentStatus.ISSUED}
    for month in s.consumption:
        doc = invoices.get(month.period)
        if doc is None:
            assert month.amount is None and month.energy == {}
            continue
        assert month.amount == doc.amount
        assert sum(month.by_zone().values(), Decimal(0)) == doc.energy_kwh
        for line in doc.lines:
            assert month.energy[line.point_key][line.zone] == line.energy_kwh
    assert s.consumption[-1].amount is None  # November is not closed: its readings are not all there
    assert {key for key, _ in s.points} == {"tu-1001-1", "tu-1001-2"}
    office = s.consumption[-2].by_zone("tu-1001-1")
    assert set(office) == {Zone.DAY, Zone.NIGHT}


async def test_unidentified_payments_are_the_organisations_own(world):
    w, ann, eve = world
    assert [p.amount for p in _of(w.engine, ann, "ctr-1002").unidentified] == [Decimal("15000.00")]
    assert _of(w.engine, eve, "ctr-2001").unidentified == ()
    with pytest.raises(BindingError) as caught:
        _of(w.engine, eve, "ctr-1002")
    assert caught.value.code == "contract.not_found"
