"""«Расчёты»: where a bound contract stands with its supplier — the balance
(debt or overpayment, пени, the last payment), the payment plan of the month
with what is paid and what is overdue, the payments and their allocation, the
organisation's unidentified payments, the bank details with a ready payment
purpose for the next amount due, and the consumption of the last 24 months
(by point and zone, with its cost) from the issued счета-фактуры.

Every function starts with the ownership check
(:func:`lkk_app.billing.binding.require_contract`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session

from lkk_app.billing import binding, money, store
from lkk_app.billing.readings.rules import month_start
from lkk_app.billing.types import (
    Balance,
    Contract,
    Document,
    DocumentKind,
    DocumentStatus,
    Payment,
    PlanItem,
    Zone,
)
from lkk_app.i18n import label
from lkk_app.settings import Requisites

MONTHS_SHOWN = 24
PAGE_MAX = 100


@dataclasses.dataclass(frozen=True, slots=True)
class PlanRow:
    item: PlanItem
    overdue: bool  # due before today and not paid in full


@dataclasses.dataclass(frozen=True, slots=True)
class NextDue:
    """The next amount to pay and the purpose line for its payment order."""

    item: PlanItem
    amount: Decimal
    purpose: str
    overdue: bool


@dataclasses.dataclass(frozen=True, slots=True)
class MonthUse:
    """One month of consumption: кВт·ч by point and zone, and its cost with VAT
    (``None``: no счёт-фактура for the month)."""

    period: date
    energy: dict[str, dict[Zone, Decimal]]  # point key → zone → кВт·ч
    amount: Decimal | None

    def by_zone(self, point_key: str | None = None) -> dict[Zone, Decimal]:
        total: dict[Zone, Decimal] = defaultdict(Decimal)
        for point, zones in self.energy.items():
            if point_key in (None, point):
                for zone, kwh in zones.items():
                    total[zone] += kwh
        return dict(total)


@dataclasses.dataclass(frozen=True, slots=True)
class Settlements:
    contract: Contract
    balance: Balance | None
    overdue: Decimal  # the sum of the plan's overdue remainders
    plan: tuple[PlanRow, ...]
    next_due: NextDue | None
    payments: tuple[Payment, ...]
    payments_total: int
    unidentified: tuple[Payment, ...]
    supplier: Requisites
    points: tuple[tuple[str, str], ...]  # (key, name) of the points in the consumption
    consumption: tuple[MonthUse, ...]  # the last 24 months, oldest first
    as_of: datetime | None
    billing_down: bool


def plan_rows(items: Sequence[PlanItem], today: date) -> list[PlanRow]:
    """This month's items, last month's final payment, and any earlier item still
    owed — by due date."""
    shown_from = month_start(today, -1)
    rows = [PlanRow(i, i.due_on < today and i.remaining > 0) for i in items
            if i.period >= shown_from or i.remaining > 0]
    return sorted(rows, key=lambda r: (r.item.due_on, r.item.key))


def overdue_amount(items: Sequence[PlanItem], today: date) -> Decimal:
    return sum((i.remaining for i in items if i.due_on < today and i.remaining > 0), Decimal(0))


def _rate(documents: Sequence[Document], period: date) -> Decimal:
    """The VAT rate of the month's documents (else of the latest one; 22 % without any)."""
    same = [d for d in documents if d.period_from == period and d.vat_rate]
    latest = sorted((d for d in documents if d.vat_rate), key=lambda d: d.issued_on)
    found = same or latest[-1:]
    return found[0].vat_rate if found else Decimal(22)


def next_due(contract: Contract, rows: Sequence[PlanRow], documents: Sequence[Document]) -> NextDue | None:
    """The first item not paid in full (overdue ones first, by due date)."""
    open_rows = [r for r in rows if r.item.remaining > 0]
    if not open_rows:
        return None
    row = open_rows[0]
    item = row.item
    text = money.purpose(contract.number, item.period, label(item.kind), item.remaining,
                         _rate(documents, item.period))
    return NextDue(item, item.remaining, text, row.overdue)


def consumption(documents: Sequence[Document], today: date) -> tuple[tuple[MonthUse, ...], list[str]]:
    """The last 24 months before this one from the issued счета-фактуры (a
    reversed one's replacement counts), and the points that appear, by first use."""
    first = month_start(today, -MONTHS_SHOWN)
    invoices = {d.period_from: d for d in documents
                if d.kind is DocumentKind.VAT_INVOICE and d.status is DocumentStatus.ISSUED and d.period_from >= first}
    months = []
    points: dict[str, None] = {}
    for n in range(MONTHS_SHOWN):
        period = month_start(first, n)
        doc = invoices.get(period)
        energy: dict[str, dict[Zone, Decimal]] = defaultdict(dict)
        for line in doc.lines if doc else ():
            energy[line.point_key][line.zone] = energy[line.point_key].get(line.zone, Decimal(0)) + line.energy_kwh
            points.setdefault(line.point_key, None)
        months.append(MonthUse(period, dict(energy), doc.amount if doc else None))
    return tuple(months), list(points)


def settlements(db: Session, user_id: int, contract_key: object, *, today: date, supplier: Requisites,
                offset: int = 0, limit: int = 20) -> Settlements:
    """The «Расчёты» of a contract as of ``today`` (from the copy)."""
    bound, contract = binding.require_bound_contract(db, user_id, contract_key)
    organisation_key = bound.organisation_key
    items = store.plan_items(db, contract.key)
    rows = plan_rows(items, today)
    documents = store.documents_of(db, contract.key, since=month_start(today, -MONTHS_SHOWN - 1))
    offset, limit = max(0, int(offset)), max(1, min(int(limit), PAGE_MAX))
    payments, total = store.payments_of(db, contract_key=contract.key, offset=offset, limit=limit)
    unidentified, _ = store.payments_of(db, organisation_key=organisation_key, unidentified=True, limit=50)
    months, used = consumption(documents, today)
    names = {p.key: p.name for p in store.points_of(db, contract.key)}
    return Settlements(
        contract=contract, balance=store.balance(db, contract.key), overdue=overdue_amount(items, today),
        plan=tuple(rows), next_due=next_due(contract, rows, documents), payments=tuple(payments),
        payments_total=total, unidentified=tuple(unidentified), supplier=supplier,
        points=tuple((key, names.get(key, key)) for key in used), consumption=months,
        as_of=store.data_as_of(db), billing_down=store.last_error(db) is not None)
