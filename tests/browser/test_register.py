"""Registration with the authorization code, the letter, confirmation, resend."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import CAPTCHA_CODE, shot, text_of
from tests.browser.test_login import login_as

PASSWORD = "Зелёный чайник 2026"


def fill_registration(page, login, email, password=PASSWORD, confirm=None, phone="",
                      code=CAPTCHA_CODE):
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Адрес электронной почты").fill(email)
    page.get_by_label("Номер телефона").fill(phone)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.get_by_label("Подтверждение пароля").fill(password if confirm is None else confirm)
    page.get_by_label("Код авторизации").fill(code)


def open_registration(page):
    page.goto("/")
    page.get_by_role("link", name="Зарегистрироваться").click()
    expect(page.get_by_role("heading", name="Регистрация пользователя")).to_be_visible()
    expect(page.get_by_role("img", name="Картинка с кодом авторизации")).to_be_visible()


def confirmation_link(msg) -> str:
    found = re.search(r"https?://\S+/confirm/[A-Za-z0-9_-]+", text_of(msg))
    assert found, text_of(msg)
    return found.group(0)


def open_confirmation(page, link: str) -> None:
    """Follow the link from the letter and press «Войти в личный кабинет»."""
    page.goto(link)
    expect(page.get_by_role("heading", name="Подтверждение адреса электронной почты")).to_be_visible()
    page.get_by_role("button", name="Войти в личный кабинет").click()


def test_register_confirm_and_land_in_profile(page, mailbox, app_server):
    open_registration(page)
    expect(page.get_by_label("Адрес электронной почты")).to_have_attribute("placeholder", "user@example.com")
    shot(page, "register")
    fill_registration(page, "Novikov", "novikov@example.com", phone="8 (912) 345-67-89")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text("novikov@example.com")).to_be_visible()
    expect(page.get_by_text(re.compile("Спам"))).to_be_visible()
    shot(page, "register-done")
    msg = mailbox.wait_for("novikov@example.com")[0]
    assert msg["Message-ID"]
    assert msg.get_body(preferencelist=("html",)) is not None
    link = confirmation_link(msg)
    assert link.startswith(app_server.url + "/confirm/")
    # Opening the link (what a mail scanner does too) only shows the page.
    page.goto(link)
    expect(page.get_by_role("heading", name="Подтверждение адреса электронной почты")).to_be_visible()
    expect(page.get_by_text(re.compile("«Novikov»"))).to_be_visible()
    shot(page, "confirm-page")
    page.reload()  # fetching it again spends nothing
    page.get_by_role("button", name="Войти в личный кабинет").click()
    expect(page).to_have_url(re.compile(r"/profile/?$"))
    expect(page.get_by_test_id("profile-login")).to_have_text("Novikov")
    expect(page.get_by_test_id("profile-email")).to_contain_text("подтверждён")
    expect(page.get_by_test_id("profile-phone")).to_have_text("+7 912 345-67-89")
    # The link works once.
    page.goto(link)
    expect(page.get_by_role("heading", name="Ссылка не действует")).to_be_visible()
    expect(page.get_by_text(re.compile("уже использована"))).to_be_visible()
    shot(page, "confirm-used")


def test_unknown_link_shows_a_clear_page(page, app_server):
    page.goto("/confirm/" + "x" * 43)
    expect(page.get_by_role("heading", name="Ссылка не действует")).to_be_visible()
    expect(page.get_by_text(re.compile("Отправить письмо повторно"))).to_be_visible()


def test_every_field_error_is_shown_next_to_its_field(page, make_user):
    taken, _, _ = make_user()
    open_registration(page)
    fill_registration(page, taken, "not-an-email", password="short", confirm="other",
                      phone="12", code="000000")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#email-error")).to_contain_text("user@example.com")
    expect(page.locator("#phone-error")).to_contain_text("+7")
    expect(page.locator("#password-error")).to_contain_text("не менее 8")
    expect(page.locator("#password_confirm-error")).to_have_text("Пароли не совпадают")
    expect(page.locator("#code-error")).to_contain_text("Код введён неверно")
    shot(page, "register-errors")
    # Kept: login, e-mail, phone; cleared: both passwords and the code.
    expect(page.get_by_label("Логин")).to_have_value(taken)
    expect(page.get_by_label("Адрес электронной почты")).to_have_value("not-an-email")
    expect(page.get_by_label("Пароль", exact=True)).to_have_value("")
    expect(page.get_by_label("Подтверждение пароля")).to_have_value("")
    expect(page.get_by_label("Код авторизации")).to_have_value("")
    # Without the right code nothing is said about the taken login…
    expect(page.locator("#login-error")).to_have_text("")
    # …with it, the login is the only thing left to fix.
    fill_registration(page, taken, "second@example.com")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#login-error")).to_have_text("Этот логин уже занят, выберите другой")
    expect(page.locator("#code-error")).to_have_text("")


def test_password_rules_checked_on_the_server(page, app_server):
    open_registration(page)
    fill_registration(page, "Orlova", "orlova@example.com", password="qwerty123")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#password-error")).to_contain_text("распространён")
    fill_registration(page, "Orlova", "orlova@example.com", password="xxOrlova2026!")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#password-error")).to_contain_text("логин")


def test_bad_login_format(page, app_server):
    open_registration(page)
    fill_registration(page, "a b", "ab@example.com")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#login-error")).to_contain_text("только буквы")


def test_refresh_draws_a_new_image(page, app_server):
    open_registration(page)
    img = page.get_by_role("img", name="Картинка с кодом авторизации")
    first = img.get_attribute("src")
    page.get_by_label("Код авторизации").fill("123")
    page.get_by_role("button", name="Обновить код").click()
    expect(img).not_to_have_attribute("src", first)
    expect(page.get_by_label("Код авторизации")).to_have_value("")


def test_strength_hint_updates_while_typing(page, app_server):
    open_registration(page)
    field = page.get_by_label("Пароль", exact=True)
    field.type("abc")
    expect(page.locator("#password-strength")).to_have_text("Надёжность пароля: очень слабый")
    field.type("defgh-Ижица-2026")
    expect(page.locator("#password-strength")).to_contain_text(re.compile("хороший|отличный"))


def test_login_before_confirmation_offers_resend(page, mailbox, app_server):
    open_registration(page)
    fill_registration(page, "Zaitseva", "zaitseva@example.com")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text("zaitseva@example.com")).to_be_visible()
    first = mailbox.wait_for("zaitseva@example.com")[0]
    # Wrong password: still the generic message, nothing about confirmation.
    page.goto("/")
    login_as(page, "zaitseva", PASSWORD + "!")
    expect(page.get_by_text("Неверное имя пользователя или пароль")).to_be_visible()
    expect(page.get_by_text(re.compile("не подтверждён"))).to_have_count(0)
    # Right password: the notice and the resend button, not the cabinet.
    login_as(page, "zaitseva", PASSWORD)
    expect(page.get_by_text(re.compile("ещё не подтверждён"))).to_be_visible()
    shot(page, "login-unconfirmed")
    page.get_by_role("button", name="Отправить письмо повторно").click()
    expect(page.get_by_text(re.compile("^Мы отправили новое письмо со ссылкой"))).to_be_visible()
    expect(page.get_by_text(re.compile("Если отправка писем не ограничена"))).to_have_count(0)
    # The login stays in its field (and out of the address).
    expect(page.get_by_label("Имя пользователя")).to_have_value("zaitseva")
    assert "zaitseva" not in page.url
    second = mailbox.wait_for("zaitseva@example.com", count=2)[1]
    old_link, new_link = confirmation_link(first), confirmation_link(second)
    assert old_link != new_link
    page.goto(old_link)  # the new letter invalidated the old link — and the page says so
    expect(page.get_by_role("heading", name="Ссылка не действует")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^Эта ссылка заменена более новой"))
    expect(page.get_by_text("Срок действия ссылки истёк")).to_have_count(0)
    open_confirmation(page, new_link)
    expect(page.get_by_test_id("profile-login")).to_have_text("Zaitseva")


def test_a_wrong_phone_keeps_the_passwords_and_asks_only_for_a_new_code(page, mailbox):
    open_registration(page)
    login = f"keep{time.monotonic_ns() % 10**8}"
    fill_registration(page, login, f"{login}@example.com", phone="12")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#phone-error")).not_to_be_empty()
    # What was right stays: the passwords too; the code is spent (a new image).
    expect(page.get_by_label("Пароль", exact=True)).to_have_value(PASSWORD)
    expect(page.get_by_label("Подтверждение пароля")).to_have_value(PASSWORD)
    expect(page.get_by_label("Логин")).to_have_value(login)
    expect(page.get_by_label("Код авторизации")).to_have_value("")
    expect(page.get_by_label("Номер телефона")).to_be_focused()
    shot(page, "register-phone-error")
    page.get_by_label("Номер телефона").fill("+7 916 123-45-67")
    page.get_by_label("Код авторизации").fill(CAPTCHA_CODE)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text(f"{login}@example.com")).to_be_visible()
    mailbox.wait_for(f"{login}@example.com")


def test_a_bad_password_confirmation_clears_the_passwords(page):
    open_registration(page)
    login = f"redo{time.monotonic_ns() % 10**8}"
    fill_registration(page, login, f"{login}@example.com", confirm=PASSWORD + "x")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#password_confirm-error")).not_to_be_empty()
    expect(page.get_by_label("Пароль", exact=True)).to_have_value("")
    expect(page.get_by_label("Подтверждение пароля")).to_have_value("")
