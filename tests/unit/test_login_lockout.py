"""An attacker must not keep the owner locked out (POST /auth/login over HTTP).

The attacker solves every authorization code (stock OCR reads them) and fails
once more at the end of every wait.  The owner still gets in: from another
address, from a browser where they logged in before (the device cookie), and
with the temporary password from a recovery letter.  And the wait holds by
itself: during it even the right code with the right password is refused.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import AuditEvent, KnownDevice
from lkk_app.auth import devices, ratelimit, recovery, sessions, throttle, users
from lkk_app.state.login import LoginState
from tests.statekit import make_state
from tests.unit.test_login_route import (
    CODE, ORIGIN, PASSWORD, challenge, logged_in, make_user, query, without_login,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"

pytestmark = pytest.mark.app_settings(LKK_CAPTCHA_FIXED_CODE=CODE)


def post(login: str, password: str, *, ip: str, cookies: dict[str, str] | None = None,
         code: bool = False):
    from lkk_app.web.http import build_http_app

    data = {"login": login, "password": password}
    if code:
        data.update(code=CODE, captcha_id=challenge())
    headers = {"origin": ORIGIN, "user-agent": "pytest-agent"}
    if cookies:
        headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    client = TestClient(build_http_app(), client=(ip, 50000), follow_redirects=False)
    return client.post("/auth/login", data=data, headers=headers)


def cookie_of(response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return ""


def strict_state(login: str, ip: str) -> throttle.ThrottleState:
    with db_module.session_scope() as s:
        return throttle.check(s, throttle.client_key(login, ip=ip))


@pytest.fixture
def authenticate_calls(monkeypatch):
    calls = []
    real = users.authenticate

    def counting(session, *, login, password, settings=None):
        calls.append(password)
        return real(session, login=login, password=password, settings=settings)

    monkeypatch.setattr(users, "authenticate", counting)
    return calls


def attack_until_throttled(frozen_clock, rounds: int, on_each_round=None) -> None:
    """5 wrong passwords, then one more (with a solved code) at the end of every wait."""
    for _ in range(5):
        post("petrov", "угадываю", ip=ATTACKER)
    for n in range(rounds):
        state = strict_state("petrov", ATTACKER)
        assert state.waiting(), n
        frozen_clock.now = state.retry_at
        if on_each_round:
            on_each_round(n)
        assert without_login(post("petrov", f"угадываю {n}", ip=ATTACKER, code=True))["e"] == "invalid"


# --------------------------------------------------------------------------- lock-out


def test_the_owner_from_another_address_gets_in_during_the_attack(app_db, frozen_clock):
    make_user("petrov")
    results = []

    def owner_logs_in(n):
        # At the very moment the attacker's wait ends, and without any code.
        response = post("petrov", PASSWORD, ip=OWNER)
        results.append(logged_in(response))

    attack_until_throttled(frozen_clock, rounds=7, on_each_round=owner_logs_in)
    assert results == [True] * 7
    # The attacker is still throttled: the owner's logins did not reset the attacker's series.
    state = strict_state("petrov", ATTACKER)
    assert state.failures == 12 and state.waiting() and state.needs_captcha
    assert strict_state("petrov", OWNER) == throttle.ThrottleState()
    # And the owner's login window shows neither a code nor a wait.
    window = make_state(LoginState, "/", query="e=invalid", ip=OWNER, cookie="lkk_login_hint=petrov")
    import asyncio
    asyncio.run(LoginState.on_load.fn(window))
    assert (window.needs_code, window.wait_message) == (False, "")


def test_a_known_device_gets_in_from_the_attackers_own_address(app_db, frozen_clock):
    """Same address (one office behind one NAT): the browser the owner logged in
    with before carries its device cookie and has a bucket of its own."""
    make_user("petrov")
    first = post("petrov", PASSWORD, ip=ATTACKER)
    device = cookie_of(first, devices.COOKIE_NAME)
    assert devices.well_formed(device)
    results = []
    attack_until_throttled(
        frozen_clock, rounds=5,
        on_each_round=lambda n: results.append(logged_in(
            post("petrov", PASSWORD, ip=ATTACKER, cookies={devices.COOKIE_NAME: device}))))
    assert results == [True] * 5
    # Without the cookie, from that address: refused like the attacker.
    assert query(post("petrov", PASSWORD, ip=ATTACKER))["e"] == "wait"


def test_a_device_cookie_of_another_account_is_no_key(app_db, frozen_clock, authenticate_calls):
    """An attacker's own account gives its browser a device cookie — for that
    account only; the victim's login from it is throttled like any stranger's."""
    make_user("petrov")
    make_user("attacker")
    device = cookie_of(post("attacker", PASSWORD, ip=ATTACKER), devices.COOKIE_NAME)
    jar = {devices.COOKIE_NAME: device}
    for _ in range(5):
        post("petrov", "угадываю", ip=ATTACKER, cookies=jar)
    authenticate_calls.clear()
    assert query(post("petrov", "угадываю", ip=ATTACKER, cookies=jar, code=True))["e"] == "wait"
    assert authenticate_calls == []
    # A made-up or stale cookie is just as useless.
    assert query(post("petrov", PASSWORD, ip=ATTACKER,
                      cookies={devices.COOKIE_NAME: "x" * 43}))["e"] == "wait"


def test_a_temporary_password_works_while_the_login_is_throttled(app_db, frozen_clock,
                                                                  authenticate_calls):
    user = make_user("petrov")
    attack_until_throttled(frozen_clock, rounds=3)
    # The owner at the attacker's address (no known device), during the wait,
    # with the letter's temporary password and no code.
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    authenticate_calls.clear()
    assert query(post("petrov", PASSWORD, ip=ATTACKER))["e"] == "wait"  # the own password: refused
    response = post("petrov", temp, ip=ATTACKER)
    assert logged_in(response) and response.headers["location"] == "/change-password"
    assert authenticate_calls == []  # the wait held: no password was compared
    # The attacker's series goes on (the same address: it is not reset) ...
    assert strict_state("petrov", ATTACKER).failures == 8
    assert query(post("petrov", "угадываю", ip=ATTACKER, code=True))["e"] == "wait"
    # ... and after the wait the code is needed: the temporary password needs none.
    frozen_clock.now = strict_state("petrov", ATTACKER).retry_at
    assert without_login(post("petrov", PASSWORD, ip=ATTACKER)) == {"e": "invalid", "cap": "1"}
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    assert logged_in(post("petrov", temp, ip=ATTACKER))
    with db_module.session_scope() as s:
        details = [r.detail for r in s.exec(select(AuditEvent)
                                            .where(AuditEvent.event == "recovery_used")).all()]
    assert details == ["temporary password while throttled (wait)",
                       "temporary password while throttled (captcha)"]


def test_the_wait_holds_even_with_a_solved_code(app_db, frozen_clock, authenticate_calls):
    make_user("petrov")
    for _ in range(5):
        post("petrov", "угадываю", ip=ATTACKER)
    for seconds in (0, 10, 19):  # 0, 10 and 29 s into the 30 s wait
        frozen_clock.advance(seconds=seconds)
        authenticate_calls.clear()
        response = post("petrov", PASSWORD, ip=ATTACKER, code=True)
        assert query(response)["e"] == "wait" and not logged_in(response)
        assert authenticate_calls == []  # the password was not even looked at
    frozen_clock.advance(seconds=1)
    assert logged_in(post("petrov", PASSWORD, ip=ATTACKER, code=True))


def _spray(frozen_clock, count: int, first_ip: int = 0) -> None:
    """``count`` failures for petrov, each from another address (a botnet)."""
    for n in range(first_ip, first_ip + count):
        ip = f"10.9.{n // 250}.{n % 250 + 1}"
        response = post("petrov", f"угадываю {n}", ip=ip, code=n >= 50)
        assert query(response)["e"] == "invalid", n


def test_many_addresses_bring_the_code_for_unknown_devices_only(app_db, frozen_clock):
    make_user("petrov")
    device = cookie_of(post("petrov", PASSWORD, ip=OWNER), devices.COOKIE_NAME)
    _spray(frozen_clock, 50)
    # A fresh address now needs the code; with it, the right password works.
    assert without_login(post("petrov", PASSWORD, ip="192.0.2.77")) == {"e": "invalid", "cap": "1"}
    assert logged_in(post("petrov", PASSWORD, ip="192.0.2.77", code=True))
    # The known device needs nothing.
    assert logged_in(post("petrov", PASSWORD, ip="192.0.2.78", cookies={devices.COOKIE_NAME: device}))


def test_beyond_a_hundred_unknown_devices_wait_known_ones_and_the_letter_do_not(
        app_db, frozen_clock, authenticate_calls):
    user = make_user("petrov")
    device = cookie_of(post("petrov", PASSWORD, ip=OWNER), devices.COOKIE_NAME)
    start = frozen_clock.now
    _spray(frozen_clock, 100)
    authenticate_calls.clear()
    response = post("petrov", PASSWORD, ip="192.0.2.77", code=True)
    assert not logged_in(response)
    answer = without_login(response)
    assert answer["e"] == "wait" and answer["cap"] == "1"
    # The wait ends when the oldest failure leaves the hour.
    assert answer["until"] == str(throttle.unix_seconds(start + timedelta(hours=1)))
    assert authenticate_calls == []
    assert logged_in(post("petrov", PASSWORD, ip="192.0.2.78", cookies={devices.COOKIE_NAME: device}))
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    assert logged_in(post("petrov", temp, ip="192.0.2.79"))
    frozen_clock.now = start + timedelta(hours=1, seconds=1)
    assert logged_in(post("petrov", PASSWORD, ip="192.0.2.77", code=True))


def test_the_per_login_count_does_not_tell_whether_the_login_exists(app_db, frozen_clock):
    make_user("petrov")
    answers = {}
    for who in ("petrov", "nobody"):
        for n in range(50):
            post(who, "угадываю", ip=f"10.8.{n}.1")
        answers[who] = without_login(post(who, PASSWORD, ip="192.0.2.5"))
    assert answers["petrov"] == answers["nobody"] == {"e": "invalid", "cap": "1"}


# --------------------------------------------------------------------------- the device cookie


def test_the_device_cookie(app_db, frozen_clock):
    user = make_user("petrov")
    response = post("petrov", PASSWORD, ip=OWNER)
    header = next(h for h in response.headers.get_list("set-cookie")
                  if h.startswith(devices.COOKIE_NAME + "="))
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/" in header
    assert f"Max-Age={365 * 24 * 3600}" in header
    token = cookie_of(response, devices.COOKIE_NAME)
    with db_module.session_scope() as s:
        rows = s.exec(select(KnownDevice)).all()
    assert [(r.user_id, r.token_hash) for r in rows] == [(user.id, devices.hash_token(token))]
    assert token not in rows[0].token_hash
    # The next login keeps the browser's cookie; a wrong password sets none.
    again = post("petrov", PASSWORD, ip=OWNER, cookies={devices.COOKIE_NAME: token})
    assert cookie_of(again, devices.COOKIE_NAME) == token
    assert cookie_of(post("petrov", "x", ip=OWNER), devices.COOKIE_NAME) == ""
    # One browser, two accounts: a known device of both.
    make_user("sidorov")
    post("sidorov", PASSWORD, ip=OWNER, cookies={devices.COOKIE_NAME: token})
    with db_module.session_scope() as s:
        assert len(s.exec(select(KnownDevice)).all()) == 2
        # Forgotten after a year unused.
        frozen_clock.advance(days=366)
        assert devices.known_device(s, token, user.id) is None
        assert devices.purge(s) == 2


# --------------------------------------------------------------------------- another user, same browser


def session_alive(token: str) -> bool:
    with db_module.session_scope() as s:
        return sessions.resolve_session(s, token) is not None


def test_logging_in_as_another_user_ends_the_previous_session(app_db, frozen_clock):
    first = make_user("petrov")
    make_user("sidorov")
    old = cookie_of(post("petrov", PASSWORD, ip=OWNER), "lkk_session")
    assert session_alive(old)
    # A failed login leaves it alone.
    assert not logged_in(post("sidorov", "x", ip=OWNER, cookies={"lkk_session": old}))
    assert session_alive(old)
    response = post("sidorov", PASSWORD, ip=OWNER, cookies={"lkk_session": old})
    new = cookie_of(response, "lkk_session")
    assert new and new != old
    assert not session_alive(old)  # ended on the server, not only replaced in the browser
    assert session_alive(new)
    with db_module.session_scope() as s:
        row = s.exec(select(AuditEvent).where(AuditEvent.event == "session_ended")).one()
    assert (row.user_id, row.detail) == (first.id, "new login")


def test_an_unconfirmed_login_in_the_same_browser_ends_the_previous_session(app_db):
    make_user("petrov")
    make_user("sidorov", confirmed=False)
    old = cookie_of(post("petrov", PASSWORD, ip=OWNER), "lkk_session")
    response = post("sidorov", PASSWORD, ip=OWNER, cookies={"lkk_session": old})
    assert query(response)["e"] == "unconfirmed"
    assert not session_alive(old)
    assert any(h.startswith('lkk_session=""') for h in response.headers.get_list("set-cookie"))


def test_the_per_ip_limit_does_not_count_a_known_device(app_db, frozen_clock):
    make_user("petrov")
    device = cookie_of(post("petrov", PASSWORD, ip=ATTACKER), devices.COOKIE_NAME)
    for n in range(30):
        post(f"guess{n}", "x", ip=ATTACKER)
    assert query(post("petrov", PASSWORD, ip=ATTACKER))["e"] == "ip"
    assert logged_in(post("petrov", PASSWORD, ip=ATTACKER, cookies={devices.COOKIE_NAME: device}))
    with db_module.session_scope() as s:
        bucket, limit, window = ratelimit.login_fail_ip_rule(ATTACKER)
        assert ratelimit.count(s, bucket, window) == limit
