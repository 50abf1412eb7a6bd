"""Frozen records of the billing system: what the cabinet reads and sends.

Money and energy are ``Decimal``, calendar days are ``date``, moments are naive
UTC ``datetime`` (as everywhere in the cabinet).  Every record carries the
billing's own ``key`` (ascii, stable).  Enum values are ascii codes (stored,
sent over the wire); ``.label`` is the Russian text shown to people.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

# --------------------------------------------------------------------------- enums


class Labelled(enum.StrEnum):
    """A code (the value) with its Russian label (``__labels__`` of the class)."""

    __labels__: ClassVar[dict[str, str]] = {}

    @property
    def label(self) -> str:
        return type(self).__labels__[str(self)]


class ContractKind(Labelled):
    SUPPLY = "supply"
    SALE = "sale"
    __labels__: ClassVar[dict[str, str]] = {
        "supply": "энергоснабжения",
        "sale": "купли-продажи",
    }


class ContractStatus(Labelled):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    __labels__: ClassVar[dict[str, str]] = {
        "active": "действует",
        "suspended": "приостановлен",
        "terminated": "расторгнут",
    }


class VoltageLevel(Labelled):
    VN = "vn"
    SN1 = "sn1"
    SN2 = "sn2"
    NN = "nn"
    __labels__: ClassVar[dict[str, str]] = {
        "vn": "ВН",
        "sn1": "СН-I",
        "sn2": "СН-II",
        "nn": "НН",
    }


class PaymentRegime(Labelled):
    # ПП 442 п. 82: 30 % by the 10th, 40 % by the 25th, the rest by the 18th of the next month.
    INTERIM = "interim"
    # ПП 442 п. 81: some consumer groups pay by the 15th of the next month.
    NEXT_MONTH = "next_month"
    __labels__: ClassVar[dict[str, str]] = {
        "interim": "промежуточные платежи: 30 % до 10-го, 40 % до 25-го, остаток до 18-го числа следующего месяца",
        "next_month": "оплата до 15-го числа следующего месяца",
    }


class PointKind(Labelled):
    BILLING = "billing"
    CONTROL = "control"
    __labels__: ClassVar[dict[str, str]] = {
        "billing": "расчётная",
        "control": "контрольная",
    }


class MeterConnection(Labelled):
    DIRECT = "direct"
    CT = "ct"
    CT_VT = "ct_vt"
    __labels__: ClassVar[dict[str, str]] = {
        "direct": "прямое включение",
        "ct": "через трансформаторы тока",
        "ct_vt": "через трансформаторы тока и напряжения",
    }


class TransformerKind(Labelled):
    CURRENT = "current"
    VOLTAGE = "voltage"
    __labels__: ClassVar[dict[str, str]] = {
        "current": "ТТ",
        "voltage": "ТН",
    }


class Zone(Labelled):
    TOTAL = "total"
    DAY = "day"
    NIGHT = "night"
    PEAK = "peak"
    HALF_PEAK = "half_peak"
    __labels__: ClassVar[dict[str, str]] = {
        "total": "сутки",
        "day": "день",
        "night": "ночь",
        "peak": "пик",
        "half_peak": "полупик",
    }


class Direction(Labelled):
    IMPORT_ACTIVE = "a_plus"
    EXPORT_ACTIVE = "a_minus"
    IMPORT_REACTIVE = "r_plus"
    EXPORT_REACTIVE = "r_minus"
    __labels__: ClassVar[dict[str, str]] = {
        "a_plus": "A+",
        "a_minus": "A−",
        "r_plus": "R+",
        "r_minus": "R−",
    }


class ReadingSource(Labelled):
    CUSTOMER_FORM = "customer_form"
    CUSTOMER_FILE = "customer_file"
    REMOTE = "remote"
    NETWORK = "network"
    INSPECTOR = "inspector"
    ESTIMATE = "estimate"
    __labels__: ClassVar[dict[str, str]] = {
        "customer_form": "личный кабинет",
        "customer_file": "личный кабинет, файл",
        "remote": "система учёта",
        "network": "сетевая организация",
        "inspector": "контролёр",
        "estimate": "расчётный способ",
    }


class ReadingStatus(Labelled):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REPLACED = "replaced"
    __labels__: ClassVar[dict[str, str]] = {
        "submitted": "передано",
        "accepted": "принято",
        "rejected": "отклонено",
        "replaced": "заменено",
    }


class DocumentKind(Labelled):
    INVOICE = "invoice"
    PLAN_INVOICE = "plan_invoice"
    VAT_INVOICE = "vat_invoice"
    VAT_CORRECTION = "vat_correction"
    TRANSFER_ACT = "transfer_act"
    CONSUMPTION_SHEET = "consumption_sheet"
    RECONCILIATION_ACT = "reconciliation_act"
    READING_ACT = "reading_act"
    __labels__: ClassVar[dict[str, str]] = {
        "invoice": "Счёт на оплату",
        "plan_invoice": "Счёт на плановый платёж",
        "vat_invoice": "Счёт-фактура",
        "vat_correction": "Корректировочный счёт-фактура",
        "transfer_act": "Акт приёма-передачи электроэнергии",
        "consumption_sheet": "Ведомость электропотребления",
        "reconciliation_act": "Акт сверки взаиморасчётов",
        "reading_act": "Акт снятия показаний",
    }


class DocumentStatus(Labelled):
    PREPARING = "preparing"
    ISSUED = "issued"
    REVERSED = "reversed"
    __labels__: ClassVar[dict[str, str]] = {
        "preparing": "готовится",
        "issued": "выставлен",
        "reversed": "сторнирован",
    }


class PlanItemKind(Labelled):
    FIRST = "first"
    SECOND = "second"
    FINAL = "final"
    __labels__: ClassVar[dict[str, str]] = {
        "first": "30 % до 10-го числа",
        "second": "40 % до 25-го числа",
        "final": "окончательный расчёт до 18-го числа следующего месяца",
    }


class ChangeKind(Labelled):
    """What :meth:`BillingGateway.changes` can be asked about."""

    ORGANISATIONS = "organisations"
    CONTRACTS = "contracts"
    POINTS = "points"
    METERS = "meters"
    INSTALLATIONS = "installations"
    __labels__: ClassVar[dict[str, str]] = {
        "organisations": "организации",
        "contracts": "договоры",
        "points": "точки учёта",
        "meters": "приборы учёта",
        "installations": "установки приборов учёта",
    }


# --------------------------------------------------------------------------- parties and contracts


@dataclasses.dataclass(frozen=True, slots=True)
class Organisation:
    key: str
    inn: str  # 10 digits for a company, 12 for an ИП
    kpp: str | None  # 9 characters; None for an ИП
    ogrn: str  # 13 digits (ОГРН) or 15 (ОГРНИП)
    name: str
    short_name: str
    legal_address: str
    postal_address: str
    emails: tuple[str, ...]  # e-mails of record, the first one is the main one
    phone: str

    @property
    def is_entrepreneur(self) -> bool:
        return len(self.inn) == 12


@dataclasses.dataclass(frozen=True, slots=True)
class Curator:
    name: str
    phone: str
    email: str


@dataclasses.dataclass(frozen=True, slots=True)
class ReadingWindow:
    """Days of month when readings are accepted; ``first > last`` wraps into the next month."""

    first_day: int
    last_day: int


@dataclasses.dataclass(frozen=True, slots=True)
class Contract:
    key: str
    organisation_key: str
    number: str  # as printed on documents
    signed_on: date
    kind: ContractKind
    status: ContractStatus
    valid_from: date
    valid_to: date | None
    price_category: int  # 1..6
    voltage: VoltageLevel
    max_power_kw: Decimal
    payment_regime: PaymentRegime
    curator: Curator
    department: str  # the servicing department
    points: int  # number of metering points
    reading_window: ReadingWindow | None = None  # None: the supplier's window


@dataclasses.dataclass(frozen=True, slots=True)
class ContractMatch:
    """A lookup hit: the contract, its organisation and the e-mail of record for codes."""

    organisation: Organisation
    contract: Contract
    email: str | None


# --------------------------------------------------------------------------- metering


@dataclasses.dataclass(frozen=True, slots=True)
class MeteringPoint:
    key: str
    contract_key: str
    name: str
    address: str
    code: str | None  # 15 digits for hourly data
    kind: PointKind
    voltage: VoltageLevel
    max_power_kw: Decimal
    losses_percent: Decimal
    losses_kwh_month: Decimal
    remote: bool  # read by an automated metering system: no manual entry
    hourly: bool
    head_point_key: str | None
    active_from: date
    active_to: date | None


@dataclasses.dataclass(frozen=True, slots=True)
class Register:
    key: str
    zone: Zone
    direction: Direction
    tariff: int  # 1 for «сутки»; T1, T2, T3 in a zoned meter


@dataclasses.dataclass(frozen=True, slots=True)
class Transformer:
    serial: str
    kind: TransformerKind
    primary: int  # ratio written unsimplified: 200/5
    secondary: int
    accuracy_class: str
    verified_on: date
    next_verification: date

    @property
    def ratio(self) -> Decimal:
        return Decimal(self.primary) / Decimal(self.secondary)

    @property
    def ratio_text(self) -> str:
        return f"{self.primary}/{self.secondary}"


@dataclasses.dataclass(frozen=True, slots=True)
class Meter:
    key: str
    serial: str
    model: str
    accuracy_class: str
    digits: int  # capacity N.M: N integer digits …
    decimals: int  # … and M fraction digits
    verified_on: date
    interval_years: int  # МПИ
    next_verification: date
    connection: MeterConnection
    registers: tuple[Register, ...]
    transformers: tuple[Transformer, ...] = ()

    @property
    def coefficient(self) -> Decimal:
        """K = K_ТТ × K_ТН (1 without transformers)."""
        k = Decimal(1)
        for kind in TransformerKind:
            first = next((t for t in self.transformers if t.kind is kind), None)
            if first is not None:
                k *= first.ratio
        return k


@dataclasses.dataclass(frozen=True, slots=True)
class RegisterValue:
    register_key: str
    value: Decimal


@dataclasses.dataclass(frozen=True, slots=True)
class Installation:
    """Which meter stood at which point, from when to when."""

    key: str
    point_key: str
    meter_key: str
    installed_on: date
    removed_on: date | None
    initial: tuple[RegisterValue, ...]
    final: tuple[RegisterValue, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    key: str
    register_key: str
    as_of: date
    value: Decimal
    source: ReadingSource
    status: ReadingStatus
    consumption_kwh: Decimal | None = None  # billing's accepted figure
    reason: str | None = None  # code of a rejection
    confirmed_warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- documents and money


@dataclasses.dataclass(frozen=True, slots=True)
class DocumentLine:
    point_key: str
    zone: Zone
    energy_kwh: Decimal
    price: Decimal  # per кВт·ч, without VAT
    amount: Decimal  # without VAT


@dataclasses.dataclass(frozen=True, slots=True)
class Document:
    key: str
    contract_key: str
    kind: DocumentKind
    number: str
    issued_on: date
    period_from: date
    period_to: date
    amount: Decimal  # with VAT
    vat: Decimal
    vat_rate: Decimal  # percent: 20, 22
    energy_kwh: Decimal | None
    due_on: date | None
    status: DocumentStatus
    lines: tuple[DocumentLine, ...] = ()
    related_keys: tuple[str, ...] = ()  # счёт-фактура ↔ акт
    replaces_key: str | None = None  # a reversal's new version points at the old one


@dataclasses.dataclass(frozen=True, slots=True)
class Balance:
    contract_key: str
    as_of: date
    debt: Decimal  # + debt, − overpayment
    penalty: Decimal  # пени
    last_payment_on: date | None
    last_payment_amount: Decimal | None


@dataclasses.dataclass(frozen=True, slots=True)
class Allocation:
    period: date  # the first day of the month paid for
    amount: Decimal


@dataclasses.dataclass(frozen=True, slots=True)
class Payment:
    key: str
    organisation_key: str
    contract_key: str | None  # None: an unidentified payment
    paid_on: date
    order_number: str
    amount: Decimal
    purpose: str
    allocations: tuple[Allocation, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class PlanItem:
    contract_key: str
    period: date  # the first day of the month
    kind: PlanItemKind
    due_on: date
    amount: Decimal
    paid: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(self.amount - self.paid, Decimal(0))


# --------------------------------------------------------------------------- gateway answers


@dataclasses.dataclass(frozen=True, slots=True)
class Changes:
    """One page of an incremental pull: the rows changed after the cursor."""

    rows: tuple[object, ...]
    cursor: str  # pass back to get what changed after these rows
    has_more: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Ack:
    """Billing's receipt for a notice; the same idempotency key always gets the same one."""

    idempotency_key: str
    reference: str
    received_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Health:
    supplier: str
    api_version: str
    time: datetime


# The record type of each kind of change.
CHANGE_RECORDS: dict[ChangeKind, type] = {
    ChangeKind.ORGANISATIONS: Organisation,
    ChangeKind.CONTRACTS: Contract,
    ChangeKind.POINTS: MeteringPoint,
    ChangeKind.METERS: Meter,
    ChangeKind.INSTALLATIONS: Installation,
}
