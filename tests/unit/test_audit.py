"""The audit trail (SECURITY.md, "Sessions"): what each security action
records, in the same transaction; «Журнал безопасности» in «Профиль»; and no
secret ever reaching ``lkk_audit``.  SQLite and PostgreSQL."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import AuditEvent, OneTimeToken, User, UserSession
from lkk_app.auth import account, audit, recovery, sessions, users
from lkk_app.core import clock, tokens
from lkk_app.core.errors import FieldErrors
from lkk_app.settings import get_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

# Imported at module level: Reflex registers state classes in a context
# variable, which an import inside an asyncio test would lose.
from lkk_app.auth import confirmation, security
from lkk_app.auth import login as login_flow
from lkk_app.auth.login import LoginResult
from lkk_app.auth.security import JOURNAL_SIZE
from lkk_app.state.profile import PasswordPanel, ProfileState
from lkk_app.web.http import build_http_app
from tests.factories import make_user
from tests.statekit import make_state, run_events

PASSWORD = "Зелёный-слон-42"
NEW = "Синий кит плывёт 2026"
IP = "203.0.113.7"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def events(db, **where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.exec(stmt).all())


def summary(rows) -> list[tuple]:
    return [(r.event, r.result, r.user_id, r.detail) for r in rows]


@pytest.fixture
def user(db, settings, frozen_clock) -> User:
    return make_user(db, login="Ivanov", email="ivanov@example.com", password=PASSWORD,
                     settings=settings)


# --------------------------------------------------------------------------- «Профиль»: password change


def test_password_change_records_the_change_and_the_ended_sessions(db, settings, user, frozen_clock):
    mine = sessions.mint_session(db, user_id=user.id, settings=settings)
    sessions.mint_session(db, user_id=user.id, settings=settings)
    sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    account.change_password(db, user, current_password=PASSWORD, new_password=NEW,
                            password_confirm=NEW, keep_session_token=mine, ip=IP, user_agent=UA,
                            settings=settings)
    db.commit()
    rows = events(db)
    assert summary(rows) == [
        ("password_changed", "ok", user.id, "profile"),
        ("session_ended", "ok", user.id, "password change"),
    ]
    for row in rows:
        assert (row.ip, row.user_agent, row.login) == (IP, UA, "Ivanov")
        assert row.created_at == frozen_clock.now


def test_password_change_without_other_sessions_records_only_the_change(db, settings, user):
    mine = sessions.mint_session(db, user_id=user.id, settings=settings)
    account.change_password(db, user, current_password=PASSWORD, new_password=NEW,
                            password_confirm=NEW, keep_session_token=mine, settings=settings)
    assert summary(events(db)) == [("password_changed", "ok", user.id, "profile")]


def test_a_wrong_current_password_is_recorded_and_nothing_else(db, settings, user):
    with pytest.raises(FieldErrors):
        account.change_password(db, user, current_password="не тот пароль", new_password=NEW,
                                password_confirm=NEW, keep_session_token="", settings=settings)
    assert summary(events(db)) == [("password_change_failed", "fail", user.id, "current password")]
    with pytest.raises(FieldErrors):  # an empty one is no guess
        account.change_password(db, user, current_password="", new_password=NEW,
                                password_confirm=NEW, keep_session_token="", settings=settings)
    assert len(events(db)) == 1


def test_the_record_shares_the_actions_transaction(db, settings, user):
    """Rolled back with the change: no "password changed" for a change that did not happen."""
    account.change_password(db, user, current_password=PASSWORD, new_password=NEW,
                            password_confirm=NEW, keep_session_token="", settings=settings)
    assert len(events(db)) == 1
    db.rollback()
    assert events(db) == []


# --------------------------------------------------------------------------- recovery


def test_complete_reset_records_with_the_sessions_ip(db, settings, user):
    other = sessions.mint_session(db, user_id=user.id, settings=settings)
    restricted = sessions.mint_session(db, user_id=user.id, ip="198.51.100.4", user_agent=UA,
                                       must_change_password=True, settings=settings)
    recovery.mint_temp_password(db, user.id, settings=settings)
    db.commit()
    recovery.complete_reset(db, user=user, new_password=NEW, password_confirm=NEW,
                            session_token=restricted, settings=settings)
    db.commit()
    rows = events(db)
    assert summary(rows) == [
        ("password_changed", "ok", user.id, "recovery"),
        ("session_ended", "ok", user.id, "password change"),
    ]
    assert {(r.ip, r.user_agent) for r in rows} == {("198.51.100.4", UA)}
    assert sessions.resolve_session(db, other, settings=settings) is None


def test_complete_reset_takes_an_explicit_ip(db, settings, user):
    restricted = sessions.mint_session(db, user_id=user.id, ip="198.51.100.4",
                                       must_change_password=True, settings=settings)
    recovery.complete_reset(db, user=user, new_password=NEW, password_confirm=NEW,
                            session_token=restricted, ip=IP, user_agent="X/1", settings=settings)
    [row] = events(db)
    assert (row.event, row.ip, row.user_agent) == ("password_changed", IP, "X/1")


def test_recovery_request_is_recorded_for_every_request(db, settings, user):
    recovery.request_reset(db, login="IVANOV", email="Ivanov@Example.com", ip=IP, user_agent=UA,
                           settings=settings)
    recovery.request_reset(db, login="ivanov", email="someone@example.com", ip=IP,
                           settings=settings)
    recovery.request_reset(db, login="nobody", email="ivanov@example.com", ip=IP,
                           settings=settings)
    db.commit()
    rows = events(db)
    # The account is named only when the pair matched; nothing says so otherwise.
    assert summary(rows) == [
        ("recovery_requested", "ok", user.id, ""),
        ("recovery_requested", "ok", None, ""),
        ("recovery_requested", "ok", None, ""),
    ]
    assert [r.login for r in rows] == ["IVANOV", "ivanov", "nobody"]
    assert rows[0].user_agent == UA and {r.ip for r in rows} == {IP}
    for row in rows:  # the e-mail address is not recorded
        assert "example.com" not in repr(row.model_dump()).lower()
    # The unmatched requests do not show up in the account's journal.
    assert [e.user_id for e in audit.recent_for_user(db, user.id)] == [user.id]


def test_recovery_over_the_limit_is_recorded_as_refused(db, settings, user):
    for _ in range(4):  # 3 per hour per account
        recovery.request_reset(db, login="ivanov", email="ivanov@example.com", ip=IP,
                               settings=settings)
    db.commit()
    assert [r.result for r in events(db)] == ["ok", "ok", "ok", "refused"]
    assert {r.user_id for r in events(db)} == {user.id}


def test_recovery_over_the_ip_limit_is_refused_without_naming_anyone(db, settings, user):
    for n in range(11):  # 10 per hour per IP
        recovery.request_reset(db, login=f"nobody{n}", email="x@example.com", ip="192.0.2.77",
                               settings=settings)
    rows = events(db)
    assert [r.result for r in rows] == ["ok"] * 10 + ["refused"]
    assert {r.user_id for r in rows} == {None}


def test_recovery_for_an_unconfirmed_account_is_recorded(db, settings):
    nina = users.create_user(db, login="nina", email="nina@example.com", password=PASSWORD,
                             confirmed=False, settings=settings)
    recovery.request_reset(db, login="nina", email="nina@example.com", ip=IP, settings=settings)
    assert summary(events(db)) == [("recovery_requested", "ok", nina.id, "")]


# --------------------------------------------------------------------------- HTTP routes


def _app_user(login="petrov", confirmed=True) -> User:
    with db_module.session_scope() as s:
        return users.create_user(s, login=login, email=f"{login}@example.com", password=PASSWORD,
                                 confirmed=confirmed)


def _all_events(**where) -> list[AuditEvent]:
    with db_module.session_scope() as s:
        return events(s, **where)


def _resend(user_id: int) -> None:
    with db_module.session_scope() as s:
        confirmation.resend(s, user_id, ip=IP, user_agent=UA)


def _log_in(login: str, password: str) -> login_flow.LoginOutcome:
    return login_flow.log_in(login=login, password=password, ip=IP, user_agent=UA)


def test_first_login_with_a_temp_password_is_recorded(app_db):
    user = _app_user()
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    assert _log_in("petrov", temp + "x").result is LoginResult.INVALID
    assert _all_events(event="recovery_used") == []
    assert _log_in("petrov", temp).result is LoginResult.RESTRICTED
    [row] = _all_events(event="recovery_used")
    assert (row.result, row.user_id, row.login, row.ip, row.user_agent) == (
        "ok", user.id, "petrov", IP, UA)
    # The ordinary password is not "recovery used".
    assert _log_in("petrov", PASSWORD).result is LoginResult.OK
    assert len(_all_events(event="recovery_used")) == 1


def test_email_confirmation_is_recorded_once(app_db):
    user = _app_user("nina", confirmed=False)
    with db_module.session_scope() as s:
        token = tokens.issue_token(s, user_id=user.id, purpose=tokens.CONFIRM_EMAIL,
                                   ttl=timedelta(hours=24))
    with db_module.session_scope() as s:
        first = confirmation.confirm(s, token, ip=IP, user_agent=UA)
    with db_module.session_scope() as s:
        second = confirmation.confirm(s, token, ip=IP, user_agent=UA)
    assert first.session_token and not first.failure
    assert (second.session_token, second.failure) == ("", tokens.USED)
    [row] = _all_events(event="email_confirmed")
    assert (row.result, row.user_id, row.ip, row.user_agent) == ("ok", user.id, IP, UA)


def test_confirmation_resend_is_recorded_ok_then_refused(app_db):
    user = _app_user("nina", confirmed=False)
    _resend(user.id)
    _resend(user.id)  # 1 per 2 minutes
    rows = _all_events(event="confirmation_resent")
    assert [(r.result, r.user_id, r.ip, r.user_agent) for r in rows] == [
        ("ok", user.id, IP, UA), ("refused", user.id, IP, UA)]
    confirmed = _app_user("olga")
    _resend(confirmed.id)  # nothing to resend: nothing recorded
    assert len(_all_events(event="confirmation_resent")) == 2


def test_logout_is_recorded_once(app_db):
    user = _app_user()
    with db_module.session_scope() as s:
        token = sessions.mint_session(s, user_id=user.id)
    for ended in (token, token, "unknown-token-unknown-token-unknown-token-0"):
        with db_module.session_scope() as s:
            security.log_out(s, ended, ip=IP, user_agent=UA)
    rows = _all_events(event="session_ended")
    assert [(r.user_id, r.detail, r.ip, r.user_agent) for r in rows] == [
        (user.id, "logout", IP, UA)]


def _client() -> TestClient:
    return TestClient(build_http_app(), base_url=get_settings().public_origin)


def _post(client, path: str, data: dict | None = None):
    return client.post(path, data=data or {}, follow_redirects=False,
                       headers={"origin": get_settings().public_origin, "user-agent": UA})


def test_http_routes_record_the_client(app_db):
    """Through the real routes: the client's address and user agent are recorded."""
    _app_user()
    nina = _app_user("nina", confirmed=False)
    client = _client()
    assert _post(client, "/auth/login", {"login": "petrov", "password": PASSWORD}).status_code == 303
    assert _post(client, "/auth/logout").status_code == 303
    [ended] = _all_events(event="session_ended")
    assert (ended.detail, ended.ip, ended.user_agent) == ("logout", "testclient", UA)

    pending = _client()
    response = _post(pending, "/auth/login", {"login": "nina", "password": PASSWORD})
    assert confirmation.TICKET_COOKIE in response.cookies
    assert _post(pending, "/auth/resend").status_code == 303
    [resent] = _all_events(event="confirmation_resent")
    assert (resent.user_id, resent.ip, resent.user_agent) == (nina.id, "testclient", UA)


# --------------------------------------------------------------------------- «Журнал безопасности»


def _state(token: str, cls=ProfileState):
    return make_state(cls, "/profile", cookie=f"lkk_session={token}", ip=IP, user_agent=UA)


_run = run_events


@pytest.mark.asyncio
async def test_journal_shows_the_users_latest_events_in_russian(app_db):
    user = _app_user()
    other = _app_user("olga")
    with db_module.session_scope() as s:
        token = sessions.mint_session(s, user_id=user.id)
        for n in range(JOURNAL_SIZE + 5):
            audit.record(s, event=audit.LOGIN_FAILURE, result=audit.FAIL, user_id=user.id,
                         ip=f"192.0.2.{n}")
        audit.record(s, event=audit.LOGIN_THROTTLED, result=audit.REFUSED, user_id=user.id)
        audit.record(s, event=audit.LOGIN_SUCCESS, user_id=user.id, ip=IP)
        audit.record(s, event="something_new", user_id=user.id, detail="internal detail")
        audit.record(s, event=audit.SESSION_ENDED, user_id=user.id, detail="logout")
        audit.record(s, event=audit.LOGIN_SUCCESS, user_id=other.id, ip="198.51.100.99")
    state = _state(token)
    assert await ProfileState.on_load.fn(state) is None
    journal = state.journal
    assert len(journal) == JOURNAL_SIZE
    assert [(j.event, j.detail, j.result, j.ok) for j in journal[:4]] == [
        ("Сеанс завершён", "выход из личного кабинета", "успешно", True),
        ("Событие безопасности", "", "успешно", True),
        ("Вход в личный кабинет", "", "успешно", True),
        ("Вход временно ограничен", "", "отказ", False),
    ]
    assert journal[2].ip == IP and journal[0].ip == "—"
    assert (journal[4].event, journal[4].result, journal[4].ip) == (
        "Неудачная попытка входа", "отказ", "192.0.2.24")
    # Shown in Moscow time (UTC+3, LKK_TIME_ZONE's default), without "(UTC)".
    moscow = {(clock.utcnow() + timedelta(hours=3, minutes=-m)).strftime("%d.%m.%Y %H:%M")
              for m in (0, 1)}
    assert all(j.time in moscow for j in journal)
    assert "198.51.100.99" not in repr(state.dict())


@pytest.mark.parametrize("event", ["login_success", "login_failure", "login_throttled",
                                   "password_changed", "password_change_failed",
                                   "recovery_requested", "recovery_used",
                                   "email_confirmed", "confirmation_resent", "session_ended"])
def test_every_event_has_a_russian_name(event):
    from lkk_app.i18n import t

    assert getattr(audit, event.upper()) == event
    assert t(f"audit.{event}")


@pytest.mark.asyncio
async def test_profile_password_change_shows_up_in_the_journal(app_db):
    user = _app_user()
    with db_module.session_scope() as s:
        token = sessions.mint_session(s, user_id=user.id)
        sessions.mint_session(s, user_id=user.id)
    state = _state(token, PasswordPanel)
    await ProfileState.on_load.fn(state)
    await _run(PasswordPanel.change_password.fn(state, {
        "current_password": PASSWORD, "new_password": NEW, "password_confirm": NEW}))
    assert state.password_saved
    assert [j.event for j in state.journal] == ["Сеанс завершён", "Пароль изменён"]
    assert state.journal[0].detail == "при смене пароля"
    assert [(r.ip, r.user_agent) for r in _all_events()] == [(IP, UA), (IP, UA)]
    assert state.other_sessions == 0


# --------------------------------------------------------------------------- no secrets


@pytest.mark.asyncio
async def test_no_secret_reaches_the_audit_trail(app_db):
    """Run the flows that touch secrets, then look for every one of them in lkk_audit."""
    key = get_settings().secret_key
    secrets_used: list[str] = [PASSWORD, NEW, key.decode("latin-1"), key.hex()]
    wrong = ["Неверный пароль 1", PASSWORD + "x", "hunter2-не-тот"]
    secrets_used += wrong
    user = _app_user("ivanov")
    _app_user("nina", confirmed=False)
    client = _client()

    # Logins with wrong passwords, then the right one.
    for password in wrong:
        response = _post(client, "/auth/login", {"login": "ivanov", "password": password})
        assert "e=invalid" in response.headers["location"]
    response = _post(client, "/auth/login", {"login": "ivanov", "password": PASSWORD})
    secrets_used.append(response.cookies["lkk_session"])

    # Recovery: the request, the temporary password (a wrong one first), the new password.
    with db_module.session_scope() as s:
        recovery.request_reset(s, login="ivanov", email="ivanov@example.com", ip=IP, user_agent=UA)
        recovery.request_reset(s, login="ivanov", email="ivanov@example.org", ip=IP, user_agent=UA)
        temp = recovery.mint_temp_password(s, user.id)
    secrets_used += [temp, temp + "x"]
    _post(_client(), "/auth/login", {"login": "ivanov", "password": temp + "x"})
    temp_client = _client()
    response = _post(temp_client, "/auth/login", {"login": "ivanov", "password": temp})
    assert response.headers["location"] == "/change-password"
    restricted = response.cookies["lkk_session"]
    secrets_used.append(restricted)
    after_reset = "Пароль после сброса 55"
    secrets_used.append(after_reset)
    with db_module.session_scope() as s:
        with pytest.raises(FieldErrors):  # the temporary password itself is refused
            recovery.complete_reset(s, user=users.get_user(s, user.id), new_password=temp,
                                    password_confirm=temp, session_token=restricted)
    with db_module.session_scope() as s:
        recovery.complete_reset(s, user=users.get_user(s, user.id), new_password=after_reset,
                                password_confirm=after_reset, session_token=restricted)

    # «Профиль»: a wrong current password, then a change.
    state = _state(restricted, PasswordPanel)
    await ProfileState.on_load.fn(state)
    await _run(PasswordPanel.change_password.fn(state, {
        "current_password": "Совсем не тот пароль", "new_password": NEW, "password_confirm": NEW}))
    secrets_used.append("Совсем не тот пароль")
    await _run(PasswordPanel.change_password.fn(state, {
        "current_password": after_reset, "new_password": NEW, "password_confirm": NEW}))
    assert state.password_saved
    _post(temp_client, "/auth/logout")

    # Confirmation: the link token, the pending cookie, a resend.
    pending_client = _client()
    response = _post(pending_client, "/auth/login", {"login": "nina", "password": PASSWORD})
    secrets_used.append(response.cookies[confirmation.TICKET_COOKIE])
    _post(pending_client, "/auth/resend")
    with db_module.session_scope() as s:
        nina = users.get_user_by_login(s, "nina")
        link = tokens.issue_token(s, user_id=nina.id, purpose=tokens.CONFIRM_EMAIL,
                                  ttl=timedelta(hours=24))
    secrets_used.append(link)
    assert pending_client.get(f"/confirm/{link}", follow_redirects=False).status_code == 200
    assert _post(pending_client, f"/confirm/{link}").status_code == 303

    with db_module.session_scope() as s:
        rows = events(s)
        # Stored hashes are secrets too.
        secrets_used += [u.password_hash for u in s.exec(select(User)).all()]
        secrets_used += [t.token_hash for t in s.exec(select(OneTimeToken)).all()]
        secrets_used += [r.token_hash for r in s.exec(select(UserSession)).all()]
    secrets_used += [sessions.hash_token(v) for v in secrets_used if v]

    recorded = {r.event for r in rows}
    assert {"recovery_requested", "recovery_used", "password_changed", "session_ended",
            "email_confirmed", "confirmation_resent"} <= recorded, recorded
    assert len(secrets_used) > 20
    for row in rows:
        text = " ".join(str(v) for v in row.model_dump().values())
        for secret in secrets_used:
            assert secret, "empty secret in the list"
            assert secret not in text, (row.event, secret[:4] + "…")
            assert secret.casefold() not in text.casefold(), (row.event, secret[:4] + "…")


def test_the_owners_right_password_before_confirmation_is_not_a_failure(app_db):
    user = _app_user("nadia", confirmed=False)
    assert _log_in("nadia", PASSWORD).result is LoginResult.UNCONFIRMED
    [row] = _all_events(user_id=user.id)
    assert (row.event, row.result) == ("login_unconfirmed", "refused")
    assert _all_events(event="login_failure") == []
    from lkk_app.i18n import t
    assert t("audit.login_unconfirmed") == "Вход до подтверждения адреса электронной почты"


def test_a_login_with_a_temporary_password_is_one_entry(app_db):
    user = _app_user()
    with db_module.session_scope() as s:
        temp = recovery.mint_temp_password(s, user.id)
    before = {e.id for e in _all_events(user_id=user.id)}
    assert _log_in("petrov", temp).result is LoginResult.RESTRICTED
    new = [e for e in _all_events(user_id=user.id) if e.id not in before]
    assert [(e.event, e.detail) for e in new] == [("recovery_used", "temporary password")]
