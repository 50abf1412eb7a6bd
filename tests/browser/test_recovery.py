"""«Забыли пароль?» (manual 2.4): the neutral answer, the letter with a
temporary password, the restricted session, «Смена пароля», and what happens
to the old password and to other sessions."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot, text_of
from tests.browser.test_login import GENERIC, login_as

NEUTRAL = ("Если логин и адрес электронной почты совпадают с данными учётной записи, "
           "на этот адрес отправлено письмо с новым паролем.")
NEW_PASSWORD = "Тёплый ветер с юга 77"
TEMP_RE = re.compile(r"Новый пароль: (\S+)")


def open_forgot(page):
    page.goto("/")
    page.get_by_role("link", name="Забыли пароль?").click()
    expect(page.get_by_role("heading", name="Введите логин пользователя и e-mail")).to_be_visible()


def request_reset(page, login: str, email: str) -> str:
    """Submit the form; the inner text of the answer."""
    open_forgot(page)
    page.get_by_label("Логин", exact=True).fill(login)
    page.get_by_label("Адрес электронной почты").fill(email)
    page.get_by_role("button", name="Сбросить пароль").click()
    answer = page.locator("#forgot-done")
    expect(answer).to_be_visible()
    return answer.inner_text()


def temp_password(msg) -> str:
    found = TEMP_RE.findall(text_of(msg))
    assert len(found) == 1, text_of(msg)
    return found[0]


def test_forgot_form_has_the_manual_elements(page, app_server):
    open_forgot(page)
    expect(page.get_by_label("Логин", exact=True)).to_be_visible()
    email = page.get_by_label("Адрес электронной почты")
    expect(email).to_have_attribute("placeholder", "user@example.com")
    expect(email).to_have_attribute("type", "email")
    expect(page.get_by_role("button", name="Сбросить пароль")).to_be_visible()
    expect(page.get_by_role("link", name="Войти")).to_have_attribute("href", "/")
    shot(page, "forgot")
    # The «?» explains what to enter; the text is hidden until asked for.
    help_text = page.get_by_text(re.compile("^Укажите логин и адрес электронной почты"))
    expect(help_text).to_be_hidden()
    toggle = page.locator(".help-tip summary")
    expect(toggle).to_have_text(re.compile(r"\?"))
    expect(toggle).to_contain_text("Подсказка")  # the screen-reader name
    toggle.click()
    expect(help_text).to_be_visible()
    expect(help_text).to_have_text("Укажите логин и адрес электронной почты, которые Вы указали при "
                                   "регистрации. Мы отправим на этот адрес письмо с новым паролем.")
    shot(page, "forgot-help")
    toggle.press("Enter")  # keyboard closes it again
    expect(help_text).to_be_hidden()
    page.set_viewport_size({"width": 375, "height": 740})
    toggle.click()
    expect(help_text).to_be_visible()
    shot(page, "forgot-phone")


def test_empty_fields_get_field_messages(page, app_server):
    open_forgot(page)
    page.get_by_role("button", name="Сбросить пароль").click()
    expect(page.locator("#login-error")).to_have_text("Введите логин")
    expect(page.locator("#email-error")).to_have_text("Введите адрес электронной почты")
    expect(page.get_by_label("Логин", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#forgot-done")).to_have_count(0)


def test_the_answer_is_the_same_whatever_the_pair(page, mailbox, make_user):
    login, _, email = make_user()
    unconfirmed, _, unconfirmed_email = make_user(confirmed=False)
    answers = {
        "wrong e-mail": request_reset(page, login, "someone-else@example.com"),
        "unknown login": request_reset(page, "nobody-" + login, email),
        "unconfirmed": request_reset(page, unconfirmed, unconfirmed_email),
        "matching pair": request_reset(page, login.upper(), email.upper()),
    }
    shot(page, "forgot-done")
    assert set(answers.values()) == {NEUTRAL}, answers
    # The letter of the last request is the barrier: once it is here, a letter
    # for an earlier, non-matching request would have been sent as well.
    letters = mailbox.wait_for(email)
    assert len(letters) == 1 and temp_password(letters[0])
    assert mailbox.to("someone-else@example.com") == []
    # The unconfirmed account gets a fresh confirmation link, never a password.
    confirm = mailbox.wait_for(unconfirmed_email)
    assert len(confirm) == 1
    assert "/confirm/" in text_of(confirm[0]) and not TEMP_RE.search(text_of(confirm[0]))
    assert len(mailbox.to(email)) == 1


def test_recovery_end_to_end(page, browser, app_server, mailbox, make_user):
    login, old_password, email = make_user()
    # Another browser, logged in before anything happens.
    other = browser.new_context(locale="ru-RU", base_url=app_server.url)
    try:
        other_page = other.new_page()
        other_page.goto("/")
        login_as(other_page, login, old_password)
        expect(other_page.get_by_test_id("profile-login")).to_have_text(login)

        assert request_reset(page, login, email) == NEUTRAL
        temp = temp_password(mailbox.wait_for(email)[0])
        assert len(temp) >= 16

        # The temporary password opens «Смена пароля» and nothing else.
        page.goto("/")
        login_as(page, login, temp)
        expect(page).to_have_url(re.compile(r"/change-password/?$"))
        expect(page.get_by_role("heading", name="Смена пароля")).to_be_visible()
        expect(page.get_by_text(re.compile("Вы вошли с временным паролем"))).to_be_visible()
        shot(page, "change-password")
        page.goto("/profile")
        expect(page).to_have_url(re.compile(r"/change-password/?$"))
        expect(page.get_by_role("heading", name="Смена пароля")).to_be_visible()
        expect(page.get_by_test_id("profile-login")).to_have_count(0)

        # Server-side checks, messages next to the fields.
        page.get_by_label("Новый пароль").fill(temp)
        page.get_by_label("Подтверждение пароля").fill(temp)
        page.get_by_role("button", name="Сохранить").click()
        expect(page.locator("#password-error")).to_contain_text("временным")
        page.get_by_label("Новый пароль").fill(NEW_PASSWORD)
        page.get_by_label("Подтверждение пароля").fill(NEW_PASSWORD + "!")
        page.get_by_role("button", name="Сохранить").click()
        expect(page.locator("#password_confirm-error")).to_have_text("Пароли не совпадают")
        expect(page.get_by_label("Новый пароль")).to_have_value("")
        expect(page.locator("#password-strength")).to_have_text("")  # no stale verdict
        shot(page, "change-password-errors")

        page.get_by_label("Новый пароль").fill(NEW_PASSWORD)
        expect(page.locator("#password-strength")).to_contain_text("Надёжность пароля")
        page.get_by_label("Подтверждение пароля").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Сохранить").click()
        expect(page).to_have_url(re.compile(r"/profile/?$"))
        expect(page.get_by_test_id("profile-login")).to_have_text(login)
        page.reload()
        expect(page.get_by_test_id("profile-login")).to_have_text(login)

        # The notice letter: no password of any kind in it.
        notice = mailbox.wait_for(email, count=2)[1]
        body = text_of(notice) + notice.get_body(preferencelist=("html",)).get_content()
        assert "изменён" in str(notice["Subject"])
        for secret in (temp, NEW_PASSWORD, old_password):
            assert secret not in body

        page.get_by_role("button", name="Выйти").click()
        expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
        for rejected in (old_password, temp):
            login_as(page, login, rejected)
            expect(page.get_by_text(GENERIC)).to_be_visible()
            expect(page).not_to_have_url(re.compile("/profile|/change-password"))
        login_as(page, login, NEW_PASSWORD)
        expect(page.get_by_test_id("profile-login")).to_have_text(login)

        # The other browser's session ended with the change.
        other_page.reload()
        expect(other_page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
        expect(other_page.get_by_test_id("profile-login")).to_have_count(0)
    finally:
        other.close()


def test_change_password_needs_a_session(page, app_server):
    page.goto("/change-password")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
