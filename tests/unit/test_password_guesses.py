"""«Смена пароля» in «Профиль»: wrong current passwords are throttled per
account, recorded in the audit trail, and the 5th ends the session with a
letter to the owner (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app.models import AuditEvent, OutboxMessage
from lkk_app.auth import account, passwords, sessions, throttle, users
from lkk_app.jobs.worker import OutboxWorker
from lkk_app.mail import templates as mail_templates, devmail
from lkk_app.core.errors import Code, FieldErrors
from lkk_app.settings import get_settings
from lkk_app.state.login import LoginState
from lkk_app.state.profile import PasswordPanel, ProfileState
from tests.factories import make_user
from tests.statekit import make_state, redirects, run_events

OLD = "Старый добрый пароль"
NEW = "Новый надёжный пароль 7"
IP = "203.0.113.45"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture
def user(db, settings):
    return make_user(db, login="Volkov", email="volkov@example.com", password=OLD, settings=settings)


@pytest.fixture
def checks(monkeypatch):
    """Counts the bcrypt checks of a current password (each takes 50 ms, as a
    real check at cost 12 takes longer still, so that racing calls overlap)."""
    calls = []
    real = passwords.verify_password

    def slow(password, digest, **kwargs):
        calls.append(password)
        time.sleep(0.05)
        return real(password, digest, **kwargs)

    monkeypatch.setattr(passwords, "verify_password", slow)
    return calls


def change(db, user, current, token, settings, new=NEW):
    return account.change_password(db, user, current_password=current, new_password=new,
                                   password_confirm=new, keep_session_token=token, ip=IP,
                                   user_agent=UA, settings=settings)


def audit_rows(db):
    return [(r.event, r.result, r.detail) for r in db.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_the_fifth_wrong_current_password_ends_the_session(db, user, settings, frozen_clock, checks):
    token = sessions.mint_session(db, user_id=user.id, ip=IP, user_agent=UA, settings=settings)
    other = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    for n in range(1, 5):
        with pytest.raises(FieldErrors) as info:
            change(db, user, f"угадываю {n}", token, settings)
        db.commit()
        assert info.value.errors["current_password"] == Code(
            "profile.current_password_wrong_left", left=5 - n)
    with pytest.raises(account.SessionEnded):
        change(db, user, "угадываю 5", token, settings)
    db.commit()
    assert len(checks) == 5
    assert sessions.resolve_session(db, token, settings=settings) is None
    assert sessions.resolve_session(db, other, settings=settings) is not None  # the owner's own
    assert users.authenticate(db, login="volkov", password=OLD, settings=settings)
    assert audit_rows(db) == [("password_change_failed", "fail", "current password")] * 5 + [
        ("session_ended", "ok", "password guesses")]
    assert {r.ip for r in db.exec(select(AuditEvent))} == {IP}
    # The letter to the owner: where and when, without any password.
    [letter] = db.exec(select(OutboxMessage)).all()
    assert (letter.kind, letter.recipient, letter.secret_purpose) == (
        "password_guesses", "volkov@example.com", None)
    assert "угадываю" not in letter.params_json and OLD not in letter.params_json
    import json
    subject, text, html = mail_templates.render(letter.template, {
        **json.loads(letter.params_json), "public_url": "http://lkk.test"})
    assert subject == "Сеанс в личном кабинете завершён после неверных паролей"
    assert "текущий пароль 5 раз подряд введён неверно" in text
    # 09:00 UTC is 12:00 in Moscow (LKK_TIME_ZONE's default).
    assert IP in text and "Chrome, Windows" in text
    assert "начат 01.03.2026 12:00, завершён 01.03.2026 12:00" in text and "UTC" not in text
    assert "«Сеансы»" in html


def test_then_attempts_wait_and_each_failure_ends_its_session(db, user, settings, frozen_clock,
                                                             checks):
    for n in range(5):
        token = sessions.mint_session(db, user_id=user.id, settings=settings)
        db.commit()
        with pytest.raises((FieldErrors, account.SessionEnded)):
            change(db, user, f"угадываю {n}", token, settings)
        db.commit()
    # Another session during the 30 s wait: refused without a check, not ended.
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    checks.clear()
    frozen_clock.advance(seconds=20)
    with pytest.raises(FieldErrors) as info:
        change(db, user, OLD, token, settings)
    db.commit()
    assert info.value.errors["current_password"] == Code(
        "profile.current_password_wait", wait=timedelta(seconds=10))
    assert checks == []
    assert audit_rows(db)[-1] == ("password_change_failed", "refused", "wait")
    assert sessions.resolve_session(db, token, settings=settings) is not None
    # After the wait: one more wrong one ends this session too, and the wait doubles.
    frozen_clock.advance(seconds=10)
    with pytest.raises(account.SessionEnded):
        change(db, user, "угадываю ещё", token, settings)
    db.commit()
    state = throttle.check(db, account.password_check_key(user.id, settings))
    assert state.failures == 6 and state.retry_at == frozen_clock.now + timedelta(seconds=60)
    # The owner, after the wait, with the right password: changed, the series over.
    frozen_clock.advance(seconds=60)
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    assert change(db, user, OLD, token, settings) == 4  # the first four sessions
    db.commit()
    assert throttle.check(db, account.password_check_key(user.id, settings)) == throttle.ThrottleState()
    assert users.authenticate(db, login="volkov", password=NEW, settings=settings)


def test_racing_guesses_get_at_most_five_checks(db, user, settings, new_session, checks):
    """20 guesses at the same moment (20 tabs of one stolen session), each in
    its own database session: at most 5 current passwords are checked."""
    token = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    count = 20
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        session = new_session()
        try:
            me = users.get_user(session, user.id)
            session.commit()
            barrier.wait(timeout=30)
            try:
                change(session, me, f"угадываю {n}", token, settings)
                outcome = "changed"
            except FieldErrors as exc:
                outcome = exc.errors["current_password"].key
            except account.SessionEnded:
                outcome = "ended"
            session.commit()
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - reported below
            session.rollback()
            errors.append(exc)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    print(f"\n20 concurrent wrong current passwords: {len(checks)} checked (limit 5)")
    assert len(checks) <= 5
    assert len(outcomes) == count and "changed" not in outcomes
    assert outcomes.count("ended") == 1


# --------------------------------------------------------------------------- the page


@pytest.mark.asyncio
async def test_six_wrong_guesses_in_the_profile_end_the_session(app_db, tmp_path):
    with db_module.session_scope() as s:
        user = users.create_user(s, login="volkov", email="volkov@example.com", password=OLD,
                                 confirmed=True)
        token = sessions.mint_session(s, user_id=user.id, ip=IP, user_agent=UA)
    cookie = f"lkk_session={token}"

    def page():
        return make_state(PasswordPanel, "/profile", cookie=cookie, ip=IP, user_agent=UA)

    state = page()
    await ProfileState.on_load.fn(state)
    assert state.loaded
    answers = []
    for n in range(6):
        events = await run_events(PasswordPanel.change_password.fn(state, {
            "current_password": f"угадываю {n}", "new_password": NEW, "password_confirm": NEW}))
        answers.append((state.errors.get("current_password", ""), redirects(events)))
    assert answers[0] == ("Текущий пароль введён неверно. Неверных попыток до завершения сеанса: 4.", [])
    assert answers[3][0].endswith("сеанса: 1.")
    assert answers[4][1] == ["/?ended=guesses"]  # the 5th: the session ends
    assert answers[5][1][0].startswith("/?next=")  # the 6th: no session any more
    # The right one after that: refused, the session is gone.
    events = await run_events(PasswordPanel.change_password.fn(state, {
        "current_password": OLD, "new_password": NEW, "password_confirm": NEW}))
    assert redirects(events)[0].startswith("/?next=")
    assert not state.password_saved
    with db_module.session_scope() as s:
        assert sessions.resolve_session(s, token) is None
        assert users.authenticate(s, login="volkov", password=OLD)
        rows = [(r.event, r.result, r.detail) for r in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert rows == [("password_change_failed", "fail", "current password")] * 5 + [
        ("session_ended", "ok", "password guesses")]
    # The letter goes out (development mailbox) ...
    settings = get_settings()
    await OutboxWorker(settings, engine=db_module.get_engine()).run_once()
    [letter] = devmail.list_dev_mail(settings.mail_dir)
    assert letter["to"] == "volkov@example.com"
    assert IP in letter["text"] and "5 раз подряд" in letter["text"]
    # ... the login window says why, and the owner's journal shows it all.
    window = make_state(LoginState, "/", query="ended=guesses")
    await LoginState.on_load.fn(window)
    assert window.notice.startswith("Сеанс завершён: при смене пароля текущий пароль")
    with db_module.session_scope() as s:
        fresh = sessions.mint_session(s, user_id=user.id)
    owner = make_state(ProfileState, "/profile", cookie=f"lkk_session={fresh}")
    await ProfileState.on_load.fn(owner)
    assert [(j.event, j.detail, j.result) for j in owner.journal[:2]] == [
        ("Сеанс завершён", "после неверных попыток ввода текущего пароля", "успешно"),
        ("Неверный текущий пароль при смене пароля", "", "отказ"),
    ]
