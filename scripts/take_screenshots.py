"""Take the screenshots the user guides show, from the real app.

Starts the app (production build, fresh database, development mailbox), walks
through the screens as a user would and saves PNGs into docs/guides/img/.
Then `make guides` rebuilds the PDFs.
    .venv/bin/python scripts/take_screenshots.py
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.appserver import running_app  # noqa: E402
from tests.browser.conftest import lose_connection, watch_event_sockets  # noqa: E402

OUT = ROOT / "docs" / "guides" / "img"
CODE = "4815162"
LOGIN, EMAIL, PASSWORD = "Ivanova", "ivanova@example.ru", "Весенний дождь 2026"
WRONG_PASSWORD = "Осенний дождь 2026"
# Two devices for «Сеансы»: the browser the user works in and a phone.  The
# addresses come from the documentation ranges (RFC 5737) and reach the app as
# X-Forwarded-For with LKK_TRUSTED_PROXY_HOPS=1, as behind a reverse proxy.
DESKTOP = {
    "user_agent": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    "extra_http_headers": {"X-Forwarded-For": "198.51.100.23"},
}
PHONE = {
    "user_agent": ("Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"),
    "extra_http_headers": {"X-Forwarded-For": "203.0.113.45"},
}


def _letters(mail_dir: Path) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(mail_dir.glob("*.eml"))]


def _wait_letter(mail_dir: Path, pattern: str) -> str:
    """The first group of ``pattern`` in the first letter whose text has it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for letter in _letters(mail_dir):
            text = letter.get_body(preferencelist=("plain",)).get_content()
            found = re.search(pattern, text)
            if found:
                return found.group(1)
        time.sleep(0.3)
    raise SystemExit(f"no letter with {pattern!r} arrived")


def main() -> None:
    import openpyxl
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="lkk-shots-"))
    os.environ.setdefault("LKK_TEST_WEB_WORKDIR", ".web-test")
    with running_app(data_dir, LKK_CAPTCHA_FIXED_CODE=CODE, LKK_TRUSTED_PROXY_HOPS="1") as server:
        mail_dir = data_dir / "mail"
        chromium = os.environ.get("LKK_CHROMIUM") or "/usr/bin/chromium"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-quic", "--font-render-hinting=none"])

            def new_page(device: dict):
                ctx = browser.new_context(base_url=server.url, locale="ru-RU",
                                          timezone_id="Europe/Moscow",
                                          viewport={"width": 900, "height": 700},
                                          device_scale_factor=1, **device)
                return ctx.new_page()

            def login_as(page, login: str, password: str) -> None:
                page.goto("/")
                page.get_by_label("Имя пользователя").fill(login)
                page.get_by_label("Пароль").fill(password)
                with page.expect_navigation():
                    page.get_by_role("button", name="Войти").click()

            page = new_page(DESKTOP)

            def shot(name: str, full: bool = False) -> None:
                page.wait_for_timeout(400)
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)

            def shot_of(name: str, *selectors: str, pad: int = 16) -> None:
                """One picture of the elements (page coordinates, beyond the viewport too)."""
                page.wait_for_timeout(400)
                page.evaluate("window.scrollTo(0, 0)")
                boxes = [page.locator(sel).bounding_box() for sel in selectors]
                left = min(b["x"] for b in boxes) - pad
                top = min(b["y"] for b in boxes) - pad
                right = max(b["x"] + b["width"] for b in boxes) + pad
                bottom = max(b["y"] + b["height"] for b in boxes) + pad
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True, clip={
                    "x": max(left, 0), "y": max(top, 0),
                    "width": right - max(left, 0), "height": bottom - max(top, 0)})

            page.goto("/")
            expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
            shot("login")
            page.goto("/register")
            expect(page.get_by_role("img", name="Картинка с кодом авторизации")).to_be_visible()
            page.get_by_label("Логин", exact=True).fill(LOGIN)
            page.get_by_label("Адрес электронной почты").fill(EMAIL)
            page.get_by_label("Пароль", exact=True).fill(PASSWORD)
            page.get_by_label("Подтверждение пароля").fill(PASSWORD)
            shot("register", full=True)
            page.get_by_label("Код авторизации").fill(CODE)
            page.get_by_role("button", name="Зарегистрироваться").click()
            expect(page.get_by_text(EMAIL)).to_be_visible()
            link = _wait_letter(mail_dir, r"(https?://\S+/confirm/\S+)")
            page.goto(link)
            expect(page.get_by_role("button", name="Войти в личный кабинет")).to_be_visible()
            page.get_by_role("button", name="Войти в личный кабинет").click()
            expect(page.get_by_test_id("profile-login")).to_have_text(LOGIN)
            # A second device: one wrong password, then the right one.
            phone = new_page(PHONE)
            login_as(phone, LOGIN, WRONG_PASSWORD)
            expect(phone.get_by_text("Неверное имя пользователя или пароль")).to_be_visible()
            login_as(phone, LOGIN, PASSWORD)
            expect(phone.get_by_test_id("profile-login")).to_have_text(LOGIN)
            phone.context.close()
            page.reload()
            expect(page.get_by_test_id("session-row")).to_have_count(2)
            expect(page.get_by_role("button", name="Выйти на всех устройствах")).to_be_visible()
            # The top of «Профиль»: the account and both forms, in a window
            # just tall enough for them (the panels below have their own picture).
            grid = page.locator(".panel-grid").bounding_box()
            page.set_viewport_size({"width": 900, "height": round(grid["y"] + grid["height"] + 12)})
            shot("profile")
            page.set_viewport_size({"width": 900, "height": 700})
            shot_of("profile-sessions", "#sessions", "#journal")
            # «Договоры»: the empty list, the form, the code step (the code comes
            # from the letter to the demo organisation's e-mail of record), the
            # offer of the organisation's other contract, the list and a card.
            page.set_viewport_size({"width": 1100, "height": 700})
            page.get_by_role("link", name="Договоры").click()
            expect(page.get_by_test_id("contracts-empty")).to_be_visible()
            shot("contracts-empty")
            page.get_by_test_id("bind-start").click()
            page.get_by_label("ИНН").fill("7701000001")
            page.get_by_label("КПП").fill("770101001")
            page.get_by_label("Номер договора").fill("Д-1001")
            page.evaluate("document.activeElement && document.activeElement.blur()")
            shot_of("contracts-bind", "#bind-panel")
            page.get_by_role("button", name="Найти договор").click()
            expect(page.get_by_test_id("code-message")).to_contain_text("e***@romashka-demo.example")
            code = _wait_letter(mail_dir, r"Код подтверждения: (\d{6})")
            page.get_by_label("Код подтверждения").fill(code)
            page.evaluate("document.activeElement && document.activeElement.blur()")
            shot_of("contracts-code", "#bind-panel")
            page.get_by_role("button", name="Подтвердить").click()
            expect(page.get_by_test_id("bind-done")).to_have_text("Договор Д-1001 привязан к личному кабинету.")
            expect(page.get_by_label(re.compile("Д-1002"))).to_be_checked()
            shot("contracts-offer", full=True)
            page.get_by_role("button", name="Подключить отмеченные").click()
            expect(page.get_by_test_id("contract-row")).to_have_count(2)
            page.get_by_role("button", name="Готово").click()
            expect(page.get_by_test_id("as-of")).to_contain_text("Данные на")
            shot("contracts-list")
            page.get_by_role("button", name="Открыть договор Д-1001").click()
            expect(page.get_by_test_id("card-number")).to_have_text("Д-1001")
            shot_of("contracts-card", "#contract-card")
            # «Точки учёта»: the list of Д-1001, a point's card with its meter.
            page.get_by_role("link", name="Точки учёта").click()
            expect(page.get_by_test_id("point-row")).to_have_count(2)
            shot("points-list")
            page.get_by_role("button", name="Открыть точку учёта Склад").click()
            expect(page.get_by_test_id("card-coefficient")).to_contain_text("200/5")
            shot_of("points-card", "#point-card")
            # «Показания»: the form with a rollover to confirm, the result, the file's report.
            page.get_by_role("link", name="Показания", exact=True).click()
            expect(page.get_by_test_id("window-line")).to_contain_text("Приём показаний")
            shot("readings-form", full=True)
            with page.expect_download() as download:
                page.get_by_role("button", name="Скачать шаблон").click()
            template = data_dir / "template.xlsx"
            download.value.save_as(template)
            book = openpyxl.load_workbook(template)
            filled = {"pu-1001-1b-day": "1500,12", "pu-1001-1b-night": "700,05", "pu-1001-2-day": "999900",
                      "pu-1001-2-night": "41242O"}
            for row in book.active.iter_rows(min_row=4):
                if row[0].value in filled:
                    row[7].value = filled[row[0].value]
            book.save(template)
            page.locator("#readings-file input[type=file]").set_input_files(str(template))
            expect(page.get_by_test_id("import-row")).to_have_count(4)
            shot_of("readings-file", "#file-title", "[data-testid=import-row] >> nth=3")
            page.get_by_role("button", name="Отмена").click()
            values = {("Офис", "день"): "1500,12", ("Офис", "ночь"): "700,05", ("Склад", "день"): "20",
                      ("Склад", "ночь"): "412420"}
            for (point, zone), value in values.items():
                group = page.get_by_test_id("meter-group").filter(has_text=point)
                group.get_by_label(f"Новое показание, зона {zone}").fill(value)
            page.get_by_role("button", name="Передать показания").click()
            expect(page.get_by_test_id("reading-warning")).to_be_visible()
            page.evaluate("document.activeElement && document.activeElement.blur()")
            shot_of("readings-warning", ".meter-group >> nth=1", "#readings-message")
            page.get_by_label("Подтверждаю: переход через ноль").check()
            page.get_by_role("button", name="Передать показания").click()
            expect(page.get_by_test_id("readings-done")).to_contain_text("Показания переданы")
            for _ in range(30):  # the demo billing answers within seconds
                page.reload()
                expect(page.get_by_test_id("window-line")).to_be_visible()
                if page.get_by_text("Принято", exact=True).count() >= 4:
                    break
                page.wait_for_timeout(1000)
            shot("readings-accepted", full=True)
            # «Документы» of Д-1001 (November's came with the readings): an act of
            # reconciliation asked for, «готовится» above the list; the request form.
            page.set_viewport_size({"width": 1100, "height": 900})
            page.get_by_role("link", name="Документы", exact=True).click()
            expect(page.get_by_test_id("document-row").first).to_be_visible()
            page.get_by_role("button", name="Запросить акт сверки").click()
            expect(page.get_by_test_id("act-message")).to_contain_text("Запрос отправлен")
            expect(page.get_by_test_id("act-request").first).to_be_visible()
            page.evaluate("document.activeElement && document.activeElement.blur()")
            shot_of("documents-act", "section[aria-labelledby=act-title]")
            page.evaluate("window.scrollTo(0, 0)")
            shot("documents-list")
            # «Расчёты» of Д-1002, which is in debt: the balance, the plan; the chart.
            page.get_by_role("link", name="Расчёты", exact=True).click()
            page.get_by_label("Договор", exact=True).select_option(label="Д-1002")
            expect(page.get_by_role("heading", name=re.compile("Состояние расчётов по договору Д-1002"))).to_be_visible()
            expect(page.locator("tr.row-overdue").first).to_be_visible()
            shot("settlements")
            expect(page.locator(".recharts-bar-rectangle").first).to_be_visible()
            shot_of("settlements-chart", "section[aria-labelledby=use-title]")
            page.set_viewport_size({"width": 900, "height": 700})
            page.get_by_role("button", name="Выйти", exact=True).click()
            expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
            page.get_by_role("link", name="Забыли пароль?").click()
            page.get_by_label("Логин", exact=True).fill(LOGIN)
            page.get_by_label("Адрес электронной почты").fill(EMAIL)
            shot("forgot")
            page.get_by_role("button", name="Сбросить пароль").click()
            temp = _wait_letter(mail_dir, r"Новый пароль: (\S+)")
            page.goto("/")
            page.get_by_label("Имя пользователя").fill(LOGIN)
            page.get_by_label("Пароль").fill(temp)
            page.get_by_role("button", name="Войти").click()
            expect(page.get_by_role("heading", name="Смена пароля")).to_be_visible()
            shot("change-password")
            page.goto("/support")
            expect(page.get_by_role("heading", name="Служба поддержки")).to_be_visible()
            shot("support")
            # Five wrong passwords for a login: the code block and the wait.
            page.context.close()
            page = new_page(DESKTOP)
            for _ in range(5):
                login_as(page, LOGIN, WRONG_PASSWORD)
                expect(page.get_by_text("Неверное имя пользователя или пароль")).to_be_visible()
            expect(page.get_by_label("Код авторизации")).to_be_visible()
            expect(page.locator("#login-wait")).to_contain_text("(после ")
            expect(page.locator("#captcha-img")).to_be_visible()
            page.evaluate("document.activeElement && document.activeElement.blur()")
            shot("login-code", full=True)
            # An address the cabinet does not have, and the lost connection.
            page.context.close()
            page = new_page(DESKTOP)
            page.goto("/no/such/page")
            expect(page.get_by_role("heading", name="Страница не найдена")).to_be_visible()
            shot("not-found")
            sockets = watch_event_sockets(page)
            page.goto("/")
            expect(page.get_by_label("Имя пользователя")).to_be_visible()
            lose_connection(page, sockets)
            expect(page.get_by_test_id("connection-lost")).to_be_visible(timeout=60_000)
            page.evaluate("document.activeElement && document.activeElement.blur()")
            shot("connection-lost")
            page.context.set_offline(False)
            browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
