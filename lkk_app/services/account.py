"""What a logged-in user changes in «Профиль»: the phone and the password."""

from __future__ import annotations

from sqlmodel import Session

from lkk_app.i18n import t
from lkk_app.models import User
from lkk_app.services import audit, clock, outbox, passwords, sessions, tokens, users, validation
from lkk_app.services.errors import FieldErrors
from lkk_app.settings import Settings, get_settings


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
    """Check the current password, store the new one, end every other session
    and queue a notice letter.  Returns how many other sessions ended.

    Records ``password_changed`` (and ``session_ended`` "password change" when
    other sessions ended) in the audit trail, in the same transaction; ``ip``
    and ``user_agent`` are the client's, for that record only.

    :class:`FieldErrors` keys: ``current_password``, ``new_password``,
    ``password_confirm``."""
    settings = settings or get_settings()
    errors: dict[str, str] = {}
    if not current_password:
        errors["current_password"] = t("profile.current_password_empty")
    elif not passwords.verify_password(current_password, user.password_hash,
                                       secret_key=settings.secret_key):
        errors["current_password"] = t("profile.current_password_wrong")
    problem = validation.password_error(new_password, user.login)
    if problem:
        errors["new_password"] = problem
    elif current_password and new_password == current_password:
        errors["new_password"] = t("profile.password_same")
    confirm_problem = validation.confirmation_error(new_password, password_confirm)
    if confirm_problem:
        errors["password_confirm"] = confirm_problem
    if errors:
        raise FieldErrors(errors)
    users.set_password(session, user, new_password, settings=settings)
    # A temporary password asked for earlier must not outlive a deliberate change.
    tokens.invalidate_tokens(session, user_id=user.id, purpose=tokens.TEMP_PASSWORD)
    ended = sessions.revoke_user_sessions(session, user.id, except_token=keep_session_token)
    audit.record(session, event=audit.PASSWORD_CHANGED, user_id=user.id, login=user.login,
                 ip=ip, user_agent=user_agent, detail="profile")
    if ended:
        audit.record(session, event=audit.SESSION_ENDED, user_id=user.id, login=user.login,
                     ip=ip, user_agent=user_agent, detail=sessions.ENDED_BY_PASSWORD_CHANGE)
    outbox.enqueue(session, kind="password_changed", template="password_changed",
                   recipient=user.email, params={"login": user.login}, user_id=user.id,
                   settings=settings)
    return ended
