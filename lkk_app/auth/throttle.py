"""Throttling of failed password checks (table ``lkk_login_throttle``; the
numbers and why: SECURITY.md, "Passwords and credentials", "Why these login limits").

A row counts the consecutive failures of one *key*: an HMAC-SHA-256 under the
secret key, so the table holds no login, address or device in clear and does
not tell which accounts exist.  The keys in use:

* :func:`client_key` — a login name as typed (known or not) together with the
  client: its IP address (IPv6 by /64) or, for a known device, its device
  cookie.  The login (``lkk_app/auth/login.py``) throttles these.
* :func:`subject_key` — anything else, e.g. «Смена пароля» per account
  (``lkk_app/auth/account.py``).

The rule of a key:

* After :data:`THRESHOLD` (5) consecutive failures every further attempt needs
  the authorization code (captcha) and attempts are spaced out: the next one is
  allowed :data:`BASE_DELAY` (30 s) after the 5th failure, 60 s after the 6th,
  120 s after the 7th … doubling up to :data:`MAX_DELAY` (15 min).  Never a
  permanent lock.
* A success deletes the row: :func:`reset`.
* Failures older than :data:`FORGET_AFTER` (24 h) are forgotten: the next one
  starts counting from 1 again.

**Reserve before checking.**  :func:`reserve` counts the attempt as a failure
*before* the password is checked, in one ``INSERT … ON CONFLICT (key_hash) DO
UPDATE … WHERE <allowed> RETURNING`` (SQLite ≥ 3.35 and PostgreSQL): the
attempt is allowed only when no wait is running and, from the 5th failure on,
the code was right; the statement sets the wait of the new count at the same
time.  So however many requests race — threads, worker processes, hosts — no
more attempts are checked than the rule allows: the 5th reservation starts the
wait, and every later one sees it.  The caller commits the reservation before
the slow check, then :func:`reset` on success; on failure nothing more is
needed (the failure is already counted; a crash counts as a failure too).

Nothing here commits: the caller commits — **also when the attempt then
fails**.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from lkk_app.auth import validation
from lkk_app.core import clock
from lkk_app.core.text import MAX_INPUT
from lkk_app.db import dialect_insert, rowcount, table_of, upserts
from lkk_app.models import LoginThrottle
from lkk_app.settings import Settings, get_settings

THRESHOLD = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)

_C = table_of(LoginThrottle).c
_KEY_RE = re.compile(r"[0-9a-f]{64}")


class ThrottleState(NamedTuple):
    """What the form must do for a key.

    ``needs_captcha``: the authorization code is required.  ``retry_at``: naive
    UTC time before which no attempt is accepted (``None``: no wait now).
    ``failures``: consecutive failures counted so far."""

    needs_captcha: bool = False
    retry_at: datetime | None = None
    failures: int = 0

    def waiting(self, now: datetime | None = None) -> bool:
        return self.retry_at is not None and self.retry_at > (now or clock.utcnow())


class Reservation(NamedTuple):
    """The answer of :func:`reserve`: ``allowed`` — the attempt is counted and
    may be checked; else ``refusal`` is ``"wait"`` or ``"captcha"``.  ``state``
    is the key's state afterwards (for an allowed attempt: as if it failed)."""

    allowed: bool
    state: ThrottleState
    refusal: str = ""


def _hmac(message: str, settings: Settings | None) -> str:
    settings = settings or get_settings()
    return hmac.new(settings.secret_key, message.encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()


def _login_part(login: object) -> str:
    raw = login[:MAX_INPUT] if isinstance(login, str) else ""
    return validation.login_key(raw)


def key_hash(login: object, *, settings: Settings | None = None) -> str:
    """``HMAC-SHA-256(secret_key, "login-throttle:" + login_key(login))`` in hex
    (64 characters): the login name as a whole, whoever tries it.  Any input —
    unknown, malformed, with NUL — gets a key."""
    return _hmac("login-throttle:" + _login_part(login), settings)


def client_key(login: object, *, ip: str | None = None, device: str | None = None,
               settings: Settings | None = None) -> str:
    """The key of a login name tried by one client: by its known device
    (``device``: the stored hash of its device cookie) when given, else by its
    IP address (``ratelimit.ip_key``: IPv6 by /64)."""
    from lkk_app.auth.ratelimit import ip_key  # no import cycle at module level

    who = f"device:{device}" if device else f"ip:{ip_key(ip)}"
    return _hmac("login-throttle:" + _login_part(login) + "\x1f" + who, settings)


def subject_key(scope: str, value: object, *, settings: Settings | None = None) -> str:
    """The key of anything else, e.g. ``subject_key("password-change", user_id)``."""
    return _hmac(f"throttle:{scope}\x1f{value}", settings)


def _key(key: object) -> str:
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise TypeError("a throttle key is a 64-character hex digest (client_key, subject_key)")
    return key


def delay_after(failures: int) -> timedelta | None:
    """The wait after the ``failures``-th consecutive failure (``None`` below the threshold)."""
    return None if failures < THRESHOLD else _delay(failures)


def _delay(failures: int) -> timedelta:
    """:func:`delay_after` from the :data:`THRESHOLD`-th failure on."""
    exponent = min(failures - THRESHOLD, 16)  # 30 s · 2^16 is far beyond the cap
    return min(BASE_DELAY * (2 ** exponent), MAX_DELAY)


def _capped_from() -> int:
    """The first count whose wait is :data:`MAX_DELAY`."""
    n = THRESHOLD
    while _delay(n) < MAX_DELAY:
        n += 1
    return n


def unix_seconds(moment: datetime) -> int:
    """A naive UTC time as whole Unix seconds, rounded up (never too early)."""
    return math.ceil(moment.replace(tzinfo=UTC).timestamp())


def _state(failures: int, throttled_until: datetime | None, last_failure_at: datetime | None,
           now: datetime) -> ThrottleState:
    if last_failure_at is not None and last_failure_at < now - FORGET_AFTER:
        return ThrottleState()
    retry_at = throttled_until if throttled_until is not None and throttled_until > now else None
    return ThrottleState(needs_captcha=failures >= THRESHOLD, retry_at=retry_at, failures=failures)


def check(session: Session, key: str) -> ThrottleState:
    """The current state of ``key``; reads only."""
    digest = _key(key)
    row = session.exec(
        select(LoginThrottle.failures, LoginThrottle.throttled_until,
               LoginThrottle.last_failure_at)
        .where(LoginThrottle.key_hash == digest)
    ).first()
    if row is None:
        return ThrottleState()
    return _state(int(row[0] or 0), row[1], row[2], clock.utcnow())


def _count_one(session: Session, digest: str, now: datetime,
               allowed: sa.ColumnElement[bool] | None) -> tuple[int, datetime | None] | None:
    """Count one failure of ``digest`` atomically, only where ``allowed`` holds
    for an existing row; (new count, new wait) or ``None`` when not allowed."""
    forgotten = _C.last_failure_at < now - FORGET_AFTER
    new_failures = sa.case((forgotten, 1), else_=_C.failures + 1)
    capped = _capped_from()
    new_wait = sa.case(
        *[(new_failures == n, now + _delay(n)) for n in range(THRESHOLD, capped)],
        (new_failures >= capped, now + MAX_DELAY),
        else_=sa.null(),
    )
    first_delay = delay_after(1)
    first_wait = now + first_delay if first_delay else None
    where = None if allowed is None else sa.or_(forgotten, allowed)
    if upserts(session):
        stmt = dialect_insert(session, LoginThrottle).values(
            key_hash=digest, failures=1, throttled_until=first_wait, last_failure_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key_hash"],
            set_={"failures": new_failures, "throttled_until": new_wait, "last_failure_at": now},
            where=where,
        ).returning(_C.failures, _C.throttled_until)
        row = session.execute(stmt).first()
        return None if row is None else (int(row[0]), row[1])
    # Other dialects: a conditional update, an insert when there was no row (a
    # lost insert race then raises IntegrityError, which the caller sees as an error).
    update = (sa.update(table_of(LoginThrottle))
              .where(_C.key_hash == digest)
              .values(failures=new_failures, throttled_until=new_wait, last_failure_at=now))
    if where is not None:
        update = update.where(where)
    if not rowcount(session.execute(update)):
        exists = session.execute(select(_C.id).where(_C.key_hash == digest)).first()
        if exists is not None:
            return None
        session.execute(sa.insert(table_of(LoginThrottle)).values(
            key_hash=digest, failures=1, throttled_until=first_wait, last_failure_at=now))
    row = session.execute(select(_C.failures, _C.throttled_until).where(_C.key_hash == digest)).one()
    return int(row[0]), row[1]


def reserve(session: Session, key: str, *, code_ok: bool = False) -> Reservation:
    """Count an attempt for ``key`` as a failure before it is checked, if the
    rule allows it now: no wait running and, from the :data:`THRESHOLD`-th
    failure on, ``code_ok`` (the authorization code was right).  Atomic; flushes,
    does not commit — commit before the slow check so that racing requests see
    it, and :func:`reset` after a success."""
    digest = _key(key)
    now = clock.utcnow()
    session.flush()
    no_wait = sa.or_(_C.throttled_until.is_(None), _C.throttled_until <= now)
    allowed = sa.and_(no_wait, sa.true() if code_ok else _C.failures < THRESHOLD)
    counted = _count_one(session, digest, now, allowed)
    if counted is None:
        state = check(session, digest)
        return Reservation(False, state, "wait" if state.waiting(now) else "captcha")
    failures, wait = counted
    return Reservation(True, _state(failures, wait, now, now))


def record_failure(session: Session, key: str) -> ThrottleState:
    """Count a failure for ``key`` unconditionally and return the new state
    (for callers that check first and count afterwards).  Flushes."""
    digest = _key(key)
    now = clock.utcnow()
    session.flush()
    counted = _count_one(session, digest, now, None)
    if counted is None:  # no condition was given, so a row is always counted
        raise RuntimeError("a failure without a condition was not counted")
    return _state(counted[0], counted[1], now, now)


def reset(session: Session, key: str) -> None:
    """Forget the failures of ``key`` (after a success).  Flushes."""
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key_hash) == _key(key)))
    session.flush()


def purge(session: Session, older_than: timedelta = FORGET_AFTER) -> int:
    """Delete rows whose last failure is older than ``older_than`` (a periodic
    clean-up job; such rows no longer count anyway); return how many."""
    cutoff = clock.utcnow() - max(older_than, FORGET_AFTER)
    result = session.execute(delete(LoginThrottle).where(
        col(LoginThrottle.last_failure_at) < cutoff))
    return rowcount(result)


__all__ = [
    "BASE_DELAY",
    "MAX_DELAY",
    "THRESHOLD",
    "Reservation",
    "ThrottleState",
    "check",
    "client_key",
    "delay_after",
    "key_hash",
    "purge",
    "record_failure",
    "reserve",
    "reset",
    "subject_key",
    "unix_seconds",
]
