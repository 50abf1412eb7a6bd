"""A durable job queue over a database table: add in the caller's transaction,
claim with a lease, retry with backoff, give up.

Mail uses it today (:data:`lkk_app.mail.outbox.OUTBOX` over ``lkk_outbox``);
deliveries to the billing system are the next kind of job.  One
:class:`Queue` describes one table; the table needs these columns (naive UTC
times, as everywhere in the cabinet):

``id`` (integer key), ``kind`` (what the job is, ≤ 32 characters),
``status``, ``attempts``, ``next_attempt_at``, ``locked_until``,
``expires_at``, ``last_error`` (≤ 500 characters), ``created_at``, a payload
column (JSON text), a time the job finished (``finished_at`` by default) and,
for idempotent jobs, a unique key column.

**Add** (:meth:`Queue.add`) in the same transaction as the data the job
belongs to: the row is committed, or rolled back, with it; once it commits,
this process's workers of the queue are woken (:meth:`Queue.wake`).  With an
``idempotency_key`` the same job is added once: a second add with the key
returns the row that is there (``INSERT … ON CONFLICT DO NOTHING``), also
when two transactions race.

**Claim** (:meth:`Queue.claim`): due ``pending`` rows, and ``running`` rows
whose lease ran out (their worker died), become ``running`` with
``locked_until = now + lease``.  Two processes never claim the same row:
PostgreSQL picks rows with ``SELECT … FOR UPDATE SKIP LOCKED``; every claim is
a conditional ``UPDATE … WHERE id = ? AND <still due>`` whose row count is
checked (on SQLite the first UPDATE takes the database's write lock until the
caller commits).  ``attempts`` counts claims, so a crashed attempt counts too.
Due rows past their ``expires_at`` are failed instead of claimed.

**Results**: :meth:`Queue.mark_done`, :meth:`Queue.mark_failed` (give up) and
:meth:`Queue.mark_retry` — the next attempt after :meth:`Queue.backoff`
(30 s · 2^(attempts−1), at most 1 h, by default), or failed when that attempt
would come after ``expires_at`` or ``max_attempts`` are used up.  Each only
changes a row that is still in the state it expects.

**Worker** (:class:`Worker`): ``await worker.run_forever(stop_event)`` in a
background task claims up to ``batch_size`` jobs and runs the handler of each
in a task of its own; database work runs in threads, never on the event loop.
While a job runs, the worker renews its lease every third of it
(:meth:`Queue.renew`, a heartbeat), so a slow delivery stays its worker's and
a dead worker's jobs come back one lease after it stopped.  Delivery is at
least once: a crash between the work and the mark runs the job again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, and_, or_, select, update

from lkk_app.core import clock
from lkk_app.core.text import clean
from lkk_app.db import dialect_insert, table_of

# A job's results: its finished status, or RETRY (it will run again).
RETRY = "retry"
FAILED = "failed"
KIND_MAX = 32
ERROR_MAX = 500
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_BATCH = 10
# Expired rows failed per claim at most (the rest the next time).
_EXPIRE_BATCH = 100

_REQUIRED_COLUMNS = ("id", "kind", "status", "attempts", "next_attempt_at", "locked_until",
                     "expires_at", "last_error", "created_at")


@dataclasses.dataclass(frozen=True)
class Statuses:
    """The values of the ``status`` column; also what a finished job's result is called."""

    pending: str = "pending"
    running: str = "running"
    done: str = "done"
    failed: str = FAILED


def clip(text: str, secret: str | None = None) -> str:
    """One line of at most 500 characters, without ``secret``."""
    if secret:
        text = text.replace(secret, "[secret]")
    return clean(text, ERROR_MAX, collapse=True)


def error_text(error: BaseException | str, secret: str | None = None) -> str:
    """A one-line description for ``last_error``: no secret, at most 500 characters."""
    if isinstance(error, BaseException):
        detail = str(error).strip()
        error = type(error).__name__ + (f": {detail}" if detail else "")
    return clip(error, secret)


def backoff(attempts: int, *, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base`` · 2^(attempts−1), at most ``cap``."""
    exponent = min(max(attempts, 1) - 1, 20)
    return min(base * (2**exponent), cap)


# --------------------------------------------------------------------------- the queue


@dataclasses.dataclass(frozen=True, eq=False)
class Queue:
    """One table of jobs and how to run it (see the module's description).

    ``name`` names the queue's jobs in logs (``mail #12 …``), ``items`` them
    all (``letters``); ``log`` is the logger.
    ``clear_when_finished``: columns set to NULL once a job is done or failed
    (a seed a secret is derived from, say).  ``default_expiry``: how long a
    job may be retried when :meth:`add` is not told (``None``: for ever).
    """

    model: Any
    name: str
    log: logging.Logger
    items: str = "jobs"
    statuses: Statuses = Statuses()
    payload_column: str = "payload_json"
    key_column: str | None = "idempotency_key"
    finished_column: str = "finished_at"
    clear_when_finished: tuple[str, ...] = ()
    default_expiry: timedelta | None = timedelta(days=3)
    max_attempts: int | None = None
    backoff_base: timedelta = BACKOFF_BASE
    backoff_cap: timedelta = BACKOFF_CAP

    def __post_init__(self) -> None:
        columns = table_of(self.model).c
        needed = [*_REQUIRED_COLUMNS, self.payload_column, self.finished_column,
                  *self.clear_when_finished, *([self.key_column] if self.key_column else [])]
        missing = [name for name in needed if name not in columns]
        if missing:
            raise ValueError(f"table {table_of(self.model).name} lacks queue columns {missing}")

    def _col(self, name: str):
        return getattr(self.model, name)

    # ------------------------------------------------------------------ add

    def add(
        self,
        session: Session,
        *,
        kind: str,
        payload: Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
        expires_in: timedelta | None = None,
        delay: timedelta = timedelta(0),
        **columns: object,
    ):
        """Add a pending job to the caller's session; flushes, does not commit.

        ``payload`` must be JSON-serialisable (``TypeError`` otherwise);
        ``columns`` fill the table's own columns.  With ``idempotency_key``
        an existing job with that key is returned instead of a new one.
        """
        if not isinstance(kind, str) or not 0 < len(kind) <= KIND_MAX:
            raise ValueError(f"kind must be a non-empty string of at most {KIND_MAX} characters")
        payload_json = json.dumps(dict(payload or {}), ensure_ascii=False, sort_keys=True)
        if expires_in is None:
            expires_in = self.default_expiry
        now = clock.utcnow()
        values: dict[str, object] = {
            **columns,
            "kind": kind,
            self.payload_column: payload_json,
            "status": self.statuses.pending,
            "attempts": 0,
            "next_attempt_at": now + delay,
            "locked_until": None,
            "expires_at": now + expires_in if expires_in is not None else None,
            "last_error": "",
            "created_at": now,
            self.finished_column: None,
        }
        if idempotency_key is None:
            row = self.model(**values)
            session.add(row)
            session.flush()
        else:
            if not self.key_column:
                raise ValueError(f"the {self.name} queue has no idempotency key column")
            values[self.key_column] = idempotency_key
            row = self._insert_once(session, values)
            if row is None:
                return self.by_key(session, idempotency_key)
        self._wake_after_commit(session)
        return row

    def _insert_once(self, session: Session, values: dict[str, object]):
        """Insert unless the key is taken; ``None`` then.  ON CONFLICT leaves the
        caller's transaction usable (a unique violation would abort it on PostgreSQL)."""
        table = table_of(self.model)
        stmt = (dialect_insert(session, table).values(**values)
                .on_conflict_do_nothing(index_elements=[self.key_column]).returning(table.c.id))
        pk = session.execute(stmt).scalar_one_or_none()
        return None if pk is None else session.get(self.model, pk)

    def by_key(self, session: Session, key: object):
        """The job added with this idempotency key, or ``None``."""
        if not self.key_column:
            raise ValueError(f"the {self.name} queue has no idempotency key column")
        return session.exec(select(self.model).where(self._col(self.key_column) == key)).first()

    def payload(self, row) -> dict:
        """A job's payload; ``ValueError`` when the stored text is not a JSON object."""
        value = json.loads(getattr(row, self.payload_column) or "{}")
        if not isinstance(value, dict):
            raise ValueError(f"{self.payload_column} is not an object")
        return value

    # ------------------------------------------------------------------ waking workers

    def _wake_after_commit(self, session: Session) -> None:
        """Nudge this process's workers once the caller's transaction commits."""
        flag = f"lkk_queue_wake:{self.name}"
        if session.info.get(flag):
            return
        session.info[flag] = True

        def _after_commit(sess) -> None:
            sess.info.pop(flag, None)
            self.wake()

        sa.event.listen(session, "after_commit", _after_commit, once=True)

    def wake(self) -> None:
        """Nudge every running :class:`Worker` of this queue in this process (thread-safe)."""
        for worker in list(_workers.get(self.name, ())):
            worker.wake()

    # ------------------------------------------------------------------ claiming

    def _due(self, now: datetime):
        """Rows a worker may take now: pending and due, or running with a lapsed lease."""
        m = self.model
        return or_(
            and_(m.status == self.statuses.pending, m.next_attempt_at <= now),
            and_(m.status == self.statuses.running,
                 or_(m.locked_until.is_(None), m.locked_until <= now)),
        )

    def _pick(self, session: Session, condition, limit: int) -> list:
        m = self.model
        stmt = (select(m.id, m.last_error).where(condition)
                .order_by(m.next_attempt_at, m.id).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list(session.exec(stmt).all())

    def _update(self, session: Session, *conditions, **values) -> bool:
        result = session.exec(
            update(self.model).where(*conditions).values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def claim(self, session: Session, *, limit: int = DEFAULT_BATCH,
              lease: timedelta = DEFAULT_LEASE) -> list[int]:
        """Claim up to ``limit`` jobs; return their ids, oldest due first.

        Jobs whose ``expires_at`` has passed are failed instead.  Call it in a
        fresh session and **commit at once** (it does not commit): the claim,
        and on SQLite the write lock, last until then.
        """
        if limit < 1:
            return []
        m = self.model
        now = clock.utcnow()
        expired = and_(m.expires_at.is_not(None), m.expires_at <= now)
        for pk, last_error in self._pick(session, and_(self._due(now), expired), _EXPIRE_BATCH):
            note = "expired before delivery" + (f"; last error: {last_error}" if last_error else "")
            if self._update(session, m.id == pk, self._due(now), expired,
                            **self._finished(self.statuses.failed, last_error=clip(note))):
                self.log.error("%s #%d expired before it could be delivered (%s)",
                               self.name, pk, last_error or "-")

        not_expired = or_(m.expires_at.is_(None), m.expires_at > now)
        claimed: list[int] = []
        for pk, _ in self._pick(session, and_(self._due(now), not_expired), limit):
            if self._update(session, m.id == pk, self._due(now), not_expired,
                            status=self.statuses.running, locked_until=now + lease,
                            attempts=m.attempts + 1):
                claimed.append(pk)
        session.flush()
        return claimed

    def renew(self, session: Session, ids: list[int], lease: timedelta = DEFAULT_LEASE) -> int:
        """Extend the lease of running jobs whose worker is still at work on them
        (the worker's heartbeat); return how many it kept.  A job taken over by
        another worker meanwhile is still ``running``, so this only ever
        lengthens a lease — it never takes a job away."""
        if not ids:
            return 0
        m = self.model
        result = session.execute(
            update(m).where(m.id.in_(ids), m.status == self.statuses.running)
            .values(locked_until=clock.utcnow() + lease).execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------------ results

    def _finished(self, status: str, **values: object) -> dict[str, object]:
        """Column values of a job that ends with ``status``."""
        return {"status": status, "locked_until": None,
                **{name: None for name in self.clear_when_finished}, **values}

    def _set(self, session: Session, pk: int, allowed: tuple[str, ...], **values) -> bool:
        return self._update(session, self.model.id == pk, self.model.status.in_(allowed), **values)

    def mark_done(self, session: Session, pk: int) -> bool:
        """The claimed job succeeded; False when it was not ``running`` any more."""
        return self._set(session, pk, (self.statuses.running,),
                         **self._finished(self.statuses.done,
                                          **{self.finished_column: clock.utcnow()}))

    def mark_failed(self, session: Session, pk: int, error: BaseException | str, *,
                    secret: str | None = None) -> bool:
        """Give up on a pending or running job."""
        return self._set(session, pk, (self.statuses.pending, self.statuses.running),
                         **self._finished(self.statuses.failed,
                                          last_error=error_text(error, secret)))

    def cancel(self, session: Session, pk: int, reason: str) -> bool:
        """Give up on a job that has not started: True when it was ``pending``
        (a job already claimed, or finished, is left alone: False)."""
        return self._set(session, pk, (self.statuses.pending,),
                         **self._finished(self.statuses.failed, last_error=error_text(reason)))

    def backoff(self, attempts: int) -> timedelta:
        return backoff(attempts, base=self.backoff_base, cap=self.backoff_cap)

    def mark_retry(self, session: Session, pk: int, error: BaseException | str, *,
                   secret: str | None = None) -> str:
        """Schedule the next attempt after :meth:`backoff`; :data:`RETRY`.

        The failed status instead when that attempt would come after the
        job's ``expires_at`` or its attempts are used up.  Nothing happens
        (:data:`RETRY`) when the row is not ``running`` any more."""
        m = self.model
        row = session.exec(select(m.attempts, m.expires_at).where(m.id == pk)).first()
        if row is None:
            return self.statuses.failed
        attempts, expires_at = row
        next_at = clock.utcnow() + self.backoff(attempts)
        text = error_text(error, secret)
        give_up = ""
        if expires_at is not None and next_at > expires_at:
            give_up = "expired"
        elif self.max_attempts is not None and attempts >= self.max_attempts:
            give_up = f"gave up after {attempts} attempts"
        if give_up:
            self._set(session, pk, (self.statuses.running,),
                      **self._finished(self.statuses.failed,
                                       last_error=clip(f"{give_up}; last error: {text}")))
            return self.statuses.failed
        self._set(session, pk, (self.statuses.running,), status=self.statuses.pending,
                  locked_until=None, next_attempt_at=next_at, last_error=text)
        return RETRY

    def finish(self, session: Session, pk: int, result: str, error: BaseException | str = "",
               *, secret: str | None = None) -> str:
        """Record a job's result (done, :data:`RETRY` or failed); the result it got."""
        if result == self.statuses.done:
            if not self.mark_done(session, pk):
                self.log.warning("%s #%d was %s but its claim had lapsed",
                                 self.name, pk, self.statuses.done)
            return self.statuses.done
        if result == RETRY:
            return self.mark_retry(session, pk, error, secret=secret)
        self.mark_failed(session, pk, error, secret=secret)
        return self.statuses.failed


# --------------------------------------------------------------------------- the worker

# Running workers per queue name, for Queue.wake.
_workers: dict[str, weakref.WeakSet[Worker]] = {}

Handler = Callable[[int], Awaitable[str]]


class Worker:
    """Claims jobs of one queue and runs ``handler(job_id)`` for each; one per
    process is enough, several (processes, hosts) are safe.

    The handler runs a claimed job and records its result (``Queue.finish``
    in a thread); it returns the result.  An exception leaves the job to its
    lease, which brings it back to the next claim.
    """

    def __init__(
        self,
        queue: Queue,
        handler: Handler,
        *,
        engine: sa.Engine | Callable[[], sa.Engine],
        poll_interval: float = 1.0,
        batch_size: int = DEFAULT_BATCH,
        lease: timedelta = DEFAULT_LEASE,
        label: str | None = None,
    ):
        self.queue = queue
        self.handler = handler
        # How the log lines name this worker ("outbox worker started").
        self.label = label or queue.name
        self._engine = engine
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.lease = lease
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_event: asyncio.Event | None = None

    @property
    def engine(self) -> sa.Engine:
        if not isinstance(self._engine, sa.Engine):
            self._engine = self._engine()
        return self._engine

    def describe(self) -> str:
        """What the start-up log line says about this worker."""
        return self.queue.name

    def _claim(self, limit: int | None = None) -> list[int]:
        with Session(self.engine, expire_on_commit=False) as session:
            ids = self.queue.claim(session, limit=limit or self.batch_size, lease=self.lease)
            session.commit()
            return ids

    async def _run(self, pk: int) -> str:
        try:
            return await self.handler(pk)
        except Exception:
            self.queue.log.exception("%s #%d: the job crashed; it will be retried after its lease",
                                     self.queue.name, pk)
            return RETRY

    def _renew(self, ids: list[int]) -> None:
        with Session(self.engine) as session:
            self.queue.renew(session, ids, self.lease)
            session.commit()

    async def _heartbeat(self, running: Callable[[], list[int]]) -> None:
        """Every third of the lease, extend the lease of the jobs still running
        here: a job is someone else's only when this process stopped beating
        (it died or hangs), not because a delivery is slow."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            ids = running()
            if ids:
                try:
                    await asyncio.to_thread(self._renew, ids)
                except Exception:
                    self.queue.log.exception("%s worker: renewing the lease of %d job(s) failed",
                                             self.label, len(ids))

    async def run_once(self) -> int:
        """Claim one batch and run it (concurrently); return how many jobs were run."""
        ids = await asyncio.to_thread(self._claim)
        if ids:
            left = set(ids)

            async def run(pk: int) -> None:
                await self._run(pk)
                left.discard(pk)

            beat = asyncio.create_task(self._heartbeat(lambda: sorted(left)))
            try:
                await asyncio.gather(*(run(pk) for pk in ids))
            finally:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
        return len(ids)

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Run jobs until ``stop_event`` is set; errors are logged, never raised.

        At most ``batch_size`` jobs run at once, each in a task of its own: a
        slow one holds one place, not the whole queue.  Between claims the
        worker waits ``poll_interval``, or until :meth:`wake` or a job ends.
        Stopping cancels the jobs under way; their lease brings them back."""
        self._loop = asyncio.get_running_loop()
        self._wake_event = asyncio.Event()
        _workers.setdefault(self.queue.name, weakref.WeakSet()).add(self)
        log = self.queue.log
        log.info("%s worker started (%s)", self.label, self.describe())
        in_flight: dict[asyncio.Task, int] = {}

        def _ended(task: asyncio.Task) -> None:
            in_flight.pop(task, None)
            self.wake()

        beat = asyncio.create_task(self._heartbeat(lambda: sorted(in_flight.values())),
                                   name=f"lkk-{self.queue.name}-heartbeat")

        try:
            while not stop_event.is_set():
                self._wake_event.clear()
                free = self.batch_size - len(in_flight)
                claimed = 0
                if free > 0:
                    try:
                        ids = await asyncio.to_thread(self._claim, free)
                    except Exception:
                        log.exception("%s worker: claiming %s failed", self.label, self.queue.items)
                        ids = []
                    for pk in ids:
                        task = asyncio.create_task(self._run(pk), name=f"lkk-{self.queue.name}-{pk}")
                        in_flight[task] = pk
                        task.add_done_callback(_ended)
                    claimed = len(ids)
                if free > 0 and claimed >= free:
                    await asyncio.sleep(0)
                    continue
                await self._wait(stop_event)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            for task in list(in_flight):
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            _workers.get(self.queue.name, weakref.WeakSet()).discard(self)
            self._wake_event = None
            self._loop = None
            log.info("%s worker stopped", self.label)

    async def _wait(self, stop_event: asyncio.Event) -> None:
        wake_event = self._wake_event
        if wake_event is None:  # not running
            return
        waiters = [
            asyncio.ensure_future(stop_event.wait()),
            asyncio.ensure_future(wake_event.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def wake(self) -> None:
        """Make a waiting :meth:`run_forever` look for jobs now.  Safe from any thread."""
        loop, event = self._loop, self._wake_event
        if loop is None or event is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)
