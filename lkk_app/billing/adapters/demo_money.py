"""The demo billing's money: it closes a month of a contract from the accepted
readings and issues its documents, keeps the payments, and works out the
balance and the payment plan — honestly, so that readings, document lines,
document totals, payments and the balance agree.

- **Closing a month** (:func:`close_period`): the consumption of each point and
  zone is the sum of billing's accepted readings as of the 1st of the next month
  (Δ × K + losses, as the readings carry it), plus, for a meter taken off during
  the month, its last part up to its final values.  A price per price category,
  voltage and zone (:data:`TARIFFS`) gives each line; VAT is 20 % for months up to
  2025 and 22 % from 2026 (:func:`vat_rate`).  Issued on the last day of the month:
  «Счёт-фактура» and «Акт приёма-передачи электроэнергии» (each naming the other)
  and «Счёт на оплату» due by the 18th of the next month (the 15th for the
  «до 15-го» regime).
- **The payment plan** (ПП 442 п. 82): for each month, «Счёт на плановый платёж»
  for 30 % by the 10th and 40 % by the 25th of the month, sized on the last closed
  month; the rest by the 18th of the next.  Payments fill a month's items in order.
- **Balance**: the issued счета-фактуры (a reversed one by its replacement) less
  the payments to the contract; пени on what was paid (or is still unpaid) after
  its due date, 1/300 of the key rate a day.

None of the functions commits: the caller owns the transaction.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app.billing import money
from lkk_app.billing.adapters.demo_tables import (
    DemoContract,
    DemoDocument,
    DemoInstallation,
    DemoPayment,
    DemoPoint,
    DemoReading,
    DemoReconciliation,
    DemoRegister,
    DemoTransformer,
)
from lkk_app.billing.money import cents
from lkk_app.billing.readings.rules import month_start
from lkk_app.billing.types import (
    Balance,
    ChangeKind,
    DocumentKind,
    DocumentStatus,
    PaymentRegime,
    PlanItem,
    PlanItemKind,
)
from lkk_app.i18n import label

KEY_RATE = Decimal("0.16")  # the key rate the demo's пени use
PENALTY_DAYS = 300  # 1/300 of the key rate a day
FIRST_SHARE, SECOND_SHARE = Decimal("0.30"), Decimal("0.40")

# ₽ per кВт·ч without VAT: (price category, voltage) → zone → price.
TARIFFS: dict[tuple[int, str], dict[str, Decimal]] = {
    (1, "nn"): {"total": Decimal("8.4520")},
    (1, "sn2"): {"total": Decimal("7.6310")},
    (2, "nn"): {"day": Decimal("9.7830"), "night": Decimal("5.1240"), "total": Decimal("8.4520")},
    (3, "sn2"): {"total": Decimal("7.1260")},
    (4, "sn2"): {"total": Decimal("6.9150")},
}
# Prefixes of the documents' numbers.
PREFIX = {DocumentKind.VAT_INVOICE: "СФ", DocumentKind.TRANSFER_ACT: "АП", DocumentKind.INVOICE: "СЧ",
          DocumentKind.PLAN_INVOICE: "ПЛ", DocumentKind.RECONCILIATION_ACT: "АС"}


def vat_rate(period: date) -> Decimal:
    """VAT in percent: 20 until 31.12.2025, 22 from 01.01.2026."""
    return Decimal(20) if period < date(2026, 1, 1) else Decimal(22)


def price(category: int, voltage: str, zone: str) -> Decimal:
    prices = TARIFFS.get((category, voltage)) or TARIFFS[(1, "nn")]
    return prices.get(zone) or prices.get("total") or next(iter(prices.values()))


def month_end(period: date) -> date:
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


def _digits(contract: DemoContract) -> str:
    return "".join(ch for ch in contract.number if ch.isdigit()) or contract.key[-4:]


def number(kind: DocumentKind, contract: DemoContract, period: date, suffix: str = "") -> str:
    """«СФ 2610-1001»: the kind, the month, the contract."""
    return f"{PREFIX.get(kind, 'Д')}{suffix} {period:%y%m}-{_digits(contract)}"


def _key(kind: DocumentKind, contract: DemoContract, period: date, suffix: str = "") -> str:
    return f"doc-{kind.value[:4]}{suffix}-{_digits(contract)}-{period:%Y%m}"[:40]


# --------------------------------------------------------------------------- consumption


@dataclasses.dataclass(frozen=True)
class Line:
    point_key: str
    zone: str
    energy: Decimal
    price: Decimal

    @property
    def amount(self) -> Decimal:
        return cents(self.energy * self.price)

    def wire(self) -> dict[str, str]:
        return {"point_key": self.point_key, "zone": self.zone, "energy_kwh": format(self.energy, "f"),
                "price": format(self.price, "f"), "amount": format(self.amount, "f")}


@dataclasses.dataclass
class Metering:
    """What billing knows of a contract's metering, read once: its points, the meters
    that stood there, their registers, coefficients and readings."""

    points: dict[str, DemoPoint]
    installations: list[DemoInstallation]
    zones: dict[str, str]  # register → zone
    meter_of: dict[str, str]  # register → meter
    coefficient: dict[str, Decimal]  # meter → K
    readings: dict[tuple[str, date], DemoReading]  # (register, as of) → reading

    @classmethod
    def load(cls, db: Session, contract_key: str) -> Metering:
        points = {p.key: p for p in db.exec(select(DemoPoint).where(DemoPoint.contract_key == contract_key))}
        installations = list(db.exec(select(DemoInstallation).where(
            col(DemoInstallation.point_key).in_(list(points)))))
        meters = {i.meter_key for i in installations}
        registers = list(db.exec(select(DemoRegister).where(col(DemoRegister.meter_key).in_(list(meters)))))
        coefficient = dict.fromkeys(meters, Decimal(1))
        seen: set[tuple[str, str]] = set()
        for t in db.exec(select(DemoTransformer).where(col(DemoTransformer.meter_key).in_(list(meters)))
                         .order_by(col(DemoTransformer.key))):
            if (t.meter_key, t.kind) not in seen:  # the first of each kind gives the ratio
                seen.add((t.meter_key, t.kind))
                coefficient[t.meter_key] *= Decimal(t.primary) / Decimal(t.secondary)
        readings = {(r.register_key, r.as_of): r for r in db.exec(select(DemoReading).where(
            col(DemoReading.point_key).in_(list(points))))}
        return cls(points, installations, {r.key: r.zone for r in registers},
                   {r.key: r.meter_key for r in registers}, coefficient, readings)

    def complete(self, end: date) -> bool:
        """Every register of the meters standing on ``end`` has its reading as of
        then, and one as of the month's start too (or its meter came during the
        month): the readings span exactly the month."""
        start = month_start(end, -1)
        installed = {i.meter_key: i.installed_on for i in self.installations
                     if i.installed_on <= end and (i.removed_on is None or i.removed_on > end)}
        registers = [key for key, meter in self.meter_of.items() if meter in installed]
        return bool(registers) and all(
            (key, end) in self.readings and ((key, start) in self.readings or installed[self.meter_of[key]] >= start)
            for key in registers)

    def last_reading(self, register: str, on: date) -> DemoReading | None:
        found = [r for (key, as_of), r in self.readings.items() if key == register and as_of <= on]
        return max(found, key=lambda r: r.as_of, default=None)


def consumption(metering: Metering, period: date) -> dict[tuple[str, str], Decimal]:
    """кВт·ч of the month by (point, zone); empty until every reading of it is there."""
    end = month_start(period, 1)
    if not metering.complete(end):
        return {}
    total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (register, as_of), reading in metering.readings.items():
        if as_of == end:
            total[(reading.point_key, metering.zones[register])] += reading.consumption_kwh or Decimal(0)
    # A meter taken off during the month: from its last reading to its final values.
    for inst in metering.installations:
        if inst.removed_on is None or not period < inst.removed_on <= end:
            continue
        point = metering.points[inst.point_key]
        for register, final in inst.final.items():
            last = metering.last_reading(register, inst.removed_on)
            if last is None:
                continue
            energy = cents((Decimal(final) - last.value) * metering.coefficient[inst.meter_key])
            total[(inst.point_key, metering.zones[register])] += energy + cents(energy * point.losses_percent / 100)
    return dict(total)


def _lines(metering: Metering, contract: DemoContract, period: date, *, night_markup: Decimal = Decimal(1)
           ) -> list[Line]:
    def tariff(point: str, zone: str) -> Decimal:
        base = price(contract.price_category, metering.points[point].voltage, zone)
        return cents(base * (night_markup if zone == "night" else Decimal(1))).quantize(Decimal("0.0001"))

    return [Line(point, zone, energy, tariff(point, zone))
            for (point, zone), energy in sorted(consumption(metering, period).items())]


# --------------------------------------------------------------------------- a contract's ledger


@dataclasses.dataclass
class Ledger:
    """A contract's documents and payments, read once and kept up to date by the
    functions below (so that a run of them — the demo's history — needs no query
    for what it has just written)."""

    contract: DemoContract
    documents: dict[str, DemoDocument]
    payments: list[DemoPayment]
    metering: Metering | None = None  # read when a month is closed

    @classmethod
    def load(cls, db: Session, contract: DemoContract) -> Ledger:
        documents = {d.key: d for d in db.exec(select(DemoDocument).where(
            DemoDocument.contract_key == contract.key))}
        payments = list(db.exec(select(DemoPayment).where(DemoPayment.contract_key == contract.key)))
        return cls(contract, documents, payments)

    def lines(self, db: Session, period: date, *, night_markup: Decimal = Decimal(1)) -> list[Line]:
        if self.metering is None:
            self.metering = Metering.load(db, self.contract.key)
        return _lines(self.metering, self.contract, period, night_markup=night_markup)

    def add(self, db: Session, doc: DemoDocument, *, log) -> None:
        self.documents[doc.key] = doc
        db.add(doc)
        log(ChangeKind.DOCUMENTS, doc.key)

    def charges(self, *, before: date | None = None) -> list[DemoDocument]:
        """The issued счета-фактуры (what the contract owes for), by month."""
        return sorted((d for d in self.documents.values()
                       if d.kind == DocumentKind.VAT_INVOICE.value and d.status == DocumentStatus.ISSUED.value
                       and (before is None or d.period_from < before)), key=lambda d: d.period_from)

    def last_total(self, before: date) -> Decimal | None:
        done = self.charges(before=before)
        return done[-1].amount if done else None

    def paid_by_period(self, until: date | None = None) -> dict[date, list[tuple[date, Decimal]]]:
        paid: dict[date, list[tuple[date, Decimal]]] = defaultdict(list)
        for payment in self.payments:
            if until is None or payment.paid_on <= until:
                for share in payment.allocations:
                    paid[date.fromisoformat(share["period"])].append((payment.paid_on, Decimal(share["amount"])))
        return paid


# --------------------------------------------------------------------------- documents


def _document(kind: DocumentKind, contract: DemoContract, period: date, *, issued_on: date, lines: list[Line],
              due_on: date | None = None, amount: Decimal | None = None, suffix: str = "",
              status: DocumentStatus = DocumentStatus.ISSUED, related: Iterable[str] = (),
              replaces: str | None = None) -> DemoDocument:
    rate = vat_rate(period)
    if amount is None:
        net = sum((line.amount for line in lines), Decimal(0))
        vat = cents(net * rate / 100)
        amount = net + vat
    else:  # a plan invoice: a share of the month, VAT included
        vat = money.vat_inside(amount, rate)
    energy = sum((line.energy for line in lines), Decimal(0)) if lines else None
    return DemoDocument(
        key=_key(kind, contract, period, suffix), contract_key=contract.key, kind=kind.value,
        number=number(kind, contract, period, suffix), issued_on=issued_on, period_from=period,
        period_to=month_end(period), amount=amount, vat=vat, vat_rate=rate, energy_kwh=energy, due_on=due_on,
        status=status.value, lines=[line.wire() for line in lines], related=list(related), replaces_key=replaces)


def final_due(contract: DemoContract, period: date) -> date:
    """The month's final payment: the 18th of the next month (the 15th for «до 15-го»)."""
    day = 15 if contract.payment_regime == PaymentRegime.NEXT_MONTH.value else 18
    return month_start(period, 1).replace(day=day)


def close_period(db: Session, ledger: Ledger, period: date, *, log) -> list[DemoDocument]:
    """Issue the month's счёт-фактура, акт and счёт (nothing when a reading is
    missing or the month is closed already); ``log(kind, key)`` records each change."""
    contract = ledger.contract
    period = month_start(period)
    if _key(DocumentKind.VAT_INVOICE, contract, period) in ledger.documents:
        return []
    lines = ledger.lines(db, period)
    if not lines:
        return []
    issued = month_end(period)
    invoice_key = _key(DocumentKind.VAT_INVOICE, contract, period)
    act_key = _key(DocumentKind.TRANSFER_ACT, contract, period)
    docs = [
        _document(DocumentKind.VAT_INVOICE, contract, period, issued_on=issued, lines=lines, related=[act_key]),
        _document(DocumentKind.TRANSFER_ACT, contract, period, issued_on=issued, lines=lines,
                  related=[invoice_key]),
        _document(DocumentKind.INVOICE, contract, period, issued_on=issued, lines=lines,
                  due_on=final_due(contract, period)),
    ]
    for doc in docs:
        ledger.add(db, doc, log=log)
    log(ChangeKind.BALANCES, contract.key)
    for n in (1, 2, 3):
        log(ChangeKind.PLAN_ITEMS, plan_key(contract, period, n))
    return docs


def reissue(db: Session, ledger: Ledger, period: date, *, log, wrong_night_markup: Decimal) -> None:
    """A счёт-фактура first issued with a wrong night price, reversed, and issued
    again right (the demo's correction; the first version stays, «сторнирован»)."""
    contract = ledger.contract
    right = ledger.documents.get(_key(DocumentKind.VAT_INVOICE, contract, period))
    if right is None:
        return
    wrong_lines = ledger.lines(db, period, night_markup=wrong_night_markup)
    wrong = _document(DocumentKind.VAT_INVOICE, contract, period, issued_on=right.issued_on, lines=wrong_lines,
                      suffix="0", status=DocumentStatus.REVERSED, related=list(right.related))
    wrong.number = right.number
    right.number = f"{right.number}/1"
    right.issued_on = right.issued_on + timedelta(days=20)
    right.replaces_key = wrong.key
    ledger.add(db, wrong, log=log)
    ledger.add(db, right, log=log)


def plan_key(contract: DemoContract, month: date, n: int) -> str:
    return f"plan-{contract.key}-{month:%Y%m}-{n}"


def plan_invoices(db: Session, ledger: Ledger, month: date, *, log) -> list[DemoDocument]:
    """«Счёт на плановый платёж» for 30 % and 40 % of the last closed month, VAT included
    (the interim regime only; nothing before a month is closed)."""
    contract = ledger.contract
    if contract.payment_regime != PaymentRegime.INTERIM.value:
        return []
    basis = ledger.last_total(month)
    if basis is None:
        return []
    docs = []
    for n, share, day in ((1, FIRST_SHARE, 10), (2, SECOND_SHARE, 25)):
        if _key(DocumentKind.PLAN_INVOICE, contract, month, str(n)) in ledger.documents:
            continue
        doc = _document(DocumentKind.PLAN_INVOICE, contract, month, issued_on=month, lines=[],
                        amount=cents(basis * share), due_on=month.replace(day=day), suffix=str(n))
        ledger.add(db, doc, log=log)
        log(ChangeKind.PLAN_ITEMS, plan_key(contract, month, n))
        docs.append(doc)
    return docs


# --------------------------------------------------------------------------- payments, plan, balance


def pay(db: Session, ledger: Ledger | None, *, key: str, organisation_key: str, paid_on: date,
        order_number: str, amount: Decimal, purpose: str, period: date | None, log) -> DemoPayment:
    """A payment order: to a contract's ``period`` (``ledger`` given) or unidentified."""
    contract = ledger.contract if ledger is not None else None
    payment = DemoPayment(
        key=key, organisation_key=organisation_key, contract_key=contract.key if contract else None,
        paid_on=paid_on, order_number=order_number, amount=amount, purpose=purpose[:210],
        allocations=[{"period": period.isoformat(), "amount": format(amount, "f")}] if period and contract else [])
    db.add(payment)
    log(ChangeKind.PAYMENTS, key)
    if ledger is not None and contract is not None:
        ledger.payments.append(payment)
        log(ChangeKind.BALANCES, contract.key)
        if period is not None:
            for n in (1, 2, 3):
                log(ChangeKind.PLAN_ITEMS, plan_key(contract, period, n))
    return payment


def plan_items(ledger: Ledger, month: date) -> list[PlanItem]:
    """The month's items: 30 % by the 10th, 40 % by the 25th, the rest by the
    18th of the next month (or all by the 15th), with what was paid of each."""
    contract = ledger.contract
    month = month_start(month)
    invoice = ledger.documents.get(_key(DocumentKind.VAT_INVOICE, contract, month))
    total = invoice.amount if invoice is not None and invoice.status == DocumentStatus.ISSUED.value else None
    items: list[tuple[int, PlanItemKind, date, Decimal]] = []
    for n, kind in ((1, PlanItemKind.FIRST), (2, PlanItemKind.SECOND)):  # as its plan invoices say
        plan = ledger.documents.get(_key(DocumentKind.PLAN_INVOICE, contract, month, str(n)))
        if plan is not None and plan.due_on is not None:
            items.append((n, kind, plan.due_on, plan.amount))
    planned = sum((amount for *_, amount in items), Decimal(0))
    if total is not None:  # the rest, once the month is closed
        items.append((3, PlanItemKind.FINAL, final_due(contract, month), max(total - planned, Decimal(0))))
    paid = sum((amount for _, amount in ledger.paid_by_period().get(month, ())), Decimal(0))
    found = []
    for n, kind, due, amount in items:
        share = min(paid, amount)
        paid -= share
        found.append(PlanItem(key=plan_key(contract, month, n), contract_key=contract.key,
                              period=month, kind=kind, due_on=due, amount=amount, paid=share))
    return found


def _charged(ledger: Ledger, month: date, today: date) -> tuple[Decimal, list[PlanItem]]:
    """What a month charges as of ``today`` and the items it is paid by: its
    счёт-фактура once issued (all its items), else its plan invoices issued so far."""
    contract = ledger.contract
    invoice = ledger.documents.get(_key(DocumentKind.VAT_INVOICE, contract, month))
    items = plan_items(ledger, month)
    if invoice is not None and invoice.status == DocumentStatus.ISSUED.value and invoice.issued_on <= today:
        return invoice.amount, items
    issued = [ledger.documents.get(_key(DocumentKind.PLAN_INVOICE, contract, month, str(n))) for n in (1, 2)]
    plans = {d.due_on for d in issued if d is not None and d.issued_on <= today}
    items = [i for i in items if i.kind is not PlanItemKind.FINAL and i.due_on in plans]
    return sum((i.amount for i in items), Decimal(0)), items


def _late(items: list[PlanItem], payments: list[tuple[date, Decimal]], today: date) -> Decimal:
    """Пени of a month's items: each paid in due order by the month's payments as
    they came; a part paid (or still unpaid today) after its due date costs 1/300
    of the key rate a day."""
    penalty = Decimal(0)
    dates = [paid_on for paid_on, _ in sorted(payments)]
    amounts = [amount for _, amount in sorted(payments)]
    for item in sorted(items, key=lambda i: i.due_on):
        left = item.amount
        while left > 0 and amounts:
            covered = min(left, amounts[0])
            if dates[0] > item.due_on:
                penalty += covered * KEY_RATE / PENALTY_DAYS * (dates[0] - item.due_on).days
            left -= covered
            amounts[0] -= covered
            if amounts[0] <= 0:
                dates.pop(0)
                amounts.pop(0)
        if left > 0 and today > item.due_on:
            penalty += left * KEY_RATE / PENALTY_DAYS * (today - item.due_on).days
    return penalty


def sales_less_payments(ledger: Ledger, on: date) -> Decimal:
    """The accounts' balance an акт сверки closes with: the счета-фактуры issued by
    ``on`` less the payments received by then (plan invoices are bills for
    advances, not sales: an unpaid one is owed, see :func:`balance`, but not in
    the accounts)."""
    sold = sum((d.amount for d in ledger.charges() if d.issued_on <= on), Decimal(0))
    return sold - sum((p.amount for p in ledger.payments if p.paid_on <= on), Decimal(0))


def balance(ledger: Ledger, today: date) -> Balance:
    """What the contract owes (+) or has paid ahead (−) today — each month's
    счёт-фактура, or before it the month's plan invoices — and its пени."""
    contract = ledger.contract
    months = sorted({d.period_from for d in ledger.documents.values()
                     if d.kind in (DocumentKind.VAT_INVOICE.value, DocumentKind.PLAN_INVOICE.value)})
    payments = sorted((p for p in ledger.payments if p.paid_on <= today), key=lambda p: (p.paid_on, p.key))
    by_period = ledger.paid_by_period(today)
    owed, penalty = Decimal(0), Decimal(0)
    for month in months:
        charged, items = _charged(ledger, month, today)
        owed += charged
        penalty += _late(items, by_period.get(month, []), today)
    paid = sum((p.amount for p in payments), Decimal(0))
    last = payments[-1] if payments else None
    return Balance(key=contract.key, contract_key=contract.key, as_of=today, debt=owed - paid,
                   penalty=cents(penalty), last_payment_on=last.paid_on if last else None,
                   last_payment_amount=last.amount if last else None)


# --------------------------------------------------------------------------- the demo's history


def seed_history(db: Session, today: date, *, log) -> None:
    """Documents and payments of the demo contracts, month by month, up to today:
    every month with all its readings closed; the plan paid on the 8th and the
    23rd, the rest on the 16th of the next month — but for the demo's stories:
    Д-1001's final payment six months ago 10 days late (пени), Д-2001's four
    months ago paid in half, Д-1002's last two months unpaid (a debt), a
    счёт-фактура of Д-1001 four months ago reissued with the right night price,
    and an unidentified payment of «Ромашка» 20 days ago.  Written without a
    flush (the readings it reads are there already)."""
    orders: dict[str, int] = defaultdict(lambda: 400)
    contracts = list(db.exec(select(DemoContract).order_by(col(DemoContract.key))))
    this_month = month_start(today)
    with db.no_autoflush:
        for contract in contracts:
            ledger = Ledger(contract, {}, [])
            first = None
            for back in range(36, 0, -1):
                period = month_start(today, -back)
                if close_period(db, ledger, period, log=log) and first is None:
                    first = period
            if first is None:
                continue
            if contract.key == "ctr-1001":
                reissue(db, ledger, month_start(today, -4), log=log, wrong_night_markup=Decimal("1.10"))
            month = month_start(first, 1)
            while month <= this_month:
                plan_invoices(db, ledger, month, log=log)
                _pay_month(db, ledger, month, today, orders, log=log)
                month = month_start(month, 1)
        if any(c.key == "ctr-1001" for c in contracts):
            orders["org-romashka"] += 1
            pay(db, None, key="pay-unidentified-1", organisation_key="org-romashka",
                paid_on=today - timedelta(days=20), order_number=str(orders["org-romashka"]),
                amount=Decimal("15000.00"), purpose="Оплата по счёту б/н, НДС не облагается", period=None, log=log)


def _pay_month(db: Session, ledger: Ledger, month: date, today: date, orders: dict[str, int], *, log) -> None:
    """The payments of ``month``'s plan and of the previous month's final bill."""
    contract = ledger.contract
    previous = month_start(month, -1)
    stories = {("ctr-1002", month_start(today, -1)), ("ctr-1002", month_start(today, 0))}
    late = contract.key == "ctr-1001" and month == month_start(today, -6)
    half = contract.key == "ctr-2001" and month == month_start(today, -4)
    due: list[tuple[date, Decimal, str, date]] = []
    for item in plan_items(ledger, month):
        if item.kind is not PlanItemKind.FINAL:
            day = 8 if item.kind is PlanItemKind.FIRST else 23
            due.append((month.replace(day=day), item.amount, label(item.kind), month))
    for item in plan_items(ledger, previous):
        if item.kind is PlanItemKind.FINAL and item.amount > item.paid:
            paid_on = month.replace(day=28 if late else 12 if contract.payment_regime != "interim" else 16)
            amount = cents((item.amount - item.paid) / 2) if half else item.amount - item.paid
            due.append((paid_on, amount, label(PlanItemKind.FINAL), previous))
    for paid_on, amount, what, period in due:
        if paid_on > today or amount <= 0 or (contract.key, month) in stories:
            continue
        orders[contract.organisation_key] += 1
        pay(db, ledger, key=f"pay-{contract.key[4:]}-{period:%Y%m}-{paid_on:%d}",
            organisation_key=contract.organisation_key, paid_on=paid_on,
            order_number=str(orders[contract.organisation_key]), amount=amount,
            purpose=money.purpose(contract.number, period, what, amount, vat_rate(period)), period=period, log=log)


# --------------------------------------------------------------------------- «Акт сверки взаиморасчётов»

RECONCILIATION_DELAY = timedelta(seconds=5)  # the demo prepares an act in seconds


def request_reconciliation(db: Session, contract: DemoContract, period_from: date, period_to: date,
                           idempotency_key: str, now: datetime, *, log) -> DemoReconciliation:
    """Accept a request for an act over ``period_from``…``period_to``: its document
    appears at once, «готовится», and is issued a few seconds later
    (:func:`mature_reconciliations`).  The same key gives the same request."""
    found = db.exec(select(DemoReconciliation).where(
        DemoReconciliation.idempotency_key == idempotency_key)).first()
    if found is not None:
        return found
    n = int(db.exec(select(sa.func.count()).select_from(DemoReconciliation)).one()) + 1
    key = f"doc-reco-{_digits(contract)}-{n:05d}"
    closing = sales_less_payments(Ledger.load(db, contract), period_to)
    doc = DemoDocument(
        key=key, contract_key=contract.key, kind=DocumentKind.RECONCILIATION_ACT.value,
        number=f"{PREFIX[DocumentKind.RECONCILIATION_ACT]} {n:05d}-{_digits(contract)}", issued_on=now.date(),
        period_from=period_from, period_to=period_to, amount=closing, vat=Decimal(0), vat_rate=Decimal(0),
        energy_kwh=None, due_on=None, status=DocumentStatus.PREPARING.value)
    request = DemoReconciliation(idempotency_key=idempotency_key, contract_key=contract.key,
                                 period_from=period_from, period_to=period_to, document_key=key,
                                 received_at=now.replace(microsecond=0), ready_at=now + RECONCILIATION_DELAY)
    db.add_all([doc, request])
    log(ChangeKind.DOCUMENTS, key)
    db.flush()
    return request


def mature_reconciliations(db: Session, now: datetime, *, log) -> None:
    """Issue the acts whose time has come."""
    for request in db.exec(select(DemoReconciliation).where(col(DemoReconciliation.ready_at) <= now)):
        doc = db.get(DemoDocument, request.document_key)
        if doc is not None and doc.status == DocumentStatus.PREPARING.value:
            doc.status = DocumentStatus.ISSUED.value
            db.add(doc)
            log(ChangeKind.DOCUMENTS, doc.key)
    db.flush()
