"""The login use case itself (``auth/login.py``: ``log_in``), without HTTP: one
typed outcome per branch.  The HTTP route only turns these into cookies and
redirects (``unit/test_login_route.py``).  SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.auth import confirmation, recovery, sessions
from lkk_app.auth import login as login_flow
from lkk_app.auth.login import LoginOutcome, LoginResult
from lkk_app.core import clock
from lkk_app.models import AuditEvent
from tests.unit.test_login_route import (
    CODE,
    PASSWORD,
    challenge,
    make_user,
)

IP = "192.0.2.44"

pytestmark = pytest.mark.app_settings(LKK_CAPTCHA_FIXED_CODE=CODE)


def log_in(login: str, password: str, **kwargs) -> LoginOutcome:
    kwargs.setdefault("ip", IP)
    return login_flow.log_in(login=login, password=password, user_agent="pytest-agent", **kwargs)


def session_of(token: str):
    with db_module.session_scope() as s:
        return sessions.resolve_session(s, token, touch=False)


def test_the_right_password_opens_a_session_and_remembers_the_device(app_db):
    user = make_user("petrov")
    outcome = log_in("petrov", PASSWORD)
    assert outcome.result is LoginResult.OK and outcome.logged_in
    row = session_of(outcome.session_token)
    assert (row.user_id, row.must_change_password) == (user.id, False)
    assert outcome.device_token and outcome.resend_ticket == ""
    assert (outcome.needs_captcha, outcome.retry_at) == (False, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.result = LoginResult.INVALID  # type: ignore[misc]
    for secret in (outcome.session_token, outcome.device_token):
        assert secret not in repr(outcome)
    # The device cookie comes back as it was at the next login.
    again = log_in("petrov", PASSWORD, device_token=outcome.device_token)
    assert again.result is LoginResult.OK and again.device_token == outcome.device_token


def test_a_temporary_password_opens_a_restricted_session(app_db):
    user = make_user("petrov")
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    outcome = log_in("petrov", temp)
    assert outcome.result is LoginResult.RESTRICTED and outcome.logged_in
    assert session_of(outcome.session_token).must_change_password is True
    assert outcome.device_token


def test_only_the_right_password_learns_that_the_address_is_unconfirmed(app_db):
    user = make_user("nina", confirmed=False)
    wrong = log_in("nina", "не тот пароль")
    assert wrong == LoginOutcome(LoginResult.INVALID)
    outcome = log_in("nina", PASSWORD)
    assert outcome.result is LoginResult.UNCONFIRMED and not outcome.logged_in
    assert outcome.session_token == "" and outcome.device_token == ""
    # The ticket allows the resend for this account, and nothing else.
    assert confirmation.ticket_user(outcome.resend_ticket) == user.id
    assert confirmation.ticket_user(outcome.resend_ticket + "x") is None


def test_unknown_and_known_logins_fail_alike(app_db):
    make_user("petrov")
    assert log_in("petrov", "не тот пароль") == log_in("nobody", PASSWORD) == LoginOutcome(
        LoginResult.INVALID)


def test_repeated_failures_bring_the_code_and_then_a_wait(app_db, frozen_clock):
    make_user("petrov")
    outcomes = [log_in("petrov", f"угадываю {n}") for n in range(5)]
    assert [o.result for o in outcomes] == [LoginResult.INVALID] * 5
    assert [o.needs_captcha for o in outcomes] == [False] * 4 + [True]
    assert outcomes[-1].retry_at is not None and outcomes[-1].retry_at > clock.utcnow()
    # During the wait nothing is checked, not even the right password with the right code.
    waiting = log_in("petrov", PASSWORD, captcha_id=challenge(), code=CODE)
    assert (waiting.result, waiting.needs_captcha) == (LoginResult.WAIT, True)
    assert waiting.retry_at == outcomes[-1].retry_at and waiting.session_token == ""
    # After the wait: without the code refused, with it the right password gets in.
    frozen_clock.now = waiting.retry_at
    assert log_in("petrov", PASSWORD).result is LoginResult.INVALID
    assert log_in("petrov", PASSWORD, captcha_id=challenge(), code=CODE).result is LoginResult.OK


def test_too_many_failures_from_one_address_are_refused_unchecked(app_db):
    for n in range(30):  # 30 per 10 minutes per IP, any logins
        assert log_in(f"nobody{n}", "не тот пароль").result is LoginResult.INVALID
    make_user("petrov")
    refused = log_in("petrov", PASSWORD)
    assert refused == LoginOutcome(LoginResult.IP_LIMIT)
    # Another address is not held back.
    assert log_in("petrov", PASSWORD, ip="198.51.100.3").result is LoginResult.OK


def test_a_new_login_ends_the_browsers_previous_session(app_db):
    user = make_user("petrov")
    other = make_user("olga")
    first = log_in("olga", PASSWORD)
    outcome = log_in("petrov", PASSWORD, previous_session=first.session_token)
    assert outcome.result is LoginResult.OK
    assert session_of(first.session_token) is None and session_of(outcome.session_token)
    with db_module.session_scope() as s:
        [ended] = s.exec(select(AuditEvent).where(AuditEvent.event == "session_ended")).all()
    assert (ended.user_id, ended.detail) == (other.id, login_flow.ENDED_BY_NEW_LOGIN)
    assert user.id != other.id
