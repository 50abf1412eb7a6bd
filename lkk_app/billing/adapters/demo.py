"""The embedded demo billing: a small billing system in its own tables.

:class:`DemoBilling` answers the :class:`~lkk_app.billing.gateway.BillingGateway`
calls from the ``demo_billing_*`` tables, each call in a worker thread with
its own session (the event loop is never blocked).  A database error is
:class:`BillingUnavailable`, as a network error would be for a real system.
The data comes from :func:`seed` / :func:`reset` (relative to a given today).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from lkk_app.billing.adapters import demo_money, demo_readings
from lkk_app.billing.adapters.demo_data import (
    contract_number_key,
    ensure_seeded,
    log_change,
    reset,
    seed,
    update_contract,
)
from lkk_app.billing.adapters.demo_tables import (
    DemoChange,
    DemoContract,
    DemoDocument,
    DemoInstallation,
    DemoMeter,
    DemoNotice,
    DemoOrganisation,
    DemoPayment,
    DemoPoint,
    DemoReading,
    DemoRegister,
    DemoTransformer,
)
from lkk_app.billing.gateway import MAX_CHANGES_LIMIT, BillingRejected, BillingUnavailable
from lkk_app.billing.types import (
    Ack,
    Allocation,
    ChangeKind,
    Changes,
    Contract,
    ContractKind,
    ContractMatch,
    ContractStatus,
    Curator,
    Direction,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Health,
    Installation,
    Meter,
    MeterConnection,
    MeteringPoint,
    Organisation,
    Payment,
    PaymentRegime,
    PlanItem,
    PointKind,
    ReadingsAck,
    ReadingsSubmission,
    ReadingWindow,
    Register,
    RegisterValue,
    Transformer,
    TransformerKind,
    VoltageLevel,
    Zone,
)
from lkk_app.core import clock as clock_module

__all__ = ["API_VERSION", "DemoBilling", "ensure_seeded", "reset", "seed", "update_contract"]

API_VERSION = "1"
T = TypeVar("T")
_IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{8,100}")


def _utcnow() -> datetime:
    return clock_module.utcnow()


class DemoBilling:
    """The demo billing system behind the gateway protocol."""

    def __init__(self, engine: sa.Engine, *, supplier: str,
                 clock: Callable[[], datetime] = _utcnow, owns_engine: bool = False):
        self._engine = engine
        self._supplier = supplier
        self._clock = clock
        self._owns_engine = owns_engine

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._in_session, fn, *args)

    def _in_session(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            with Session(self._engine, expire_on_commit=False) as db:
                result = fn(db, *args)
                db.commit()
                return result
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.ProgrammingError) as exc:
            raise BillingUnavailable("database") from exc

    # ------------------------------------------------------------------ gateway

    async def find_contract(self, inn: str, kpp: str | None, number: str) -> ContractMatch | None:
        return await self._call(_find_contract, inn, kpp, number, self._clock())

    async def get_organisation(self, key: str) -> Organisation | None:
        return await self._call(_get_organisation, key)

    async def list_contracts(self, organisation_key: str) -> tuple[Contract, ...]:
        return await self._call(_list_contracts, organisation_key, self._clock())

    async def get_contract(self, key: str) -> Contract | None:
        return await self._call(_get_contract, key, self._clock())

    async def changes(self, kind: ChangeKind, cursor: str | None, limit: int = 100) -> Changes:
        kind = _change_kind(kind)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CHANGES_LIMIT:
            raise BillingRejected("changes.bad_limit", {"max": MAX_CHANGES_LIMIT})
        after = _cursor_value(cursor)
        return await self._call(_changes, kind, after, limit, self._clock())

    async def notify_binding(self, contract_key: str, bound: bool, idempotency_key: str) -> Ack:
        if not _IDEMPOTENCY_KEY_RE.fullmatch(idempotency_key or ""):
            raise BillingRejected("notice.bad_idempotency_key")
        return await self._call(_notify_binding, contract_key, bool(bound), idempotency_key,
                                self._clock())

    async def submit_readings(self, submission: ReadingsSubmission, idempotency_key: str) -> ReadingsAck:
        if not _IDEMPOTENCY_KEY_RE.fullmatch(idempotency_key or ""):
            raise BillingRejected("notice.bad_idempotency_key")
        if not 0 < len(submission.entries) <= demo_readings.MAX_ENTRIES:
            raise BillingRejected("request.invalid", {"field": "entries"})
        return await self._call(demo_readings.take, submission, idempotency_key, self._clock())

    async def request_reconciliation(self, contract_key: str, period_from: date, period_to: date,
                                     idempotency_key: str) -> Ack:
        if not _IDEMPOTENCY_KEY_RE.fullmatch(idempotency_key or ""):
            raise BillingRejected("notice.bad_idempotency_key")
        if not (isinstance(period_from, date) and isinstance(period_to, date) and period_from <= period_to):
            raise BillingRejected("request.invalid", {"field": "period"})
        return await self._call(_reconciliation, contract_key, period_from, period_to, idempotency_key,
                                self._clock())

    async def health(self) -> Health:
        await self._call(lambda db: db.execute(sa.select(sa.literal(1))).scalar_one())
        return Health(supplier=self._supplier, api_version=API_VERSION,
                      time=self._clock().replace(microsecond=0))

    async def aclose(self) -> None:
        if self._owns_engine:
            self._engine.dispose()


# ---------------------------------------------------------------------- arguments


def _change_kind(kind: object) -> ChangeKind:
    try:
        return ChangeKind(str(kind))
    except ValueError:
        raise BillingRejected("changes.unknown_kind", {"kind": str(kind)[:40]}) from None


def _cursor_value(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not (isinstance(cursor, str) and cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise BillingRejected("changes.bad_cursor")
    return int(cursor)


# ---------------------------------------------------------------------- queries (sync, in a thread)


def _find_contract(db: Session, inn: str, kpp: str | None, number: str, now: datetime) -> ContractMatch | None:
    inn, kpp = (inn or "").strip(), (kpp or "").strip() or None
    if not inn.isdigit() or len(inn) not in (10, 12):
        return None
    query = select(DemoContract, DemoOrganisation).join(
        DemoOrganisation, col(DemoOrganisation.key) == col(DemoContract.organisation_key)
    ).where(
        DemoOrganisation.inn == inn,
        DemoContract.number_key == contract_number_key(number or ""),
        col(DemoOrganisation.kpp).is_(None) if kpp is None else DemoOrganisation.kpp == kpp,
    )
    hit = db.exec(query).first()
    if hit is None:
        return None
    contract_row, org_row = hit
    organisation = _organisation(org_row)
    contract = _contracts(db, [contract_row], now)[0]
    return ContractMatch(organisation=organisation, contract=contract,
                         email=organisation.emails[0] if organisation.emails else None)


def _get_organisation(db: Session, key: str) -> Organisation | None:
    row = db.get(DemoOrganisation, key)
    return None if row is None else _organisation(row)


def _list_contracts(db: Session, organisation_key: str, now: datetime) -> tuple[Contract, ...]:
    rows = db.exec(select(DemoContract).where(DemoContract.organisation_key == organisation_key)
                   .order_by(col(DemoContract.number_key))).all()
    return _contracts(db, rows, now)


def _get_contract(db: Session, key: str, now: datetime) -> Contract | None:
    row = db.get(DemoContract, key)
    return None if row is None else _contracts(db, [row], now)[0]


def _changes(db: Session, kind: ChangeKind, after: int, limit: int, now: datetime) -> Changes:
    if kind is ChangeKind.DOCUMENTS:
        demo_money.mature_reconciliations(db, now, log=functools.partial(log_change, db))
    last = func.max(DemoChange.id).label("last")
    groups = db.exec(
        select(DemoChange.key, last)
        .where(DemoChange.kind == kind.value, col(DemoChange.id) > after)
        .group_by(col(DemoChange.key)).order_by(last).limit(limit + 1)
    ).all()
    page = groups[:limit]
    if not page:
        return Changes(rows=(), cursor=str(after), has_more=False)
    keys = [key for key, _ in page]
    records = {_record_key(r): r for r in _load(db, kind, keys, now)}
    rows = tuple(records[k] for k in keys if k in records)  # a deleted record has no row
    return Changes(rows=rows, cursor=str(page[-1][1]), has_more=len(groups) > limit)


def _record_key(record: Any) -> str:
    return str(record.key)


def _load(db: Session, kind: ChangeKind, keys: list[str], now: datetime) -> Iterable[Any]:
    if kind is ChangeKind.ORGANISATIONS:
        return [_organisation(r) for r in db.exec(select(DemoOrganisation).where(col(DemoOrganisation.key).in_(keys)))]
    if kind is ChangeKind.CONTRACTS:
        return _contracts(db, db.exec(select(DemoContract).where(col(DemoContract.key).in_(keys))).all(), now)
    if kind is ChangeKind.POINTS:
        return [_point(r) for r in db.exec(select(DemoPoint).where(col(DemoPoint.key).in_(keys)))]
    if kind is ChangeKind.METERS:
        return _meters(db, db.exec(select(DemoMeter).where(col(DemoMeter.key).in_(keys))).all())
    if kind is ChangeKind.READINGS:
        rows = db.exec(select(DemoReading).where(col(DemoReading.key).in_(keys))).all()
        return [demo_readings.reading_record(r) for r in rows]
    if kind is ChangeKind.DOCUMENTS:
        return [_document(r) for r in db.exec(select(DemoDocument).where(col(DemoDocument.key).in_(keys)))]
    if kind is ChangeKind.PAYMENTS:
        return [_payment(r) for r in db.exec(select(DemoPayment).where(col(DemoPayment.key).in_(keys)))]
    if kind is ChangeKind.BALANCES:
        return [demo_money.balance(demo_money.Ledger.load(db, c), now.date())
                for c in db.exec(select(DemoContract).where(col(DemoContract.key).in_(keys)))]
    if kind is ChangeKind.PLAN_ITEMS:
        return _plan_items(db, keys, now.date())
    return [_installation(r) for r in db.exec(select(DemoInstallation).where(col(DemoInstallation.key).in_(keys)))]


def _notify_binding(db: Session, contract_key: str, bound: bool, idempotency_key: str, now: datetime) -> Ack:
    existing = _notice(db, idempotency_key)
    if existing is None:
        if db.get(DemoContract, contract_key) is None:
            raise BillingRejected("contract.not_found", {"contract": contract_key[:40]})
        notice = DemoNotice(idempotency_key=idempotency_key, contract_key=contract_key, bound=bound,
                            reference="", received_at=now.replace(microsecond=0))
        try:
            with db.begin_nested():
                db.add(notice)
                db.flush()
                notice.reference = f"N-{notice.id:08d}"
                db.flush()
            existing = notice
        except sa.exc.IntegrityError:  # the same key arrived at the same moment
            existing = _notice(db, idempotency_key)
            if existing is None:  # the other one rolled back: ask again later
                raise BillingUnavailable("conflict") from None
    if (existing.contract_key, existing.bound) != (contract_key, bound):
        raise BillingRejected("idempotency.conflict")
    return Ack(idempotency_key=existing.idempotency_key, reference=existing.reference,
               received_at=existing.received_at)


def _reconciliation(db: Session, contract_key: str, period_from: date, period_to: date, idempotency_key: str,
                    now: datetime) -> Ack:
    contract = db.get(DemoContract, contract_key)
    if contract is None:
        raise BillingRejected("contract.not_found", {"contract": contract_key[:40]})
    request = demo_money.request_reconciliation(db, contract, period_from, period_to, idempotency_key, now,
                                                log=functools.partial(log_change, db))
    if (request.contract_key, request.period_from, request.period_to) != (contract_key, period_from, period_to):
        raise BillingRejected("idempotency.conflict")
    return Ack(idempotency_key=idempotency_key, reference=request.document_key, received_at=request.received_at)


def _notice(db: Session, idempotency_key: str) -> DemoNotice | None:
    return db.exec(select(DemoNotice).where(DemoNotice.idempotency_key == idempotency_key)).first()


# ---------------------------------------------------------------------- rows → records


def _organisation(row: DemoOrganisation) -> Organisation:
    return Organisation(
        key=row.key, inn=row.inn, kpp=row.kpp, ogrn=row.ogrn, name=row.name,
        short_name=row.short_name, legal_address=row.legal_address,
        postal_address=row.postal_address,
        emails=tuple(e for e in row.emails.split(",") if e), phone=row.phone,
    )


def _contracts(db: Session, rows: Iterable[DemoContract], now: datetime) -> tuple[Contract, ...]:
    rows = list(rows)
    today = now.date()
    counts = dict(db.exec(
        select(DemoPoint.contract_key, func.count())
        .where(col(DemoPoint.contract_key).in_([r.key for r in rows]),
               sa.or_(col(DemoPoint.active_to).is_(None), col(DemoPoint.active_to) >= today))
        .group_by(col(DemoPoint.contract_key))
    ).all())
    return tuple(
        Contract(
            key=r.key, organisation_key=r.organisation_key, number=r.number, signed_on=r.signed_on,
            kind=ContractKind(r.kind), status=ContractStatus(r.status), valid_from=r.valid_from,
            valid_to=r.valid_to, price_category=r.price_category, voltage=VoltageLevel(r.voltage),
            max_power_kw=r.max_power_kw, payment_regime=PaymentRegime(r.payment_regime),
            curator=Curator(name=r.curator_name, phone=r.curator_phone, email=r.curator_email),
            department=r.department, points=counts.get(r.key, 0),
            reading_window=(None if r.window_first is None or r.window_last is None
                            else ReadingWindow(r.window_first, r.window_last)),
        )
        for r in rows
    )


def _point(r: DemoPoint) -> MeteringPoint:
    return MeteringPoint(
        key=r.key, contract_key=r.contract_key, name=r.name, address=r.address, code=r.code,
        kind=PointKind(r.kind), voltage=VoltageLevel(r.voltage), max_power_kw=r.max_power_kw,
        losses_percent=r.losses_percent, losses_kwh_month=r.losses_kwh_month, remote=r.remote,
        hourly=r.hourly, head_point_key=r.head_point_key, active_from=r.active_from,
        active_to=r.active_to,
    )


def _meters(db: Session, rows: Iterable[DemoMeter]) -> list[Meter]:
    rows = list(rows)
    keys = [r.key for r in rows]
    registers: dict[str, list[Register]] = {k: [] for k in keys}
    for reg in db.exec(select(DemoRegister).where(col(DemoRegister.meter_key).in_(keys))
                       .order_by(col(DemoRegister.tariff), col(DemoRegister.key))):
        registers[reg.meter_key].append(Register(key=reg.key, zone=Zone(reg.zone),
                                                 direction=Direction(reg.direction), tariff=reg.tariff))
    transformers: dict[str, list[Transformer]] = {k: [] for k in keys}
    for t in db.exec(select(DemoTransformer).where(col(DemoTransformer.meter_key).in_(keys))
                     .order_by(col(DemoTransformer.key))):
        transformers[t.meter_key].append(Transformer(
            serial=t.serial, kind=TransformerKind(t.kind), primary=t.primary, secondary=t.secondary,
            accuracy_class=t.accuracy_class, verified_on=t.verified_on,
            next_verification=t.next_verification))
    return [
        Meter(key=r.key, serial=r.serial, model=r.model, accuracy_class=r.accuracy_class,
              digits=r.digits, decimals=r.decimals, verified_on=r.verified_on,
              interval_years=r.interval_years, next_verification=r.next_verification,
              connection=MeterConnection(r.connection), registers=tuple(registers[r.key]),
              transformers=tuple(transformers[r.key]))
        for r in rows
    ]


def _values(data: dict[str, str]) -> tuple[RegisterValue, ...]:
    return tuple(RegisterValue(register_key=k, value=Decimal(v)) for k, v in sorted(data.items()))


def _installation(r: DemoInstallation) -> Installation:
    return Installation(key=r.key, point_key=r.point_key, meter_key=r.meter_key,
                        installed_on=r.installed_on, removed_on=r.removed_on,
                        initial=_values(r.initial), final=_values(r.final))


def _document(r: DemoDocument) -> Document:
    return Document(
        key=r.key, contract_key=r.contract_key, kind=DocumentKind(r.kind), number=r.number, issued_on=r.issued_on,
        period_from=r.period_from, period_to=r.period_to, amount=r.amount, vat=r.vat, vat_rate=r.vat_rate,
        energy_kwh=r.energy_kwh, due_on=r.due_on, status=DocumentStatus(r.status),
        lines=tuple(DocumentLine(point_key=line["point_key"], zone=Zone(line["zone"]),
                                 energy_kwh=Decimal(line["energy_kwh"]), price=Decimal(line["price"]),
                                 amount=Decimal(line["amount"])) for line in r.lines),
        related_keys=tuple(r.related), replaces_key=r.replaces_key)


def _payment(r: DemoPayment) -> Payment:
    return Payment(key=r.key, organisation_key=r.organisation_key, contract_key=r.contract_key, paid_on=r.paid_on,
                   order_number=r.order_number, amount=r.amount, purpose=r.purpose,
                   allocations=tuple(Allocation(date.fromisoformat(a["period"]), Decimal(a["amount"]))
                                     for a in r.allocations))


def _plan_items(db: Session, keys: list[str], today: date) -> list[PlanItem]:
    """The items named ``plan-<contract>-<YYYYMM>-<n>``, as they stand today."""
    months: dict[tuple[str, str], None] = {}
    for key in keys:
        contract_key, _, rest = key.removeprefix("plan-").rpartition("-")[0].rpartition("-")
        months[(contract_key, rest)] = None
    found = []
    for contract_key, month in months:
        contract = db.get(DemoContract, contract_key)
        if contract is None or not (month.isdigit() and len(month) == 6):
            continue
        first = date(int(month[:4]), int(month[4:]), 1)
        found += [item for item in demo_money.plan_items(demo_money.Ledger.load(db, contract), first)
                  if item.key in keys]
    return found
