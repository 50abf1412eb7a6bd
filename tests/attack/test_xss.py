"""Markup in data is shown as text, in Chromium with the CSP enforced.

Only the e-mail address can carry script-looking characters into storage
(the login and phone alphabets cannot): an address such as
``x'/onfocus=alert`1`/{{7*7}}${7*7}@example.com`` is valid.  It is registered
through the form, then looked at on every page and in the letters; markup in
the URL (reflected into the login window) is tried too.  No dialog may open,
no CSP violation may occur (one would mean an injection was attempted and
blocked), and the literal text must be on the page.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.attack.conftest import CAPTCHA_CODE

EVIL_EMAIL = "x'/onfocus=alert`1`/{{7*7}}${7*7}@example.com"
EVIL_EMAIL_2 = "y'||alert`2`||'&lt%3Cb%3E#{7*7}@example.com"
REFLECTED = '<img src=x onerror=alert(3)>"\'><script>alert(4)</script>'


def _no_script_ran(page, watch) -> None:
    watch.collect_csp(page)
    assert not watch.dialogs, f"a dialog opened: {watch.dialogs}"
    assert not watch.csp, f"CSP violations (an injection attempt): {watch.csp}"
    assert page.evaluate("typeof window.__xss") == "undefined"


def _confirmation_link(db_env, address: str, timeout: float = 30) -> str:
    from lkk_app.mail import devmail
    from lkk_app.settings import get_settings

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for letter in devmail.list_dev_mail(get_settings().mail_dir):
            if address in letter["to"]:
                match = re.search(r"https?://\S+/confirm/[\w-]+", letter["text"])
                if match:
                    return match.group(0)
        time.sleep(0.3)
    raise AssertionError(f"no confirmation letter to {address}")


def test_markup_in_a_registered_email_is_shown_as_text(page, watch, db_env, app_server):
    for n, address in enumerate((EVIL_EMAIL, EVIL_EMAIL_2)):
        login = f"xss{n}u{int(time.time() * 1000) % 10_000_000}"
        page.goto("/register")
        expect(page.get_by_role("img", name="Картинка с кодом авторизации")).to_have_attribute(
            "src", re.compile("^data:image/png"))  # hydrated: on_load has run
        page.get_by_label("Логин").fill(login)
        page.get_by_label("Адрес электронной почты").fill(address)
        page.get_by_label("Номер телефона").fill("+7 912 555 44 33")
        page.get_by_label("Пароль", exact=True).fill("Надёжный пароль 4321")
        page.get_by_label("Подтверждение пароля").fill("Надёжный пароль 4321")
        page.get_by_label("Код авторизации").fill(CAPTCHA_CODE)
        page.get_by_role("button", name="Зарегистрироваться").click()
        expect(page.locator("#done-email")).to_have_text(address)
        _no_script_ran(page, watch)

        # The development mailbox lists the letter with the address as text.
        link = _confirmation_link(db_env, address)
        page.goto("/dev/mail")
        expect(page.get_by_text(address, exact=False).first).to_be_visible()
        _no_script_ran(page, watch)

        # The link's button logs in; the profile shows the address literally, templates unevaluated.
        page.goto(link.replace(link.split("/confirm/")[0], app_server.url))
        page.get_by_role("button", name="Войти в личный кабинет").click()
        expect(page).to_have_url(re.compile(r"/profile/?$"))
        expect(page.get_by_test_id("profile-email")).to_contain_text(address)
        assert "49" not in page.get_by_test_id("profile-email").inner_text()
        _no_script_ran(page, watch)
        page.reload()
        expect(page.get_by_test_id("profile-email")).to_contain_text(address)
        _no_script_ran(page, watch)
        page.get_by_role("button", name="Выйти").click()
        expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()


def test_markup_in_the_url_is_not_executed(page, watch, app_server):
    from urllib.parse import quote

    # The login of a refused attempt comes back from its cookie (never the address).
    page.context.add_cookies([{"name": "lkk_login_hint", "value": quote(REFLECTED, safe=""),
                               "url": app_server.url}])
    page.goto("/?e=invalid&login=ignored")
    expect(page.get_by_text("Неверное имя пользователя или пароль")).to_be_visible()
    value = page.get_by_label("Имя пользователя").input_value()
    assert value in (REFLECTED, REFLECTED[:64]), value
    _no_script_ran(page, watch)

    for url in (f"/confirm-failed?reason={quote(REFLECTED)}",
                "/?next=javascript:alert(5)", "/?next=%2F%2Fevil.example%2F",
                f"/forgot?login={quote(REFLECTED)}", f"/register?email={quote(REFLECTED)}",
                f"/no/such/{quote(REFLECTED)}"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        _no_script_ran(page, watch)


def test_an_injected_inline_script_would_be_blocked(page, watch, app_server):
    """The CSP itself: a script element added to the page without a matching
    hash does not run (defence in depth behind React's escaping)."""
    page.goto("/")
    page.wait_for_load_state("networkidle")
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__xss = 1';
        document.body.appendChild(s);
        const img = document.createElement('img');
        img.setAttribute('onerror', 'window.__xss = 2');
        img.src = 'data:,x';
        document.body.appendChild(img);
    }""")
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    watch.collect_csp(page)
    assert any("script-src" in v for v in watch.csp), watch.csp
