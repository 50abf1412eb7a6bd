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

OUT = ROOT / "docs" / "guides" / "img"
CODE = "4815162"
LOGIN, EMAIL, PASSWORD = "Ivanova", "ivanova@example.ru", "Весенний дождь 2026"


def _letters(mail_dir: Path) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(mail_dir.glob("*.eml"))]


def _wait_letter(mail_dir: Path, pattern: str, count: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        letters = _letters(mail_dir)
        if len(letters) >= count:
            text = letters[count - 1].get_body(preferencelist=("plain",)).get_content()
            found = re.search(pattern, text)
            if found:
                return found.group(1)
        time.sleep(0.3)
    raise SystemExit(f"letter {count} with {pattern!r} did not arrive")


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="lkk-shots-"))
    os.environ.setdefault("LKK_TEST_WEB_WORKDIR", ".web-test")
    with running_app(data_dir, LKK_CAPTCHA_FIXED_CODE=CODE) as server:
        mail_dir = data_dir / "mail"
        chromium = os.environ.get("LKK_CHROMIUM") or "/usr/bin/chromium"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-quic", "--font-render-hinting=none"])
            ctx = browser.new_context(base_url=server.url, locale="ru-RU",
                                      viewport={"width": 900, "height": 700},
                                      device_scale_factor=1)
            page = ctx.new_page()

            def shot(name: str, full: bool = False) -> None:
                page.wait_for_timeout(400)
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)

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
            link = _wait_letter(mail_dir, r"(https?://\S+/confirm/\S+)", 1)
            page.goto(link)
            expect(page.get_by_test_id("profile-login")).to_have_text(LOGIN)
            shot("profile", full=True)
            page.get_by_role("button", name="Выйти").click()
            expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
            page.get_by_role("link", name="Забыли пароль?").click()
            page.get_by_label("Логин", exact=True).fill(LOGIN)
            page.get_by_label("Адрес электронной почты").fill(EMAIL)
            shot("forgot")
            page.get_by_role("button", name="Сбросить пароль").click()
            temp = _wait_letter(mail_dir, r"Новый пароль: (\S+)", 2)
            page.goto("/")
            page.get_by_label("Имя пользователя").fill(LOGIN)
            page.get_by_label("Пароль").fill(temp)
            page.get_by_role("button", name="Войти").click()
            expect(page.get_by_role("heading", name="Смена пароля")).to_be_visible()
            shot("change-password")
            page.goto("/support")
            expect(page.get_by_role("heading", name="Служба поддержки")).to_be_visible()
            shot("support")
            browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
