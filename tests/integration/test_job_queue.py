"""The durable job queue (``lkk_app/jobs/queue.py``) over a table of its own —
not the outbox — so that what mail relies on holds for any kind of job:
payload, idempotency key, lease, retry with backoff, giving up; SQLite and
PostgreSQL (``SKIP LOCKED``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session

from lkk_app.jobs import queue as jobs


class _Base(DeclarativeBase):
    """Its own metadata: the application's tables and migrations never see it."""


class Delivery(_Base):
    __tablename__ = "test_delivery_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    payload_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=False))
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=False))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=False))
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=False))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=False))
    contract: Mapped[str] = mapped_column(sa.String(32), default="")


QUEUE = jobs.Queue(Delivery, name="delivery", log=logging.getLogger("lkk.test.delivery"),
                   max_attempts=3, default_expiry=timedelta(days=1))


@pytest.fixture
def tables(engine):
    _Base.metadata.create_all(engine)
    yield
    _Base.metadata.drop_all(engine)


def load(engine, pk: int) -> Delivery:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Delivery, pk)


def add(db, n: int = 1, **kw) -> list[int]:
    ids = [QUEUE.add(db, kind="reading", payload={"n": i, "value": "1 234,5"}, **kw).id
           for i in range(n)]
    db.commit()
    return ids


def claim(engine, **kw) -> list[int]:
    with Session(engine) as session:
        ids = QUEUE.claim(session, **kw)
        session.commit()
        return ids


def test_a_job_is_added_in_the_callers_transaction_with_its_payload(db, engine, tables, frozen_clock):
    job = QUEUE.add(db, kind="reading", payload={"meter": "ПУ-7", "value": 12.5}, contract="Д-1")
    db.rollback()
    assert claim(engine) == []
    job = QUEUE.add(db, kind="reading", payload={"meter": "ПУ-7", "value": 12.5}, contract="Д-1")
    db.commit()
    stored = load(engine, job.id)
    assert (stored.kind, stored.status, stored.attempts, stored.contract) == ("reading", "pending", 0, "Д-1")
    assert QUEUE.payload(stored) == {"meter": "ПУ-7", "value": 12.5}
    assert stored.next_attempt_at == frozen_clock.now
    assert stored.expires_at == frozen_clock.now + timedelta(days=1)
    with pytest.raises(ValueError):
        QUEUE.add(db, kind="")
    with pytest.raises(TypeError):
        QUEUE.add(db, kind="reading", payload={"x": object()})


def test_the_same_idempotency_key_gives_the_same_job(db, engine, tables):
    first = QUEUE.add(db, kind="reading", payload={"v": 1}, idempotency_key="reading:42")
    second = QUEUE.add(db, kind="reading", payload={"v": 2}, idempotency_key="reading:42")
    db.commit()
    assert second.id == first.id and QUEUE.payload(load(engine, first.id)) == {"v": 1}
    other = QUEUE.add(db, kind="reading", payload={"v": 3}, idempotency_key="reading:43")
    db.commit()
    assert other.id != first.id
    assert sorted(claim(engine)) == sorted([first.id, other.id])


def test_racing_adds_with_one_key_make_one_job(engine, tables, new_session):
    """Two transactions add the same key at once: the second waits for the
    first (the unique index) and then finds its row — one job, no error."""
    barrier = threading.Barrier(2)
    ids: list[int] = []
    errors: list[BaseException] = []

    def adder() -> None:
        session = new_session()
        try:
            barrier.wait(timeout=10)
            job = QUEUE.add(session, kind="reading", idempotency_key="reading:7")
            session.commit()
            ids.append(job.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=adder) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors
    assert len(set(ids)) == 1
    with Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 1


def test_claims_take_due_jobs_oldest_first_under_a_lease(db, engine, tables, frozen_clock):
    ids = add(db, 3)
    later = QUEUE.add(db, kind="reading", delay=timedelta(minutes=5)).id
    db.commit()
    assert claim(engine, limit=2, lease=timedelta(minutes=1)) == ids[:2]
    assert claim(engine, limit=10) == [ids[2]]
    assert claim(engine, limit=10) == []  # leased, and the delayed one is not due
    row = load(engine, ids[0])
    assert (row.status, row.attempts, row.locked_until) == ("running", 1, frozen_clock.now + timedelta(minutes=1))
    frozen_clock.advance(minutes=1)  # the first two leases lapse (their worker died)
    assert claim(engine, limit=10) == ids[:2]
    assert load(engine, ids[0]).attempts == 2
    frozen_clock.advance(minutes=4)
    assert later in claim(engine, limit=10)


def test_concurrent_claims_never_share_a_job(db, engine, tables, new_session):
    total = 40
    add(db, total)
    barrier = threading.Barrier(3)
    claimed: list[list[int]] = [[], [], []]
    errors: list[BaseException] = []

    def claimer(slot: int) -> None:
        try:
            barrier.wait(timeout=10)
            while True:
                session = new_session()
                try:
                    ids = QUEUE.claim(session, limit=3)
                    session.commit()
                finally:
                    session.close()
                if not ids:
                    return
                claimed[slot].extend(ids)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors
    flat = [pk for ids in claimed for pk in ids]
    assert len(flat) == len(set(flat)) == total


def test_retries_back_off_and_give_up_after_max_attempts(db, engine, tables, frozen_clock):
    (pk,) = add(db)
    with Session(engine) as s:
        for attempt, wait in ((1, 30), (2, 60)):
            assert QUEUE.claim(s) == [pk]
            assert QUEUE.mark_retry(s, pk, ConnectionError("billing down")) == jobs.RETRY
            s.commit()
            row = s.get(Delivery, pk)
            s.refresh(row)
            assert (row.status, row.attempts) == ("pending", attempt)
            assert row.next_attempt_at == frozen_clock.now + timedelta(seconds=wait)
            assert row.last_error == "ConnectionError: billing down"
            assert QUEUE.claim(s) == []  # not due yet
            frozen_clock.advance(seconds=wait)
        assert QUEUE.claim(s) == [pk]
        assert QUEUE.mark_retry(s, pk, "503") == "failed"  # the third attempt was the last
        s.commit()
        frozen_clock.advance(hours=2)
        assert QUEUE.claim(s) == []
    row = load(engine, pk)
    assert row.status == "failed" and row.last_error == "gave up after 3 attempts; last error: 503"
    assert row.locked_until is None


def test_a_job_past_its_expiry_is_failed_not_claimed(db, engine, tables, frozen_clock, caplog):
    caplog.set_level(logging.ERROR, logger="lkk.test.delivery")
    (pk,) = add(db, expires_in=timedelta(minutes=10))
    frozen_clock.advance(minutes=10)
    assert claim(engine) == []
    assert load(engine, pk).status == "failed"
    assert load(engine, pk).last_error == "expired before delivery"
    assert any(f"delivery #{pk} expired" in r.getMessage() for r in caplog.records)


def test_results_change_only_jobs_in_the_state_they_expect(db, engine, tables, frozen_clock):
    done, failed, pending = add(db, 3)
    with Session(engine) as s:
        assert sorted(QUEUE.claim(s, limit=2)) == [done, failed]
        assert QUEUE.finish(s, done, "done") == "done"
        assert QUEUE.finish(s, failed, "failed", "rejected: код ПУ неизвестен\r\nfoo") == "failed"
        s.commit()
        assert QUEUE.mark_done(s, done) is False  # not running any more
        assert QUEUE.mark_done(s, pending) is False  # never claimed
        assert QUEUE.mark_retry(s, done, "late") == jobs.RETRY  # a no-op
        s.commit()
    assert (load(engine, done).status, load(engine, done).finished_at) == ("done", frozen_clock.now)
    assert load(engine, failed).last_error == "rejected: код ПУ неизвестен foo"
    assert load(engine, pending).status == "pending"


def test_a_table_without_the_queue_columns_is_refused():
    class Loose(_Base):
        __tablename__ = "test_loose_job"
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str] = mapped_column(sa.String(32))

    with pytest.raises(ValueError, match="lacks queue columns"):
        jobs.Queue(Loose, name="loose", log=logging.getLogger("lkk.test"))
    _Base.metadata.remove(Loose.__table__)


@pytest.mark.asyncio
async def test_a_worker_runs_each_job_and_a_crash_waits_for_the_lease(db, engine, tables, frozen_clock):
    ok, crash = add(db, 2)
    seen: list[int] = []

    async def handler(pk: int) -> str:
        seen.append(pk)
        if pk == crash:
            raise RuntimeError("the billing adapter broke")

        def finish() -> str:
            with Session(engine) as session:
                result = QUEUE.finish(session, pk, "done")
                session.commit()
                return result

        return await asyncio.to_thread(finish)

    worker = jobs.Worker(QUEUE, handler, engine=engine, lease=timedelta(minutes=2))
    assert await worker.run_once() == 2
    assert sorted(seen) == [ok, crash]
    assert load(engine, ok).status == "done"
    assert load(engine, crash).status == "running"  # its lease brings it back
    assert await worker.run_once() == 0
    frozen_clock.advance(minutes=2)
    assert await worker.run_once() == 1 and seen[-1] == crash


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["run_once", "run_forever"])
async def test_a_slow_job_keeps_its_claim_by_the_workers_heartbeat(engine, tables, db, mode):
    """The lease is short (0.6 s here); the job takes 2 s.  While it runs, its
    worker renews the lease, so another worker claiming meanwhile gets nothing
    and the job runs once."""
    (pk,) = add(db)
    runs: list[int] = []
    finished = asyncio.Event()

    async def handler(job: int) -> str:
        runs.append(job)
        await asyncio.sleep(2.0)

        def finish() -> str:
            with Session(engine) as session:
                result = QUEUE.finish(session, job, "done")
                session.commit()
                return result

        result = await asyncio.to_thread(finish)
        finished.set()
        return result

    worker = jobs.Worker(QUEUE, handler, engine=engine, lease=timedelta(seconds=0.6),
                         poll_interval=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_once() if mode == "run_once" else worker.run_forever(stop))
    try:
        for _ in range(6):  # 1.5 s: the first lease ran out twice over
            await asyncio.sleep(0.25)
            assert await asyncio.to_thread(claim, engine, lease=timedelta(seconds=5)) == []
        await asyncio.wait_for(finished.wait(), timeout=5)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert runs == [pk]
    job = load(engine, pk)
    assert job.status == "done" and job.attempts == 1


def test_renewing_never_takes_back_a_finished_job(db, engine, tables):
    running, done = add(db, 2)
    assert sorted(claim(engine, lease=timedelta(seconds=30))) == [running, done]
    with Session(engine) as session:
        QUEUE.finish(session, done, "done")
        assert QUEUE.renew(session, [running, done], timedelta(minutes=5)) == 1
        session.commit()
    assert load(engine, done).status == "done" and load(engine, done).locked_until is None
    assert load(engine, running).locked_until > load(engine, running).created_at + timedelta(minutes=4)


@pytest.mark.asyncio
async def test_a_commit_wakes_the_running_worker(engine, tables):
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def handler(pk: int) -> str:
        loop.call_soon(done.set)
        return "done"

    worker = jobs.Worker(QUEUE, handler, engine=engine, poll_interval=60)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.sleep(0.2)  # the first, empty round is over: it waits 60 s now

        def add_in_a_request_thread() -> None:
            with Session(engine) as session:
                QUEUE.add(session, kind="reading")
                session.commit()

        await asyncio.to_thread(add_in_a_request_thread)
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert task.exception() is None
