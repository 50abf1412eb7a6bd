"""Закладка «Расчёты»: the chosen contract's balance, payment plan, payments,
the organisation's unidentified payments, the bank details with the purpose
line of the next payment, and the consumption chart (with the same numbers as
a table).

Every handler works as the tab's user through ``lkk_app.billing.settlements``,
whose functions start with the ownership check."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import reflex as rx
from sqlmodel import Session

from lkk_app.auth.sessions import CurrentUser
from lkk_app.billing import settlements, sync
from lkk_app.billing.settlements import MonthUse, Settlements
from lkk_app.billing.types import Payment, Zone
from lkk_app.core.formatting import date_text, local_today, month_text, number
from lkk_app.i18n import label, t
from lkk_app.settings import get_settings
from lkk_app.state.cabinet import CabinetState, chosen, contract_choices

PAGE_SIZE = 20
ALL_POINTS = ""
# Zones in the chart's stacks (bottom first) and their colours.
ZONE_ORDER = (Zone.TOTAL, Zone.NIGHT, Zone.DAY, Zone.HALF_PEAK, Zone.PEAK)
ZONE_COLOURS = {Zone.TOTAL: "#2f6fb2", Zone.NIGHT: "#5b4b9e", Zone.DAY: "#e0a030", Zone.HALF_PEAK: "#3f9b6a",
                Zone.PEAK: "#c8453c"}


@dataclasses.dataclass
class PlanRowView:
    what: str = ""
    due: str = ""
    amount: str = ""
    paid: str = ""
    remaining: str = ""
    overdue: bool = False
    settled: bool = False


@dataclasses.dataclass
class PaymentRow:
    paid_on: str = ""
    number: str = ""
    amount: str = ""
    purpose: str = ""
    allocation: str = ""


@dataclasses.dataclass
class Series:
    key: str = ""
    name: str = ""
    colour: str = ""


@dataclasses.dataclass
class UseRow:
    month: str = ""
    zones: list[str] = dataclasses.field(default_factory=list)
    total: str = ""
    amount: str = ""


@dataclasses.dataclass
class PointOption:
    value: str = ""
    text: str = ""


def rub(value: Decimal) -> str:
    return t("documents.rub", value=number(value, 2))


def _payment(p: Payment) -> PaymentRow:
    shares = "; ".join(t("settlements.allocation", month=month_text(a.period), amount=number(a.amount, 2))
                       for a in p.allocations)
    return PaymentRow(paid_on=date_text(p.paid_on), number=p.order_number, amount=rub(p.amount), purpose=p.purpose,
                      allocation=shares or t("settlements.not_allocated"))


def _plan(row: settlements.PlanRow) -> PlanRowView:
    item = row.item
    return PlanRowView(what=t("settlements.plan_what", kind=label(item.kind), month=month_text(item.period)),
                       due=date_text(item.due_on), amount=rub(item.amount), paid=rub(item.paid),
                       remaining=rub(item.remaining), overdue=row.overdue, settled=item.remaining == 0)


ChartRow = dict[str, str | float | None]


def chart_rows(months: tuple[MonthUse, ...], point: str | None, zones: list[Zone]) -> list[ChartRow]:
    """One dict per month for the chart: the month, кВт·ч per zone, the cost (₽)."""
    rows: list[ChartRow] = []
    for m in months:
        by_zone = m.by_zone(point)
        row: ChartRow = {"month": f"{m.period:%m.%y}", "title": month_text(m.period)}
        for zone in zones:
            row[zone.value] = float(by_zone.get(zone, Decimal(0)))
        row["amount"] = float(m.amount) if m.amount is not None and point is None else None
        rows.append(row)
    return rows


def table_rows(months: tuple[MonthUse, ...], point: str | None, zones: list[Zone]) -> list[UseRow]:
    found = []
    for m in reversed(months):
        by_zone = m.by_zone(point)
        has = m.amount is not None
        found.append(UseRow(
            month=month_text(m.period),
            zones=[number(by_zone.get(z, Decimal(0))) if has else "—" for z in zones],
            total=number(sum(by_zone.values(), Decimal(0))) if has else "—",
            amount=number(m.amount, 2) if has and m.amount is not None and point is None else "—"))
    return found


def zones_of(months: tuple[MonthUse, ...]) -> list[Zone]:
    seen = {z for m in months for zones in m.energy.values() for z in zones}
    return [z for z in ZONE_ORDER if z in seen]


# --------------------------------------------------------------------------- work as the user


def _load(db: Session, me: CurrentUser, requested: str, current: str, offset: int):
    choices = contract_choices(db, me)
    key = chosen(choices, requested, current)
    if not key:
        return choices, None, False
    found = settlements.settlements(db, me.id, key, today=local_today(), supplier=get_settings().supplier,
                                    offset=offset, limit=PAGE_SIZE)
    return choices, found, sync.copy_is_stale(db, get_settings().billing_sync_minutes)


class SettlementsState(CabinetState):
    loaded: bool = False
    contract_number: str = ""
    # Balance
    balance_kind: str = ""  # debt | overpaid | even | none
    balance_amount: str = ""
    penalty: str = ""
    last_payment: str = ""
    overdue: str = ""
    # Plan, next payment, bank details
    plan: list[PlanRowView] = []
    next_amount: str = ""
    next_due: str = ""
    next_overdue: bool = False
    purpose: str = ""
    bank: dict[str, str] = {}
    # Payments
    payments: list[PaymentRow] = []
    payments_total: int = 0
    offset: int = 0
    unidentified: list[PaymentRow] = []
    # Consumption
    point: str = ALL_POINTS
    point_options: list[PointOption] = []
    series: list[Series] = []
    chart: list[dict[str, str | float | None]] = []
    use_rows: list[UseRow] = []
    zone_names: list[str] = []
    with_amounts: bool = True
    as_table: bool = False
    _found: Settlements | None = None

    def _clear(self) -> None:
        self.loaded = False
        self.plan, self.payments, self.unidentified, self.chart, self.use_rows = [], [], [], [], []
        self._found = None

    def _show(self, s: Settlements) -> None:
        self._found = s
        self.contract_number = s.contract.number
        b = s.balance
        if b is None:
            self.balance_kind, self.balance_amount, self.penalty, self.last_payment = "none", "", "", ""
        else:
            self.balance_kind = "debt" if b.debt > 0 else "overpaid" if b.debt < 0 else "even"
            self.balance_amount = rub(abs(b.debt))
            self.penalty = rub(b.penalty) if b.penalty else ""
            self.last_payment = (t("settlements.last_payment_value", amount=rub(b.last_payment_amount),
                                   date=date_text(b.last_payment_on))
                                 if b.last_payment_on and b.last_payment_amount is not None else "")
        self.overdue = rub(s.overdue) if s.overdue > 0 else ""
        self.plan = [_plan(r) for r in s.plan]
        if s.next_due is not None:
            self.next_amount, self.next_due = rub(s.next_due.amount), date_text(s.next_due.item.due_on)
            self.next_overdue, self.purpose = s.next_due.overdue, s.next_due.purpose
        else:
            self.next_amount = self.next_due = self.purpose = ""
            self.next_overdue = False
        r = s.supplier
        self.bank = {"recipient": r.full_name, "inn": r.inn, "kpp": r.kpp, "bank": r.bank, "bik": r.bik,
                     "account": r.account, "corr_account": r.corr_account}
        self.payments = [_payment(p) for p in s.payments]
        self.payments_total = s.payments_total
        self.unidentified = [_payment(p) for p in s.unidentified]
        self.point_options = [PointOption(ALL_POINTS, t("settlements.all_points"))] + [
            PointOption(key, name) for key, name in s.points]
        if self.point not in {o.value for o in self.point_options}:
            self.point = ALL_POINTS
        self._draw()

    def _draw(self) -> None:
        s = self._found
        if s is None:
            return
        point = self.point or None
        zones = zones_of(s.consumption)
        self.series = [Series(z.value, label(z), ZONE_COLOURS[z]) for z in zones]
        self.zone_names = [label(z) for z in zones]
        self.with_amounts = point is None
        self.chart = chart_rows(s.consumption, point, zones)
        self.use_rows = table_rows(s.consumption, point, zones)

    async def _reload(self, requested: str = "") -> None:
        choices, found, stale = await self._run_as_user(_load, requested, self.contract_key, self.offset)
        self._choose(choices, found.contract.key if found else "")
        if found is None:
            self._clear()
        else:
            self._show(found)
            self._fresh(found.as_of, found.billing_down, stale)
        self.loaded = True

    @rx.event
    async def on_load(self):
        self.notice, self.offset, self.point, self.as_table = "", 0, ALL_POINTS, False
        return await self._run(self._asked())

    @rx.event
    async def choose_contract(self, key: str):
        self.notice, self.offset, self.point = "", 0, ALL_POINTS
        return await self._run(str(key)[:40])

    @rx.event
    async def show_page(self, offset: int):
        self.offset = max(0, min(int(offset) if isinstance(offset, int) else 0, max(self.payments_total - 1, 0)))
        return await self._run()

    @rx.event
    def choose_point(self, key: str):
        key = str(key)[:40]
        self.point = key if key in {o.value for o in self.point_options} else ALL_POINTS
        self._draw()

    @rx.event
    def toggle_view(self):
        self.as_table = not self.as_table
