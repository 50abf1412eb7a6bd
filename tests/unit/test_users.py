"""Accounts service: registration, login check, password change (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import bcrypt
import pytest
from sqlmodel import select

from lkk_app.models import User
from lkk_app.auth import passwords, users
from lkk_app.core import clock
from lkk_app.core.errors import AuthenticationFailed, Code, DomainError, FieldErrors

GOOD_PASSWORD = "Зелёный-слон-42"


def make_user(db, settings, **overrides) -> User:
    fields = {
        "login": "Ivan.Petrov",
        "email": "Ivan.Petrov@Example.com",
        "password": GOOD_PASSWORD,
    }
    fields.update(overrides)
    return users.create_user(db, settings=settings, **fields)


# --------------------------------------------------------------------------- create_user


def test_create_user_stores_normalised_fields(db, settings, frozen_clock):
    user = make_user(db, settings, login="  Ivan.Petrov ", phone="8 (912) 345-67-89")
    db.commit()
    assert user.id is not None
    db.expunge_all()
    stored = db.get(User, user.id)
    assert stored.login == "Ivan.Petrov"
    assert stored.login_key == "ivan.petrov"
    assert stored.email == "Ivan.Petrov@Example.com"  # as typed
    assert stored.email_key == "ivan.petrov@example.com"
    assert stored.phone == "+79123456789"
    assert stored.created_at == stored.updated_at == frozen_clock.now
    assert stored.email_confirmed_at is None
    assert stored.last_login_at is None
    assert GOOD_PASSWORD not in stored.password_hash
    assert stored.password_hash.startswith("$2b$04$")
    assert passwords.verify_password(GOOD_PASSWORD, stored.password_hash, secret_key=settings.secret_key)


def test_create_user_confirmed_and_without_phone(db, settings, frozen_clock):
    user = make_user(db, settings, confirmed=True, phone="   ")
    assert user.email_confirmed_at == frozen_clock.now
    assert user.phone is None


def test_create_user_uses_setting_cost(db, settings):
    user = make_user(db, dataclasses.replace(settings, bcrypt_cost=5))
    assert passwords.hash_cost(user.password_hash) == 5


def test_create_user_collects_all_field_errors(db, settings):
    with pytest.raises(FieldErrors) as info:
        users.create_user(
            db, login="a", email="not-an-email", phone="12345", password="short", settings=settings
        )
    assert info.value.codes() == {
        "login": "login_field.length",
        "email": "email.invalid",
        "phone": "phone.invalid",
        "password": "password.too_short",
    }
    assert isinstance(info.value, DomainError)
    assert db.exec(select(User)).all() == []


def test_create_user_rejects_password_containing_login(db, settings):
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, login="buhgalter", password="Buhgalter2024!")
    assert info.value.codes() == {"password": "password.contains_login"}


def test_create_user_rejects_common_password(db, settings):
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, password="qwerty123")
    assert info.value.codes() == {"password": "password.common"}


@pytest.mark.parametrize("second_login", ["Ivan.Petrov", "ivan.petrov", "IVAN.PETROV", "ＩＶＡＮ.ＰＥＴＲＯＶ", " ivan.petrov "])
def test_login_is_unique_case_insensitively(db, settings, second_login):
    make_user(db, settings)
    db.commit()
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, login=second_login, email="other@example.com")
    assert info.value.codes() == {"login": "login_field.taken"}
    assert len(db.exec(select(User)).all()) == 1


def test_taken_login_is_reported_together_with_other_errors(db, settings):
    make_user(db, settings)
    db.commit()
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, login="IVAN.petrov", email="bad")
    assert info.value.codes() == {"login": "login_field.taken", "email": "email.invalid"}


def test_same_email_for_several_accounts_is_allowed(db, settings):
    make_user(db, settings, login="org-one")
    make_user(db, settings, login="org-two", email="IVAN.PETROV@example.com")
    db.commit()
    rows = db.exec(select(User).where(User.email_key == "ivan.petrov@example.com")).all()
    assert len(rows) == 2


def test_race_on_login_is_reported_and_keeps_the_callers_transaction(
    db, settings, new_session, monkeypatch
):
    """Another request inserts the same login between our check and our insert."""
    other = new_session()
    make_user(other, settings, login="ivan")
    other.commit()

    monkeypatch.setattr(users, "_login_taken", lambda session, key: False)
    make_user(db, settings, login="somebody")  # earlier work in the same transaction
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, login="IVAN")
    assert info.value.codes() == {"login": "login_field.taken"}

    # The caller's transaction is still usable and its earlier work commits.
    make_user(db, settings, login="third")
    db.commit()
    logins = sorted(u.login for u in new_session().exec(select(User)).all())
    assert logins == ["ivan", "somebody", "third"]


def test_create_user_stores_the_login_skeleton(db, settings):
    user = make_user(db, settings, login="IVAN0V")
    db.commit()
    assert user.login_skeleton == "ivanov"


@pytest.mark.parametrize(("existing", "look_alike"), [
    ("ivanov", "IVAN0V"), ("cop", "сор"), ("хохо", "xoxo"), ("kom", "korn"),
])
def test_a_look_alike_login_counts_as_taken(db, settings, existing, look_alike):
    make_user(db, settings, login=existing)
    db.commit()
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, login=look_alike, email="other@example.com")
    assert info.value.codes() == {"login": "login_field.taken"}
    assert [u.login for u in db.exec(select(User)).all()] == [existing]


@pytest.mark.parametrize(("existing", "look_alike"), [("ivanov", "ivanоv"), ("admin", "аdmin")])
def test_a_login_mixing_alphabets_is_refused(db, settings, existing, look_alike):
    make_user(db, settings, login=existing)
    db.commit()
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, login=look_alike, email="other@example.com")
    assert info.value.codes() == {"login": "login_field.mixed_scripts"}


def test_race_on_a_look_alike_login_is_stopped_by_the_unique_skeleton(
    db, settings, new_session, monkeypatch
):
    """Another request registers ``cop`` between our check and our insert of
    ``сор`` (Cyrillic): the unique skeleton column refuses the second row."""
    other = new_session()
    make_user(other, settings, login="cop")
    other.commit()

    monkeypatch.setattr(users, "_login_taken", lambda session, login: False)
    make_user(db, settings, login="somebody")
    with pytest.raises(FieldErrors) as info:
        make_user(db, settings, login="сор")
    assert info.value.codes() == {"login": "login_field.taken"}
    make_user(db, settings, login="third")
    db.commit()
    assert sorted(u.login for u in new_session().exec(select(User)).all()) == ["cop", "somebody", "third"]


def test_create_user_does_not_commit(db, settings, new_session):
    """The caller owns the transaction: its rollback removes the new user."""
    db.exec(select(User)).all()
    make_user(db, settings)
    assert new_session().exec(select(User)).all() == []  # not visible elsewhere yet
    db.rollback()
    assert db.exec(select(User)).all() == []
    assert new_session().exec(select(User)).all() == []


# --------------------------------------------------------------------------- lookups


def test_get_user_and_get_user_by_login(db, settings):
    user = make_user(db, settings)
    db.commit()
    assert users.get_user(db, user.id).id == user.id
    assert users.get_user(db, 999_999) is None
    assert users.get_user(db, None) is None
    assert users.get_user_by_login(db, "IVAN.PETROV").id == user.id
    assert users.get_user_by_login(db, " ivan.petrov ").id == user.id
    assert users.get_user_by_login(db, "ＩＶＡＮ.ＰＥＴＲＯＶ").id == user.id
    assert users.get_user_by_login(db, "ivan") is None
    assert users.get_user_by_login(db, "") is None
    assert users.get_user_by_login(db, None) is None
    assert users.get_user_by_login(db, "ivan.petrov\x00") is None  # PostgreSQL refuses NUL
    assert users.get_user_by_login(db, "x" * 5000) is None


# --------------------------------------------------------------------------- authenticate


def test_authenticate_success_updates_last_login(db, settings, frozen_clock):
    registered_at = frozen_clock.now
    make_user(db, settings)
    db.commit()
    frozen_clock.advance(hours=2)
    user = users.authenticate(db, login="ivan.PETROV", password=GOOD_PASSWORD, settings=settings)
    db.commit()
    assert user.login == "Ivan.Petrov"
    assert user.last_login_at == frozen_clock.now
    assert user.previous_login_at is None  # the first login
    assert user.updated_at == frozen_clock.now
    assert user.created_at == registered_at
    first = frozen_clock.now
    frozen_clock.advance(days=3)
    user = users.authenticate(db, login="ivan.petrov", password=GOOD_PASSWORD, settings=settings)
    assert (user.previous_login_at, user.last_login_at) == (first, frozen_clock.now)


def test_authenticate_accepts_nfkc_equivalent_password(db, settings):
    make_user(db, settings, password="ﬁnance-Отдел-7")
    db.commit()
    assert users.authenticate(db, login="ivan.petrov", password="finance-Отдел-7", settings=settings)


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("ivan.petrov", "wrong password"),
        ("ivan.petrov", GOOD_PASSWORD + " "),
        ("ivan.petrov", GOOD_PASSWORD.upper()),
        ("nobody", GOOD_PASSWORD),
        ("", GOOD_PASSWORD),
        ("ivan.petrov", ""),
        ("", ""),
        ("ivan.petrov", "x" * 10 * 1024),
        ("x" * 10 * 1024, GOOD_PASSWORD),
        ("ivan.petrov\x00", GOOD_PASSWORD),
        ("ivan.petrov", GOOD_PASSWORD + "\x00"),
        (None, GOOD_PASSWORD),
        ("ivan.petrov", None),
    ],
)
def test_authenticate_failures_are_all_alike(db, settings, monkeypatch, login, password):
    make_user(db, settings)
    db.commit()
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(pw: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(pw, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    with pytest.raises(AuthenticationFailed) as info:
        users.authenticate(db, login=login, password=password, settings=settings)
    assert str(info.value) == "login.failed"
    assert info.value.code == Code("login.failed")
    # Every failure costs one bcrypt check (dummy for unknown login or unusable input);
    # the 10 kB password may be refused before bcrypt but still costs the dummy check.
    assert len(calls) == 1, calls


def test_authenticate_unknown_login_runs_dummy_verify(db, settings, monkeypatch):
    seen: list[tuple] = []
    monkeypatch.setattr(passwords, "dummy_verify", lambda pw, **kw: seen.append((pw, kw)))
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, login="ghost", password="whatever-1", settings=settings)
    assert seen == [("whatever-1", {"secret_key": settings.secret_key, "cost": settings.bcrypt_cost})]


def test_authenticate_does_not_check_email_confirmation(db, settings):
    make_user(db, settings, confirmed=False)
    db.commit()
    user = users.authenticate(db, login="ivan.petrov", password=GOOD_PASSWORD, settings=settings)
    assert user.email_confirmed_at is None


def test_authenticate_rehashes_when_cost_changes(db, make_settings):
    at10 = make_settings(bcrypt_cost=10)
    at11 = make_settings(bcrypt_cost=11)
    user = make_user(db, at10)
    db.commit()
    original = user.password_hash
    assert original.startswith("$2b$10$")

    # Same cost: the hash is kept.
    users.authenticate(db, login="ivan.petrov", password=GOOD_PASSWORD, settings=at10)
    db.commit()
    assert db.get(User, user.id).password_hash == original

    # Cost raised to 11: the next successful login stores a cost-11 hash.
    users.authenticate(db, login="ivan.petrov", password=GOOD_PASSWORD, settings=at11)
    db.commit()
    db.expunge_all()
    upgraded = db.get(User, user.id).password_hash
    assert upgraded.startswith("$2b$11$")
    assert upgraded != original
    assert passwords.verify_password(GOOD_PASSWORD, upgraded, secret_key=at11.secret_key)

    # A wrong password never rewrites the hash.
    at12 = dataclasses.replace(at11, bcrypt_cost=12)
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, login="ivan.petrov", password="wrong password", settings=at12)
    assert db.get(User, user.id).password_hash == upgraded


def test_authenticate_needs_the_same_secret_key(db, settings):
    make_user(db, settings)
    db.commit()
    other_key = dataclasses.replace(settings, secret_key=b"another-secret-key-0123456789-abcdef")
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, login="ivan.petrov", password=GOOD_PASSWORD, settings=other_key)


# --------------------------------------------------------------------------- set_password


def test_set_password(db, settings, frozen_clock):
    user = make_user(db, settings)
    db.commit()
    frozen_clock.advance(minutes=5)
    users.set_password(db, user, "Новый-пароль-2025", settings=settings)
    db.commit()
    assert user.updated_at == frozen_clock.now
    assert users.authenticate(db, login="ivan.petrov", password="Новый-пароль-2025", settings=settings)
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, login="ivan.petrov", password=GOOD_PASSWORD, settings=settings)


@pytest.mark.parametrize(
    ("new_password", "key"),
    [
        ("", "password.empty"),
        ("short", "password.too_short"),
        ("x" * 129, "password.too_long"),
        ("password1", "password.common"),
        ("my-Ivan.Petrov-pw", "password.contains_login"),
    ],
)
def test_set_password_validates(db, settings, new_password, key):
    user = make_user(db, settings)
    db.commit()
    before = user.password_hash
    with pytest.raises(FieldErrors) as info:
        users.set_password(db, user, new_password, settings=settings)
    assert info.value.codes() == {"password": key}
    assert user.password_hash == before


def test_timestamps_are_naive_utc(db, settings):
    user = make_user(db, settings)
    db.commit()
    db.expunge_all()
    stored = db.get(User, user.id)
    assert isinstance(stored.created_at, datetime)
    assert stored.created_at.tzinfo is None
    assert abs((clock.utcnow() - stored.created_at).total_seconds()) < 60
