"""Browser tests: the real app, built in production mode, driven by Chromium.

One server per test session on a free port, with its own SQLite database and
data directory; the frontend is built into ``.web-test`` so that it does not
disturb ``make run``'s ``.web``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SCREENSHOTS = ROOT / "var" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class AppServer:
    url: str
    port: int
    env: dict[str, str]
    data_dir: Path
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as r1:
                if r1.status == 200:
                    with urllib.request.urlopen(url + "/", timeout=5) as r2:
                        if r2.status == 200:
                            return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"app not ready after {timeout}s:\n{log_path.read_text()[-4000:]}")


def server_env(port: int, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not (k.startswith("LKK_") or k.startswith("REFLEX_")) or k == "LKK_CHROMIUM"
    }
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        REFLEX_USE_NPM="1",
        REFLEX_WEB_WORKDIR=".web-test",
        LKK_ENV="development",
        LKK_DATA_DIR=str(data_dir),
        REFLEX_DB_URL=f"sqlite:///{data_dir / 'lkk.db'}",
        LKK_PUBLIC_URL=f"http://localhost:{port}",
        LKK_BCRYPT_COST="10",
    )
    env.update(extra)
    return env


CAPTCHA_CODE = "4815162"


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self) -> None:
        import email
        import email.policy
        import threading

        from aiosmtpd.controller import Controller

        self.messages: list = []
        self._lock = threading.Lock()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with mailbox._lock:
                    mailbox.messages.append(msg)
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def wait_for(self, to: str, count: int = 1, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                got = [m for m in self.messages if to.lower() in str(m["To"]).lower()]
            if len(got) >= count:
                return got
            time.sleep(0.2)
        raise AssertionError(f"{count} letter(s) to {to} did not arrive; have {len(got)}")

    def to(self, address: str) -> list:
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


def text_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, mailbox) -> Iterator[AppServer]:
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("lkk-browser")
    env = server_env(port, data_dir, LKK_SMTP_HOST="127.0.0.1", LKK_SMTP_PORT=str(mailbox.port),
                     LKK_SMTP_TLS="none", LKK_CAPTCHA_FIXED_CODE=CAPTCHA_CODE)
    subprocess.run([str(VENV_BIN / "reflex"), "db", "migrate"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port",
             "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "info"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_ready(f"http://localhost:{port}", proc, log_path, timeout=900)
        yield AppServer(f"http://localhost:{port}", port, env, data_dir, log_path)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def db_env(app_server):
    """Point this process's settings and engine at the server's database."""
    from lkk_app import db, settings

    saved = {k: os.environ.get(k) for k in app_server.env if k.startswith(("LKK_", "REFLEX_"))}
    os.environ.update({k: v for k, v in app_server.env.items() if k.startswith(("LKK_", "REFLEX_"))})
    settings.reload_settings()
    db.reset_engine()
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    settings.reload_settings()
    db.reset_engine()


@pytest.fixture
def make_user(db_env):
    """Create a confirmed (by default) user straight through the service layer."""
    import itertools

    from lkk_app.db import session_scope
    from lkk_app.services import users

    counter = itertools.count(1)

    def _make(login: str | None = None, password: str = "Проверка-пароля-42",
              email: str | None = None, confirmed: bool = True):
        n = next(counter)
        login = login or f"user{os.getpid()}x{n}x{time.monotonic_ns() % 100000}"
        email = email or f"{login}@example.com"
        with session_scope() as s:
            users.create_user(s, login=login, email=email, password=password, confirmed=confirmed)
        return login, password, email

    return _make


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("LKK_CHROMIUM") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic",
                  "--no-first-run"],
        )
        yield b
        b.close()


@pytest.fixture
def context(browser, app_server):
    ctx = browser.new_context(locale="ru-RU", accept_downloads=True, base_url=app_server.url)
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
