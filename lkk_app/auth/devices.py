"""Known devices: the long-lived device cookie (table ``lkk_device``).

After a successful login the browser gets (or keeps) a random device cookie
(``core.tokens.new_token``, 256 bits, HttpOnly, one year); the database
keeps its SHA-256 per user.  A later login attempt for that user that presents
the cookie comes from a *known device*: it is throttled in a bucket of its own
(login and device) and is not held back by failures of strangers — the OWASP
"device cookie" defence against lock-out (``lkk_app/auth/login.py``).

One browser may be a known device of several users (an accountant who serves
several organisations), one user may have many devices.  The cookie proves
nothing but an earlier login from that browser: it never logs anybody in.
Nothing here commits.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select
from typing_extensions import TypeIs

from lkk_app.core import clock, tokens
from lkk_app.core.tokens import hash_token
from lkk_app.db import dialect_insert, rowcount, table_of, upserts
from lkk_app.models import KnownDevice

COOKIE_NAME = "lkk_device"
COOKIE_LENGTH = 43  # core.tokens.new_token
#: The cookie's lifetime; a device not seen for this long is forgotten.
LIFETIME = timedelta(days=365)
# last_seen_at is written at most this often.
TOUCH_INTERVAL = timedelta(hours=1)


def well_formed(token: object) -> TypeIs[str]:
    """True when ``token`` has the shape of a device cookie."""
    return tokens.well_formed(token, length=COOKIE_LENGTH)


def known_device(session: Session, token: object, user_id: int | None) -> str | None:
    """The stored hash of ``token`` when it is a known, unexpired device of
    ``user_id``, else ``None`` (also for a malformed token or no user)."""
    if user_id is None or not well_formed(token):
        return None
    digest = hash_token(token)
    row = session.exec(
        select(KnownDevice.id)
        .where(KnownDevice.token_hash == digest)
        .where(KnownDevice.user_id == user_id)
        .where(KnownDevice.last_seen_at > clock.utcnow() - LIFETIME)
    ).first()
    return digest if row is not None else None


def remember(session: Session, token: object, user_id: int) -> str:
    """After a successful login of ``user_id``: the device token the browser
    should hold — its own when well formed, else a new one — recorded as a known
    device of the user (or its ``last_seen_at`` moved).  Flushes."""
    cookie = token if well_formed(token) else tokens.new_token()
    digest = hash_token(cookie)
    now = clock.utcnow()
    table = table_of(KnownDevice)
    if upserts(session):
        stmt = dialect_insert(session, KnownDevice).values(token_hash=digest, user_id=user_id,
                                                          created_at=now, last_seen_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["token_hash", "user_id"], set_={"last_seen_at": now},
            where=table.c.last_seen_at < now - TOUCH_INTERVAL,
        )
        session.execute(stmt)
    else:  # pragma: no cover - other dialects
        updated = session.execute(
            sa.update(table).where(table.c.token_hash == digest).where(table.c.user_id == user_id)
            .values(last_seen_at=now))
        if not rowcount(updated):
            session.execute(sa.insert(table).values(token_hash=digest, user_id=user_id,
                                                    created_at=now, last_seen_at=now))
    session.flush()
    return cookie


def purge(session: Session) -> int:
    """Forget devices not seen for :data:`LIFETIME`; return how many."""
    result = session.execute(delete(KnownDevice).where(
        col(KnownDevice.last_seen_at) < clock.utcnow() - LIFETIME))
    return rowcount(result)


__all__ = ["COOKIE_NAME", "LIFETIME", "hash_token", "known_device", "purge", "remember",
           "well_formed"]
