"""Two job-worker processes (``python -m lkk_app.jobs.worker``) on one
PostgreSQL database share the letters and the deliveries to billing: each
letter reaches the SMTP server once and each reading set reaches billing once —
also when one worker is killed in the middle of its SMTP conversations (its
claimed jobs come back to the other one lease later)."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.appserver import ROOT, AppServer, free_port, server_env, using_server_database
from tests.cluster.conftest import postgres_database
from tests.fixtures.database import migrate

LEASE_SECONDS = 6
LETTERS = 30


class HoldingMailbox:
    """A real SMTP server (aiosmtpd) that holds every RCPT until released — so a
    sender can be killed while its conversations are open, before any of its
    letters got through — and keeps what it receives."""

    def __init__(self) -> None:
        import email
        import email.policy

        from aiosmtpd.controller import Controller

        self.received: list = []
        self.held_peers: list[tuple[str, int]] = []
        self.release = threading.Event()
        box = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if not box.release.is_set():
                    box.held_peers.append(session.peer)
                    while not box.release.is_set():
                        await asyncio.sleep(0.05)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                box.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


def owner_of(local_port: int, pids: list[int]) -> int:
    """The process among ``pids`` holding the TCP connection from ``local_port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                inodes.add(fields[9])
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    raise AssertionError(f"no process of {pids} holds the connection from port {local_port}")


def arrange(today) -> tuple[set[str], set[str]]:
    """The demo billing, two readings submissions (Д-1001, Д-3001) and 30 more
    letters, all queued; returns (the letters' Message-IDs, the readings keys)."""
    from sqlmodel import Session, select

    from lkk_app.billing import sync
    from lkk_app.billing.adapters.demo import DemoBilling
    from lkk_app.billing.adapters.demo_data import ensure_seeded
    from lkk_app.billing.readings import service
    from lkk_app.core import clock
    from lkk_app.db import get_engine
    from lkk_app.mail import outbox
    from lkk_app.models import OutboxMessage
    from tests.factories import make_member
    from tests.fixtures.billing_world import NORMAL

    engine = get_engine()
    now = clock.utcnow()
    with Session(engine) as db:
        ensure_seeded(db, today)
        db.commit()
    result = asyncio.run(sync.sync_all(engine, DemoBilling(engine, supplier="x")))
    assert result.ok, result.error
    keys = set()
    with Session(engine, expire_on_commit=False) as db:
        for login, organisation, contract, typed in (
                ("ann", "org-romashka", "ctr-1001", NORMAL),
                ("pete", "org-petrov", "ctr-3001", {"pu-3001-1-total": "15 800,5"})):
            user = make_member(db, login, organisation=organisation, contracts=(contract,), now=now)
            key = f"cluster-{contract}-0123456789"
            service.submit(db, user_id=user.id, user_login=login, contract_key=contract, typed=typed,
                           idempotency_key=key, today=today)
            keys.add(key)
            db.commit()
        for n in range(LETTERS):
            user = make_member(db, f"reader{n}", now=now)
            outbox.queue_password_changed(db, user, time="01.12.2026 10:00 (UTC+3)", ip="127.0.0.1",
                                          device="Chrome, Linux")
        db.commit()
        ids = set(db.exec(select(OutboxMessage.message_id)).all())
    assert len(ids) >= LETTERS + 2
    return ids, keys


def queued() -> set[str]:
    """The Message-IDs of every letter queued so far."""
    from lkk_app.db import session_scope
    from lkk_app.models import OutboxMessage

    with session_scope() as db:
        return set(db.execute(sa.select(OutboxMessage.message_id)).scalars())


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "lkk_app.jobs.worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.timeout(300)
def test_two_workers_hand_on_each_job_once_even_when_one_is_killed(tmp_path):
    box = HoldingMailbox()
    box.controller.start()
    workers: list[subprocess.Popen] = []
    try:
        with postgres_database() as url:
            migrate(url)
            env = server_env(0, tmp_path, REFLEX_DB_URL=url, LKK_SMTP_HOST="127.0.0.1",
                             LKK_SMTP_PORT=str(box.port), LKK_SMTP_TLS="none",
                             LKK_JOB_LEASE_SECONDS=str(LEASE_SECONDS), LKK_READINGS_WINDOW="1-31")
            server = AppServer("", 0, env, tmp_path, tmp_path / "none.log")
            with using_server_database(server):
                from lkk_app.core.formatting import local_today

                message_ids, reading_keys = arrange(local_today())
                workers = [start_worker(env, tmp_path / f"worker{n}.log") for n in (1, 2)]
                # Every conversation waits at RCPT: kill the worker of the first one.
                deadline = time.monotonic() + 60
                while not box.held_peers:
                    assert time.monotonic() < deadline, (tmp_path / "worker1.log").read_text()[-3000:]
                    time.sleep(0.05)
                victim = owner_of(box.held_peers[0][1], [w.pid for w in workers])
                os.kill(victim, signal.SIGKILL)
                survivor = next(w for w in workers if w.pid != victim)
                time.sleep(0.5)
                box.release.set()

                deadline = time.monotonic() + 60
                while len(box.received) < len(message_ids | queued()):
                    assert survivor.poll() is None, "the other worker stopped"
                    assert time.monotonic() < deadline, (
                        f"{len(box.received)} of {len(message_ids)} letters arrived; "
                        + (tmp_path / f"worker{workers.index(survivor) + 1}.log").read_text()[-3000:])
                    time.sleep(0.2)
                time.sleep(LEASE_SECONDS)  # time enough for a second copy, were there one
                counts = collections.Counter(str(m["Message-ID"]) for m in box.received)
                # The workers' own sync pass queued letters of its own (new documents).
                assert message_ids <= queued()
                assert set(counts) == queued()
                assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
                assert len(box.held_peers) >= 1

                from lkk_app.billing.adapters.demo_tables import DemoReadingBatch
                from lkk_app.billing.readings import tables
                from lkk_app.db import session_scope

                with session_scope() as db:
                    batches = db.execute(sa.select(DemoReadingBatch.contract_key)).scalars().all()
                    statuses = db.execute(sa.select(tables.ReadingSubmission.status)).scalars().all()
                assert sorted(batches) == ["ctr-1001", "ctr-3001"]  # each once
                assert len(reading_keys) == 2
                assert sorted(str(s) for s in statuses) == ["accepted", "accepted"], statuses
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
                try:
                    w.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    w.kill()
        box.controller.stop()
