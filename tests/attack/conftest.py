"""Attack suite: the real app, built in production mode, attacked from outside.

One server per test session (``tests/appserver.py``) in its own frontend
build directory, so that it never disturbs the browser suite's.  Letters go to
the development mailbox (files under the data directory); the captcha shows a
fixed code.  ``db_env`` and ``browser`` are shared with the browser tier
(``tests/fixtures/servers.py``); accounts are made with ``tests/factories.py``.
Attacks come from a raw Socket.IO client
(:mod:`tests.attack.reflex_client`), ``httpx`` and, for what only a browser
can tell (CSP, XSS), Chromium through Playwright.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator

import pytest

from tests import factories
from tests.appserver import AppServer, running_app
from tests.attack.reflex_client import LoopThread, ReflexClient

CAPTCHA_CODE = "5318008"
WEB_WORKDIR = os.environ.get("LKK_TEST_ATTACK_WEB_WORKDIR", ".web-test-attack")
PASSWORD = "Стойкий пароль 2024"


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    data_dir = tmp_path_factory.mktemp("lkk-attack")
    # 127.0.0.1 is not counted by the per-IP registration and code limits, so
    # that the suite's many forms fit; tests of those limits connect from
    # other loopback addresses (ReflexClient's ``local_ip``).  Readings are
    # taken every day, so that the readings handlers do their whole work.
    with running_app(data_dir, REFLEX_WEB_WORKDIR=WEB_WORKDIR,
                     LKK_CAPTCHA_FIXED_CODE=CAPTCHA_CODE,
                     LKK_RATE_EXEMPT_IPS="127.0.0.1", LKK_READINGS_WINDOW="1-31") as server:
        yield server


@pytest.fixture(scope="session")
def loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def client(loop, app_server):
    """Factory of raw Socket.IO clients (closed at the end of the test).  By
    default they send the app's own Origin, as a script in a page would."""
    made: list[ReflexClient] = []

    def _make(*, cookie: str | None = None, origin: str | None = "default",
              token: str | None = None, connect: bool = True, **kw) -> ReflexClient:
        c = ReflexClient(loop, app_server.url, origin=app_server.url if origin == "default" else origin,
                         cookie=cookie, token=token, **kw)
        made.append(c)
        return c.connect() if connect else c

    yield _make
    for c in made:
        c.close()


_counter = itertools.count(1)


class Account:
    def __init__(self, user_id: int, login: str, email: str, phone: str, password: str) -> None:
        self.id, self.login, self.email, self.phone, self.password = user_id, login, email, phone, password

    def cookie(self, token: str) -> str:
        from lkk_app.settings import get_settings

        return f"{get_settings().session_cookie_name}={token}"


@pytest.fixture
def make_account(db_env):
    """A confirmed account with a phone, created through the service layer; the
    login, e-mail and phone are distinctive so that a leak is easy to find."""
    from lkk_app.db import session_scope

    def _make(prefix: str = "acc", password: str = PASSWORD, phone: str | None = None) -> Account:
        n = next(_counter)
        stamp = f"{os.getpid() % 1000}{n}{time.monotonic_ns() % 100000}"
        login = f"{prefix}{stamp}"[:32]
        email = f"{login}.mail@example.org"
        phone = phone or "+7916" + stamp[-7:].rjust(7, "3")
        with session_scope() as s:
            user_id = factories.make_user(s, login=login, email=email, password=password,
                                          phone=phone).id
        return Account(user_id, login, email, phone, password)

    return _make


@pytest.fixture
def mint(db_env):
    """A real session token for an account (restricted when asked)."""
    from lkk_app.db import session_scope

    def _mint(account: Account, *, restricted: bool = False) -> str:
        with session_scope() as s:
            return factories.make_session(s, account.id, restricted=restricted,
                                          user_agent="attack-suite")

    return _mint


# ---------------------------------------------------------------------------- database


VOLATILE_COLUMNS = {
    # The mail sender works in the background; only which letters exist matters
    # (a sent letter's secret seed is cleared).
    "lkk_outbox": {"status", "attempts", "next_attempt_at", "locked_until", "last_error", "sent_at",
                   "secret_seed"},
    # An earlier test's «акт сверки» gets billing's answer and its letter whenever they come.
    "lkk_reconciliation_request": {"status", "document_key", "notified_at"},
    # A valid session's sliding window moves with every use.
    "lkk_session": {"last_seen_at", "expires_at"},
}


# The read copy of billing data and its sync state: the background sync writes
# them whenever it runs (a page load may ask for a pass); no user's data.  So
# does the pass of letters about the contracts after it (what it told whom, and
# the letters themselves — only those kinds: any other letter is an attack's).
BACKGROUND_TABLES = {"billing_copy", "billing_reading_copy", "billing_document_copy",
                     "billing_payment_copy", "billing_sync_state", "lkk_notification_sent"}
BACKGROUND_LETTERS = {"new_documents", "readings_window_open", "readings_window_closing", "debt_appeared",
                      "reconciliation_ready"}


def is_log_table(name: str) -> bool:
    """Append-only logs that a refused attempt may legitimately write to, the
    tables the background sync keeps, and the demo billing's own (another
    system: it answers what earlier tests asked of it whenever its deliveries
    arrive)."""
    return "audit" in name or name in BACKGROUND_TABLES or name.startswith("demo_billing_")


def dump_tables(include_logs: bool = True) -> dict[str, list[dict]]:
    """Every row of every table of the app's database, as dicts, in primary-key order."""
    import sqlalchemy as sa

    from lkk_app.db import get_engine

    engine = get_engine()
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            if name.startswith("alembic") or (not include_logs and is_log_table(name)):
                continue
            volatile = VOLATILE_COLUMNS.get(name, set())
            cols = [c for c in table.columns if c.name not in volatile]
            query = sa.select(*cols).order_by(*table.primary_key.columns)
            if name == "lkk_outbox" and not include_logs:
                query = query.where(table.c.kind.not_in(BACKGROUND_LETTERS))
            rows = conn.execute(query).all()
            out[name] = [dict(r._mapping) for r in rows]
    return out


def wait_for_quiet_queues(timeout: float = 30.0) -> None:
    """Let the server finish what earlier tests left in its job queues (letters
    on their way, deliveries to billing and billing's answers), so that a
    snapshot changes only by what the test itself does."""
    import time
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    from lkk_app.billing import deliveries
    from lkk_app.db import get_engine
    from lkk_app.mail import outbox

    queues = [(outbox.OUTBOX.model, (outbox.STATUSES.pending, outbox.STATUSES.running)),
              (deliveries.BillingDelivery, (deliveries.STATUSES.pending, deliveries.STATUSES.running))]
    deadline = time.monotonic() + timeout
    with get_engine().connect() as conn:
        while True:
            # Due within a few seconds (a letter waiting for its retry in minutes is left alone).
            soon = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=5)
            busy = 0
            for model, statuses in queues:
                busy += conn.execute(sa.select(sa.func.count()).select_from(model).where(
                    model.status.in_(statuses), model.next_attempt_at <= soon)).scalar_one()
            if busy == 0 or time.monotonic() > deadline:
                return
            conn.rollback()
            time.sleep(0.2)


@pytest.fixture
def snapshot(db_env):
    def take() -> dict[str, list[dict]]:
        wait_for_quiet_queues()
        return dump_tables(include_logs=False)

    return take


# ---------------------------------------------------------------------------- server log


class LogWatch:
    def __init__(self, server: AppServer) -> None:
        self.server = server
        self.mark()

    def mark(self) -> None:
        self.offset = len(self.server.log_text())

    def new(self) -> str:
        return self.server.log_text()[self.offset:]


@pytest.fixture
def server_log(app_server) -> LogWatch:
    return LogWatch(app_server)


def assert_alive(app_server: AppServer) -> None:
    import httpx

    r = httpx.get(app_server.url + "/ping", timeout=10)
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------------------- browser


CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  (window.__cspViolations = window.__cspViolations || []).push(
    [e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber, (e.sample || '').slice(0, 80)]);
});
"""


class PageWatch:
    """Console errors, page errors, dialogs and CSP violations of one browser context."""

    def __init__(self) -> None:
        self.console: list[tuple[str, str, str]] = []
        self.dialogs: list[str] = []
        self.csp: list[str] = []

    def attach(self, page) -> None:
        page.on("console", lambda m: self.console.append((page.url, m.type, m.text)))
        page.on("pageerror", lambda e: self.console.append((page.url, "pageerror", str(e))))

        def on_dialog(d):
            self.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", on_dialog)

    def collect_csp(self, page) -> None:
        try:
            found = page.evaluate("window.__cspViolations || []")
        except Exception:  # noqa: BLE001 - page navigated away
            found = []
        self.csp.extend(f"{page.url}: {v}" for v in found)
        try:
            page.evaluate("window.__cspViolations = []")
        except Exception:  # noqa: BLE001
            pass

    def csp_console(self) -> list[str]:
        return [f"{u}: {t}" for u, kind, t in self.console
                if "Content Security Policy" in t or "Content-Security-Policy" in t]


@pytest.fixture
def context(browser, app_server):
    ctx = browser.new_context(locale="ru-RU", base_url=app_server.url)
    ctx.set_default_timeout(20_000)
    ctx.add_init_script(CSP_LISTENER)
    yield ctx
    ctx.close()


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(context, watch):
    p = context.new_page()
    watch.attach(p)
    return p
