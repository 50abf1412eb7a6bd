"""«Профиль»: «Сеансы» (active sessions, ending one or all others) and
«Журнал безопасности» (the security journal)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_login import login_as

SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
NEW = "Совсем новый пароль 2028"


def _open_profile(page, login: str, password: str) -> None:
    page.goto("/")
    login_as(page, login, password)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def _other_device(browser, app_server, login: str, password: str, user_agent: str):
    ctx = browser.new_context(base_url=app_server.url, locale="ru-RU", user_agent=user_agent)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    _open_profile(page, login, password)
    return ctx, page


def _moscow_time_now() -> re.Pattern:
    """The current minute in Moscow (UTC+3, the server's default LKK_TIME_ZONE)
    or one of the five before, as shown: ``03.12.2026 14:05``."""
    now = datetime.now(UTC) + timedelta(hours=3)
    return re.compile("|".join(re.escape((now - timedelta(minutes=m)).strftime("%d.%m.%Y %H:%M"))
                               for m in range(6)))


def _sessions(page):
    return page.locator("#sessions").get_by_test_id("session-row")


ENDED = "Сеанс завершён. Войдите снова."


def _on_login_window(page) -> None:
    """The login window that says why: this browser's session has ended."""
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    expect(page.get_by_test_id("profile-login")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text=ENDED)).to_be_visible()


def _audit_rows(login: str, event: str):
    from sqlmodel import select

    from lkk_app.db import session_scope
    from lkk_app.models import AuditEvent, User

    with session_scope() as s:
        user = s.exec(select(User).where(User.login == login)).one()
        return list(s.exec(select(AuditEvent).where(AuditEvent.user_id == user.id)
                           .where(AuditEvent.event == event)).all())


def test_end_another_session(browser, app_server, page, make_user, db_env):
    login, password, _ = make_user()
    _open_profile(page, login, password)
    other_ctx, other = _other_device(browser, app_server, login, password, SAFARI_IPHONE)

    page.reload()
    rows = _sessions(page)
    expect(rows).to_have_count(2)
    mine = rows.filter(has_text="Этот сеанс")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("Chrome, Linux")
    expect(mine).to_contain_text("127.0.0.1")
    expect(mine.get_by_role("button", name=re.compile("Завершить"))).to_have_count(0)
    theirs = rows.filter(has_text="Safari, iPhone")
    expect(theirs).to_have_count(1)
    expect(theirs).not_to_contain_text("Этот сеанс")
    expect(theirs).to_contain_text(_moscow_time_now())
    expect(theirs).not_to_contain_text("UTC")
    # Column names for the table, the device named in the button for screen readers.
    for name in ("Устройство", "IP-адрес", "Начат", "Последняя активность"):
        expect(page.locator("#sessions").get_by_role("columnheader", name=name)).to_be_attached()
    expect(page.locator("#sessions")).to_contain_text("Если Вы не узнаёте сеанс")
    html = page.content()
    shot(page, "profile-sessions")

    # From the keyboard; the row goes away with its button, the focus goes to what was done.
    theirs.get_by_role("button", name="Завершить: Safari, iPhone, 127.0.0.1").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("sessions-message")).to_have_text("Сеанс завершён.")
    expect(page.get_by_test_id("sessions-message")).to_be_focused()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("button", name="Выйти на всех устройствах")).to_have_count(0)
    expect(page.locator("#sessions")).to_contain_text("Других активных сеансов нет")

    # The other browser is out at its next action (here: another tab, no reload),
    # is told why, and comes back to where it was going after logging in again.
    other.get_by_role("link", name="Договоры").click()
    _on_login_window(other)
    expect(other).to_have_url(re.compile(r"/\?next=/contracts&expired=1$"))
    shot(other, "session-ended")
    other.set_viewport_size({"width": 375, "height": 800})
    shot(other, "session-ended-phone")
    # This one stays.
    page.reload()
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    expect(_sessions(page)).to_have_count(1)
    journal = page.locator("#journal")
    expect(journal.get_by_test_id("journal-row").filter(has_text="Сеанс завершён").first
           ).to_contain_text("завершён в разделе «Сеансы»")
    # The audit record names this browser (read from the websocket's handshake).
    [ended] = _audit_rows(login, "session_ended")
    assert ended.detail == "ended by user" and ended.ip == "127.0.0.1"
    assert "Chrome" in ended.user_agent, ended.user_agent
    # Only ids, names, addresses and times went to the page: no token, no hash.
    from sqlmodel import select

    from lkk_app.db import session_scope
    from lkk_app.models import UserSession

    with session_scope() as s:
        hashes = list(s.exec(select(UserSession.token_hash)).all())
    cookies = [c["value"] for c in page.context.cookies()]
    for secret in hashes + cookies:
        assert secret not in html and secret not in page.content()
    # The other browser logs in again and lands where it was going.
    login_as(other, login, password)
    expect(other).to_have_url(re.compile(r"/contracts/?$"))
    other_ctx.close()


def test_log_out_on_all_other_devices(browser, app_server, page, make_user):
    login, password, _ = make_user()
    _open_profile(page, login, password)
    a_ctx, a = _other_device(browser, app_server, login, password, SAFARI_IPHONE)
    b_ctx, b = _other_device(browser, app_server, login, password, FIREFOX_WINDOWS)
    page.reload()
    expect(_sessions(page)).to_have_count(3)
    expect(_sessions(page).filter(has_text="Firefox, Windows")).to_have_count(1)

    # The keyboard alone.  The question takes the focus (on «Отмена»), Escape
    # cancels, and the focus is back on the button that asked.
    opener = page.get_by_role("button", name="Выйти на всех устройствах")
    cancel = page.get_by_role("button", name="Отмена")
    opener.focus()
    page.keyboard.press("Enter")
    question = page.locator("#end-all-question")
    expect(question).to_contain_text("Этот сеанс останется открытым")
    expect(cancel).to_be_focused()
    shot(page, "profile-sessions-confirm")
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "profile-sessions-confirm-phone")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.keyboard.press("Escape")
    expect(question).to_have_count(0)
    expect(opener).to_be_focused()
    expect(_sessions(page)).to_have_count(3)
    # «Отмена» itself does the same.
    page.keyboard.press("Enter")
    expect(cancel).to_be_focused()
    page.keyboard.press("Enter")
    expect(question).to_have_count(0)
    expect(opener).to_be_focused()

    page.keyboard.press("Enter")
    expect(cancel).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Завершить остальные сеансы")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("sessions-message")).to_have_text(
        "Завершено сеансов: 2. Этот сеанс остался открытым.")
    # The button that asked is gone (no other sessions): the focus is on what was done.
    expect(page.get_by_test_id("sessions-message")).to_be_focused()
    expect(_sessions(page)).to_have_count(1)
    expect(_sessions(page)).to_contain_text("Этот сеанс")

    for other, ctx in ((a, a_ctx), (b, b_ctx)):
        other.reload()
        _on_login_window(other)
        ctx.close()
    page.reload()
    expect(page.get_by_test_id("profile-login")).to_have_text(login)


def test_journal_shows_the_password_change(page, make_user):
    login, password, _ = make_user()
    _open_profile(page, login, password)
    journal = page.locator("#journal")
    expect(journal.get_by_role("columnheader", name="Событие")).to_be_attached()
    expect(journal.get_by_test_id("journal-row").filter(has_text="Пароль изменён")).to_have_count(0)

    page.get_by_label("Текущий пароль").fill(password)
    page.get_by_label("Новый пароль").fill(NEW)
    page.get_by_label("Подтверждение пароля").fill(NEW)
    page.get_by_role("button", name="Изменить пароль").click()
    expect(page.get_by_text(re.compile("Пароль изменён. Все остальные сеансы"))).to_be_visible()
    # At once, without a reload.
    changed = journal.get_by_test_id("journal-row").filter(has_text="Пароль изменён")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("успешно")
    expect(changed).to_contain_text("127.0.0.1")
    expect(changed).to_contain_text(_moscow_time_now())
    expect(changed).not_to_contain_text("UTC")
    page.reload()
    expect(journal.get_by_test_id("journal-row").first).to_contain_text("Пароль изменён")
    journal.scroll_into_view_if_needed()
    shot(page, "profile-journal")
    assert password not in page.content() and NEW not in page.content()


def test_sessions_and_journal_on_a_phone_screen(browser, app_server, page, make_user):
    login, password, _ = make_user()
    _open_profile(page, login, password)
    other_ctx, _other = _other_device(browser, app_server, login, password, SAFARI_IPHONE)
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(_sessions(page)).to_have_count(2)
    # Stacked rows: every cell names its column.
    first = _sessions(page).first
    expect(first.locator("td").nth(1)).to_have_attribute("data-label", "IP-адрес")
    label = first.locator("td").nth(1).evaluate(
        "td => getComputedStyle(td, '::before').content")
    assert "IP-адрес" in label, label
    button = page.get_by_role("button", name=re.compile("^Завершить: Safari, iPhone"))
    expect(button).to_be_visible()
    page.locator("#sessions").scroll_into_view_if_needed()
    shot(page, "profile-sessions-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scroll on a phone: {width}px"
    box = button.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
    other_ctx.close()


def test_a_tab_left_open_after_logging_out_in_another_says_the_session_ended(context, make_user):
    login, password, _ = make_user()
    first = context.new_page()
    _open_profile(first, login, password)
    second = context.new_page()
    second.goto("/profile")
    expect(second.get_by_test_id("profile-login")).to_have_text(login)
    first.get_by_role("button", name="Выйти").click()
    expect(first.get_by_role("status").filter(has_text="Вы вышли из личного кабинета.")).to_be_visible()
    # The second tab's next event finds no session: the login window says it has ended.
    second.locator("#notifications input[type=checkbox]").first.click()
    _on_login_window(second)


def test_an_expired_session_says_so_at_the_next_page_load(page, make_user):
    login, password, _ = make_user()
    _open_profile(page, login, password)
    from sqlmodel import select

    from lkk_app.core import clock
    from lkk_app.db import session_scope
    from lkk_app.models import User, UserSession

    # Test-only: the session has been idle longer than allowed.
    with session_scope() as s:
        user = s.exec(select(User).where(User.login == login)).one()
        for row in s.exec(select(UserSession).where(UserSession.user_id == user.id)).all():
            row.last_seen_at = clock.utcnow() - timedelta(days=2)
            s.add(row)
    page.reload()
    _on_login_window(page)
