"""The Reflex state handlers, called directly (no browser, no server)."""

from __future__ import annotations

import pytest

from lkk_app import db as db_module
from lkk_app.auth import sessions, users
from lkk_app.settings import reload_settings
from lkk_app.state.login import LoginState
from lkk_app.state.profile import ProfileState
from lkk_app.state.register import RegisterState
from tests.statekit import make_state, redirect_path, run_events

pytestmark = pytest.mark.asyncio


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
    assert state.login_prefill == ""  # the address does not name the login
    state = _state(LoginState, "/", "e=invalid", cookie="lkk_login_hint=%D0%B8%D0%B2%D0%B0%D0%BD")
    await LoginState.on_load.fn(state)
    assert state.login_prefill == "иван"  # the cookie of the refused attempt does
    state = _state(LoginState, "/", "", cookie="lkk_login_hint=ivan")
    await LoginState.on_load.fn(state)
    assert state.login_prefill == ""  # a fresh visit starts empty
    state = _state(LoginState, "/", "e=empty")
    await LoginState.on_load.fn(state)
    assert state.errors.get("login", "") == "Введите имя пользователя" and state.error == ""
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


# --------------------------------------------------------------------------- registration

REGISTER_PASSWORD = "Длинный пароль 123"


def _register_form(login: str, code: str) -> dict:
    return {"login": login, "email": f"{login}.new@example.com", "phone": "",
            "password": REGISTER_PASSWORD, "password_confirm": REGISTER_PASSWORD, "code": code}


def _visible(state) -> str:
    """Every var the browser would get from the registration state."""
    return repr({name: getattr(state, name) for name in RegisterState.base_vars
                 if not name.startswith("_")})


@pytest.mark.parametrize("code", ["", "000000"])
async def test_register_without_the_code_says_nothing_about_a_taken_login(app_db, code,
                                                                          monkeypatch):
    monkeypatch.setenv("LKK_CAPTCHA_FIXED_CODE", "735190")
    reload_settings()
    _user_with_session("zanyat")
    state = make_state(RegisterState, "/register", ip="198.51.100.20", token=f"tab-{code}")
    await RegisterState.on_load.fn(state)
    assert state.captcha_src.startswith("data:image/png;base64,")
    await run_events(RegisterState.submit.fn(state, _register_form("Zanyat", code)))
    assert state.errors.get("login", "") == "" and "занят" not in _visible(state)
    assert state.errors.get("code", "") == ("Введите код с картинки" if not code
                              else "Код введён неверно или устарел. Введите код с новой картинки")
    assert state.done_email == ""


async def test_register_with_the_right_code_learns_the_login_is_taken(app_db, monkeypatch):
    monkeypatch.setenv("LKK_CAPTCHA_FIXED_CODE", "735190")
    reload_settings()
    _user_with_session("zanyat")
    state = make_state(RegisterState, "/register", ip="198.51.100.21", token="tab-right")
    await RegisterState.on_load.fn(state)
    await run_events(RegisterState.submit.fn(state, _register_form("Zanyat", "735190")))
    assert state.errors.get("login", "") == "Этот логин уже занят, выберите другой"
    assert state.errors.get("code", "") == "" and state.done_email == ""


async def test_register_over_the_ip_limit_shows_the_message(app_db, monkeypatch):
    monkeypatch.setenv("LKK_CAPTCHA_FIXED_CODE", "735190")
    reload_settings()
    for i in range(6):
        state = make_state(RegisterState, "/register", ip="198.51.100.22", token=f"tab-lim-{i}")
        await RegisterState.on_load.fn(state)
        await run_events(RegisterState.submit.fn(state, _register_form(f"limit{i}", "735190")))
        if i < 5:
            assert state.done_email == f"limit{i}.new@example.com", (i, state.form_error)
    assert state.done_email == ""
    assert state.form_error.startswith("С Вашего IP-адреса зарегистрировано слишком много")
    assert state.captcha_src != ""  # a fresh code for a later try


async def test_register_page_stops_drawing_codes_for_one_tab(app_db):
    state = make_state(RegisterState, "/register", ip="198.51.100.23", token="tab-flood")
    await RegisterState.on_load.fn(state)
    for _ in range(14):
        await RegisterState.refresh_captcha.fn(state)
    assert state.captcha_src.startswith("data:image/png") and state.errors.get("code", "") == ""
    assert state.captcha_audio == f"/captcha/audio/{state._captcha_id}"  # the same challenge
    await RegisterState.refresh_captcha.fn(state)
    assert state.captcha_src == "" and state._captcha_id == "" and state.captcha_audio == ""
    assert state.errors.get("code", "") == ("Слишком много новых кодов за короткое время. Подождите несколько "
                              "минут и нажмите «Обновить код»")


async def test_login_page_stops_drawing_codes_for_one_ip(app_db):
    for i in range(30):
        state = make_state(LoginState, "/", query="cap=1", ip="198.51.100.24", token=f"login-{i}")
        await LoginState.on_load.fn(state)
        assert state.needs_code and state.captcha_src and state.captcha_error == ""
    state = make_state(LoginState, "/", query="cap=1", ip="198.51.100.24", token="login-last")
    await LoginState.on_load.fn(state)
    assert state.needs_code is True  # the block stays, with the message instead of an image
    assert state.captcha_src == "" and state.captcha_id == ""
    assert state.captcha_error.startswith("Слишком много новых кодов")
    await LoginState.refresh_captcha.fn(state)
    assert state.captcha_src == "" and state.captcha_error.startswith("Слишком много")


async def test_register_page_without_espeak_ng_has_no_spoken_code(app_db, monkeypatch):
    from lkk_app.auth import captcha_audio

    monkeypatch.setattr(captcha_audio.shutil, "which", lambda name: None)
    state = make_state(RegisterState, "/register", ip="198.51.100.24", token="tab-mute")
    await RegisterState.on_load.fn(state)
    assert state.captcha_src.startswith("data:image/png") and state.captcha_audio == ""
