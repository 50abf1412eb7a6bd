"""The one way to be someone: ``auth.sessions.current_user`` and the states'
``AuthState._run_as_user`` (one thread hop, one transaction), and the form
skeleton ``state.base.submit_form``.  SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest
from sqlmodel import select

from lkk_app import cpu_pools
from lkk_app import db as db_module
from lkk_app.auth import sessions, users
from lkk_app.auth.sessions import CurrentUser, current_user
from lkk_app.i18n import t
from lkk_app.models import User, UserSession
from lkk_app.state.base import AuthState, SignedOut

# Imported at module level: Reflex registers state classes in a context
# variable, which an import inside an asyncio test would lose.
from lkk_app.state.profile import PasswordPanel, PhonePanel, ProfileState
from tests.statekit import make_state, redirects

PASSWORD = "Длинный пароль 123"


@pytest.fixture
def ivan(db, settings, frozen_clock) -> User:
    user = users.create_user(db, login="ivan", email="ivan@example.com", password=PASSWORD,
                             phone="+79161234567", settings=settings)
    db.commit()
    return user


def test_current_user_is_a_frozen_picture_of_the_session_and_its_user(db, settings, ivan):
    token = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    me = current_user(db, token, settings=settings)
    row = sessions.resolve_session(db, token, settings=settings)
    assert me == CurrentUser(id=ivan.id, login="ivan", email="ivan@example.com",
                             phone="+79161234567", email_confirmed_at=ivan.email_confirmed_at,
                             created_at=ivan.created_at, last_login_at=ivan.last_login_at,
                             previous_login_at=ivan.previous_login_at,
                             must_change_password=False, session_id=row.id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        me.id = 0  # type: ignore[misc]


def test_no_live_session_is_nobody(db, settings, ivan, frozen_clock):
    revoked = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    sessions.revoke_session(db, revoked)
    idle = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    frozen_clock.advance(minutes=settings.session_idle_minutes + 1)
    for token in ("", None, "x" * 43, "forged-token-forged-token-forged-token-000", revoked, idle):
        assert current_user(db, token, settings=settings) is None, token
        assert current_user(db, token, allow_restricted=True, settings=settings) is None, token


def test_a_restricted_session_counts_only_where_it_is_allowed(db, settings, ivan):
    token = sessions.mint_session(db, user_id=ivan.id, must_change_password=True, settings=settings)
    assert current_user(db, token, settings=settings) is None
    me = current_user(db, token, allow_restricted=True, settings=settings)
    assert me is not None and me.must_change_password is True and me.id == ivan.id


def test_current_user_keeps_the_session_alive(db, settings, ivan, frozen_clock):
    token = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    frozen_clock.advance(minutes=settings.session_idle_minutes - 1)
    assert current_user(db, token, settings=settings) is not None
    frozen_clock.advance(minutes=settings.session_idle_minutes - 1)
    assert current_user(db, token, settings=settings) is not None  # seen again just before


# --------------------------------------------------------------------------- the states' seam


def _user_with_session(restricted: bool = False) -> tuple[int, str]:
    with db_module.session_scope() as s:
        user = users.create_user(s, login="petrov", email="petrov@example.com", password=PASSWORD,
                                 confirmed=True)
        token = sessions.mint_session(s, user_id=user.id, must_change_password=restricted)
    return user.id, token


def _state(cls, token: str = ""):
    return make_state(cls, "/profile", cookie=f"lkk_session={token}" if token else "")


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    """Names of the functions the states send to worker threads."""
    calls: list[str] = []
    real = asyncio.to_thread

    async def counting(fn, *args, **kwargs):
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    return calls


@pytest.fixture
def resolutions(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = sessions.resolve_session

    def counting(session, token, **kwargs):
        calls.append(token)
        return real(session, token, **kwargs)

    monkeypatch.setattr(sessions, "resolve_session", counting)
    return calls


@pytest.mark.asyncio
async def test_run_as_user_runs_the_work_with_the_session_in_one_hop_and_one_transaction(
        app_db, hops, resolutions):
    user_id, token = _user_with_session()
    state = _state(ProfileState, token)
    seen = []

    def work(db, me: CurrentUser, suffix: str):
        # The same transaction: the session row the seam resolved is in this session.
        row = db.get(UserSession, me.session_id)
        seen.append((me.id, row.user_id, threading.current_thread() is threading.main_thread()))
        db.get(User, me.id).phone = "+7916000000" + suffix
        return "done"

    assert await state._run_as_user(work, "1") == "done"
    assert seen == [(user_id, user_id, False)]
    assert len(hops) == 1 and resolutions == [token]
    with db_module.session_scope() as s:
        assert users.get_user(s, user_id).phone == "+79160000001"

    def fails(db, me):
        db.get(User, me.id).phone = "+79169999999"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await state._run_as_user(fails)
    with db_module.session_scope() as s:
        assert users.get_user(s, user_id).phone == "+79160000001"  # rolled back


@pytest.mark.asyncio
async def test_run_as_user_refuses_without_a_session_and_names_a_restricted_one(app_db, hops):
    ran = []
    with pytest.raises(SignedOut) as gone:
        await _state(ProfileState)._run_as_user(lambda db, me: ran.append(me))
    assert gone.value.restricted is False and hops == []  # no cookie: not even a hop
    _, token = _user_with_session(restricted=True)
    state = _state(ProfileState, token)
    with pytest.raises(SignedOut) as gone:
        await state._run_as_user(lambda db, me: ran.append(me))
    assert gone.value.restricted is True and ran == []
    me = await state._run_as_user(lambda db, me: me, allow_restricted=True)
    assert me.must_change_password is True
    assert redirects([state._to_login(gone.value)]) == ["/change-password"]
    # A cookie that opens no session any more: the login window says it has ended;
    # no cookie at all: it just asks to log in.
    assert redirects([state._to_login(SignedOut())]) == ["/?next=/profile&expired=1"]
    assert redirects([_state(ProfileState)._to_login(SignedOut())]) == ["/?next=/profile"]
    assert issubclass(ProfileState, AuthState)


@pytest.mark.asyncio
async def test_a_page_load_resolves_the_session_once(app_db, hops, resolutions):
    _, token = _user_with_session()
    state = _state(ProfileState, token)
    assert await ProfileState.on_load.fn(state) is None
    assert state.loaded and state.login == "petrov" and len(state.sessions) == 1
    assert resolutions == [token] and len(hops) == 1


# --------------------------------------------------------------------------- the form skeleton


@pytest.mark.asyncio
async def test_a_form_submit_shows_the_busy_flag_while_it_works(app_db):
    _, token = _user_with_session()
    state = _state(PhonePanel, token)
    await ProfileState.on_load.fn(state)
    handler = PhonePanel.save_phone.fn(state, {"phone": "8 912 765-43-21"})
    assert await handler.__anext__() is None  # the flag goes to the browser first
    assert state.phone_busy is True
    rest = [event async for event in handler]
    assert rest == [] and state.phone_busy is False
    assert (state.phone, state.phone_saved) == ("+7 912 765-43-21", t("profile.phone_saved"))


@pytest.mark.asyncio
async def test_a_form_submit_says_try_again_when_the_pool_is_full(app_db, monkeypatch):
    _, token = _user_with_session()
    state = _state(PasswordPanel, token)
    await ProfileState.on_load.fn(state)

    async def full(*_args, **_kwargs):
        raise cpu_pools.PoolBusy("bcrypt")

    monkeypatch.setattr(cpu_pools.PASSWORDS, "run", full)
    events = [e async for e in PasswordPanel.change_password.fn(state, {
        "current_password": PASSWORD, "new_password": "Новый пароль 456",
        "password_confirm": "Новый пароль 456"})]
    assert events == [None]
    assert state.errors.get("current_password", "") == t("busy.retry") and state.password_busy is False
    assert state.password_saved == "" and state.loaded


@pytest.mark.asyncio
async def test_a_form_submit_leaves_the_page_when_the_session_is_gone(app_db):
    _, token = _user_with_session()
    state = _state(PhonePanel, token)
    await ProfileState.on_load.fn(state)
    with db_module.session_scope() as s:
        sessions.revoke_session(s, token)
    events = [e async for e in PhonePanel.save_phone.fn(state, {"phone": "8 912 765-43-21"})]
    assert redirects(events) == ["/?next=/profile&expired=1"]
    assert state.phone_busy is False and state.loaded is False and state.login == ""
    with db_module.session_scope() as s:
        assert s.exec(select(User.phone)).one() is None  # nothing was saved

