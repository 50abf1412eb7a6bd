"""One outbox sender per server process, started with the app.

Several processes (workers, hosts) may each run one: rows are claimed with a
lease, so a letter is handed to SMTP by one sender at a time, and a sender
that dies leaves its rows to be picked up when the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("lkk.mail")

_worker = None


@contextlib.asynccontextmanager
async def mail_sender_lifespan():
    """Lifespan task: run the sender for as long as the app runs."""
    global _worker
    from lkk_app.mail.outbox import OutboxWorker
    from lkk_app.settings import get_settings

    worker = OutboxWorker(get_settings())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop), name="lkk-outbox-sender")
    cleaner = asyncio.create_task(_housekeeping(stop), name="lkk-housekeeping")
    _worker = worker
    try:
        yield
    finally:
        _worker = None
        stop.set()
        worker.wake()
        try:
            await asyncio.wait_for(task, timeout=20)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            task.cancel()
        cleaner.cancel()


HOUSEKEEPING_INTERVAL = 3600.0


def _housekeeping_pass() -> dict[str, int]:
    from lkk_app.db import session_scope
    from lkk_app.jobs import housekeeping

    with session_scope() as db:
        return housekeeping.run(db)


async def _housekeeping(stop: asyncio.Event) -> None:
    """Once an hour (and shortly after start), delete rows that no longer matter.
    Several processes may do it at once: the deletes are idempotent."""
    delay = 60.0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except asyncio.TimeoutError:
            pass
        try:
            removed = await asyncio.to_thread(_housekeeping_pass)
            if any(removed.values()):
                log.info("housekeeping removed %s", removed)
        except Exception:  # keep the app running; try again next hour
            log.exception("housekeeping failed")
        delay = HOUSEKEEPING_INTERVAL


def wake_mail_sender() -> None:
    """Nudge this process's sender after queueing a letter (it also polls)."""
    if _worker is not None:
        _worker.wake()
