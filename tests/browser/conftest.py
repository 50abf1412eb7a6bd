"""Browser tests: the real app, built in production mode, driven by Chromium.

One server per test session (``tests/appserver.py``) with a real SMTP server
on loopback and a fixed authorization code.  ``db_env`` and ``browser`` are
shared with the attack tier (``tests/fixtures/servers.py``); users are made
with ``tests/factories.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import factories
from tests.appserver import ROOT, AppServer, free_port, running_app

SCREENSHOTS = ROOT / "var" / "screenshots"


CAPTCHA_CODE = "4815162"
# The test server runs as another supplier than the demo defaults, so every
# page and letter shows that the deployment's own name, colours and phones win.
SUPPLIER_NAME = "АО «Северный Энергосбыт»"
SUPPLIER_PRIMARY = "#0a7b3c"
SUPPLIER_ACCENT = "#d9480f"
SUPPORT_PHONES = "88001002030; +7 (812) 000-11-22"
SUPPORT_EMAIL = "help@sever-energo.example"


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

        self.port = free_port()
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
    data_dir = tmp_path_factory.mktemp("lkk-browser")
    with running_app(data_dir, LKK_SMTP_HOST="127.0.0.1", LKK_SMTP_PORT=str(mailbox.port),
                     LKK_SMTP_TLS="none", LKK_CAPTCHA_FIXED_CODE=CAPTCHA_CODE,
                     LKK_RATE_EXEMPT_IPS="127.0.0.1", LKK_READINGS_WINDOW="1-31",
                     LKK_SUPPLIER_NAME=SUPPLIER_NAME, LKK_SUPPLIER_COLOR_PRIMARY=SUPPLIER_PRIMARY,
                     LKK_SUPPLIER_COLOR_ACCENT=SUPPLIER_ACCENT, LKK_SUPPORT_PHONES=SUPPORT_PHONES,
                     LKK_SUPPORT_EMAIL=SUPPORT_EMAIL) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_address_budget(request):
    """Each test starts with this machine's address under its failed-login limit
    (30 in 10 minutes per address): the tier as a whole fails far more logins
    from loopback than that, and a test must not see the tests before it."""
    if "app_server" not in request.fixturenames and "page" not in request.fixturenames:
        return
    request.getfixturevalue("db_env")
    import sqlalchemy as sa

    from lkk_app.auth import ratelimit
    from lkk_app.db import session_scope
    from lkk_app.models import RateEvent

    buckets = [ratelimit.login_fail_ip_bucket(ip) for ip in ("127.0.0.1", "::1")]
    with session_scope() as s:
        s.execute(sa.delete(RateEvent).where(RateEvent.bucket.in_(buckets)))


@pytest.fixture
def make_user(db_env):
    """Create a confirmed (by default) user in the server's database."""
    from lkk_app.db import session_scope

    def _make(login: str | None = None, password: str = factories.PASSWORD,
              email: str | None = None, confirmed: bool = True):
        login = login or factories.unique_login()
        email = email or f"{login}@example.com"
        with session_scope() as s:
            factories.make_user(s, login=login, email=email, password=password, confirmed=confirmed)
        return login, password, email

    return _make


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


def watch_event_sockets(page) -> list:
    """Route the page's websockets to ``/_event`` through Playwright (passed on to
    the server), so that a test can drop them: the list fills as they open."""
    import re

    sockets: list = []

    def keep(ws) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/_event"), keep)
    return sockets


def lose_connection(page, sockets: list) -> None:
    """The network goes away: the open websockets drop and reconnects fail
    until ``page.context.set_offline(False)``."""
    page.context.set_offline(True)
    for ws in sockets:
        ws.close()
