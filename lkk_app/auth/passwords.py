"""Password hashing (SECURITY.md, "Passwords and credentials").

bcrypt 5 refuses input over 72 bytes (37 Cyrillic letters), so bcrypt hashes
``base64(HMAC-SHA-384(secret_key, NFKC(password)))`` — 64 ASCII bytes, no NUL —
instead of the raw password.  The secret key acts as a pepper: a stolen
database alone is not enough to test guesses.

bcrypt is slow on purpose: call these functions from a worker thread, never on
the event loop.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import unicodedata

import bcrypt

# A password longer than this cannot be valid (128 code points after NFKC, and
# even fully decomposed input stays far below); verifying it is refused early.
MAX_VERIFY_CHARS = 1024

_BCRYPT_HASH_RE = re.compile(r"\$(2[abxy]?)\$(\d\d)\$[./A-Za-z0-9]{53}")


def _key_bytes(secret_key: bytes | str) -> bytes:
    return secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)


def prehash(password: str, secret_key: bytes | str) -> bytes:
    """``base64(HMAC-SHA-384(secret_key, NFKC(password).encode()))`` — the bcrypt input."""
    # surrogatepass: a lone surrogate (possible from JSON) must not raise.
    data = unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")
    digest = hmac.new(_key_bytes(secret_key), data, hashlib.sha384).digest()
    return base64.b64encode(digest)


def hash_password(password: str, *, secret_key: bytes | str, cost: int) -> str:
    """A bcrypt hash (``$2b$<cost>$…``) of the prehashed password.

    Any cost bcrypt supports (4–31) is accepted; the *setting* enforces ≥ 10,
    tests use 4 for speed.
    """
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    salt = bcrypt.gensalt(rounds=cost)
    return bcrypt.hashpw(prehash(password, secret_key), salt).decode("ascii")


def verify_password(password: str, stored_hash: str, *, secret_key: bytes | str) -> bool:
    """True when ``password`` matches ``stored_hash``.  Never raises: odd input is ``False``."""
    try:
        if not isinstance(password, str) or not isinstance(stored_hash, str):
            return False
        if not password or len(password) > MAX_VERIFY_CHARS:
            return False
        if not _BCRYPT_HASH_RE.fullmatch(stored_hash):
            return False
        return bool(bcrypt.checkpw(prehash(password, secret_key), stored_hash.encode("ascii")))
    except Exception:  # noqa: BLE001 - a malformed hash or key must read as "no match"
        return False


# Temporary passwords (16 random characters, ≈ 93 bits, valid 24 hours) need no
# slow hash: nobody can try 2^93 guesses, so a keyed HMAC is enough and a login
# that checks one costs microseconds.  A failed login then costs one bcrypt
# check on every path (the password's or the dummy's), not two.  The stored
# value is 64 hex digits (``lkk_token.token_hash``); a bcrypt hash starts with ``$2``.
BCRYPT_PREFIX = "$2"


def hash_temp_password(password: str, *, secret_key: bytes | str) -> str:
    """Hex HMAC-SHA-256(secret_key, label + NFKC(password)) — what is stored."""
    data = unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")
    digest = hmac.new(_key_bytes(secret_key), b"lkk-temp-password\x00" + data, hashlib.sha256)
    return digest.hexdigest()


def verify_temp_password(password: object, stored_hash: str, *, secret_key: bytes | str) -> bool:
    """True when ``password`` is the temporary password of ``stored_hash``.
    Never raises.  A hash made by bcrypt (issued before temporary passwords got
    a keyed hash; they live 24 hours) is checked with bcrypt."""
    if not isinstance(password, str) or not 0 < len(password) <= MAX_VERIFY_CHARS:
        return False
    if stored_hash.startswith(BCRYPT_PREFIX):
        return verify_password(password, stored_hash, secret_key=secret_key)
    return hmac.compare_digest(hash_temp_password(password, secret_key=secret_key), stored_hash)


def hash_cost(stored_hash: str) -> int | None:
    """The cost factor of a bcrypt hash, ``None`` when it is not one."""
    match = _BCRYPT_HASH_RE.fullmatch(stored_hash or "") if isinstance(stored_hash, str) else None
    return int(match.group(2)) if match else None


def needs_rehash(stored_hash: str, cost: int) -> bool:
    """True when the hash is not a ``$2b$`` hash of exactly ``cost`` (call after a successful check)."""
    match = _BCRYPT_HASH_RE.fullmatch(stored_hash or "") if isinstance(stored_hash, str) else None
    if match is None:
        return True
    return match.group(1) != "2b" or int(match.group(2)) != cost


_dummy_hashes: dict[int, str] = {}
_dummy_lock = threading.Lock()


def _dummy_hash(cost: int) -> str:
    """A hash of a random password, made once per cost and kept for the process."""
    cached = _dummy_hashes.get(cost)
    if cached is None:
        with _dummy_lock:
            cached = _dummy_hashes.get(cost)
            if cached is None:
                cached = hash_password(
                    secrets.token_urlsafe(32), secret_key=secrets.token_bytes(32), cost=cost
                )
                _dummy_hashes[cost] = cached
    return cached


def dummy_verify(password: object, *, secret_key: bytes | str, cost: int) -> None:
    """Spend the time of one real check for an unknown login or unusable input.

    Runs exactly one ``bcrypt.checkpw`` against a dummy hash of ``cost``, so a
    response does not reveal whether the login exists.  Never raises.
    """
    dummy = _dummy_hash(cost)
    candidate = password if isinstance(password, str) and len(password) <= MAX_VERIFY_CHARS else "-"
    # The result is ignored anyway: only the time spent counts.
    with contextlib.suppress(Exception):
        bcrypt.checkpw(prehash(candidate, secret_key), dummy.encode("ascii"))
