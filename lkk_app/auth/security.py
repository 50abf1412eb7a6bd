"""What «Профиль» shows and does about the account's security: its live
sessions («Сеансы»), its latest audit events («Журнал безопасности»), ending
one or all other sessions — and logging out.  Each ending is in the audit
trail, in the same transaction (SECURITY.md, "Sessions").

The records carry data, not words: the page turns them into Russian.  Nothing
here commits.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlmodel import Session

from lkk_app.auth import audit
from lkk_app.auth import sessions as session_service
from lkk_app.auth.sessions import CurrentUser

# «Журнал безопасности» shows this many of the user's latest events.
JOURNAL_SIZE = 20


@dataclasses.dataclass(frozen=True)
class SessionRecord:
    """One live session; ``id`` is its row id (never its token or hash)."""

    id: int
    user_agent: str
    ip: str
    created_at: datetime
    last_seen_at: datetime
    current: bool


@dataclasses.dataclass(frozen=True)
class JournalRecord:
    created_at: datetime
    event: str
    detail: str
    ip: str
    ok: bool


@dataclasses.dataclass(frozen=True)
class SecuritySnapshot:
    """The sessions (the caller's own first) and the latest events."""

    sessions: tuple[SessionRecord, ...]
    journal: tuple[JournalRecord, ...]


def snapshot(db: Session, user_id: int, current_token: str) -> SecuritySnapshot:
    current = session_service.hash_token(current_token) if current_token else ""
    rows = session_service.list_active_sessions(db, user_id)
    rows.sort(key=lambda row: row.token_hash != current)  # stable: this one first
    return SecuritySnapshot(
        sessions=tuple(
            SessionRecord(id=int(row.id or 0), user_agent=row.user_agent, ip=row.ip,
                          created_at=row.created_at, last_seen_at=row.last_seen_at,
                          current=row.token_hash == current)
            for row in rows
        ),
        journal=tuple(
            JournalRecord(created_at=event.created_at, event=event.event, detail=event.detail,
                          ip=event.ip, ok=event.result == audit.OK)
            for event in audit.recent_for_user(db, user_id, limit=JOURNAL_SIZE)
        ),
    )


def end_other_session(db: Session, me: CurrentUser, session_id: int | None, *, ip: str = "",
                      user_agent: str = "") -> bool:
    """«Завершить» next to another session: ends it only if it is another live
    session of ``me`` (the id comes from the browser).  True when one ended."""
    if session_id is None or session_id == me.session_id:
        return False
    ended = session_service.revoke_session_by_id(db, user_id=me.id, session_id=session_id)
    if ended:
        audit.record(db, event=audit.SESSION_ENDED, user_id=me.id, login=me.login, ip=ip,
                     user_agent=user_agent, detail=session_service.ENDED_BY_USER)
    return ended


def end_other_sessions(db: Session, me: CurrentUser, current_token: str, *, ip: str = "",
                       user_agent: str = "") -> int:
    """«Выйти на всех устройствах»: every session of ``me`` but this one; how many ended."""
    ended = session_service.revoke_user_sessions(db, me.id, except_token=current_token)
    if ended:
        audit.record(db, event=audit.SESSION_ENDED, user_id=me.id, login=me.login, ip=ip,
                     user_agent=user_agent, detail=session_service.ENDED_BY_USER)
    return ended


def log_out(db: Session, token: str, *, ip: str = "", user_agent: str = "") -> None:
    """End the session of ``token`` (unknown or ended ones are ignored)."""
    user_id = session_service.revoke_session(db, token)
    if user_id is not None:
        audit.record(db, event=audit.SESSION_ENDED, user_id=user_id, ip=ip,
                     user_agent=user_agent, detail=session_service.ENDED_BY_LOGOUT)
