"""«Профиль»: phone and password changes; «Служба поддержки»; the full guide."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot, text_of
from tests.browser.test_login import login_as

NEW = "Совсем новый пароль 2027"


def _login(page, make_user):
    login, password, email = make_user()
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    return login, password, email


def test_change_phone(page, make_user):
    _login(page, make_user)
    field = page.get_by_label("Номер телефона", exact=True)
    field.fill("123")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#phone-error")).to_contain_text("+7")
    field.fill("8 912 345 67 89")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Номер телефона сохранён.")).to_be_visible()
    expect(page.get_by_test_id("profile-phone")).to_have_text("+7 912 345-67-89")
    page.reload()
    expect(page.get_by_test_id("profile-phone")).to_have_text("+7 912 345-67-89")


def test_change_password_ends_other_sessions(browser, app_server, page, make_user, mailbox):
    login, password, email = _login(page, make_user)
    other_ctx = browser.new_context(base_url=app_server.url, locale="ru-RU")
    other = other_ctx.new_page()
    other.goto("/")
    login_as(other, login, password)
    expect(other.get_by_test_id("profile-login")).to_have_text(login)

    page.get_by_label("Текущий пароль").fill("неправильный пароль")
    page.get_by_label("Новый пароль").fill(NEW)
    page.get_by_label("Подтверждение пароля").fill(NEW)
    page.get_by_role("button", name="Изменить пароль").click()
    expect(page.locator("#current_password-error")).to_have_text(
        "Текущий пароль введён неверно. Неверных попыток до завершения сеанса: 4.")
    expect(page.get_by_label("Текущий пароль")).to_have_value("")

    page.get_by_label("Текущий пароль").fill(password)
    page.get_by_label("Новый пароль").fill(NEW)
    page.get_by_label("Подтверждение пароля").fill(NEW)
    page.get_by_role("button", name="Изменить пароль").click()
    expect(page.get_by_text(re.compile(r"^Пароль изменён\. Все остальные сеансы"))).to_be_visible()
    shot(page, "profile-password-changed")
    notice = mailbox.wait_for(email)[0]
    assert NEW not in text_of(notice) and password not in text_of(notice)

    # The other browser is logged out at its next action.
    other.reload()
    expect(other.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    other_ctx.close()
    # This one stays in; the old password no longer works, the new one does.
    page.reload()
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    page.get_by_role("button", name="Выйти").click()
    login_as(page, login, password)
    expect(page.get_by_text("Неверное имя пользователя или пароль")).to_be_visible()
    login_as(page, login, NEW)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_five_wrong_current_passwords_end_the_session(page, make_user, mailbox, context):
    login, password, email = _login(page, make_user)
    for n in range(1, 6):
        page.get_by_label("Текущий пароль").fill(f"угадываю {n}")
        page.get_by_label("Новый пароль").fill(NEW)
        page.get_by_label("Подтверждение пароля").fill(NEW)
        page.get_by_role("button", name="Изменить пароль").click()
        if n < 5:
            expect(page.locator("#current_password-error")).to_have_text(
                f"Текущий пароль введён неверно. Неверных попыток до завершения сеанса: {5 - n}.")
    # The 5th: the session ends, the login window says why, the owner gets a letter.
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Сеанс завершён: при смене пароля"))).to_be_visible()
    letter = mailbox.wait_for(email)[0]
    assert "5 раз подряд введён неверно" in text_of(letter)
    assert "угадываю" not in text_of(letter) and password not in text_of(letter)
    page.goto("/profile")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    # The password did not change.
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_support_reachable_from_login_and_cabinet(page, make_user):
    page.goto("/")
    page.get_by_role("link", name="Служба поддержки").click()
    expect(page.get_by_role("heading", name="Служба поддержки")).to_be_visible()
    expect(page.get_by_role("link", name="+7 800 100-20-30")).to_have_attribute("href", "tel:+7-800-100-20-30")
    expect(page.get_by_test_id("support-hours")).to_contain_text("8:30")
    # Logged out: the login window's card, the way back to the login.
    expect(page.get_by_role("link", name="Вернуться ко входу")).to_have_attribute("href", "/")
    expect(page.get_by_role("navigation", name="Разделы личного кабинета")).to_have_count(0)
    shot(page, "support")
    _login(page, make_user)
    page.get_by_role("link", name="Договоры").click()
    expect(page.get_by_role("heading", name="Договоры", exact=True)).to_be_visible()
    page.get_by_role("link", name="Служба поддержки").click()
    expect(page.get_by_role("heading", name="Служба поддержки")).to_be_visible()
    # Logged in: the cabinet's frame (header, tabs, «Выйти») and the way back to the tab.
    expect(page.get_by_role("navigation", name="Разделы личного кабинета")).to_be_visible()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    expect(page.get_by_role("link", name="Вернуться ко входу")).to_have_count(0)
    expect(page.get_by_role("link", name="+7 800 100-20-30")).to_be_visible()
    back = page.get_by_role("link", name="Вернуться в личный кабинет")
    expect(back).to_have_attribute("href", "/contracts")
    shot(page, "support-cabinet")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "support-cabinet-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # The keyboard alone: to the link and Enter.
    back.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Договоры", exact=True)).to_be_visible()


def test_cabinet_help_downloads_the_full_guide(page, make_user):
    _login(page, make_user)
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("полную инструкцию")).click()
    data = open(info.value.path(), "rb").read()
    assert data.startswith(b"%PDF-")
    from io import BytesIO

    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages)
    for screen in ("Профиль", "Сбросить пароль", "Служба поддержки", "Регистрация пользователя"):
        assert screen in text, screen


def test_profile_on_a_phone_screen(page, make_user):
    page.set_viewport_size({"width": 375, "height": 800})
    _login(page, make_user)
    shot(page, "profile-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scroll on a phone: {width}px"
