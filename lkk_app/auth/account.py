"""What a logged-in user changes in «Профиль»: the phone and the password.

Wrong current passwords in «Смена пароля» are throttled per account like
failed logins (``throttle.subject_key("password-change", user id)``), each
attempt reserved before the bcrypt check and each failure in the audit trail;
from the 5th failure on the session that made it ends and the owner gets a
letter.  The numbers and their tests: SECURITY.md, "Passwords and credentials".
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlmodel import Session

from lkk_app.auth import audit, passwords, sessions, throttle, useragent, users, validation
from lkk_app.core import clock, tokens
from lkk_app.core.errors import Code, FieldErrors
from lkk_app.core.formatting import local_datetime, local_datetime_zoned
from lkk_app.mail import outbox
from lkk_app.models import User, saved_id
from lkk_app.settings import Settings, get_settings

#: Consecutive wrong current passwords after which the session ends.
GUESSES_END_SESSION = throttle.THRESHOLD
# ``detail`` of the audit trail's ``session_ended`` after too many wrong current passwords.
ENDED_BY_PASSWORD_GUESSES = "password guesses"  # noqa: S105 - a reason, not a secret


class SessionEnded(Exception):
    """Too many wrong current passwords: the caller's session has been ended and
    the owner mailed.  The caller must commit (it is not an error of the data)."""


def password_check_key(user_id: int, settings: Settings | None = None) -> str:
    return throttle.subject_key("password-change", int(user_id), settings=settings)


def _check_current_password(session: Session, user: User, current_password: str, *,
                            keep_session_token: str, ip: str, user_agent: str,
                            settings: Settings) -> Code | None:
    """Check the current password under the throttle; the error's code, or
    ``None`` when it is right.  Raises :class:`SessionEnded`.

    **Commits** once, right after reserving the attempt, so that racing
    requests see the reservation before the slow bcrypt check."""
    key = password_check_key(saved_id(user), settings)
    reservation = throttle.reserve(session, key, code_ok=True)
    if not reservation.allowed:
        audit.record(session, event=audit.PASSWORD_CHANGE_FAILED, result=audit.REFUSED,
                     user_id=user.id, login=user.login, ip=ip, user_agent=user_agent,
                     detail="wait")
        retry_at = reservation.state.retry_at or clock.utcnow()
        left = math.ceil((retry_at - clock.utcnow()).total_seconds())
        return Code("profile.current_password_wait", wait=timedelta(seconds=left))
    session.commit()
    if passwords.verify_password(current_password, user.password_hash,
                                 secret_key=settings.secret_key):
        throttle.reset(session, key)
        return None
    failures = reservation.state.failures
    audit.record(session, event=audit.PASSWORD_CHANGE_FAILED, result=audit.FAIL, user_id=user.id,
                 login=user.login, ip=ip, user_agent=user_agent, detail="current password")
    if failures < GUESSES_END_SESSION:
        return Code("profile.current_password_wrong_left", left=GUESSES_END_SESSION - failures)
    current = sessions.resolve_session(session, keep_session_token, settings=settings, touch=False)
    sessions.revoke_session(session, keep_session_token)
    audit.record(session, event=audit.SESSION_ENDED, user_id=user.id, login=user.login, ip=ip,
                 user_agent=user_agent, detail=ENDED_BY_PASSWORD_GUESSES)
    started = current.created_at if current is not None else clock.utcnow()
    outbox.queue_password_guesses(session, user, attempts=failures, ip=ip,
                                  device=useragent.describe(user_agent),
                                  started=local_datetime(started, settings=settings),
                                  time=local_datetime(clock.utcnow(), settings=settings),
                                  settings=settings)
    raise SessionEnded()


def change_phone(session: Session, user: User, phone: str | None) -> str | None:
    """Store a new phone (normalised to E.164) or remove it when empty."""
    normalized = validation.normalize_phone(phone)  # FieldErrors {"phone": …}
    user.phone = normalized
    user.updated_at = clock.utcnow()
    session.add(user)
    session.flush()
    return normalized


def change_password(
    session: Session,
    user: User,
    *,
    current_password: str,
    new_password: str,
    password_confirm: str,
    keep_session_token: str,
    ip: str = "",
    user_agent: str = "",
    settings: Settings | None = None,
) -> int:
    """Check the current password (throttled, see the module's description),
    store the new one, end every other session and queue a notice letter.
    Returns how many other sessions ended.  Raises :class:`SessionEnded` after
    too many wrong current passwords.  Commits once, after reserving the
    password check.

    Records ``password_changed`` (and ``session_ended`` "password change" when
    other sessions ended) in the audit trail, in the same transaction; ``ip``
    and ``user_agent`` are the client's, for that record only.

    :class:`FieldErrors` keys: ``current_password``, ``new_password``,
    ``password_confirm``."""
    settings = settings or get_settings()
    errors: dict[str, Code] = {}
    if not current_password:
        errors["current_password"] = Code("profile.current_password_empty")
    else:
        problem = _check_current_password(session, user, current_password,
                                          keep_session_token=keep_session_token, ip=ip,
                                          user_agent=user_agent, settings=settings)
        if problem:
            errors["current_password"] = problem
    problem = validation.password_error(new_password, user.login)
    if problem:
        errors["new_password"] = problem
    elif current_password and new_password == current_password:
        errors["new_password"] = Code("profile.password_same")
    set_checked_password(session, user, new_password, password_confirm, errors, settings=settings)
    # A temporary password asked for earlier must not outlive a deliberate change.
    tokens.invalidate_tokens(session, user_id=saved_id(user), purpose=tokens.TEMP_PASSWORD)
    return password_was_set(session, user, keep_session_token=keep_session_token, ip=ip,
                            user_agent=user_agent, detail="profile", settings=settings)


def set_checked_password(session: Session, user: User, new_password: str, password_confirm: str,
                         errors: dict[str, Code], *, settings: Settings) -> None:
    """Store ``new_password`` unless ``errors`` (the checks so far) or its confirmation
    (key ``password_confirm``) say otherwise; then raises :class:`FieldErrors`."""
    confirm_problem = validation.confirmation_error(new_password, password_confirm)
    if confirm_problem:
        errors["password_confirm"] = confirm_problem
    if errors:
        raise FieldErrors(errors)
    users.set_password(session, user, new_password, settings=settings)


def password_was_set(session: Session, user: User, *, keep_session_token: str, ip: str,
                     user_agent: str, detail: str, settings: Settings) -> int:
    """After a new password is stored (``detail``: "profile" or "recovery"): every other
    session of the user ends, the audit trail records the change and the ended
    sessions, the owner is sent the notice.  How many sessions ended."""
    ended = sessions.revoke_user_sessions(session, saved_id(user), except_token=keep_session_token)
    audit.record(session, event=audit.PASSWORD_CHANGED, user_id=user.id, login=user.login,
                 ip=ip, user_agent=user_agent, detail=detail)
    if ended:
        audit.record(session, event=audit.SESSION_ENDED, user_id=user.id, login=user.login,
                     ip=ip, user_agent=user_agent, detail=sessions.ENDED_BY_PASSWORD_CHANGE)
    outbox.queue_password_changed(session, user, time=local_datetime_zoned(clock.utcnow(), settings=settings),
                                  ip=ip, device=useragent.describe(user_agent), settings=settings)
    return ended
