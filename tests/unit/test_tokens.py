"""One-time tokens and temporary passwords (SECURITY.md, "Tokens, codes,
temporary passwords"); SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app.models import OneTimeToken, User
from lkk_app.core import tokens
from tests.factories import make_user


@pytest.fixture
def other_user(db, settings) -> User:
    return make_user(db, login="petr", email="ivan@example.com", password="Синий-кит-1985",
                     confirmed=False, settings=settings)


def issue(db, user, purpose=tokens.CONFIRM_EMAIL, ttl=timedelta(hours=24), **kw) -> str:
    token = tokens.issue_token(db, user_id=user.id, purpose=purpose, ttl=ttl, **kw)
    db.commit()
    return token


def test_purposes_and_lifetimes():
    assert tokens.CONFIRM_EMAIL == "confirm_email"
    assert tokens.TEMP_PASSWORD == "temp_password"
    assert tokens.TTL == {
        tokens.CONFIRM_EMAIL: timedelta(hours=24),
        tokens.TEMP_PASSWORD: timedelta(hours=24),
        tokens.BINDING_CODE: timedelta(minutes=15),
    }


def test_issue_stores_only_the_sha256(db, user, frozen_clock):
    token = issue(db, user)
    assert len(token) >= 43  # secrets.token_urlsafe(32): 256 bits
    rows = db.exec(select(OneTimeToken)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(v) for v in row.model_dump().values()}
    assert (row.user_id, row.purpose, row.used_at) == (user.id, tokens.CONFIRM_EMAIL, None)
    assert row.created_at == frozen_clock.now
    assert row.expires_at == frozen_clock.now + timedelta(hours=24)


def test_tokens_are_unique(db, user):
    assert len({tokens.issue_token(db, user_id=user.id, purpose="x", ttl=timedelta(hours=1),
                                   invalidate_previous=False) for _ in range(20)}) == 20


def test_consume_returns_the_user_once(db, user):
    token = issue(db, user)
    assert tokens.peek_token(db, token, tokens.CONFIRM_EMAIL) == "valid"
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id
    db.commit()
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) is None
    assert tokens.peek_token(db, token, tokens.CONFIRM_EMAIL) == "used"


def test_consume_is_bound_to_the_purpose(db, user):
    token = issue(db, user, purpose=tokens.CONFIRM_EMAIL)
    assert tokens.consume_token(db, token, tokens.TEMP_PASSWORD) is None
    assert tokens.peek_token(db, token, tokens.TEMP_PASSWORD) == "unknown"
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id


def test_token_expires_after_its_ttl(db, user, frozen_clock):
    token = issue(db, user)
    frozen_clock.advance(hours=24)
    assert tokens.peek_token(db, token, tokens.CONFIRM_EMAIL) == "expired"
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) is None


def test_a_token_that_ran_out_before_a_newer_one_came_expired(db, user, frozen_clock):
    first = issue(db, user)
    frozen_clock.advance(hours=30)
    issue(db, user)
    assert tokens.peek_token(db, first, tokens.CONFIRM_EMAIL) == "expired"


def test_token_valid_just_before_expiry(db, user, frozen_clock):
    token = issue(db, user)
    frozen_clock.advance(hours=24, seconds=-1)
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id


def test_a_new_token_invalidates_the_old_one(db, user, other_user):
    first = issue(db, user)
    others = issue(db, other_user)
    second = issue(db, user)
    # Said as it is: replaced by a newer letter, not "expired".
    assert tokens.peek_token(db, first, tokens.CONFIRM_EMAIL) == "replaced"
    assert tokens.consume_token(db, first, tokens.CONFIRM_EMAIL) is None
    assert tokens.consume_token(db, second, tokens.CONFIRM_EMAIL) == user.id
    # Another user's and another purpose's tokens are untouched.
    assert tokens.peek_token(db, others, tokens.CONFIRM_EMAIL) == "valid"


def test_invalidation_keeps_other_purposes_and_used_state(db, user):
    temp = issue(db, user, purpose=tokens.TEMP_PASSWORD)
    used = issue(db, user)
    assert tokens.consume_token(db, used, tokens.CONFIRM_EMAIL) == user.id
    db.commit()
    issue(db, user)
    assert tokens.peek_token(db, used, tokens.CONFIRM_EMAIL) == "used"
    assert tokens.peek_token(db, temp, tokens.TEMP_PASSWORD) == "valid"


def test_invalidate_previous_false_keeps_both(db, user):
    first = issue(db, user)
    second = issue(db, user, invalidate_previous=False)
    assert tokens.consume_token(db, first, tokens.CONFIRM_EMAIL) == user.id
    assert tokens.consume_token(db, second, tokens.CONFIRM_EMAIL) == user.id


@pytest.mark.parametrize(
    "token",
    ["", None, 42, "short", "x" * 101, "a" * 42 + "!", "a" * 42 + "\x00", "Ж" * 43, "a" * 43 + " "],
)
def test_malformed_tokens_are_unknown(db, user, token):
    issue(db, user)
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) is None
    assert tokens.peek_token(db, token, tokens.CONFIRM_EMAIL) == "unknown"


def test_unknown_well_formed_token(db, user):
    assert tokens.consume_token(db, "A" * 43, tokens.CONFIRM_EMAIL) is None
    assert tokens.peek_token(db, "A" * 43, tokens.CONFIRM_EMAIL) == "unknown"


def test_rollback_gives_the_token_back(db, user):
    token = issue(db, user)
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id
    db.rollback()
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id


def test_issue_refuses_bad_arguments(db, user):
    with pytest.raises(ValueError):
        tokens.issue_token(db, user_id=user.id, purpose="", ttl=timedelta(hours=1))
    with pytest.raises(ValueError):
        tokens.issue_token(db, user_id=user.id, purpose="x" * 33, ttl=timedelta(hours=1))
    with pytest.raises(ValueError):
        tokens.issue_token(db, user_id=user.id, purpose="x", ttl=timedelta(0))


def test_concurrent_consumers_cannot_both_win(db, user, new_session):
    """Two sessions race for one token many times; exactly one wins each race."""
    for _ in range(5):
        token = issue(db, user)
        barrier = threading.Barrier(2)
        results: list[int | None] = []
        errors: list[BaseException] = []

        def consume() -> None:
            session = new_session()
            try:
                barrier.wait(timeout=10)
                got = tokens.consume_token(session, token, tokens.CONFIRM_EMAIL)
                session.commit()
                results.append(got)
            except BaseException as exc:  # noqa: BLE001 - reported below
                session.rollback()
                errors.append(exc)

        threads = [threading.Thread(target=consume) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        assert not errors
        assert sorted(results, key=lambda r: r is None) == [user.id, None]


def test_purge_deletes_long_expired_tokens(db, user, frozen_clock):
    old = issue(db, user, invalidate_previous=False)
    frozen_clock.advance(days=8, hours=1)
    fresh = issue(db, user, invalidate_previous=False)
    assert tokens.purge_tokens(db) == 1
    db.commit()
    assert tokens.peek_token(db, old, tokens.CONFIRM_EMAIL) == "unknown"
    assert tokens.peek_token(db, fresh, tokens.CONFIRM_EMAIL) == "valid"


# --------------------------------------------------------------------------- temporary passwords


def test_temp_password_shape():
    seen = set()
    for _ in range(200):
        password = tokens.generate_temp_password()
        assert len(password) >= 16
        assert set(password) <= set(tokens.TEMP_PASSWORD_ALPHABET)
        seen.add(password)
    assert len(seen) == 200
    assert not set("0O1lI") & set(tokens.TEMP_PASSWORD_ALPHABET)
    assert len(set(tokens.TEMP_PASSWORD_ALPHABET)) == len(tokens.TEMP_PASSWORD_ALPHABET) >= 50


def test_temp_password_uses_the_whole_alphabet():
    used = set("".join(tokens.generate_temp_password(64) for _ in range(100)))
    assert used == set(tokens.TEMP_PASSWORD_ALPHABET)


def test_temp_password_refuses_short_length():
    with pytest.raises(ValueError):
        tokens.generate_temp_password(15)


# --------------------------------------------------------------------------- secrets of one letter


def test_a_letter_seed_gives_one_token_and_one_password():
    seed, other = b"s" * 32, b"t" * 32
    assert tokens.token_from_seed(seed) == tokens.token_from_seed(seed) != tokens.token_from_seed(other)
    assert tokens.well_formed(tokens.token_from_seed(seed))
    password = tokens.temp_password_from_seed(seed)
    assert password == tokens.temp_password_from_seed(seed) != tokens.temp_password_from_seed(other)
    assert len(password) == tokens.TEMP_PASSWORD_LENGTH
    assert set(password) <= set(tokens.TEMP_PASSWORD_ALPHABET)
    with pytest.raises(ValueError):
        tokens.token_from_seed(b"short")


def test_issue_with_a_derived_token_and_token_user(db, user):
    token = tokens.token_from_seed(b"x" * 32)
    assert tokens.token_user(db, token, tokens.CONFIRM_EMAIL) is None
    assert issue(db, user, token=token) == token
    assert tokens.token_user(db, token, tokens.CONFIRM_EMAIL) == user.id  # not consumed
    assert tokens.token_user(db, token, tokens.TEMP_PASSWORD) is None
    assert tokens.consume_token(db, token, tokens.CONFIRM_EMAIL) == user.id
    assert tokens.token_user(db, token, tokens.CONFIRM_EMAIL) is None
    with pytest.raises(ValueError):
        issue(db, user, token="not a token")


# --------------------------------------------------------------------------- any random token


def test_one_shape_check_and_one_hash_for_every_token():
    from lkk_app.auth import devices, sessions

    token = tokens.new_token()
    assert len(token) == 43 and tokens.well_formed(token) and devices.well_formed(token)
    assert tokens.new_token() != token
    # Sessions and device cookies use this module's hash, not copies of it.
    assert sessions.hash_token is tokens.hash_token is devices.hash_token
    assert tokens.hash_token(token) == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize(
    ("token", "length", "ok"),
    [("a" * 32, None, True), ("a" * 100, None, True), ("a" * 31, None, False), ("a" * 101, None, False),
     ("A-z_09" * 6, None, True), ("a" * 42 + "=", None, False), ("a" * 42 + "\n", None, False),
     ("a" * 43, 43, True), ("a" * 44, 43, False), ("a" * 32, 43, False), ("Ж" * 43, 43, False),
     (None, None, False), (b"a" * 43, None, False), (43, 43, False)],
)
def test_well_formed(token, length, ok):
    assert tokens.well_formed(token, length=length) is ok
