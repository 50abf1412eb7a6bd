"""Password recovery (manual 2.4; SECURITY.md, "Tokens, codes, temporary
passwords"): the neutral request, the temporary password, the restricted
session and the new password.  SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import bcrypt
import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import OneTimeToken, OutboxMessage, RateEvent, User, UserSession
from lkk_app.auth import passwords, ratelimit, recovery, sessions, users
from lkk_app.core import tokens
from lkk_app.jobs.worker import OutboxWorker, letter_secrets
from lkk_app.mail import devmail
from lkk_app.core.errors import AuthenticationFailed, FieldErrors

# Imported here, not inside the tests: Reflex registers state classes in a
# context variable, which an import inside an asyncio test would lose.
from lkk_app.auth import login as login_flow
from lkk_app.auth.login import LoginResult
from lkk_app.state.change_password import ChangePasswordState
from lkk_app.state.forgot import ForgotState
from lkk_app.state.profile import ProfileState
from tests import factories
from tests.statekit import make_state, redirect_path, redirects, run_events

PASSWORD = "Зелёный-слон-42"
NEW_PASSWORD = "Синий кит плывёт 2026"
IP = "203.0.113.7"
LETTER_RE = re.compile(r"^Новый пароль: (\S+)$", re.MULTILINE)


# --------------------------------------------------------------------------- helpers


def make_user(db, settings, login="ivan", email=None, confirmed=True) -> User:
    return factories.make_user(db, login=login, email=email, password=PASSWORD,
                               confirmed=confirmed, settings=settings)


@pytest.fixture
def user(db, settings, frozen_clock) -> User:
    return make_user(db, settings, email="Ivan.Petrov@Example.com")


@pytest.fixture
def minter_settings(settings, monkeypatch):
    """The registered minter reads the process settings: make them the test's."""
    monkeypatch.setattr(recovery, "get_settings", lambda: settings)
    return settings


def letters(db, **where) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, name) == value)
    return list(db.exec(stmt).all())


def request(db, login="ivan", email="ivan.petrov@example.com", ip=IP, settings=None) -> None:
    recovery.request_reset(db, login=login, email=email, ip=ip, settings=settings)
    db.commit()


def mint(db, user, settings) -> str:
    password = recovery.mint_temp_password(db, user.id, settings=settings)
    db.commit()
    assert password
    return password


def deliver(engine, settings) -> list[dict]:
    """Run the real outbox sender once (development mailbox); the letters, newest first."""
    asyncio.run(OutboxWorker(settings, engine=engine).run_once())
    return devmail.list_dev_mail(settings.mail_dir)


def temp_of(letter: dict) -> str:
    found = LETTER_RE.findall(letter["text"])
    assert len(found) == 1, letter["text"]
    return found[0]


def temp_login(db, user, password, settings) -> User | None:
    found = recovery.authenticate_temp(db, login=user.login, password=password, settings=settings)
    db.commit()
    return found


# --------------------------------------------------------------------------- the request


def test_the_temp_password_minter_is_registered_with_every_sender():
    assert letter_secrets().get(tokens.TEMP_PASSWORD) is recovery.mint_temp_password


def test_matching_pair_queues_one_temp_password_letter(db, settings, user, frozen_clock):
    # Login and e-mail compare case-insensitively.
    request(db, login="IVAN", email=" IVAN.PETROV@example.COM ", settings=settings)
    rows = letters(db)
    assert len(rows) == 1
    row = rows[0]
    assert (row.kind, row.template, row.secret_purpose) == (
        "temp_password", "temp_password", tokens.TEMP_PASSWORD)
    assert (row.user_id, row.recipient) == (user.id, "Ivan.Petrov@Example.com")
    assert row.expires_at == frozen_clock.now + timedelta(hours=24)
    # Nothing is minted yet: the secret is made when the letter is sent.
    assert db.exec(select(OneTimeToken)).all() == []


@pytest.mark.parametrize("login, email", [
    ("ivan", "someone.else@example.com"),   # wrong e-mail
    ("nobody", "ivan.petrov@example.com"),  # unknown login
    ("ivan", ""),                            # no e-mail
    ("", "ivan.petrov@example.com"),         # no login
    ("ivan", "ivan.petrov@example.org"),     # close, but not the address
    ("ivan", "x" * 2000),                    # absurd input
])
def test_a_pair_that_does_not_match_queues_nothing(db, settings, user, login, email):
    make_user(db, settings, login="olga", email="someone.else@example.com")
    request(db, login=login, email=email, settings=settings)
    assert letters(db) == []


def test_another_users_address_does_not_match(db, settings, user):
    make_user(db, settings, login="olga", email="olga@example.com")
    request(db, login="ivan", email="olga@example.com", settings=settings)
    request(db, login="olga", email="ivan.petrov@example.com", settings=settings)
    assert letters(db) == []


def test_unconfirmed_account_gets_a_confirmation_link_instead(db, settings, frozen_clock):
    user = make_user(db, settings, login="nina", confirmed=False)
    request(db, login="nina", email="nina@example.com", settings=settings)
    rows = letters(db)
    assert [(r.template, r.secret_purpose, r.user_id) for r in rows] == [
        ("confirm_email", tokens.CONFIRM_EMAIL, user.id)]


def test_the_request_leaves_the_old_password_alone(db, settings, user):
    before = user.password_hash
    request(db, settings=settings)
    mint(db, user, settings)
    db.refresh(user)
    assert user.password_hash == before
    assert users.authenticate(db, login="ivan", password=PASSWORD, settings=settings).id == user.id


# --------------------------------------------------------------------------- the letter and the secret


def test_letter_carries_a_temp_password_that_logs_in(db, engine, minter_settings, user):
    settings = minter_settings
    request(db, settings=settings)
    sent = deliver(engine, settings)
    assert len(sent) == 1 and sent[0]["to"] == "Ivan.Petrov@Example.com"
    temp = temp_of(sent[0])
    assert len(temp) >= 16
    assert set(temp) <= set(tokens.TEMP_PASSWORD_ALPHABET)
    assert not set(temp) & set("0O1lI")
    assert temp_login(db, user, temp, settings).id == user.id
    # Case matters in a password; the login does not.
    assert temp_login(db, user, temp.swapcase(), settings) is None
    assert recovery.authenticate_temp(db, login="IVAN", password=temp, settings=settings).id == user.id
    # The old password still works until the temporary one is used.
    assert users.authenticate(db, login="ivan", password=PASSWORD, settings=settings).id == user.id
    # And the temporary one is not the account's password.
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, login="ivan", password=temp, settings=settings)


def test_temp_password_is_stored_only_hashed(db, engine, minter_settings, user):
    settings = minter_settings
    request(db, settings=settings)
    temp = temp_of(deliver(engine, settings)[0])
    rows = [*db.exec(select(OneTimeToken)).all(), *db.exec(select(OutboxMessage)).all()]
    assert len(rows) == 2
    for row in rows:
        for name, value in row.model_dump().items():
            assert temp not in str(value), (type(row).__name__, name)
            assert temp.lower() not in str(value).lower(), (type(row).__name__, name)
    token = db.exec(select(OneTimeToken)).one()
    assert token.purpose == tokens.TEMP_PASSWORD and token.user_id == user.id
    assert re.fullmatch(r"[0-9a-f]{64}", token.token_hash)  # fits lkk_token.token_hash (64)
    assert passwords.verify_temp_password(temp, token.token_hash, secret_key=settings.secret_key)


def test_temp_password_expires_after_24_hours(db, settings, user, frozen_clock):
    temp = mint(db, user, settings)
    frozen_clock.advance(hours=23, minutes=59)
    assert temp_login(db, user, temp, settings) is not None
    frozen_clock.advance(minutes=2)
    assert temp_login(db, user, temp, settings) is None


def test_a_second_temp_password_invalidates_the_first(db, settings, user):
    first = mint(db, user, settings)
    second = mint(db, user, settings)
    assert first != second
    assert temp_login(db, user, first, settings) is None
    assert temp_login(db, user, second, settings).id == user.id


def test_a_temp_password_belongs_to_one_user(db, settings, user):
    other = make_user(db, settings, login="olga")
    temp = mint(db, user, settings)
    assert recovery.authenticate_temp(db, login="olga", password=temp, settings=settings) is None
    assert temp_login(db, other, temp, settings) is None


def test_minting_for_a_deleted_user_cancels_the_letter(db, settings, user):
    assert recovery.mint_temp_password(db, 10_000, settings=settings) is None


@pytest.mark.parametrize("who", ["ivan", "nobody", ""])
def test_checking_a_temporary_password_costs_no_bcrypt_check(db, settings, user, monkeypatch, who):
    temp = mint(db, user, settings) if who == "ivan" else ""
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *a: calls.append(1) or real(*a))
    assert recovery.authenticate_temp(db, login=who, password="WrongWrongWrong7", settings=settings) is None
    if temp:
        assert recovery.authenticate_temp(db, login=who, password=temp, settings=settings) is not None
    assert calls == []


def test_a_temporary_password_is_stored_as_a_keyed_hash(db, settings, user):
    temp = mint(db, user, settings)
    stored = db.exec(select(OneTimeToken.token_hash)
                     .where(OneTimeToken.purpose == tokens.TEMP_PASSWORD)).one()
    assert stored == passwords.hash_temp_password(temp, secret_key=settings.secret_key)
    assert temp not in stored
    # Another secret key gives another hash: the database alone cannot test guesses.
    assert stored != passwords.hash_temp_password(temp, secret_key="another key " * 3)


def test_a_temporary_password_hashed_by_bcrypt_before_still_works(db, settings, user):
    temp = tokens.generate_temp_password()
    old = passwords.hash_password(temp, secret_key=settings.secret_key, cost=4)
    assert passwords.verify_temp_password(temp, old, secret_key=settings.secret_key)
    assert not passwords.verify_temp_password(temp + "x", old, secret_key=settings.secret_key)
    assert not passwords.verify_temp_password("x" * 2000, old, secret_key=settings.secret_key)


# --------------------------------------------------------------------------- the new password


def test_complete_reset_sets_the_password_and_spends_the_temp_one(db, settings, user, frozen_clock):
    temp = mint(db, user, settings)
    assert temp_login(db, user, temp, settings) is not None
    current = sessions.mint_session(db, user_id=user.id, settings=settings, must_change_password=True)
    recovery.complete_reset(db, user=user, new_password=NEW_PASSWORD, password_confirm=NEW_PASSWORD,
                            session_token=current, settings=settings)
    db.commit()
    # Single use: the temporary password is spent, the old one is gone, the new one works.
    assert temp_login(db, user, temp, settings) is None
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, login="ivan", password=PASSWORD, settings=settings)
    assert users.authenticate(db, login="ivan", password=NEW_PASSWORD, settings=settings).id == user.id
    token = db.exec(select(OneTimeToken)).one()
    assert token.used_at == frozen_clock.now


def test_complete_reset_ends_other_sessions_and_lifts_the_restriction(db, settings, user):
    other_user = make_user(db, settings, login="olga")
    mint(db, user, settings)
    elsewhere = sessions.mint_session(db, user_id=user.id, settings=settings)
    current = sessions.mint_session(db, user_id=user.id, settings=settings, must_change_password=True)
    foreign = sessions.mint_session(db, user_id=other_user.id, settings=settings)
    db.commit()
    assert sessions.resolve_session(db, current).must_change_password is True
    recovery.complete_reset(db, user=user, new_password=NEW_PASSWORD, password_confirm=NEW_PASSWORD,
                            session_token=current, settings=settings)
    db.commit()
    assert sessions.resolve_session(db, elsewhere) is None
    row = sessions.resolve_session(db, current)
    assert row is not None and row.must_change_password is False
    assert sessions.resolve_session(db, foreign) is not None


def test_complete_reset_mails_a_notice_without_any_password(db, engine, minter_settings, user):
    settings = minter_settings
    request(db, settings=settings)
    temp = temp_of(deliver(engine, settings)[0])
    current = sessions.mint_session(db, user_id=user.id, settings=settings, must_change_password=True)
    recovery.complete_reset(db, user=user, new_password=NEW_PASSWORD, password_confirm=NEW_PASSWORD,
                            session_token=current, settings=settings)
    db.commit()
    notice = letters(db, template="password_changed")
    assert len(notice) == 1
    assert (notice[0].recipient, notice[0].secret_purpose) == ("Ivan.Petrov@Example.com", None)
    sent = deliver(engine, settings)
    assert len(sent) == 2
    newest = sent[0]
    assert "изменён" in newest["subject"]
    for secret in (temp, NEW_PASSWORD, PASSWORD):
        assert secret not in newest["text"] and secret not in newest["html"]
    assert "Новый пароль:" not in newest["text"]


@pytest.mark.parametrize("new, confirm, field, key", [
    (None, None, "password", "recovery.same_as_temp"),  # the temp password itself
    (NEW_PASSWORD, NEW_PASSWORD + "!", "password_confirm", "password.mismatch"),
    (NEW_PASSWORD, "", "password_confirm", "password_confirm.empty"),
    ("short", "short", "password", "password.too_short"),
    ("qwerty123", "qwerty123", "password", "password.common"),
    ("мой-ivan-2026", "мой-ivan-2026", "password", "password.contains_login"),
    ("", "", "password", "password.empty"),
])
def test_complete_reset_refuses_bad_passwords(db, settings, user, new, confirm, field, key):
    temp = mint(db, user, settings)
    new = temp if new is None else new
    confirm = temp if confirm is None else confirm
    before = user.password_hash
    current = sessions.mint_session(db, user_id=user.id, settings=settings, must_change_password=True)
    db.commit()
    with pytest.raises(FieldErrors) as info:
        recovery.complete_reset(db, user=user, new_password=new, password_confirm=confirm,
                                session_token=current, settings=settings)
    assert info.value.errors[field].key == key
    db.rollback()
    db.refresh(user)
    assert user.password_hash == before
    # Nothing was spent or sent.
    assert temp_login(db, user, temp, settings) is not None
    assert letters(db) == []
    assert sessions.resolve_session(db, current).must_change_password is True


# --------------------------------------------------------------------------- limits


def test_three_requests_per_hour_per_account(db, settings, user, frozen_clock):
    for n in range(3):
        request(db, ip=f"198.51.100.{n}", settings=settings)
    assert len(letters(db)) == 3
    request(db, ip="198.51.100.99", settings=settings)  # the 4th within the hour
    assert len(letters(db)) == 3
    frozen_clock.advance(minutes=59)
    request(db, ip="198.51.100.98", settings=settings)
    assert len(letters(db)) == 3
    frozen_clock.advance(minutes=1, seconds=1)
    request(db, ip="198.51.100.97", settings=settings)
    assert len(letters(db)) == 4


def test_strangers_cannot_use_an_accounts_budget_up(db, settings, user):
    for n in range(5):
        request(db, email="guess@example.com", ip=f"198.51.100.{n}", settings=settings)
    request(db, ip="198.51.100.50", settings=settings)
    assert len(letters(db)) == 1


def test_ten_requests_per_hour_per_ip(db, settings, frozen_clock):
    people = [make_user(db, settings, login=f"user{n:02d}") for n in range(12)]
    for person in people[:10]:
        request(db, login=person.login, email=person.email, settings=settings)
    assert len(letters(db)) == 10
    request(db, login=people[10].login, email=people[10].email, settings=settings)
    assert len(letters(db)) == 10
    # Another address is not affected; the same address again after an hour.
    request(db, login=people[10].login, email=people[10].email, ip="192.0.2.1", settings=settings)
    assert len(letters(db)) == 11
    frozen_clock.advance(hours=1, seconds=1)
    request(db, login=people[11].login, email=people[11].email, settings=settings)
    assert len(letters(db)) == 12


def test_failed_guesses_count_against_the_ip(db, settings, user):
    for n in range(10):
        request(db, login=f"guess{n}", email="guess@example.com", settings=settings)
    request(db, settings=settings)  # the right pair, but this address is over its limit
    assert letters(db) == []
    assert db.exec(select(RateEvent)).all()
    assert ratelimit.count(db, ratelimit.recovery_ip_bucket(IP), timedelta(hours=1)) == 10


# --------------------------------------------------------------------------- sessions


def test_sessions_are_normal_unless_asked(db, settings, user):
    normal = sessions.mint_session(db, user_id=user.id, settings=settings)
    restricted = sessions.mint_session(db, user_id=user.id, settings=settings, must_change_password=True)
    db.commit()
    assert sessions.resolve_session(db, normal).must_change_password is False
    assert sessions.resolve_session(db, restricted).must_change_password is True
    assert sessions.lift_restriction(db, normal) is False
    assert sessions.lift_restriction(db, "x" * 43) is False
    assert sessions.lift_restriction(db, restricted) is True
    db.commit()
    assert sessions.resolve_session(db, restricted).must_change_password is False
    assert db.exec(select(UserSession).where(UserSession.must_change_password)).all() == []


# --------------------------------------------------------------------------- the web layer


def _app_user(login="petrov", confirmed=True):
    with db_module.session_scope() as s:
        user = users.create_user(s, login=login, email=f"{login}@example.com", password=PASSWORD,
                                 confirmed=confirmed)
    return user


def _state(cls, path: str, cookie: str = "", ip: str = IP):
    return make_state(cls, path, cookie=cookie, ip=ip)


_redirect_path = redirect_path
_redirects = redirects
_run = run_events


def _log_in(login: str, password: str) -> login_flow.LoginOutcome:
    return login_flow.log_in(login=login, password=password, ip=IP, user_agent="pytest")


def test_login_with_a_temp_password_gives_a_restricted_session(app_db):
    user = _app_user()
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    outcome = _log_in("petrov", temp)
    assert outcome.result is LoginResult.RESTRICTED
    with db_module.session_scope() as s:
        assert sessions.resolve_session(s, outcome.session_token).must_change_password is True
    # The old password still opens a normal session; a wrong one nothing.
    outcome = _log_in("petrov", PASSWORD)
    assert outcome.result is LoginResult.OK
    with db_module.session_scope() as s:
        assert sessions.resolve_session(s, outcome.session_token).must_change_password is False
    for login, password in (("petrov", temp + "x"), ("nobody", temp)):
        outcome = _log_in(login, password)
        assert (outcome.result, outcome.session_token) == (LoginResult.INVALID, "")


@pytest.mark.asyncio
async def test_a_restricted_session_is_sent_to_change_password(app_db):
    user = _app_user()
    with db_module.session_scope() as s:
        token = sessions.mint_session(s, user_id=user.id, must_change_password=True)
    state = _state(ProfileState, "/profile", cookie=f"lkk_session={token}")
    assert _redirect_path(await ProfileState.on_load.fn(state)) == "/change-password"
    assert state.login == ""
    # Every handler that asks AuthState for the user is refused the same way.
    assert await state._current_user() is None
    assert (await state._current_user(allow_restricted=True)).must_change_password is True


@pytest.mark.asyncio
async def test_change_password_page_needs_a_restricted_session(app_db):
    state = _state(ChangePasswordState, "/change-password")
    assert _redirect_path(await ChangePasswordState.on_load.fn(state)).startswith("/?next=")
    assert state.loaded is False
    user = _app_user()
    with db_module.session_scope() as s:
        normal = sessions.mint_session(s, user_id=user.id)
    state = _state(ChangePasswordState, "/change-password", cookie=f"lkk_session={normal}")
    assert _redirect_path(await ChangePasswordState.on_load.fn(state)) == "/profile"
    # A forged call of the handler with a normal session changes nothing.
    events = await _run(ChangePasswordState.submit.fn(
        state, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert _redirects(events) == ["/profile"]
    with db_module.session_scope() as s:
        users.authenticate(s, login="petrov", password=PASSWORD)


@pytest.mark.asyncio
async def test_change_password_handler_sets_the_password(app_db):
    user = _app_user()
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
        token = sessions.mint_session(s, user_id=user.id, must_change_password=True)
    state = _state(ChangePasswordState, "/change-password", cookie=f"lkk_session={token}")
    assert await ChangePasswordState.on_load.fn(state) is None
    assert state.loaded and state.login == "petrov"
    await _run(ChangePasswordState.submit.fn(state, {"password": temp, "password_confirm": temp}))
    assert "временным" in state.errors.get("password", "") and state.form_error
    events = await _run(ChangePasswordState.submit.fn(
        state, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert _redirects(events) == ["/profile"]
    assert state.submitting is False and state.errors.get("password", "") == ""
    with db_module.session_scope() as s:
        assert sessions.resolve_session(s, token).must_change_password is False
        assert users.authenticate(s, login="petrov", password=NEW_PASSWORD).id == user.id


@pytest.mark.asyncio
async def test_forgot_handler_answers_the_same_and_uses_the_client_ip(app_db):
    _app_user()
    state = _state(ForgotState, "/forgot", ip="198.51.100.23")
    await _run(ForgotState.submit.fn(state, {"login": "", "email": "no"}))
    assert state.errors.get("login", "") == "Введите логин" and "user@example.com" in state.errors.get("email", "")
    assert state.done is False
    await _run(ForgotState.submit.fn(state, {"login": "petrov", "email": "petrov@example.com"}))
    assert state.done is True and state.submitting is False
    with db_module.session_scope() as s:
        assert len(letters(s, template="temp_password")) == 1
        assert ratelimit.count(s, ratelimit.recovery_ip_bucket("198.51.100.23"), timedelta(hours=1)) == 1


def test_matching_and_other_requests_do_the_same_database_work(db, engine, settings, user):
    """The same statements on both paths — two rate-limit buckets, the audit
    record — except the letter's own row in the outbox."""
    import sqlalchemy as sa

    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        words = statement.split()
        table = next((w for w in words[1:8] if w.startswith("lkk_")), "")
        seen.append(f"{words[0]} {table}")

    def statements(login, email, ip):
        seen.clear()
        request(db, login=login, email=email, ip=ip, settings=settings)
        return [s for s in seen if s not in ("INSERT lkk_outbox",)]

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        matching = statements("ivan", "ivan.petrov@example.com", "192.0.2.1")
        assert "INSERT lkk_outbox" in seen
        unknown = statements("nobody", "ivan.petrov@example.com", "192.0.2.2")
        other_email = statements("ivan", "someone@example.com", "192.0.2.3")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert matching == unknown == other_email
    from lkk_app.models import RateEvent
    assert len(db.exec(select(RateEvent)).all()) == 6  # two buckets per request
