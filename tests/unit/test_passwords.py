"""Password storage (SECURITY.md, "Passwords and credentials")."""

from __future__ import annotations

import base64
import hashlib
import hmac

import bcrypt
import pytest

from lkk_app.auth import passwords

KEY = b"unit-test-secret-key-0123456789-abcdefghij"
COST = 4  # bcrypt's minimum; the cost is irrelevant to these tests

CYRILLIC_100 = ("Съешь же ещё этих мягких французских булок, да выпей чаю " * 2)[:99] + "а"


def test_prehash_is_base64_hmac_sha384_of_nfkc():
    expected = base64.b64encode(
        hmac.new(KEY, "fi Ivan".encode(), hashlib.sha384).digest()
    )
    assert passwords.prehash("ﬁ Ｉｖａｎ", KEY) == expected
    assert len(expected) == 64 and b"\x00" not in expected


def test_prehash_depends_on_the_secret_key():
    assert passwords.prehash("пароль-пароль", KEY) != passwords.prehash("пароль-пароль", KEY + b"x")


def test_hash_and_verify_round_trip():
    stored = passwords.hash_password("correct horse", secret_key=KEY, cost=COST)
    assert stored.startswith("$2b$04$") and len(stored) == 60
    assert "correct horse" not in stored
    assert passwords.verify_password("correct horse", stored, secret_key=KEY)
    assert not passwords.verify_password("correct horsE", stored, secret_key=KEY)
    assert not passwords.verify_password("correct horse ", stored, secret_key=KEY)  # no trimming
    assert not passwords.verify_password("correct horse", stored, secret_key=KEY + b"!")


def test_each_hash_has_its_own_salt():
    first = passwords.hash_password("same password", secret_key=KEY, cost=COST)
    second = passwords.hash_password("same password", secret_key=KEY, cost=COST)
    assert first != second
    assert passwords.verify_password("same password", second, secret_key=KEY)


def test_long_cyrillic_password_over_72_bytes():
    assert len(CYRILLIC_100) == 100
    assert len(CYRILLIC_100.encode()) > 72  # raw bcrypt 5 would raise on it
    with pytest.raises(ValueError):
        bcrypt.hashpw(CYRILLIC_100.encode(), bcrypt.gensalt(4))
    stored = passwords.hash_password(CYRILLIC_100, secret_key=KEY, cost=COST)
    assert passwords.verify_password(CYRILLIC_100, stored, secret_key=KEY)
    # Differs only in the very last character: bcrypt's 72-byte truncation would accept it.
    assert not passwords.verify_password(CYRILLIC_100[:-1] + "б", stored, secret_key=KEY)
    assert not passwords.verify_password(CYRILLIC_100[:-1], stored, secret_key=KEY)


@pytest.mark.parametrize(
    ("stored_as", "typed"),
    [
        ("ﬁnance-2024!", "finance-2024!"),  # ligature vs letters
        ("Ｐａｓｓ１２３４５", "Pass12345"),  # full-width vs ASCII
        ("й-сложный-пароль", "и\u0306-сложный-пароль"),  # composed vs decomposed
        ("x\u00a0y-password", "x y-password"),  # no-break space vs space
    ],
)
def test_nfkc_equivalent_passwords_match(stored_as, typed):
    stored = passwords.hash_password(stored_as, secret_key=KEY, cost=COST)
    assert passwords.verify_password(typed, stored, secret_key=KEY)


@pytest.mark.parametrize(
    "password",
    [
        "abc\x00def",
        "\x00",
        "x" * 10 * 1024,
        "я" * 10 * 1024,
        "\ud800 lone surrogate",
        "",
        None,
        b"bytes-password",
        12345678,
    ],
)
def test_verify_odd_passwords_is_false_not_an_error(password):
    stored = passwords.hash_password("legit password", secret_key=KEY, cost=COST)
    assert passwords.verify_password(password, stored, secret_key=KEY) is False


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not a hash",
        "$2b$04$short",
        "$2b$04$" + "!" * 53,
        "$2b$99$" + "a" * 53,
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
        "$2b$04$" + "я" * 53,
        "$2b$04$abcdefghijklmnopqrstuu\x00" + "a" * 30,
        None,
        b"$2b$04$",
    ],
)
def test_verify_against_bad_hash_is_false_not_an_error(stored):
    assert passwords.verify_password("legit password", stored, secret_key=KEY) is False


def test_password_with_nul_and_surrogate_still_hashes_consistently():
    for odd in ("abc\x00def-ghi", "\ud800-surrogate-pw"):
        stored = passwords.hash_password(odd, secret_key=KEY, cost=COST)
        assert passwords.verify_password(odd, stored, secret_key=KEY)
        assert not passwords.verify_password(odd.replace("\x00", "") + "?", stored, secret_key=KEY)


def test_hash_password_refuses_non_strings():
    with pytest.raises(TypeError):
        passwords.hash_password(b"bytes", secret_key=KEY, cost=COST)  # type: ignore[arg-type]


def test_needs_rehash():
    at4 = passwords.hash_password("some password", secret_key=KEY, cost=4)
    assert not passwords.needs_rehash(at4, 4)
    assert passwords.needs_rehash(at4, 5)
    assert passwords.needs_rehash(at4, 12)
    assert passwords.needs_rehash(at4.replace("$2b$", "$2a$", 1), 4)
    assert passwords.needs_rehash("", 4)
    assert passwords.needs_rehash("garbage", 4)
    assert passwords.hash_cost(at4) == 4
    assert passwords.hash_cost("garbage") is None


def test_hash_uses_the_given_cost():
    at10 = passwords.hash_password("some password", secret_key=KEY, cost=10)
    assert at10.startswith("$2b$10$")
    assert passwords.hash_cost(at10) == 10


class _CountingCheckpw:
    def __init__(self, real):
        self.real = real
        self.calls: list[bytes] = []

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        self.calls.append(hashed)
        return self.real(password, hashed)


@pytest.mark.parametrize("password", ["some guess", "", "x" * 50_000, None, "\x00"])
def test_dummy_verify_runs_exactly_one_bcrypt_check(monkeypatch, password):
    passwords._dummy_hash(COST)  # made outside the count
    counter = _CountingCheckpw(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", counter)
    assert passwords.dummy_verify(password, secret_key=KEY, cost=COST) is None
    assert len(counter.calls) == 1
    assert counter.calls[0].startswith(b"$2b$04$")


def test_dummy_hash_is_cached_per_cost(monkeypatch):
    monkeypatch.setattr(passwords, "_dummy_hashes", {})
    first = passwords._dummy_hash(4)
    assert passwords._dummy_hash(4) is first
    assert first.startswith("$2b$04$")
    fifth = passwords._dummy_hash(5)
    assert fifth.startswith("$2b$05$") and fifth != first


@pytest.mark.timing
def test_dummy_verify_takes_as_long_as_a_real_check():
    """Same cost, same work: an unknown login is not noticeably faster."""
    import time

    cost = 8
    stored = passwords.hash_password("real password", secret_key=KEY, cost=cost)
    passwords._dummy_hash(cost)

    def best_of(fn) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    real = best_of(lambda: passwords.verify_password("wrong guess", stored, secret_key=KEY))
    dummy = best_of(lambda: passwords.dummy_verify("wrong guess", secret_key=KEY, cost=cost))
    assert dummy > real * 0.5
