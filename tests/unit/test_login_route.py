"""POST /auth/login over HTTP (Starlette's TestClient on ``build_http_app()``):
one answer for every failure, the per-login throttle with the authorization
code, the per-IP limit, odd input; and the login window's state after it."""

from __future__ import annotations

import warnings
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import bcrypt
import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import AuditEvent, LoginThrottle, OutboxMessage
from lkk_app.auth import captcha, passwords, recovery, throttle, users
from lkk_app.state.login import LoginState
from tests.statekit import make_state

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "Синий трактор 77"
CODE = "2718281"
ORIGIN = "http://localhost:3000"
GENERIC = "/?e=invalid"

# ``app_db`` (tests/fixtures/database.py): the app on this test's database with a
# fixed authorization code and bcrypt cost 4 — what counts here is the number of
# checks; tests/integration/test_enumeration_timing.py measures with cost 10.
pytestmark = pytest.mark.app_settings(LKK_CAPTCHA_FIXED_CODE=CODE)


@pytest.fixture
def bcrypt_checks(monkeypatch):
    """Counts every bcrypt.checkpw call (real and dummy checks)."""
    calls = []
    real = bcrypt.checkpw

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", counting)
    return calls


def client(ip: str = "192.0.2.10") -> TestClient:
    from lkk_app.web.http import build_http_app

    return TestClient(build_http_app(), client=(ip, 50000), follow_redirects=False)


def post(login: str, password: str, *, ip: str = "192.0.2.10", code: str | None = None,
         challenge: str | None = None, **extra: str):
    data = {"login": login, "password": password, **extra}
    if code is not None:
        data["code"] = code
    if challenge is not None:
        data["captcha_id"] = challenge
    return client(ip).post("/auth/login", data=data,
                           headers={"origin": ORIGIN, "user-agent": "pytest-agent"})


def query(response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    parts = urlsplit(response.headers["location"])
    assert parts.path == "/"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def without_login(response) -> dict[str, str]:
    q = query(response)
    q.pop("login", None)
    return q


def make_user(login="petrov", confirmed=True):
    with db_module.session_scope() as s:
        return users.create_user(s, login=login, email=f"{login}@example.com", password=PASSWORD,
                                 confirmed=confirmed)


def challenge() -> str:
    with db_module.session_scope() as s:
        challenge_id, _png = captcha.new_challenge(s)
    return challenge_id


def throttle_state(login, ip="192.0.2.10"):
    """The throttle of ``login`` tried from ``ip`` (the test client's address)."""
    with db_module.session_scope() as s:
        return throttle.check(s, throttle.client_key(login, ip=ip))


def audit_rows(event: str | None = None) -> list[AuditEvent]:
    with db_module.session_scope() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if event:
            stmt = stmt.where(AuditEvent.event == event)
        return list(s.exec(stmt).all())


def logged_in(response) -> bool:
    return response.status_code == 303 and "lkk_session=" in response.headers.get("set-cookie", "")


# --------------------------------------------------------------------------- one answer


def test_every_failure_gets_the_same_redirect(app_db, frozen_clock):
    make_user("petrov")
    make_user("sidorov", confirmed=False)
    answers = {
        "known, wrong password": post("petrov", PASSWORD + "x"),
        "unknown login": post("nobody", PASSWORD),
        "unconfirmed, wrong password": post("sidorov", PASSWORD + "x"),
    }
    for name, response in answers.items():
        assert response.headers["location"] == GENERIC, name
        assert query(response) == {"e": "invalid"}, name
        # Only the hint with the login typed (the same for all three).
        cookies = [v.split("=", 1)[0] for k, v in response.headers.multi_items() if k == "set-cookie"]
        assert cookies == ["lkk_login_hint"], name


def test_only_a_correct_password_learns_unconfirmed(app_db, frozen_clock):
    make_user("sidorov", confirmed=False)
    response = post("sidorov", PASSWORD)
    assert query(response)["e"] == "unconfirmed"
    assert "lkk_pending=" in response.headers["set-cookie"]


@pytest.mark.parametrize("password", [
    "я" * 40,                       # 80 bytes: over bcrypt's 72
    "x" * 73,
    "п" * 5000,                     # 10 kB
    "x" * 30_000,                   # cut to 10 kB by the route
    "пароль\x00с нулём",
    "\x00",
])
def test_odd_passwords_are_just_wrong(app_db, frozen_clock, bcrypt_checks, password):
    make_user("petrov")
    for who in ("petrov", "nobody"):
        bcrypt_checks.clear()
        response = post(who, password)
        assert without_login(response) == {"e": "invalid"}, who
        assert len(bcrypt_checks) == 1, who


@pytest.mark.parametrize("login", ["pet\x00rov", "x" * 300, "\u202e", "петров" * 20])
def test_odd_logins_are_just_wrong(app_db, frozen_clock, login):
    make_user("petrov")
    assert without_login(post(login, PASSWORD)) == {"e": "invalid"}


def test_every_failure_costs_one_bcrypt_check(app_db, frozen_clock, bcrypt_checks):
    make_user("petrov")
    make_user("sidorov", confirmed=False)
    cases = [("petrov", PASSWORD + "x"), ("nobody", PASSWORD), ("sidorov", PASSWORD + "x")]
    for who, pw in cases:
        bcrypt_checks.clear()
        post(who, pw)
        assert len(bcrypt_checks) == 1, who
    # Waiting (refused without a password check) and a missing code cost the same.
    for _ in range(5):
        post("petrov", "wrong")
    bcrypt_checks.clear()
    assert query(post("petrov", PASSWORD))["e"] == "wait"
    assert len(bcrypt_checks) == 1
    frozen_clock.advance(seconds=30)
    bcrypt_checks.clear()
    assert without_login(post("petrov", PASSWORD)) == {"e": "invalid", "cap": "1"}
    assert len(bcrypt_checks) == 1


# --------------------------------------------------------------------------- the throttle


@pytest.mark.parametrize("who", ["petrov", "nobody"])
def test_five_failures_need_the_code_and_a_wait(app_db, frozen_clock, who):
    make_user("petrov")
    for _ in range(4):
        assert without_login(post(who, "wrong")) == {"e": "invalid"}
    until = str(throttle.unix_seconds(frozen_clock.now + timedelta(seconds=30)))
    assert without_login(post(who, "wrong")) == {"e": "invalid", "cap": "1", "until": until}
    # During the wait even the right password is refused, with the wait.
    response = post(who, PASSWORD, code=CODE, challenge=challenge())
    assert without_login(response) == {"e": "wait", "cap": "1", "until": until}
    assert not logged_in(response)
    # The refusal does not lengthen the wait.
    assert throttle_state(who).failures == 5


def test_known_and_unknown_throttled_logins_look_the_same(app_db, frozen_clock):
    make_user("petrov")
    answers = {}
    for who in ("petrov", "nobody"):
        answers[who] = [without_login(post(who, "wrong")) for _ in range(6)]
        answers[who].append(without_login(post(who, PASSWORD)))
    assert answers["petrov"] == answers["nobody"]
    assert answers["petrov"][-1]["e"] == "wait"


def test_code_then_password_logs_in_and_resets(app_db, frozen_clock):
    make_user("petrov")
    for _ in range(5):
        post("petrov", "wrong")
    frozen_clock.advance(seconds=30)
    # No code, a wrong code or a spent code: refused, the password is not tried.
    assert not logged_in(post("petrov", PASSWORD))
    assert not logged_in(post("petrov", PASSWORD, code="000000", challenge=challenge()))
    spent = challenge()
    assert not logged_in(post("petrov", "wrong", code=CODE, challenge=spent))
    frozen_clock.advance(seconds=60)
    assert without_login(post("petrov", PASSWORD, code=CODE, challenge=spent)) == {
        "e": "invalid", "cap": "1"}
    # Wrong codes did not count as password failures: only the 6th (with a
    # right code) did, so the wait was 60 s.
    assert throttle_state("petrov").failures == 6
    response = post("petrov", PASSWORD, code=f" {CODE} ", challenge=challenge())
    assert logged_in(response)
    assert response.headers["location"] == "/profile"
    assert throttle_state("petrov") == throttle.ThrottleState()
    with db_module.session_scope() as s:
        assert s.exec(select(LoginThrottle)).all() == []
    # Counting starts again: one failure needs no code.
    assert without_login(post("petrov", "wrong")) == {"e": "invalid"}


def test_a_success_resets_the_count(app_db, frozen_clock):
    make_user("petrov")
    for _ in range(4):
        post("petrov", "wrong")
    assert logged_in(post("petrov", PASSWORD))
    for _ in range(4):
        assert without_login(post("petrov", "wrong")) == {"e": "invalid"}


def test_a_temporary_password_logs_in_and_resets(app_db, frozen_clock):
    user = make_user("petrov")
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    for _ in range(5):
        post("petrov", "wrong")
    frozen_clock.advance(seconds=30)
    response = post("petrov", temp, code=CODE, challenge=challenge())
    assert logged_in(response) and response.headers["location"] == "/change-password"
    assert throttle_state("petrov") == throttle.ThrottleState()


def test_recovery_keeps_working_for_a_throttled_account(app_db, frozen_clock):
    make_user("petrov")
    for _ in range(7):
        post("petrov", "wrong")
    assert throttle_state("petrov").waiting()
    with db_module.session_scope() as s:
        recovery.request_reset(s, login="petrov", email="petrov@example.com", ip="192.0.2.10")
    with db_module.session_scope() as s:
        kinds = [m.kind for m in s.exec(select(OutboxMessage)).all()]
    assert kinds == ["temp_password"]


def test_an_unconfirmed_account_with_the_right_password_resets_too(app_db, frozen_clock):
    make_user("sidorov", confirmed=False)
    for _ in range(5):
        assert query(post("sidorov", "wrong"))["e"] == "invalid"
    frozen_clock.advance(seconds=30)
    assert query(post("sidorov", PASSWORD, code=CODE, challenge=challenge()))["e"] == "unconfirmed"
    assert throttle_state("sidorov") == throttle.ThrottleState()


# --------------------------------------------------------------------------- per IP


def test_thirty_failures_per_ip_in_ten_minutes(app_db, frozen_clock, bcrypt_checks):
    make_user("petrov")
    # Different logins, so that the per-login throttle stays out of the way.
    for n in range(30):
        assert query(post(f"guess{n}", "wrong", ip="198.51.100.7"))["e"] == "invalid"
    bcrypt_checks.clear()
    response = post("petrov", PASSWORD, ip="198.51.100.7")
    assert without_login(response) == {"e": "ip"}
    assert not logged_in(response)
    assert bcrypt_checks == []  # no password check
    assert audit_rows("login_throttled")[-1].detail == "ip limit"
    # Another address is not affected; an IPv6 neighbour in the same /64 would be.
    assert logged_in(post("petrov", PASSWORD, ip="198.51.100.8"))
    frozen_clock.advance(minutes=10)
    assert logged_in(post("petrov", PASSWORD, ip="198.51.100.7"))


def test_throttled_and_code_refusals_count_against_the_ip(app_db, frozen_clock):
    for _ in range(5):
        post("victim", "wrong", ip="203.0.113.5")
    for _ in range(25):
        assert query(post("victim", "wrong", ip="203.0.113.5"))["e"] == "wait"
    assert query(post("someone-else", "x", ip="203.0.113.5"))["e"] == "ip"


def test_the_ip_limit_message_is_on_the_page():
    from lkk_app.i18n import t
    assert t("login.ip_limited") == ("Слишком много неудачных попыток входа с Вашего адреса. "
                                     "Повторите попытку через несколько минут.")


# --------------------------------------------------------------------------- audit


def test_audit_trail_of_logins(app_db, frozen_clock):
    user = make_user("petrov")
    secret = "Совсем-секретный-пароль-1"
    post("petrov", secret)
    post("Nobody\x00\nHere", secret)
    for _ in range(4):
        post("petrov", secret)
    post("petrov", PASSWORD)  # waiting
    frozen_clock.advance(seconds=30)
    assert logged_in(post("petrov", PASSWORD, code=CODE, challenge=challenge()))
    rows = audit_rows()
    events = [(r.event, r.result, r.user_id, r.detail) for r in rows]
    assert events[0] == ("login_failure", "fail", user.id, "password")
    assert events[1] == ("login_failure", "fail", None, "password")
    assert events[6] == ("login_throttled", "refused", user.id, "wait")
    assert events[-1] == ("login_success", "ok", user.id, "")
    assert rows[1].login == "Nobody  Here"
    assert {r.ip for r in rows} == {"192.0.2.10"}
    assert {r.user_agent for r in rows} == {"pytest-agent"}
    for r in rows:
        assert secret not in " ".join((r.login, r.detail, r.user_agent))
        assert PASSWORD not in " ".join((r.login, r.detail, r.user_agent))


def test_cross_site_posts_are_refused(app_db):
    response = client().post("/auth/login", data={"login": "a", "password": "b"},
                             headers={"origin": "https://evil.example"})
    assert response.status_code == 403


# --------------------------------------------------------------------------- the login window


def _login_state(query_string: str, ip: str = "192.0.2.10", cookie: str = ""):
    """The login window of ``query_string``; a ``login=`` in it stands for the
    login hint cookie the refused attempt set (the address never carries it)."""
    from urllib.parse import parse_qsl, urlencode

    from lkk_app.web.cookies import LOGIN_HINT, encode_login_hint

    pairs = parse_qsl(query_string)
    login = dict(pairs).get("login")
    query_string = urlencode([(k, v) for k, v in pairs if k != "login"])
    if login is not None:
        cookie = "; ".join(filter(None, [cookie, f"{LOGIN_HINT}={encode_login_hint(login)}"]))
    return make_state(LoginState, "/", query=query_string, ip=ip, cookie=cookie)


@pytest.mark.asyncio
async def test_login_window_without_failures_has_no_code(app_db):
    state = _login_state("e=invalid&login=petrov")
    assert await LoginState.on_load.fn(state) is None
    assert (state.needs_code, state.captcha_id, state.captcha_src, state.wait_message) == (
        False, "", "", "")
    assert state.error == "Неверное имя пользователя или пароль"


@pytest.mark.asyncio
async def test_login_window_shows_the_code_and_the_wait(app_db, frozen_clock):
    for _ in range(6):  # the 6th comes during the 30 s wait: refused, not counted
        post("nobody", "wrong")
    frozen_clock.advance(seconds=15)
    # Only the login in the address: the throttle itself says the code is needed.
    state = _login_state("e=wait&login=nobody")
    assert await LoginState.on_load.fn(state) is None
    assert state.needs_code is True
    assert len(state.captcha_id) == 32
    assert state.captcha_src.startswith("data:image/png;base64,")
    assert state.error == ""
    assert state.wait_message == ("Слишком много неудачных попыток входа. "
                                  "Повторите попытку через 15 с")
    assert state.wait_until == throttle.unix_seconds(frozen_clock.now + timedelta(seconds=15))
    # «Обновить код» draws a new challenge; the drawn code verifies.
    first = state.captcha_id
    # «Прослушать код» speaks the challenge of the image (and its hidden field).
    assert state.captcha_audio == f"/captcha/audio/{first}"
    await LoginState.refresh_captcha.fn(state)
    assert state.captcha_id != first
    assert state.captcha_audio == f"/captcha/audio/{state.captcha_id}"
    with db_module.session_scope() as s:
        assert captcha.verify(s, state.captcha_id, CODE) is True


@pytest.mark.asyncio
async def test_login_window_wait_in_minutes_and_the_ip_message(app_db, frozen_clock):
    for n in range(9):  # each after the previous wait, with the code once it is needed
        if n < 5:
            post("nobody", "wrong")
        else:
            post("nobody", "wrong", code=CODE, challenge=challenge())
        frozen_clock.advance(seconds=float(throttle.delay_after(n + 1).total_seconds())
                             if throttle.delay_after(n + 1) else 0)
    frozen_clock.advance(seconds=-float(throttle.delay_after(9).total_seconds()))
    assert throttle_state("nobody").failures == 9
    state = _login_state("e=wait&cap=1&login=nobody")
    await LoginState.on_load.fn(state)
    assert state.wait_message.endswith("через 8 мин 0 с")
    state = _login_state("e=ip&login=x")
    await LoginState.on_load.fn(state)
    assert state.error.startswith("Слишком много неудачных попыток входа с Вашего адреса.")
    assert state.needs_code is False and state.wait_message == ""


@pytest.mark.asyncio
async def test_login_window_trusts_until_only_within_the_cap(app_db, frozen_clock):
    soon = throttle.unix_seconds(frozen_clock.now + timedelta(seconds=90))
    state = _login_state(f"e=wait&cap=1&until={soon}&login=someone")
    await LoginState.on_load.fn(state)
    assert state.needs_code is True  # from the cap flag
    assert state.wait_message.endswith("через 1 мин 30 с")
    far = throttle.unix_seconds(frozen_clock.now + timedelta(days=3))
    state = _login_state(f"e=wait&until={far}&login=someone")
    await LoginState.on_load.fn(state)
    assert state.wait_message == ""


@pytest.mark.asyncio
async def test_login_window_believes_the_server_over_the_address(app_db, frozen_clock):
    for _ in range(5):
        post("nobody", "wrong")
    until = throttle.unix_seconds(frozen_clock.now + timedelta(seconds=30))
    frozen_clock.advance(seconds=31)
    # A reload of the old address after the wait: no wait shown, the code still asked.
    state = _login_state(f"e=invalid&cap=1&until={until}&login=nobody")
    assert await LoginState.on_load.fn(state) is None
    assert state.wait_message == "" and state.needs_code is True


def test_the_login_typed_comes_back_in_a_cookie_never_in_the_address(app_db, frozen_clock):
    from urllib.parse import unquote

    from lkk_app.web.cookies import LOGIN_HINT

    make_user("petrov")
    c = client()
    for login, password in (("Пётр.Иванов", "wrong"), ("petrov", "wrong"), ("petrov", "")):
        r = c.post("/auth/login", data={"login": login, "password": password},
                   headers={"Origin": ORIGIN})
        assert r.status_code == 303
        assert "login=" not in r.headers["location"] and "%D0" not in r.headers["location"]
        cookie = next(v for k, v in r.headers.multi_items()
                      if k == "set-cookie" and v.startswith(LOGIN_HINT + "="))
        assert unquote(cookie.split(";")[0].split("=", 1)[1]) == login
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=600" in cookie
    # An empty login field takes the older hint away (no stale login comes back).
    r = c.post("/auth/login", data={"login": "", "password": "x"}, headers={"Origin": ORIGIN})
    assert any(k == "set-cookie" and v.startswith(LOGIN_HINT + '=""') for k, v in r.headers.multi_items())
    r = c.post("/auth/login", data={"login": "petrov", "password": PASSWORD}, headers={"Origin": ORIGIN})
    assert logged_in(r)
    assert any(k == "set-cookie" and v.startswith(LOGIN_HINT + '=""') for k, v in r.headers.multi_items())
