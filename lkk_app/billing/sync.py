"""Pull billing's changes into the read copy (:mod:`lkk_app.billing.store`).

One pass walks the kinds in dependency order (organisations, contracts,
points, meters, installations); each kind is pulled page by page after its own
cursor, and every page is stored together with the cursor that follows it in
one transaction — an interrupted pass resumes where it stopped, and a page
received twice is stored twice to the same effect.  A kind is leased while it
is pulled (a conditional update), so several workers never pull the same kind
at once.  When billing is unavailable the pass stops, the copy keeps what it
had, and the error is recorded for ``billing status``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, update

from lkk_app.billing import store
from lkk_app.billing.gateway import BillingError, BillingGateway, BillingRejected, BillingUnavailable
from lkk_app.billing.types import ChangeKind, Changes
from lkk_app.core import clock
from lkk_app.db import rowcount

# Kinds in the order their records refer to each other.
ORDER: tuple[ChangeKind, ...] = (
    ChangeKind.ORGANISATIONS,
    ChangeKind.CONTRACTS,
    ChangeKind.POINTS,
    ChangeKind.METERS,
    ChangeKind.INSTALLATIONS,
    ChangeKind.READINGS,
    ChangeKind.DOCUMENTS,
    ChangeKind.PAYMENTS,
    ChangeKind.BALANCES,
    ChangeKind.PLAN_ITEMS,
)
PAGE_SIZE = 500
LEASE = timedelta(minutes=5)

Progress = Callable[[ChangeKind, int], None]


@dataclasses.dataclass(frozen=True, slots=True)
class KindResult:
    kind: ChangeKind
    received: int
    busy: bool = False  # another worker holds the lease


@dataclasses.dataclass(frozen=True, slots=True)
class SyncResult:
    kinds: tuple[KindResult, ...]
    error: str | None = None  # "unavailable:<reason>" or "rejected:<code>"

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def received(self) -> int:
        return sum(k.received for k in self.kinds)


def _claim(engine: sa.Engine, kind: ChangeKind) -> tuple[bool, str | None]:
    now = clock.utcnow()
    with Session(engine) as db:
        store.sync_state(db, kind)
        claimed = rowcount(db.execute(
            update(store.BillingSyncState)
            .where(col(store.BillingSyncState.kind) == kind.value,
                   sa.or_(col(store.BillingSyncState.running_until).is_(None),
                          col(store.BillingSyncState.running_until) < now))
            .values(running_until=now + LEASE, last_attempt_at=now)
        )) == 1
        db.commit()
        state = db.get(store.BillingSyncState, kind.value)
        return claimed, state.cursor if state is not None else None


def _apply_page(engine: sa.Engine, kind: ChangeKind, changes: Changes) -> None:
    now = clock.utcnow()
    with Session(engine) as db:
        store.store_records(db, kind, changes.rows, now)
        state = store.sync_state(db, kind)
        state.cursor = changes.cursor
        state.rows_received += len(changes.rows)
        state.running_until = now + LEASE
        db.add(state)
        db.commit()


def _finish(engine: sa.Engine, kind: ChangeKind, error: str | None) -> None:
    now = clock.utcnow()
    with Session(engine) as db:
        state = store.sync_state(db, kind)
        state.running_until = None
        state.last_error = error
        if error is None:
            state.last_ok_at = now
        db.add(state)
        db.commit()


def _error_code(exc: BillingError) -> str:
    if isinstance(exc, BillingUnavailable):
        return f"unavailable:{exc.reason}"[:100]
    if isinstance(exc, BillingRejected):
        return f"rejected:{exc.code}"[:100]
    return "error"


async def sync_kind(engine: sa.Engine, gateway: BillingGateway, kind: ChangeKind, *,
                    page_size: int = PAGE_SIZE, progress: Progress | None = None) -> KindResult:
    """Pull every change of ``kind`` after its cursor; raises :class:`BillingError`."""
    claimed, cursor = await asyncio.to_thread(_claim, engine, kind)
    if not claimed:
        return KindResult(kind, 0, busy=True)
    received = 0
    try:
        while True:
            changes = await gateway.changes(kind, cursor, page_size)
            await asyncio.to_thread(_apply_page, engine, kind, changes)
            received += len(changes.rows)
            if progress is not None:
                progress(kind, received)
            if not changes.has_more or changes.cursor == cursor:
                break
            cursor = changes.cursor
    except BillingError as exc:
        await asyncio.to_thread(_finish, engine, kind, _error_code(exc))
        raise
    except BaseException:
        await asyncio.to_thread(_finish, engine, kind, "error")
        raise
    await asyncio.to_thread(_finish, engine, kind, None)
    return KindResult(kind, received)


async def sync_all(engine: sa.Engine, gateway: BillingGateway, *, page_size: int = PAGE_SIZE,
                   progress: Progress | None = None) -> SyncResult:
    """One pass over every kind; stops at the first billing error (the copy keeps what it has)."""
    done: list[KindResult] = []
    for kind in ORDER:
        try:
            done.append(await sync_kind(engine, gateway, kind, page_size=page_size, progress=progress))
        except BillingError as exc:
            return SyncResult(tuple(done), error=_error_code(exc))
    return SyncResult(tuple(done))


def copy_is_stale(db: Session, minutes: int, now: datetime | None = None) -> bool:
    """True when the copy is older than ``minutes`` (or was never complete)."""
    as_of = store.data_as_of(db, ORDER)
    moment = now or clock.utcnow()
    return as_of is None or moment - as_of >= timedelta(minutes=minutes)


def is_stale(engine: sa.Engine, minutes: int, now: datetime | None = None) -> bool:
    """:func:`copy_is_stale` in a session of its own (call it in a worker thread)."""
    with Session(engine) as db:
        return copy_is_stale(db, minutes, now)
