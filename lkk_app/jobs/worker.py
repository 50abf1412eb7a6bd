"""The background work of a server process: the outbox sender, the billing
connection (deliveries, sync) and housekeeping.

The app runs it for as long as it runs (:func:`background_lifespan`, a
lifespan task); ``python -m lkk_app.jobs.worker`` runs the same in a process
of its own (``--once``: one batch of letters, then exit).  Several processes
(workers, hosts) may each run one: letters and deliveries are claimed with a
lease (``LKK_JOB_LEASE_SECONDS``), so each is handed on by one worker at a
time, and a worker that dies leaves its jobs to the others when the lease
runs out.

The minters of letter secrets are registered here, when a sender is made
(:func:`letter_secrets`), so a sender works in any process — it does not
depend on which modules happened to be imported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

import sqlalchemy as sa

from lkk_app import db as db_module
from lkk_app.auth import recovery, registration
from lkk_app.billing import binding_flow
from lkk_app.billing.background import billing_background
from lkk_app.core import tokens
from lkk_app.jobs import housekeeping
from lkk_app.jobs.queue import DEFAULT_BATCH, Worker
from lkk_app.mail import delivery
from lkk_app.mail.delivery import SecretMinters
from lkk_app.mail.outbox import OUTBOX
from lkk_app.settings import Settings, get_settings

log = logging.getLogger("lkk.mail")

HOUSEKEEPING_INTERVAL = 3600.0
HOUSEKEEPING_FIRST = 60.0


def letter_secrets() -> SecretMinters:
    """Every secret a letter can carry, with the function that mints it."""
    return SecretMinters({
        tokens.CONFIRM_EMAIL: registration.mint_confirmation,
        tokens.TEMP_PASSWORD: recovery.mint_temp_password,
        tokens.BINDING_CODE: binding_flow.mint_binding_code,
    })


class OutboxWorker(Worker):
    """Claims and delivers letters (:data:`lkk_app.mail.outbox.OUTBOX`)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: sa.Engine | None = None,
        minters: SecretMinters | None = None,
        poll_interval: float = 1.0,
        batch_size: int = DEFAULT_BATCH,
        lease: timedelta | None = None,
    ):
        self.settings = settings or get_settings()
        # A slow SMTP conversation keeps its claim by the worker's heartbeat.
        lease = timedelta(seconds=self.settings.job_lease_seconds) if lease is None else lease
        self.minters = letter_secrets() if minters is None else minters
        super().__init__(OUTBOX, self._deliver, engine=engine or db_module.get_engine,
                         poll_interval=poll_interval, batch_size=batch_size, lease=lease,
                         label="outbox")

    async def _deliver(self, pk: int) -> str:
        return await delivery.deliver_one(pk, self.settings, engine=self.engine,
                                          minters=self.minters)

    def describe(self) -> str:
        s = self.settings
        if s.mail_enabled_smtp:
            return f"SMTP {s.smtp_host}:{s.smtp_port} {s.smtp_tls}"
        return f"development mailbox {s.mail_dir}"


# --------------------------------------------------------------------------- housekeeping


def _housekeeping_pass() -> dict[str, int]:
    with db_module.session_scope() as db:
        return housekeeping.run(db)


async def run_housekeeping(stop: asyncio.Event, *, first: float = HOUSEKEEPING_FIRST) -> None:
    """Once an hour (and ``first`` seconds after start), delete rows that no
    longer matter.  Several processes may do it at once: the deletes are idempotent."""
    delay = first
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except TimeoutError:
            pass
        try:
            removed = await asyncio.to_thread(_housekeeping_pass)
            if any(removed.values()):
                log.info("housekeeping removed %s", removed)
        except Exception:  # keep the app running; try again next hour
            log.exception("housekeeping failed")
        delay = HOUSEKEEPING_INTERVAL


# --------------------------------------------------------------------------- in the app

_worker: OutboxWorker | None = None


@contextlib.asynccontextmanager
async def background_lifespan():
    """Lifespan task: run the sender, housekeeping and the billing connection
    (deliveries, sync) for as long as the app runs."""
    global _worker
    worker = OutboxWorker(get_settings())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop), name="lkk-outbox-sender")
    cleaner = asyncio.create_task(run_housekeeping(stop), name="lkk-housekeeping")
    _worker = worker
    try:
        async with billing_background(db_module.get_engine(), worker.settings, wake_mail_sender):
            yield
    finally:
        _worker = None
        stop.set()
        worker.wake()
        try:
            await asyncio.wait_for(task, timeout=20)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
        cleaner.cancel()


def wake_mail_sender() -> None:
    """Nudge this process's sender after queueing a letter (it also polls)."""
    if _worker is not None:
        _worker.wake()


# --------------------------------------------------------------------------- a process of its own


async def _serve(once: bool) -> int:
    worker = OutboxWorker(get_settings())
    if once:
        sent = await worker.run_once()
        log.info("outbox worker: %d letter(s) processed", sent)
        return 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with billing_background(db_module.get_engine(), worker.settings, worker.wake):
        await asyncio.gather(worker.run_forever(stop), run_housekeeping(stop))
    return 0


def main(argv: list[str] | None = None) -> int:
    from lkk_app.i18n import t
    from lkk_app.logs import setup_logging

    parser = argparse.ArgumentParser(prog="python -m lkk_app.jobs.worker",
                                     description=t("worker.description"))
    parser.add_argument("--once", action="store_true", help=t("worker.once"))
    args = parser.parse_args(argv)
    setup_logging()
    return asyncio.run(_serve(args.once))


if __name__ == "__main__":
    raise SystemExit(main())
