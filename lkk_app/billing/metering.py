"""«Точки учёта»: the metering points of a bound contract with their meters,
transformers and installations, and a meter's history of readings — from the
read copy (:mod:`lkk_app.billing.store`) and the cabinet's own submissions.

Every function starts with the ownership check: a point, a meter or a
contract that is not the user's organisation's is «не найден», exactly like
one that does not exist (:func:`lkk_app.billing.binding.require_contract`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeGuard

from sqlmodel import Session, col, select

from lkk_app.billing import binding, store
from lkk_app.billing.binding import BindingError
from lkk_app.billing.readings import tables
from lkk_app.billing.types import (
    ChangeKind,
    Contract,
    Installation,
    Meter,
    MeteringPoint,
    ReadingSource,
    Zone,
)

VERIFICATION_SOON = timedelta(days=90)
# Verification states of a meter (with its transformers).
VERIFIED, SOON, EXPIRED = "ok", "soon", "expired"
PAGE_MAX = 200


@dataclasses.dataclass(frozen=True, slots=True)
class PointView:
    """A point with the meter installed there now (``None`` when none is)."""

    point: MeteringPoint
    installation: Installation | None
    meter: Meter | None


@dataclasses.dataclass(frozen=True, slots=True)
class PointsPage:
    contract: Contract
    points: tuple[PointView, ...]
    total: int
    as_of: datetime | None  # «Данные на …»
    billing_down: bool


@dataclasses.dataclass(frozen=True, slots=True)
class InstallationView:
    installation: Installation
    meter: Meter | None


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryRow:
    """One reading of a meter: billing's (any source), or one given in the cabinet."""

    as_of: date
    register_key: str
    zone: Zone | None
    value: Decimal
    consumption: Decimal | None
    source: ReadingSource
    status: str  # tables.SUBMITTED | ACCEPTED | REJECTED | REPLACED
    reason: str | None = None  # the code of a rejection
    given_by: str = ""  # the login of who gave it in the cabinet
    given_at: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PointCard:
    contract: Contract
    view: PointView
    installations: tuple[InstallationView, ...]  # newest first
    history: tuple[HistoryRow, ...]  # of the meter installed now, newest first


# --------------------------------------------------------------------------- ownership


def require_point(db: Session, user_id: int, point_key: object) -> MeteringPoint:
    """The point when its contract is bound to one of the user's organisations;
    otherwise :class:`BindingError` ``point.not_found``."""
    point = store.get_record(db, ChangeKind.POINTS, point_key) if _key(point_key) else None
    if point is None:
        raise BindingError("point.not_found")
    try:
        binding.require_contract(db, user_id, point.contract_key)
    except BindingError:
        raise BindingError("point.not_found") from None
    return point


def require_meter(db: Session, user_id: int, meter_key: object) -> tuple[Meter, list[Installation]]:
    """The meter when it stands (or stood) at a point of the user's organisations,
    with its installations there; otherwise :class:`BindingError` ``meter.not_found``."""
    meter = store.get_record(db, ChangeKind.METERS, meter_key) if _key(meter_key) else None
    if meter is None:
        raise BindingError("meter.not_found")
    installations = [i for i in _installations_of_meter(db, meter.key) if _owns_point(db, user_id, i.point_key)]
    if not installations:
        raise BindingError("meter.not_found")
    return meter, installations


def _key(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= 40


def _owns_point(db: Session, user_id: int, point_key: str) -> bool:
    try:
        require_point(db, user_id, point_key)
    except BindingError:
        return False
    return True


def _installations_of_meter(db: Session, meter_key: str) -> list[Installation]:
    rows = db.exec(select(store.BillingCopy.key).where(store.BillingCopy.kind == ChangeKind.INSTALLATIONS.value,
                                                       store.BillingCopy.ref_key == meter_key)).all()
    return list(store.records(db, ChangeKind.INSTALLATIONS, rows).values())


# --------------------------------------------------------------------------- what stands where


def installed_on(installation: Installation, day: date) -> bool:
    return installation.installed_on <= day and (installation.removed_on is None or installation.removed_on > day)


def current_installation(installations: Iterable[Installation], day: date) -> Installation | None:
    """The installation in force on ``day`` (the latest, if billing lists two)."""
    standing = [i for i in installations if installed_on(i, day)]
    return max(standing, key=lambda i: i.installed_on) if standing else None


def point_active(point: MeteringPoint, day: date) -> bool:
    return point.active_from <= day and (point.active_to is None or point.active_to >= day)


def verification_due(meter: Meter) -> date:
    """The earliest next verification of the meter and its transformers."""
    return min([meter.next_verification, *(t.next_verification for t in meter.transformers)])


def verification_state(meter: Meter, today: date) -> str:
    """:data:`EXPIRED` when the verification date has passed, :data:`SOON` within 90 days."""
    due = verification_due(meter)
    if due <= today:
        return EXPIRED
    return SOON if due - today <= VERIFICATION_SOON else VERIFIED


def views(db: Session, points: Sequence[MeteringPoint], day: date) -> list[PointView]:
    """Each point with the meter installed on ``day`` (three queries, whatever the number of points)."""
    installations = store.children(db, ChangeKind.INSTALLATIONS, [p.key for p in points])
    by_point: dict[str, list[Installation]] = {}
    for inst in installations:
        by_point.setdefault(inst.point_key, []).append(inst)
    current = {p.key: current_installation(by_point.get(p.key, ()), day) for p in points}
    meters = store.records(db, ChangeKind.METERS, [i.meter_key for i in current.values() if i is not None])
    return [PointView(p, inst, meters.get(inst.meter_key) if inst else None)
            for p in points for inst in [current[p.key]]]


# --------------------------------------------------------------------------- pages


def _contract(db: Session, user_id: int, contract_key: object) -> Contract:
    return binding.require_bound_contract(db, user_id, contract_key)[1]


def points_page(db: Session, user_id: int, contract_key: object, *, query: str = "", offset: int = 0,
                limit: int = 50, today: date) -> PointsPage:
    """The contract's points (``query`` in a name, address, code or a meter's serial), one page."""
    contract = _contract(db, user_id, contract_key)
    offset, limit = max(0, int(offset)), max(1, min(int(limit), PAGE_MAX))
    points, total = store.points_page(db, contract.key, query.strip()[:100], offset=offset, limit=limit)
    return PointsPage(contract, tuple(views(db, points, today)), total,
                      store.data_as_of(db), store.last_error(db) is not None)


def point_card(db: Session, user_id: int, point_key: object, *, today: date) -> PointCard:
    """A point, its meter, its installations and the meter's readings."""
    point = require_point(db, user_id, point_key)
    contract = _contract(db, user_id, point.contract_key)
    installations = sorted(store.children(db, ChangeKind.INSTALLATIONS, [point.key]),
                           key=lambda i: i.installed_on, reverse=True)
    meters = store.records(db, ChangeKind.METERS, [i.meter_key for i in installations])
    current = current_installation(installations, today)
    view = PointView(point, current, meters.get(current.meter_key) if current else None)
    history = _history(db, view.meter, [point.key]) if view.meter else ()
    return PointCard(contract, view, tuple(InstallationView(i, meters.get(i.meter_key)) for i in installations),
                     history)


def meter_history(db: Session, user_id: int, meter_key: object) -> tuple[Meter, tuple[HistoryRow, ...]]:
    """Every reading of a meter the user's organisation has (had) at its points."""
    meter, installations = require_meter(db, user_id, meter_key)
    return meter, _history(db, meter, [i.point_key for i in installations])


def _history(db: Session, meter: Meter, point_keys: Sequence[str]) -> tuple[HistoryRow, ...]:
    zones = {r.key: r.zone for r in meter.registers}
    rows = [HistoryRow(r.as_of, r.register_key, zones.get(r.register_key), r.value, r.consumption_kwh, r.source,
                       tables.ACCEPTED)
            for r in store.readings_of_meter(db, meter.key) if r.point_key in point_keys]
    seen = {(r.register_key, r.as_of) for r in rows}
    given = db.exec(
        select(tables.ReadingValue, tables.ReadingSubmission)
        .join(tables.ReadingSubmission, col(tables.ReadingSubmission.id) == col(tables.ReadingValue.submission_id))
        .where(tables.ReadingValue.meter_key == meter.key, col(tables.ReadingValue.point_key).in_(list(point_keys)))
    ).all()
    for value, sub in given:
        if value.status == tables.ACCEPTED and (value.register_key, value.as_of) in seen:
            continue  # billing's copy of it is there already
        rows.append(HistoryRow(value.as_of, value.register_key, zones.get(value.register_key), value.value,
                               value.billing_consumption or value.consumption, ReadingSource(sub.source),
                               value.status, value.reason, sub.user_login, sub.created_at))
    tariff = {r.key: r.tariff for r in meter.registers}
    rows.sort(key=lambda r: (r.as_of, r.given_at or datetime.min, -tariff.get(r.register_key, 0)), reverse=True)
    return tuple(rows)
