"""No password, hash or session token in any websocket frame."""

from __future__ import annotations

import hashlib

from playwright.sync_api import expect

from tests.browser.test_login import login_as


def test_no_secret_in_any_websocket_frame(page, context, make_user):
    login, password, _ = make_user()
    frames: list[str] = []

    def on_ws(ws):
        for event in ("framereceived", "framesent"):
            ws.on(event, lambda payload: frames.append(
                payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    page.on("websocket", on_ws)
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    page.reload()
    expect(page.get_by_test_id("profile-login")).to_have_text(login)

    token = {c["name"]: c["value"] for c in context.cookies()}["lkk_session"]
    from lkk_app.db import session_scope
    from lkk_app.auth import users

    with session_scope() as s:
        password_hash = users.get_user_by_login(s, login).password_hash
    secrets = {
        "password": password,
        "password hash": password_hash,
        "session token": token,
        "session token hash": hashlib.sha256(token.encode()).hexdigest(),
    }
    assert frames, "no websocket traffic was seen at all"
    assert any(login in f for f in frames), "profile data should travel in frames"
    for name, value in secrets.items():
        leaked = [f[:200] for f in frames if value in f]
        assert not leaked, f"{name} found in websocket frames: {leaked}"


def test_captcha_answer_never_reaches_the_browser(page, app_server):
    from tests.browser.conftest import CAPTCHA_CODE

    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(
        p if isinstance(p, str) else p.decode("utf-8", "replace"))))
    page.goto("/register")
    img = page.get_by_role("img", name="Картинка с кодом авторизации")
    expect(img).to_be_visible()
    first = img.get_attribute("src")
    page.get_by_role("button", name="Обновить код").click()
    expect(img).not_to_have_attribute("src", first)
    assert any("data:image/png;base64" in f for f in frames)
    assert not [f[:120] for f in frames if CAPTCHA_CODE in f]
    assert CAPTCHA_CODE not in page.content()
