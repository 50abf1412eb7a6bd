"""Registration as a whole: one transaction for user + letter, races, a hanging SMTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading

import pytest
from sqlmodel import select

from lkk_app.models import OutboxMessage, User
from lkk_app.auth import registration
from lkk_app.jobs.worker import OutboxWorker
from lkk_app.core.errors import FieldErrors

PASSWORD = "Тёплый ветер над Волгой"


def _register(session, settings, login="Smirnov", **overrides):
    fields = dict(login=login, email=f"{login.lower()}@example.com", phone="+7 912 000-11-22",
                  password=PASSWORD, password_confirm=PASSWORD, captcha_ok=True)
    fields.update(overrides)
    return registration.register(session, settings=settings, **fields)


def test_user_and_letter_are_written_together(db, settings, new_session):
    user = _register(db, settings)
    assert user.email_confirmed_at is None
    other = new_session()
    assert other.exec(select(OutboxMessage)).all() == []  # nothing visible before commit
    db.commit()
    letters = other.exec(select(OutboxMessage)).all()
    assert [(m.kind, m.recipient, m.user_id, m.secret_purpose) for m in letters] == [
        ("confirm_email", "smirnov@example.com", user.id, "confirm_email")]


def test_failed_registration_writes_nothing(db, settings):
    with pytest.raises(FieldErrors) as info:
        _register(db, settings, password_confirm="другой пароль", captcha_ok=False)
    assert set(info.value.errors) == {"password_confirm", "code"}
    db.commit()
    assert db.exec(select(User)).all() == [] and db.exec(select(OutboxMessage)).all() == []


def test_all_field_errors_at_once(db, settings):
    with pytest.raises(FieldErrors) as info:
        _register(db, settings, login="x", email="bad", phone="123", password="1",
                  password_confirm="", captcha_ok=False)
    assert set(info.value.errors) == {"login", "email", "phone", "password", "password_confirm",
                                      "code"}


def test_simultaneous_registrations_of_one_login_create_one_account(engine, settings, new_session):
    n = 6
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        session = new_session()
        barrier.wait()
        try:
            _register(session, settings, login="Race" if i % 2 else "race", email=f"r{i}@example.com")
            session.commit()
            outcome = "ok"
        except FieldErrors as exc:
            session.rollback()
            outcome = exc.codes().get("login", "?")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count("ok") == 1, results
    assert all(r == "login_field.taken" for r in results if r != "ok")
    check = new_session()
    assert len(check.exec(select(User)).all()) == 1
    assert len(check.exec(select(OutboxMessage)).all()) == 1


class HangingSmtp:
    """Accepts TCP connections and never says a word (a stuck SMTP server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.connected.set()

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.timeout(60)
def test_registration_does_not_wait_for_a_hanging_smtp_server(engine, db, settings, new_session):
    """The sender is stuck talking to SMTP, yet a registration completes and
    commits; the letter stays pending for a later retry."""
    hanging = HangingSmtp()
    smtp_settings = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=hanging.port,
                                        smtp_tls="none", smtp_timeout=5)
    _register(db, settings, login="first")
    db.commit()

    loop = asyncio.new_event_loop()
    worker = OutboxWorker(smtp_settings, engine=engine, poll_interval=0.2)
    sender = threading.Thread(target=lambda: loop.run_until_complete(worker.run_once()), daemon=True)
    sender.start()
    try:
        assert hanging.connected.wait(20), "the sender never reached the SMTP server"
        # While the sender hangs on SMTP, another registration goes through.
        session = new_session()
        _register(session, settings, login="second")
        session.commit()
        assert sender.is_alive(), "the sender should still be waiting on SMTP"
        check = new_session()
        logins = sorted(u.login for u in check.exec(select(User)).all())
        assert logins == ["first", "second"]
    finally:
        hanging.close()
        sender.join(timeout=40)
        loop.close()
    statuses = {m.recipient: m.status for m in new_session().exec(select(OutboxMessage)).all()}
    assert statuses["second@example.com"] == "pending"
    assert statuses["first@example.com"] in ("pending", "sending")
