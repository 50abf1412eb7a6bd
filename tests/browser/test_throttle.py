"""Issue: brute-force defences in the login window — after 5 wrong passwords
the «Код авторизации» block and the wait appear; after the wait the code and
the right password open the cabinet."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import CAPTCHA_CODE, shot

GENERIC = "Неверное имя пользователя или пароль"
WAIT = re.compile(r"Слишком много неудачных попыток входа\. Повторите попытку через .+ \(после \d\d:\d\d:\d\d\)")


def submit(page, login: str, password: str, code: str | None = None) -> None:
    page.get_by_label("Имя пользователя").fill(login)
    page.get_by_label("Пароль").fill(password)
    if code is not None:
        page.get_by_label("Код авторизации").fill(code)
    # Wait for the document that answers the post.  (``expect_navigation`` can
    # be satisfied by the router's own history update on the old page, and the
    # next attempt then cancels this one in flight.)
    page.evaluate("document.documentElement.dataset.answered = 'no'")
    page.get_by_role("button", name="Войти").click()
    page.wait_for_selector("html:not([data-answered])", state="attached")
    page.wait_for_load_state()


def _keys(login: str) -> list[str]:
    """The throttle keys of ``login`` tried from this machine's browser (the
    server sees it as 127.0.0.1 or ::1)."""
    from lkk_app.auth import throttle

    return [throttle.client_key(login, ip=ip) for ip in ("127.0.0.1", "::1")]


def _throttle_rows(login: str) -> list:
    from lkk_app.db import session_scope
    from lkk_app.models import LoginThrottle

    with session_scope() as s:
        return list(s.execute(sa.select(LoginThrottle.failures, LoginThrottle.throttled_until)
                              .where(LoginThrottle.key_hash.in_(_keys(login)))).all())


def _end_the_wait(login: str) -> None:
    """Test-only: the server's wait is over (frozen time is impossible in the browser)."""
    from lkk_app.db import session_scope
    from lkk_app.models import LoginThrottle
    from lkk_app.core import clock

    with session_scope() as s:
        result = s.execute(sa.update(LoginThrottle.__table__)
                           .where(LoginThrottle.__table__.c.key_hash.in_(_keys(login)))
                           .values(throttled_until=clock.utcnow() - timedelta(seconds=1)))
        assert result.rowcount == 1


def _shorten_the_wait(login: str, seconds: int) -> None:
    """Test-only: the server's wait ends in ``seconds``."""
    from lkk_app.core import clock
    from lkk_app.db import session_scope
    from lkk_app.models import LoginThrottle

    with session_scope() as s:
        result = s.execute(sa.update(LoginThrottle.__table__)
                           .where(LoginThrottle.__table__.c.key_hash.in_(_keys(login)))
                           .values(throttled_until=clock.utcnow() + timedelta(seconds=seconds)))
        assert result.rowcount == 1


def test_the_wait_counts_down_and_says_when_it_is_over(page, make_user, db_env):
    login, password, _ = make_user()
    page.goto("/")
    for _ in range(5):
        submit(page, login, "Неверный пароль 1")
    expect(page.locator("#login-wait")).to_have_text(WAIT)
    tick = page.locator("#login-wait .wait-tick")
    expect(tick).to_have_text(re.compile(r"Повторите попытку через (2\d|30) с$"))
    first = int(re.search(r"через (\d+) с", tick.inner_text()).group(1))
    # Every second, in the browser, without a round trip.
    expect(tick).to_have_text(re.compile(rf"через {first - 2} с$"), timeout=4_000)
    # The server's words stay for screen readers; the ticking line is hidden from them.
    expect(tick).to_have_attribute("aria-hidden", "true")
    expect(page.locator("#login-wait .wait-text")).to_have_text(re.compile(r"Повторите попытку через"))
    shot(page, "login-wait-ticking")

    _shorten_the_wait(login, 3)
    page.reload()
    over = "Время ожидания истекло. Можно повторить попытку входа."
    expect(tick).to_have_text(over, timeout=8_000)
    expect(page.locator("#login-wait .wait-said")).to_have_text(over)
    expect(page.locator("#login-wait .wait-clock")).to_be_hidden()
    expect(page.locator("#login-wait .wait-text")).to_be_hidden()
    shot(page, "login-wait-over")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "login-wait-over-phone")
    # And indeed: the code and the right password open the cabinet.
    submit(page, login, password, CAPTCHA_CODE)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_five_wrong_passwords_bring_the_code_and_a_wait(page, make_user, db_env):
    login, password, _ = make_user()
    page.goto("/")
    expect(page.get_by_label("Код авторизации")).to_have_count(0)
    for attempt in range(1, 6):
        submit(page, login, "Неверный пароль 1")
        expect(page.get_by_text(GENERIC)).to_be_visible()
        if attempt < 5:
            expect(page.get_by_label("Код авторизации")).to_have_count(0)
    # The 5th failure: the code block with a drawn image, and the wait as the
    # local clock time.
    code_input = page.get_by_label("Код авторизации")
    expect(code_input).to_be_visible()
    image = page.locator("#captcha-img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 100
    assert page.locator('input[name="captcha_id"]').get_attribute("value")
    expect(page.locator("#login-wait")).to_have_text(WAIT)
    expect(page.get_by_label("Имя пользователя")).to_have_value(login)
    shot(page, "login-throttled")

    # «Обновить код» draws another code.
    first_src = image.get_attribute("src")
    first_id = page.locator('input[name="captcha_id"]').get_attribute("value")
    page.get_by_role("button", name="Обновить код").click()
    expect(page.locator('input[name="captcha_id"]')).not_to_have_value(first_id)
    assert image.get_attribute("src") != first_src

    # During the wait even the right password and code are refused.
    submit(page, login, password, CAPTCHA_CODE)
    expect(page.locator("#login-wait")).to_have_text(WAIT)
    expect(page.get_by_text(GENERIC)).to_have_count(0)
    assert re.search(r"[?&]e=wait(&|$)", page.url)
    assert [f for f, _ in _throttle_rows(login)] == [5]

    # The code is checked in the browser before the round trip.
    page.get_by_label("Имя пользователя").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_label("Код авторизации").fill("")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator("#code-error")).to_have_text("Заполните это поле")
    expect(page).not_to_have_url(re.compile("/profile"))

    _end_the_wait(login)
    page.reload()
    expect(page.get_by_label("Код авторизации")).to_be_visible()
    expect(page.locator("#login-wait")).to_have_count(0)
    submit(page, login, password, CAPTCHA_CODE)
    expect(page).to_have_url(re.compile(r"/profile/?$"))
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    assert _throttle_rows(login) == []


def test_an_unknown_login_is_throttled_the_same_way(page, db_env):
    who = "nobody-throttled"
    page.goto("/")
    for _ in range(5):
        submit(page, who, "Неверный пароль 1")
    expect(page.get_by_text(GENERIC)).to_be_visible()
    expect(page.get_by_label("Код авторизации")).to_be_visible()
    expect(page.locator("#login-wait")).to_have_text(WAIT)
    # The login window again (the login typed comes back from its cookie): still the code.
    page.goto("/?e=invalid")
    expect(page.get_by_label("Имя пользователя")).to_have_value(who)
    expect(page.get_by_label("Код авторизации")).to_be_visible()


def test_a_known_browser_gets_in_while_someone_else_keeps_failing(page, make_user, db_env,
                                                                  context, browser, app_server):
    """The owner logged in with this browser before (its device cookie); an
    attacker on the same machine and address keeps failing — the owner's login
    needs neither a code nor a wait.  A browser without the cookie is throttled."""
    import httpx

    login, password, _ = make_user()
    page.goto("/")
    submit(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    device = {c["name"]: c for c in context.cookies()}["lkk_device"]
    assert device["httpOnly"] and device["sameSite"] == "Strict"
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()

    with httpx.Client(base_url=app_server.url, headers={"origin": app_server.url}) as attacker:
        for n in range(6):
            attacker.post("/auth/login", data={"login": login, "password": f"угадываю {n}"})
    assert _throttle_rows(login)[0][0] == 5

    stranger = browser.new_context(base_url=app_server.url, locale="ru-RU").new_page()
    stranger.goto("/")
    submit(stranger, login, password)
    expect(stranger.locator("#login-wait")).to_have_text(WAIT)
    stranger.context.close()

    page.goto("/")
    expect(page.get_by_label("Код авторизации")).to_have_count(0)
    submit(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
