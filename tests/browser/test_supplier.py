"""The deployment's supplier (LKK_SUPPLIER_*, LKK_SUPPORT_*): the test server runs
as «АО «Северный Энергосбыт»» with its own colours and phones (conftest), not the
demo defaults — its name on the login window and in the cabinet header, its
colours as the two CSS variables, its logo, «Служба поддержки» and its letters."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import (
    SUPPLIER_ACCENT,
    SUPPLIER_NAME,
    SUPPLIER_PRIMARY,
    SUPPORT_EMAIL,
    shot,
    text_of,
)
from tests.browser.test_login import login_as

CSS_VAR = "name => getComputedStyle(document.documentElement).getPropertyValue(name).trim()"
LOGO_LOADED = "img => img.complete && img.naturalWidth > 0"


def _rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_the_login_window_and_the_header_show_the_deployments_supplier(page, make_user):
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto("/")
        brand = page.locator(".auth-page .supplier-brand")
        expect(brand.get_by_test_id("supplier-name")).to_have_text(SUPPLIER_NAME)
        expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
        assert page.evaluate(LOGO_LOADED, brand.locator("img").element_handle())
        assert page.evaluate(CSS_VAR, "--supplier-primary") == SUPPLIER_PRIMARY
        assert page.evaluate(CSS_VAR, "--supplier-accent") == SUPPLIER_ACCENT
        # The primary colour is the links' and the «?»'s.
        help_bg = page.locator(".help-link").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert help_bg == _rgb(SUPPLIER_PRIMARY)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"supplier-login-{width}")

    page.set_viewport_size({"width": 1280, "height": 800})
    login, password, _ = make_user()
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    header = page.locator(".cabinet-header")
    expect(header.get_by_test_id("supplier-name")).to_have_text(SUPPLIER_NAME)
    assert page.evaluate(LOGO_LOADED, header.locator(".supplier-logo").element_handle())
    assert header.evaluate("e => getComputedStyle(e).borderTopColor") == _rgb(SUPPLIER_ACCENT)
    active = page.locator(".tab-active")
    assert active.evaluate("e => getComputedStyle(e).borderBottomColor") == _rgb(SUPPLIER_ACCENT)
    shot(page, "supplier-header-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    expect(header.get_by_test_id("supplier-name")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "supplier-header-375")


def test_the_logo_is_served_as_an_image(page, app_server):
    response = page.request.get(app_server.url + "/supplier-logo")
    assert response.status == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src" in response.headers["content-security-policy"]


def test_support_page_and_letters_speak_for_the_supplier(page, make_user, mailbox):
    page.goto("/")
    page.get_by_role("link", name="Служба поддержки").click()
    expect(page.get_by_test_id("support-supplier")).to_have_text(SUPPLIER_NAME)
    expect(page.get_by_role("link", name="+7 800 100-20-30")).to_have_attribute("href", "tel:+7-800-100-20-30")
    expect(page.get_by_role("link", name="+7 812 000-11-22")).to_have_attribute("href", "tel:+7-812-000-11-22")
    expect(page.get_by_test_id("support-address")).to_contain_text("г. Москва")
    expect(page.get_by_role("link", name=SUPPORT_EMAIL)).to_have_attribute("href", "mailto:" + SUPPORT_EMAIL)

    # The password-changed letter: signed by the supplier, says when and from where.
    login, password, email = make_user()
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    new = "Северное сияние над Онегой 2027"
    page.get_by_label("Текущий пароль").fill(password)
    page.get_by_label("Новый пароль").fill(new)
    page.get_by_label("Подтверждение пароля").fill(new)
    page.get_by_role("button", name="Изменить пароль").click()
    expect(page.get_by_text(re.compile(r"^Пароль изменён\. Все остальные сеансы"))).to_be_visible()
    (letter,) = [m for m in mailbox.wait_for(email) if "изменён" in str(m["Subject"])]
    text = text_of(letter)
    assert f"С уважением,\n{SUPPLIER_NAME}\n" in text
    assert f"Служба поддержки: +7 800 100-20-30, +7 812 000-11-22, {SUPPORT_EMAIL}" in text
    assert re.search(r"^Когда: \d\d\.\d\d\.\d{4} \d\d:\d\d \(UTC\+3\)\.$", text, re.M), text
    assert re.search(r"^Откуда: IP-адрес 127\.0\.0\.1; .*Chrom.*\.$", text, re.M), text
    assert "Если пароль изменили Вы" in text and " вы " not in text
