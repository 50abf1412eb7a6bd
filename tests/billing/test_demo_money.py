"""The demo billing's money agrees with itself, seen through the gateway (both
adapters): the accepted readings give each month's consumption, the lines of
its счёт-фактура, акт and счёт; the lines give the totals with the period's VAT;
the issued счета-фактуры less the payments give the balance; the plan invoices
and the final payment add up to the month.  And its stories are there: a debt,
пени for a late payment, a half payment, one reversed счёт-фактура with its
replacement, an unidentified payment."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from lkk_app.billing.types import (
    ChangeKind,
    Document,
    DocumentKind,
    DocumentStatus,
    PlanItemKind,
    ReadingEntry,
    ReadingsSubmission,
    ReadingSource,
    ReadingStatus,
)
from tests.billing.conftest import TODAY, Billing
from tests.billing.test_gateway_contract import pull_all

pytestmark = pytest.mark.asyncio
D = Decimal


def cents(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


async def world(billing: Billing) -> dict[ChangeKind, list]:
    found = {}
    for kind in (ChangeKind.POINTS, ChangeKind.METERS, ChangeKind.INSTALLATIONS, ChangeKind.READINGS,
                 ChangeKind.DOCUMENTS, ChangeKind.PAYMENTS, ChangeKind.BALANCES, ChangeKind.PLAN_ITEMS):
        found[kind], _ = await pull_all(billing.gateway, kind, limit=1000)
    return found


def zones_of(meters: list) -> dict[str, str]:
    return {r.key: r.zone.value for m in meters for r in m.registers}


def invoices(docs: list[Document], contract: str | None = None) -> list[Document]:
    return sorted((d for d in docs if d.kind is DocumentKind.VAT_INVOICE and d.status is DocumentStatus.ISSUED
                   and contract in (None, d.contract_key)), key=lambda d: d.period_from)


def charged_by(docs: list[Document], contract: str, today: date) -> Decimal:
    """What a contract was charged by ``today``: each month's счёт-фактура, or its plan invoices before it."""
    closed = {d.period_from: d.amount for d in invoices(docs, contract) if d.issued_on <= today}
    planned: dict[date, Decimal] = defaultdict(Decimal)
    for d in docs:
        if (d.contract_key == contract and d.kind is DocumentKind.PLAN_INVOICE and d.issued_on <= today
                and d.period_from not in closed):
            planned[d.period_from] += d.amount
    return sum(closed.values(), D(0)) + sum(planned.values(), D(0))


def check_totals(doc: Document) -> None:
    """The lines give the document's energy, net amount, VAT and total."""
    for line in doc.lines:
        assert line.amount == cents(line.energy_kwh * line.price), (doc.number, line)
    net = sum((line.amount for line in doc.lines), D(0))
    assert doc.vat_rate == (D(20) if doc.period_from.year <= 2025 else D(22)), doc.number
    assert doc.vat == cents(net * doc.vat_rate / 100), doc.number
    assert doc.amount == net + doc.vat, doc.number
    assert doc.energy_kwh == sum((line.energy_kwh for line in doc.lines), D(0)), doc.number


async def test_readings_lines_totals_and_balance_agree(billing: Billing):
    w = await world(billing)
    zone = zones_of(w[ChangeKind.METERS])
    consumed: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)  # (reading day, point, zone)
    for r in w[ChangeKind.READINGS]:
        assert r.status is ReadingStatus.ACCEPTED
        consumed[(r.as_of, r.point_key, zone[r.register_key])] += r.consumption_kwh or D(0)
    docs: list[Document] = w[ChangeKind.DOCUMENTS]
    by_key = {d.key: d for d in docs}
    contract_of = {p.key: p.contract_key for p in w[ChangeKind.POINTS]}
    closed = invoices(docs)
    assert len(closed) >= 4 * 20  # four contracts, about two years each
    for sf in closed:
        check_totals(sf)
        day_after = sf.period_to + timedelta(days=1)
        assert {(line.point_key, line.zone.value): line.energy_kwh for line in sf.lines} == {
            (point, z): kwh for (on, point, z), kwh in consumed.items()
            if on == day_after and contract_of[point] == sf.contract_key}, sf.number
        [act_key] = sf.related_keys
        act = by_key[act_key]
        assert act.kind is DocumentKind.TRANSFER_ACT and act.lines == sf.lines and act.amount == sf.amount
        [bill] = [d for d in docs if d.kind is DocumentKind.INVOICE and d.contract_key == sf.contract_key
                  and d.period_from == sf.period_from]
        assert bill.amount == sf.amount and bill.due_on is not None and bill.due_on > sf.period_to
    # The balance: what was charged less what was paid, per contract — a month's
    # счёт-фактура once issued, before it the month's plan invoices.
    for balance in w[ChangeKind.BALANCES]:
        charged = charged_by(docs, balance.contract_key, TODAY)
        paid = sum((p.amount for p in w[ChangeKind.PAYMENTS]
                    if p.contract_key == balance.contract_key and p.paid_on <= TODAY), D(0))
        assert balance.debt == charged - paid, balance.contract_key
        for p in w[ChangeKind.PAYMENTS]:
            if p.contract_key == balance.contract_key:
                assert sum((a.amount for a in p.allocations), D(0)) == p.amount
    # The plan of a closed month adds up to its счёт-фактура.
    plan: dict[tuple[str, date], list] = defaultdict(list)
    for item in w[ChangeKind.PLAN_ITEMS]:
        plan[(item.contract_key, item.period)].append(item)
    for sf in closed:
        items = plan[(sf.contract_key, sf.period_from)]
        assert sum((i.amount for i in items), D(0)) == sf.amount, sf.number
        assert [i.kind for i in items][-1] is PlanItemKind.FINAL


async def test_the_interim_plan_is_30_and_40_percent_of_the_last_closed_month(billing: Billing):
    w = await world(billing)
    docs = w[ChangeKind.DOCUMENTS]
    totals = {d.period_from: d.amount for d in invoices(docs, "ctr-2001")}  # «промежуточные платежи»
    months = sorted(totals)
    items = {(i.period, i.kind): i for i in w[ChangeKind.PLAN_ITEMS] if i.contract_key == "ctr-2001"}
    for before, month in zip(months, months[1:], strict=False):
        first, second = items[(month, PlanItemKind.FIRST)], items[(month, PlanItemKind.SECOND)]
        assert first.amount == cents(totals[before] * D("0.30")) and first.due_on == month.replace(day=10)
        assert second.amount == cents(totals[before] * D("0.40")) and second.due_on == month.replace(day=25)
        plan = [d for d in docs if d.kind is DocumentKind.PLAN_INVOICE and d.period_from == month
                and d.contract_key == "ctr-2001"]
        assert sorted(d.amount for d in plan) == sorted([first.amount, second.amount])


async def test_the_stories_of_the_demo(billing: Billing):
    w = await world(billing)
    balances = {b.contract_key: b for b in w[ChangeKind.BALANCES]}
    docs = w[ChangeKind.DOCUMENTS]
    # Д-1002: the last two months unpaid — a debt and its пени.
    assert balances["ctr-1002"].debt > 0 and balances["ctr-1002"].penalty > 0
    # Д-1001: a final payment 10 days late six months ago — пени, but nothing overdue now.
    overdue = [i for i in w[ChangeKind.PLAN_ITEMS]
               if i.contract_key == "ctr-1001" and i.due_on < TODAY and i.remaining > 0]
    assert overdue == [] and balances["ctr-1001"].penalty > 0
    # Д-2001: half of June's final payment paid in July: June stays owed, with пени.
    [june] = [i for i in w[ChangeKind.PLAN_ITEMS] if i.contract_key == "ctr-2001"
              and i.period == date(2026, 6, 1) and i.kind is PlanItemKind.FINAL]
    assert june.paid > 0 and june.remaining == june.amount - june.paid > 0
    assert balances["ctr-2001"].penalty > 0
    # One reversed счёт-фактура with its replacement, both named in the feed.
    [reversed_] = [d for d in docs if d.status is DocumentStatus.REVERSED]
    [replacement] = [d for d in docs if d.replaces_key == reversed_.key]
    assert replacement.number == f"{reversed_.number}/1" and replacement.amount != reversed_.amount
    assert replacement.issued_on > reversed_.issued_on and replacement.period_from == reversed_.period_from
    # An unidentified payment of «Ромашка».
    [unknown] = [p for p in w[ChangeKind.PAYMENTS] if p.contract_key is None]
    assert unknown.organisation_key == "org-romashka" and unknown.amount == D("15000.00") and not unknown.allocations


async def test_readings_given_as_of_the_1st_close_the_month_with_the_removed_meters_part(billing: Billing):
    """Д-1001's «Офис» meter was replaced on 14.10: the October счёт-фактура counts
    the old meter up to its final values and the new one from its initial ones."""
    before = await world(billing)
    october = date(2026, 10, 1)
    assert not [d for d in invoices(before[ChangeKind.DOCUMENTS], "ctr-1001") if d.period_from == october]
    entries = (("pu-1001-1b-day", "1500.12"), ("pu-1001-1b-night", "700.05"),
               ("pu-1001-2-day", "999990.00"), ("pu-1001-2-night", "412420"))
    sent = ReadingsSubmission("ctr-1001", date(2026, 11, 1), ReadingSource.CUSTOMER_FORM,
                              tuple(ReadingEntry(k, D(v)) for k, v in entries))
    ack = await billing.gateway.submit_readings(sent, secrets.token_urlsafe(12))
    assert {r.status for r in ack.results} == {ReadingStatus.ACCEPTED}
    after = await world(billing)
    [sf] = [d for d in invoices(after[ChangeKind.DOCUMENTS], "ctr-1001") if d.period_from == october]
    check_totals(sf)
    lines = {(line.point_key, line.zone.value): line.energy_kwh for line in sf.lines}
    given = {r.register_key: r for r in ack.results}
    [old] = [i for i in after[ChangeKind.INSTALLATIONS] if i.meter_key == "pu-1001-1a"]
    last = {r.register_key: r.value for r in after[ChangeKind.READINGS]
            if r.meter_key == "pu-1001-1a" and r.as_of == october}
    [office] = [p for p in after[ChangeKind.POINTS] if p.key == "tu-1001-1"]
    for zone in ("day", "night"):
        tail = cents(next(v.value for v in old.final if v.register_key.endswith(zone)) - last[f"pu-1001-1a-{zone}"])
        tail += cents(tail * office.losses_percent / 100)
        new_part = given[f"pu-1001-1b-{zone}"].consumption_kwh
        assert lines[("tu-1001-1", zone)] == new_part + tail
        assert lines[("tu-1001-2", zone)] == given[f"pu-1001-2-{zone}"].consumption_kwh
    # The счёт-фактура (issued the 31st) now charges the month instead of its plan invoices.
    assert sf.issued_on == date(2026, 10, 31)
    planned = sum((d.amount for d in after[ChangeKind.DOCUMENTS] if d.contract_key == "ctr-1001"
                   and d.kind is DocumentKind.PLAN_INVOICE and d.period_from == october), D(0))
    assert planned > 0
    old_balance = {b.contract_key: b.debt for b in before[ChangeKind.BALANCES]}["ctr-1001"]
    new_balance = {b.contract_key: b.debt for b in after[ChangeKind.BALANCES]}["ctr-1001"]
    assert new_balance == old_balance + sf.amount - planned
