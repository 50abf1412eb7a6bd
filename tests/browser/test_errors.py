"""A handler that fails shows a Russian message in the page (no eval: the CSP
forbids it, and Reflex's own error toast needs it), and the form is usable again."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time

from playwright.sync_api import expect

from lkk_app.db import SQLITE_BUSY_TIMEOUT_SECONDS
from tests.browser.conftest import lose_connection, shot, watch_event_sockets
from tests.browser.test_register import fill_registration, open_registration

# The message of lkk_app/i18n/ "error.handler_failed".
MESSAGE = re.compile(r"^Не удалось выполнить действие: сервер временно не отвечает")


@contextlib.contextmanager
def database_locked(app_server, seconds: float):
    """Another connection holds the server database's write lock (``BEGIN
    EXCLUSIVE``) for ``seconds`` — longer than the app waits for it — or until
    the block ends, whichever comes first."""
    conn = sqlite3.connect(app_server.data_dir / "lkk.db", isolation_level=None,
                           check_same_thread=False, timeout=10)
    conn.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def release() -> None:
        released.wait(seconds)
        conn.rollback()
        conn.close()

    holder = threading.Thread(target=release, daemon=True)
    holder.start()
    try:
        yield
    finally:
        released.set()
        holder.join(timeout=10)


def test_a_locked_database_shows_the_message_and_the_form_comes_back(page, app_server):
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    open_registration(page)
    login = f"locked{time.monotonic_ns() % 10**8}"
    fill_registration(page, login, f"{login}@example.com")
    # Named «Зарегистрироваться» when idle, «Регистрация…» while busy.
    button = page.locator("form button[type=submit]")
    expect(button).to_have_accessible_name("Зарегистрироваться")
    started = time.monotonic()
    with database_locked(app_server, SQLITE_BUSY_TIMEOUT_SECONDS + 15):
        button.click()
        expect(button).to_have_attribute("aria-busy", "true")
        banner = page.get_by_role("alert").filter(has_text=MESSAGE)
        expect(banner).to_be_visible(timeout=(SQLITE_BUSY_TIMEOUT_SECONDS + 15) * 1000)
        waited = time.monotonic() - started
        shot(page, "error-banner")
        # Back to idle: the button can be pressed again.
        expect(button).to_have_attribute("aria-busy", "false")
        expect(button).to_be_enabled()
        expect(button).to_have_accessible_name("Зарегистрироваться")
    assert waited >= SQLITE_BUSY_TIMEOUT_SECONDS - 1  # it was the lock, not something else
    assert not csp_errors, csp_errors  # nothing was eval'd (and blocked)
    log = app_server.log_text()
    assert "event handler failed: OperationalError (database is locked) at lkk_app/" in log

    # The database is free again: the message can be closed, and the next try works.
    page.get_by_role("button", name="Закрыть").click()
    expect(page.get_by_role("alert").filter(has_text=MESSAGE)).to_have_count(0)
    button.click()
    expect(page.get_by_text(f"{login}@example.com")).to_be_visible()


def test_an_unknown_address_has_a_russian_page_with_the_way_back(page, app_server):
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Страница не найдена")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.title() == "Страница не найдена"
    shot(page, "not-found")
    page.set_viewport_size({"width": 375, "height": 740})
    shot(page, "not-found-375")
    page.get_by_role("link", name="Перейти к окну входа").click()
    expect(page.get_by_label("Имя пользователя")).to_be_visible()
    # «/login» is the login window too.
    page.goto("/login?next=%2Fcontracts")
    expect(page).to_have_url(re.compile(r"/\?next=%2Fcontracts$"))
    expect(page.get_by_label("Имя пользователя")).to_be_visible()


def test_a_lost_connection_is_told_in_russian_and_goes_away(page, context, app_server):
    sockets = watch_event_sockets(page)
    page.goto("/")
    expect(page.get_by_label("Имя пользователя")).to_be_visible()
    expect(page.get_by_test_id("connection-lost")).to_have_count(0)
    lose_connection(page, sockets)
    notice = page.get_by_test_id("connection-lost")
    expect(notice).to_be_visible(timeout=30_000)
    expect(notice).to_have_text(re.compile(r"^Нет связи с сервером\. Проверьте подключение к интернету"))
    expect(notice).to_have_attribute("role", "alert")
    # No toast region named in English (Reflex's «Notifications alt+T»).
    expect(page.locator("[aria-label*='Notifications']")).to_have_count(0)
    shot(page, "connection-lost")
    page.set_viewport_size({"width": 375, "height": 740})
    shot(page, "connection-lost-375")
    context.set_offline(False)
    expect(notice).to_have_count(0, timeout=30_000)
    expect(page.get_by_label("Имя пользователя")).to_be_visible()
