"""The billing connection's background work in a server process: the demo
billing seeded on first start, the deliveries to billing sent, and the read
copy synced every ``LKK_BILLING_SYNC_MINUTES`` (and on demand, :func:`request_sync`).

Several processes may each run it: deliveries are claimed with a lease and
each kind of the sync is leased (:mod:`lkk_app.billing.sync`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import sqlalchemy as sa
from sqlmodel import Session

from lkk_app.billing import get_gateway, notifications, sync
from lkk_app.billing.deliveries import DeliveryWorker
from lkk_app.billing.gateway import BillingGateway
from lkk_app.core import clock
from lkk_app.core.formatting import local_today
from lkk_app.settings import BILLING_DEMO, Settings

log = logging.getLogger("lkk.billing")

_wake: asyncio.Event | None = None
_gateway: BillingGateway | None = None


def gateway() -> BillingGateway:
    """This process's billing gateway (made on first use, on the app's engine)."""
    global _gateway
    if _gateway is None:
        from lkk_app import db as db_module
        from lkk_app.settings import get_settings

        _gateway = get_gateway(get_settings(), engine=db_module.get_engine())
    return _gateway


def seed_demo_if_empty(engine: sa.Engine, settings: Settings) -> bool:
    """Fill an empty demo billing with the demo data (demo adapter only)."""
    if settings.billing_adapter != BILLING_DEMO:
        return False
    from lkk_app.billing.adapters.demo_data import ensure_seeded

    with Session(engine) as db:
        seeded = ensure_seeded(db, clock.utcnow().date())
        db.commit()
    return seeded


def notify(engine: sa.Engine, settings: Settings) -> int:
    """The letters due after a sync pass (:mod:`lkk_app.billing.notifications`)."""
    return notifications.run_pass(engine, today=local_today(settings), now=clock.utcnow(), settings=settings)


async def run_sync_schedule(engine: sa.Engine, gateway: BillingGateway, minutes: int,
                            stop: asyncio.Event, wake: asyncio.Event, settings: Settings | None = None,
                            letters_queued: Callable[[], None] = lambda: None) -> None:
    """A pass now, then every ``minutes`` or when woken, each followed by the
    letters it makes due (``letters_queued`` is called when there are some);
    errors are logged, never raised."""
    while not stop.is_set():
        try:
            result = await sync.sync_all(engine, gateway)
            if not result.ok:
                log.warning("billing sync stopped: %s (the copy keeps what it has)", result.error)
            elif result.received:
                log.info("billing sync received %d records", result.received)
        except Exception:
            log.exception("billing sync failed")
        if settings is not None:
            try:
                if await asyncio.to_thread(notify, engine, settings):
                    letters_queued()
            except Exception:
                log.exception("notifications failed")
        wake.clear()
        with contextlib.suppress(TimeoutError):
            stop_or_wake = asyncio.ensure_future(_first(stop, wake))
            await asyncio.wait_for(stop_or_wake, timeout=minutes * 60)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def request_sync() -> None:
    """Ask this process's sync for a pass now (after a binding; a stale copy)."""
    if _wake is not None:
        _wake.set()


@contextlib.asynccontextmanager
async def billing_background(engine: sa.Engine, settings: Settings,
                             letters_queued: Callable[[], None] = lambda: None) -> AsyncIterator[None]:
    global _wake
    await asyncio.to_thread(seed_demo_if_empty, engine, settings)
    if settings.demo:
        from lkk_app.billing.demo_access import ensure_demo_account

        await asyncio.to_thread(ensure_demo_account, engine, settings)
    gateway = get_gateway(settings, engine=engine)
    stop, wake = asyncio.Event(), asyncio.Event()
    worker = DeliveryWorker(gateway, engine=engine, settings=settings)
    tasks = [asyncio.create_task(worker.run_forever(stop), name="lkk-billing-deliveries"),
             asyncio.create_task(run_sync_schedule(engine, gateway, settings.billing_sync_minutes, stop, wake,
                                                   settings, letters_queued), name="lkk-billing-sync")]
    _wake = wake
    try:
        yield
    finally:
        _wake = None
        stop.set()
        worker.wake()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=20)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        await gateway.aclose()
