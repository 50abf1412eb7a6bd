"""The mail outbox (SECURITY.md, "Mail").

**Enqueue** (:func:`enqueue`) in the same transaction as the data the letter
belongs to: the row is added to the caller's session and committed — or rolled
back — with it.  The web request never waits for SMTP.  When the session
commits, the outbox workers of this process are woken up (:func:`wake_workers`).

**No secret is stored in the outbox.**  A letter that carries a link or a
temporary password names a ``secret_purpose``; just before rendering, the
sender calls the *secret minter* registered for that purpose
(:func:`register_secret_minter`), commits what it stored (the token's hash),
and only then sends.  :data:`tokens.CONFIRM_EMAIL` is registered here;
``tokens.TEMP_PASSWORD`` is registered by the recovery code.  **A retry is the
same letter**: the minter gets a ``letter_seed`` — HMAC-SHA-256 of
``LKK_SECRET_KEY`` and the row's random ``secret_seed`` — and derives the
secret from it, so every attempt carries the same link or temporary password
(and the same ``Message-ID`` and ``Date``).  A server that accepted an attempt
but answered too late therefore does not leave the customer a letter whose
link no longer works; and once the secret has been used (or replaced by a
newer letter) a retry is cancelled instead of sent.  ``secret_seed`` is
cleared when the letter is sent or failed.

**Claiming** (:func:`claim_batch`): due ``pending`` rows, and ``sending`` rows
whose lease ran out (their sender crashed), become ``sending`` with
``locked_until = now + lease``.  Two processes never claim the same row:
PostgreSQL picks rows with ``SELECT … FOR UPDATE SKIP LOCKED``; every claim is
a conditional ``UPDATE … WHERE id = ? AND <still due>`` whose row count is
checked (on SQLite the first UPDATE takes the database's write lock until the
caller commits).  ``attempts`` counts claims, so a crashed attempt counts too.

**Delivery** (:func:`deliver_one`): without ``LKK_SMTP_HOST`` letters go to the
development mailbox (``.eml`` files in ``mail_dir``, see :func:`list_dev_mail`);
otherwise to the SMTP server with aiosmtplib (TLS as configured).  Each
command waits ``LKK_SMTP_TIMEOUT`` (15 s) for its reply, the end of DATA
``LKK_SMTP_DATA_TIMEOUT`` (600 s, RFC 5321 4.5.3.2.6).  Addresses go into the
envelope and the ``To`` header with their domain in IDNA (``пример.рф`` →
``xn--e1afmkfd.xn--p1ai``); a non-ASCII local part needs the server's
SMTPUTF8, and without it the letter is failed at once (retrying cannot help).
Network errors, time-outs and 4xx replies are retried with exponential backoff
(30 s · 2^(attempts−1), at most 1 h) until the letter's ``expires_at``; 5xx
replies mark it failed.  Delivery is at least once: a crash between the
server's "250 OK" and the database update sends the letter again after the
lease (the same letter: same ``Message-ID``, same secret).

**Worker** (:class:`OutboxWorker`): ``await worker.run_forever(stop_event)``
in a background task; database work runs in threads (``asyncio.to_thread``),
never on the event loop.

Logs go to ``logging.getLogger("lkk.mail")`` and never contain a secret —
except the confirmation link the development mailbox logs on purpose.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
import email.utils
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import aiosmtplib
import idna
import sqlalchemy as sa
from aiosmtplib.email import flatten_message
from sqlmodel import Session, and_, or_, select, update

from lkk_app import db as db_module
from lkk_app.models import OutboxMessage, User
from lkk_app.core import clock, tokens
from lkk_app.mail import templates as mail_templates
from lkk_app.core.text import clean, contains_control
from lkk_app.settings import (
    ENV_PRODUCTION,
    SMTP_TLS_STARTTLS,
    SMTP_TLS_TLS,
    Settings,
    get_settings,
)

log = logging.getLogger("lkk.mail")

# Row statuses.
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
# Results of one delivery.
RESULT_SENT = "sent"
RESULT_RETRY = "retry"
RESULT_FAILED = "failed"

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_BATCH = 10
# A letter without a secret is given up after this long.
DEFAULT_EXPIRES = timedelta(days=3)
ERROR_MAX = 500
KIND_MAX = 32
RECIPIENT_MAX = 254


# --------------------------------------------------------------------------- secret minters

# ``fn(session, user_id, letter_seed=seed)``: ``seed`` is the letter's 32-byte
# seed, or ``None`` for a letter queued before seeds existed (then mint at random).
SecretMinter = Callable[..., "str | None"]
_SECRET_MINTERS: dict[str, SecretMinter] = {}
_minters_lock = threading.Lock()


def register_secret_minter(purpose: str, fn: SecretMinter) -> None:
    """Make ``fn(session, user_id, letter_seed=seed) -> secret`` mint the secret
    of letters with ``secret_purpose == purpose``.

    The minter runs in a worker thread, in a session of its own that the
    sender commits *before* the letter is sent.  It derives the secret from
    ``letter_seed`` (``tokens.token_from_seed`` / ``temp_password_from_seed``)
    so that every attempt of one letter gets the same one: when this letter's
    secret is already stored and still valid it returns it again without
    storing anything.  It stores whatever must be stored (a hash) and returns
    the secret for the letter, or ``None`` when the letter is no longer wanted
    (the user is gone, this letter's secret was used or replaced): the letter
    is then marked failed without being sent.  An exception means "try again
    later".  Registering a purpose again replaces its minter.
    """
    if not isinstance(purpose, str) or not 0 < len(purpose) <= tokens.PURPOSE_MAX:
        raise ValueError("purpose must be a non-empty string of at most 32 characters")
    with _minters_lock:
        _SECRET_MINTERS[purpose] = fn


def secret_minter(purpose: str) -> SecretMinter | None:
    return _SECRET_MINTERS.get(purpose)


def mint_confirm_email(session: Session, user_id: int, *, letter_seed: bytes | None = None) -> str | None:
    """The e-mail confirmation token (24 h, replaces the user's older ones);
    for a retry of the same letter the same token, or ``None`` once it was
    used or replaced."""
    if session.get(User, user_id) is None:
        return None
    token = None
    if letter_seed is not None:
        token = tokens.token_from_seed(letter_seed)
        state = tokens.peek_token(session, token, tokens.CONFIRM_EMAIL)
        if state == tokens.VALID:
            return token
        if state != tokens.UNKNOWN:
            return None
    return tokens.issue_token(
        session,
        user_id=user_id,
        purpose=tokens.CONFIRM_EMAIL,
        ttl=tokens.TTL[tokens.CONFIRM_EMAIL],
        token=token,
    )


register_secret_minter(tokens.CONFIRM_EMAIL, mint_confirm_email)


# --------------------------------------------------------------------------- enqueue


def new_message_id(settings: Settings | None = None) -> str:
    """``<32 hex digits@domain of LKK_MAIL_FROM>`` (the domain in IDNA)."""
    settings = settings or get_settings()
    try:
        domain = ascii_domain(settings.mail_from_domain) if settings.mail_from_domain else "localhost"
    except PermanentMailError:
        domain = "localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"


def letter_seed(row: OutboxMessage, settings: Settings) -> bytes | None:
    """The 32 bytes a minter derives this letter's secret from; ``None`` for a
    letter without a seed (queued before seeds existed)."""
    if not row.secret_seed or not row.secret_purpose:
        return None
    key = settings.secret_key if isinstance(settings.secret_key, bytes) else settings.secret_key.encode()
    message = "\0".join(("lkk-letter-secret", row.secret_purpose, str(row.user_id), row.secret_seed))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def enqueue(
    session: Session,
    *,
    kind: str,
    template: str,
    recipient: str,
    params: Mapping[str, object],
    user_id: int | None = None,
    secret_purpose: str | None = None,
    expires_in: timedelta | None = None,
    settings: Settings | None = None,
) -> OutboxMessage:
    """Add a letter to the caller's session (same transaction as its data); flushes, does not commit.

    ``params`` must be JSON-serialisable and hold no secret (names such as
    ``password`` or ``token`` are refused).  A template that carries a secret
    needs ``secret_purpose`` and ``user_id``; one that does not, must not have
    them.  ``expires_in`` is how long delivery may be retried; by default the
    lifetime of the secret (24 h) or :data:`DEFAULT_EXPIRES` (3 days).

    Raises ``ValueError`` (:class:`mail_templates.MailTemplateError` among
    them) for a programming error; nothing is added then.
    """
    settings = settings or get_settings()
    if not isinstance(kind, str) or not 0 < len(kind) <= KIND_MAX:
        raise ValueError("kind must be a non-empty string of at most 32 characters")
    spec = mail_templates.check_params(template, params)
    if spec.secret and not secret_purpose:
        raise ValueError(f"template {template!r} carries a secret: give secret_purpose")
    if secret_purpose and not spec.secret:
        raise ValueError(f"template {template!r} carries no secret: no secret_purpose")
    if secret_purpose and (not isinstance(user_id, int) or len(secret_purpose) > tokens.PURPOSE_MAX):
        raise ValueError("a letter with a secret needs the user_id the secret belongs to")
    if (
        not isinstance(recipient, str)
        or contains_control(recipient)
        or "@" not in recipient
        or len(recipient.strip()) > RECIPIENT_MAX
    ):
        raise ValueError("recipient must be one e-mail address")
    params_json = json.dumps(dict(params), ensure_ascii=False, sort_keys=True)

    if expires_in is None:
        expires_in = tokens.TTL.get(secret_purpose or "", DEFAULT_EXPIRES)
    now = clock.utcnow()
    row = OutboxMessage(
        message_id=new_message_id(settings),
        kind=kind,
        user_id=user_id,
        recipient=recipient.strip(),
        template=template,
        params_json=params_json,
        secret_purpose=secret_purpose,
        secret_seed=secrets.token_hex(32) if secret_purpose else None,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        locked_until=None,
        expires_at=now + expires_in,
        last_error="",
        created_at=now,
        sent_at=None,
    )
    session.add(row)
    session.flush()
    _wake_after_commit(session)
    return row


def _wake_after_commit(session: Session) -> None:
    """Nudge this process's workers once the caller's transaction commits."""
    if session.info.get("lkk_outbox_wake"):
        return
    session.info["lkk_outbox_wake"] = True

    def _after_commit(sess) -> None:
        sess.info.pop("lkk_outbox_wake", None)
        wake_workers()

    sa.event.listen(session, "after_commit", _after_commit, once=True)


# --------------------------------------------------------------------------- claiming and results


def _due(now: datetime):
    """Rows a sender may take now: pending and due, or sending with a lapsed lease."""
    return or_(
        and_(
            OutboxMessage.status == PENDING,  # type: ignore[arg-type]
            OutboxMessage.next_attempt_at <= now,  # type: ignore[arg-type, operator]
        ),
        and_(
            OutboxMessage.status == SENDING,  # type: ignore[arg-type]
            or_(
                OutboxMessage.locked_until.is_(None),  # type: ignore[union-attr]
                OutboxMessage.locked_until <= now,  # type: ignore[arg-type, operator]
            ),
        ),
    )


def _pick(session: Session, condition, limit: int) -> list:
    stmt = (
        select(OutboxMessage.id, OutboxMessage.last_error)
        .where(condition)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.exec(stmt).all())


def claim_batch(
    session: Session, *, limit: int = DEFAULT_BATCH, lease: timedelta = DEFAULT_LEASE
) -> list[int]:
    """Claim up to ``limit`` letters for sending; return their ids.

    Letters whose ``expires_at`` has passed are marked failed instead.  Call
    it in a fresh session and **commit at once** (it does not commit): the
    claim, and on SQLite the write lock, last until then.
    """
    if limit < 1:
        return []
    now = clock.utcnow()
    expired = and_(
        OutboxMessage.expires_at.is_not(None),  # type: ignore[union-attr]
        OutboxMessage.expires_at <= now,  # type: ignore[arg-type, operator]
    )
    for pk, last_error in _pick(session, and_(_due(now), expired), 100):
        note = "expired before delivery" + (f"; last error: {last_error}" if last_error else "")
        result = session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == pk, _due(now), expired)  # type: ignore[arg-type]
            .values(status=FAILED, locked_until=None, secret_seed=None, last_error=_clip(note))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            log.error("mail #%d expired before it could be delivered (%s)", pk, last_error or "-")

    not_expired = or_(
        OutboxMessage.expires_at.is_(None),  # type: ignore[union-attr]
        OutboxMessage.expires_at > now,  # type: ignore[arg-type, operator]
    )
    claimed: list[int] = []
    for pk, _ in _pick(session, and_(_due(now), not_expired), limit):
        result = session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == pk, _due(now), not_expired)  # type: ignore[arg-type]
            .values(
                status=SENDING,
                locked_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(pk)
    session.flush()
    return claimed


def _clip(text: str, secret: str | None = None) -> str:
    if secret:
        text = text.replace(secret, "[secret]")
    return clean(text, ERROR_MAX, collapse=True)


def error_text(error: BaseException | str, secret: str | None = None) -> str:
    """A one-line description for ``last_error``: no secret, at most 500 characters."""
    if isinstance(error, BaseException):
        detail = str(error).strip()
        error = type(error).__name__ + (f": {detail}" if detail else "")
    return _clip(error, secret)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s · 2^(attempts−1), at most 1 h."""
    exponent = min(max(attempts, 1) - 1, 20)
    return min(BACKOFF_BASE * (2**exponent), BACKOFF_CAP)


def _set(session: Session, pk: int, allowed: tuple[str, ...], **values) -> bool:
    result = session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(OutboxMessage.id == pk, OutboxMessage.status.in_(allowed))  # type: ignore[arg-type, attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def mark_sent(session: Session, message_pk: int) -> bool:
    """The claimed letter was accepted; False when it was not ``sending`` any more."""
    now = clock.utcnow()
    return _set(
        session, message_pk, (SENDING,),
        status=SENT, sent_at=now, locked_until=None, secret_seed=None,
    )


def mark_failed(session: Session, message_pk: int, error: BaseException | str, *, secret: str | None = None) -> bool:
    """Give up on a letter (a 5xx reply, a broken template…)."""
    return _set(
        session, message_pk, (PENDING, SENDING),
        status=FAILED, locked_until=None, secret_seed=None, last_error=error_text(error, secret),
    )


def mark_retry(
    session: Session, message_pk: int, error: BaseException | str, *, secret: str | None = None
) -> str:
    """Schedule the next attempt after :func:`backoff`; ``'retry'``.

    ``'failed'`` instead when that attempt would come after the letter's
    ``expires_at``.  Nothing happens (``'retry'``) when the row is not
    ``sending`` any more.
    """
    row = session.exec(
        select(OutboxMessage.attempts, OutboxMessage.expires_at).where(OutboxMessage.id == message_pk)  # type: ignore[arg-type]
    ).first()
    if row is None:
        return RESULT_FAILED
    attempts, expires_at = row
    now = clock.utcnow()
    next_at = now + backoff(attempts)
    text = error_text(error, secret)
    if expires_at is not None and next_at > expires_at:
        _set(
            session, message_pk, (SENDING,),
            status=FAILED, locked_until=None, secret_seed=None,
            last_error=_clip(f"expired; last error: {text}"),
        )
        return RESULT_FAILED
    _set(
        session, message_pk, (SENDING,),
        status=PENDING,
        locked_until=None,
        next_attempt_at=next_at,
        last_error=text,
    )
    return RESULT_RETRY


# --------------------------------------------------------------------------- delivery


class PermanentMailError(Exception):
    """The letter cannot be delivered as it is, and retrying will not change
    that (an address whose domain has no IDNA form, a non-ASCII local part for
    a server without SMTPUTF8)."""


def ascii_domain(domain: str) -> str:
    """A mail domain in its ASCII form: IDNA 2008 with UTS #46 mapping
    (``пример.рф`` → ``xn--e1afmkfd.xn--p1ai``); an address literal as it is."""
    if domain.startswith("[") or domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise PermanentMailError(f"the domain {domain!r} has no IDNA form: {exc}") from exc


def smtp_address(address: str) -> tuple[str, bool]:
    """``(address with its domain in IDNA, whether its local part needs SMTPUTF8)``."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise PermanentMailError(f"not an e-mail address: {address!r}")
    return f"{local}@{ascii_domain(domain)}", not local.isascii()


def classify_error(exc: BaseException) -> str:
    """``'retry'`` for network errors, time-outs and 4xx; ``'failed'`` for 5xx
    and :class:`PermanentMailError`.

    A refused login (``SMTPAuthenticationError``) and a server without
    STARTTLS (``SMTPNotSupported``) are our configuration, not the letter's
    fault: retried, so letters go out once the setting is fixed.
    """
    if isinstance(exc, PermanentMailError):
        return RESULT_FAILED
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return RESULT_RETRY if codes and all(400 <= c < 500 for c in codes) else RESULT_FAILED
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected,
                        aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPAuthenticationError,
                        aiosmtplib.SMTPNotSupported)):
        return RESULT_RETRY
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return RESULT_FAILED if exc.code >= 500 else RESULT_RETRY
    return RESULT_RETRY  # OSError, TimeoutError and the unexpected: until the letter expires


@dataclasses.dataclass
class _Prepared:
    pk: int
    recipient: str
    template: str
    message: EmailMessage
    secret: str | None
    link: str | None


def _build_message(row: OutboxMessage, subject: str, text: str, html: str, settings: Settings) -> EmailMessage:
    """The letter; every attempt of one row gives the same headers (a retry is
    the same letter: ``Date`` is when it was queued)."""
    msg = EmailMessage()
    msg["Subject"] = subject
    name, address = email.utils.parseaddr(settings.mail_from)
    msg["From"] = Address(display_name=name, addr_spec=smtp_address(address)[0]) if address else settings.mail_from
    msg["To"] = smtp_address(row.recipient)[0]
    created = row.created_at or clock.utcnow()
    msg["Date"] = email.utils.format_datetime(created.replace(tzinfo=UTC))
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg


def _prepare(engine: sa.Engine, pk: int, settings: Settings) -> _Prepared | str:
    """Load the claimed row, mint and commit its secret, render the letter.

    Returns the result string instead when the letter is not to be sent now.
    """
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(OutboxMessage, pk)
        if row is None:
            log.warning("mail #%d does not exist", pk)
            return RESULT_FAILED
        if row.status != SENDING:
            return {SENT: RESULT_SENT, FAILED: RESULT_FAILED}.get(row.status, RESULT_RETRY)
        try:
            params = json.loads(row.params_json or "{}")
            if not isinstance(params, dict):
                raise ValueError("params_json is not an object")
            mail_templates.check_params(row.template, params)
        except ValueError as exc:
            log.error("mail #%d (%s) cannot be rendered: %s", pk, row.template, error_text(exc))
            mark_failed(session, pk, exc)
            session.commit()
            return RESULT_FAILED

        secret: str | None = None
        if row.secret_purpose:
            minter = _SECRET_MINTERS.get(row.secret_purpose)
            if minter is None or row.user_id is None:
                log.error("mail #%d: no secret minter registered for %r", pk, row.secret_purpose)
                result = mark_retry(session, pk, f"no secret minter registered for {row.secret_purpose!r}")
                session.commit()
                return result
            try:
                secret = minter(session, row.user_id, letter_seed=letter_seed(row, settings))
                # The secret's hash is committed before the letter leaves.
                session.commit()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: try later
                session.rollback()
                log.warning("mail #%d: minting the secret failed: %s", pk, error_text(exc))
                result = mark_retry(session, pk, exc)
                session.commit()
                return result
            if not secret:
                log.info("mail #%d cancelled: no %s secret for user %s", pk, row.secret_purpose, row.user_id)
                mark_failed(session, pk, "cancelled: its secret is no longer wanted "
                                         "(used, replaced by a newer letter, or the user is gone)")
                session.commit()
                return RESULT_FAILED

        try:
            values = {**params, "public_url": settings.public_url, "email": row.recipient}
            subject, text, html = mail_templates.render(row.template, values, secret)
            message = _build_message(row, subject, text, html, settings)
        except Exception as exc:  # noqa: BLE001 - a broken template or address is permanent
            log.error("mail #%d (%s) cannot be built: %s", pk, row.template, error_text(exc, secret))
            mark_failed(session, pk, exc, secret=secret)
            session.commit()
            return RESULT_FAILED
        link = None
        if secret and mail_templates.TEMPLATES[row.template].secret == mail_templates.SECRET_LINK:
            link = mail_templates.confirm_link(settings.public_url, secret)
        return _Prepared(pk, row.recipient, row.template, message, secret, link)


def conversation_bound(settings: Settings) -> float:
    """Seconds one SMTP conversation may take at most: connect, EHLO,
    STARTTLS, EHLO, AUTH, MAIL, RCPT and QUIT at ``smtp_timeout`` each, DATA
    at ``smtp_data_timeout``."""
    return settings.smtp_timeout * 8 + max(settings.smtp_data_timeout, settings.smtp_timeout)


async def _send_smtp(message: EmailMessage, recipient: str, settings: Settings) -> None:
    """One SMTP conversation for one letter, command by command so that the end
    of DATA gets its RFC 5321 time-out while the other commands keep the short one."""
    rcpt, rcpt_utf8 = smtp_address(recipient)
    sender, sender_utf8 = smtp_address(settings.mail_from_address)
    utf8 = rcpt_utf8 or sender_utf8
    kwargs: dict = {
        "hostname": settings.smtp_host.strip("[]"),
        "port": settings.smtp_port,
        "timeout": settings.smtp_timeout,
    }
    if settings.smtp_user:
        kwargs["username"] = settings.smtp_user
        kwargs["password"] = settings.smtp_password
    if settings.smtp_tls == SMTP_TLS_TLS:
        kwargs.update(use_tls=True, start_tls=False)
    elif settings.smtp_tls == SMTP_TLS_STARTTLS:
        kwargs.update(use_tls=False, start_tls=True)
    else:
        kwargs.update(use_tls=False, start_tls=False)
    smtp = aiosmtplib.SMTP(**kwargs)

    async def conversation() -> None:
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        if utf8 and not smtp.supports_extension("smtputf8"):
            raise PermanentMailError(
                "the address has a non-ASCII local part and the server does not offer SMTPUTF8")
        options = ["SMTPUTF8"] if utf8 else []
        eight_bit = smtp.supports_extension("8bitmime")
        if eight_bit:
            options.append("BODY=8BITMIME")
        data = flatten_message(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
        encoding = "utf-8" if utf8 else "ascii"
        await smtp.mail(sender, options=options, encoding=encoding)
        await smtp.rcpt(rcpt, encoding=encoding)
        await smtp.data(data, timeout=max(settings.smtp_data_timeout, settings.smtp_timeout))
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):  # the letter is accepted already
            pass

    try:
        await asyncio.wait_for(conversation(), timeout=conversation_bound(settings))
    finally:
        smtp.close()


def _dev_mail_name(pk: int) -> str:
    return f"{clock.utcnow():%Y%m%dT%H%M%S%f}Z-{pk:08d}.eml"


def _write_dev_mailbox(prepared: _Prepared, settings: Settings) -> Path:
    """Write the letter to ``mail_dir`` atomically (temporary file, then rename)."""
    directory = Path(settings.mail_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / _dev_mail_name(prepared.pk)
    tmp = directory / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    data = prepared.message.as_bytes(policy=email.policy.default)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # The development mailbox is for development only; the link is logged on
    # purpose so that a developer can register without opening the file.
    extra = ""
    if prepared.link and settings.env != ENV_PRODUCTION:
        extra = f"; confirmation link: {prepared.link}"
    log.info("dev mailbox: mail #%d to %s saved as %s%s", prepared.pk, prepared.recipient, path, extra)
    return path


def _finish(engine: sa.Engine, pk: int, outcome: str, error: str) -> str:
    with Session(engine, expire_on_commit=False) as session:
        if outcome == RESULT_SENT:
            if not mark_sent(session, pk):
                log.warning("mail #%d was sent but its claim had lapsed", pk)
            result = RESULT_SENT
        elif outcome == RESULT_RETRY:
            result = mark_retry(session, pk, error)
        else:
            mark_failed(session, pk, error)
            result = RESULT_FAILED
        session.commit()
        return result


async def deliver_one(
    message_id_pk: int, settings: Settings | None = None, *, engine: sa.Engine | None = None
) -> str:
    """Deliver one claimed (``sending``) letter; ``'sent'``, ``'retry'`` or ``'failed'``.

    A row that is not ``sending`` is left alone and reported as it stands
    (``pending`` → ``'retry'``).  ``engine`` defaults to the application's.
    """
    settings = settings or get_settings()
    engine = engine or db_module.get_engine()
    prepared = await asyncio.to_thread(_prepare, engine, message_id_pk, settings)
    if isinstance(prepared, str):
        return prepared

    outcome, error = RESULT_SENT, ""
    try:
        if settings.mail_enabled_smtp:
            await _send_smtp(prepared.message, prepared.recipient, settings)
        else:
            await asyncio.to_thread(_write_dev_mailbox, prepared, settings)
    except Exception as exc:  # noqa: BLE001 - classified below
        outcome = classify_error(exc)
        error = error_text(exc, prepared.secret)
    finally:
        prepared.message = EmailMessage()  # drop the rendered secret early

    result = await asyncio.to_thread(_finish, engine, message_id_pk, outcome, error)
    if result == RESULT_SENT:
        log.info("mail #%d (%s) to %s sent", message_id_pk, prepared.template, prepared.recipient)
    elif result == RESULT_RETRY:
        log.warning("mail #%d (%s) to %s not sent, will retry: %s",
                    message_id_pk, prepared.template, prepared.recipient, error)
    else:
        log.error("mail #%d (%s) to %s failed: %s",
                  message_id_pk, prepared.template, prepared.recipient, error)
    return result


# --------------------------------------------------------------------------- worker

_workers: weakref.WeakSet[OutboxWorker] = weakref.WeakSet()


def wake_workers() -> None:
    """Nudge every running :class:`OutboxWorker` of this process (thread-safe)."""
    for worker in list(_workers):
        worker.wake()


class OutboxWorker:
    """Claims and delivers letters; one per process is enough (several are safe)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: sa.Engine | None = None,
        poll_interval: float = 1.0,
        batch_size: int = DEFAULT_BATCH,
        lease: timedelta = DEFAULT_LEASE,
    ):
        self.settings = settings or get_settings()
        self._engine = engine
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        # A claim must outlive the slowest delivery (the whole SMTP conversation
        # is bounded by conversation_bound), or another sender could take it over.
        self.lease = (max(lease, timedelta(seconds=conversation_bound(self.settings) + 30))
                      if self.settings.mail_enabled_smtp else lease)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_event: asyncio.Event | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db_module.get_engine()
        return self._engine

    def _claim(self, limit: int | None = None) -> list[int]:
        with Session(self.engine, expire_on_commit=False) as session:
            ids = claim_batch(session, limit=limit or self.batch_size, lease=self.lease)
            session.commit()
            return ids

    async def _deliver(self, pk: int) -> str:
        try:
            return await deliver_one(pk, self.settings, engine=self.engine)
        except Exception:  # noqa: BLE001 - the lease brings the letter back
            log.exception("mail #%d: delivery crashed; it will be retried after its lease", pk)
            return RESULT_RETRY

    async def run_once(self) -> int:
        """Claim one batch and deliver it (concurrently); return how many letters were processed."""
        ids = await asyncio.to_thread(self._claim)
        if ids:
            await asyncio.gather(*(self._deliver(pk) for pk in ids))
        return len(ids)

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Deliver until ``stop_event`` is set; errors are logged, never raised.

        At most ``batch_size`` letters are in delivery at once, each in a task
        of its own: a slow conversation (the end of DATA may take 10 minutes)
        holds one place, not the whole queue.  Between claims the worker waits
        ``poll_interval``, or until :meth:`wake` or a delivery ends.  Stopping
        cancels the deliveries under way; their lease brings them back, as the
        same letter, to the next sender."""
        self._loop = asyncio.get_running_loop()
        self._wake_event = asyncio.Event()
        _workers.add(self)
        log.info(
            "outbox worker started (%s)",
            f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port} {self.settings.smtp_tls}"
            if self.settings.mail_enabled_smtp
            else f"development mailbox {self.settings.mail_dir}",
        )
        in_flight: set[asyncio.Task] = set()

        def _delivered(task: asyncio.Task) -> None:
            in_flight.discard(task)
            self.wake()

        try:
            while not stop_event.is_set():
                self._wake_event.clear()
                free = self.batch_size - len(in_flight)
                claimed = 0
                if free > 0:
                    try:
                        ids = await asyncio.to_thread(self._claim, free)
                    except Exception:  # noqa: BLE001 - database down: try again later
                        log.exception("outbox worker: claiming letters failed")
                        ids = []
                    for pk in ids:
                        task = asyncio.create_task(self._deliver(pk), name=f"lkk-mail-{pk}")
                        in_flight.add(task)
                        task.add_done_callback(_delivered)
                    claimed = len(ids)
                if free > 0 and claimed >= free:
                    await asyncio.sleep(0)
                    continue
                await self._wait(stop_event)
        finally:
            for task in list(in_flight):
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            _workers.discard(self)
            self._wake_event = None
            self._loop = None
            log.info("outbox worker stopped")

    async def _wait(self, stop_event: asyncio.Event) -> None:
        assert self._wake_event is not None
        waiters = [
            asyncio.ensure_future(stop_event.wait()),
            asyncio.ensure_future(self._wake_event.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def wake(self) -> None:
        """Make a waiting :meth:`run_forever` look for letters now.  Safe from any thread."""
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
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop closed meanwhile
                pass


# --------------------------------------------------------------------------- development mailbox


def list_dev_mail(mail_dir: Path | str, *, limit: int = 100) -> list[dict]:
    """Letters of the development mailbox, newest first.

    Each is ``{"file", "date", "to", "subject", "message_id", "text", "html"}``
    (``date`` is the ``Date`` header as written, ``text``/``html`` the decoded
    parts).  Unreadable files are skipped; a missing directory gives ``[]``.
    """
    directory = Path(mail_dir)
    if not directory.is_dir():
        return []
    files = sorted(
        (p for p in directory.glob("*.eml") if not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )[: max(limit, 0)]
    letters: list[dict] = []
    parser = BytesParser(policy=email.policy.default)
    for path in files:
        try:
            with path.open("rb") as fh:
                msg = parser.parse(fh)
            text_part = msg.get_body(preferencelist=("plain",))
            html_part = msg.get_body(preferencelist=("html",))
            letters.append(
                {
                    "file": path.name,
                    "date": str(msg.get("Date", "")),
                    "to": str(msg.get("To", "")),
                    "subject": str(msg.get("Subject", "")),
                    "message_id": str(msg.get("Message-ID", "")),
                    "text": text_part.get_content() if text_part is not None else "",
                    "html": html_part.get_content() if html_part is not None else "",
                }
            )
        except (OSError, ValueError, LookupError) as exc:
            log.warning("dev mailbox: cannot read %s: %s", path.name, exc)
    return letters
