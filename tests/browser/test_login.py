"""Issue: the login window, login, reload, logout, guarded URLs, the guide."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot

GENERIC = "Неверное имя пользователя или пароль"


def login_as(page, login: str, password: str) -> None:
    page.get_by_label("Имя пользователя").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


def test_login_window_has_the_manual_elements(page, app_server):
    page.goto("/")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    expect(page.get_by_label("Имя пользователя")).to_be_visible()
    expect(page.get_by_label("Пароль")).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Войти")).to_be_visible()
    expect(page.get_by_role("link", name="Зарегистрироваться")).to_have_attribute("href", "/register")
    expect(page.get_by_role("link", name="Забыли пароль?")).to_have_attribute("href", "/forgot")
    expect(page.get_by_role("link", name=re.compile("инструкцию по регистрации"))).to_be_visible()
    shot(page, "login")
    page.set_viewport_size({"width": 375, "height": 740})
    shot(page, "login-phone")


def test_links_are_not_dead(page, app_server):
    page.goto("/")
    page.get_by_role("link", name="Зарегистрироваться").click()
    expect(page.get_by_role("heading", name="Регистрация пользователя")).to_be_visible()
    page.goto("/")
    page.get_by_role("link", name="Забыли пароль?").click()
    expect(page.get_by_role("heading", name=re.compile("Введите логин"))).to_be_visible()


def test_help_downloads_the_registration_guide_pdf(page, app_server):
    page.goto("/")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("инструкцию по регистрации")).click()
    path = info.value.path()
    data = open(path, "rb").read()
    assert data.startswith(b"%PDF-"), data[:20]
    assert info.value.suggested_filename.endswith(".pdf")


def test_good_login_opens_profile_and_reload_keeps_it(page, make_user):
    login, password, email = make_user()
    page.goto("/")
    login_as(page, login, password)
    expect(page).to_have_url(re.compile(r"/profile/?$"))
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    expect(page.get_by_test_id("profile-email")).to_contain_text(email)
    shot(page, "profile")
    page.reload()
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["lkk_session"]["httpOnly"] is True
    assert cookies["lkk_session"]["sameSite"] == "Strict"
    # «Последний вход» is the login before this one: none yet, then the first.
    expect(page.get_by_test_id("profile-last-login")).to_have_text("—")
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_label("Имя пользователя")).to_be_visible()
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-last-login")).to_have_text(
        re.compile(r"^\d\d\.\d\d\.\d{4} \d\d:\d\d"))


def test_login_is_case_insensitive(page, make_user):
    login, password, _ = make_user()
    page.goto("/")
    login_as(page, login.upper(), password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_wrong_password_and_unknown_login_get_the_generic_message(page, make_user):
    login, password, _ = make_user()
    for who, pw in ((login, password + "x"), ("nobody-here", password)):
        page.goto("/")
        login_as(page, who, pw)
        expect(page.get_by_text(GENERIC)).to_be_visible()
        expect(page).to_have_url(re.compile(r"/\?"))
        expect(page.get_by_label("Имя пользователя")).to_have_value(who)
        expect(page.get_by_label("Пароль")).to_have_value("")
    shot(page, "login-failed")


def test_empty_fields_get_field_messages(page, app_server):
    page.goto("/")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_text("Введите имя пользователя")).to_be_visible()
    expect(page.get_by_text("Введите пароль")).to_be_visible()
    expect(page).not_to_have_url(re.compile("/profile"))


def test_empty_fields_checked_on_the_server_too(page, app_server):
    # Without the page's script the server still answers with a message.
    page.goto("/")
    page.evaluate("document.querySelector('form[data-native]').removeAttribute('data-native')")
    page.get_by_label("Имя пользователя").fill("someone")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_text("Введите пароль")).to_be_visible()


def test_logout_ends_the_session_on_the_server(page, make_user, context):
    login, password, _ = make_user()
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    old_cookie = {c["name"]: c for c in context.cookies()}["lkk_session"]
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    expect(page.get_by_text("Вы вышли из личного кабинета.")).to_be_visible()
    assert "lkk_session" not in {c["name"] for c in context.cookies()}
    # Replaying the old token does not open the cabinet: it was revoked server-side.
    context.add_cookies([old_cookie])
    page.goto("/profile")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()


def test_guarded_url_redirects_to_login_and_back(page, make_user):
    login, password, _ = make_user()
    page.goto("/profile")
    expect(page).to_have_url(re.compile(r"/\?next=/profile"))
    login_as(page, login, password)
    expect(page).to_have_url(re.compile(r"/profile/?$"))
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_next_parameter_cannot_leave_the_site(page, make_user):
    login, password, _ = make_user()
    page.goto("/?next=//evil.example/x")
    login_as(page, login, password)
    expect(page).to_have_url(re.compile(r"localhost:\d+/profile/?$"))


def test_keyboard_only_login(page, make_user):
    login, password, _ = make_user()
    page.goto("/")
    page.get_by_label("Имя пользователя").focus()
    page.keyboard.type(login)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_a_refused_password_is_typed_again_from_the_keyboard(page, make_user):
    """After a refusal the login comes back in its field and the focus waits in
    the password field: the password alone is typed again."""
    login, password, _ = make_user()
    page.goto("/")
    expect(page.get_by_label("Имя пользователя")).to_be_focused()
    page.keyboard.type(login)
    page.keyboard.press("Tab")
    page.keyboard.type(password + "x")
    page.keyboard.press("Enter")
    expect(page.get_by_text(GENERIC)).to_be_visible()
    expect(page.get_by_label("Имя пользователя")).to_have_value(login)
    expect(page.get_by_label("Пароль")).to_be_focused()
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_an_empty_login_window_keeps_the_focus_in_the_login_field(page, app_server):
    page.goto("/?e=invalid")
    expect(page.get_by_label("Имя пользователя")).to_have_value("")
    expect(page.get_by_label("Имя пользователя")).to_be_focused()


def test_button_shows_loading_while_the_check_runs(page, make_user):
    login, password, _ = make_user()
    # Record the button as it is right after the submit, while the server
    # checks the password; sessionStorage survives the navigation that follows.
    page.add_init_script("""document.addEventListener('submit', (e) => setTimeout(() => {
        const b = e.target.querySelector('button[type=submit]');
        if (!b || !b.querySelector('.btn-busy-label')) return;
        sessionStorage.setItem('lkk-busy', JSON.stringify([b.getAttribute('aria-busy'),
            getComputedStyle(b.querySelector('.btn-busy-label')).display !== 'none',
            getComputedStyle(b.querySelector('.btn-label')).display !== 'none',
            b.querySelector('.btn-busy-label').textContent]));
    }, 0));""")
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    busy = page.evaluate("sessionStorage.getItem('lkk-busy')")
    # aria-busy set, «Вход…» shown instead of «Войти».
    assert busy == '["true",true,false,"Вход…"]', busy
