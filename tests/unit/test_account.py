"""Profile changes: phone and password (with the end of other sessions)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from lkk_app.models import OutboxMessage
from lkk_app.auth import account, sessions, users
from lkk_app.core.errors import FieldErrors
from tests.factories import make_user

OLD = "Старый добрый пароль"
NEW = "Новый надёжный пароль 7"


@pytest.fixture
def user(db, settings):
    return make_user(db, login="Volkov", email="volkov@example.com", password=OLD, settings=settings)


def test_change_phone_normalises_and_removes(db, user):
    assert account.change_phone(db, user, "8 (912) 345-67-89") == "+79123456789"
    assert user.phone == "+79123456789"
    assert account.change_phone(db, user, "  ") is None and user.phone is None
    with pytest.raises(FieldErrors) as info:
        account.change_phone(db, user, "12345")
    assert set(info.value.errors) == {"phone"}


def test_change_password_ends_other_sessions_and_notifies(db, user, settings):
    mine = sessions.mint_session(db, user_id=user.id, settings=settings)
    other = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    ended = account.change_password(db, user, current_password=OLD, new_password=NEW,
                                    password_confirm=NEW, keep_session_token=mine, settings=settings)
    db.commit()
    assert ended == 1
    assert sessions.resolve_session(db, mine, settings=settings) is not None
    assert sessions.resolve_session(db, other, settings=settings) is None
    assert users.authenticate(db, login="volkov", password=NEW, settings=settings).id == user.id
    with pytest.raises(Exception):
        users.authenticate(db, login="volkov", password=OLD, settings=settings)
    letters = db.exec(select(OutboxMessage)).all()
    assert [(m.kind, m.recipient) for m in letters] == [("password_changed", "volkov@example.com")]
    assert NEW not in letters[0].params_json and OLD not in letters[0].params_json


@pytest.mark.parametrize(
    "current,new,confirm,keys",
    [
        ("", NEW, NEW, {"current_password"}),
        ("неверный пароль", NEW, NEW, {"current_password"}),
        (OLD, "short", "short", {"new_password"}),
        (OLD, "qwerty123", "qwerty123", {"new_password"}),
        (OLD, "xVolkov-2026!", "xVolkov-2026!", {"new_password"}),
        (OLD, OLD, OLD, {"new_password"}),
        (OLD, NEW, "другое", {"password_confirm"}),
        (OLD, NEW, "", {"password_confirm"}),
    ],
)
def test_change_password_validates_every_field(db, user, settings, current, new, confirm, keys):
    with pytest.raises(FieldErrors) as info:
        account.change_password(db, user, current_password=current, new_password=new,
                                password_confirm=confirm, keep_session_token="", settings=settings)
    assert set(info.value.errors) == keys
    db.rollback()
    assert users.authenticate(db, login="volkov", password=OLD, settings=settings)


def test_change_password_cancels_a_pending_temporary_password(db, user, settings):
    from lkk_app.auth import recovery

    recovery.request_reset(db, login="volkov", email="volkov@example.com", ip="127.0.0.1")
    db.commit()
    temp = recovery.mint_temp_password(db, user.id, settings=settings)
    db.commit()
    assert recovery.authenticate_temp(db, login="volkov", password=temp, settings=settings) is not None
    account.change_password(db, user, current_password=OLD, new_password=NEW, password_confirm=NEW,
                            keep_session_token="", settings=settings)
    db.commit()
    assert recovery.authenticate_temp(db, login="volkov", password=temp, settings=settings) is None


def test_the_password_changed_letter_says_when_in_the_suppliers_zone_and_from_where(db, user, make_settings,
                                                                                      monkeypatch):
    import dataclasses
    import json
    from datetime import datetime

    from lkk_app.core import clock

    settings = dataclasses.replace(make_settings(bcrypt_cost=4), time_zone="Asia/Yekaterinburg")
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 12, 7, 9, 30))
    mine = sessions.mint_session(db, user_id=user.id, settings=settings)
    db.commit()
    chrome = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Safari/537.36")
    account.change_password(db, user, current_password=OLD, new_password=NEW, password_confirm=NEW,
                            keep_session_token=mine, ip="203.0.113.7", user_agent=chrome, settings=settings)
    db.commit()
    (letter,) = db.exec(select(OutboxMessage)).all()
    params = json.loads(letter.params_json)
    assert params["time"] == "07.12.2026 14:30 (UTC+5)"  # 09:30 UTC in Yekaterinburg
    assert params["ip"] == "203.0.113.7"
    assert "Chrome" in params["device"] and "Windows" in params["device"]
