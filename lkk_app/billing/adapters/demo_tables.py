"""Tables of the embedded demo billing (``demo_billing_*``).

They belong to the demo billing system, not to the cabinet: only
:mod:`lkk_app.billing.adapters.demo` reads or writes them.  Decimals are kept
as exact text (SQLite has no exact numeric type).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lkk_app.models import DecimalText, NaiveUTC


def _fk(target: str, *, nullable: bool = False) -> Any:
    return Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=True
        )
    )


def _dec(*, nullable: bool = False) -> Any:
    return Field(sa_column=sa.Column(DecimalText(), nullable=nullable))


class DemoOrganisation(SQLModel, table=True):
    __tablename__ = "demo_billing_organisation"

    key: str = Field(primary_key=True, max_length=40)
    inn: str = Field(max_length=12, index=True)
    kpp: str | None = Field(default=None, max_length=9)
    ogrn: str = Field(max_length=15)
    name: str = Field(max_length=300)
    short_name: str = Field(max_length=200)
    legal_address: str = Field(max_length=300)
    postal_address: str = Field(max_length=300)
    emails: str = Field(max_length=1000)  # e-mails of record, separated by ","
    phone: str = Field(max_length=40)


class DemoContract(SQLModel, table=True):
    __tablename__ = "demo_billing_contract"
    __table_args__ = (sa.UniqueConstraint("organisation_key", "number_key"),)

    key: str = Field(primary_key=True, max_length=40)
    organisation_key: str = _fk("demo_billing_organisation.key")
    number: str = Field(max_length=40)
    number_key: str = Field(max_length=40)  # normalised for lookups
    signed_on: date
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    valid_from: date
    valid_to: date | None = None
    price_category: int
    voltage: str = Field(max_length=8)
    max_power_kw: Decimal = _dec()
    payment_regime: str = Field(max_length=16)
    curator_name: str = Field(max_length=200)
    curator_phone: str = Field(max_length=40)
    curator_email: str = Field(max_length=254)
    department: str = Field(max_length=200)
    window_first: int | None = None
    window_last: int | None = None


class DemoPoint(SQLModel, table=True):
    __tablename__ = "demo_billing_point"

    key: str = Field(primary_key=True, max_length=40)
    contract_key: str = _fk("demo_billing_contract.key")
    name: str = Field(max_length=200)
    address: str = Field(max_length=300)
    code: str | None = Field(default=None, max_length=15)
    kind: str = Field(max_length=16)
    voltage: str = Field(max_length=8)
    max_power_kw: Decimal = _dec()
    losses_percent: Decimal = _dec()
    losses_kwh_month: Decimal = _dec()
    remote: bool
    hourly: bool
    head_point_key: str | None = Field(default=None, max_length=40)
    active_from: date
    active_to: date | None = None


class DemoMeter(SQLModel, table=True):
    __tablename__ = "demo_billing_meter"

    key: str = Field(primary_key=True, max_length=40)
    serial: str = Field(max_length=40)
    model: str = Field(max_length=100)
    accuracy_class: str = Field(max_length=16)
    digits: int
    decimals: int
    verified_on: date
    interval_years: int
    next_verification: date
    connection: str = Field(max_length=16)


class _PartOfMeter(SQLModel):
    """A row that belongs to one meter (a register, a transformer)."""

    key: str = Field(primary_key=True, max_length=40)
    meter_key: str = Field(max_length=40, foreign_key="demo_billing_meter.key", ondelete="CASCADE",
                           index=True)


class DemoRegister(_PartOfMeter, table=True):
    __tablename__ = "demo_billing_register"

    zone: str = Field(max_length=16)
    direction: str = Field(max_length=16)
    tariff: int


class DemoTransformer(_PartOfMeter, table=True):
    __tablename__ = "demo_billing_transformer"

    serial: str = Field(max_length=40)
    kind: str = Field(max_length=16)
    primary: int
    secondary: int
    accuracy_class: str = Field(max_length=16)
    verified_on: date
    next_verification: date


class DemoInstallation(SQLModel, table=True):
    __tablename__ = "demo_billing_installation"

    key: str = Field(primary_key=True, max_length=40)
    point_key: str = _fk("demo_billing_point.key")
    meter_key: str = _fk("demo_billing_meter.key")
    installed_on: date
    removed_on: date | None = None
    # {"register key": "value", …}
    initial: dict[str, str] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    final: dict[str, str] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))


class DemoReading(SQLModel, table=True):
    """A reading billing holds: from the cabinet, the metering system, an inspector …"""

    __tablename__ = "demo_billing_reading"
    __table_args__ = (sa.Index("ix_demo_billing_reading_register_as_of", "register_key", "as_of"),)

    key: str = Field(primary_key=True, max_length=40)
    register_key: str = _fk("demo_billing_register.key")
    meter_key: str = Field(max_length=40)
    point_key: str = Field(max_length=40, index=True)
    as_of: date
    value: Decimal = _dec()
    source: str = Field(max_length=16)
    consumption_kwh: Decimal | None = _dec(nullable=True)
    # ["reading.rollover", …] the customer confirmed, and their comment
    confirmed: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    comment: str = Field(default="", max_length=500)


class DemoReadingBatch(SQLModel, table=True):
    """A submission of readings from the cabinet, kept once per idempotency key with its answer."""

    __tablename__ = "demo_billing_reading_batch"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=100, unique=True)
    contract_key: str = Field(max_length=40)
    body_hash: str = Field(max_length=64)  # the same key with another body is a conflict
    reference: str = Field(max_length=24)
    received_at: datetime = Field(sa_type=NaiveUTC)
    results: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


class DemoDocument(SQLModel, table=True):
    """A document billing issued (счёт, счёт-фактура, акт …); a reversal is a new row."""

    __tablename__ = "demo_billing_document"
    __table_args__ = (sa.Index("ix_demo_billing_document_contract_issued", "contract_key", "issued_on"),)

    key: str = Field(primary_key=True, max_length=40)
    contract_key: str = _fk("demo_billing_contract.key")
    kind: str = Field(max_length=24)
    number: str = Field(max_length=40)
    issued_on: date
    period_from: date
    period_to: date
    amount: Decimal = _dec()
    vat: Decimal = _dec()
    vat_rate: Decimal = _dec()
    energy_kwh: Decimal | None = _dec(nullable=True)
    due_on: date | None = None
    status: str = Field(max_length=16)
    # [{"point_key", "zone", "energy_kwh", "price", "amount"}, …] as exact texts
    lines: list[dict[str, str]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    related: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    replaces_key: str | None = Field(default=None, max_length=40)


class DemoPayment(SQLModel, table=True):
    """A payment received: to a contract, or unidentified (no contract)."""

    __tablename__ = "demo_billing_payment"

    key: str = Field(primary_key=True, max_length=40)
    organisation_key: str = _fk("demo_billing_organisation.key")
    contract_key: str | None = Field(default=None, max_length=40, index=True)
    paid_on: date
    order_number: str = Field(max_length=20)
    amount: Decimal = _dec()
    purpose: str = Field(max_length=210)
    # [{"period": "2026-10-01", "amount": "123.45"}, …]
    allocations: list[dict[str, str]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


class DemoReconciliation(SQLModel, table=True):
    """A request for an «Акт сверки взаиморасчётов», answered once per idempotency key."""

    __tablename__ = "demo_billing_reconciliation"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=100, unique=True)
    contract_key: str = Field(max_length=40)
    period_from: date
    period_to: date
    document_key: str = Field(max_length=40)
    received_at: datetime = Field(sa_type=NaiveUTC)
    ready_at: datetime = Field(sa_type=NaiveUTC)  # the act is issued then


class DemoChange(SQLModel, table=True):
    """The change log behind incremental pulls: one row per write of a record."""

    __tablename__ = "demo_billing_change"
    __table_args__ = (sa.Index("ix_demo_billing_change_kind_id", "kind", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    key: str = Field(max_length=40)


class DemoNotice(SQLModel, table=True):
    """A binding notice from the cabinet, kept once per idempotency key."""

    __tablename__ = "demo_billing_notice"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=100, unique=True)
    contract_key: str = Field(max_length=40)
    bound: bool
    reference: str = Field(max_length=24)
    received_at: datetime = Field(sa_type=NaiveUTC)


# Children first: the order to delete in.
DEMO_TABLES = (
    DemoReconciliation, DemoPayment, DemoDocument, DemoReadingBatch, DemoReading, DemoNotice, DemoChange,
    DemoInstallation, DemoTransformer, DemoRegister, DemoMeter, DemoPoint, DemoContract, DemoOrganisation,
)
