"""One-time secrets sent by mail (SECURITY.md, "Tokens, codes, temporary passwords"),
and the making, checking and hashing of every random token.

* :func:`issue_token` makes a link token: ``secrets.token_urlsafe(32)`` (256
  bits), bound to one user and one purpose; only its SHA-256 is stored
  (``lkk_token``).  By default a new token invalidates the older unused ones of
  the same user and purpose ("a new one invalidates the old").
* :func:`consume_token` accepts a token exactly once, also under concurrency:
  a conditional ``UPDATE … WHERE used_at IS NULL AND expires_at > now`` whose
  row count decides who wins.
* :func:`peek_token` tells a page *why* a link does not work (used, expired,
  unknown) without consuming it.
* :func:`generate_temp_password` makes a temporary password (16 characters
  from an alphabet without look-alikes).  Temporary passwords are **not**
  stored here: whoever mints one stores its keyed hash
  (``auth/passwords.hash_temp_password``).

Nothing here commits: the caller owns the transaction.  Remember that a
consumed token is only spent once the caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlmodel import Session, col, select
from typing_extensions import TypeIs

from lkk_app.core import clock
from lkk_app.db import delete_rows, update_rows
from lkk_app.models import OneTimeToken

CONFIRM_EMAIL = "confirm_email"
TEMP_PASSWORD = "temp_password"  # noqa: S105 - a purpose name
# The 6-digit code of a contract binding (kept on the binding request, not in lkk_token).
BINDING_CODE = "binding_code"

# How long each kind of secret is valid.
TTL: dict[str, timedelta] = {
    CONFIRM_EMAIL: timedelta(hours=24),
    TEMP_PASSWORD: timedelta(hours=24),
    BINDING_CODE: timedelta(minutes=15),
}

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100
PURPOSE_MAX = 32

# Results of peek_token.
VALID = "valid"
USED = "used"
EXPIRED = "expired"
REPLACED = "replaced"  # ended early by a newer one of the same user and purpose
UNKNOWN = "unknown"

# The alphabet of ``secrets.token_urlsafe``; anything else is not one of our tokens.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")

# Temporary passwords: no 0/O/o, 1/l/I (they look alike in many fonts).
TEMP_PASSWORD_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"  # noqa: S105 - an alphabet
TEMP_PASSWORD_LENGTH = 16


# --------------------------------------------------------------------------- any random token
#
# Link tokens, session tokens and device cookies are all made, checked and
# stored the same way: these three functions.


def new_token() -> str:
    """A random token: ``secrets.token_urlsafe(32)``, 256 bits, 43 characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def well_formed(token: object, *, length: int | None = None) -> TypeIs[str]:
    """True when ``token`` may be one of ours: the alphabet of ``token_urlsafe``,
    32 to :data:`MAX_TOKEN_LENGTH` characters — or exactly ``length``.  Check
    before anything else touches input from outside."""
    if not isinstance(token, str):
        return False
    low, high = (length, length) if length is not None else (32, MAX_TOKEN_LENGTH)
    return low <= len(token) <= high and _TOKEN_RE.fullmatch(token) is not None


def hash_token(token: str) -> str:
    """SHA-256 of the token, hex — what the database stores instead of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- one-time tokens


def _purpose_ok(purpose: object) -> bool:
    return isinstance(purpose, str) and 0 < len(purpose) <= PURPOSE_MAX


def invalidate_tokens(session: Session, *, user_id: int, purpose: str) -> int:
    """End every still-valid token of ``user_id`` for ``purpose``; return how many.

    They are made to expire now (``used_at`` stays empty: they were never
    used), so :func:`peek_token` reports them as ``expired``.
    """
    now = clock.utcnow()
    return update_rows(session, OneTimeToken, {"expires_at": now},
                       col(OneTimeToken.user_id) == user_id, col(OneTimeToken.purpose) == purpose,
                       col(OneTimeToken.used_at).is_(None), col(OneTimeToken.expires_at) > now)


def issue_token(
    session: Session,
    *,
    user_id: int,
    purpose: str,
    ttl: timedelta,
    invalidate_previous: bool = True,
    token: str | None = None,
) -> str:
    """A new single-use token for ``user_id`` and ``purpose``, valid for ``ttl``.

    Returns the raw token (for the letter only); stores its SHA-256.  With
    ``invalidate_previous`` the older unused tokens of the same user and
    purpose stop working.  ``token`` is a token derived with
    :func:`token_from_seed` (the outbox's per-letter secret); by default a
    random one.  Flushes, does not commit.
    """
    if not _purpose_ok(purpose):
        raise ValueError("purpose must be a non-empty string of at most 32 characters")
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    if token is not None and not well_formed(token):
        raise ValueError("not a token of this module")
    if invalidate_previous:
        invalidate_tokens(session, user_id=user_id, purpose=purpose)
    token = token or new_token()
    now = clock.utcnow()
    session.add(
        OneTimeToken(
            token_hash=hash_token(token),
            user_id=user_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + ttl,
            used_at=None,
        )
    )
    session.flush()
    return token


def consume_token(session: Session, token: str | None, purpose: str) -> int | None:
    """The user id of a valid ``token`` for ``purpose``, marking it used; else ``None``.

    A token is accepted once: the conditional UPDATE makes two concurrent
    consumers race on the row, and only the one whose UPDATE changed it wins
    (PostgreSQL re-checks the condition after the winner commits; SQLite
    serialises writers).  Malformed input never reaches the database.
    Flushes, does not commit — commit right away so the token is spent.
    """
    if not well_formed(token) or not _purpose_ok(purpose):
        return None
    digest = hash_token(token)
    now = clock.utcnow()
    spent = update_rows(session, OneTimeToken, {"used_at": now},
                        col(OneTimeToken.token_hash) == digest, col(OneTimeToken.purpose) == purpose,
                        col(OneTimeToken.used_at).is_(None), col(OneTimeToken.expires_at) > now)
    if spent != 1:
        return None
    return session.exec(
        select(OneTimeToken.user_id).where(OneTimeToken.token_hash == digest)
    ).one()


def peek_token(session: Session, token: str | None, purpose: str) -> str:
    """``'valid'``, ``'used'``, ``'replaced'`` (ended before its time by a newer
    one, :func:`issue_token`), ``'expired'`` or ``'unknown'`` — for a page that
    explains why a link does not work.  Does not consume the token."""
    if not well_formed(token) or not _purpose_ok(purpose):
        return UNKNOWN
    row = session.exec(
        select(OneTimeToken)
        .where(OneTimeToken.token_hash == hash_token(token))
        .where(OneTimeToken.purpose == purpose)
    ).first()
    if row is None:
        return UNKNOWN
    if row.used_at is not None:
        return USED
    if row.expires_at > clock.utcnow():
        return VALID
    ttl = TTL.get(purpose)
    ended_early = ttl is not None and row.expires_at < row.created_at + ttl
    newer = session.exec(
        select(OneTimeToken.id).where(OneTimeToken.user_id == row.user_id, OneTimeToken.purpose == purpose,
                                      col(OneTimeToken.id) > row.id).limit(1)
    ).first()
    return REPLACED if ended_early and newer is not None else EXPIRED


def token_user(session: Session, token: str | None, purpose: str) -> int | None:
    """The user id of a *valid* (unused, unexpired) ``token`` for ``purpose``,
    without consuming it; ``None`` otherwise."""
    if token is None or peek_token(session, token, purpose) != VALID:
        return None
    return session.exec(
        select(OneTimeToken.user_id).where(OneTimeToken.token_hash == hash_token(token))
    ).first()


def purge_tokens(session: Session, *, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete tokens that expired more than ``older_than`` ago; return how many.

    For a periodic clean-up job; not needed for correctness.
    """
    cutoff = clock.utcnow() - older_than
    return delete_rows(session, OneTimeToken, col(OneTimeToken.expires_at) < cutoff)


# --------------------------------------------------------------------------- secrets of one letter
#
# The outbox hands a minter a 32-byte ``letter_seed`` (HMAC-SHA-256 of the
# secret key and the letter's random seed): the same for every delivery
# attempt of one letter, different for every letter.  These two functions turn
# it into the letter's secret, so a retry re-creates the same link or password.

SEED_BYTES = 32


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes) or len(seed) < SEED_BYTES:
        raise ValueError(f"a letter seed has at least {SEED_BYTES} bytes")


def token_from_seed(seed: bytes) -> str:
    """A link token (256 bits, the alphabet of ``token_urlsafe``) derived from ``seed``."""
    _check_seed(seed)
    digest = hmac.new(seed, b"lkk-link-token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def digits_from_seed(seed: bytes, count: int = 6) -> str:
    """``count`` decimal digits derived from ``seed`` (a confirmation code)."""
    _check_seed(seed)
    digest = hmac.new(seed, b"lkk-digit-code", hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**count).zfill(count)


def temp_password_from_seed(seed: bytes, length: int = TEMP_PASSWORD_LENGTH) -> str:
    """A temporary password derived from ``seed``: like :func:`generate_temp_password`,
    uniform over :data:`TEMP_PASSWORD_ALPHABET` (bytes ≥ 224 are skipped)."""
    _check_seed(seed)
    if length < TEMP_PASSWORD_LENGTH:
        raise ValueError(f"a temporary password has at least {TEMP_PASSWORD_LENGTH} characters")
    size = len(TEMP_PASSWORD_ALPHABET)
    limit = 256 - 256 % size
    chars: list[str] = []
    for counter in range(64):  # 2048 bytes; 16 characters need ≈ 19
        block = hmac.new(seed, b"lkk-temp-password" + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        for byte in block:
            if byte < limit:
                chars.append(TEMP_PASSWORD_ALPHABET[byte % size])
                if len(chars) == length:
                    return "".join(chars)
    raise RuntimeError("could not derive a temporary password")  # pragma: no cover - p ≈ 0


# --------------------------------------------------------------------------- temporary passwords


def generate_temp_password(length: int = TEMP_PASSWORD_LENGTH) -> str:
    """A random temporary password from :data:`TEMP_PASSWORD_ALPHABET` (no 0/O/o/1/l/I).

    16 characters of a 56-letter alphabet carry about 93 bits.
    """
    if length < TEMP_PASSWORD_LENGTH:
        raise ValueError(f"a temporary password has at least {TEMP_PASSWORD_LENGTH} characters")
    return "".join(secrets.choice(TEMP_PASSWORD_ALPHABET) for _ in range(length))
