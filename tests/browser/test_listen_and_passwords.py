"""«Прослушать код» (the authorization code spoken), «Показать пароль» and
«Включён Caps Lock», with the keyboard only, on the registration page and in
the native login form."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_register import fill_registration, open_registration


def test_the_registration_code_can_be_heard(page, app_server):
    open_registration(page)
    listen = page.get_by_role("button", name="Прослушать код")
    expect(listen).to_be_visible()
    audio = page.locator("audio#captcha-audio")
    src = audio.get_attribute("src")
    assert src and re.fullmatch(r"/captcha/audio/[A-Za-z0-9_-]{32}", src), src
    # Nothing is fetched before it is asked for.
    assert audio.get_attribute("preload") == "none"
    # The keyboard alone: focus the button, press Enter; the page fetches and plays it.
    listen.focus()
    with page.expect_response(lambda r: "/captcha/audio/" in r.url) as answer:
        page.keyboard.press("Enter")
    response = answer.value
    assert response.status == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "no-store"
    page.wait_for_function("() => { const a = document.getElementById('captcha-audio');"
                           " return a.readyState >= 1 && a.duration > 3; }")
    duration = page.evaluate("document.getElementById('captcha-audio').duration")
    assert 3 < duration < 13  # seven digits with pauses
    assert page.evaluate("document.getElementById('captcha-audio').error") is None
    # It plays (Chromium's headless audio output).
    page.wait_for_function("() => document.getElementById('captcha-audio').currentTime > 0.3")
    expect(page.locator("#code-listen-status")).to_have_text("")
    # «Обновить код» draws a new challenge: the image and the recording change together.
    image = page.get_by_role("img", name="Картинка с кодом авторизации").get_attribute("src")
    page.get_by_role("button", name="Обновить код").click()
    expect(audio).not_to_have_attribute("src", src)
    expect(page.get_by_role("img", name="Картинка с кодом авторизации")).not_to_have_attribute("src", image)
    # The recording of a spent challenge is gone: after a submit, the old one answers 404.
    current = audio.get_attribute("src")
    fill_registration(page, "Listener", "listener@example", password="short")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(audio).not_to_have_attribute("src", current)
    assert page.request.get(app_server.url + current).status == 404
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        box = page.locator(".captcha-row").bounding_box()
        card = page.locator(".card").bounding_box()
        assert box and card and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, width
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"register-code-{width}")


def test_a_missing_recording_says_so(page, app_server):
    open_registration(page)
    # A challenge that no longer exists (as after five minutes): the button says what to do.
    page.evaluate("document.getElementById('captcha-audio').src = '/captcha/audio/' + 'A'.repeat(32)")
    page.get_by_role("button", name="Прослушать код").click()
    expect(page.locator("#code-listen-status")).to_have_text(re.compile("Не удалось воспроизвести код"))


def test_show_password_and_caps_lock_on_registration(page, app_server):
    open_registration(page)
    password = page.get_by_label("Пароль", exact=True)
    expect(password).to_have_attribute("type", "password")
    password.fill("Секрет 2026")
    # Tab from the field reaches its «Показать пароль»; Space shows, Enter hides again.
    page.keyboard.press("Tab")
    toggle = page.get_by_role("button", name="Показать пароль").first
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    expect(password).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Скрыть пароль")).to_be_focused()
    page.keyboard.press("Enter")
    expect(password).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Показать пароль").first).to_be_focused()
    # The confirmation has its own button.
    expect(page.get_by_role("button", name="Показать пароль")).to_have_count(2)

    caps = page.locator("#password-caps")
    expect(caps).to_be_hidden()
    password.focus()
    # Playwright's «CapsLock» key press does not turn Caps Lock on in Chromium
    # (getModifierState("CapsLock") stays false), so the field gets the key
    # events a real keyboard sends with Caps Lock on.
    password.dispatch_event("keydown", {"key": "A", "code": "KeyA", "modifierCapsLock": True})
    expect(caps).to_have_text("Включён Caps Lock")
    expect(caps).to_be_visible()
    shot(page, "register-caps-lock")
    password.dispatch_event("keyup", {"key": "a", "code": "KeyA", "modifierCapsLock": False})
    expect(caps).to_have_text("")
    password.dispatch_event("keydown", {"key": "A", "code": "KeyA", "modifierCapsLock": True})
    expect(caps).to_have_text("Включён Caps Lock")
    page.get_by_label("Логин").focus()  # leaving the field takes the line away
    expect(caps).to_have_text("")
    # The field is described by the line, so a screen reader reads it with the field.
    assert "password-caps" in (password.get_attribute("aria-describedby") or "")


def test_the_native_login_form_still_logs_in_with_the_password_shown(page, make_user):
    login, password, _ = make_user()
    page.goto("/")
    field = page.get_by_label("Пароль", exact=True)
    field.fill(password)
    page.get_by_role("button", name="Показать пароль").click()
    expect(field).to_have_attribute("type", "text")
    expect(field).to_have_value(password)
    shot(page, "login-password-shown")
    page.get_by_label("Имя пользователя").fill(login)
    # What the form holds when it is sent (recorded after /lkk.js had its turn).
    page.evaluate("""document.addEventListener('submit', () => sessionStorage.setItem('sentAs',
        document.getElementById('password').type))""")
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(re.compile(r"/profile/?$"))
    assert page.evaluate("sessionStorage.getItem('sentAs')") == "password"
