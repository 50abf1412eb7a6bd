"""The mail outbox: letters are jobs of :data:`OUTBOX`, a
:class:`lkk_app.jobs.queue.Queue` over ``lkk_outbox`` (SECURITY.md, "Mail").

**Queue a letter** with its named helper — :func:`queue_confirmation`,
:func:`queue_recovery`, :func:`queue_password_changed`,
:func:`queue_password_guesses` — in the same transaction as the data it
belongs to: the row is committed, or rolled back, with it, and the web request
never waits for SMTP.  :func:`enqueue` is what they share.

**No secret is stored in the outbox.**  A letter that carries a link or a
temporary password names a ``secret_purpose``; just before rendering, the
sender mints that secret (``lkk_app.mail.delivery``).  **A retry is the same
letter**: the minter derives the secret from :func:`letter_seed` —
HMAC-SHA-256 of ``LKK_SECRET_KEY`` and the row's random ``secret_seed`` — so
every attempt carries the same link or temporary password (and the same
``Message-ID`` and ``Date``).  ``secret_seed`` is cleared when the letter is
sent or failed.

Claims, leases, retries (30 s doubling, at most 1 h, until the letter's
``expires_at``) and giving up are the queue's: :func:`claim_batch`,
:func:`mark_sent`, :func:`mark_retry`, :func:`mark_failed`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta

from sqlmodel import Session

from lkk_app.core import tokens
from lkk_app.core.text import contains_control
from lkk_app.jobs.queue import Queue, Statuses
from lkk_app.mail import templates as mail_templates
from lkk_app.mail.transport import PermanentMailError, ascii_domain
from lkk_app.models import OutboxMessage, User
from lkk_app.settings import Settings, get_settings

log = logging.getLogger("lkk.mail")

STATUSES = Statuses(pending="pending", running="sending", done="sent", failed="failed")
# Row statuses.
PENDING = STATUSES.pending
SENDING = STATUSES.running
SENT = STATUSES.done
FAILED = STATUSES.failed
# Results of one delivery: the status it left, or "retry".
RESULT_SENT = SENT
RESULT_RETRY = "retry"
RESULT_FAILED = FAILED

# A letter without a secret is given up after this long.
DEFAULT_EXPIRES = timedelta(days=3)
RECIPIENT_MAX = 254

#: The letters' queue.  The Message-ID is a letter's idempotency key.
OUTBOX = Queue(
    OutboxMessage,
    name="mail",
    items="letters",
    log=log,
    statuses=STATUSES,
    payload_column="params_json",
    key_column="message_id",
    finished_column="sent_at",
    clear_when_finished=("secret_seed",),
    default_expiry=DEFAULT_EXPIRES,
)

claim_batch = OUTBOX.claim
mark_sent = OUTBOX.mark_done
mark_failed = OUTBOX.mark_failed
mark_retry = OUTBOX.mark_retry
backoff = OUTBOX.backoff
wake_workers = OUTBOX.wake

# The purpose of the secret each template carries (tokens.TTL gives its lifetime).
SECRET_PURPOSES = {"confirm_email": tokens.CONFIRM_EMAIL, "temp_password": tokens.TEMP_PASSWORD}



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
    if expires_in is None:
        expires_in = tokens.TTL.get(secret_purpose or "", DEFAULT_EXPIRES)
    return OUTBOX.add(
        session,
        kind=kind,
        payload=params,
        expires_in=expires_in,
        message_id=new_message_id(settings),
        user_id=user_id,
        recipient=recipient.strip(),
        template=template,
        secret_purpose=secret_purpose,
        secret_seed=secrets.token_hex(32) if secret_purpose else None,
    )


# --------------------------------------------------------------------------- the letters


def _queue_letter(session: Session, template: str, user: User, settings: Settings | None,
                  **params: str) -> OutboxMessage:
    """The letter ``template`` to the user's address; its secret, if it carries
    one, belongs to the user and is minted when the letter is sent."""
    return enqueue(session, kind=template, template=template, recipient=user.email,
                   params={"login": user.login, **params}, user_id=user.id,
                   secret_purpose=SECRET_PURPOSES.get(template), settings=settings)


def queue_confirmation(session: Session, user: User, *,
                       settings: Settings | None = None) -> OutboxMessage:
    """The e-mail confirmation letter; its link (24 h) replaces the user's older ones."""
    return _queue_letter(session, "confirm_email", user, settings)


def queue_recovery(session: Session, user: User, *,
                   settings: Settings | None = None) -> OutboxMessage:
    """The letter with a temporary password (24 h; it replaces older ones)."""
    return _queue_letter(session, "temp_password", user, settings)


def queue_password_changed(session: Session, user: User, *, time: str, ip: str, device: str,
                           settings: Settings | None = None) -> OutboxMessage:
    """The notice that the account's password was changed (no password in it):
    when (``time``, in ``LKK_TIME_ZONE``) and from where (IP address, browser and
    system)."""
    return _queue_letter(session, "password_changed", user, settings, time=time, ip=ip or "—", device=device)


def queue_password_guesses(session: Session, user: User, *, attempts: int, ip: str, device: str,
                           started: str, time: str,
                           settings: Settings | None = None) -> OutboxMessage:
    """The warning that wrong current passwords ended a session: how many,
    from where, on which device, when that session began and when it ended."""
    return _queue_letter(session, "password_guesses", user, settings, attempts=str(attempts),
                         ip=ip or "—", device=device, started=started, time=time)


def queue_binding_code(session: Session, user: User, *, recipient: str, contract: str, organisation: str,
                       settings: Settings | None = None) -> OutboxMessage:
    """The code confirming a contract binding, to the contract's e-mail of record
    (never an address the user typed); valid 15 minutes."""
    return enqueue(session, kind="binding_code", template="binding_code", recipient=recipient,
                   params={"login": user.login, "contract": contract, "organisation": organisation},
                   user_id=user.id, secret_purpose=tokens.BINDING_CODE, settings=settings)


def queue_access_request(session: Session, administrator: User, *, requester: User, contract: str,
                         organisation: str, settings: Settings | None = None) -> OutboxMessage:
    """To an organisation's administrator: a user asks for access to a contract bound already."""
    return _queue_letter(session, "binding_access_request", administrator, settings,
                         requester=requester.login, requester_email=requester.email, contract=contract,
                         organisation=organisation)


def queue_readings_receipt(session: Session, user: User, *, recipient: str, rows: list[list[str]],
                           settings: Settings | None = None, **params: str) -> OutboxMessage:
    """The receipt of readings given in the cabinet (to the user who gave them, or
    the organisation's notification address): what, for which contract and month."""
    return enqueue(session, kind="readings_receipt", template="readings_receipt", recipient=recipient,
                   params={"login": user.login, "rows": rows, **params}, user_id=user.id, settings=settings)
