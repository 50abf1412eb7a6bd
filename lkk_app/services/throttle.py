"""Per-login-name throttling of failed logins (table ``lkk_login_throttle``,
``docs/security.md``, "Login and sessions").

A row is kept per *login name as typed* — whether or not an account has that
name — under ``HMAC-SHA-256(secret_key, login_key(login))``, so neither the
answers nor the table tell which accounts exist, and the table holds no login
in clear.

* After :data:`THRESHOLD` (5) consecutive failures every further attempt needs
  the authorization code (captcha) and attempts are spaced out: the next one is
  allowed :data:`BASE_DELAY` (30 s) after the 5th failure, 60 s after the 6th,
  120 s after the 7th … doubling up to :data:`MAX_DELAY` (15 min).  Never a
  permanent lock.
* A successful login (also with a temporary password) deletes the row:
  :func:`reset`.
* Failures older than :data:`FORGET_AFTER` (24 h) are forgotten: the next one
  starts counting from 1 again.

:func:`record_failure` is race-safe: one ``INSERT … ON CONFLICT (key_hash) DO
UPDATE SET failures = failures + 1 … RETURNING failures`` (SQLite ≥ 3.35 and
PostgreSQL), so concurrent failures are all counted; the row lock (PostgreSQL)
or the database write lock (SQLite) is held until the caller's transaction
ends.  Other dialects fall back to update-then-insert.

Nothing here commits: the caller commits — **also when the login then fails**
(a failure must stay counted).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, delete, select

from lkk_app.models import LoginThrottle
from lkk_app.services import clock, validation
from lkk_app.settings import Settings, get_settings

THRESHOLD = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)
# Raw input longer than this is cut before hashing (a login has ≤ 32 characters).
MAX_INPUT = 1024

_C = LoginThrottle.__table__.c  # type: ignore[attr-defined]


class ThrottleState(NamedTuple):
    """What the login form must do for a login name.

    ``needs_captcha``: the authorization code is required.  ``retry_at``: naive
    UTC time before which no attempt is accepted (``None``: no wait now).
    ``failures``: consecutive failures counted so far."""

    needs_captcha: bool = False
    retry_at: datetime | None = None
    failures: int = 0

    def waiting(self, now: datetime | None = None) -> bool:
        return self.retry_at is not None and self.retry_at > (now or clock.utcnow())


def key_hash(login: object, *, settings: Settings | None = None) -> str:
    """``HMAC-SHA-256(secret_key, "login-throttle:" + login_key(login))`` in hex (64
    characters).  Any input — unknown, malformed, with NUL — gets a key."""
    settings = settings or get_settings()
    raw = login[:MAX_INPUT] if isinstance(login, str) else ""
    message = ("login-throttle:" + validation.login_key(raw)).encode("utf-8", "surrogatepass")
    return hmac.new(settings.secret_key, message, hashlib.sha256).hexdigest()


def delay_after(failures: int) -> timedelta | None:
    """The wait after the ``failures``-th consecutive failure (``None`` below the threshold)."""
    if failures < THRESHOLD:
        return None
    exponent = min(failures - THRESHOLD, 16)  # 30 s · 2^16 is far beyond the cap
    return min(BASE_DELAY * (2 ** exponent), MAX_DELAY)


def unix_seconds(moment: datetime) -> int:
    """A naive UTC time as whole Unix seconds, rounded up (never too early)."""
    return math.ceil(moment.replace(tzinfo=UTC).timestamp())


def _state(failures: int, throttled_until: datetime | None, last_failure_at: datetime | None,
           now: datetime) -> ThrottleState:
    if last_failure_at is not None and last_failure_at < now - FORGET_AFTER:
        return ThrottleState()
    retry_at = throttled_until if throttled_until is not None and throttled_until > now else None
    return ThrottleState(needs_captcha=failures >= THRESHOLD, retry_at=retry_at, failures=failures)


def check(session: Session, login: object, *, settings: Settings | None = None) -> ThrottleState:
    """The current state for ``login`` (known or not); reads only."""
    digest = key_hash(login, settings=settings)
    row = session.exec(
        select(LoginThrottle.failures, LoginThrottle.throttled_until,  # type: ignore[call-overload]
               LoginThrottle.last_failure_at)
        .where(LoginThrottle.key_hash == digest)
    ).first()
    if row is None:
        return ThrottleState()
    return _state(int(row[0] or 0), row[1], row[2], clock.utcnow())


def _upsert_failure(session: Session, digest: str, now: datetime) -> int:
    """Count one failure atomically; the number of consecutive failures now."""
    dialect = session.get_bind().dialect.name
    forgotten = _C.last_failure_at < now - FORGET_AFTER
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(LoginThrottle).values(
            key_hash=digest, failures=1, throttled_until=None, last_failure_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key_hash"],
            set_={
                "failures": sa.case((forgotten, 1), else_=_C.failures + 1),
                "throttled_until": sa.case((forgotten, None), else_=_C.throttled_until),
                "last_failure_at": now,
            },
        ).returning(_C.failures)
        return int(session.execute(stmt).scalar_one())
    # Other dialects: update first, insert when there was no row (a lost insert
    # race then raises IntegrityError, which the caller sees as an error).
    result = session.execute(
        sa.update(LoginThrottle.__table__)  # type: ignore[arg-type]
        .where(_C.key_hash == digest)
        .values(failures=sa.case((forgotten, 1), else_=_C.failures + 1), last_failure_at=now)
    )
    if not result.rowcount:
        session.execute(sa.insert(LoginThrottle.__table__).values(  # type: ignore[arg-type]
            key_hash=digest, failures=1, throttled_until=None, last_failure_at=now))
    return int(session.execute(select(_C.failures).where(_C.key_hash == digest)).scalar_one())


def record_failure(session: Session, login: object, *, settings: Settings | None = None) -> ThrottleState:
    """Count a failed login for ``login`` (known or not) and return the new state.

    From the :data:`THRESHOLD`-th failure on, ``retry_at`` is set to now +
    :func:`delay_after`.  Flushes, does not commit."""
    digest = key_hash(login, settings=settings)
    now = clock.utcnow()
    session.flush()
    failures = _upsert_failure(session, digest, now)
    delay = delay_after(failures)
    retry_at = now + delay if delay is not None else None
    if retry_at is not None:
        # Only the holder of the latest count writes its wait (a concurrent,
        # later failure has a longer one).
        session.execute(
            sa.update(LoginThrottle.__table__)  # type: ignore[arg-type]
            .where(_C.key_hash == digest)
            .where(_C.failures == failures)
            .values(throttled_until=retry_at)
        )
    return ThrottleState(needs_captcha=failures >= THRESHOLD, retry_at=retry_at, failures=failures)


def reset(session: Session, login: object, *, settings: Settings | None = None) -> None:
    """Forget the failures of ``login`` (after a successful login).  Flushes."""
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.key_hash == key_hash(login, settings=settings)))  # type: ignore[arg-type]
    session.flush()


def purge(session: Session, older_than: timedelta = FORGET_AFTER) -> int:
    """Delete rows whose last failure is older than ``older_than`` (a periodic
    clean-up job; such rows no longer count anyway); return how many."""
    cutoff = clock.utcnow() - max(older_than, FORGET_AFTER)
    result = session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < cutoff))  # type: ignore[arg-type, operator]
    return int(result.rowcount or 0)


__all__ = [
    "BASE_DELAY",
    "MAX_DELAY",
    "THRESHOLD",
    "ThrottleState",
    "check",
    "delay_after",
    "key_hash",
    "purge",
    "record_failure",
    "reset",
    "unix_seconds",
]
