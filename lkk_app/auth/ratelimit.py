"""Sliding-window rate limits on the ``lkk_rate_event`` table
(the numbers and their proofs: SECURITY.md, "Passwords and credentials",
"Registration" and "Mail").

A *bucket* is a string such as ``"resend:user:42"`` or ``"recover:ip:1.2.3.4"``
(build them with the helpers below); every counted action is one row
``(bucket, created_at)``.  An event counts for a window of length ``w`` while
``created_at > now - w``: a limit of 1 per 2 minutes allows the next action
exactly 2 minutes after the previous one.

* :func:`hit` / :func:`allow_all` — "may I, and if so count it": record an
  event and return True when every limit allows it; when one refuses, return
  False and record nothing (a refused request does not eat budget, in that
  bucket or in the others of the same :func:`allow_all` call).
* :func:`count` and :func:`record` — for limits on *failures* (failed logins
  per IP): check ``count(...) >= limit`` before the attempt, ``record`` after a
  failure only.
* :func:`reserve` and :func:`release` — for limits that must hold however
  many requests race (failed logins): count the attempt *before* the slow
  check, learn its place in the bucket, and take the event back when the
  attempt succeeded (or is refused for another reason).
* :func:`purge` — a periodic clean-up job.

Concurrency.  The event is inserted first, then the bucket is counted and the
own row deleted again when over the limit, so the check sees every event
committed before it.  On SQLite writers are serialised, which makes this
exact.  On PostgreSQL the buckets are also locked with a transaction-scoped
advisory lock (``pg_advisory_xact_lock``, in sorted order) until the caller's
transaction ends, so two racing requests cannot both take the last unit; without
that lock (another database) two racing hits could both pass, by one.  Keep the
transaction short after a hit, and check several buckets with one
:func:`allow_all` call rather than several :func:`hit` calls (consistent lock
order, no deadlocks).

Nothing here commits.  The caller commits — **including when the request then
fails** (a failed login must stay counted): record in a transaction that is
committed, not in one rolled back by the error that follows.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, delete, func, select

from lkk_app.core import clock
from lkk_app.db import delete_rows
from lkk_app.models import RateEvent, saved_id

MAX_BUCKET_LENGTH = 128  # the column's length


class Limit(NamedTuple):
    """At most ``limit`` events per sliding ``window``."""

    limit: int
    window: timedelta


#: (bucket, limit, window) — what :func:`allow_all` takes.
Rule = tuple[str, int, timedelta]

# The limits (SECURITY.md gives the reasons and the tests of each).
RESEND_CONFIRMATION: tuple[Limit, ...] = (
    Limit(1, timedelta(minutes=2)),
    Limit(5, timedelta(days=1)),
)  # per account
RECOVERY_PER_ACCOUNT = Limit(3, timedelta(hours=1))
RECOVERY_PER_IP = Limit(10, timedelta(hours=1))
LOGIN_FAILS_PER_IP = Limit(30, timedelta(minutes=10))
# Failed logins per login name from clients that are not known devices of the
# account (all IP addresses together): beyond the first, every such client
# needs the authorization code; beyond the second, such clients are refused
# until the hour's count falls again (lkk_app/auth/login.py).
LOGIN_FAILS_PER_LOGIN_CODE = Limit(50, timedelta(hours=1))
LOGIN_FAILS_PER_LOGIN_STOP = Limit(100, timedelta(hours=1))
# Registration and the authorization code: limits that hold without the code.
REGISTRATION_PER_IP: tuple[Limit, ...] = (
    Limit(5, timedelta(hours=1)),
    Limit(20, timedelta(days=1)),
)
REGISTRATION_GLOBAL = Limit(200, timedelta(hours=1))  # across the whole site
REGISTRATION_GLOBAL_BUCKET = "register:all"
CONFIRMATION_LETTERS_PER_ADDRESS = Limit(3, timedelta(days=1))  # registrations + resends
CAPTCHA_PER_IP = Limit(30, timedelta(minutes=10))
# «Прослушать код»: a browser may fetch one recording more than once (replay).
CAPTCHA_AUDIO_PER_IP = Limit(30, timedelta(minutes=10))
#: The longest window above; :func:`purge` keeps at least this much history.
LONGEST_WINDOW = timedelta(days=1)

# Printable ASCII without blanks: kept as written; anything else is hashed.
_PLAIN_RE = re.compile(r"[\x21-\x7e]+")


# --------------------------------------------------------------------------- bucket names


def bucket_name(*parts: object) -> str:
    """``bucket_name("resend", "user", 42) == "resend:user:42"``.

    Names longer than :data:`MAX_BUCKET_LENGTH`, or with blanks, control or
    non-ASCII characters, become ``"<prefix>:#<sha256 hex>"`` (the prefix being
    everything before the last ``:`` when short and plain), so that any key —
    an e-mail address, a login — fits the column and stays distinct.
    """
    name = ":".join(str(p) for p in parts)
    if len(name) <= MAX_BUCKET_LENGTH and _PLAIN_RE.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    head, sep, _ = name.rpartition(":")
    if sep and len(head) <= 48 and _PLAIN_RE.fullmatch(head):
        return f"{head}:#{digest}"
    return f"#{digest}"


def ip_key(ip: str | None) -> str:
    """The part of a client address that limits are kept for: an IPv4 address
    as is, an IPv6 address by its /64 network (one subscriber usually holds a
    whole /64), an IPv4-mapped IPv6 address as IPv4; ``"unknown"`` when empty
    or unparsable (all such clients then share one bucket)."""
    try:
        addr = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(addr) >> 64 << 64, 64)))
    return str(addr)


def resend_bucket(user_id: int) -> str:
    return bucket_name("resend", "user", int(user_id))


def recovery_account_bucket(account: object) -> str:
    """``account``: the user id when the account is known, otherwise the
    normalised identifier that was typed (so that unknown accounts are limited
    the same way and the limit does not reveal which accounts exist)."""
    return bucket_name("recover", "account", account)


def recovery_ip_bucket(ip: str | None) -> str:
    return bucket_name("recover", "ip", ip_key(ip))


def login_fail_ip_bucket(ip: str | None) -> str:
    return bucket_name("login-fail", "ip", ip_key(ip))


def login_fail_login_bucket(login_key_hash: str) -> str:
    """Failed logins of one login name from unknown devices; keyed by
    ``throttle.key_hash(login)`` (an HMAC), so no login is stored in clear."""
    return bucket_name("login-fail", "login", login_key_hash)


def registration_rules(ip: str | None, *, per_ip: bool = True) -> list[Rule]:
    """Rules for one registration: 5 per hour and 20 per day per client IP
    (unless ``per_ip`` is off), 200 per hour across the site."""
    rules: list[Rule] = [(REGISTRATION_GLOBAL_BUCKET, *REGISTRATION_GLOBAL)]
    if per_ip:
        bucket = bucket_name("register", "ip", ip_key(ip))
        rules += [(bucket, lim.limit, lim.window) for lim in REGISTRATION_PER_IP]
    return rules


def confirmation_address_rule(address_digest: str) -> Rule:
    """The rule for confirmation letters to one address: 3 per day.
    ``address_digest``: a keyed hash of the normalised address (never the
    address itself: the table is not the place for customers' mail)."""
    return (bucket_name("confirm-mail", "to", address_digest), *CONFIRMATION_LETTERS_PER_ADDRESS)


def captcha_ip_rule(ip: str | None) -> Rule:
    """The rule for new authorization codes per client IP: 30 per 10 minutes."""
    return (bucket_name("captcha", "ip", ip_key(ip)), *CAPTCHA_PER_IP)


def captcha_audio_ip_rule(ip: str | None) -> Rule:
    """The rule for spoken codes per client IP: 30 per 10 minutes."""
    return (bucket_name("captcha-audio", "ip", ip_key(ip)), *CAPTCHA_AUDIO_PER_IP)


def is_exempt(ip: str | None, exempt_ips: Iterable[str]) -> bool:
    """True when ``ip`` is one of ``exempt_ips`` (``Settings.rate_exempt_ips``:
    test servers on loopback; never in production)."""
    key = ip_key(ip)
    return key != "unknown" and any(key == ip_key(other) for other in exempt_ips)


def resend_confirmation_rules(user_id: int) -> list[Rule]:
    """Rules for "send the confirmation letter again": 1 per 2 min, 5 per day."""
    bucket = resend_bucket(user_id)
    return [(bucket, lim.limit, lim.window) for lim in RESEND_CONFIRMATION]


def recovery_rules(*, account: object, ip: str | None) -> list[Rule]:
    """Rules for a password-recovery request: 3 per hour per account, 10 per hour per IP."""
    return [
        (recovery_account_bucket(account), *RECOVERY_PER_ACCOUNT),
        (recovery_ip_bucket(ip), *RECOVERY_PER_IP),
    ]


def login_fail_ip_rule(ip: str | None) -> Rule:
    """The rule for failed logins per IP: check with :func:`is_limited`, count
    failures with :func:`record`."""
    return (login_fail_ip_bucket(ip), *LOGIN_FAILS_PER_IP)


# --------------------------------------------------------------------------- internals


def _normalise(bucket: str) -> str:
    if not isinstance(bucket, str) or not bucket:
        raise ValueError("a rate-limit bucket must be a non-empty string")
    return bucket_name(bucket)


def _lock_key(bucket: str) -> int:
    digest = hashlib.sha256(b"lkk-rate:" + bucket.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock(session: Session, buckets: Iterable[str]) -> None:
    """PostgreSQL: hold a transaction-scoped advisory lock per bucket."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for bucket in sorted(set(buckets)):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(bucket)})


def _count(session: Session, bucket: str, window: timedelta, now: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(RateEvent)
        .where(RateEvent.bucket == bucket)
        .where(RateEvent.created_at > now - window)
    )
    return int(session.exec(stmt).one())


# --------------------------------------------------------------------------- API


def count(session: Session, bucket: str, window: timedelta) -> int:
    """How many events ``bucket`` has within the last ``window``."""
    return _count(session, _normalise(bucket), window, clock.utcnow())


def is_limited(session: Session, bucket: str, *, limit: int, window: timedelta) -> bool:
    """True when ``bucket`` already has ``limit`` events within ``window``."""
    return count(session, bucket, window) >= limit


def record(session: Session, bucket: str) -> None:
    """Count one event in ``bucket`` unconditionally (e.g. a failed login). Flushes."""
    session.add(RateEvent(bucket=_normalise(bucket), created_at=clock.utcnow()))
    session.flush()


def allow_all(session: Session, rules: Sequence[Rule]) -> bool:
    """Check every ``(bucket, limit, window)`` rule; when all allow, record one
    event per distinct bucket and return True.  When any refuses, record
    nothing and return False.  Flushes, does not commit.

    The same bucket may appear with several windows (``RESEND_CONFIRMATION``).
    """
    normalised = [(_normalise(b), int(limit), window) for b, limit, window in rules]
    if not normalised:
        return True
    if any(limit <= 0 for _, limit, _ in normalised):
        return False
    buckets = sorted({b for b, _, _ in normalised})
    _lock(session, buckets)
    now = clock.utcnow()
    # Cheap refusal first: nothing is written for a request that is over.
    if any(_count(session, b, window, now) >= limit for b, limit, window in normalised):
        return False
    # Then insert and recount, so that events committed meanwhile by others
    # (SQLite serialises the writers) are seen; back out when over.
    own = [RateEvent(bucket=b, created_at=now) for b in buckets]
    session.add_all(own)
    session.flush()
    if any(_count(session, b, window, now) > limit for b, limit, window in normalised):
        for row in own:
            session.delete(row)
        session.flush()
        return False
    return True


def hit(session: Session, bucket: str, *, limit: int, window: timedelta) -> bool:
    """Record one event in ``bucket`` and return True if fewer than ``limit``
    were recorded within ``window``; otherwise return False and record nothing."""
    return allow_all(session, [(bucket, limit, window)])


def reserve(session: Session, bucket: str, window: timedelta) -> tuple[int, int]:
    """Record one event in ``bucket`` and return ``(its id, how many events the
    bucket holds within window, this one included)``.  Exact under concurrency
    (the insert comes first; PostgreSQL: an advisory lock on the bucket until
    the transaction ends; SQLite: the write lock).  The caller compares the
    count with its limit and calls :func:`release` when over — or when
    the attempt succeeds.  Flushes, does not commit."""
    name = _normalise(bucket)
    _lock(session, [name])
    now = clock.utcnow()
    row = RateEvent(bucket=name, created_at=now)
    session.add(row)
    session.flush()
    return saved_id(row), _count(session, name, window, now)


def free_at(session: Session, bucket: str, *, limit: int, window: timedelta) -> datetime | None:
    """When ``bucket`` will hold fewer than ``limit`` events within ``window``
    again (naive UTC), if no new ones come; ``None`` when it already does."""
    name = _normalise(bucket)
    now = clock.utcnow()
    held = _count(session, name, window, now)
    if held < limit:
        return None
    oldest_needed = session.exec(
        select(RateEvent.created_at)
        .where(RateEvent.bucket == name)
        .where(RateEvent.created_at > now - window)
        .order_by(col(RateEvent.created_at), col(RateEvent.id))
        .offset(held - limit).limit(1)
    ).first()
    if oldest_needed is None:
        return None
    return oldest_needed + window


def release(session: Session, event_id: int | None) -> None:
    """Take back one event recorded by :func:`reserve` (no error when gone). Flushes."""
    if event_id is None:
        return
    session.exec(
        delete(RateEvent).where(col(RateEvent.id) == int(event_id))
        .execution_options(synchronize_session=False))
    session.flush()


def purge(session: Session, older_than: timedelta = 2 * LONGEST_WINDOW) -> int:
    """Delete events older than ``older_than`` (keep it ≥ the longest window in
    use); return how many."""
    cutoff = clock.utcnow() - older_than
    return delete_rows(session, RateEvent, col(RateEvent.created_at) < cutoff)
