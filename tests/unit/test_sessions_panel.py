"""«Сеансы» in «Профиль»: listing the user's live sessions and ending them by id
(services and the Reflex handlers).  SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import AuditEvent, UserSession
from lkk_app.auth import sessions, users
from lkk_app.core import clock

# Imported at module level: Reflex registers state classes in a context
# variable, which an import inside an asyncio test would lose.
from lkk_app.state.profile import PhonePanel, ProfileState, SessionItem, SessionsPanel
from tests.statekit import make_state, redirects, run_events, sibling

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")


# --------------------------------------------------------------------------- services


@pytest.fixture
def two_users(db, settings, frozen_clock):
    ivan = users.create_user(db, login="ivan", email="ivan@example.com",
                             password="Зелёный-слон-42", settings=settings)
    olga = users.create_user(db, login="olga", email="olga@example.com",
                             password="Красный-тигр-17", settings=settings)
    db.commit()
    return ivan, olga


def _row(db, token: str) -> UserSession:
    return db.exec(select(UserSession).where(
        UserSession.token_hash == sessions.hash_token(token))).one()


def test_list_active_sessions_only_live_ones_of_the_user(db, settings, two_users, frozen_clock):
    ivan, olga = two_users
    old = sessions.mint_session(db, user_id=ivan.id, ip="198.51.100.1", settings=settings)
    frozen_clock.advance(minutes=5)
    idle = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    revoked = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    sessions.revoke_session(db, revoked)
    recent = sessions.mint_session(db, user_id=ivan.id, ip="198.51.100.2",
                                   user_agent=CHROME_WIN, settings=settings)
    sessions.mint_session(db, user_id=olga.id, settings=settings)
    db.commit()

    # 25 minutes on, the sessions seen recently stay; "idle" was never seen again.
    frozen_clock.advance(minutes=25)
    for token in (old, recent):
        assert sessions.resolve_session(db, token, settings=settings) is not None
    frozen_clock.advance(minutes=6)  # "idle": 31 minutes since it was last seen
    db.commit()
    listed = sessions.list_active_sessions(db, ivan.id, settings=settings)
    assert [r.token_hash for r in listed] == [_row(db, t).token_hash for t in (recent, old)]
    assert sessions.resolve_session(db, idle, settings=settings) is None
    assert {r.user_id for r in listed} == {ivan.id}
    assert listed[0].ip == "198.51.100.2" and listed[0].user_agent == CHROME_WIN


def test_list_active_sessions_respects_absolute_expiry_and_lowered_setting(
        db, settings, two_users, frozen_clock):
    ivan, _ = two_users
    token = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    db.commit()
    for _ in range(12 * 2):  # keep it active every 30 minutes up to the absolute limit
        frozen_clock.advance(minutes=29)
        sessions.resolve_session(db, token, settings=settings)
    db.commit()
    assert frozen_clock.now - _row(db, token).created_at < timedelta(hours=12)
    assert len(sessions.list_active_sessions(db, ivan.id, settings=settings)) == 1
    # Lowering the absolute lifetime ends it at once, as resolve_session does.
    lowered = dataclasses.replace(settings, session_absolute_hours=1)
    assert sessions.list_active_sessions(db, ivan.id, settings=lowered) == []
    assert sessions.resolve_session(db, token, settings=lowered) is None
    frozen_clock.advance(minutes=29)
    sessions.resolve_session(db, token, settings=settings)
    frozen_clock.advance(minutes=29)
    assert sessions.resolve_session(db, token, settings=settings) is None
    assert sessions.list_active_sessions(db, ivan.id, settings=settings) == []


def test_revoke_session_by_id_ends_only_the_users_own_session(db, settings, two_users):
    ivan, olga = two_users
    mine = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    other_device = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    hers = sessions.mint_session(db, user_id=olga.id, settings=settings)
    db.commit()
    her_id = _row(db, hers).id

    # Ivan cannot end Olga's session by naming its id.
    assert sessions.revoke_session_by_id(db, user_id=ivan.id, session_id=her_id) is False
    db.commit()
    assert sessions.resolve_session(db, hers, settings=settings) is not None
    assert _row(db, hers).revoked_at is None

    other_id = _row(db, other_device).id
    assert sessions.revoke_session_by_id(db, user_id=ivan.id, session_id=other_id) is True
    db.commit()
    assert sessions.resolve_session(db, other_device, settings=settings) is None
    assert sessions.resolve_session(db, mine, settings=settings) is not None
    # A second time: nothing left to end.
    assert sessions.revoke_session_by_id(db, user_id=ivan.id, session_id=other_id) is False


@pytest.mark.parametrize("bad", [None, "", "1 OR 1=1", "１", True, False, 0, -1, 1.0, [1], {"id": 1},
                                 2**31, 2**63, 10**30])
def test_revoke_session_by_id_refuses_odd_ids(db, settings, two_users, bad):
    ivan, _ = two_users
    token = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    db.commit()
    assert sessions.revoke_session_by_id(db, user_id=ivan.id, session_id=bad) is False
    db.commit()
    assert sessions.resolve_session(db, token, settings=settings) is not None


def test_revoke_session_returns_the_user_once(db, settings, two_users):
    ivan, _ = two_users
    token = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    assert sessions.revoke_session(db, token) == ivan.id
    assert sessions.revoke_session(db, token) is None
    assert sessions.revoke_session(db, "not-a-token") is None


# --------------------------------------------------------------------------- the handlers


def _state(token: str, ip: str = "203.0.113.9", user_agent: str = "UnitTest/1.0 (X11; Linux)"):
    return make_state(SessionsPanel, "/profile", cookie=f"lkk_session={token}", ip=ip,
                      user_agent=user_agent)


_run = run_events
_redirects = redirects


def _login(login: str, *user_agents: str) -> tuple[int, list[str]]:
    with db_module.session_scope() as s:
        user = users.get_user_by_login(s, login) or users.create_user(
            s, login=login, email=f"{login}@example.com", password="Длинный пароль 123",
            confirmed=True)
        tokens = [sessions.mint_session(s, user_id=user.id, ip=f"192.0.2.{n + 1}", user_agent=ua)
                  for n, ua in enumerate(user_agents)]
        return user.id, tokens


def _row_id(token: str) -> int:
    with db_module.session_scope() as s:
        return sessions.resolve_session(s, token, touch=False).id


def _alive(token: str) -> bool:
    with db_module.session_scope() as s:
        return sessions.resolve_session(s, token, touch=False) is not None


def _ended_events(user_id: int) -> list[AuditEvent]:
    with db_module.session_scope() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.user_id == user_id)
                           .where(AuditEvent.event == "session_ended")).all())


@pytest.mark.asyncio
async def test_profile_lists_sessions_without_secrets(app_db):
    user_id, (mine, phone) = _login("petrov", CHROME_WIN, SAFARI_IPHONE)
    state = _state(mine)
    assert await ProfileState.on_load.fn(state) is None
    assert [(i.device, i.ip, i.current) for i in state.sessions] == [
        ("Chrome, Windows", "192.0.2.1", True), ("Safari, iPhone", "192.0.2.2", False)]
    assert state.other_sessions == 1
    # Shown in Moscow time (UTC+3, LKK_TIME_ZONE's default), without "(UTC)".
    moscow = {(clock.utcnow() + timedelta(hours=3, minutes=-m)).strftime("%d.%m.%Y %H:%M")
              for m in (0, 1)}
    assert all(i.started in moscow and i.last_active in moscow for i in state.sessions)
    # Only these fields go to the browser: no token, no hash.
    assert [f.name for f in dataclasses.fields(SessionItem)] == [
        "id", "device", "ip", "started", "last_active", "current"]
    sent = repr(state.dict())
    for token in (mine, phone):
        assert token not in sent and sessions.hash_token(token) not in sent


@pytest.mark.asyncio
async def test_end_one_other_session(app_db):
    user_id, (mine, phone) = _login("sidorov", CHROME_WIN, SAFARI_IPHONE)
    state = _state(mine, ip="203.0.113.50")
    await ProfileState.on_load.fn(state)
    await _run(SessionsPanel.end_session.fn(state, _row_id(phone)))
    assert state.sessions_message == "Сеанс завершён."
    assert _alive(mine) and not _alive(phone)
    assert [i.current for i in state.sessions] == [True] and state.other_sessions == 0
    [event] = _ended_events(user_id)
    assert (event.result, event.detail, event.ip) == ("ok", "ended by user", "203.0.113.50")
    assert event.user_agent == "UnitTest/1.0 (X11; Linux)"
    assert state.journal[0].event == "Сеанс завершён"


@pytest.mark.asyncio
async def test_a_user_cannot_end_someone_elses_session_by_id(app_db):
    _, (mine,) = _login("kozlov", CHROME_WIN)
    victim_id, (victims,) = _login("orlova", SAFARI_IPHONE)
    state = _state(mine)
    await ProfileState.on_load.fn(state)
    for forged in (_row_id(victims), str(_row_id(victims)), "../1", -1, None, {"id": 1}):
        await _run(SessionsPanel.end_session.fn(state, forged))
        assert state.sessions_message == "Сеанс не найден или уже завершён."
    assert _alive(victims) and _alive(mine)
    assert _ended_events(victim_id) == []


@pytest.mark.asyncio
async def test_the_current_session_is_not_ended_by_id(app_db):
    _, (mine, _other) = _login("zaitsev", CHROME_WIN, SAFARI_IPHONE)
    state = _state(mine)
    await ProfileState.on_load.fn(state)
    await _run(SessionsPanel.end_session.fn(state, _row_id(mine)))
    assert _alive(mine)
    assert state.sessions_message == "Сеанс не найден или уже завершён."


@pytest.mark.asyncio
async def test_end_all_other_sessions_keeps_this_one(app_db):
    user_id, (mine, a, b) = _login("morozov", CHROME_WIN, SAFARI_IPHONE, "")
    _, (strangers,) = _login("belova", CHROME_WIN)
    state = _state(mine)
    await ProfileState.on_load.fn(state)
    assert state.other_sessions == 2
    assert await SessionsPanel.ask_end_all.fn(state) is None
    assert state.confirm_end_all is True
    SessionsPanel.cancel_end_all.fn(state)
    assert state.confirm_end_all is False and _alive(a)
    await SessionsPanel.ask_end_all.fn(state)
    await _run(SessionsPanel.end_all_other.fn(state))
    assert state.sessions_message == "Завершено сеансов: 2. Этот сеанс остался открытым."
    assert state.confirm_end_all is False and state.other_sessions == 0
    assert _alive(mine) and not _alive(a) and not _alive(b) and _alive(strangers)
    [event] = _ended_events(user_id)
    assert event.detail == "ended by user"
    await _run(SessionsPanel.end_all_other.fn(state))
    assert state.sessions_message == "Других активных сеансов нет."
    assert len(_ended_events(user_id)) == 1


@pytest.mark.asyncio
async def test_ended_session_is_refused_at_its_next_action(app_db):
    """The other tab's handlers resolve the session again: its next event
    sends it to the login window."""
    _, (mine, other) = _login("egorov", CHROME_WIN, SAFARI_IPHONE)
    other_state = _state(other)
    assert await ProfileState.on_load.fn(other_state) is None
    state = _state(mine)
    await ProfileState.on_load.fn(state)
    await _run(SessionsPanel.end_session.fn(state, _row_id(other)))
    for panel, handler, args in ((PhonePanel, PhonePanel.save_phone, ({"phone": ""},)),
                                 (SessionsPanel, SessionsPanel.end_all_other, ()),
                                 (SessionsPanel, SessionsPanel.end_session, (_row_id(mine),))):
        events = await _run(handler.fn(sibling(other_state, panel), *args))
        assert _redirects(events) == ["/?next=/profile&expired=1"], handler
        assert other_state.sessions == [] and other_state.loaded is False
    assert _redirects([await SessionsPanel.ask_end_all.fn(other_state)]) == ["/?next=/profile&expired=1"]
    assert other_state.confirm_end_all is False
    assert _alive(mine)
    assert _redirects([await ProfileState.on_load.fn(other_state)]) == ["/?next=/profile&expired=1"]


@pytest.mark.asyncio
async def test_handlers_without_a_session_change_nothing(app_db):
    _, (token,) = _login("lebedev", CHROME_WIN)
    state = _state("forged-token-value-that-is-long-enough-000000")
    events = await _run(SessionsPanel.end_all_other.fn(state))
    assert _redirects(events) == ["/?next=/profile&expired=1"]
    events = await _run(SessionsPanel.end_session.fn(state, _row_id(token)))
    assert _redirects(events) == ["/?next=/profile&expired=1"]
    assert _alive(token)


def test_session_rows_are_resolved_like_resolve_session(db, settings, two_users, frozen_clock):
    """A session listed is one resolve_session accepts, at the edges too."""
    ivan, _ = two_users
    token = sessions.mint_session(db, user_id=ivan.id, settings=settings)
    db.commit()
    frozen_clock.advance(minutes=settings.session_idle_minutes)
    assert len(sessions.list_active_sessions(db, ivan.id, settings=settings)) == 1
    assert sessions.resolve_session(db, token, settings=settings, touch=False) is not None
    frozen_clock.advance(seconds=1)
    assert sessions.list_active_sessions(db, ivan.id, settings=settings) == []
    assert sessions.resolve_session(db, token, settings=settings, touch=False) is None
    assert clock.utcnow() == frozen_clock.now
