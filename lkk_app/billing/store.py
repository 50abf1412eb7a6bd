"""The cabinet's read copy of billing data (``billing_copy``, ``billing_sync_state``).

Billing is the master of organisations, contracts, points, meters and
installations; the cabinet keeps a copy of each record (its billing key, the
key of its parent, the record in the wire form of docs/billing-api.yaml and
``synced_at``) so pages are fast and keep working while billing is down.
:mod:`lkk_app.billing.sync` fills it; pages read it through the functions here.

The moment a page's data is true for («Данные на …») is the last complete
pass of the sync over the kinds the page shows (:func:`data_as_of`), not a
row's ``synced_at``: an unchanged row is current as of every later pass.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from lkk_app.billing import wire
from lkk_app.billing.types import (
    CHANGE_RECORDS,
    Balance,
    ChangeKind,
    Contract,
    Document,
    Installation,
    Meter,
    MeteringPoint,
    Organisation,
    Payment,
    PlanItem,
    Reading,
    ReadingSource,
    ReadingStatus,
)
from lkk_app.db import dialect_insert, table_of
from lkk_app.models import DecimalText, NaiveUTC

T = TypeVar("T")


class BillingCopy(SQLModel, table=True):
    """One billing record as the cabinet last received it."""

    __tablename__ = "billing_copy"
    __table_args__ = (sa.Index("ix_billing_copy_kind_parent_sort", "kind", "parent_key", "sort_key"),
                      sa.Index("ix_billing_copy_kind_ref", "kind", "ref_key"))

    kind: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=40)
    parent_key: str | None = Field(default=None, max_length=40)
    sort_key: str = Field(default="", max_length=200)  # a contract's number, a point's name, a reading's date
    # Another record this one points to: an installation's meter, a reading's meter.
    ref_key: str | None = Field(default=None, max_length=40)
    # What a search finds it by, in lower case: a point's name, address and code, a meter's serial.
    search_text: str = Field(default="", max_length=600)
    data: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    synced_at: datetime = Field(sa_type=NaiveUTC)


class BillingReadingCopy(SQLModel, table=True):
    """One of billing's readings as the cabinet last received it.  Readings are
    many (a register a month, for years), so they keep typed columns of their own
    instead of a record in ``billing_copy``: a readings form of thousands of
    registers reads tens of thousands of them."""

    __tablename__ = "billing_reading_copy"
    __table_args__ = (sa.Index("ix_billing_reading_copy_register_as_of", "register_key", "as_of"),
                      sa.Index("ix_billing_reading_copy_meter_as_of", "meter_key", "as_of"))

    key: str = Field(primary_key=True, max_length=40)
    register_key: str = Field(max_length=40)
    meter_key: str = Field(max_length=40)
    point_key: str = Field(max_length=40)
    as_of: date
    value: Decimal = Field(sa_column=sa.Column(DecimalText(), nullable=False))
    source: str = Field(max_length=16)
    status: str = Field(max_length=16)
    consumption_kwh: Decimal | None = Field(default=None, sa_column=sa.Column(DecimalText(), nullable=True))
    reason: str | None = Field(default=None, max_length=64)
    confirmed_warnings: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    synced_at: datetime = Field(sa_type=NaiveUTC)


class BillingDocumentCopy(SQLModel, table=True):
    """One of billing's documents as the cabinet last received it: the columns a
    list filters, sorts and pages by, and the whole record (with its lines)."""

    __tablename__ = "billing_document_copy"
    __table_args__ = (sa.Index("ix_billing_document_copy_contract_issued", "contract_key", "issued_on"),
                      sa.Index("ix_billing_document_copy_contract_kind", "contract_key", "kind"))

    key: str = Field(primary_key=True, max_length=40)
    contract_key: str = Field(max_length=40)
    kind: str = Field(max_length=24)
    number: str = Field(max_length=40)
    issued_on: date
    period_from: date
    period_to: date
    amount: Decimal = Field(sa_column=sa.Column(DecimalText(), nullable=False))
    status: str = Field(max_length=16)
    data: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    synced_at: datetime = Field(sa_type=NaiveUTC)
    # When the cabinet first received it (a new document's letter); kept on updates.
    first_synced_at: datetime = Field(sa_type=NaiveUTC, index=True)
    replaces_key: str | None = Field(default=None, max_length=40, index=True)  # a new version's old one


class BillingPaymentCopy(SQLModel, table=True):
    """One payment billing received, as the cabinet last received it."""

    __tablename__ = "billing_payment_copy"
    __table_args__ = (sa.Index("ix_billing_payment_copy_contract_paid", "contract_key", "paid_on"),
                      sa.Index("ix_billing_payment_copy_organisation_paid", "organisation_key", "paid_on"))

    key: str = Field(primary_key=True, max_length=40)
    organisation_key: str = Field(max_length=40)
    contract_key: str | None = Field(default=None, max_length=40)
    paid_on: date
    data: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    synced_at: datetime = Field(sa_type=NaiveUTC)


class BillingSyncState(SQLModel, table=True):
    """Where the sync of one kind stands: its cursor and the last pass."""

    __tablename__ = "billing_sync_state"

    kind: str = Field(primary_key=True, max_length=20)
    cursor: str | None = Field(default=None, max_length=100)
    last_ok_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    last_attempt_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    last_error: str | None = Field(default=None, max_length=100)
    running_until: datetime | None = Field(default=None, sa_type=NaiveUTC)
    rows_received: int = 0


def _sort_key(record: Any) -> str:
    if isinstance(record, PlanItem):
        return record.key
    value = getattr(record, "number", None) or getattr(record, "name", None) or getattr(record, "serial", "")
    return str(value)[:200]


def _parent_key(record: Any) -> str | None:
    if isinstance(record, Contract):
        return record.organisation_key
    if isinstance(record, MeteringPoint):
        return record.contract_key
    if isinstance(record, Installation):
        return record.point_key
    if isinstance(record, Balance | PlanItem):
        return record.contract_key
    return None


def _ref_key(record: Any) -> str | None:
    if isinstance(record, Installation):
        return record.meter_key
    return None


def _search_text(record: Any) -> str:
    words: tuple[str, ...]
    if isinstance(record, MeteringPoint):
        words = (record.name, record.address, record.code or "")
    elif isinstance(record, Meter):
        words = (record.serial, record.model)
    else:
        return ""
    return " ".join(w for w in words if w).lower()[:600]


def _upsert(db: Session, table: sa.Table, rows: list[dict[str, Any]], keys: Sequence[str],
            kept: Sequence[str] = ()) -> None:
    """Insert ``rows``, or update those whose ``keys`` are there (but for the ``kept`` columns)."""
    statement = dialect_insert(db, table).values(rows)
    updated = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in (*keys, *kept)}
    db.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updated))


def store_records(db: Session, kind: ChangeKind, records: Iterable[Any], now: datetime) -> int:
    """Insert or replace ``records`` of ``kind``; the number stored."""
    if kind is ChangeKind.READINGS:
        return _store_readings(db, records, now)
    if kind is ChangeKind.DOCUMENTS:
        return _store_typed(db, BillingDocumentCopy, [
            {"key": r.key, "contract_key": r.contract_key, "kind": r.kind.value, "number": r.number[:40],
             "issued_on": r.issued_on, "period_from": r.period_from, "period_to": r.period_to, "amount": r.amount,
             "status": r.status.value, "data": _json(r), "synced_at": now, "first_synced_at": now,
             "replaces_key": r.replaces_key}
            for r in records], kept=("first_synced_at",))
    if kind is ChangeKind.PAYMENTS:
        return _store_typed(db, BillingPaymentCopy, [
            {"key": r.key, "organisation_key": r.organisation_key, "contract_key": r.contract_key,
             "paid_on": r.paid_on, "data": _json(r), "synced_at": now} for r in records])
    rows = [
        {"kind": kind.value, "key": str(r.key), "parent_key": _parent_key(r), "sort_key": _sort_key(r),
         "ref_key": _ref_key(r), "search_text": _search_text(r), "data": _json(r), "synced_at": now}
        for r in records
    ]
    if rows:
        _upsert(db, table_of(BillingCopy), rows, ("kind", "key"))
    return len(rows)


def _json(record: Any) -> str:
    return json.dumps(wire.encode(record), ensure_ascii=False, sort_keys=True)


def _store_typed(db: Session, model: Any, rows: list[dict[str, Any]], kept: Sequence[str] = ()) -> int:
    if rows:
        _upsert(db, table_of(model), rows, ("key",), kept)
    return len(rows)


def _store_readings(db: Session, records: Iterable[Reading], now: datetime) -> int:
    return _store_typed(db, BillingReadingCopy, [
        {**{f.name: getattr(r, f.name) for f in dataclasses.fields(r)},
         "confirmed_warnings": list(r.confirmed_warnings), "synced_at": now} for r in records])


def _reading(row: Any) -> Reading:
    return Reading(key=row.key, register_key=row.register_key, meter_key=row.meter_key, point_key=row.point_key,
                   as_of=row.as_of, value=row.value, source=ReadingSource(row.source),
                   status=ReadingStatus(row.status), consumption_kwh=row.consumption_kwh, reason=row.reason,
                   confirmed_warnings=tuple(row.confirmed_warnings or ()))


def _decode(kind: ChangeKind, row: BillingCopy) -> Any:
    return wire.decode(CHANGE_RECORDS[kind], json.loads(row.data))


def get_record(db: Session, kind: ChangeKind, key: str) -> Any | None:
    row = db.get(BillingCopy, (kind.value, key))
    return None if row is None else _decode(kind, row)


def children(db: Session, kind: ChangeKind, parent_keys: Sequence[str]) -> list[Any]:
    """The records of ``kind`` whose parent is one of ``parent_keys``, by number or name."""
    if not parent_keys:
        return []
    rows = db.exec(
        select(BillingCopy)
        .where(BillingCopy.kind == kind.value, col(BillingCopy.parent_key).in_(list(parent_keys)))
        .order_by(col(BillingCopy.sort_key), col(BillingCopy.key))
    ).all()
    return [_decode(kind, r) for r in rows]


def organisation(db: Session, key: str) -> Organisation | None:
    return get_record(db, ChangeKind.ORGANISATIONS, key)


def contract(db: Session, key: str) -> Contract | None:
    return get_record(db, ChangeKind.CONTRACTS, key)


def contracts_of(db: Session, organisation_key: str) -> list[Contract]:
    return children(db, ChangeKind.CONTRACTS, [organisation_key])


def records_page(db: Session, kind: ChangeKind, keys: Any, *, offset: int,
                 limit: int) -> tuple[list[Any], datetime | None]:
    """The records of ``kind`` whose keys the ``keys`` subquery selects, by number or
    name, one page; and when the oldest of them was received."""
    rows = db.exec(
        select(BillingCopy)
        .where(BillingCopy.kind == kind.value, col(BillingCopy.key).in_(keys))
        .order_by(col(BillingCopy.sort_key), col(BillingCopy.key)).offset(offset).limit(limit)
    ).all()
    return [_decode(kind, r) for r in rows], min((r.synced_at for r in rows), default=None)


def records(db: Session, kind: ChangeKind, keys: Iterable[str]) -> dict[str, Any]:
    """The records of ``kind`` with these keys (those the copy has), by key."""
    wanted = sorted(set(keys))
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 900):  # SQLite's limit on bound parameters
        rows = db.exec(select(BillingCopy).where(BillingCopy.kind == kind.value,
                                                 col(BillingCopy.key).in_(wanted[start:start + 900]))).all()
        found.update((r.key, _decode(kind, r)) for r in rows)
    return found


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def points_page(db: Session, contract_key: str, query: str, *, offset: int,
                limit: int) -> tuple[list[MeteringPoint], int]:
    """The contract's points by name, one page, and how many there are; ``query``
    (if any) must be in a point's name, address or code, or in the serial or
    model of a meter installed there at some time."""
    points = select(BillingCopy.key).where(BillingCopy.kind == ChangeKind.POINTS.value,
                                           BillingCopy.parent_key == contract_key)
    if query:
        pattern = _like(query)
        meters = select(BillingCopy.key).where(BillingCopy.kind == ChangeKind.METERS.value,
                                               col(BillingCopy.search_text).like(pattern, escape="\\"))
        installed = select(BillingCopy.parent_key).where(BillingCopy.kind == ChangeKind.INSTALLATIONS.value,
                                                         col(BillingCopy.ref_key).in_(meters))
        points = points.where(sa.or_(col(BillingCopy.search_text).like(pattern, escape="\\"),
                                     col(BillingCopy.key).in_(installed)))
    total = db.exec(select(sa.func.count()).select_from(points.subquery())).one()
    page, _ = records_page(db, ChangeKind.POINTS, points, offset=offset, limit=limit)
    return page, int(total)


def readings_of(db: Session, register_keys: Sequence[str], since: date | None = None) -> list[Reading]:
    """Billing's readings of these registers (as of ``since`` or later), oldest first."""
    found: list[Reading] = []
    keys = sorted(set(register_keys))
    for start in range(0, len(keys), 900):
        query = select(BillingReadingCopy).where(col(BillingReadingCopy.register_key).in_(keys[start:start + 900]))
        if since is not None:
            query = query.where(col(BillingReadingCopy.as_of) >= since)
        found.extend(_reading(r) for r in db.exec(query).all())
    return sorted(found, key=lambda r: (r.as_of, r.register_key))


@dataclasses.dataclass(frozen=True, slots=True)
class RegisterReading:
    """What a readings form needs of one of billing's readings."""

    as_of: date
    value: Decimal
    consumption: Decimal | None


def register_history(db: Session, register_keys: Sequence[str], since: date) -> dict[str, list[RegisterReading]]:
    """Billing's readings of these registers as of ``since`` or later, by register —
    only the date, the value and the consumption (a form of thousands of registers
    reads tens of thousands of them)."""
    found: dict[str, list[RegisterReading]] = {}
    keys = sorted(set(register_keys))
    columns = (col(BillingReadingCopy.register_key), col(BillingReadingCopy.as_of), col(BillingReadingCopy.value),
               col(BillingReadingCopy.consumption_kwh))
    for start in range(0, len(keys), 900):
        rows = db.execute(sa.select(*columns).where(
            col(BillingReadingCopy.register_key).in_(keys[start:start + 900]),
            col(BillingReadingCopy.as_of) >= since)).all()
        for register, as_of, value, consumption in rows:
            found.setdefault(register, []).append(RegisterReading(as_of, value, consumption))
    return found


def readings_of_meter(db: Session, meter_key: str) -> list[Reading]:
    """Billing's readings of one meter, newest first."""
    rows = db.exec(select(BillingReadingCopy).where(BillingReadingCopy.meter_key == meter_key)
                   .order_by(col(BillingReadingCopy.as_of).desc(), col(BillingReadingCopy.register_key))).all()
    return [_reading(r) for r in rows]


def last_error(db: Session) -> tuple[str, datetime | None] | None:
    """The error of the last pass that failed, and when, if the latest pass of some kind failed."""
    failed = [s for s in db.exec(select(BillingSyncState)).all() if s.last_error]
    if not failed:
        return None
    return failed[0].last_error or "", max((s.last_attempt_at for s in failed if s.last_attempt_at), default=None)


def points_of(db: Session, contract_key: str) -> list[MeteringPoint]:
    return children(db, ChangeKind.POINTS, [contract_key])


# --------------------------------------------------------------------------- documents and money


@dataclasses.dataclass(frozen=True, slots=True)
class DocumentQuery:
    """Which of a contract's documents a list shows, in what order, which page."""

    contract_key: str
    kinds: tuple[str, ...] = ()  # DocumentKind values; empty: every kind
    statuses: tuple[str, ...] = ()  # DocumentStatus values; empty: every status
    period_from: date | None = None  # documents whose period ends on or after this day …
    period_to: date | None = None  # … and starts on or before this one
    newest_first: bool = True
    offset: int = 0
    limit: int = 20


def _document_filter(query: DocumentQuery) -> list[Any]:
    where: list[Any] = [BillingDocumentCopy.contract_key == query.contract_key]
    if query.kinds:
        where.append(col(BillingDocumentCopy.kind).in_(query.kinds))
    if query.statuses:
        where.append(col(BillingDocumentCopy.status).in_(query.statuses))
    if query.period_from is not None:
        where.append(col(BillingDocumentCopy.period_to) >= query.period_from)
    if query.period_to is not None:
        where.append(col(BillingDocumentCopy.period_from) <= query.period_to)
    return where


def documents_page(db: Session, query: DocumentQuery) -> tuple[list[Document], int]:
    """One page of a contract's documents by date of issue, and how many match."""
    where = _document_filter(query)
    total = db.exec(select(sa.func.count()).select_from(BillingDocumentCopy).where(*where)).one()
    issued = col(BillingDocumentCopy.issued_on)
    order = (issued.desc(), col(BillingDocumentCopy.key).desc()) if query.newest_first else (
        issued, col(BillingDocumentCopy.key))
    rows = db.exec(select(BillingDocumentCopy.data).where(*where).order_by(*order)
                   .offset(max(0, query.offset)).limit(max(1, query.limit))).all()
    return [wire.decode(Document, json.loads(data)) for data in rows], int(total)


def documents(db: Session, keys: Iterable[str]) -> dict[str, Document]:
    """The documents with these keys (those the copy has), by key."""
    wanted = sorted(set(keys))
    found: dict[str, Document] = {}
    for start in range(0, len(wanted), 900):
        rows = db.exec(select(BillingDocumentCopy.key, BillingDocumentCopy.data).where(
            col(BillingDocumentCopy.key).in_(wanted[start:start + 900]))).all()
        found.update((key, wire.decode(Document, json.loads(data))) for key, data in rows)
    return found


def documents_of(db: Session, contract_key: str, kinds: Sequence[str] = (), since: date | None = None,
                 until: date | None = None, period: date | None = None) -> list[Document]:
    """A contract's documents (of ``kinds``; issued ``since``…``until``; of the
    month ``period``), oldest first."""
    query = select(BillingDocumentCopy.data).where(BillingDocumentCopy.contract_key == contract_key)
    if kinds:
        query = query.where(col(BillingDocumentCopy.kind).in_(list(kinds)))
    if since is not None:
        query = query.where(col(BillingDocumentCopy.issued_on) >= since)
    if until is not None:
        query = query.where(col(BillingDocumentCopy.issued_on) <= until)
    if period is not None:
        query = query.where(BillingDocumentCopy.period_from == period)
    rows = db.exec(query.order_by(col(BillingDocumentCopy.issued_on), col(BillingDocumentCopy.key))).all()
    return [wire.decode(Document, json.loads(data)) for data in rows]


def replacement_of(db: Session, key: str) -> Document | None:
    """The new version of a reversed document, if the copy has it."""
    data = db.exec(select(BillingDocumentCopy.data).where(BillingDocumentCopy.replaces_key == key)
                   .order_by(col(BillingDocumentCopy.issued_on).desc())).first()
    return wire.decode(Document, json.loads(data)) if data else None


def last_document(db: Session, contract_key: str, kind: str, before: date) -> Document | None:
    """The contract's latest document of ``kind`` for a month before ``before``."""
    data = db.exec(select(BillingDocumentCopy.data).where(
        BillingDocumentCopy.contract_key == contract_key, BillingDocumentCopy.kind == kind,
        col(BillingDocumentCopy.period_from) < before)
        .order_by(col(BillingDocumentCopy.period_from).desc(), col(BillingDocumentCopy.issued_on).desc())).first()
    return wire.decode(Document, json.loads(data)) if data else None


def payments_of(db: Session, *, contract_key: str | None = None, organisation_key: str | None = None,
                unidentified: bool = False, offset: int = 0, limit: int = 1000, paid_from: date | None = None,
                paid_to: date | None = None) -> tuple[list[Payment], int]:
    """Payments to a contract (or an organisation's unidentified ones; paid
    ``paid_from``…``paid_to``), newest first, one page, and how many there are."""
    where: list[Any] = ([BillingPaymentCopy.organisation_key == (organisation_key or ""),
                         col(BillingPaymentCopy.contract_key).is_(None)] if unidentified
                        else [BillingPaymentCopy.contract_key == (contract_key or "")])
    if paid_from is not None:
        where.append(col(BillingPaymentCopy.paid_on) >= paid_from)
    if paid_to is not None:
        where.append(col(BillingPaymentCopy.paid_on) <= paid_to)
    total = db.exec(select(sa.func.count()).select_from(BillingPaymentCopy).where(*where)).one()
    rows = db.exec(select(BillingPaymentCopy.data).where(*where)
                   .order_by(col(BillingPaymentCopy.paid_on).desc(), col(BillingPaymentCopy.key).desc())
                   .offset(max(0, offset)).limit(max(1, limit))).all()
    return [wire.decode(Payment, json.loads(data)) for data in rows], int(total)


def balance(db: Session, contract_key: str) -> Balance | None:
    return get_record(db, ChangeKind.BALANCES, contract_key)


def plan_items(db: Session, contract_key: str) -> list[PlanItem]:
    """The contract's plan items, by month and kind."""
    return children(db, ChangeKind.PLAN_ITEMS, [contract_key])


# --------------------------------------------------------------------------- sync state


def sync_state(db: Session, kind: ChangeKind) -> BillingSyncState:
    """The state row of ``kind`` (created on first use)."""
    state = db.get(BillingSyncState, kind.value)
    if state is None:
        db.execute(dialect_insert(db, table_of(BillingSyncState)).values(kind=kind.value, rows_received=0)
                   .on_conflict_do_nothing(index_elements=["kind"]))
        state = db.get(BillingSyncState, kind.value)
    if state is None:  # pragma: no cover - the row was just written
        raise RuntimeError(f"no sync state for {kind.value}")
    return state


def all_states(db: Session) -> list[BillingSyncState]:
    return [sync_state(db, kind) for kind in ChangeKind]


def data_as_of(db: Session, kinds: Iterable[ChangeKind] = tuple(ChangeKind)) -> datetime | None:
    """The last moment every one of ``kinds`` was fully synced (``None``: never)."""
    moments = [db.get(BillingSyncState, kind.value) for kind in kinds]
    values = [m.last_ok_at for m in moments if m is not None and m.last_ok_at is not None]
    if len(values) < len(moments) or not values:
        return None
    return min(values)


def copied_count(db: Session) -> dict[str, int]:
    rows = db.exec(select(BillingCopy.kind, sa.func.count()).group_by(col(BillingCopy.kind))).all()
    counted = {kind: int(n) for kind, n in rows}
    for kind, model in ((ChangeKind.READINGS, BillingReadingCopy), (ChangeKind.DOCUMENTS, BillingDocumentCopy),
                        (ChangeKind.PAYMENTS, BillingPaymentCopy)):
        n = int(db.exec(select(sa.func.count()).select_from(model)).one())
        if n:
            counted[kind.value] = n
    return counted
