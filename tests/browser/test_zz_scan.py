"""The leak scan, run last in the browser session: after a complete flow —
register, confirm, log in, change phone and password, a failed login, log out,
recover with a temporary password, set a new one — no secret used during the
run appears in what an outsider or an operator could read:

* websocket frames the server sent to the browser,
* every page's HTML,
* the server's log,
* any row of any table,

and the frames the browser sent hold only what the person typed into a
websocket form (a password being set, the captcha answer) — never a session
token, a confirmation token, a temporary password or the secret key.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import CAPTCHA_CODE, text_of
from tests.browser.test_login import login_as
from tests.browser.test_recovery import request_reset, temp_password
from tests.browser.test_register import (confirmation_link, fill_registration, open_confirmation,
                                         open_registration)

P1 = "Первый пароль сканера 11"
P2 = "Второй пароль сканера 22"
P3 = "Третий пароль сканера 33"
WRONG = "Неверный пароль сканера 44"


def _dump_tables() -> str:
    import sqlalchemy as sa

    from lkk_app.db import get_engine

    engine = get_engine()
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    lines = []
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            for row in conn.execute(sa.select(table)).all():
                lines.append(f"{name}: {tuple(row)!r}")
    assert any(line.startswith("lkk_user:") for line in lines)
    return "\n".join(lines)


def test_no_secret_anywhere_after_a_full_flow(page, context, app_server, mailbox, db_env):
    received: list[str] = []
    sent: list[str] = []
    html: list[str] = []

    def on_ws(ws):
        ws.on("framereceived", lambda p: received.append(p if isinstance(p, str) else p.decode("utf-8", "replace")))
        ws.on("framesent", lambda p: sent.append(p if isinstance(p, str) else p.decode("utf-8", "replace")))

    page.on("websocket", on_ws)
    tokens: set[str] = set()

    def snap():
        html.append(page.content())
        for c in context.cookies():
            if c["name"] in ("lkk_session", "lkk_pending"):
                tokens.add(c["value"])

    login = f"scanner{time.monotonic_ns() % 10**8}"
    email = f"{login}@example.com"

    # Register and confirm.
    open_registration(page)
    fill_registration(page, login, email, password=P1, phone="8 912 777 66 55")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text(email)).to_be_visible()
    snap()
    link = confirmation_link(mailbox.wait_for(email)[0])
    confirm_token = link.rsplit("/", 1)[1]
    open_confirmation(page, link)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    snap()

    # Profile: phone, a refused and an accepted password change.
    page.get_by_label("Номер телефона", exact=True).fill("8 912 777 66 00")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Номер телефона сохранён.")).to_be_visible()
    for current in (WRONG, P1):
        page.get_by_label("Текущий пароль").fill(current)
        page.get_by_label("Новый пароль").fill(P2)
        page.get_by_label("Подтверждение пароля").fill(P2)
        page.get_by_role("button", name="Изменить пароль").click()
        expect(page.get_by_label("Текущий пароль")).to_have_value("")
        snap()
    expect(page.get_by_role("status").filter(has_text="Пароль изменён")).to_be_visible()
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    snap()

    # A failed login, then a good one, then out again.
    login_as(page, login, WRONG)
    expect(page.get_by_text("Неверное имя пользователя или пароль")).to_be_visible()
    snap()
    login_as(page, login, P2)
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    snap()
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()

    # Recovery: a temporary password opens «Смена пароля»; set a new one.
    request_reset(page, login, email)
    snap()
    deadline = time.monotonic() + 30
    while not (letters := [m for m in mailbox.to(email) if "Новый пароль:" in text_of(m)]):
        assert time.monotonic() < deadline, "no letter with a temporary password"
        time.sleep(0.2)
    temp = temp_password(letters[-1])
    page.goto("/")
    login_as(page, login, temp)
    expect(page).to_have_url(re.compile(r"/change-password/?$"))
    snap()
    page.get_by_label("Новый пароль").fill(P3)
    page.get_by_label("Подтверждение пароля").fill(P3)
    page.get_by_role("button", name="Сохранить").click()
    expect(page).to_have_url(re.compile(r"/profile/?$"))
    expect(page.get_by_test_id("profile-login")).to_have_text(login)
    snap()
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    snap()

    secret_key = app_server.env.get("LKK_SECRET_KEY") or (app_server.data_dir / "secret_key").read_text().strip()
    assert len(tokens) >= 3, "expected the sessions of three logins"
    secrets = {"password 1": P1, "password 2": P2, "password 3": P3, "wrong password": WRONG,
               "temporary password": temp, "confirmation token": confirm_token,
               "captcha answer": CAPTCHA_CODE, "secret key": secret_key,
               **{f"session token {i}": t for i, t in enumerate(sorted(tokens))}}
    # What the person typed into websocket forms may travel browser -> server, nothing else.
    typed = {"password 1", "password 2", "password 3", "wrong password", "captcha answer"}
    places = {
        "frames received": "\n".join(received),
        "frames sent": "\n".join(sent),
        "page HTML": "\n".join(html),
        "server log": app_server.log_text(),
        "database": _dump_tables(),
    }
    assert received and sent and html
    assert login in places["frames received"], "the scan saw no account data at all"
    leaks = [f"{name} in {place}" for place, text in places.items() for name, value in secrets.items()
             if value in text and not (place == "frames sent" and name in typed)]
    assert not leaks, leaks
