"""Delivering one claimed letter: mint its secret, render it, send it, record the result.

**Secrets are minted by the sender.**  Just before rendering a letter that
names a ``secret_purpose``, :func:`deliver_one` calls the minter registered
for that purpose in its :class:`SecretMinters` (filled when a sender is
made, ``lkk_app.jobs.worker.letter_secrets`` — never as a side effect of
importing a module), commits what the minter stored (the token's hash), and
only then sends.  A minter that returns ``None`` cancels the letter (its
secret was used or replaced, or the user is gone).

**Where it goes**: without ``LKK_SMTP_HOST`` to the development mailbox
(``lkk_app.mail.devmail``), otherwise to the SMTP server
(``lkk_app.mail.transport``).  Delivery is at least once: a crash between the
server's "250 OK" and the database update sends the letter again after the
lease — the same letter: same ``Message-ID``, same secret.

Logs go to ``logging.getLogger("lkk.mail")`` and never contain a secret —
except the confirmation link the development mailbox logs on purpose.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage

import sqlalchemy as sa
from sqlmodel import Session

from lkk_app import db as db_module
from lkk_app.core import clock, tokens
from lkk_app.jobs.queue import error_text
from lkk_app.mail import devmail, transport
from lkk_app.mail import templates as mail_templates
from lkk_app.mail.outbox import (
    FAILED,
    OUTBOX,
    RESULT_FAILED,
    RESULT_RETRY,
    RESULT_SENT,
    SENDING,
    SENT,
    letter_seed,
)
from lkk_app.models import OutboxMessage
from lkk_app.settings import Settings, get_settings

log = logging.getLogger("lkk.mail")

# ``fn(session, user_id, letter_seed=seed)``: ``seed`` is the letter's 32-byte
# seed, or ``None`` for a letter queued before seeds existed (then mint at random).
SecretMinter = Callable[..., "str | None"]


class SecretMinters:
    """Which function mints the secret of letters with a given ``secret_purpose``.

    A minter ``fn(session, user_id, letter_seed=seed) -> secret`` runs in a
    worker thread, in a session of its own that the sender commits *before*
    the letter is sent.  It derives the secret from ``letter_seed``
    (``tokens.token_from_seed`` / ``temp_password_from_seed``) so that every
    attempt of one letter gets the same one: when this letter's secret is
    already stored and still valid it returns it again without storing
    anything.  It stores whatever must be stored (a hash) and returns the
    secret for the letter, or ``None`` when the letter is no longer wanted
    (the user is gone, this letter's secret was used or replaced): the letter
    is then marked failed without being sent.  An exception means "try again
    later".  Registering a purpose again replaces its minter.
    """

    def __init__(self, minters: Mapping[str, SecretMinter] | None = None):
        self._minters: dict[str, SecretMinter] = {}
        self._lock = threading.Lock()
        for purpose, fn in (minters or {}).items():
            self.register(purpose, fn)

    def register(self, purpose: str, fn: SecretMinter) -> None:
        if not isinstance(purpose, str) or not 0 < len(purpose) <= tokens.PURPOSE_MAX:
            raise ValueError("purpose must be a non-empty string of at most 32 characters")
        with self._lock:
            self._minters[purpose] = fn

    def get(self, purpose: str) -> SecretMinter | None:
        return self._minters.get(purpose)

    def purposes(self) -> list[str]:
        return sorted(self._minters)


@dataclasses.dataclass
class _Prepared:
    pk: int
    recipient: str
    template: str
    message: EmailMessage
    secret: str | None
    link: str | None


def build_message(row: OutboxMessage, subject: str, text: str, html: str, settings: Settings) -> EmailMessage:
    """The letter; every attempt of one row gives the same headers (a retry is
    the same letter: ``Date`` is when it was queued)."""
    msg = EmailMessage()
    msg["Subject"] = subject
    name, address = email.utils.parseaddr(settings.mail_from)
    msg["From"] = (Address(display_name=name, addr_spec=transport.smtp_address(address)[0])
                   if address else settings.mail_from)
    msg["To"] = transport.smtp_address(row.recipient)[0]
    created = row.created_at or clock.utcnow()
    msg["Date"] = email.utils.format_datetime(created.replace(tzinfo=UTC))
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg


def _give_up(session: Session, pk: int, error: BaseException | str, *,
             secret: str | None = None) -> str:
    OUTBOX.mark_failed(session, pk, error, secret=secret)
    session.commit()
    return RESULT_FAILED


def _retry(session: Session, pk: int, error: BaseException | str) -> str:
    result = OUTBOX.mark_retry(session, pk, error)
    session.commit()
    return result


def _prepare(engine: sa.Engine, pk: int, settings: Settings,
             minters: SecretMinters) -> _Prepared | str:
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
            params = OUTBOX.payload(row)
            mail_templates.check_params(row.template, params)
        except ValueError as exc:
            log.error("mail #%d (%s) cannot be rendered: %s", pk, row.template, error_text(exc))
            return _give_up(session, pk, exc)

        secret: str | None = None
        if row.secret_purpose:
            minter = minters.get(row.secret_purpose)
            if minter is None or row.user_id is None:
                log.error("mail #%d: no secret minter registered for %r", pk, row.secret_purpose)
                return _retry(session, pk, f"no secret minter registered for {row.secret_purpose!r}")
            try:
                secret = minter(session, row.user_id, letter_seed=letter_seed(row, settings))
                # The secret's hash is committed before the letter leaves.
                session.commit()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: try later
                session.rollback()
                log.warning("mail #%d: minting the secret failed: %s", pk, error_text(exc))
                return _retry(session, pk, exc)
            if not secret:
                log.info("mail #%d cancelled: no %s secret for user %s", pk, row.secret_purpose, row.user_id)
                return _give_up(session, pk, "cancelled: its secret is no longer wanted "
                                             "(used, replaced by a newer letter, or the user is gone)")

        try:
            # ``public_url``: the cabinet people open; ``server_url``: the link routes' host.
            values = {**params, "public_url": settings.pages_url, "server_url": settings.public_url,
                      "email": row.recipient}
            subject, text, html = mail_templates.render(row.template, values, secret)
            message = build_message(row, subject, text, html, settings)
        except Exception as exc:  # noqa: BLE001 - a broken template or address is permanent
            log.error("mail #%d (%s) cannot be built: %s", pk, row.template, error_text(exc, secret))
            return _give_up(session, pk, exc, secret=secret)
        link = None
        if secret and mail_templates.TEMPLATES[row.template].secret == mail_templates.SECRET_LINK:
            link = mail_templates.confirm_link(settings.public_url, secret)
        return _Prepared(pk, row.recipient, row.template, message, secret, link)


def _finish(engine: sa.Engine, pk: int, outcome: str, error: str) -> str:
    with Session(engine, expire_on_commit=False) as session:
        result = OUTBOX.finish(session, pk, outcome, error)
        session.commit()
        return result


async def deliver_one(
    message_id_pk: int,
    settings: Settings | None = None,
    *,
    minters: SecretMinters,
    engine: sa.Engine | None = None,
) -> str:
    """Deliver one claimed (``sending``) letter; ``'sent'``, ``'retry'`` or ``'failed'``.

    A row that is not ``sending`` is left alone and reported as it stands
    (``pending`` → ``'retry'``).  ``engine`` defaults to the application's.
    """
    settings = settings or get_settings()
    engine = engine or db_module.get_engine()
    prepared = await asyncio.to_thread(_prepare, engine, message_id_pk, settings, minters)
    if isinstance(prepared, str):
        return prepared

    outcome, error = RESULT_SENT, ""
    try:
        if settings.mail_enabled_smtp:
            await transport.send_smtp(prepared.message, prepared.recipient, settings)
        else:
            await asyncio.to_thread(devmail.write_letter, prepared.pk, prepared.recipient,
                                    prepared.message, settings, link=prepared.link)
    except Exception as exc:  # noqa: BLE001 - classified below
        outcome = transport.classify_error(exc)
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
