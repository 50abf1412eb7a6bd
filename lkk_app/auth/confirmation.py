"""Confirming the e-mail address: the link of the letter, and «Отправить
письмо повторно» (SECURITY.md, "Tokens, codes, temporary passwords" and "Mail").

* :func:`check_link` — what the page behind the link shows; changes nothing
  (mail scanners and link previews fetch links first).
* :func:`confirm` — the page's button: spends the link, confirms the address
  (once) and opens a session.
* :func:`resend_ticket` / :func:`ticket_user` — a right password of an
  account whose address is not confirmed yet earns a short-lived signed
  ticket (the HTTP layer keeps it in an HttpOnly cookie) that allows only
  :func:`resend`.
* :func:`resend` — a new letter within the limits (per account, and per
  address together with the registrations'); the same answer either way.

Nothing here commits; the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from sqlmodel import Session

from lkk_app.auth import audit, ratelimit, registration
from lkk_app.auth import sessions as session_service
from lkk_app.auth import users as user_service
from lkk_app.core import clock, signing, tokens
from lkk_app.mail import outbox
from lkk_app.settings import Settings

log = logging.getLogger("lkk.auth")

TICKET_PURPOSE = "resend-confirmation"
TICKET_TTL = timedelta(minutes=30)
# The HttpOnly cookie the web layer keeps the ticket in.
TICKET_COOKIE = "lkk_pending"


@dataclasses.dataclass(frozen=True)
class LinkCheck:
    """A valid link names its account's ``login``; otherwise ``failure`` says
    why it does not work (``tokens.USED``, ``REPLACED``, ``EXPIRED`` or ``UNKNOWN``)."""

    login: str = ""
    failure: str = ""


@dataclasses.dataclass(frozen=True)
class Confirmation:
    """``session_token`` of the session the confirmation opened, or the
    ``failure`` of the link (as in :class:`LinkCheck`)."""

    session_token: str = dataclasses.field(default="", repr=False)
    failure: str = ""


def check_link(db: Session, token: str) -> LinkCheck:
    user_id = tokens.token_user(db, token, tokens.CONFIRM_EMAIL)
    user = user_service.get_user(db, user_id) if user_id is not None else None
    if user is None:
        return LinkCheck(failure=tokens.peek_token(db, token, tokens.CONFIRM_EMAIL))
    return LinkCheck(login=user.login)


def confirm(db: Session, token: str, *, ip: str = "", user_agent: str = "",
            open_session: bool = True, settings: Settings | None = None) -> Confirmation:
    """Spend the link, confirm the address if it is not yet, open a session
    (unless ``open_session`` is false: the person then logs in as usual).
    Commit at once: the link is spent."""
    user_id = tokens.consume_token(db, token, tokens.CONFIRM_EMAIL)
    if user_id is None:
        return Confirmation(failure=tokens.peek_token(db, token, tokens.CONFIRM_EMAIL))
    user = user_service.get_user(db, user_id)
    if user is None or user.id is None:
        return Confirmation(failure=tokens.UNKNOWN)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = clock.utcnow()
        if open_session:
            user_service.record_login(user, user.email_confirmed_at)
        db.add(user)
        audit.record(db, event=audit.EMAIL_CONFIRMED, user_id=user.id, login=user.login,
                     ip=ip, user_agent=user_agent)
    if not open_session:
        return Confirmation()
    return Confirmation(session_token=session_service.mint_session(
        db, user_id=user.id, ip=ip, user_agent=user_agent, settings=settings))


def resend_ticket(user_id: int, settings: Settings | None = None) -> str:
    """The signed ticket of an unconfirmed account whose password was just
    given right; valid :data:`TICKET_TTL`."""
    return signing.sign(str(user_id), purpose=TICKET_PURPOSE, ttl=TICKET_TTL, settings=settings)


def ticket_user(ticket: str | None, settings: Settings | None = None) -> int | None:
    """The account of a valid ticket; ``None`` when it is missing, forged or expired."""
    value = signing.unsign(ticket, purpose=TICKET_PURPOSE, settings=settings)
    return int(value) if value is not None and value.isdigit() else None


# What :func:`resend` did (the ticket holder gave the right password: they may know).
RESENT, RESEND_LIMITED, ALREADY_CONFIRMED = "sent", "limited", "confirmed"


def resend(db: Session, user_id: int, *, ip: str = "", user_agent: str = "") -> str:
    """Queue a new confirmation letter unless a limit is reached or the address
    is confirmed already; say which (:data:`RESENT`, :data:`RESEND_LIMITED`,
    :data:`ALREADY_CONFIRMED`).  Only the holder of the signed ticket — who gave
    the account's right password — asks, so the answer may tell."""
    user = user_service.get_user(db, user_id)
    if user is None or user.id is None or user.email_confirmed_at is not None:
        return ALREADY_CONFIRMED
    # Per account, and per address (3 letters a day with the registrations').
    rules = ratelimit.resend_confirmation_rules(user.id) + registration.letter_rules(user.email)
    if not ratelimit.allow_all(db, rules):
        log.info("confirmation resend over the limit for user %s", user.id)
        audit.record(db, event=audit.CONFIRMATION_RESENT, result=audit.REFUSED, user_id=user.id,
                     login=user.login, ip=ip, user_agent=user_agent)
        return RESEND_LIMITED
    outbox.queue_confirmation(db, user)
    audit.record(db, event=audit.CONFIRMATION_RESENT, user_id=user.id, login=user.login,
                 ip=ip, user_agent=user_agent)
    return RESENT
