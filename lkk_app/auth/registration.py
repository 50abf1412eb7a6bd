"""Registration (manual 2.2): a new unconfirmed account and its confirmation letter,
written in one transaction.

An image code is friction, not a barrier, so :func:`attempt` checks, in this
order: the authorization code (spent whatever the answer, in a transaction of
its own); the form alone, without the database; the limits per client IP and
across the site (``ratelimit.registration_rules``), reserved before bcrypt in
a committed transaction of their own; only then whether the login is taken,
and the account; last the letter, unless the address already had its
confirmation letters for the day.  So without the code and within the limits
nobody learns which logins exist.  The numbers and their tests: SECURITY.md,
"Registration".
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from lkk_app.auth import captcha, ratelimit, users, validation
from lkk_app.core import tokens
from lkk_app.core.errors import Code, FieldErrors
from lkk_app.mail import outbox
from lkk_app.models import User
from lkk_app.settings import Settings, get_settings

log = logging.getLogger("lkk.registration")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What the form shows: ``email`` (done: «письмо отправлено на …»), or the
    field ``errors``, or a form-level ``refusal`` (a limit) — as codes."""

    email: str = ""
    errors: dict[str, Code] = dataclasses.field(default_factory=dict)
    refusal: Code | None = None


def form_errors(*, login: str, email: str, phone: str | None, password: str,
                password_confirm: str) -> dict[str, Code]:
    """The problems the input itself shows (keys ``login``, ``email``,
    ``phone``, ``password``, ``password_confirm``) — never whether the login
    is taken.  No database."""
    errors, _ = users.check_new_user(None, login=login, email=email, password=password,
                                     phone=phone, check_taken=False)
    confirm_problem = validation.confirmation_error(password, password_confirm)
    if confirm_problem:
        errors["password_confirm"] = confirm_problem
    return errors


def reserve(session: Session, *, ip: str | None, settings: Settings | None = None) -> Code | None:
    """Count one registration against the limits; ``None`` when allowed, else
    the code of the refusal for the form (nothing is counted then).  Flushes,
    does not commit: commit at once, before the account is created."""
    settings = settings or get_settings()
    per_ip = settings.is_production or not ratelimit.is_exempt(ip, settings.rate_exempt_ips)
    if ratelimit.allow_all(session, ratelimit.registration_rules(ip, per_ip=per_ip)):
        return None
    if ratelimit.is_limited(session, ratelimit.REGISTRATION_GLOBAL_BUCKET,
                            limit=ratelimit.REGISTRATION_GLOBAL.limit,
                            window=ratelimit.REGISTRATION_GLOBAL.window):
        log.warning("registration refused: the site-wide limit is reached")
        return Code("register.busy")
    log.info("registration refused: the per-IP limit is reached")
    return Code("register.ip_limited")


def register(
    session: Session,
    *,
    login: str,
    email: str,
    phone: str | None,
    password: str,
    password_confirm: str,
    captcha_ok: bool,
    settings: Settings | None = None,
) -> User:
    """Create the account and queue the confirmation letter (within the
    per-address limit), or raise :class:`FieldErrors` with a code for every
    bad field (``login``, ``email``, ``phone``, ``password``,
    ``password_confirm``, ``code``).

    Without ``captcha_ok`` only what the input itself shows is reported,
    never whether the login is taken.  The captcha is checked (and spent) by
    the caller in its own transaction, so that a failed registration still
    uses the challenge up; the registration limits are the caller's too
    (:func:`reserve`, or :func:`attempt` for the whole sequence).
    """
    settings = settings or get_settings()
    errors = form_errors(login=login, email=email, phone=phone, password=password,
                         password_confirm=password_confirm)
    if not captcha_ok:
        errors["code"] = Code("captcha.wrong")
    if errors:
        raise FieldErrors(errors)
    user = users.create_user(session, login=login, email=email, password=password, phone=phone,
                             settings=settings)
    if letter_allowed(session, user.email, settings=settings):
        outbox.queue_confirmation(session, user, settings=settings)
    else:
        log.info("confirmation letter for new user %s not sent: the address had its letters today",
                 user.id)
    return user


def attempt(
    transaction: Callable[[], contextlib.AbstractContextManager[Session]],
    *,
    form: dict[str, str],
    challenge_id: str | None,
    ip: str | None,
    settings: Settings | None = None,
) -> Outcome:
    """The whole submit of the registration form, in the order of the module
    docstring.  ``transaction()`` opens a session that commits on success
    (``lkk_app.db.session_scope``); ``form`` holds the stripped fields
    ``login``, ``email``, ``phone``, ``password``, ``password_confirm``, ``code``.
    Slow (bcrypt): call from a worker thread."""
    settings = settings or get_settings()
    with transaction() as db:
        captcha_ok = bool(form["code"]) and captcha.verify(db, challenge_id, form["code"],
                                                            settings=settings)
    fields: dict[str, Any] = dict(login=form["login"], email=form["email"], phone=form["phone"] or None,
                  password=form["password"], password_confirm=form["password_confirm"])
    errors = form_errors(**fields)
    if not captcha_ok:
        errors["code"] = Code("captcha.wrong" if form["code"] else "captcha.empty")
    if errors:
        return Outcome(errors=errors)
    with transaction() as db:
        refusal = reserve(db, ip=ip, settings=settings)
    if refusal is not None:
        return Outcome(refusal=refusal)
    try:
        with transaction() as db:
            user = register(db, **fields, captcha_ok=True, settings=settings)
            email = user.email
    except FieldErrors as exc:
        return Outcome(errors=dict(exc.errors))
    return Outcome(email=email)


def address_digest(email: str, settings: Settings | None = None) -> str:
    """A keyed hash of the address (compared case-insensitively) for its
    letter limit."""
    settings = settings or get_settings()
    key = validation.email_key(email).encode("utf-8", "surrogatepass")
    return hmac.new(settings.secret_key, b"confirm-mail:" + key, hashlib.sha256).hexdigest()[:40]


def letter_rules(email: str, settings: Settings | None = None) -> list[ratelimit.Rule]:
    """The per-address rule every confirmation letter (first or resent) passes."""
    return [ratelimit.confirmation_address_rule(address_digest(email, settings))]


def letter_allowed(session: Session, email: str, settings: Settings | None = None) -> bool:
    """Count one confirmation letter to ``email``; False (nothing counted) when
    the address already had :data:`ratelimit.CONFIRMATION_LETTERS_PER_ADDRESS`."""
    return ratelimit.allow_all(session, letter_rules(email, settings))


def mint_confirmation(session: Session, user_id: int, *,
                      letter_seed: bytes | None = None) -> str | None:
    """Secret minter of confirmation letters: the e-mail confirmation token
    (24 h, replaces the user's older ones); for a retry of the same letter the
    same token, or ``None`` once it was used or replaced (or the user is gone)."""
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
