"""The Reflex state handlers, called directly (no browser, no server)."""

from __future__ import annotations

import pytest

from lkk_app import db as db_module
from lkk_app.services import sessions, users
from lkk_app.settings import reload_settings
from lkk_app.state.login import LoginState
from lkk_app.state.profile import ProfileState
from tests.statekit import make_state, redirect_path

pytestmark = pytest.mark.asyncio


@pytest.fixture
def app_db(db_url, monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", db_url)
    monkeypatch.setenv("LKK_BCRYPT_COST", "10")
    reload_settings()
    db_module.reset_engine()
    yield
    db_module.reset_engine()


def _state(cls, path: str, query: str = "", cookie: str = ""):
    return make_state(cls, path, query=query, cookie=cookie)


_redirect_path = redirect_path


def _user_with_session(login="petrov"):
    with db_module.session_scope() as s:
        user = users.create_user(s, login=login, email=f"{login}@example.com",
                                 password="Длинный пароль 123", confirmed=True)
        token = sessions.mint_session(s, user_id=user.id, ip="127.0.0.1", user_agent="pytest")
    return user, token


async def test_profile_without_session_redirects_to_login_with_next(app_db):
    state = _state(ProfileState, "/profile")
    assert _redirect_path(await ProfileState.on_load.fn(state)) == "/?next=/profile"
    assert state.loaded is False and state.login == ""


async def test_profile_with_forged_cookie_redirects(app_db):
    state = _state(ProfileState, "/profile", cookie="lkk_session=forged-token-value")
    assert _redirect_path(await ProfileState.on_load.fn(state)).startswith("/?next=")
    assert state.login == ""


async def test_profile_with_session_fills_the_tab(app_db):
    user, token = _user_with_session()
    state = _state(ProfileState, "/profile", cookie=f"other=1; lkk_session={token}")
    assert await ProfileState.on_load.fn(state) is None
    assert (state.login, state.email, state.loaded) == ("petrov", "petrov@example.com", True)
    assert state.email_confirmed is True
    assert state.phone == "не указан"


async def test_profile_after_revocation_is_refused(app_db):
    user, token = _user_with_session("sidorov")
    state = _state(ProfileState, "/profile", cookie=f"lkk_session={token}")
    assert await ProfileState.on_load.fn(state) is None
    with db_module.session_scope() as s:
        sessions.revoke_session(s, token)
    assert _redirect_path(await ProfileState.on_load.fn(state)).startswith("/?next=")
    assert state.loaded is False and state.login == ""


async def test_login_page_messages(app_db):
    state = _state(LoginState, "/", "e=invalid&login=ivan")
    await LoginState.on_load.fn(state)
    assert state.error == "Неверное имя пользователя или пароль"
    assert state.login_prefill == "ivan"
    state = _state(LoginState, "/", "e=empty")
    await LoginState.on_load.fn(state)
    assert state.login_error == "Введите имя пользователя" and state.error == ""
    state = _state(LoginState, "/", "out=1")
    await LoginState.on_load.fn(state)
    assert state.notice == "Вы вышли из личного кабинета." and state.error == ""


async def test_login_page_sends_a_logged_in_user_on(app_db):
    _, token = _user_with_session("kuznetsov")
    state = _state(LoginState, "/", "next=/profile%3Ftab%3D1", cookie=f"lkk_session={token}")
    assert _redirect_path(await LoginState.on_load.fn(state)) == "/profile?tab=1"


@pytest.mark.parametrize("evil", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                  "javascript:alert(1)", "/%0d%0aSet-Cookie:x"])
async def test_next_must_stay_on_site(app_db, evil):
    state = _state(LoginState, "/", f"next={evil}")
    await LoginState.on_load.fn(state)
    assert state.next_path in ("", evil) and not state.next_path.startswith("//")
    assert not state.next_path.lower().startswith(("http", "javascript", "/\\"))
