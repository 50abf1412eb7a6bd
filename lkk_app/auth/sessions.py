"""Server-side login sessions (SECURITY.md, "Sessions").

The browser keeps only a random token (``core.tokens.new_token``, 256
bits); the database keeps its SHA-256 with the user, times, IP and user agent.
A session ends when revoked (logout, password change, «Сеансы» in the
profile), after the idle timeout
(``session_idle_minutes`` since it was last seen) or at its absolute expiry
(``session_absolute_hours`` after login).  Nothing here commits.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, or_, select, update

from lkk_app.core import clock
from lkk_app.core.text import clean
from lkk_app.core.tokens import hash_token, new_token, well_formed
from lkk_app.models import User, UserSession
from lkk_app.settings import Settings, get_settings

# last_seen_at is written at most this often, not on every event.
TOUCH_INTERVAL = timedelta(seconds=30)
IP_MAX = 64
USER_AGENT_MAX = 512
# Row ids are 32-bit integers (PostgreSQL ``integer``); a larger id from the
# browser cannot name a row and must not reach the driver.
MAX_ROW_ID = 2**31 - 1

# ``detail`` of the audit trail's ``session_ended`` events: why the session ended.
ENDED_BY_LOGOUT = "logout"
ENDED_BY_USER = "ended by user"  # «Сеансы» in the profile: one, or all others
ENDED_BY_PASSWORD_CHANGE = "password change"  # noqa: S105 - a reason, not a secret


def mint_session(
    session: Session,
    *,
    user_id: int,
    ip: str = "",
    user_agent: str = "",
    settings: Settings | None = None,
    must_change_password: bool = False,
) -> str:
    """Create a session for ``user_id`` and return the raw token (for the cookie only).

    ``must_change_password`` makes a *restricted* session (a login with a
    temporary password): it allows only setting a new password until
    :func:`lift_restriction`."""
    settings = settings or get_settings()
    token = new_token()
    now = clock.utcnow()
    row = UserSession(
        token_hash=hash_token(token),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        revoked_at=None,
        # Control characters have no business in a stored header.
        ip=clean(ip, IP_MAX, replacement=""),
        user_agent=clean(user_agent, USER_AGENT_MAX, replacement=""),
        must_change_password=bool(must_change_password),
    )
    session.add(row)
    session.flush()
    return token


def _find(session: Session, token: object) -> UserSession | None:
    if not well_formed(token):
        return None
    return session.exec(
        select(UserSession).where(UserSession.token_hash == hash_token(token))
    ).first()


def resolve_session(
    session: Session,
    token: str | None,
    *,
    settings: Settings | None = None,
    touch: bool = True,
) -> UserSession | None:
    """The live session for ``token``, or ``None`` (empty, malformed, unknown,
    revoked, past its absolute expiry or idle too long).

    With ``touch`` the session's ``last_seen_at`` moves to now — at most once
    per :data:`TOUCH_INTERVAL`, so that not every event writes to the database.
    """
    row = _find(session, token)
    if row is None or row.revoked_at is not None:
        return None
    settings = settings or get_settings()
    now = clock.utcnow()
    # The absolute limit is also re-checked against the current setting, so
    # lowering it takes effect for sessions that already exist.
    expires_at = min(row.expires_at, row.created_at + timedelta(hours=settings.session_absolute_hours))
    if now >= expires_at:
        return None
    if now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        return None
    if touch and now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return row


@dataclasses.dataclass(frozen=True)
class CurrentUser:
    """Who a session belongs to, as the pages and use cases see them.

    ``must_change_password``: the session was opened with a temporary password
    and allows only «Смена пароля»."""

    id: int
    login: str
    email: str
    phone: str
    email_confirmed_at: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    previous_login_at: datetime | None
    must_change_password: bool
    session_id: int


def current_user(
    session: Session,
    token: str | None,
    allow_restricted: bool = False,
    *,
    settings: Settings | None = None,
) -> CurrentUser | None:
    """The user of the live session ``token`` (its ``last_seen_at`` moves, see
    :func:`resolve_session`), or ``None``: no session, or a *restricted* one
    unless ``allow_restricted`` (only «Смена пароля» asks for it)."""
    row = resolve_session(session, token, settings=settings) if token else None
    if row is None or (row.must_change_password and not allow_restricted):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.id is None or row.id is None:
        return None
    return CurrentUser(
        id=user.id,
        login=user.login,
        email=user.email,
        phone=user.phone or "",
        email_confirmed_at=user.email_confirmed_at,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        previous_login_at=user.previous_login_at,
        must_change_password=bool(row.must_change_password),
        session_id=row.id,
    )


def revoke_session(session: Session, token: str | None) -> int | None:
    """End the session of ``token`` (logout).  Unknown or odd tokens are ignored.

    Returns the user id of the session it ended (for the audit trail), else ``None``."""
    row = _find(session, token)
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.utcnow()
        session.add(row)
        session.flush()
        return row.user_id
    return None


def lift_restriction(session: Session, token: str | None) -> bool:
    """Make the restricted session of ``token`` a normal one (its user has set a
    new password); True when a live restricted session was changed."""
    row = _find(session, token)
    if row is None or row.revoked_at is not None or not row.must_change_password:
        return False
    row.must_change_password = False
    session.add(row)
    session.flush()
    return True


def revoke_user_sessions(
    session: Session, user_id: int, *, except_token: str | None = None
) -> int:
    """End every live session of ``user_id`` (except ``except_token``'s); return how many."""
    stmt = (
        update(UserSession)
        .where(col(UserSession.user_id) == user_id)
        .where(col(UserSession.revoked_at).is_(None))
        .values(revoked_at=clock.utcnow())
    )
    if except_token:
        stmt = stmt.where(col(UserSession.token_hash) != hash_token(except_token))
    result = session.exec(stmt)
    session.flush()
    return int(result.rowcount or 0)


def list_active_sessions(
    session: Session, user_id: int, *, settings: Settings | None = None
) -> list[UserSession]:
    """The live sessions of ``user_id`` — not revoked, not past their absolute
    expiry (nor the current setting's), not idle too long — most recently
    active first.  The same rules as :func:`resolve_session`."""
    settings = settings or get_settings()
    now = clock.utcnow()
    return list(session.exec(
        select(UserSession)
        .where(UserSession.user_id == user_id)
        .where(col(UserSession.revoked_at).is_(None))
        .where(UserSession.expires_at > now)
        .where(UserSession.created_at > now - timedelta(hours=settings.session_absolute_hours))
        .where(UserSession.last_seen_at >= now - timedelta(minutes=settings.session_idle_minutes))
        .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.id).desc())
    ).all())


def revoke_session_by_id(session: Session, *, user_id: int, session_id: object) -> bool:
    """End the session with row id ``session_id`` — only if it belongs to
    ``user_id`` and has not ended yet.  The id comes from the browser, so
    anything that is not a plain positive integer is refused.  True when a
    session was ended."""
    if isinstance(session_id, bool) or not isinstance(session_id, int) or session_id <= 0:
        return False
    if session_id > MAX_ROW_ID:
        return False
    stmt = (
        update(UserSession)
        .where(col(UserSession.id) == session_id)
        .where(col(UserSession.user_id) == user_id)
        .where(col(UserSession.revoked_at).is_(None))
        .values(revoked_at=clock.utcnow())
    )
    result = session.exec(stmt)
    session.flush()
    return int(result.rowcount or 0) == 1


def purge_sessions(session: Session, *, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete rows that ended (revoked or expired) more than ``older_than`` ago; return how many.

    For a periodic clean-up job; not needed for correctness.
    """
    cutoff = clock.utcnow() - older_than
    stmt = delete(UserSession).where(
        or_(col(UserSession.expires_at) < cutoff, col(UserSession.revoked_at) < cutoff)
    )
    result = session.exec(stmt)
    return int(result.rowcount or 0)
