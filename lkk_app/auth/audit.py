"""The security audit trail (table ``lkk_audit``).

Events: login_success, login_failure, login_throttled, login_unconfirmed,
password_changed,
password_change_failed, recovery_requested, recovery_used, email_confirmed,
confirmation_resent, session_ended, binding_requested, binding_confirmed,
binding_failed, binding_access_asked, contract_unbound, organisation_email.
Results: ok, fail, refused.  Values are cut to their column sizes and
stripped of control characters; callers never pass secrets.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from lkk_app.core import clock
from lkk_app.core.text import clean
from lkk_app.models import AuditEvent

LOGIN_SUCCESS = "login_success"
LOGIN_FAILURE = "login_failure"
LOGIN_THROTTLED = "login_throttled"
# The right password of an account whose e-mail is not confirmed yet (no session).
LOGIN_UNCONFIRMED = "login_unconfirmed"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
PASSWORD_CHANGE_FAILED = "password_change_failed"  # noqa: S105 - a wrong current password in «Смена пароля»
RECOVERY_REQUESTED = "recovery_requested"
RECOVERY_USED = "recovery_used"
EMAIL_CONFIRMED = "email_confirmed"
CONFIRMATION_RESENT = "confirmation_resent"
SESSION_ENDED = "session_ended"
BINDING_REQUESTED = "binding_requested"
BINDING_CONFIRMED = "binding_confirmed"
BINDING_FAILED = "binding_failed"
BINDING_ACCESS_REQUESTED = "binding_access_asked"
CONTRACT_UNBOUND = "contract_unbound"
ORGANISATION_EMAIL = "organisation_email"  # the organisation's notification address set

OK, FAIL, REFUSED = "ok", "fail", "refused"



def record(
    session: Session,
    *,
    event: str,
    result: str = OK,
    user_id: int | None = None,
    login: str = "",
    ip: str = "",
    user_agent: str = "",
    detail: str = "",
) -> AuditEvent:
    row = AuditEvent(
        created_at=clock.utcnow(),
        event=clean(event, 32),
        result=clean(result, 16),
        user_id=user_id,
        login=clean(login, 64),
        ip=clean(ip, 64),
        user_agent=clean(user_agent, 512),
        detail=clean(detail, 200),
    )
    session.add(row)
    session.flush()
    return row


def recent_for_user(session: Session, user_id: int, limit: int = 20) -> list[AuditEvent]:
    return list(session.exec(
        select(AuditEvent).where(AuditEvent.user_id == user_id)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc()).limit(limit)
    ).all())
