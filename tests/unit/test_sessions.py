"""Server-side sessions (SECURITY.md, "Sessions"); SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app.models import User, UserSession
from lkk_app.auth import sessions, users


def stored_row(db, token: str) -> UserSession:
    return db.exec(
        select(UserSession).where(UserSession.token_hash == sessions.hash_token(token))
    ).one()


def test_hash_token_is_sha256_hex():
    assert sessions.hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(sessions.hash_token("x")) == 64


def test_mint_stores_only_the_hash(db, settings, user, frozen_clock):
    token = sessions.mint_session(
        db, user_id=user.id, ip="203.0.113.7", user_agent="Firefox/140", settings=settings
    )
    db.commit()
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    rows = db.exec(select(UserSession)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.token_hash == sessions.hash_token(token)
    assert row.token_hash != token
    assert token not in (row.token_hash, row.ip, row.user_agent)
    assert row.user_id == user.id
    assert row.created_at == row.last_seen_at == frozen_clock.now
    assert row.expires_at == frozen_clock.now + timedelta(hours=settings.session_absolute_hours)
    assert row.revoked_at is None
    assert (row.ip, row.user_agent) == ("203.0.113.7", "Firefox/140")


def test_every_login_gets_a_new_token(db, settings, user):
    tokens = {sessions.mint_session(db, user_id=user.id, settings=settings) for _ in range(5)}
    assert len(tokens) == 5


def test_mint_truncates_and_cleans_ip_and_user_agent(db, settings, user):
    token = sessions.mint_session(
        db, user_id=user.id, ip="1" * 100, user_agent="Mozilla\x00/5.0 " + "x" * 1000, settings=settings
    )
    db.commit()  # PostgreSQL would refuse a NUL here
    row = stored_row(db, token)
    assert row.ip == "1" * 64
    assert len(row.user_agent) == 512
    assert row.user_agent.startswith("Mozilla/5.0 ")


def test_resolve_valid_token(db, settings, user):
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    row = sessions.resolve_session(db, token, settings=settings)
    assert row is not None and row.user_id == user.id


@pytest.mark.parametrize(
    "token",
    ["", None, "short", "x" * 101, "a" * 43 + "!", "a" * 42 + "\x00", "Ж" * 43, 12345],
)
def test_resolve_rejects_malformed_tokens(db, settings, user, token):
    sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    assert sessions.resolve_session(db, token, settings=settings) is None


def test_resolve_unknown_token(db, settings, user):
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    assert sessions.resolve_session(db, token[:-1] + ("A" if token[-1] != "A" else "B"), settings=settings) is None
    # The stored hash itself is not a token either.
    assert sessions.resolve_session(db, sessions.hash_token(token), settings=settings) is None


def test_idle_timeout(db, settings, user, frozen_clock):
    settings = dataclasses.replace(settings, session_idle_minutes=30)
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    frozen_clock.advance(minutes=30)
    assert sessions.resolve_session(db, token, settings=settings) is not None  # exactly 30: still alive
    db.commit()
    frozen_clock.advance(minutes=30, seconds=1)
    assert sessions.resolve_session(db, token, settings=settings) is None


def test_activity_keeps_the_session_alive(db, settings, user, frozen_clock):
    settings = dataclasses.replace(settings, session_idle_minutes=30)
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    for _ in range(10):  # 10 × 20 min = 200 min, far past the idle timeout
        frozen_clock.advance(minutes=20)
        assert sessions.resolve_session(db, token, settings=settings) is not None
        db.commit()
    assert stored_row(db, token).last_seen_at == frozen_clock.now


def test_touch_is_throttled_and_optional(db, settings, user, frozen_clock):
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    minted = frozen_clock.now
    frozen_clock.advance(seconds=10)
    sessions.resolve_session(db, token, settings=settings)
    db.commit()
    assert stored_row(db, token).last_seen_at == minted  # < 30 s: no write
    frozen_clock.advance(seconds=50)
    sessions.resolve_session(db, token, settings=settings, touch=False)
    db.commit()
    assert stored_row(db, token).last_seen_at == minted  # touch=False: no write
    sessions.resolve_session(db, token, settings=settings)
    db.commit()
    assert stored_row(db, token).last_seen_at == frozen_clock.now


def test_touch_false_does_not_extend_the_idle_window(db, settings, user, frozen_clock):
    settings = dataclasses.replace(settings, session_idle_minutes=30)
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    frozen_clock.advance(minutes=20)
    assert sessions.resolve_session(db, token, settings=settings, touch=False) is not None
    frozen_clock.advance(minutes=20)
    assert sessions.resolve_session(db, token, settings=settings, touch=False) is None


def test_absolute_expiry_despite_activity(db, settings, user, frozen_clock):
    settings = dataclasses.replace(settings, session_idle_minutes=30, session_absolute_hours=12)
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    for _ in range(11 * 3):  # active every 20 minutes for 11 hours
        frozen_clock.advance(minutes=20)
        assert sessions.resolve_session(db, token, settings=settings) is not None
        db.commit()
    for minutes in (20, 20, 19):  # 11:20, 11:40, 11:59
        frozen_clock.advance(minutes=minutes)
        assert sessions.resolve_session(db, token, settings=settings) is not None
        db.commit()
    frozen_clock.advance(minutes=1)
    assert sessions.resolve_session(db, token, settings=settings) is None  # 12:00


def test_lowered_absolute_limit_applies_to_existing_sessions(db, settings, user, frozen_clock):
    token = sessions.mint_session(db, user_id=user.id, settings=dataclasses.replace(settings, session_absolute_hours=12))
    db.commit()
    frozen_clock.advance(minutes=25)
    shorter = dataclasses.replace(settings, session_absolute_hours=1)
    assert sessions.resolve_session(db, token, settings=shorter) is not None
    db.commit()
    frozen_clock.advance(minutes=25)
    assert sessions.resolve_session(db, token, settings=shorter) is not None
    db.commit()
    frozen_clock.advance(minutes=25)
    assert sessions.resolve_session(db, token, settings=shorter) is None


def test_revoke_session(db, settings, user, frozen_clock):
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    other = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    sessions.revoke_session(db, token)
    db.commit()
    assert sessions.resolve_session(db, token, settings=settings) is None
    assert stored_row(db, token).revoked_at == frozen_clock.now
    assert sessions.resolve_session(db, other, settings=settings) is not None
    # Idempotent, and odd input is ignored.
    sessions.revoke_session(db, token)
    sessions.revoke_session(db, "")
    sessions.revoke_session(db, None)
    sessions.revoke_session(db, "nonexistent-token-" + "x" * 30)
    db.commit()


def test_revoke_user_sessions(db, settings, user):
    second_user = users.create_user(
        db, login="maria", email="maria@example.com", password="Другой-пароль-7", settings=settings
    )
    mine = [sessions.mint_session(db, user_id=user.id, settings=settings) for _ in range(3)]
    theirs = sessions.mint_session(db, user_id=second_user.id, settings=settings)
    db.commit()
    sessions.revoke_session(db, mine[2])
    db.commit()

    assert sessions.revoke_user_sessions(db, user.id) == 2  # the already revoked one is not counted
    db.commit()
    assert all(sessions.resolve_session(db, t, settings=settings) is None for t in mine)
    assert sessions.resolve_session(db, theirs, settings=settings) is not None
    assert sessions.revoke_user_sessions(db, user.id) == 0


def test_revoke_user_sessions_except_current(db, settings, user):
    current = sessions.mint_session(db, user_id=user.id, settings=settings)
    others = [sessions.mint_session(db, user_id=user.id, settings=settings) for _ in range(2)]
    db.commit()
    assert sessions.revoke_user_sessions(db, user.id, except_token=current) == 2
    db.commit()
    assert sessions.resolve_session(db, current, settings=settings) is not None
    assert all(sessions.resolve_session(db, t, settings=settings) is None for t in others)


def test_revoked_state_is_seen_by_a_loaded_row(db, settings, user):
    """revoke_user_sessions uses a bulk UPDATE; rows already in the session must not stay stale."""
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    row = sessions.resolve_session(db, token, settings=settings)
    assert row is not None
    sessions.revoke_user_sessions(db, user.id)
    assert sessions.resolve_session(db, token, settings=settings) is None


def test_sessions_disappear_with_their_user(db, settings, user):
    sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    db.delete(db.get(User, user.id))
    db.commit()
    assert db.exec(select(UserSession)).all() == []


def test_purge_sessions(db, settings, user, frozen_clock):
    settings = dataclasses.replace(settings, session_absolute_hours=1)
    old = sessions.mint_session(db, user_id=user.id, settings=settings)
    revoked = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    sessions.revoke_session(db, revoked)
    db.commit()
    frozen_clock.advance(days=31)
    fresh = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    assert sessions.purge_sessions(db) == 2
    db.commit()
    remaining = db.exec(select(UserSession)).all()
    assert [r.token_hash for r in remaining] == [sessions.hash_token(fresh)]
    assert old != fresh
