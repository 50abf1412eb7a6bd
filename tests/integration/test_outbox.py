"""The mail outbox against a real SMTP server (aiosmtpd on 127.0.0.1) and the
development mailbox; SQLite and PostgreSQL (SECURITY.md, "Mail").

Time is a fake clock: instead of sleeping through a backoff the tests move
``clock.utcnow`` forward.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
import json
import logging
import re
import threading
from datetime import timedelta
from email.parser import BytesParser

import aiosmtplib
import hypothesis
from hypothesis import strategies as st
import pytest
from sqlmodel import Session, select

from lkk_app.models import OneTimeToken, OutboxMessage, User
from lkk_app.core import tokens
from lkk_app.jobs.worker import OutboxWorker, letter_secrets
from lkk_app.mail import templates as mail_templates, delivery, devmail, outbox, transport
from lkk_app.mail.delivery import SecretMinters
from lkk_app.settings import SettingsError, load_settings

LINK_RE = re.compile(r"http://lkk\.test/confirm/([A-Za-z0-9_-]{43})")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def mail_settings(make_settings, tmp_path, smtp_down):
    """Settings that send to the test SMTP server (not necessarily running)."""
    return make_settings(
        bcrypt_cost=4,
        public_url="http://lkk.test",
        smtp_host="127.0.0.1",
        smtp_port=smtp_down.port,
        smtp_tls="none",
        smtp_timeout=5,
        mail_from="ЛКК <no-reply@lkk.test>",
        mail_dir=tmp_path / "mail",
    )


@pytest.fixture
def dev_settings(make_settings, tmp_path):
    """Settings without an SMTP host: the development mailbox."""
    return make_settings(
        bcrypt_cost=4, public_url="http://lkk.test", smtp_host="", mail_dir=tmp_path / "devmail"
    )


def worker(settings, engine, **kw) -> OutboxWorker:
    return OutboxWorker(settings, engine=engine, **kw)


def enqueue_confirm(db, user, settings, **kw) -> OutboxMessage:
    row = outbox.enqueue(
        db,
        kind="confirm_email",
        template="confirm_email",
        recipient=user.email,
        params={"login": user.login},
        user_id=user.id,
        secret_purpose=tokens.CONFIRM_EMAIL,
        settings=settings,
        **kw,
    )
    db.commit()
    return row


def enqueue_notice(db, settings, n: int = 1, **kw) -> list[OutboxMessage]:
    rows = [
        outbox.enqueue(
            db,
            kind="password_changed",
            template="password_changed",
            recipient=f"user{i}@example.com",
            params={"login": f"user{i}"},
            settings=settings,
            **kw,
        )
        for i in range(n)
    ]
    db.commit()
    return rows


def load(engine, pk: int) -> OutboxMessage:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(OutboxMessage, pk)


def all_rows(engine) -> list[OutboxMessage]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


# --------------------------------------------------------------------------- enqueue


def test_enqueue_adds_a_pending_row_to_the_callers_transaction(db, user, mail_settings, frozen_clock):
    row = outbox.enqueue(
        db, kind="confirm_email", template="confirm_email", recipient=" ivan@example.com ",
        params={"login": "ivan"}, user_id=user.id, secret_purpose=tokens.CONFIRM_EMAIL,
        settings=mail_settings,
    )
    assert row.id is not None
    db.rollback()  # the caller's transaction decides
    assert db.exec(select(OutboxMessage)).all() == []

    row = enqueue_confirm(db, user, mail_settings)
    stored = load(db.get_bind(), row.id)
    assert stored.status == "pending" and stored.attempts == 0
    assert stored.recipient == "ivan@example.com"
    assert re.fullmatch(r"<[0-9a-f]{32}@lkk\.test>", stored.message_id)
    assert stored.next_attempt_at == frozen_clock.now
    assert stored.expires_at == frozen_clock.now + timedelta(hours=24)
    assert json.loads(stored.params_json) == {"login": "ivan"}
    assert stored.secret_purpose == tokens.CONFIRM_EMAIL
    # Nothing has been minted yet: the secret is made by the sender.
    assert db.exec(select(OneTimeToken)).all() == []


def test_message_ids_are_unique_and_use_the_from_domain(db, mail_settings):
    rows = enqueue_notice(db, mail_settings, 20)
    ids = {r.message_id for r in rows}
    assert len(ids) == 20
    assert all(i.endswith("@lkk.test>") for i in ids)


def test_default_expiry_without_secret(db, mail_settings, frozen_clock):
    (row,) = enqueue_notice(db, mail_settings)
    assert row.expires_at == frozen_clock.now + outbox.DEFAULT_EXPIRES
    (row,) = enqueue_notice(db, mail_settings, expires_in=timedelta(hours=2))
    assert row.expires_at == frozen_clock.now + timedelta(hours=2)


@pytest.mark.parametrize(
    "overrides",
    [
        {"template": "no_such_letter"},
        {"params": {}},  # login missing
        {"params": {"login": "ivan", "password": "x"}},  # a secret in params
        {"params": {"login": "ivan", "token": "x"}},
        {"secret_purpose": None},  # confirm_email carries a link
        {"user_id": None},
        {"recipient": "ivan@example.com\r\nBcc: evil@example.com"},
        {"recipient": "not an address"},
        {"kind": ""},
        {"params": {"login": "ivan", "obj": object()}},  # not JSON
    ],
)
def test_enqueue_refuses_programming_errors(db, user, mail_settings, overrides):
    kwargs = dict(kind="confirm_email", template="confirm_email", recipient="ivan@example.com",
                  params={"login": "ivan"}, user_id=user.id, secret_purpose=tokens.CONFIRM_EMAIL,
                  settings=mail_settings)
    kwargs.update(overrides)
    with pytest.raises((ValueError, TypeError)):
        outbox.enqueue(db, **kwargs)
    db.rollback()
    assert db.exec(select(OutboxMessage)).all() == []


def test_a_letter_without_secret_refuses_a_secret_purpose(db, user, mail_settings):
    with pytest.raises(ValueError):
        outbox.enqueue(db, kind="x", template="password_changed", recipient="a@b.ru",
                       params={"login": "ivan"}, user_id=user.id,
                       secret_purpose=tokens.CONFIRM_EMAIL, settings=mail_settings)


# --------------------------------------------------------------------------- SMTP delivery


@pytest.mark.asyncio
async def test_confirmation_letter_has_a_working_single_use_link(
    db, engine, user, mail_settings, smtp_down, frozen_clock
):
    smtp_down.start()
    row = enqueue_confirm(db, user, mail_settings)
    assert await worker(mail_settings, engine).run_once() == 1

    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("sent", 1)
    assert stored.sent_at == frozen_clock.now
    (received,) = smtp_down.messages
    assert received.rcpt_tos == ["ivan@example.com"]
    assert received.mail_from == "no-reply@lkk.test"
    msg = received.message
    assert msg["Message-ID"] == stored.message_id
    assert msg["Subject"] == "Подтверждение адреса электронной почты"
    assert msg["To"] == "ivan@example.com"
    assert "no-reply@lkk.test" in msg["From"] and "ЛКК" in msg["From"]
    assert msg["Date"]
    # Plain text and HTML alternatives, UTF-8.
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    # The subject is encoded for transport, not raw UTF-8.
    assert b"Subject: =?utf-8?" in received.raw
    text, html = received.text, received.html
    assert "24 часа" in text and "Если Вы не регистрировались" in text
    (token,) = set(LINK_RE.findall(text))
    assert f'href="http://lkk.test/confirm/{token}"' in html

    assert tokens.peek_token(db, token, tokens.CONFIRM_EMAIL) == "valid"
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id
    db.commit()
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) is None


@pytest.mark.asyncio
async def test_outbox_never_stores_the_secret(db, engine, user, mail_settings, smtp_server, frozen_clock):
    mail_settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    row = enqueue_confirm(db, user, mail_settings)
    smtp_server.handler.tempfail_data = 1  # one failed attempt, so last_error is filled too
    w = worker(mail_settings, engine)
    assert await w.run_once() == 1
    frozen_clock.advance(seconds=30)
    assert await w.run_once() == 1
    (received,) = smtp_server.messages
    (token,) = set(LINK_RE.findall(received.text))
    token_hash = tokens.hash_token(token)

    stored = load(engine, row.id)
    assert stored.status == "sent" and stored.last_error  # the 451 is remembered
    for value in stored.model_dump().values():
        assert token not in str(value)
        assert token_hash not in str(value)
    # The token table holds only the hash.
    rows = db.exec(select(OneTimeToken)).all()
    assert token_hash in {r.token_hash for r in rows}
    assert all(token not in str(v) for r in rows for v in r.model_dump().values())


@pytest.mark.asyncio
async def test_smtp_down_at_enqueue_then_delivered_once_it_is_up(
    db, engine, user, mail_settings, smtp_down, frozen_clock
):
    row = enqueue_confirm(db, user, mail_settings)
    w = worker(mail_settings, engine)

    assert await w.run_once() == 1  # connection refused
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert stored.next_attempt_at == frozen_clock.now + timedelta(seconds=30)
    assert stored.last_error.startswith(("SMTPConnect", "ConnectionRefused", "OSError"))
    # The token minted for the failed attempt was committed before sending.
    (first_token,) = db.exec(select(OneTimeToken)).all()

    smtp_down.start()
    assert await w.run_once() == 0  # not due yet
    frozen_clock.advance(seconds=30)
    assert await w.run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("sent", 2)
    assert smtp_down.message_ids() == [stored.message_id]
    (token,) = set(LINK_RE.findall(smtp_down.messages[0].text))
    # The retry is the same letter: the token of the first attempt, not a new one.
    db.expire_all()
    assert [t.id for t in db.exec(select(OneTimeToken)).all()] == [first_token.id]
    assert first_token.token_hash == tokens.hash_token(token)
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id


@pytest.mark.asyncio
@pytest.mark.parametrize("stage", ["rcpt", "data"])
async def test_451_twice_then_accepted_is_delivered_exactly_once(
    db, engine, mail_settings, smtp_down, frozen_clock, stage
):
    smtp_down.start()
    setattr(smtp_down.handler, f"tempfail_{stage}", 2)
    (row,) = enqueue_notice(db, mail_settings)
    w = worker(mail_settings, engine)
    start = frozen_clock.now

    assert await w.run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert "451" in stored.last_error
    assert stored.next_attempt_at == start + timedelta(seconds=30)

    frozen_clock.advance(seconds=30)
    assert await w.run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("pending", 2)
    assert stored.next_attempt_at == frozen_clock.now + timedelta(seconds=60)

    frozen_clock.advance(seconds=59)
    assert await w.run_once() == 0
    frozen_clock.advance(seconds=1)
    assert await w.run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("sent", 3)
    assert smtp_down.message_ids() == [stored.message_id]
    frozen_clock.advance(hours=2)
    assert await w.run_once() == 0
    assert len(smtp_down.messages) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("stage", ["rcpt", "data"])
async def test_550_fails_and_is_not_retried(db, engine, mail_settings, smtp_down, frozen_clock, stage):
    smtp_down.start()
    setattr(smtp_down.handler, f"reject_{stage}", True)
    (row,) = enqueue_notice(db, mail_settings)
    w = worker(mail_settings, engine)
    assert await w.run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert "550" in stored.last_error
    transactions = smtp_down.handler.transactions
    frozen_clock.advance(hours=5)
    assert await w.run_once() == 0
    assert smtp_down.handler.transactions == transactions == 1
    assert smtp_down.messages == []


@pytest.mark.asyncio
async def test_retries_stop_when_the_letter_expires(db, engine, mail_settings, smtp_down, frozen_clock):
    (row,) = enqueue_notice(db, mail_settings, expires_in=timedelta(minutes=1))
    w = worker(mail_settings, engine)
    assert await w.run_once() == 1  # down: retry in 30 s (before expiry)
    assert load(engine, row.id).status == "pending"
    frozen_clock.advance(seconds=30)
    assert await w.run_once() == 1  # down again: the next try (in 60 s) would be too late
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("failed", 2)
    assert stored.last_error.startswith("expired")
    smtp_down.start()
    frozen_clock.advance(hours=1)
    assert await w.run_once() == 0
    assert smtp_down.messages == []


@pytest.mark.asyncio
async def test_a_pending_letter_past_its_expiry_is_failed_not_sent(
    db, engine, mail_settings, smtp_server, frozen_clock
):
    mail_settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    (row,) = enqueue_notice(db, mail_settings, expires_in=timedelta(hours=1))
    frozen_clock.advance(hours=1)  # the sender was not running all that time
    assert await worker(mail_settings, engine).run_once() == 0
    stored = load(engine, row.id)
    assert stored.status == "failed" and "expired" in stored.last_error
    assert smtp_server.messages == []


def test_backoff_doubles_from_30_seconds_up_to_an_hour():
    assert [outbox.backoff(n).total_seconds() for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600
    ]
    assert outbox.backoff(0) == timedelta(seconds=30)
    assert outbox.backoff(10_000) == timedelta(hours=1)


@pytest.mark.parametrize(
    "exc,expected",
    [
        (aiosmtplib.SMTPResponseException(451, "later"), "retry"),
        (aiosmtplib.SMTPDataError(452, "full"), "retry"),
        (aiosmtplib.SMTPResponseException(550, "no"), "failed"),
        (aiosmtplib.SMTPDataError(554, "spam"), "failed"),
        (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "busy", "a@b")]), "retry"),
        (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no", "a@b")]), "failed"),
        (aiosmtplib.SMTPConnectError("refused"), "retry"),
        (aiosmtplib.SMTPServerDisconnected("bye"), "retry"),
        (aiosmtplib.SMTPTimeoutError("slow"), "retry"),
        (aiosmtplib.SMTPConnectTimeoutError("slow"), "retry"),
        (aiosmtplib.SMTPConnectResponseError(554, "no service"), "retry"),
        (aiosmtplib.SMTPAuthenticationError(535, "bad login"), "retry"),
        (ConnectionRefusedError(111, "refused"), "retry"),
        (asyncio.TimeoutError(), "retry"),
        (OSError("network unreachable"), "retry"),
    ],
)
def test_error_classification(exc, expected):
    assert transport.classify_error(exc) == expected


@pytest.mark.asyncio
async def test_last_error_never_contains_the_secret(
    db, engine, user, mail_settings, frozen_clock, monkeypatch
):
    """Even an SMTP error that echoes the letter is stored without the secret."""
    seen: list[str] = []

    async def echoing_server(message, recipient, settings):
        (token,) = set(LINK_RE.findall(message.get_body(("plain",)).get_content()))
        seen.append(token)
        raise aiosmtplib.SMTPResponseException(451, f"cannot deliver {token} " + "x" * 1000)

    monkeypatch.setattr(transport, "send_smtp", echoing_server)
    row = enqueue_confirm(db, user, mail_settings)
    assert await worker(mail_settings, engine).run_once() == 1
    stored = load(engine, row.id)
    assert stored.status == "pending"
    assert seen and seen[0] not in stored.last_error
    assert "[secret]" in stored.last_error
    assert len(stored.last_error) <= 500


@pytest.mark.asyncio
async def test_killed_worker_leaves_nothing_behind_and_nothing_twice(
    db, engine, mail_settings, smtp_down, frozen_clock
):
    smtp_down.start()
    rows = enqueue_notice(db, mail_settings, 7)
    # A worker claims three letters and dies before sending them.
    with Session(engine) as dead:
        abandoned = outbox.claim_batch(dead, limit=3, lease=timedelta(minutes=2))
        dead.commit()
    assert len(abandoned) == 3

    fresh = worker(mail_settings, engine, lease=timedelta(minutes=2))
    assert await fresh.run_once() == 4  # only the unclaimed ones: the lease still holds
    assert len(smtp_down.messages) == 4
    assert {load(engine, pk).status for pk in abandoned} == {"sending"}

    frozen_clock.advance(minutes=2)  # the dead worker's lease lapses
    assert await fresh.run_once() == 3
    assert await fresh.run_once() == 0
    ids = smtp_down.message_ids()
    assert sorted(ids) == sorted(r.message_id for r in rows)  # each exactly once
    stored = all_rows(engine)
    assert {r.status for r in stored} == {"sent"}
    assert sorted(r.attempts for r in stored) == [1, 1, 1, 1, 2, 2, 2]


@pytest.mark.asyncio
async def test_deliver_one_leaves_unclaimed_rows_alone(db, engine, mail_settings, smtp_server):
    (row,) = enqueue_notice(db, mail_settings)
    assert await delivery.deliver_one(row.id, mail_settings, engine=engine, minters=letter_secrets()) == "retry"
    assert load(engine, row.id).status == "pending"
    assert smtp_server.messages == []


# --------------------------------------------------------------------------- concurrent claims


def test_concurrent_claims_never_share_a_row(db, engine, mail_settings, new_session, frozen_clock):
    total = 60
    enqueue_notice(db, mail_settings, total)
    barrier = threading.Barrier(3)
    claimed: list[list[int]] = [[], [], []]
    errors: list[BaseException] = []

    def claimer(slot: int) -> None:
        try:
            barrier.wait(timeout=10)
            while True:
                session = new_session()
                try:
                    ids = outbox.claim_batch(session, limit=4)
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
    assert {r.status for r in all_rows(engine)} == {"sending"}
    assert {r.attempts for r in all_rows(engine)} == {1}


def test_claim_skips_rows_that_are_not_due(db, engine, mail_settings, frozen_clock):
    rows = enqueue_notice(db, mail_settings, 3)
    with Session(engine) as s:
        assert outbox.claim_batch(s, limit=1) == [rows[0].id]  # oldest first
        s.commit()
        assert outbox.mark_retry(s, rows[0].id, "451 later") == "retry"
        s.commit()
        assert sorted(outbox.claim_batch(s, limit=10)) == [rows[1].id, rows[2].id]
        s.commit()
        assert outbox.claim_batch(s, limit=10) == []
        frozen_clock.advance(seconds=30)
        assert outbox.claim_batch(s, limit=10) == [rows[0].id]
        s.commit()


# --------------------------------------------------------------------------- development mailbox


@pytest.mark.asyncio
async def test_dev_mailbox_writes_a_parseable_eml(db, engine, user, dev_settings, frozen_clock, caplog):
    caplog.set_level(logging.INFO, logger="lkk.mail")
    row = enqueue_confirm(db, user, dev_settings)
    assert await worker(dev_settings, engine).run_once() == 1
    stored = load(engine, row.id)
    assert stored.status == "sent"

    files = sorted(dev_settings.mail_dir.iterdir())
    assert [f.suffix for f in files] == [".eml"]  # no temporary file left behind
    assert re.fullmatch(r"\d{8}T\d{12}Z-0*%d\.eml" % row.id, files[0].name)
    assert oct(files[0].stat().st_mode & 0o777) == oct(0o600)
    msg = BytesParser(policy=email.policy.default).parsebytes(files[0].read_bytes())
    assert msg["Message-ID"] == stored.message_id
    assert msg["Subject"] == "Подтверждение адреса электронной почты"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    (token,) = set(LINK_RE.findall(text))
    assert token in html
    # One log line names the recipient and the link (development only).
    lines = [r.getMessage() for r in caplog.records if "dev mailbox" in r.getMessage()]
    assert len(lines) == 1
    assert "ivan@example.com" in lines[0] and f"http://lkk.test/confirm/{token}" in lines[0]
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id

    letters = devmail.list_dev_mail(dev_settings.mail_dir)
    assert len(letters) == 1
    letter = letters[0]
    assert letter["file"] == files[0].name
    assert letter["to"] == "ivan@example.com"
    assert letter["subject"] == "Подтверждение адреса электронной почты"
    assert letter["message_id"] == stored.message_id
    assert token in letter["text"] and letter["date"]


@pytest.mark.asyncio
async def test_list_dev_mail_newest_first(db, engine, dev_settings, frozen_clock):
    assert devmail.list_dev_mail(dev_settings.mail_dir) == []  # no directory yet
    w = worker(dev_settings, engine)
    for i in range(3):
        enqueue_notice(db, dev_settings)
        await w.run_once()
        frozen_clock.advance(seconds=1)
    (dev_settings.mail_dir / ".half-written.eml.tmp").write_bytes(b"garbage")
    letters = devmail.list_dev_mail(dev_settings.mail_dir)
    assert len(letters) == 3
    assert [l["file"] for l in letters] == sorted((l["file"] for l in letters), reverse=True)
    assert devmail.list_dev_mail(dev_settings.mail_dir, limit=2) == letters[:2]
    assert all("Пароль" in l["subject"] and "Пароль учётной записи" in l["text"] for l in letters)


# --------------------------------------------------------------------------- secrets minted by others


@pytest.mark.asyncio
async def test_temp_password_letter_uses_the_registered_minter(
    db, engine, user, mail_settings, smtp_server
):
    mail_settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    minted: list[tuple[int, str]] = []

    def mint(session, user_id, letter_seed=None):
        password = tokens.generate_temp_password()
        minted.append((user_id, password))
        return password

    row = outbox.enqueue(db, kind="recovery", template="temp_password", recipient=user.email,
                         params={"login": user.login}, user_id=user.id,
                         secret_purpose=tokens.TEMP_PASSWORD, settings=mail_settings)
    db.commit()
    minters = SecretMinters({tokens.TEMP_PASSWORD: mint})
    assert await worker(mail_settings, engine, minters=minters).run_once() == 1
    ((user_id, password),) = minted
    assert user_id == user.id
    (received,) = smtp_server.messages
    assert f"Новый пароль: {password}" in received.text.splitlines()
    assert password in received.html
    for value in load(engine, row.id).model_dump().values():
        assert password not in str(value)


@pytest.mark.asyncio
async def test_missing_minter_is_retried_not_lost(db, engine, user, mail_settings, smtp_server):
    mail_settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    row = outbox.enqueue(db, kind="recovery", template="temp_password", recipient=user.email,
                         params={"login": user.login}, user_id=user.id,
                         secret_purpose=tokens.TEMP_PASSWORD, settings=mail_settings)
    db.commit()
    without = SecretMinters({tokens.CONFIRM_EMAIL: letter_secrets().get(tokens.CONFIRM_EMAIL)})
    assert await worker(mail_settings, engine, minters=without).run_once() == 1
    stored = load(engine, row.id)
    assert stored.status == "pending" and "minter" in stored.last_error
    assert smtp_server.messages == []


@pytest.mark.asyncio
async def test_letter_for_a_deleted_user_is_cancelled(db, engine, user, mail_settings, smtp_server):
    mail_settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    row = enqueue_confirm(db, user, mail_settings)
    db.delete(db.get(User, user.id))
    db.commit()
    assert await worker(mail_settings, engine).run_once() == 1
    stored = load(engine, row.id)
    assert stored.status == "failed" and "cancelled" in stored.last_error
    assert smtp_server.messages == []


# --------------------------------------------------------------------------- slow servers: a retry is the same letter


def _date(received) -> str:
    return str(received.message["Date"])


@pytest.mark.asyncio
async def test_a_slow_server_gets_the_same_letter_on_every_retry(
    db, engine, user, mail_settings, smtp_down, frozen_clock
):
    """The server keeps each letter but answers the end of DATA only after the
    client gave up: three attempts, three copies — all one letter (same
    Message-ID, Date and link), and the link of the first copy works."""
    smtp_down.start()
    smtp_down.handler.delay_data = 1.5
    quick = dataclasses.replace(mail_settings, smtp_port=smtp_down.port, smtp_timeout=1, smtp_data_timeout=0.5)
    row = enqueue_confirm(db, user, quick)
    w = worker(quick, engine)

    assert await w.run_once() == 1
    assert load(engine, row.id).status == "pending"  # timed out, will retry
    frozen_clock.advance(seconds=30)
    assert await w.run_once() == 1
    assert load(engine, row.id).status == "pending"
    smtp_down.handler.delay_data = 0
    frozen_clock.advance(seconds=60)
    assert await w.run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("sent", 3)

    copies = smtp_down.messages
    assert len(copies) == 3
    assert {m.message_id for m in copies} == {stored.message_id}
    assert len({_date(m) for m in copies}) == 1
    (token,) = {link for m in copies for link in LINK_RE.findall(m.text) + LINK_RE.findall(m.html)}
    assert len(db.exec(select(OneTimeToken)).all()) == 1
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id
    assert stored.secret_seed is None  # nothing left to derive the link from


@pytest.mark.asyncio
async def test_the_end_of_data_may_take_longer_than_the_other_commands(
    db, engine, mail_settings, smtp_down, frozen_clock
):
    """RFC 5321 4.5.3.2.6: the reply to the end of DATA is waited for much
    longer (``smtp_data_timeout``, 10 min by default) than the other commands
    (``smtp_timeout``): a server slower than the latter delivers once."""
    smtp_down.start()
    smtp_down.handler.delay_data = 2.0
    settings = dataclasses.replace(mail_settings, smtp_port=smtp_down.port, smtp_timeout=1, smtp_data_timeout=10)
    (row,) = enqueue_notice(db, settings)
    assert await worker(settings, engine).run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("sent", 1)
    assert len(smtp_down.messages) == 1
    assert load_settings({"LKK_DATA_DIR": str(settings.data_dir)}).smtp_data_timeout == 600


@pytest.mark.asyncio
async def test_a_retry_after_the_link_was_used_is_not_sent(
    db, engine, user, mail_settings, smtp_down, frozen_clock
):
    """The first, late copy arrived and the customer confirmed with it: the
    retry is cancelled, not sent with a link that no longer works."""
    smtp_down.start()
    smtp_down.handler.delay_data = 1.5
    quick = dataclasses.replace(mail_settings, smtp_port=smtp_down.port, smtp_timeout=1, smtp_data_timeout=0.5)
    row = enqueue_confirm(db, user, quick)
    w = worker(quick, engine)
    assert await w.run_once() == 1
    for _ in range(40):  # the server takes the letter while the client waits no longer
        if smtp_down.messages:
            break
        await asyncio.sleep(0.05)
    (token,) = set(LINK_RE.findall(smtp_down.messages[0].text))
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id
    db.commit()
    frozen_clock.advance(seconds=30)
    assert await w.run_once() == 1
    stored = load(engine, row.id)
    assert stored.status == "failed" and "cancelled" in stored.last_error
    await asyncio.sleep(1.6)
    assert len(smtp_down.messages) == 1


@pytest.mark.asyncio
async def test_a_retried_temporary_password_is_the_same_password(
    db, engine, user, mail_settings, smtp_down, frozen_clock
):
    from lkk_app.auth import recovery

    user.email_confirmed_at = frozen_clock.now
    db.add(user)
    db.commit()
    smtp_down.start()
    smtp_down.handler.delay_data = 1.5
    quick = dataclasses.replace(mail_settings, smtp_port=smtp_down.port, smtp_timeout=1, smtp_data_timeout=0.5)
    row = outbox.enqueue(db, kind="recovery", template="temp_password", recipient=user.email,
                         params={"login": user.login}, user_id=user.id,
                         secret_purpose=tokens.TEMP_PASSWORD, settings=quick)
    db.commit()
    w = worker(quick, engine)
    assert await w.run_once() == 1
    smtp_down.handler.delay_data = 0
    frozen_clock.advance(seconds=30)
    assert await w.run_once() == 1
    assert load(engine, row.id).status == "sent"
    passwords_sent = {line for m in smtp_down.messages for line in m.text.splitlines()
                      if line.startswith("Новый пароль: ")}
    assert len(smtp_down.messages) == 2 and len(passwords_sent) == 1
    password = passwords_sent.pop().removeprefix("Новый пароль: ")
    assert len(db.exec(select(OneTimeToken).where(OneTimeToken.purpose == tokens.TEMP_PASSWORD)).all()) == 1
    db.expire_all()
    # The minter hashed it with the application's settings (as in production).
    found = recovery.authenticate_temp(db, login=user.login, password=password)
    assert found is not None and found.id == user.id


def test_letter_secrets_are_derived_per_letter_and_need_the_key(db, user, mail_settings):
    rows = [enqueue_confirm(db, user, mail_settings) for _ in range(2)]
    assert all(len(r.secret_seed) == 64 for r in rows) and rows[0].secret_seed != rows[1].secret_seed
    seeds = [outbox.letter_seed(r, mail_settings) for r in rows]
    assert seeds[0] != seeds[1] and all(len(x) == 32 for x in seeds)
    other_key = dataclasses.replace(mail_settings, secret_key=b"another-secret-key-0123456789-abcdefghij")
    assert outbox.letter_seed(rows[0], other_key) != seeds[0]
    token = tokens.token_from_seed(seeds[0])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token) and token == tokens.token_from_seed(seeds[0])
    password = tokens.temp_password_from_seed(seeds[0])
    assert len(password) == 16 and set(password) <= set(tokens.TEMP_PASSWORD_ALPHABET)
    # A notice has no secret, so no seed.
    (notice,) = enqueue_notice(db, mail_settings)
    assert notice.secret_seed is None and outbox.letter_seed(notice, mail_settings) is None
    assert re.fullmatch(r"<[0-9a-f]{32}@lkk\.test>", notice.message_id)


# --------------------------------------------------------------------------- international addresses


@pytest.mark.asyncio
async def test_an_idn_domain_is_sent_in_punycode(db, engine, mail_settings, smtp_server):
    settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    row = outbox.enqueue(db, kind="notice", template="password_changed", recipient="user@пример.рф",
                         params={"login": "ivan"}, settings=settings)
    db.commit()
    assert await worker(settings, engine).run_once() == 1
    assert load(engine, row.id).status == "sent"
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["user@xn--e1afmkfd.xn--p1ai"]
    assert str(received.message["To"]) == "user@xn--e1afmkfd.xn--p1ai"
    assert "SMTPUTF8" not in [o.upper() for o in received.mail_options]


@pytest.mark.asyncio
async def test_a_non_ascii_local_part_without_smtputf8_fails_at_once(
    db, engine, mail_settings, smtp_server, frozen_clock
):
    """The server (like aiosmtpd by default) does not offer SMTPUTF8: no retry
    can help, so the letter is failed after one attempt instead of for 24 h."""
    settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    row = outbox.enqueue(db, kind="notice", template="password_changed", recipient="иван@example.ru",
                         params={"login": "ivan"}, settings=settings)
    db.commit()
    assert await worker(settings, engine).run_once() == 1
    stored = load(engine, row.id)
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert "SMTPUTF8" in stored.last_error
    frozen_clock.advance(hours=1)
    assert await worker(settings, engine).run_once() == 0
    assert smtp_server.messages == [] and smtp_server.handler.transactions == 0


@pytest.mark.asyncio
async def test_a_non_ascii_local_part_goes_out_with_smtputf8(db, engine, mail_settings):
    from tests.fixtures.mail import SmtpServer

    server = SmtpServer(smtputf8=True)
    server.start()
    try:
        settings = dataclasses.replace(mail_settings, smtp_port=server.port)
        row = outbox.enqueue(db, kind="notice", template="password_changed", recipient="иван@пример.рф",
                             params={"login": "ivan"}, settings=settings)
        db.commit()
        assert await worker(settings, engine).run_once() == 1
        assert load(engine, row.id).status == "sent"
        (received,) = server.messages
        assert received.rcpt_tos == ["иван@xn--e1afmkfd.xn--p1ai"]
        assert "SMTPUTF8" in [o.upper() for o in received.mail_options]
    finally:
        server.stop()


@pytest.mark.parametrize(("address", "expected"), [
    ("user@пример.рф", ("user@xn--e1afmkfd.xn--p1ai", False)),
    ("user@Example.COM", ("user@Example.COM", False)),
    ("иван@example.ru", ("иван@example.ru", True)),
    ("user@[127.0.0.1]", ("user@[127.0.0.1]", False)),
])
def test_smtp_address(address, expected):
    assert transport.smtp_address(address) == expected


def test_an_address_without_idna_form_is_permanent():
    with pytest.raises(transport.PermanentMailError):
        transport.smtp_address("user@☃☃.example")
    assert transport.classify_error(transport.PermanentMailError("x")) == outbox.RESULT_FAILED


# --------------------------------------------------------------------------- the worker loop


@pytest.mark.asyncio
async def test_run_forever_wakes_on_commit_and_stops(db, engine, mail_settings, smtp_server):
    mail_settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port)
    w = worker(mail_settings, engine, poll_interval=60)  # only a wake-up can be this quick
    stop = asyncio.Event()
    task = asyncio.create_task(w.run_forever(stop))
    try:
        await asyncio.sleep(0.2)  # the first (empty) round is over; it now waits 60 s

        def enqueue_in_a_request_thread() -> None:
            with Session(engine) as session:
                outbox.enqueue(session, kind="notice", template="password_changed",
                               recipient="a@example.com", params={"login": "ivan"},
                               settings=mail_settings)
                session.commit()  # wakes the worker

        await asyncio.to_thread(enqueue_in_a_request_thread)
        for _ in range(100):
            if smtp_server.messages:
                break
            await asyncio.sleep(0.05)
        assert len(smtp_server.messages) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert task.done() and task.exception() is None
    w.wake()  # harmless once stopped


@pytest.mark.asyncio
async def test_a_slow_letter_does_not_hold_back_the_next_one(db, engine, mail_settings, smtp_server):
    """Deliveries run side by side: while one letter waits for the end of its
    DATA, a letter queued after it goes out."""
    settings = dataclasses.replace(mail_settings, smtp_port=smtp_server.port, smtp_data_timeout=30)
    smtp_server.handler.delay_data = 4.0
    smtp_server.handler.delay_data_count = 1  # only the first letter is slow
    (slow,) = enqueue_notice(db, settings)
    w = worker(settings, engine, poll_interval=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(w.run_forever(stop))
    try:
        for _ in range(60):
            if smtp_server.messages:
                break
            await asyncio.sleep(0.05)
        assert len(smtp_server.messages) == 1  # the slow one: taken, not answered yet
        fast = outbox.enqueue(db, kind="notice", template="password_changed", recipient="fast@example.com",
                              params={"login": "fast"}, settings=settings)
        db.commit()
        for _ in range(40):
            if load(engine, fast.id).status == "sent":
                break
            await asyncio.sleep(0.05)
        assert load(engine, fast.id).status == "sent"
        assert load(engine, slow.id).status == "sending"  # still waiting for its "250"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    # Stopping cancelled the slow delivery; its lease brings it back later.
    assert load(engine, slow.id).status == "sending"


@pytest.mark.asyncio
async def test_run_forever_survives_database_errors(mail_settings, caplog):
    import sqlalchemy as sa

    broken = sa.create_engine("sqlite:////nonexistent-dir/x.db")
    w = worker(mail_settings, broken, poll_interval=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(w.run_forever(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert any("claiming letters failed" in r.getMessage() for r in caplog.records)


def test_the_senders_lease_is_the_setting_and_its_heartbeat_covers_slow_smtp(mail_settings):
    """The end of DATA may take 10 minutes (RFC 5321): the claim is not made to
    outlast it — the sender renews it while the conversation goes on (the
    queue's heartbeat, tests/integration/test_job_queue.py), so a dead sender's
    letters come back after ``LKK_JOB_LEASE_SECONDS``, not after 10 minutes."""
    assert mail_settings.smtp_data_timeout == 600
    assert OutboxWorker(mail_settings).lease == timedelta(seconds=mail_settings.job_lease_seconds)
    assert OutboxWorker(mail_settings, lease=timedelta(minutes=2)).lease == timedelta(minutes=2)


# --------------------------------------------------------------------------- templates


def test_templates_render_russian_text_and_escaped_html():
    params = {"login": "ivan<script>", "public_url": "http://lkk.test", "email": "a@b.ru",
              "supplier_name": "ООО «Энергосбыт» & Co"}
    subject, text, html = mail_templates.render("confirm_email", params, "T" * 43)
    assert "<script>" not in html and "ivan&lt;script&gt;" in html
    assert "&amp; Co" in html
    assert "ivan<script>" in text
    assert "http://lkk.test/confirm/" + "T" * 43 in text
    assert "24 часа" in text and "не регистрировались" in text
    assert text.rstrip().endswith("отвечать на него не нужно.")
    assert "С уважением,\nООО «Энергосбыт» & Co" in text


def test_temp_password_letter_has_the_exact_line():
    _, text, html = mail_templates.render(
        "temp_password", {"login": "ivan", "public_url": "http://lkk.test"}, "Ab3Cd4Ef5Gh6Jk7M"
    )
    assert "Новый пароль: Ab3Cd4Ef5Gh6Jk7M" in text.splitlines()
    assert "24 часа" in text
    assert "прежний пароль продолжает действовать" in text.lower()
    assert "не запрашивали" in text
    assert "С уважением,\nГарантирующий поставщик (демонстрационная версия)\n" in text


def test_password_changed_letter_has_no_password():
    subject, text, html = mail_templates.render("password_changed", {"login": "ivan", "public_url": "http://lkk.test"})
    assert "изменён" in subject
    assert "Новый пароль" not in text and "Забыли пароль?" in text
    # A letter queued before it said when and from where: «—» in their place.
    assert "Когда: —." in text and "Откуда: IP-адрес —; —." in text


def test_password_changed_letter_says_when_and_from_where():
    params = {"login": "ivan", "public_url": "http://lkk.test", "time": "07.12.2026 15:45 (UTC+3)",
              "ip": "203.0.113.7", "device": "Chrome 120, Windows"}
    _, text, html = mail_templates.render("password_changed", params)
    assert "Когда: 07.12.2026 15:45 (UTC+3)." in text.splitlines()
    assert "Откуда: IP-адрес 203.0.113.7; Chrome 120, Windows." in text.splitlines()
    assert "07.12.2026 15:45 (UTC+3)" in html and "203.0.113.7" in html


def test_every_letter_is_signed_by_the_supplier(make_settings, monkeypatch):
    """Name, support phones (formatted), e-mail and hours from the settings, in
    the text and the HTML of every letter."""
    from lkk_app import settings as settings_module

    supplier = make_settings(supplier_name="АО «Северный Энергосбыт»", support_phones=("88001234567", "+78142000000"),
                             support_email="help@sever-energo.example", support_hours="Пн–Пт 9:00–18:00")
    monkeypatch.setattr(settings_module, "get_settings", lambda: supplier)
    monkeypatch.setattr(mail_templates, "get_settings", lambda: supplier)
    for name, spec in mail_templates.TEMPLATES.items():
        params = {key: "1" for key in (*spec.required, *spec.optional)}
        if spec.columns:
            params["rows"] = [["x"] * len(spec.columns)]
        _, text, html = mail_templates.render(name, params, "S" * 20 if spec.secret else None)
        signature = text.split("С уважением,\n", 1)[1]
        assert signature.startswith("АО «Северный Энергосбыт»\n"
                                    "Служба поддержки: +7 800 123-45-67, +7 814 200-00-00, help@sever-energo.example\n"
                                    "Часы работы: Пн–Пт 9:00–18:00\n"), name
        assert "АО «Северный Энергосбыт»" in html and 'href="tel:+7-800-123-45-67"' in html, name
        assert 'href="mailto:help@sever-energo.example"' in html and "Пн–Пт 9:00–18:00" in html, name


_POLITE = re.compile(r"(?<![А-Яа-яЁё])(вы|вас|вам|вами|ваш[а-яё]*)(?![А-Яа-яЁё])")


@pytest.mark.parametrize("name", sorted(mail_templates.TEMPLATES))
def test_letters_address_the_reader_with_a_capital_letter(name):
    """«Вы», «Вас», «Ваш…» — polite address to one person — is written with a
    capital letter in every letter (subject, text and HTML)."""
    spec = mail_templates.TEMPLATES[name]
    params = {key: "1" for key in (*spec.required, *spec.optional, *spec.later)}
    if spec.columns:
        params["rows"] = [["x"] * len(spec.columns)]
    subject, text, html = mail_templates.render(name, params, "S" * 20 if spec.secret else None)
    for part in (subject, text, html):
        assert not _POLITE.findall(part), (name, _POLITE.findall(part))
    with pytest.raises(mail_templates.MailTemplateError):
        mail_templates.render("temp_password", {"login": "ivan"}, None)


def test_parameters_cannot_forge_lines_or_headers():
    subject, text, _ = mail_templates.render(
        "password_changed", {"login": "ivan\nНовый пароль: 1234\r\nBcc: x@y", "public_url": "u"}
    )
    assert not any(line.startswith("Новый пароль") for line in text.splitlines())
    assert "\r" not in text


def test_every_template_has_both_files():
    for name in mail_templates.TEMPLATES:
        assert (mail_templates.TEMPLATE_DIR / f"{name}.txt").read_text(encoding="utf-8").startswith("Subject: ")
        assert (mail_templates.TEMPLATE_DIR / f"{name}.html").exists()


# --------------------------------------------------------------------------- settings


def _env(tmp_path, **kw):
    return {"LKK_DATA_DIR": str(tmp_path), "LKK_SECRET_KEY": "5NhWVkFF-ly2Iwk_ElwwZlhcc-A32WvsOem_BQTyPTg", **kw}


def _prod(tmp_path, **kw):
    return _env(tmp_path, LKK_ENV="production", LKK_PUBLIC_URL="https://lkk.example.ru",
                LKK_BILLING_ADAPTER="demo", **kw)


def test_mail_settings_defaults(tmp_path):
    s = load_settings(_env(tmp_path))
    assert (s.smtp_host, s.smtp_tls, s.smtp_port, s.smtp_timeout) == ("", "none", 25, 15)
    assert not s.mail_enabled_smtp
    assert s.mail_from == "ЛКК <no-reply@localhost>" and s.mail_from_domain == "localhost"
    assert s.mail_dir == tmp_path / "mail"
    s = load_settings(_env(tmp_path, LKK_SMTP_HOST="smtp.example.ru"))
    assert (s.smtp_tls, s.smtp_port) == ("starttls", 587) and s.mail_enabled_smtp
    s = load_settings(_env(tmp_path, LKK_SMTP_HOST="smtp.example.ru", LKK_SMTP_TLS="tls"))
    assert s.smtp_port == 465
    s = load_settings(_env(tmp_path, LKK_SMTP_HOST="smtp.example.ru", LKK_SMTP_PORT="2525",
                           LKK_MAIL_DIR=str(tmp_path / "box"), LKK_SMTP_TIMEOUT="30",
                           LKK_MAIL_FROM="Энергосбыт <lkk@energo.example.ru>"))
    assert (s.smtp_port, s.mail_dir, s.smtp_timeout) == (2525, tmp_path / "box", 30)
    assert s.mail_from_address == "lkk@energo.example.ru"


def test_smtp_password_is_not_in_repr(tmp_path):
    s = load_settings(_env(tmp_path, LKK_SMTP_HOST="smtp.example.ru", LKK_SMTP_USER="lkk",
                           LKK_SMTP_PASSWORD="very-secret-pw"))
    assert s.smtp_password == "very-secret-pw"
    assert "very-secret-pw" not in repr(s)


def test_production_needs_an_smtp_host(tmp_path):
    with pytest.raises(SettingsError, match="LKK_SMTP_HOST"):
        load_settings(_prod(tmp_path))
    assert load_settings(_prod(tmp_path, LKK_SMTP_HOST="smtp.example.ru")).smtp_tls == "starttls"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]"])
def test_plain_smtp_allowed_for_loopback_in_production(tmp_path, host):
    s = load_settings(_prod(tmp_path, LKK_SMTP_HOST=host, LKK_SMTP_TLS="none"))
    assert (s.smtp_tls, s.smtp_port) == ("none", 25)


def test_plain_smtp_to_a_remote_host_only_in_development(tmp_path):
    with pytest.raises(SettingsError, match="LKK_SMTP_TLS"):
        load_settings(_prod(tmp_path, LKK_SMTP_HOST="smtp.example.ru", LKK_SMTP_TLS="none"))
    assert load_settings(_env(tmp_path, LKK_SMTP_HOST="smtp.example.ru", LKK_SMTP_TLS="none")).smtp_tls == "none"


@pytest.mark.parametrize(
    "name,value",
    [
        ("LKK_SMTP_TLS", "ssl"),
        ("LKK_SMTP_PORT", "0"),
        ("LKK_SMTP_PORT", "70000"),
        ("LKK_SMTP_TIMEOUT", "0"),
        ("LKK_SMTP_HOST", "smtp://example.ru"),
        ("LKK_SMTP_HOST", "smtp example.ru"),
        ("LKK_MAIL_FROM", "no address"),
        ("LKK_MAIL_FROM", "ЛКК <a@b.ru>\r\nBcc: x@y.ru"),
        ("LKK_MAIL_FROM", "ЛКК <@example.ru>"),
    ],
)
def test_invalid_mail_settings_are_refused(tmp_path, name, value):
    env = _env(tmp_path, LKK_SMTP_HOST="smtp.example.ru")
    env[name] = value
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


def test_smtp_user_and_password_go_together(tmp_path):
    with pytest.raises(SettingsError, match="LKK_SMTP_PASSWORD"):
        load_settings(_env(tmp_path, LKK_SMTP_HOST="smtp.example.ru", LKK_SMTP_USER="lkk"))
    with pytest.raises(SettingsError, match="LKK_SMTP_USER"):
        load_settings(_env(tmp_path, LKK_SMTP_HOST="smtp.example.ru", LKK_SMTP_PASSWORD="pw"))


# --------------------------------------------------------------------------- long Russian subjects

# Folded by the standard policy as «…показаний?= =?…приборов…»: the space stood
# between two encoded words, where every reader drops it («показанийприборов»).
LONG_SUBJECT = ("Открыт приём показаний приборов учёта за ноябрь 2026 года по договорам "
                "организации ООО «Ромашка-Демо»")


@pytest.mark.asyncio
@pytest.mark.parametrize("recipient", ["buh@example.ru", "бухгалтерия@пример.рф"])
async def test_a_long_russian_subject_arrives_word_for_word(mail_settings, recipient):
    """The letter as the SMTP server took it, parsed as a mail reader does:
    the subject is exactly the one written — without SMTPUTF8 (encoded words)
    and with it (UTF-8 headers, for a Cyrillic local part)."""
    from tests.fixtures.mail import SmtpServer

    server = SmtpServer(smtputf8=True)
    server.start()
    try:
        settings = dataclasses.replace(mail_settings, smtp_port=server.port)
        row = OutboxMessage(message_id="<subject-test@lkk.test>", kind="notice", recipient=recipient,
                            template="password_changed")
        message = delivery.build_message(row, LONG_SUBJECT, "Текст письма.", "<p>Текст письма.</p>", settings)
        await transport.send_smtp(message, recipient, settings)
        (received,) = server.messages
        parsed = email.message_from_bytes(received.raw, policy=email.policy.default)
        assert parsed["Subject"] == LONG_SUBJECT
        assert all(len(line) <= 998 for line in received.raw.split(b"\r\n"))
    finally:
        server.stop()


def test_the_standard_folding_loses_the_space_and_ours_does_not():
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = LONG_SUBJECT
    message.set_content("x")
    standard = email.message_from_bytes(message.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert "показанийприборов" in standard["Subject"]  # the flaw worked around (CPython 3.11–3.13)
    for utf8, cte in ((False, "7bit"), (False, "8bit"), (True, "8bit")):
        data = transport.letter_bytes(message, utf8=utf8, cte_type=cte)
        assert email.message_from_bytes(data, policy=email.policy.default)["Subject"] == LONG_SUBJECT
        if not utf8:
            assert all(len(line) <= 78 for line in data.split(b"\r\n")), data


_WORDS = ["показаний", "приборов", "учёта", "за", "ноябрь", "2026", "года", "по", "договору", "Д-1001",
          "ООО", "«Ромашка-Демо»", "—", "a", "Счёт-фактура", "№", "12/34"]


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40), st.sampled_from(["7bit", "8bit"]))
def test_any_russian_subject_is_read_back_exactly(words, cte):
    from email.message import EmailMessage

    subject = " ".join(words)
    message = EmailMessage()
    message["Subject"] = subject
    message.set_content("x")
    data = transport.letter_bytes(message, cte_type=cte)
    assert email.message_from_bytes(data, policy=email.policy.default)["Subject"] == subject


@pytest.mark.asyncio
async def test_the_dev_mailbox_keeps_a_long_subject_whole(dev_settings):
    row = OutboxMessage(id=7, message_id="<dev-subject@lkk.test>", kind="notice", recipient="a@example.ru",
                        template="password_changed")
    message = delivery.build_message(row, LONG_SUBJECT, "Текст.", "<p>Текст.</p>", dev_settings)
    path = devmail.write_letter(7, "a@example.ru", message, dev_settings)
    assert BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())["Subject"] == LONG_SUBJECT
    assert devmail.list_dev_mail(dev_settings.mail_dir)[0]["subject"] == LONG_SUBJECT
