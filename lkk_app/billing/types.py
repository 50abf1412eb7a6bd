"""Frozen records of the billing system: what the cabinet reads and sends.

Money and energy are ``Decimal``, calendar days are ``date``, moments are naive
UTC ``datetime`` (as everywhere in the cabinet).  Every record carries the
billing's own ``key`` (ascii, stable).  Enum values are ascii codes (stored,
sent over the wire); ``.label_key`` names their Russian text in the catalogue
(``lkk_app.i18n.label``).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from datetime import date, datetime
from decimal import Decimal

# --------------------------------------------------------------------------- enums


class Labelled(enum.StrEnum):
    """A code (the value) whose words are the catalogue's ``<area>.<value>``, the area
    being the class's name in snake case (``ContractKind.SALE`` → ``contract_kind.sale``)."""

    @classmethod
    def area(cls) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    @property
    def label_key(self) -> str:
        return f"{self.area()}.{self.value}"


class ContractKind(Labelled):
    SUPPLY, SALE = "supply", "sale"


class ContractStatus(Labelled):
    ACTIVE, SUSPENDED, TERMINATED = "active", "suspended", "terminated"


class VoltageLevel(Labelled):
    VN, SN1, SN2, NN = "vn", "sn1", "sn2", "nn"


class PaymentRegime(Labelled):
    # INTERIM: ПП 442 п. 82, 30 % by the 10th, 40 % by the 25th, the rest by the 18th
    # of the next month; NEXT_MONTH: п. 81, some consumer groups pay by the 15th of the next month.
    INTERIM, NEXT_MONTH = "interim", "next_month"


class PointKind(Labelled):
    BILLING, CONTROL = "billing", "control"


class MeterConnection(Labelled):
    DIRECT, CT, CT_VT = "direct", "ct", "ct_vt"


class TransformerKind(Labelled):
    CURRENT, VOLTAGE = "current", "voltage"


class Zone(Labelled):
    TOTAL, DAY, NIGHT, PEAK, HALF_PEAK = "total", "day", "night", "peak", "half_peak"


class Direction(Labelled):
    IMPORT_ACTIVE, EXPORT_ACTIVE, IMPORT_REACTIVE, EXPORT_REACTIVE = "a_plus", "a_minus", "r_plus", "r_minus"


class ReadingSource(Labelled):
    CUSTOMER_FORM, CUSTOMER_FILE, REMOTE = "customer_form", "customer_file", "remote"
    NETWORK, INSPECTOR, ESTIMATE = "network", "inspector", "estimate"


class ReadingStatus(Labelled):
    SUBMITTED, ACCEPTED, REJECTED, REPLACED = "submitted", "accepted", "rejected", "replaced"


class DocumentKind(Labelled):
    INVOICE, PLAN_INVOICE = "invoice", "plan_invoice"
    VAT_INVOICE, VAT_CORRECTION = "vat_invoice", "vat_correction"
    TRANSFER_ACT, CONSUMPTION_SHEET = "transfer_act", "consumption_sheet"
    RECONCILIATION_ACT, READING_ACT = "reconciliation_act", "reading_act"


class DocumentStatus(Labelled):
    PREPARING, ISSUED, REVERSED = "preparing", "issued", "reversed"


class PlanItemKind(Labelled):
    FIRST, SECOND, FINAL = "first", "second", "final"


class ChangeKind(Labelled):
    """What :meth:`BillingGateway.changes` can be asked about."""
    ORGANISATIONS, CONTRACTS = "organisations", "contracts"
    POINTS, METERS, INSTALLATIONS = "points", "meters", "installations"
    READINGS = "readings"
    DOCUMENTS, PAYMENTS = "documents", "payments"
    BALANCES, PLAN_ITEMS = "balances", "plan_items"


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
    """Days of month when readings are accepted (1..31); ``first > last`` wraps
    into the next month (:mod:`lkk_app.billing.readings.rules`)."""

    first_day: int
    last_day: int

    def __post_init__(self) -> None:
        if not (1 <= self.first_day <= 31 and 1 <= self.last_day <= 31):
            raise ValueError("window days are 1..31")

    @property
    def wraps(self) -> bool:
        return self.first_day > self.last_day


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
    """A reading billing holds (given in the cabinet, read remotely, by an inspector …)."""

    key: str
    register_key: str
    meter_key: str
    point_key: str
    as_of: date
    value: Decimal
    source: ReadingSource
    status: ReadingStatus
    consumption_kwh: Decimal | None = None  # billing's accepted figure
    reason: str | None = None  # code of a rejection
    confirmed_warnings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ReadingEntry:
    """One register's value sent from the cabinet, with the warnings the customer confirmed."""

    register_key: str
    value: Decimal
    confirmed_warnings: tuple[str, ...] = ()  # codes: reading.rollover, reading.reverse, …
    comment: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ReadingsSubmission:
    """Readings of one contract as of one day, as the cabinet delivers them."""

    contract_key: str
    as_of: date
    source: ReadingSource
    entries: tuple[ReadingEntry, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class EntryResult:
    """What billing did with one entry: accepted (with its consumption) or rejected (with a code)."""

    register_key: str
    status: ReadingStatus
    reason: str | None = None
    consumption_kwh: Decimal | None = None
    reading_key: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ReadingsAck:
    """Billing's answer to a submission; the same idempotency key always gets the same one."""

    idempotency_key: str
    reference: str
    received_at: datetime
    results: tuple[EntryResult, ...]


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
    key: str  # the contract's key: one balance per contract
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
    key: str
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
    ChangeKind.READINGS: Reading,
    ChangeKind.DOCUMENTS: Document,
    ChangeKind.PAYMENTS: Payment,
    ChangeKind.BALANCES: Balance,
    ChangeKind.PLAN_ITEMS: PlanItem,
}
