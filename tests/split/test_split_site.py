"""The split shape end to end: a new customer registers on the pages' site,
confirms the address with the link from the letter (the server's site), logs
in, opens «Договоры», reloads, logs out and recovers the password; the demo
account downloads a document.  The session cookie is the server's, partitioned for the pages' site."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot, text_of
from tests.browser.test_login import login_as
from tests.split.conftest import API_HOST
from tests.browser.test_recovery import TEMP_RE, request_reset, temp_password
from tests.browser.test_register import PASSWORD, confirmation_link, fill_registration


def _session_cookie(context, split_site) -> dict:
    cookies = {c["name"]: c for c in context.cookies() if c["domain"] == API_HOST}
    assert "lkk_session" in cookies, context.cookies()
    return cookies["lkk_session"]


def _problems(page) -> list[str]:
    """What goes wrong quietly: a Content-Security-Policy violation, a script
    or stylesheet that did not load."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("requestfailed", lambda r: seen.append(f"{r.url}: {r.failure}")
            if r.resource_type in ("script", "stylesheet", "fetch", "xhr")
            and r.failure != "net::ERR_ABORTED" else None)  # cut short by leaving the page
    return seen


def test_register_confirm_log_in_and_out_across_two_sites(split_site, split_context, mailbox):
    page = split_context.new_page()
    violations = _problems(page)
    page.goto("/register")
    expect(page.get_by_role("heading", name="Регистрация пользователя")).to_be_visible()
    # What the pages show from the server: the supplier's logo and the spoken code.
    logo = page.locator("img.supplier-logo").first
    assert logo.get_attribute("src").startswith(split_site.api_url + "/supplier-logo?v=")
    page.wait_for_function("() => document.querySelector('img.supplier-logo').naturalWidth > 0")
    assert page.locator("audio#captcha-audio").get_attribute("src").startswith(split_site.api_url + "/captcha/audio/")
    page.get_by_role("button", name="Прослушать код").click()
    page.wait_for_function("() => document.getElementById('captcha-audio').currentTime > 0.3")
    fill_registration(page, "Razdelny", "razdelny@example.com")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text("razdelny@example.com")).to_be_visible()

    # The letter's link is the server's; confirming sends the person back to the pages.
    link = confirmation_link(mailbox.wait_for("razdelny@example.com")[0])
    assert link.startswith(split_site.api_url + "/confirm/"), link
    page.goto(link)
    expect(page.get_by_text("после чего войдите в личный кабинет")).to_be_visible()
    # The server's plain page takes the stylesheet from the pages' site.
    expect(page.locator("body")).to_have_css("font-family", re.compile("Segoe UI"))
    page.get_by_role("button", name="Подтвердить адрес").click()
    expect(page.get_by_text("Адрес электронной почты подтверждён. Войдите с логином и паролем.")).to_be_visible()
    assert page.url.startswith(split_site.front_url + "/")

    # The server out of reach: the page says so and keeps the form.
    page.route("**/auth/login*", lambda route: route.abort())
    login_as(page, "Razdelny", PASSWORD)
    expect(page.get_by_role("alert").filter(has_text="Не удалось связаться с сервером")).to_be_visible()
    page.unroute("**/auth/login*")
    violations[:] = [v for v in violations if "/auth/login?via=fetch: net::ERR_FAILED" not in v]  # that one
    with page.expect_response(lambda r: "/auth/login" in r.url) as answer:
        page.get_by_role("button", name="Войти").click()
    assert "; Partitioned" in (answer.value.header_value("set-cookie") or ""), answer.value.headers
    expect(page.get_by_test_id("profile-login")).to_have_text("Razdelny")
    assert page.url == split_site.front_url + "/profile"
    cookie = _session_cookie(split_context, split_site)
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "None"
    # The page's own scripts cannot read it.
    assert "lkk_session" not in page.evaluate("document.cookie")

    page.get_by_role("link", name="Договоры").click()
    expect(page.get_by_role("heading", name="Договоры", exact=True)).to_be_visible()
    page.reload()  # a new websocket: the cookie goes with it
    expect(page.get_by_role("heading", name="Договоры", exact=True)).to_be_visible()
    expect(page.locator("body")).to_have_css("font-family", re.compile("Segoe UI"))  # the stylesheet
    shot(page, "split-contracts")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "split-contracts-375")
    page.set_viewport_size({"width": 1280, "height": 720})

    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_text("Вы вышли из личного кабинета.")).to_be_visible()
    page.goto("/profile")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()

    # «Забыли пароль?»: the temporary password opens «Смена пароля» on the pages' site.
    request_reset(page, "Razdelny", "razdelny@example.com")
    letter = next(m for m in mailbox.wait_for("razdelny@example.com", count=2) if TEMP_RE.search(text_of(m)))
    page.goto("/")
    login_as(page, "Razdelny", temp_password(letter))
    expect(page.get_by_role("heading", name="Смена пароля")).to_be_visible()
    assert page.url == split_site.front_url + "/change-password"
    assert violations == []


def test_a_wrong_password_is_said_and_a_document_downloads(split_site, split_context):
    from lkk_app.billing.demo_access import DEMO_LOGIN, DEMO_PASSWORD

    page = split_context.new_page()
    violations = _problems(page)
    page.goto("/")
    login_as(page, DEMO_LOGIN, "не тот пароль")
    expect(page.get_by_text("Неверное имя пользователя или пароль")).to_be_visible()
    # The login comes back from its (partitioned) hint cookie.
    expect(page.get_by_label("Имя пользователя")).to_have_value(DEMO_LOGIN)
    page.get_by_label("Пароль").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_test_id("profile-login")).to_have_text(DEMO_LOGIN)

    page.get_by_role("link", name="Документы").click()
    link = page.get_by_test_id("document-row").get_by_role("link", name=re.compile("^Скачать ")).first
    expect(link).to_be_visible()
    assert link.get_attribute("href").startswith(split_site.api_url + "/files/")
    page.route("**/files/**", lambda route: route.abort())
    link.click()
    expect(page.get_by_role("alert").filter(has_text="Не удалось скачать файл")).to_be_visible()
    page.unroute("**/files/**")
    violations[:] = [v for v in violations if "/files/" not in v]  # the refused one
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".pdf")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert violations == []
