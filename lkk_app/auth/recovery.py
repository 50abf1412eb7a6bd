"""Password recovery (manual 2.4; SECURITY.md, "Tokens, codes, temporary passwords").

* :func:`request_reset` — «Забыли пароль?»: login + e-mail.  When the pair
  matches an account and the limits allow (3 per hour per account, 10 per hour
  per client IP), a letter with a temporary password is queued — or, for an
  account whose e-mail is not confirmed yet, a fresh confirmation link.  The
  caller always shows the same neutral answer; nothing here tells it whether
  the pair matched.
* The temporary password itself is minted by the mail sender just before the
  letter is rendered (:func:`mint_temp_password`, the sender's minter of
  ``temp_password`` secrets, ``lkk_app.jobs.worker.letter_secrets``): 16
  characters from an unambiguous alphabet, stored only as a bcrypt hash in
  ``lkk_token`` (purpose ``temp_password``), valid 24 h; a new one invalidates
  the older ones.  The account's password is **not** touched: the old
  password keeps working until the temporary one is used.
* :func:`authenticate_temp` — the login form's second chance: a valid
  temporary password opens a *restricted* session (the caller mints it), which
  allows only setting a new password.
* :func:`complete_reset` — the new password: validated like at registration,
  stored, the temporary password spent, every other session ended, the
  restriction of the current session lifted and a notice (without any
  password) queued.

**Timing.**  A matching and a non-matching request do the same rate-limit
work (two buckets each: the address, and the account — or, when nothing
matches, the typed login and e-mail under an HMAC); only a match also writes
its letter to the outbox.  The page then answers no sooner than
:data:`RESPONSE_FLOOR` after the request came (:func:`pad_to_floor`), so the
answer time does not tell whether the pair matched.

Nothing here commits: the caller owns the transaction.  bcrypt makes
:func:`mint_temp_password`, :func:`authenticate_temp` and
:func:`complete_reset` slow — call them from a worker thread.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from lkk_app.auth import account, audit, passwords, ratelimit, sessions, throttle, users, validation
from lkk_app.core import clock, tokens
from lkk_app.core.errors import Code
from lkk_app.core.text import MAX_INPUT
from lkk_app.db import update_rows
from lkk_app.mail import outbox
from lkk_app.models import OneTimeToken, User, saved_id
from lkk_app.settings import Settings, get_settings

log = logging.getLogger("lkk.auth")

TEMP_TTL = tokens.TTL[tokens.TEMP_PASSWORD]
#: Seconds: the recovery page answers no sooner than this after the request
#: came, matching or not (the work itself takes a few tens of milliseconds).
RESPONSE_FLOOR = 0.3

# --------------------------------------------------------------------------- request


def request_reset(
    session: Session, *, login: str, email: str, ip: str | None,
    user_agent: str = "", settings: Settings | None = None,
) -> None:
    """Queue a temporary password (or, unconfirmed account, a confirmation link)
    when ``login`` and ``email`` belong to one account and the limits allow.

    Returns nothing on purpose: the page shows one neutral answer.  Every
    request counts against the client IP (10 per hour); a matching one also
    against the account (3 per hour), so that strangers who do not know the
    address cannot use the account's budget up.  Flushes, does not commit.

    Every request is recorded in the audit trail (``recovery_requested``,
    result ``ok``, or ``refused`` over a limit) with the login as typed; the
    record names the account (``user_id``) only when the pair matched, so it
    shows up in that account's «Журнал безопасности» and nowhere else.  The
    e-mail address is not recorded.
    """
    settings = settings or get_settings()
    login = login if isinstance(login, str) and len(login) <= MAX_INPUT else ""
    email = email if isinstance(email, str) and len(email) <= MAX_INPUT else ""
    user = users.get_user_by_login(session, login) if login.strip() else None
    key = validation.email_key(email)
    matched = user is not None and bool(key) and key == user.email_key
    ip_rule = (ratelimit.recovery_ip_bucket(ip), *ratelimit.RECOVERY_PER_IP)

    def _audit(result: str, user_id: int | None) -> None:
        audit.record(session, event=audit.RECOVERY_REQUESTED, result=result, user_id=user_id,
                     login=login.strip(), ip=ip or "", user_agent=user_agent)

    if not matched:
        # The same rate-limit work as a match: the typed pair stands in for the
        # account (keyed with the secret, so the table does not hold it in clear).
        pair = throttle.subject_key("recovery-pair", f"{validation.login_key(login)}\x1f{key}",
                                    settings=settings)
        allowed = ratelimit.allow_all(session, [
            ip_rule, (ratelimit.bucket_name("recover", "pair", pair), *ratelimit.RECOVERY_PER_ACCOUNT)])
        _audit(audit.OK if allowed else audit.REFUSED, None)
        log.info("password reset requested for a non-matching login/e-mail from %s", ip or "-")
        return
    if user is None or user.id is None:  # matched: the user was found
        raise RuntimeError("a matching recovery request without its account")
    if not ratelimit.allow_all(session, ratelimit.recovery_rules(account=user.id, ip=ip)):
        _audit(audit.REFUSED, user.id)
        log.info("password reset for user %s from %s: over the limit", user.id, ip or "-")
        return
    _audit(audit.OK, user.id)
    if user.email_confirmed_at is None:
        # The address is not proven yet: a temporary password must not go to
        # it; a fresh confirmation link lets the owner finish registration.
        outbox.queue_confirmation(session, user, settings=settings)
        log.info("password reset for unconfirmed user %s from %s: confirmation link queued",
                 user.id, ip or "-")
        return
    outbox.queue_recovery(session, user, settings=settings)
    log.info("password reset requested for user %s from %s: temporary password queued",
             user.id, ip or "-")


def pad_to_floor(elapsed: float) -> float:
    """Seconds still to wait before answering a request that took ``elapsed``."""
    return max(0.0, RESPONSE_FLOOR - max(elapsed, 0.0))


# --------------------------------------------------------------------------- the secret


def mint_temp_password(
    session: Session, user_id: int, settings: Settings | None = None, *,
    letter_seed: bytes | None = None,
) -> str | None:
    """Secret minter of ``temp_password`` letters: a new temporary password for
    ``user_id`` (the older ones stop working), stored as a bcrypt hash; the
    plain password is returned for the letter only.  ``None`` when the user is
    gone.

    With the outbox's ``letter_seed`` the password is derived from it, so a
    retry of the same letter carries the same password: when the user's
    newest temporary password is this one (one bcrypt check), it is returned
    again while still valid, and ``None`` (nothing to send) once it was used
    or has expired."""
    user = session.get(User, user_id)
    if user is None:
        return None
    settings = settings or get_settings()
    if letter_seed is None:
        password = tokens.generate_temp_password()
    else:
        password = tokens.temp_password_from_seed(letter_seed)
        newest = session.exec(
            select(OneTimeToken)
            .where(OneTimeToken.user_id == user_id)
            .where(OneTimeToken.purpose == tokens.TEMP_PASSWORD)
            .order_by(col(OneTimeToken.id).desc())
            .limit(1)
        ).first()
        if newest is not None and passwords.verify_temp_password(
                password, newest.token_hash, secret_key=settings.secret_key):
            live = newest.used_at is None and newest.expires_at > clock.utcnow()
            return password if live else None
    digest = passwords.hash_temp_password(password, secret_key=settings.secret_key)
    tokens.invalidate_tokens(session, user_id=user_id, purpose=tokens.TEMP_PASSWORD)
    now = clock.utcnow()
    session.add(OneTimeToken(
        token_hash=digest,
        user_id=user_id,
        purpose=tokens.TEMP_PASSWORD,
        created_at=now,
        expires_at=now + TEMP_TTL,
        used_at=None,
    ))
    session.flush()
    return password


def _live_temp_hashes(session: Session, user_id: int) -> list[str]:
    """Keyed hashes of the user's unused, unexpired temporary passwords (newest first)."""
    now = clock.utcnow()
    return list(session.exec(
        select(OneTimeToken.token_hash)
        .where(OneTimeToken.user_id == user_id)
        .where(OneTimeToken.purpose == tokens.TEMP_PASSWORD)
        .where(col(OneTimeToken.used_at).is_(None))
        .where(OneTimeToken.expires_at > now)
        .order_by(col(OneTimeToken.id).desc())
        .limit(3)
    ).all())


def _latest_unused_hash(session: Session, user_id: int) -> str | None:
    """The newest temporary password not spent yet (expired or not)."""
    return session.exec(
        select(OneTimeToken.token_hash)
        .where(OneTimeToken.user_id == user_id)
        .where(OneTimeToken.purpose == tokens.TEMP_PASSWORD)
        .where(col(OneTimeToken.used_at).is_(None))
        .order_by(col(OneTimeToken.id).desc())
        .limit(1)
    ).first()


# --------------------------------------------------------------------------- login with it


def authenticate_temp(
    session: Session, *, login: str, password: str, settings: Settings | None = None
) -> User | None:
    """The user whose valid (unused, unexpired) temporary password ``password``
    is, else ``None``.

    Temporary passwords have a keyed hash (:func:`passwords.hash_temp_password`):
    the check costs microseconds whether or not the login exists or has a
    pending recovery — the login's one bcrypt check sets the answer time.
    Does not spend the password: that happens when the new password is set
    (:func:`complete_reset`).
    """
    settings = settings or get_settings()
    usable = isinstance(password, str) and 0 < len(password) <= passwords.MAX_VERIFY_CHARS
    user = users.get_user_by_login(session, login) if usable else None
    hashes = _live_temp_hashes(session, saved_id(user)) if user is not None else []
    if user is None or not hashes:
        return None
    # invalidate_tokens leaves one live temporary password; a race between two
    # minters could leave two for a moment.
    for digest in hashes:
        if passwords.verify_temp_password(password, digest, secret_key=settings.secret_key):
            users.record_login(user, clock.utcnow())
            session.add(user)
            session.flush()
            return user
    return None


# --------------------------------------------------------------------------- the new password


def complete_reset(
    session: Session,
    *,
    user: User,
    new_password: str,
    password_confirm: str,
    session_token: str,
    ip: str | None = None,
    user_agent: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Set the user's own password after a login with a temporary one.

    Raises :class:`FieldErrors` (keys ``password``, ``password_confirm``) when
    the password breaks the registration rules, the confirmation differs or it
    is the temporary password itself.  Otherwise: stores it, spends every
    temporary password of the user, ends all other sessions, makes the session
    of ``session_token`` a normal one and queues the ``password_changed``
    notice.  Flushes, does not commit.

    Records ``password_changed`` (detail "recovery") and, when other sessions
    ended, ``session_ended`` (detail "password change") in the audit trail.
    ``ip`` and ``user_agent`` default to those stored with the session of
    ``session_token`` (the login with the temporary password).
    """
    settings = settings or get_settings()
    errors: dict[str, Code] = {}
    problem = validation.password_error(new_password, user.login)
    if problem:
        errors["password"] = problem
    else:
        latest = _latest_unused_hash(session, saved_id(user))
        if latest and passwords.verify_temp_password(new_password, latest,
                                                     secret_key=settings.secret_key):
            errors["password"] = Code("recovery.same_as_temp")
    account.set_checked_password(session, user, new_password, password_confirm, errors, settings=settings)
    now = clock.utcnow()
    update_rows(session, OneTimeToken, {"used_at": now}, col(OneTimeToken.user_id) == user.id,
                col(OneTimeToken.purpose) == tokens.TEMP_PASSWORD, col(OneTimeToken.used_at).is_(None))
    current = sessions.resolve_session(session, session_token, settings=settings, touch=False)
    if current is not None and current.user_id == user.id:
        ip = current.ip if ip is None else ip
        user_agent = current.user_agent if user_agent is None else user_agent
    sessions.lift_restriction(session, session_token)
    ended = account.password_was_set(session, user, keep_session_token=session_token, ip=ip or "",
                                     user_agent=user_agent or "", detail="recovery", settings=settings)
    log.info("password set after recovery for user %s; %d other session(s) ended", user.id, ended)


__all__ = [
    "RESPONSE_FLOOR",
    "authenticate_temp",
    "complete_reset",
    "mint_temp_password",
    "pad_to_floor",
    "request_reset",
]
