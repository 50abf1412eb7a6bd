"""Property-based fuzzing (Hypothesis) of every form handler over the real
websocket: random Unicode (NUL, RTL marks, lone surrogates), 10 kB strings,
SQL, HTML and script payloads.  The server must answer every one normally —
no exception, no error toast — stay up, keep its tables intact, and store
only values that pass its own validation."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tests.attack.conftest import CAPTCHA_CODE, PASSWORD, assert_alive, dump_tables
from tests.attack.reflex_client import state_vars

FUZZ = settings(max_examples=40, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
MAX_FRAME = 60_000  # stay under the 64 KiB websocket limit (test_websocket_limits.py)

NASTY = [
    "'); DROP TABLE lkk_user;--", "' OR '1'='1' --", "1; DELETE FROM lkk_session", "\\'; --",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
    "</textarea><svg onload=alert(1)>", "{{7*7}}", "${7*7}", "$login", "%s%s%n", "{0.__class__}",
    "\x00", "a\x00b", "\x00' OR 1=1", "\u202e\u202dгоп", "\u200f\u200e", "\ufeff", "\u2028\u2029",
    "\ud800", "x\udfffy", "\ud83d", "😀" * 3, "\r\nBcc: victim@example.com", "\r\n\r\n<html>",
    "../../etc/passwd", "ＡＤＭＩＮ", "ǅ", "İ", "ß" * 40, "null", "None", "[]", "{}", "0", "-1",
    "1e309", " ", "\t\n", "+7 (912) 345-67-89", "8 912 345 67 89", "+79123456789" * 3,
    "user@example.com", "пользователь@пример.рф", "a@b", "x" * 10_000, "Ж" * 10_000, "<" * 5_000,
]
nasty = st.sampled_from(NASTY)
big = st.builds(lambda piece, n: (piece or "x") * n, st.text(min_size=1, max_size=4),
                st.integers(min_value=2_500, max_value=10_000))
value = st.one_of(nasty, st.text(max_size=40), big,
                  st.builds(lambda a, b, c: a + b + c, st.text(max_size=8), nasty, st.text(max_size=8)))

ROOT = "reflex___state____state"
ERROR_MARKERS = ("An error occurred", "Contact the website administrator", "Traceback")


def _frame_size(payload: dict) -> int:
    from tests.attack.reflex_client import _browser_dumps

    return len(_browser_dumps(payload))


def _answered_normally(c, updates: list[dict]) -> None:
    text = c.text(updates)
    for marker in ERROR_MARKERS:
        assert marker not in text, f"the server failed on this input: {text[:600]}"
    assert c.connected, "the server closed the connection"


@pytest.fixture
def intact(app_server, db_env, server_log):
    """Around a fuzz test: the server stays up, writes no traceback, keeps every
    table and every row it had, and every stored account passes validation."""
    import sqlalchemy as sa

    from lkk_app.db import get_engine

    before = dump_tables()
    yield
    assert_alive(app_server)
    log = server_log.new()
    assert "Traceback" not in log, log[-4000:]
    after = dump_tables()
    assert set(after) == set(before), "a table disappeared"
    for table, rows in before.items():
        ids = {r.get("id") for r in after[table]}
        assert {r.get("id") for r in rows} <= ids, f"rows of {table} disappeared"
    with get_engine().connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
    _stored_accounts_are_valid(after["lkk_user"])


def _stored_accounts_are_valid(rows: list[dict]) -> None:
    from lkk_app.auth import validation

    for row in rows:
        assert validation.login_error(row["login"]) is None, row["login"]
        assert validation.email_error(row["email"]) is None, row["email"]
        assert row["phone"] is None or re.fullmatch(r"\+7\d{10}", row["phone"]), row["phone"]


_logins = itertools.count(1)


def _state(name: str) -> str:
    from lkk_app.state.change_password import ChangePasswordState
    from lkk_app.state.forgot import ForgotState
    from lkk_app.state.profile import PasswordPanel, PhonePanel
    from lkk_app.state.register import RegisterState

    return {"register": RegisterState, "forgot": ForgotState, "phone": PhonePanel,
            "password": PasswordPanel, "change": ChangePasswordState}[name].get_full_name()


# ---------------------------------------------------------------------------- registration


def test_fuzz_registration_submit(client, intact):
    c = client()
    register = _state("register")

    @FUZZ
    @given(st.fixed_dictionaries({
        "login": st.one_of(st.none(), value), "email": st.one_of(st.none(), value),
        "phone": st.one_of(st.none(), value), "password": st.one_of(st.none(), value),
        "password_confirm": st.one_of(st.none(), value, st.just("=password")),
        "code": st.one_of(st.just(CAPTCHA_CODE), value),
    }), st.dictionaries(st.text(max_size=20), value, max_size=3))
    @example({"login": None, "email": None, "phone": None, "password": "Годный пароль \ud800 7",
              "password_confirm": "=password", "code": CAPTCHA_CODE}, {})  # a surrogate to bcrypt
    @example({"login": None, "email": None, "phone": "8 912 345 67 89", "password": None,
              "password_confirm": "=password", "code": CAPTCHA_CODE}, {"\udfff": "\ud800"})
    def run(fields, extra):
        n = next(_logins)
        valid = {"login": f"fz{n}x", "email": f"fz{n}@example.com", "phone": "",
                 "password": "Вполне годный пароль 7", "code": CAPTCHA_CODE}
        form = {**extra}
        for key, v in fields.items():
            form[key] = valid.get(key, "") if v is None else v
        if form["password_confirm"] == "=password":
            form["password_confirm"] = form["password"]
        payload = {"form_data": form}
        assume(_frame_size(payload) < MAX_FRAME)
        _answered_normally(c, c.call(f"{register}.on_load", {}, path="/register"))
        updates = c.call(f"{register}.submit", payload, path="/register")
        _answered_normally(c, updates)

    run()


# ---------------------------------------------------------------------------- profile


def test_fuzz_profile_phone(client, make_account, mint, intact, db_env):
    from lkk_app.db import session_scope
    from lkk_app.auth import users

    account = make_account("fzphone")
    c = client(cookie=account.cookie(mint(account)))
    profile = _state("phone")
    c.hydrate("/profile")

    @FUZZ
    @given(st.one_of(value, st.integers(), st.none(), st.lists(st.text(max_size=5), max_size=3)))
    @example("+7912\ud800")
    @example("8 912 345 67 89\x00")
    def run(phone):
        payload = {"form_data": {"phone": phone}}
        assume(_frame_size(payload) < MAX_FRAME)
        updates = c.call(f"{profile}.save_phone", payload, path="/profile")
        _answered_normally(c, updates)
        text = c.text(updates)
        assert "phone_error_rx_state_" in text or "phone_saved_rx_state_" in text
        with session_scope() as s:
            stored = users.get_user(s, account.id).phone
        assert stored is None or re.fullmatch(r"\+7\d{10}", stored), stored

    run()


def test_fuzz_profile_change_password(client, make_account, mint, intact, db_env):
    from lkk_app.db import session_scope
    from lkk_app.auth import passwords, users
    from lkk_app.settings import get_settings

    account = make_account("fzpass")
    token = mint(account)
    c = client(cookie=account.cookie(token))
    profile = _state("password")
    c.hydrate("/profile")
    current = {"password": PASSWORD}

    @FUZZ
    @given(st.one_of(st.just("=current"), value), st.one_of(st.just("Другой годный пароль 8"), value),
           st.one_of(st.just("=new"), value), st.dictionaries(st.text(max_size=20), value, max_size=3))
    @example("=current", "Новый \ud800 пароль 1", "=new", {})
    @example("Чужой \udfff пароль", "Другой годный пароль 8", "=new", {})
    def run(cur, new, confirm, extra):
        # Wrong current passwords are throttled — the 5th ends the session
        # (unit/test_password_guesses.py); each example starts a fresh series,
        # so that the whole fuzz runs in one session.
        from lkk_app.auth import account as account_service
        from lkk_app.auth import throttle

        with session_scope() as s:
            throttle.reset(s, account_service.password_check_key(account.id))
        form = {**extra, "current_password": current["password"] if cur == "=current" else cur,
                "new_password": new, "password_confirm": new if confirm == "=new" else confirm}
        payload = {"form_data": form}
        assume(_frame_size(payload) < MAX_FRAME)
        updates = c.call(f"{profile}.change_password", payload, path="/profile")
        _answered_normally(c, updates)
        if state_vars(updates, profile).get("password_saved"):
            # Lone surrogates arrive as U+FFFD, as a browser's form post encodes them.
            current["password"] = re.sub("[\ud800-\udfff]", "\ufffd", new)
        with session_scope() as s:
            stored = users.get_user(s, account.id).password_hash
        assert passwords.verify_password(current["password"], stored, secret_key=get_settings().secret_key)

    run()
    from tests.attack.test_handlers import _live

    assert _live(token), "the session that changed the password must stay"


# ---------------------------------------------------------------------------- recovery


def test_fuzz_forgot_submit(client, make_account, intact):
    account = make_account("fzforgot")
    c = client()
    forgot = _state("forgot")

    @FUZZ
    @given(st.one_of(st.just(account.login), value), st.one_of(st.just(account.email), value),
           st.dictionaries(st.text(max_size=20), value, max_size=3))
    @example("a\ud800b", "someone@example.com", {})  # a lone surrogate on its way to the database
    @example("'); DROP TABLE lkk_user;--", "<script>alert(1)</script>@example.com", {"login\x00": "\x00"})
    def run(login, email, extra):
        payload = {"form_data": {**extra, "login": login, "email": email}}
        assume(_frame_size(payload) < MAX_FRAME)
        _answered_normally(c, c.call(f"{forgot}.on_load", {}, path="/forgot"))
        updates = c.call(f"{forgot}.submit", payload, path="/forgot")
        _answered_normally(c, updates)
        assert account.phone not in c.text(updates)

    run()


def test_fuzz_change_password_after_recovery(client, make_account, mint, intact):
    """«Смена пароля» with a restricted session (a temporary-password login)."""
    account = make_account("fzchange")
    change = _state("change")

    @FUZZ
    @given(st.one_of(st.just("Совсем новый пароль 9"), value), st.one_of(st.just("=password"), value),
           st.dictionaries(st.text(max_size=20), value, max_size=3))
    def run(password, confirm, extra):
        payload = {"form_data": {**extra, "password": password,
                                 "password_confirm": password if confirm == "=password" else confirm}}
        assume(_frame_size(payload) < MAX_FRAME)
        c = client(cookie=account.cookie(mint(account, restricted=True)))
        try:
            _answered_normally(c, c.hydrate("/change-password"))
            _answered_normally(c, c.call(f"{change}.submit", payload, path="/change-password"))
        finally:
            c.close()

    run()


def test_fuzz_small_handlers(client, make_account, mint, intact):
    """Handlers that take a single scalar: the login window's clock, ending a session."""
    from lkk_app.state.login import LoginState
    from lkk_app.state.profile import ProfileState, SessionsPanel

    account = make_account("fzsmall")
    c = client(cookie=account.cookie(mint(account)))
    c.hydrate("/profile")
    targets = [(SessionsPanel, name) for name in ("end_session",) if name in SessionsPanel.event_handlers]
    targets += [(LoginState, name) for name in ("set_wait_clock",) if name in LoginState.event_handlers]
    assert targets

    @FUZZ
    @given(st.sampled_from(targets), st.one_of(value, st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.none(),
                                               st.booleans()))
    def run(target, arg):
        cls, name = target
        import inspect

        params = list(inspect.signature(cls.event_handlers[name].fn).parameters)[1:]
        payload = {params[0]: arg}
        assume(_frame_size(payload) < MAX_FRAME)
        updates = c.call(f"{cls.get_full_name()}.{name}", payload,
                         path="/profile" if issubclass(cls, ProfileState) else "/")
        _answered_normally(c, updates)

    run()
